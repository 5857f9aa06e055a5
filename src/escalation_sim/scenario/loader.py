"""Loading a scenario: read YAML, merge over the defaults, apply overrides, validate.

Public entry points:

* :func:`load_scenario` reads a scenario file (the usual path);
* :func:`scenario_from_dict` builds one from a mapping (notebooks, sweeps);
* :func:`scenario_to_yaml` writes a resolved scenario back out.

Every failure is a :class:`~escalation_sim.errors.ScenarioError` listing each
problem with its file, line, field path and what was expected.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import functools
import hashlib
import json
import types
import typing
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.scenario.bounds import check_raw_size
from escalation_sim.scenario.checks import OUTSIDE_HORIZON, check_scenario
from escalation_sim.scenario.frozen import FrozenDict, FrozenList, thawed
from escalation_sim.scenario.merge import apply_override, deep_merge
from escalation_sim.scenario.schema import Scenario
from escalation_sim.scenario.source import Locations, PathKey, parse_yaml_text, read_yaml_file

DEFAULTS_LABEL = "package defaults (escalation_sim/scenario/data/defaults.yaml)"
EXTENDS_KEY = "extends"


@functools.cache
def _parsed_defaults() -> tuple[dict[str, Any], Locations]:
    """The package defaults, parsed once per process (callers must not mutate them)."""
    text = (
        resources.files("escalation_sim.scenario.data").joinpath("defaults.yaml").read_text("utf-8")
    )
    return parse_yaml_text(text, DEFAULTS_LABEL)


def default_data() -> tuple[dict[str, Any], Locations]:
    """The package defaults as plain data with their locations (a fresh copy)."""
    data, locs = _parsed_defaults()
    return copy.deepcopy(data), dict(locs)


SCENARIO_SUFFIX = ".yaml"


def shipped_folder() -> Path:
    """The folder of the example scenarios shipped inside the package."""
    return Path(str(resources.files("escalation_sim.scenario.data").joinpath("scenarios")))


def shipped_scenarios() -> dict[str, Path]:
    """The example scenarios shipped inside the package, by name (file stem), sorted."""
    return {p.stem: p for p in sorted(shipped_folder().glob(f"*{SCENARIO_SUFFIX}"))}


def shipped_scenario(name: str | Path) -> Path | None:
    """The shipped scenario called ``name`` (with or without ``.yaml``), or ``None``.

    Only a bare name is looked up (``may30_kharkiv_counterfire``), never a path
    with a folder in it, so a file a user names always wins over a shipped one.
    """
    text = str(name)
    if not text or "/" in text or "\\" in text or text != Path(text).name:
        return None
    return shipped_scenarios().get(text.removesuffix(SCENARIO_SUFFIX))


def _no_shipped_one(name: str | Path) -> str:
    """For a bare name that is no file: ", and no shipped scenario is called ..." ("" else)."""
    text = str(name)
    if not text or text != Path(text).name or shipped_scenario(text) is not None:
        return ""
    stem = text.removesuffix(SCENARIO_SUFFIX)
    names = list(shipped_scenarios())
    close = [n for n in names if n.startswith(stem)] or difflib.get_close_matches(stem, names, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return (
        f", and no shipped scenario is called {stem!r} ({guess}escalation-sim scenarios lists them)"
    )


def _top_level_fields() -> list[str]:
    return [*Scenario.model_fields, EXTENDS_KEY]


def _looks_like_a_scenario(data: dict[str, Any]) -> bool:
    """Some top-level key is a scenario field, or close to one (a typo is still a scenario)."""
    fields = _top_level_fields()
    return any(
        str(k) in fields or difflib.get_close_matches(str(k), fields, n=1, cutoff=0.75)
        for k in data
    )


def _resolve(path: Path) -> Path:
    """``path`` made absolute with symlinks followed; a loop or an unusable name is an error."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop (<= 3.12)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, RuntimeError) or "loop" in reason.lower():
            reason = "a symbolic link loop"
        raise OSError(reason) from None


