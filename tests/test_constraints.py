"""constraints.txt: the versions `make venv` installs lie within pyproject.toml's ranges."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and name and version, f"constraints.txt:{number}: not name==version: {line!r}"
        key = canonicalize_name(name)
        assert key not in pins, f"constraints.txt:{number}: {name} pinned twice"
        pins[key] = Version(version)
    return pins


def _requirements() -> list[tuple[str, Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = [("dependencies", r) for r in project["dependencies"]]
    for extra, reqs in project["optional-dependencies"].items():
        listed += [(f"[{extra}]", r) for r in reqs]
    out = []
    for where, text in listed:
        req = Requirement(text)
        if canonicalize_name(req.name) != canonicalize_name(project["name"]):  # own extras
            out.append((where, req))
    return out


def test_every_pin_lies_within_the_projects_ranges() -> None:
    pins = _pins()
    for where, req in _requirements():
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is not None:
            assert req.specifier.contains(pinned, prereleases=True), (
                f"constraints.txt pins {req.name}=={pinned}, outside {where} {req}: "
                "run the tests with a version in range, then `make lock`"
            )


def test_every_dependency_of_the_development_install_is_pinned() -> None:
    # `make venv` installs the `dev` extra, which takes in `dask` and `viz`.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = {"dependencies", "[dev]", "[dask]", "[viz]"}
    assert "escalation-sim[dask,viz]" in project["optional-dependencies"]["dev"]
    pins = _pins()
    missing = sorted(
        {
            req.name
            for where, req in _requirements()
            if where in installed and canonicalize_name(req.name) not in pins
        }
    )
    assert not missing, f"not in constraints.txt: {missing} (run `make lock`)"
