"""Parameter sweeps: vary scenario values over a design, run replications, measure sensitivity.

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

Designs: ``grid`` (every combination of each parameter's ``values``, or
``steps`` evenly spaced points of its ``range``), ``lhs`` (Latin hypercube of
``samples`` points), ``sobol`` (Saltelli's scheme through SALib: ``samples`` ×
(D+2) points, or × (2D+2) with ``second_order``) and ``morris`` (``trajectories``
× (D+1) points on a ``levels``-level grid). A parameter with ``values`` is
sampled by index in the sampling designs. Integer fields of the scenario are
rounded.

Sensitivity indices come from SALib on the mean outcome over each point's
replications: Sobol' (S1, ST, and S2 with ``second_order``), Morris elementary
effects (mu, mu_star, sigma) and, for Latin hypercubes, RBD-FAST first-order
indices. A grid gets no indices.

Every problem in a sweep file is reported like a scenario file's: the file,
the line, the field path and what was expected. A parameter path that does not
exist in the base scenario, or a value the scenario rejects, is an error at
the parameter's line.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import itertools
import json
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.experiment import aggregate
from escalation_sim.experiment.common import (
    Output,
    base_metadata,
    read_parquet,
    write_json,
)
from escalation_sim.experiment.executors import default_jobs
from escalation_sim.experiment.outcomes import COUNT_PREFIXES, KEY_OUTCOMES
from escalation_sim.experiment.runner import (
    ChunkCallback,
    auto_chunk_size,
    contiguous_chunks,
    run_tasks,
)
from escalation_sim.experiment.seeds import run_seeds
from escalation_sim.experiment.tasks import RunGroup, Task, outcome_columns
from escalation_sim.scenario.loader import (
    load_scenario,
    scenario_hash,
    scenario_to_yaml,
    validate_data,
    with_overrides,
)
from escalation_sim.scenario.schema import Scenario
from escalation_sim.scenario.source import Locations, read_yaml_file

EXPERIMENTS = "experiments"
OUTCOMES = "outcomes"
POINTS = "points"
SENSITIVITY = "sensitivity"
METADATA = "metadata.json"
SWEEP_YAML = "sweep.resolved.yaml"
SCENARIO_YAML = "scenario.resolved.yaml"
PROBLEM_JSON = "problem.json"
STORE = "runs"
METHODS = ("grid", "lhs", "sobol", "morris")
#: Problems listed before a sweep file's design-point check gives up.
MAX_POINT_PROBLEMS = 5


# --------------------------------------------------------------------------- schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ParameterSpec(_Strict):
    """How one parameter varies: a list of ``values``, or a ``range`` [low, high]."""

    values: list[Any] | None = Field(None, min_length=1)
    range: tuple[float, float] | None = None
    steps: Annotated[int, Field(ge=2)] | None = None
    integer: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' (a list) or 'range' ([low, high])")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range must be [low, high] with low < high, got {list(self.range)}")
        if self.steps is not None and self.range is None:
            raise ValueError("'steps' goes with 'range' (a list of values needs no steps)")
        return self


class GridDesign(_Strict):
    """Every combination of the parameters' values (``steps`` points of each range)."""

    method: Literal["grid"]


class LhsDesign(_Strict):
    """A Latin hypercube of ``samples`` points."""

    method: Literal["lhs"]
    samples: Annotated[int, Field(ge=2)]
    seed: Annotated[int, Field(ge=0)] | None = None


class SobolDesign(_Strict):
    """Saltelli's sampling for Sobol' indices: ``samples`` × (D+2) points (× (2D+2) with S2)."""

    method: Literal["sobol"]
    samples: Annotated[int, Field(ge=2)]
    second_order: bool = False
    seed: Annotated[int, Field(ge=0)] | None = None

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, samples: int) -> int:
        if samples & (samples - 1):
            lower = 1 << (samples.bit_length() - 1)
            raise ValueError(
                f"samples must be a power of 2 for Sobol' sequences (got {samples}; "
                f"try {lower} or {2 * lower})"
            )
        return samples


