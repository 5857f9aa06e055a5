"""The sweep file: its format, and loading and validating it with file, line and field.

A sweep file (YAML) names a base scenario, the parameters to vary (dotted
paths into the resolved scenario, as in ``--set``) with their values or ranges,
a design and the replications per design point::

    base: ../deep_strike.yaml          # relative to this file
    days: 90                           # optional horizon
    set: ["rules.DEU.posture=border_self_defense"]   # optional fixed overrides
    seed: 0                            # root seed of the runs
    replications: 4                    # runs per design point
    seeds: common                      # common (same seeds at every point) | independent
    design: {method: sobol, samples: 32}
    parameters:
      rules.USA.postures.deep_strike.rules.0.max_depth_km: {range: [20, 300]}
      actors.RUS.risk_tolerance: {range: [0.2, 0.8]}
      rules.GBR.posture: {values: [self_defense, anywhere]}
    outcomes: [fire_on_city, harm, peak_rung.RUS]   # indices for these

The designs are described in :mod:`escalation_sim.experiment.sweep.designs`.

Every problem in a sweep file is reported like a scenario file's: the file,
the line, the field path and what was expected. A parameter path that does not
exist in the base scenario, or a value the scenario rejects, is an error at
the parameter's line.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.experiment.outcomes import KEY_OUTCOMES
from escalation_sim.experiment.seeds import run_seeds
from escalation_sim.experiment.sweep.designs import (
    DESIGNS,
    METHODS,
    Design,
    DesignSpec,
    Parameter,
    ParameterSpec,
    Strict,
)
from escalation_sim.experiment.tasks import outcome_columns
from escalation_sim.scenario.loader import (
    load_scenario,
    scenario_hash,
    validate_data,
    with_overrides,
)
from escalation_sim.scenario.schema import Scenario
from escalation_sim.scenario.source import Locations, read_yaml_file

#: Problems listed before a sweep file's design-point check gives up.
MAX_POINT_PROBLEMS = 5
#: Most design points of a sweep (each is validated as a scenario before anything runs).
MAX_POINTS = 100_000


# --------------------------------------------------------------------------- schema
class SweepSpec(Strict):
    """A sweep file."""

    name: str | None = None
    description: str | None = None
    base: str = Field(description="The base scenario file, relative to the sweep file.")
    days: Annotated[int, Field(ge=1)] | None = None
    overrides: list[str] = Field(default_factory=list, alias="set")
    seed: Annotated[int, Field(ge=0)] = 0
    replications: Annotated[int, Field(ge=1)] = 1
    seeds: Literal["common", "independent"] = "common"
    design: DesignSpec
    parameters: dict[str, ParameterSpec] = Field(min_length=1)
    outcomes: list[str] | None = None


def expected_points(spec: SweepSpec) -> int:
    """How many points a sweep file's design makes (before sampling anything)."""
    return spec.design.points(spec.parameters)


def check_design_size(spec: SweepSpec) -> str | None:
    """Why a design is too large to run (``None``: it is not), known before anything is sampled.

    Every point is validated as a scenario and sampled in memory, and every run
    gets a seed: :data:`MAX_POINTS` points and :data:`~escalation_sim.experiment.common.MAX_RUNS`
    runs bound the time and memory a sweep may ask for.
    """
    from escalation_sim.experiment.common import MAX_RUNS

    points = expected_points(spec)
    runs = points * spec.replications
    if points > MAX_POINTS:
        return (
            f"the design makes {points:,} points; at most {MAX_POINTS:,} (each point is checked "
            "as a scenario and run); use fewer samples, trajectories or levels"
        )
    if runs > MAX_RUNS:
        return (
            f"the design makes {points:,} points x {spec.replications:,} replications = "
            f"{runs:,} runs; at most {MAX_RUNS:,}"
        )
    return None


