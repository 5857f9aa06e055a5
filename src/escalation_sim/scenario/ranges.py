"""Plausible ranges of the model's assumptions, and assumption sets drawn from them.

The ranges file (``data/assumption_ranges.yaml`` in the package, or a user's own
file) groups its entries by region (``decisions``, ``policy``, ``battlefield``).
Each entry is keyed by the dotted path of a scenario value, as ``--set`` writes
it, and gives either an absolute range or a factor range::

    decisions:
      decisions.actors.RUS.steepness: {low: 0.1, high: 0.5, why: "..."}
      decisions.actors.*.climb_rate: {low: 0.02, high: 0.12, why: "..."}
      ladder.rungs.*.climb_threshold: {factor: [0.6, 1.6], scale: log, shared: true, why: "..."}

* ``low``/``high``: the value itself is drawn from ``[low, high]``.
* ``factor: [a, b]``: the scenario's own value is multiplied by a factor drawn
  from ``[a, b]`` (for parameters whose defaults differ key by key, such as a
  ladder's thresholds); the range must contain 1.
* ``scale``: ``linear`` (the default) or ``log`` (uniform in the logarithm;
  both ends must be positive).
* A ``*`` segment stands for every key (or list item) at that level. Each
  matched value is its own dimension, drawn independently, unless
  ``shared: true``: then one draw applies to all of them (one factor for every
  threshold of a ladder keeps it ordered).
* Integer parameters (those whose value is an integer) are rounded.

A range is judgement: where its ends come from is said in ``why``. The default
value of every path must lie inside its range (a factor range must contain 1),
so the defaults are one of the assumption sets the range describes. Sampling
is a Latin hypercube over the unit cube, seeded from the experiment's root
seed; it spreads assumption sets evenly over the ranges and is not a
probability distribution over the world.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.scenario.schema import Scenario
from escalation_sim.scenario.source import Locations, parse_yaml_text, read_yaml_file

#: The regions of the ranges file, in order, and which branch of the model each covers.
REGIONS = ("decisions", "policy", "battlefield")
PACKAGE_FILE = "assumption_ranges.yaml"
_ENTRY_FIELDS = ("low", "high", "factor", "scale", "shared", "why")
#: Domain separation of the Latin-hypercube seed from the run seeds of the same root.
SAMPLING_TAG = 0x524F42  # "ROB"


@dataclass(frozen=True, slots=True)
class RangeSpec:
    """One entry of a ranges file.

    Attributes:
        pattern: The dotted path, possibly with ``*`` segments.
        region: The region it was written under.
        kind: ``absolute`` (the value is drawn) or ``factor`` (the value is scaled).
        low: Lower end (a value, or a factor).
        high: Upper end.
        scale: ``linear`` or ``log``.
        shared: With ``*``: one draw for every matched value.
        why: Where the range comes from.
        file: The ranges file.
        line: Line of the entry in it.
    """

    pattern: str
    region: str
    kind: Literal["absolute", "factor"]
    low: float
    high: float
    scale: Literal["linear", "log"]
    shared: bool
    why: str
    file: str
    line: int | None

    def at(self, u: float) -> float:
        """The value (or factor) at position ``u`` in [0, 1] of the range."""
        if self.scale == "log":
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def contains(self, value: float) -> bool:
        """Whether a default value lies in the range (for a factor range: whether 1 does)."""
        x = 1.0 if self.kind == "factor" else value
        tol = 1e-12 * max(1.0, abs(x))
        return self.low - tol <= x <= self.high + tol

    def describe(self) -> str:
        """The range as text: ``[0.1, 0.5]`` or ``x[0.6, 1.6] (log)``."""
        text = f"[{self.low:g}, {self.high:g}]"
        if self.kind == "factor":
            text = "x" + text
        return text + (" (log)" if self.scale == "log" else "")


@dataclass(frozen=True, slots=True)
class Dimension:
    """One sampled coordinate of an assumption set.

    Attributes:
        name: The column name: the concrete path, or the pattern when shared.
        spec: The entry it comes from.
        paths: The concrete paths it sets.
        integer: Round the values (the default is an integer).
    """

    name: str
    spec: RangeSpec
    paths: tuple[str, ...]
    integer: bool


@dataclass(frozen=True)
class AssumptionRanges:
    """A validated ranges file.

    Attributes:
        specs: The entries, in file order.
        file: Where they were read from.
        text: The file's text (written beside an experiment's outputs).
    """

    specs: tuple[RangeSpec, ...]
    file: str
    text: str = field(repr=False, default="")

    def select(self, regions: Iterable[str]) -> AssumptionRanges:
        """Only the entries of some regions."""
        wanted = list(regions)
        unknown = [r for r in wanted if r not in REGIONS]
        if unknown:
            raise ScenarioError(
                [
                    Problem(
                        "--regions",
                        None,
                        "",
                        f"unknown region(s) {', '.join(unknown)}; expected: {', '.join(REGIONS)}",
                    )
                ]
            )
        return AssumptionRanges(
            tuple(s for s in self.specs if s.region in wanted), self.file, self.text
        )

    def dimensions(
        self, data: Sequence[Mapping[str, Any]], *, fixed: Iterable[str] = ()
    ) -> list[Dimension]:
        """The sampled coordinates over one or more scenarios (as resolved data).

        A ``*`` is expanded in every scenario and the matches are joined, so a
        path present in only some scenarios is still sampled (and set where it
        exists). Where two entries match one value, the more specific one (fewer
        ``*`` segments) decides. Paths in ``fixed`` (held by ``--set``) are left
        out, and so are values a factor range would scale from zero.

        Raises:
            ScenarioError: A pattern matches no number in any scenario, or two
                equally specific entries match the same value.
        """
        held = set(fixed)
        owners, values, problems = _resolve(self.specs, data)
        if problems:
            raise ScenarioError(problems)
        dims: list[Dimension] = []
        for spec in self.specs:
            paths = [p for p, o in owners.items() if o is spec and p not in held]
            if spec.kind == "factor":
                # A factor leaves a zero at zero: no dimension for values zero everywhere.
                paths = [p for p in paths if any(v for v in values[p])]
            if not paths:
                continue
            ints = {p: all(isinstance(v, int) for v in values[p]) for p in paths}
            if spec.shared:
                dims.append(Dimension(spec.pattern, spec, tuple(paths), all(ints.values())))
            else:
                dims += [Dimension(p, spec, (p,), ints[p]) for p in paths]
        return dims


def ranges_by_path(ranges: AssumptionRanges, data: Mapping[str, Any]) -> dict[str, RangeSpec]:
    """The entry that gives each numeric value of ``data`` its range, by concrete path."""
    return _resolve(ranges.specs, [data])[0]


def _stars(pattern: str) -> int:
    return pattern.split(".").count("*")


def _resolve(
    specs: Sequence[RangeSpec], data: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, RangeSpec], dict[str, list[Any]], list[Problem]]:
    """Which entry sets each numeric value (the most specific one), and its values.

    Returns:
        The deciding entry of each concrete path, each path's values in the
        scenarios that have it, and the problems found (a pattern that names
        no number; two equally specific entries on one value).
    """
    owners: dict[str, RangeSpec] = {}
    values: dict[str, list[Any]] = {}
    problems: list[Problem] = []
    for spec in specs:
        found: dict[str, list[Any]] = {}
        for d in data:
            for path, value in expand(d, spec.pattern):
                found.setdefault(path, []).append(value)
        numeric = {p: v for p, v in found.items() if all(_is_number(x) for x in v)}
        if not numeric:
            why = (
                f"it matches {', '.join(list(found)[:3])}, which are not numbers"
                if found
                else "it matches no value of the scenario" + _hint(data[0], spec.pattern)
            )
            problems.append(
                Problem(
                    spec.file,
                    spec.line,
                    spec.pattern,
                    f"not a numeric parameter: {why}",
                )
            )
            continue
        for path, vals in numeric.items():
            other = owners.get(path)
            if other is None or _stars(spec.pattern) < _stars(other.pattern):
                owners[path] = spec
                values[path] = vals
            elif _stars(spec.pattern) == _stars(other.pattern):
                problems.append(
                    Problem(
                        spec.file,
                        spec.line,
                        spec.pattern,
                        f"{path} is already given a range by {other.pattern!r} "
                        f"(line {other.line}); each value may have one range",
                    )
                )
    return owners, values, problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _split(pattern: str) -> list[str]:
    return pattern.split(".")


def expand(data: Any, pattern: str) -> list[tuple[str, Any]]:
    """Every ``(concrete path, value)`` that ``pattern`` names in ``data``.

    A ``*`` segment matches every key of a mapping or every item of a list, in
    their order (never a set's: the expansion is the same in every process).
    """
    out: list[tuple[str, Any]] = []

    def walk(node: Any, parts: list[str], done: list[str]) -> None:
        if not parts:
            out.append((".".join(done), node))
            return
        head, rest = parts[0], parts[1:]
        if isinstance(node, dict):
            keys = list(node) if head == "*" else ([head] if head in node else [])
            for k in keys:
                walk(node[k], rest, [*done, str(k)])
        elif isinstance(node, list):
            if head == "*":
                idx = range(len(node))
            elif head.isdigit() and int(head) < len(node):
                idx = range(int(head), int(head) + 1)
            else:
                idx = range(0)
            for i in idx:
                walk(node[i], rest, [*done, str(i)])

    walk(data, _split(pattern), [])
    return out


def _get(data: Any, path: str) -> Any:
    node = data
    for part in _split(path):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _set(data: Any, path: str, value: Any) -> None:
    parts = _split(path)
    node = _get(data, ".".join(parts[:-1])) if len(parts) > 1 else data
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def _has(data: Any, path: str) -> bool:
    try:
        _get(data, path)
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return True


def _problem(file: str, locs: Locations, key: tuple[Any, ...], path: str, msg: str) -> Problem:
    line = None
    for depth in range(len(key), 0, -1):
        hit = locs.get(key[:depth])
        if hit is not None:
            line = hit[1]
            break
    return Problem(file, line, path, msg)


def _parse_entry(
    region: str, pattern: str, raw: Any, file: str, locs: Locations
) -> tuple[RangeSpec | None, list[Problem]]:
    key = (region, pattern)
    where = str(pattern)

    def bad(msg: str, sub: str | None = None) -> tuple[None, list[Problem]]:
        k = (*key, sub) if sub else key
        return None, [_problem(file, locs, k, f"{where} ({sub})" if sub else where, msg)]

    if not isinstance(pattern, str) or not pattern or any(not p for p in pattern.split(".")):
        return bad("expected a dotted path of a scenario value (as --set writes it)")
    if not isinstance(raw, dict):
        return bad(
            "expected a mapping: {low: <number>, high: <number>, why: ...} "
            "or {factor: [<a>, <b>], why: ...}"
        )
    unknown = [k for k in raw if k not in _ENTRY_FIELDS]
    if unknown:
        return bad(f"unknown field {unknown[0]!r}; expected one of: {', '.join(_ENTRY_FIELDS)}")
    why = raw.get("why")
    if not isinstance(why, str) or not why.strip():
        return bad('every range says why (where its ends come from): add why: "..."', "why")
    scale = raw.get("scale", "linear")
    if scale not in ("linear", "log"):
        return bad(f"expected 'linear' or 'log', got {scale!r}", "scale")
    shared = raw.get("shared", False)
    if not isinstance(shared, bool):
        return bad(f"expected true or false, got {shared!r}", "shared")
    if "factor" in raw:
        if "low" in raw or "high" in raw:
            return bad("give either low/high or factor, not both", "factor")
        f = raw["factor"]
        if not (isinstance(f, list) and len(f) == 2 and all(_is_number(x) for x in f)):
            return bad(f"expected a pair of numbers [a, b], got {f!r}", "factor")
        kind, low, high, sub = "factor", float(f[0]), float(f[1]), "factor"
    else:
        for end in ("low", "high"):
            if end not in raw:
                return bad(f"missing {end!r}: expected low and high (or factor: [a, b])")
            if not _is_number(raw[end]):
                return bad(f"expected a number, got {raw[end]!r}", end)
        kind, low, high, sub = "absolute", float(raw["low"]), float(raw["high"]), "high"
    if not (math.isfinite(low) and math.isfinite(high)):
        return bad("the ends must be finite numbers", sub)
    if not low < high:
        return bad(f"the low end ({low:g}) must be below the high end ({high:g})", sub)
    if scale == "log" and low <= 0:
        return bad(f"a log scale needs positive ends, got {low:g}", sub)
    if shared and "*" not in pattern.split("."):
        return bad("shared: true needs a '*' segment in the path", "shared")
    line = locs.get(key, (file, None))[1]
    return (
        RangeSpec(pattern, region, kind, low, high, scale, shared, why.strip(), file, line),  # type: ignore[arg-type]
        [],
    )


def parse_ranges(text: str, file: str) -> tuple[AssumptionRanges, Locations]:
    """Parse the text of a ranges file (structure only; see :func:`check_against`).

    Raises:
        ScenarioError: With the file, line and field of every problem.
    """
    data, locs = parse_yaml_text(text, file)
    return _from_data(data, locs, file, text), locs


def _from_data(data: Any, locs: Locations, file: str, text: str) -> AssumptionRanges:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(file, 1, "", f"expected a mapping of regions ({', '.join(REGIONS)})")]
        )
    problems: list[Problem] = []
    specs: list[RangeSpec] = []
    for region, entries in data.items():
        if region not in REGIONS:
            problems.append(
                _problem(
                    file,
                    locs,
                    (region,),
                    str(region),
                    f"unknown region {region!r}; expected one of: {', '.join(REGIONS)}",
                )
            )
            continue
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.append(
                _problem(file, locs, (region,), region, "expected a mapping of path: range")
            )
            continue
        for pattern, raw in entries.items():
            spec, found = _parse_entry(region, pattern, raw, file, locs)
            problems += found
            if spec is not None:
                specs.append(spec)
    if problems:
        raise ScenarioError(problems)
    return AssumptionRanges(tuple(specs), file, text)


def check_against(ranges: AssumptionRanges, reference: Mapping[str, Any]) -> None:
    """Check that each entry names numbers of ``reference`` that lie inside its range.

    ``reference`` is a resolved scenario as data (the package defaults, or an
    experiment's baseline). Where two entries match a value, the more specific
    one must contain it.

    Raises:
        ScenarioError: A path names nothing numeric, two equally specific
            entries match one value, or a default lies outside its range, with
            the file, line and field.
    """
    owners, values, problems = _resolve(ranges.specs, [reference])
    for path, spec in owners.items():
        v = values[path][0]
        if not spec.contains(float(v)):
            problems.append(
                Problem(
                    spec.file,
                    spec.line,
                    spec.pattern,
                    f"the range {spec.describe()} does not contain the default {v!r} of {path}; "
                    "a range must contain its default",
                )
            )
    if problems:
        raise ScenarioError(problems)


def _hint(reference: Mapping[str, Any], pattern: str) -> str:
    """Where the path stops matching, with the keys that exist there."""
    import difflib

    parts = _split(pattern)
    for depth in range(len(parts), 0, -1):
        prefix = ".".join(parts[: depth - 1])
        nodes = [v for _, v in expand(reference, prefix)] if prefix else [reference]
        keys = sorted({str(k) for n in nodes if isinstance(n, dict) for k in n})
        if keys:
            part = parts[depth - 1]
            if part == "*" or part in keys:
                continue
            close = difflib.get_close_matches(part, keys, n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            shown = ", ".join(keys[:10]) + (", ..." if len(keys) > 10 else "")
            return f": no {part!r} under {prefix or 'the top level'}; {guess}it has: {shown}"
    return ""


def load_ranges(path: str | Path | None = None) -> AssumptionRanges:
    """Read and validate a ranges file (``None``: the package's own).

    The entries are checked against the package defaults where their path
    exists there. A user's file may name actors or keys of its own scenarios:
    those are checked when an experiment runs (each must name a number of its
    scenarios; a scenario value outside its range is reported as a warning,
    since the assumption sets replace it).

    Raises:
        ScenarioError: With the file, line and field of every problem.
    """
    if path is None:
        file = f"package {PACKAGE_FILE}"
        text = resources.files("escalation_sim.scenario.data").joinpath(PACKAGE_FILE)
        text = text.read_text("utf-8")
        ranges, _ = parse_ranges(text, file)
    else:
        file = str(path)
        data, locs = read_yaml_file(path, file)
        ranges = _from_data(data, locs, file, Path(path).read_text("utf-8"))
    defaults = default_scenario_data()
    known = AssumptionRanges(
        tuple(s for s in ranges.specs if expand(defaults, s.pattern) or path is None),
        ranges.file,
    )
    check_against(known, defaults)
    return ranges


def default_scenario_data() -> dict[str, Any]:
    """The package defaults as a resolved scenario's data (every field filled in)."""
    from escalation_sim.scenario.loader import scenario_from_dict, scenario_to_dict

    return scenario_to_dict(scenario_from_dict({}))


@dataclass(frozen=True)
class AssumptionSets:
    """Assumption sets drawn by Latin hypercube over some dimensions.

    Attributes:
        dimensions: The sampled coordinates, in column order.
        unit: ``(sets, dimensions)`` positions in the unit cube.
        values: ``(sets, dimensions)`` drawn values (or factors, for factor ranges).
    """

    dimensions: tuple[Dimension, ...]
    unit: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def assignments(self, i: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """``path: value`` of assumption set ``i`` for one scenario (as resolved data).

        Paths the scenario lacks are skipped; factors multiply the scenario's
        own value; integer parameters are rounded.
        """
        out: dict[str, Any] = {}
        for j, dim in enumerate(self.dimensions):
            x = float(self.values[i, j])
            for path in dim.paths:
                if not _has(data, path):
                    continue
                current = _get(data, path)
                if not _is_number(current):
                    continue
                value = current * x if dim.spec.kind == "factor" else x
                if isinstance(current, int):
                    value = round(value)
                out[path] = value
        return out

    def apply(self, i: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """A deep copy of scenario data with assumption set ``i`` written in."""
        import copy

        out = copy.deepcopy(dict(data))
        for path, value in self.assignments(i, out).items():
            _set(out, path, value)
        return out

    def scenario(self, i: int, scenario: Scenario) -> Scenario:
        """``scenario`` under assumption set ``i``, validated.

        Raises:
            ScenarioError: The scenario rejects the set's values (named in the message).
        """
        from escalation_sim.scenario.loader import scenario_to_dict, validate_data

        data = self.apply(i, scenario_to_dict(scenario))
        return validate_data(data, {}, f"assumption set {i} applied to {scenario.name!r}")

    def table(self) -> list[dict[str, Any]]:
        """One record per set: ``set`` and each dimension's drawn value (or factor)."""
        names = [d.name for d in self.dimensions]
        return [
            {"set": i, **{n: float(self.values[i, j]) for j, n in enumerate(names)}}
            for i in range(len(self))
        ]


def sample(dimensions: Sequence[Dimension], n: int, seed: int) -> AssumptionSets:
    """Draw ``n`` assumption sets by Latin hypercube (scipy.stats.qmc), seeded from ``seed``.

    The same dimensions, ``n`` and seed give the same sets on every machine.
    Set 0 is a draw like the others (the defaults are not forced in).
    """
    from scipy.stats import qmc

    if n < 1:
        raise ValueError(f"the number of assumption sets must be at least 1, got {n}")
    d = len(dimensions)
    if d == 0:
        unit = np.zeros((n, 0))
    else:
        rng = np.random.default_rng(np.random.SeedSequence([SAMPLING_TAG, seed]))
        unit = qmc.LatinHypercube(d=d, rng=rng).random(n)
    values = np.empty_like(unit)
    for j, dim in enumerate(dimensions):
        values[:, j] = [dim.spec.at(float(u)) for u in unit[:, j]]
        if dim.integer and dim.spec.kind == "absolute":
            values[:, j] = np.round(values[:, j])
    return AssumptionSets(tuple(dimensions), unit, values)