class MorrisDesign(_Strict):
    """Morris trajectories: ``trajectories`` × (D+1) points on a ``levels``-level grid."""

    method: Literal["morris"]
    trajectories: Annotated[int, Field(ge=2)]
    levels: Annotated[int, Field(ge=2)] = 4
    seed: Annotated[int, Field(ge=0)] | None = None

    @field_validator("levels")
    @classmethod
    def _even_levels(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError(f"levels must be even (got {levels})")
        return levels


DesignSpec = Annotated[
    GridDesign | LhsDesign | SobolDesign | MorrisDesign, Field(discriminator="method")
]


class SweepSpec(_Strict):
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


_OWNERS: dict[str, type[BaseModel]] = {
    "grid": GridDesign,
    "lhs": LhsDesign,
    "sobol": SobolDesign,
    "morris": MorrisDesign,
}


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
        return _OWNERS.get(str(method))
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


# --------------------------------------------------------------------------- design
@dataclass
class Parameter:
    """A resolved parameter: its path, kind and bounds."""

    path: str
    spec: ParameterSpec
    integer: bool
    line: int | None

    @property
    def bounds(self) -> tuple[float, float]:
        """Bounds in the sampling space (index space for ``values``)."""
        if self.spec.values is not None:
            return 0.0, float(len(self.spec.values))
        lo, hi = self.spec.range  # type: ignore[misc]
        return float(lo), float(hi)

    def value(self, x: float) -> Any:
        """The scenario value for a sample ``x``."""
        if self.spec.values is not None:
            return self.spec.values[min(math.floor(float(x)), len(self.spec.values) - 1)]
        return math.floor(float(x) + 0.5) if self.integer else float(x)

    def levels(self) -> list[tuple[float, Any]]:
        """Grid levels: (sample, value) pairs."""
        if self.spec.values is not None:
            return [(float(i), v) for i, v in enumerate(self.spec.values)]
        lo, hi = self.spec.range  # type: ignore[misc]
        return [(float(x), self.value(x)) for x in np.linspace(lo, hi, self.spec.steps or 2)]


@dataclass
class Design:
    """The points of a sweep.

    Attributes:
        X: Samples as SALib sees them, one row per point.
        values: The scenario value of each parameter at each point.
        problem: SALib's problem definition.
    """

    X: np.ndarray
    values: list[dict[str, Any]]
    problem: dict[str, Any]

    @property
    def points(self) -> int:
        """Number of design points."""
        return len(self.values)


def expected_points(spec: SweepSpec) -> int:
    """How many points a design makes (before running anything)."""
    d = spec.design
    k = len(spec.parameters)
    match d:
        case GridDesign():
            return math.prod(
                len(p.values) if p.values is not None else (p.steps or 2)
                for p in spec.parameters.values()
            )
        case LhsDesign():
            return d.samples
        case SobolDesign():
            return d.samples * (2 * k + 2 if d.second_order else k + 2)
        case MorrisDesign():
            return d.trajectories * (k + 1)
    raise AssertionError(d)


def make_design(spec: SweepSpec, params: Sequence[Parameter]) -> Design:
    """Sample the design's points (deterministic given the sweep file)."""
    problem = {
        "num_vars": len(params),
        "names": [p.path for p in params],
        "bounds": [list(p.bounds) for p in params],
    }
    d = spec.design
    seed = getattr(d, "seed", None)
    seed = spec.seed if seed is None else seed
    match d:
        case GridDesign():
            grids = [p.levels() for p in params]
            combos = list(itertools.product(*grids))
            X = np.array([[x for x, _ in c] for c in combos], dtype=float)
            values = [{p.path: v for p, (_, v) in zip(params, c, strict=True)} for c in combos]
            return Design(X.reshape(len(combos), len(params)), values, problem)
        case LhsDesign():
            from SALib.sample import latin

            X = latin.sample(problem, d.samples, seed=seed)
        case SobolDesign():
            from SALib.sample import sobol

            X = sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=seed)
        case MorrisDesign():
            from SALib.sample import morris

            X = morris.sample(problem, d.trajectories, num_levels=d.levels, seed=seed)
    values = [{p.path: p.value(x) for p, x in zip(params, row, strict=True)} for row in X]
    return Design(np.asarray(X, dtype=float), values, problem)


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

    design = make_design(spec, params)
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