def _read_with_extends(
    path: Path,
    chain: tuple[Path, ...],
    label: str | None = None,
    *,
    root: Path,
    files: list[Path] | None = None,
) -> tuple[dict[str, Any], Locations]:
    """Read ``path`` merged over its ``extends`` chain; messages name it ``label``.

    ``extends`` may name a file under ``root`` (the folder of the scenario the
    user named, unless a wider one was allowed) or a shipped scenario by name.
    """
    label = str(path) if label is None else label
    if files is not None:
        files.append(path)
    data, locs = read_yaml_file(path, label)
    if data is None:
        raise ScenarioError(
            [Problem(label, None, "", "the file is empty; expected a scenario mapping")]
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(label, 1, "", "expected a mapping of scenario fields at the top level")]
        )
    if not _looks_like_a_scenario(data):
        # Say nothing of what the file holds: it may be anything (a key file, a password file).
        raise ScenarioError(
            [
                Problem(
                    label,
                    None,
                    "",
                    f"not a scenario file: none of its {len(data)} top-level keys is a scenario "
                    f"field (expected some of: {', '.join(_top_level_fields())})",
                )
            ]
        )
    parent = data.pop(EXTENDS_KEY, None)
    if parent is None:
        base, base_locs = _parsed_defaults()  # deep_merge copies it
    else:
        line = locs.get((EXTENDS_KEY,), (label, None))[1]

        def refuse(message: str) -> ScenarioError:
            return ScenarioError([Problem(label, line, EXTENDS_KEY, message)])

        if not isinstance(parent, str) or not parent:
            raise refuse("expected a path to another scenario file")
        shown = repr(parent) if len(parent) <= 60 else repr(parent[:57]) + "..."
        try:
            parent_path = _resolve(path.parent / parent)
            exists = parent_path.exists()
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a symlink loop
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise refuse(f"unusable file name {shown}: {reason}") from None
        parent_label = str(Path(label).parent / parent)
        if not exists and (packaged := shipped_scenario(parent)) is not None:
            parent_path, parent_label = packaged, f"{parent} (shipped scenario)"
        elif not (
            parent_path.is_relative_to(root)
            or parent_path.is_relative_to(_resolve(shipped_folder()))  # the package's own chain
        ):
            raise refuse(
                f"{shown} lies outside the scenario's folder {root}: 'extends' may name files "
                "under it, or a shipped scenario by name (escalation-sim scenarios lists "
                "them); --extends-root DIR allows files under DIR"
            )
        elif not exists:
            raise refuse(f"file {parent} not found{_no_shipped_one(parent)}")
        elif not parent_path.is_file():
            raise refuse(f"{shown} is not a scenario file")
        if parent_path in chain:
            raise refuse(f"circular 'extends' through {parent}")
        base, base_locs = _read_with_extends(
            parent_path, (*chain, parent_path), parent_label, root=root, files=files
        )
    locs = {k: v for k, v in locs.items() if k[:1] != (EXTENDS_KEY,)}
    return deep_merge(base, base_locs, data, locs)


def _locate(locs: Locations, path: Sequence[str | int], fallback: str) -> tuple[str, int | None]:
    key: PathKey = tuple(path)
    while True:
        if key in locs:
            return locs[key]
        if not key:
            return fallback, None
        key = key[:-1]


#: Container annotations of the schema (the frozen ones it uses, and the plain ones).
_MAPPINGS = (dict, FrozenDict)
_SEQUENCES = (list, FrozenList)