def design_seed(spec: SweepSpec) -> int:
    """Seed of the design's sampling and of SALib's bootstrap: the design's own, or the root."""
    own = getattr(spec.design, "seed", None)
    return spec.seed if own is None else own


# --------------------------------------------------------------------------- errors
def _locate(locs: Locations, path: Sequence[Any], label: str) -> int | None:
    key = tuple(path)
    while True:
        if key in locs:
            return locs[key][1]
        if not key:
            return None
        key = key[:-1]


def _owner(loc: Sequence[Any], data: Any) -> type[BaseModel] | None:
    if len(loc) == 1:
        return SweepSpec
    if loc[0] == "design" and len(loc) == 2:
        method = data.get("design", {}).get("method") if isinstance(data, dict) else None
        return DESIGNS.get(str(method))
    if loc[0] == "parameters" and len(loc) == 3:
        return ParameterSpec
    return None


def _message(err: Mapping[str, Any], loc: Sequence[Any], data: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _owner(loc, data)
        name = str(loc[-1])
        if owner is None:
            return f"unknown field {name!r}"
        fields = [f.alias or n for n, f in owner.model_fields.items()]
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown field {name!r}; {hint}expected one of: {', '.join(fields)}"
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        return f"unknown design method {tag!r}; expected one of: {', '.join(METHODS)}"
    if kind == "union_tag_not_found":
        return f"the design needs a method: one of {', '.join(METHODS)}"
    if kind == "missing":
        return "required field is missing"
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
    return f"{err['msg']} (got {shown[:60]})"


def _validation_problems(
    exc: ValidationError, locs: Locations, label: str, data: Any
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # A tagged union puts the tag in the path (design.sobol.samples): drop it.
        if len(loc) >= 2 and loc[0] == "design" and loc[1] in METHODS:
            del loc[1]
        if err["type"] == "union_tag_invalid":
            loc = [*loc, "method"]
        dotted = ".".join(str(p) for p in loc)
        problems.append(Problem(label, _locate(locs, loc, label), dotted, _message(err, loc, data)))
    return problems


# --------------------------------------------------------------------------- scenario paths
def _split(path: str) -> list[str]:
    return path.split(".")


def _lookup(data: Any, path: str) -> tuple[bool, Any, str]:
    """Find ``path`` in scenario data: (found, value, message if not)."""
    node = data
    parts = _split(path)
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the scenario"
        if isinstance(node, dict):
            if part not in node:
                keys = [str(k) for k in node]
                close = difflib.get_close_matches(part, keys, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
                return False, None, f"no field {part!r} in {where}; {hint}it has: {shown}"
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return (
                    False,
                    None,
                    f"{where} is a list of {len(node)}; {part!r} is not an index 0..{len(node) - 1}",
                )
            node = node[int(part)]
        else:
            return False, None, f"{where} is a single value ({node!r}); it has no field {part!r}"
    return True, node, ""


def _assign(data: Any, path: str, value: Any) -> None:
    parts = _split(path)
    node = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def apply_values(base_data: Mapping[str, Any], values: Mapping[str, Any], label: str) -> Scenario:
    """The base scenario (as data) with each ``path: value`` set, validated.

    Raises:
        ScenarioError: The scenario rejects the values.
    """
    data = copy.deepcopy(dict(base_data))
    for path, value in values.items():
        _assign(data, path, value)
    return validate_data(data, {}, label)


# --------------------------------------------------------------------------- loading
@dataclass
class ResolvedSweep:
    """A validated sweep: its spec, base scenario, parameters and design.

    Attributes:
        spec: The sweep file's contents.
        label: How the file is named in messages.
        base: The base scenario with ``days`` and ``set`` applied.
        params: The parameters, in file order.
        design: The design points.
        outcomes: Outcomes that get sensitivity indices.
        hash: SHA-256 of what decides the runs (the key of the work directory).
        base_path: The base scenario file (``None`` for a scenario object).
    """

    spec: SweepSpec
    label: str
    base: Scenario
    params: list[Parameter]
    design: Design
    outcomes: list[str]
    hash: str
    base_path: Path | None = None
    _base_data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def runs(self) -> int:
        """Total runs: points × replications."""
        return self.design.points * self.spec.replications

    def point_scenario(self, point: int) -> Scenario:
        """The scenario of design point ``point``."""
        return apply_values(self._base_data, self.design.values[point], self.label)

    def seeds(self) -> list[int]:
        """The seed of every run (run = point × replications + replication)."""
        reps = self.spec.replications
        if self.spec.seeds == "common":
            per_rep = run_seeds(self.spec.seed, reps)
            return [per_rep[r % reps] for r in range(self.runs)]
        return run_seeds(self.spec.seed, self.runs)

    def resolved_yaml(self) -> str:
        """The sweep file with every default filled in and the base as an absolute path."""
        data = self.spec.model_dump(mode="json", by_alias=True)
        if self.base_path is not None:
            data["base"] = str(self.base_path.resolve())
        header = (
            f"# Resolved sweep {self.label} (defaults filled in)\n"
            f"# base scenario hash {scenario_hash(self.base)}; {self.design.points} points x "
            f"{self.spec.replications} replications = {self.runs} runs\n"
        )
        return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _check_parameters(
    spec: SweepSpec, base: Scenario, data: dict[str, Any], locs: Locations, label: str
) -> tuple[list[Parameter], list[Problem]]:
    problems: list[Problem] = []
    params: list[Parameter] = []
    for path, p in spec.parameters.items():
        where = ("parameters", path)
        line = _locate(locs, where, label)
        dotted = f"parameters.{path}"
        found, current, why = _lookup(data, path)
        if not found:
            problems.append(
                Problem(label, line, dotted, f"not a field of the base scenario: {why}")
            )
            continue
        if isinstance(current, dict | list):
            kind = "a mapping" if isinstance(current, dict) else "a list"
            problems.append(
                Problem(label, line, dotted, f"this is {kind}, not a value; name a field inside it")
            )
            continue
        numeric = current is None or (
            isinstance(current, int | float) and not isinstance(current, bool)
        )
        if p.range is not None and not numeric:
            problems.append(
                Problem(
                    label,
                    _locate(locs, (*where, "range"), label),
                    f"{dotted}.range",
                    f"the scenario holds {current!r} here, not a number; "
                    "give 'values: [...]' instead of a range",
                )
            )
            continue
        integer = (
            p.integer
            if p.integer is not None
            else isinstance(current, int) and not isinstance(current, bool)
        )
        param = Parameter(path, p, integer, line)
        checks: list[tuple[Any, tuple[Any, ...], str]] = []
        if p.values is not None:
            checks = [
                (v, (*where, "values", i), f"{dotted}.values.{i}") for i, v in enumerate(p.values)
            ]
        else:
            lo, hi = param.bounds
            for end, x in (("low", lo), ("high", hi)):
                checks.append((param.value(x), (*where, "range"), f"{dotted}.range ({end})"))
        bad = False
        for value, vloc, vpath in checks:
            try:
                apply_values(data, {path: value}, label)
            except ScenarioError as exc:
                bad = True
                why = "; ".join(
                    f"{q.path}: {q.message}" if q.path else q.message for q in exc.problems
                )
                problems.append(
                    Problem(
                        label,
                        _locate(locs, vloc, label),
                        vpath,
                        f"the scenario rejects {value!r}: {why}",
                    )
                )
        if not bad:
            params.append(param)
    return params, problems


def _sweep_hash(spec: SweepSpec, base: Scenario) -> str:
    decisive = spec.model_dump(mode="json", exclude={"name", "description", "outcomes", "base"})
    decisive["base_scenario_hash"] = scenario_hash(base)
    canonical = json.dumps(decisive, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def default_sweep_outcomes(base: Scenario) -> list[str]:
    """Outcomes that get sensitivity indices unless the file names them."""
    russia = [a for a, s in base.actors.items() if s.side == "russia"]
    return list(KEY_OUTCOMES) + [f"peak_rung.{a}" for a in russia]


def load_sweep(
    source: str | Path | Mapping[str, Any], *, label: str | None = None
) -> ResolvedSweep:
    """Read and validate a sweep file (or a mapping with its contents).

    Args:
        source: The sweep file, or its contents as a mapping (``base`` relative
            to the current directory).
        label: How to name the source in messages.

    Returns:
        The validated sweep with its base scenario and design points.

    Raises:
        ScenarioError: With the file, line, field and expectation of every problem.
    """
    if isinstance(source, Mapping):
        label = label or "<sweep dict>"
        data: Any = copy.deepcopy(dict(source))
        locs: Locations = {}
        folder = Path.cwd()
    else:
        label = label or str(source)
        data, locs = read_yaml_file(source, label)
        folder = Path(source).parent
    if data is None:
        raise ScenarioError(
            [Problem(label, None, "", "the file is empty; expected a sweep mapping")]
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(label, 1, "", "expected a mapping (base, parameters, design, ...)")]
        )
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_validation_problems(exc, locs, label, data)) from None
    size_problem = check_design_size(spec)
    if size_problem:
        raise ScenarioError(
            [Problem(label, _locate(locs, ("design",), label), "design", size_problem)]
        )

    # The base scenario, its horizon and fixed overrides.
    base_path = folder / spec.base
    if not base_path.exists():
        raise ScenarioError(
            [
                Problem(
                    label,
                    _locate(locs, ("base",), label),
                    "base",
                    f"scenario file {spec.base} not found (looked for {base_path})",
                )
            ]
        )
    base = load_scenario(base_path)
    problems: list[Problem] = []
    fixed = list(spec.overrides) + ([f"horizon_days={spec.days}"] if spec.days else [])
    for i, item in enumerate(fixed):
        where = ("set", i) if i < len(spec.overrides) else ("days",)
        try:
            with_overrides(base, [item])
        except ScenarioError as exc:
            why = "; ".join(f"{q.path}: {q.message}" if q.path else q.message for q in exc.problems)
            dotted = ".".join(str(p) for p in where)
            problems.append(Problem(label, _locate(locs, where, label), dotted, f"{item!r}: {why}"))
    if problems:
        raise ScenarioError(problems)
    if fixed:
        base = with_overrides(base, fixed)
    base_data = base.model_dump(mode="json")

    params, problems = _check_parameters(spec, base, base_data, locs, label)
    known = outcome_columns(base)
    chosen = spec.outcomes if spec.outcomes is not None else default_sweep_outcomes(base)
    for i, name in enumerate(chosen):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                Problem(
                    label,
                    _locate(locs, ("outcomes", i), label),
                    f"outcomes.{i}",
                    f"unknown outcome {name!r}; {hint}outcomes are the columns of runs.parquet "
                    "(e.g. fire_on_city, harm, strikes_in_russia, peak_rung.RUS)",
                )
            )
    if problems:
        raise ScenarioError(problems)

    design = spec.design.sample(params, design_seed(spec))
    # Every point must make a valid scenario (combinations can break cross-checks).
    line = _locate(locs, ("parameters",), label)
    for point, values in enumerate(design.values):
        try:
            apply_values(base_data, values, label)
        except ScenarioError as exc:
            why = "; ".join(f"{q.path}: {q.message}" for q in exc.problems)
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            problems.append(
                Problem(
                    label, line, "parameters", f"design point {point} ({shown}) is rejected: {why}"
                )
            )
            if len(problems) >= MAX_POINT_PROBLEMS:
                break
    if problems:
        raise ScenarioError(problems)
    return ResolvedSweep(
        spec,
        label,
        base,
        params,
        design,
        list(chosen),
        _sweep_hash(spec, base),
        base_path,
        base_data,
    )