# --------------------------------------------------------------------------- sensitivity
def sensitivity_indices(
    sw: ResolvedSweep, point_means: pd.DataFrame
) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """SALib indices of each chosen outcome (mean over replications per point).

    Returns:
        Tidy table ``parameter, parameter_2, outcome, method, index, value, conf``
        (``None`` for a grid), and a note for each outcome that could not be analysed.
    """
    d = sw.spec.design
    if isinstance(d, GridDesign):
        return None, {"*": "a grid design gives no sensitivity indices; use sobol, morris or lhs"}
    problem = sw.design.problem
    names = problem["names"]
    seed = d.seed if d.seed is not None else sw.spec.seed
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}

    def add(outcome: str, method: str, index: str, values: Any, conf: Any = None) -> None:
        for i, name in enumerate(names):
            c = None if conf is None else float(np.asarray(conf)[i])
            rows.append(
                {
                    "parameter": name,
                    "parameter_2": "",
                    "outcome": outcome,
                    "method": method,
                    "index": index,
                    "value": float(np.asarray(values)[i]),
                    "conf": c,
                }
            )

    for outcome in sw.outcomes:
        Y = point_means[outcome].to_numpy(dtype=float)
        if np.isnan(Y).any():
            notes[outcome] = "missing values at some points"
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                match d:
                    case SobolDesign():
                        from SALib.analyze import sobol

                        si = sobol.analyze(problem, Y, calc_second_order=d.second_order, seed=seed)
                        add(outcome, "sobol", "S1", si["S1"], si["S1_conf"])
                        add(outcome, "sobol", "ST", si["ST"], si["ST_conf"])
                        if d.second_order:
                            for i, j in itertools.combinations(range(len(names)), 2):
                                rows.append(
                                    {
                                        "parameter": names[i],
                                        "parameter_2": names[j],
                                        "outcome": outcome,
                                        "method": "sobol",
                                        "index": "S2",
                                        "value": float(si["S2"][i, j]),
                                        "conf": float(si["S2_conf"][i, j]),
                                    }
                                )
                    case MorrisDesign():
                        from SALib.analyze import morris

                        si = morris.analyze(problem, sw.design.X, Y, num_levels=d.levels, seed=seed)
                        add(outcome, "morris", "mu", si["mu"])
                        add(outcome, "morris", "mu_star", si["mu_star"], si["mu_star_conf"])
                        add(outcome, "morris", "sigma", si["sigma"])
                    case LhsDesign():
                        from SALib.analyze import rbd_fast

                        # RBD-FAST's harmonics M must stay well below the points (its
                        # bootstrap uses half of them): M = 10 from 44 points up.
                        harmonics = min(10, len(Y) // 4 - 1)
                        if harmonics < 1:
                            notes[outcome] = "RBD-FAST needs a Latin hypercube of 8 points or more"
                            continue
                        si = rbd_fast.analyze(problem, sw.design.X, Y, M=harmonics, seed=seed)
                        add(outcome, "rbd_fast", "S1", si["S1"], si["S1_conf"])
        except (ValueError, ZeroDivisionError, IndexError, np.linalg.LinAlgError) as exc:
            notes[outcome] = f"SALib could not analyse it: {exc}"
    columns = ["parameter", "parameter_2", "outcome", "method", "index", "value", "conf"]
    return pd.DataFrame(rows, columns=columns), notes


# --------------------------------------------------------------------------- results
class SweepResult:
    """A sweep's tables (read on first use from its directory when it has one).

    Attributes:
        metadata: Kind, sweep file, base scenario, design, seeds, versions.
        path: The output directory (``None`` when kept in memory).
    """

    def __init__(
        self,
        metadata: dict[str, Any],
        path: Path | None = None,
        **tables: pd.DataFrame | None,
    ) -> None:
        self.metadata = metadata
        self.path = path
        self._tables: dict[str, pd.DataFrame | None] = dict(tables)

    def _table(self, name: str) -> pd.DataFrame | None:
        if self._tables.get(name) is None and self.path is not None:
            file = self.path / f"{name}.parquet"
            if file.exists():
                self._tables[name] = read_parquet(file)
        return self._tables.get(name)

    @property
    def experiments(self) -> pd.DataFrame:
        """One row per run: ``point, replication, seed`` and each parameter's value."""
        return self._table(EXPERIMENTS)  # type: ignore[return-value]

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per run: ``point, replication`` and the outcomes (as in ``runs.parquet``)."""
        return self._table(OUTCOMES)  # type: ignore[return-value]

    @property
    def points(self) -> pd.DataFrame:
        """One row per design point: parameters and mean outcomes over replications."""
        return self._table(POINTS)  # type: ignore[return-value]

    @property
    def sensitivity(self) -> pd.DataFrame | None:
        """Sensitivity indices (``None`` for a grid)."""
        return self._table(SENSITIVITY)

    def table(self) -> pd.DataFrame:
        """Experiments and outcomes joined on ``point, replication`` (one tidy table)."""
        return self.experiments.merge(self.outcomes, on=["point", "replication"])

    @classmethod
    def load(cls, path: str | Path) -> SweepResult:
        """Open a sweep directory written by :func:`sweep`."""
        path = Path(path)
        return cls(json.loads((path / METADATA).read_text("utf-8")), path)

    def describe(self) -> str:
        """A few lines: the design and the largest sensitivity indices."""
        m = self.metadata
        lines = [
            f"Sweep {m['sweep']}: {m['design']['method']} design, {m['points']} points x "
            f"{m['replications']} replications = {m['runs']} runs of {m['scenario']}"
        ]
        s = self.sensitivity
        if s is not None and len(s):
            main = {"sobol": "ST", "morris": "mu_star", "rbd_fast": "S1"}
            lines += ["", "Sensitivity (largest index per outcome first):"]
            for outcome, part in s.groupby("outcome", sort=False):
                method = part["method"].iloc[0]
                part = part[part["index"] == main[method]].sort_values("value", ascending=False)
                shown = ", ".join(f"{r.parameter} {r.value:.3g}" for r in part.itertuples())
                lines.append(f"  {outcome:<20} {main[method]}: {shown}")
        for outcome, note in m.get("sensitivity_notes", {}).items():
            lines.append(f"  {outcome}: {note}")
        return "\n".join(lines)


def _sweep_tasks(
    sw: ResolvedSweep, seeds: Sequence[int], missing: Sequence[int], size: int
) -> Iterator[Task]:
    reps = sw.spec.replications
    scenario_of = functools.lru_cache(maxsize=8)(sw.point_scenario)
    for chunk in contiguous_chunks(missing, size):
        groups = []
        for point, runs in itertools.groupby(chunk, key=lambda r: r // reps):
            ids = tuple(runs)
            groups.append(
                RunGroup(
                    scenario_of(point),
                    ids,
                    tuple(seeds[r] for r in ids),
                    {"point": (point,) * len(ids), "replication": tuple(r % reps for r in ids)},
                )
            )
        yield Task(STORE, tuple(groups), keep_series=False)


def _experiments_table(sw: ResolvedSweep, seeds: Sequence[int]) -> pd.DataFrame:
    reps = sw.spec.replications
    n = sw.runs
    frame: dict[str, Any] = {
        "point": np.repeat(np.arange(sw.design.points, dtype=np.int64), reps),
        "replication": np.tile(np.arange(reps, dtype=np.int64), sw.design.points),
        "seed": np.asarray(seeds, dtype=np.int64)[:n],
    }
    for p in sw.params:
        column = [v[p.path] for v in sw.design.values]
        frame[p.path] = np.repeat(np.asarray(column, dtype=object), reps)
        try:
            frame[p.path] = pd.to_numeric(frame[p.path])
        except (TypeError, ValueError):
            frame[p.path] = frame[p.path].astype(str)
    return pd.DataFrame(frame)


def sweep(
    source: str | Path | Mapping[str, Any],
    *,
    jobs: int | None = None,
    out: str | Path | None = None,
    dask: Any = None,
    chunk_size: int | None = None,
    start_method: str | None = None,
    progress: bool = True,
    restart: bool = False,
    force: bool = False,
    on_chunk: ChunkCallback | None = None,
    command: str | None = None,
) -> SweepResult:
    """Run a sweep file: every design point, with its replications.

    Args:
        source: The sweep file (or its contents as a mapping).
        jobs: Local worker processes (``None``: one per CPU; 1: in this process).
        out: Output directory (resumable through ``<out>.partial/``); ``None``: in memory.
        dask: A Dask scheduler address or ``distributed.Client``.
        chunk_size: Runs per task.
        start_method: Start method of the local pool.
        progress: Show a progress bar.
        restart: Discard finished runs of a different earlier sweep.
        force: Replace ``out`` if it exists.
        on_chunk: Called with ``(done, total)`` after each chunk is on disk.
        command: The command line, for the metadata.

    Returns:
        Experiments, outcomes, per-point means and sensitivity indices.

    Raises:
        ScenarioError: The sweep file (or its base scenario) is invalid.
        ExperimentInterrupted: Interrupted; finished runs are kept for a resume.
    """
    sw = load_sweep(source)
    output = Output(out, force=force)
    try:
        key = {
            "kind": "sweep",
            "sweep_hash": sw.hash,
            "root_seed": sw.spec.seed,
            "runs": sw.runs,
        }
        wd = output.workdir(key, restart=restart)
        store = wd.store(STORE)
        seeds = sw.seeds()
        finished = store.done()
        missing = [r for r in range(sw.runs) if r not in finished]
        workers = 1 if jobs == 1 and dask is None else (jobs or default_jobs())
        size = chunk_size or auto_chunk_size(len(missing), workers)
        info = run_tasks(
            _sweep_tasks(sw, seeds, missing, size),
            stores={STORE: store},
            total=sw.runs,
            done=len(finished),
            jobs=jobs,
            dask=dask,
            start_method=start_method,
            progress=progress,
            desc="sweep",
            workdir=wd.path if output.keeps_work else None,
            on_chunk=on_chunk,
        )
        experiments = _experiments_table(sw, seeds)
        chosen = aggregate.read_runs([store], ["point", "replication", *sw.outcomes])
        for name in sw.outcomes:
            if name not in chosen:
                chosen[name] = 0 if name.startswith(COUNT_PREFIXES) else np.nan
        means = chosen.groupby("point", sort=True)[sw.outcomes].mean()
        points = experiments[experiments["replication"] == 0].drop(columns=["replication", "seed"])
        points = points.reset_index(drop=True)
        points.insert(1, "replications", sw.spec.replications)
        points = points.join(means, on="point")
        sens, notes = sensitivity_indices(sw, means.reset_index(drop=True))
        meta = {
            **base_metadata("sweep", command, info),
            "sweep": sw.spec.name or sw.label,
            "sweep_file": sw.label,
            "sweep_hash": sw.hash,
            "scenario": sw.base.name,
            "base": str(sw.base_path) if sw.base_path else None,
            "base_scenario_hash": scenario_hash(sw.base),
            "design": sw.spec.design.model_dump(mode="json"),
            "parameters": [p.path for p in sw.params],
            "problem": sw.design.problem,
            "points": sw.design.points,
            "replications": sw.spec.replications,
            "runs": sw.runs,
            "root_seed": sw.spec.seed,
            "seeds": sw.spec.seeds,
            "chunk_size": size,
            "resumed_runs": len(finished),
            "outcomes_analysed": sw.outcomes,
            "sensitivity_notes": notes,
            "layout": "experiments and outcomes share rows (point, replication): the "
            "experiments/outcomes layout of EMA Workbench; problem.json is SALib's problem",
        }

        def fill(tmp: Path) -> None:
            aggregate.write_table(experiments, tmp / EXPERIMENTS)
            aggregate.write_runs(
                [store],
                tmp / f"{OUTCOMES}.parquet",
                tmp / f"{OUTCOMES}.csv",
                drop=("run", "seed", "scenario"),
            )
            aggregate.write_table(points, tmp / POINTS)
            if sens is not None:
                aggregate.write_table(sens, tmp / SENSITIVITY)
            write_json(sw.design.problem, tmp / PROBLEM_JSON)
            write_json(meta, tmp / METADATA)
            (tmp / SWEEP_YAML).write_text(sw.resolved_yaml(), encoding="utf-8")
            (tmp / SCENARIO_YAML).write_text(scenario_to_yaml(sw.base), encoding="utf-8")

        path = output.finish(fill, wd)
        tables: dict[str, pd.DataFrame | None] = {
            EXPERIMENTS: experiments,
            POINTS: points,
            SENSITIVITY: sens,
        }
        if path is None:
            outcomes = aggregate.read_runs([store])
            tables[OUTCOMES] = outcomes.drop(columns=["run", "seed", "scenario"])
        return SweepResult(meta, path, **tables)
    finally:
        output.cleanup()