def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``path`` (for 'did you mean')."""
    current: Any = Scenario
    for part in path[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        else:
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in _MAPPINGS and args:
                current = args[1]
            elif origin in _SEQUENCES and args:
                current = args[0]
            else:
                return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip Optional/Annotated/unions down to the first pydantic model or container."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            inner = _unwrap(arg)
            if (isinstance(inner, type) and issubclass(inner, BaseModel)) or typing.get_origin(
                inner
            ) in (*_MAPPINGS, *_SEQUENCES):
                return inner
    return tp


def _describe(err: Mapping[str, Any], path: Sequence[str | int]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _model_at(path)
        name = str(path[-1]) if path else ""
        if owner is not None:
            fields = list(owner.model_fields)
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            return f"unknown field {name!r}; {hint}expected one of: {', '.join(fields)}"
        return f"unknown field {name!r}"
    if kind == "missing":
        return "required field is missing"
    if kind in ("value_error", "assertion_error"):
        # A model's own check: its message says what is wrong; drop pydantic's prefix.
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        return msg
    got = err.get("input")
    if isinstance(got, dt.date):
        shown = got.isoformat()
    elif isinstance(got, dict | list):
        shown = type(got).__name__
    else:
        shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{err['msg']} (got {shown})"


def _pydantic_problems(
    exc: ValidationError, locs: Locations, fallback: str, data: Mapping[str, Any]
) -> list[Problem]:
    problems: list[Problem | tuple[str | int, ...]] = []  # a tuple: a new entry, filled below
    missing: dict[tuple[str | int, ...], list[str]] = {}  # such an entry -> its missing fields
    for err in exc.errors():
        # pydantic appends the validator's own label for function validators; drop non-field parts.
        path = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        entry = tuple(path[:-1])
        if err["type"] == "missing" and entry and _id_meant(data, entry):
            if entry not in missing:
                problems.append(entry)
            missing.setdefault(entry, []).append(str(path[-1]))
            continue
        file, line = _locate(locs, path, fallback)
        problems.append(Problem(file, line, ".".join(str(p) for p in path), _describe(err, path)))
    return [
        p if isinstance(p, Problem) else _new_entry(p, missing[p], data, locs, fallback)
        for p in problems
    ]


def _new_entry(
    entry: tuple[str | int, ...],
    fields: list[str],
    data: Mapping[str, Any],
    locs: Locations,
    fallback: str,
) -> Problem:
    """One problem for a new entry whose id is a near-miss of an existing one."""
    file, line = _locate(locs, entry, fallback)
    return Problem(
        file,
        line,
        ".".join(str(p) for p in entry),
        f"new entry {entry[-1]!r} lacks the required {', '.join(fields)}; did you mean "
        f"{_id_meant(data, entry)!r}? (an entry under an existing id changes only the "
        "fields it writes)",
    )


def _id_meant(data: Mapping[str, Any], entry: Sequence[str | int]) -> str | None:
    """The existing id that a new mapping entry at ``entry`` is a near-miss of, if any.

    A misspelt id (``weapons.ATACM``) makes a new entry, which lacks the required
    fields a real one inherits; naming the id meant says what actually went wrong.
    """
    container: Any = data
    for part in entry[:-1]:
        try:
            container = container[part]
        except (KeyError, IndexError, TypeError):
            return None
    key = entry[-1]
    if not isinstance(container, Mapping) or not isinstance(key, str):
        return None
    others = [str(k) for k in container if k != key]
    close = difflib.get_close_matches(key, others, n=1)
    return close[0] if close else None


#: Most problems reported for one input (a broken file can have thousands, one per entry).
MAX_REPORTED = 25


def _capped(problems: list[Problem], label: str) -> list[Problem]:
    """The first ``MAX_REPORTED`` problems, and a line saying how many more there are."""
    if len(problems) <= MAX_REPORTED:
        return problems
    more = len(problems) - MAX_REPORTED
    return [*problems[:MAX_REPORTED], Problem(label, None, "", f"... and {more:,} more problems")]


def validate_data(data: Mapping[str, Any], locs: Locations, label: str) -> Scenario:
    """Validate merged scenario data: schema first, then cross-references.

    Raises:
        ScenarioError: With every problem found.
    """
    too_big = check_raw_size(data)
    if too_big:
        raise ScenarioError(locate_findings(too_big, locs, label))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_capped(_pydantic_problems(exc, locs, label, data), label)) from None
    findings = check_scenario(scenario)
    if findings:
        raise ScenarioError(_capped(locate_findings(findings, locs, label), label))
    return scenario


def resolve_file(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    extends_root: str | Path | None = None,
    files: list[Path] | None = None,
) -> tuple[dict[str, Any], Locations]:
    """Read a scenario file with its ``extends`` chain and overrides, unvalidated.

    Args:
        path: A scenario file, or the name of a shipped scenario.
        overrides: ``key.path=value`` assignments applied after merging.
        extends_root: The folder whose files ``extends`` may name (default: the
            folder of ``path``, after following symlinks).
        files: If given, every file read (the scenario, then its ``extends``
            chain) is appended to it.
    """
    p = Path(path)
    if not p.exists() and (packaged := shipped_scenario(p)) is not None:
        p = packaged
    if not p.exists() and not p.is_symlink() and (hint := _no_shipped_one(p)):
        raise ScenarioError([Problem(str(path), None, "", f"file not found{hint}")])
    try:
        real = _resolve(p) if p.exists() else p
        root = _resolve(Path(extends_root)) if extends_root is not None else real.parent
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = str(extends_root if extends_root is not None and p.exists() else path)
        raise ScenarioError([Problem(where, None, "", f"cannot read file: {reason}")]) from None
    # Messages name each file as the user typed it (parents relative to it).
    data, locs = _read_with_extends(real, (real,), str(p), root=root, files=files)
    for assignment in overrides:
        apply_override(data, locs, assignment)
    return data, locs


def load_scenario(
    path: str | Path, overrides: Sequence[str] = (), *, extends_root: str | Path | None = None
) -> Scenario:
    """Load, merge and validate a scenario file.

    Args:
        path: The scenario YAML file, or the name of a shipped scenario
            (``may30_kharkiv_counterfire``; see :func:`shipped_scenarios`).
        overrides: ``key.path=value`` assignments applied after merging.
        extends_root: The folder whose files ``extends`` may name (default:
            the scenario's own folder).

    Raises:
        ScenarioError: With file, line, field and expectation for each problem.
    """
    data, locs = resolve_file(path, overrides, extends_root=extends_root)
    return validate_data(data, locs, str(path))


def load_scenario_located(
    path: str | Path, overrides: Sequence[str] = (), *, extends_root: str | Path | None = None
) -> tuple[Scenario, Locations, list[Path]]:
    """Like :func:`load_scenario`, also returning where each value was written and the files read.

    The locations let later checks (warnings about rules that can never apply)
    point at the line to change; the files let a command refuse to overwrite
    one of its inputs.
    """
    files: list[Path] = []
    data, locs = resolve_file(path, overrides, extends_root=extends_root, files=files)
    return validate_data(data, locs, str(path)), locs, files


def locate_findings(
    findings: Sequence[tuple[Sequence[str | int], str]], locs: Locations, fallback: str
) -> list[Problem]:
    """Turn ``(path, message)`` findings into problems located at the line that set each value."""
    problems = []
    for path, message in findings:
        file, line = _locate(locs, path, fallback)
        problems.append(Problem(file, line, ".".join(str(p) for p in path), message))
    return problems


def scenario_warnings(scenario: Scenario, locs: Locations, label: str) -> list[Problem]:
    """Warnings about parts of a valid scenario that can never change a run, located.

    Only what a scenario file or an override wrote is warned about: the
    package defaults' own postures and rules are a library to choose from,
    and their author is not the user. A finding on one field of a rule or an
    option from the defaults is the user's when the user wrote another field
    of it (``--set options.russia.9.skip_on=[]`` makes its ``min_rung``
    idle): it is located at that field.

    A finding whose rule, option, posture or scheduled change equals the
    defaults' at the same place is theirs too, wherever it was written: a
    resolved file (every default written out) warns as its source does.
    """
    from escalation_sim.scenario.lint import lint_scenario, same_as_defaults

    raw = lint_scenario(scenario)
    mine = scenario_to_dict(scenario)
    raw = [(path, m) for path, m in raw if not same_as_defaults(mine, _defaults_dict(), path)]
    findings = [(_written_item_field(locs, path), m) for path, m in raw]
    problems = locate_findings(findings, locs, label)
    return [p for p in problems if p.file != DEFAULTS_LABEL]


@functools.cache
def _defaults_dict() -> dict[str, Any]:
    """The bare package defaults, validated, as plain data (callers must not mutate it)."""
    return scenario_to_dict(scenario_from_dict({}, label=DEFAULTS_LABEL))


def scenario_notes(
    scenario: Scenario,
    locs: Locations,
    label: str,
    warnings: Sequence[Problem] | None = None,
) -> list[Problem]:
    """Notes on the rules in force that can never, or can hardly, bind, located.

    These include the package defaults' rules that the scenario puts in force
    (the warnings leave those out); a rule the scenario wrote that can never
    apply is a warning already and is not noted again. ``warnings``: the
    scenario's :func:`scenario_warnings`, where the caller has them already
    (else they are worked out here).
    """
    from escalation_sim.scenario.lint import rule_notes

    if warnings is None:
        warnings = scenario_warnings(scenario, locs, label)
    warned = {p.path for p in warnings}
    findings = [(_written_item_field(locs, path), m) for path, m in rule_notes(scenario)]
    return [p for p in locate_findings(findings, locs, label) if p.path not in warned]


def _written_item_field(locs: Locations, path: Sequence[str | int]) -> Sequence[str | int]:
    """For a field of a list item (a rule, an option) set by the defaults, a field of it the user set."""
    if len(path) < 2 or not isinstance(path[-2], int):
        return path
    if _locate(locs, path, DEFAULTS_LABEL)[0] != DEFAULTS_LABEL:
        return path
    item = tuple(path[:-1])
    for key, (file, _) in locs.items():  # in the order written
        if len(key) > len(item) and key[: len(item)] == item and file != DEFAULTS_LABEL:
            return key
    return path


def _everywhere(data: Any, label: str, path: PathKey = ()) -> Locations:
    """Locate every value of in-memory data at ``label`` (no line numbers)."""
    locs: Locations = {path: (label, None)}
    if isinstance(data, Mapping):
        for key, value in data.items():
            locs.update(_everywhere(value, label, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            locs.update(_everywhere(value, label, (*path, i)))
    return locs


def scenario_from_dict(
    data: Mapping[str, Any], overrides: Sequence[str] = (), *, label: str = "<scenario dict>"
) -> Scenario:
    """Build a scenario from a mapping merged over the package defaults."""
    base, base_locs = _parsed_defaults()  # deep_merge copies it
    if not isinstance(data, Mapping):
        raise ScenarioError(
            [Problem(label, None, "", "expected a mapping of scenario fields at the top level")]
        )
    over = thawed(dict(data))  # parts of a validated scenario given back are plain data again
    merged, locs = deep_merge(base, base_locs, over, _everywhere(over, label))
    for assignment in overrides:
        apply_override(merged, locs, assignment)
    return validate_data(merged, locs, label)


def with_overrides(scenario: Scenario, overrides: Sequence[str]) -> Scenario:
    """A copy of a validated scenario with ``key.path=value`` overrides applied and re-validated."""
    data = scenario.model_dump(mode="json")
    locs: Locations = {}
    for assignment in overrides:
        apply_override(data, locs, assignment)
    return validate_data(data, locs, f"scenario {scenario.name!r}")


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario as plain JSON-compatible data."""
    return scenario.model_dump(mode="json")


def _mark_deletions(data: dict[str, Any], base: Mapping[str, Any], top: bool = True) -> None:
    """Add ``null`` for each key the defaults have and ``data`` lacks (merging would restore it)."""
    for key, base_value in base.items():
        if key not in data:
            if not top:
                data[key] = None
        elif isinstance(data[key], dict) and isinstance(base_value, Mapping):
            _mark_deletions(data[key], base_value, top=False)


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML that loads back to the same scenario.

    Loading merges a file over the package defaults, so an entry of the defaults
    that this scenario removed is written as ``null`` (which removes it again).
    """
    header = (
        f"# Resolved scenario {scenario.name!r} (package defaults merged; every field explicit)\n"
    )
    data = scenario_to_dict(scenario)
    _mark_deletions(data, _parsed_defaults()[0])
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def scenario_hash(scenario: Scenario) -> str:
    """A stable SHA-256 of the resolved scenario (what produced an output)."""
    canonical = json.dumps(scenario_to_dict(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def resolve_scenario(
    scenario: Scenario | str | Path,
    *,
    days: int | None = None,
    overrides: Sequence[str] = (),
    extends_root: str | Path | None = None,
) -> Scenario:
    """A validated scenario from a file path (or shipped name) or a Scenario, with overrides.

    ``days`` overrides the horizon; its problems are reported against ``--days``.
    ``extends_root`` widens the folder a file's ``extends`` may reach.

    Raises:
        ScenarioError: The file or an override is invalid.
    """
    if isinstance(scenario, Scenario):
        if not overrides and days is None:
            return scenario
        data, label = scenario.model_dump(mode="json"), f"scenario {scenario.name!r}"
        locs: Locations = {}
        for assignment in overrides:
            apply_override(data, locs, assignment)
    else:
        data, locs = resolve_file(scenario, overrides, extends_root=extends_root)
        label = str(scenario)
    if days is None:
        return validate_data(data, locs, label)
    apply_override(data, locs, f"horizon_days={days}", source="--days")  # its problems name it
    try:
        return validate_data(data, locs, label)
    except ScenarioError as exc:
        raise ScenarioError([_cut_by_days(p, days, data) for p in exc.problems]) from None


def _cut_by_days(problem: Problem, days: int, data: Mapping[str, Any]) -> Problem:
    """A scheduled change beyond a ``--days`` horizon: say that ``--days`` put it there."""
    path = problem.path.split(".")
    if len(path) != 3 or path[0] != "schedule" or path[2] != "day" or not path[1].isdigit():
        return problem
    if OUTSIDE_HORIZON not in problem.message:
        return problem
    # Past pydantic and at the horizon check, every day is an int.
    last = max(int(c["day"]) for c in data["schedule"])
    return dataclasses.replace(
        problem,
        message=f"{problem.message}: --days {days} set the horizon; give --days {last} or more "
        "to keep the scheduled changes, or drop them with --set 'schedule=[]'",
    )
