"""Scenarios shipped inside the package: one source of truth, usable by name, there after pip install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.scenario import load_scenario, scenario_hash
from escalation_sim.scenario.loader import shipped_scenario, shipped_scenarios

REPO = Path(__file__).resolve().parents[1]
TOP_LEVEL = REPO / "scenarios"
PACKAGED = REPO / "src" / "escalation_sim" / "scenario" / "data" / "scenarios"


def test_top_level_scenarios_are_the_packaged_ones() -> None:
    """scenarios/ is the user-facing copy of the package's files: the same names, byte for byte."""
    top = {p.name: p.read_bytes() for p in TOP_LEVEL.glob("*.yaml")}
    packaged = {p.name: p.read_bytes() for p in PACKAGED.glob("*.yaml")}
    assert sorted(top) == sorted(packaged), "copy new scenarios into both folders"
    differ = [name for name in top if top[name] != packaged[name]]
    assert not differ, f"edit both copies (the package's is the one pip installs): {differ}"


def test_shipped_scenarios_are_listed_by_name() -> None:
    names = list(shipped_scenarios())
    assert names == sorted(p.stem for p in PACKAGED.glob("*.yaml"))
    assert "may30_kharkiv_counterfire" in names
    assert (
        shipped_scenario("may30_kharkiv_counterfire") == PACKAGED / "may30_kharkiv_counterfire.yaml"
    )
    assert shipped_scenario("pre_may30.yaml") == PACKAGED / "pre_may30.yaml"
    assert shipped_scenario("scenarios/pre_may30.yaml") is None  # a path is never a name
    assert shipped_scenario("no_such_scenario") is None


def test_a_name_loads_the_same_scenario_as_the_file() -> None:
    by_name = load_scenario("us_widening_schedule")
    by_file = load_scenario(TOP_LEVEL / "us_widening_schedule.yaml")
    assert scenario_hash(by_name) == scenario_hash(by_file)


def test_a_file_named_like_a_shipped_scenario_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pre_may30.yaml").write_text("name: Mine\nhorizon_days: 12\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_scenario("pre_may30.yaml").name == "Mine"
    assert load_scenario("pre_may30").name != "Mine"  # no such file: the shipped one


def test_a_user_file_can_extend_a_shipped_scenario_by_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: Mine\nextends: deep_strike\nhorizon_days: 30\n", encoding="utf-8")
    sc = load_scenario(mine)
    assert sc.horizon_days == 30
    assert sc.rules["USA"].posture == load_scenario("deep_strike").rules["USA"].posture
    # A shipped scenario that itself extends another shipped one (outside the user's folder).
    mine.write_text("name: Mine\nextends: us_widening_schedule\n", encoding="utf-8")
    assert load_scenario(mine).schedule == load_scenario("us_widening_schedule").schedule


def test_scenarios_command_lists_them() -> None:
    result = CliRunner().invoke(main, ["scenarios"])
    assert result.exit_code == 0, result.output
    for name in shipped_scenarios():
        assert any(line.startswith(name + " ") for line in result.stdout.splitlines()), name
    assert "May-30 Kharkiv counter-fire" in result.stdout


def test_validate_and_run_take_a_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "pre_may30"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: pre_may30 (")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", "may30_kharkiv_counterfire", "--days", "3", "--no-plot", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "summary.json").exists()


def test_license_is_an_spdx_string_and_scenarios_are_package_data() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"  # a table is deprecated by setuptools
    data = project["tool"]["setuptools"]["package-data"]["escalation_sim"]
    assert "scenario/data/scenarios/*.yaml" in data


@pytest.mark.slow
def test_plain_pip_install_runs_a_shipped_scenario_by_name(tmp_path: Path) -> None:
    """A non-editable ``pip install .`` into a fresh venv carries the scenarios and the licence.

    The package is built and installed as a user's ``pip install`` does; its
    dependencies are read from this test's own environment (a ``.pth`` file
    naming its site-packages, after the fresh venv's own), since installing them
    is what ``make venv`` does and checks, and unpacking them again took most of
    this test's time. A ``.pth`` file named there is not processed, so this
    checkout's editable install stays out of the fresh venv.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    fresh_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(fresh_site) / "dependencies_from_the_test_env.pth").write_text(
        "".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8"
    )
    source = tmp_path / "src"  # a clean copy: no build/ or egg-info left from the editable install
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "results", "build", "*.egg-info", "__pycache__"
        ),
    )
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cli = venv / "bin" / "escalation-sim"
    listed = subprocess.run(
        [str(cli), "scenarios"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    assert "may30_kharkiv_counterfire" in listed.stdout
    assert str(venv) in listed.stdout  # the installed copy, not this checkout
    ran = subprocess.run(
        [str(cli), "run", "may30_kharkiv_counterfire", "--days", "5", "--no-plot", "--out", "out"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert "May-30 Kharkiv counter-fire" in ran.stdout
    # A fresh install has compiled no kernel: the first run says it compiles them first.
    assert "compiling the model's kernels for this machine" in ran.stderr
    meta = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m; print(m.metadata('escalation-sim')['License-Expression'])",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert meta.stdout.strip() == "MIT", meta.stdout + meta.stderr
