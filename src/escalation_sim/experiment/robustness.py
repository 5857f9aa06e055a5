"""Robustness: do the conclusions of a paired comparison survive the model's assumptions?

The design, in four steps:

1. **Assumption sets.** ``samples`` points are drawn by Latin hypercube over
   the plausible ranges of the model's assumptions
   (:mod:`escalation_sim.scenario.ranges`; the package's
   ``assumption_ranges.yaml`` or a user's file), seeded from the root seed.
2. **Paired comparison in each set.** Every scenario is run under every
   assumption set on the same ``runs`` seeds (common random numbers across
   scenarios *and* sets), and each scenario is compared with the baseline (the
   first, as in ``compare``) seed by seed: mean paired difference with a
   t-interval, per outcome -> ``robustness.csv``.
3. **Conclusions.** Each declared conclusion
   (:mod:`escalation_sim.experiment.conclusions`) is judged in every set; its
   share of sets with a Clopper-Pearson interval -> ``conclusions.csv``.
4. **Dependence.** Which assumptions a verdict depends on: rank correlation of
   each assumption with the conclusion's effect, and the share holding in the
   low and high half of each range -> ``dependence.csv``.

Runs are stored in chunks under ``DIR.partial/`` like every experiment's, so an
interrupted robustness run resumes where it stopped, and the outputs do not
depend on the executor, the number of workers or interruptions.

A share over assumption sets is a statement about the ranges, not about the
world: the Latin hypercube spreads sets evenly over ranges that are
judgement, it does not weigh them by how likely they are.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.experiment import aggregate
from escalation_sim.experiment.common import (
    check_runs,
    choose_outcomes,
    input_files,
    prepare_scenario,
    read_parquet,
    scenario_labels,
    scenario_metadata,
    write_json,
)
from escalation_sim.experiment.compare import COMPARISON_COLUMNS, paired_differences
from escalation_sim.experiment.conclusions import (
    Conclusion,
    conclusions_table,
    dependence_table,
    format_conclusions,
    load_conclusions,
    pairs_needed,
)
from escalation_sim.experiment.core import Experiment, Plan
from escalation_sim.experiment.errors import ExperimentError
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.outcomes import COUNT_PREFIXES
from escalation_sim.experiment.relevance import HeldAssumption, describe_held, split_read
from escalation_sim.experiment.runner import contiguous_chunks
from escalation_sim.experiment.seeds import check_root_seed, run_seeds
from escalation_sim.experiment.tasks import RunGroup, Task, outcome_columns
from escalation_sim.scenario.loader import scenario_hash, scenario_to_dict, scenario_to_yaml
from escalation_sim.scenario.ranges import (
    REGIONS,
    AssumptionRanges,
    AssumptionSets,
    Dimension,
    expand,
    load_ranges,
    ranges_by_path,
    sample,
)
from escalation_sim.scenario.schema import Scenario

METADATA = "metadata.json"
ROBUSTNESS = "robustness"
CONCLUSIONS = "conclusions"
LEVELS = "levels"
SETS = "assumption_sets"
DIMENSIONS = "dimensions"
DEPENDENCE = "dependence"
ROBUSTNESS_COLUMNS = [
    "set",
    *("baseline", "scenario", "outcome"),
    *(c for c in COMPARISON_COLUMNS if c not in ("outcome", "baseline", "scenario")),
    *("sign", "ci_sign"),
]
LEVEL_COLUMNS = [
    "set",
    "scenario",
    "outcome",
    "mean",
    "ci_low",
    "ci_high",
    "ci_level",
    "n",
    "method",
]


@dataclass
class RobustnessPlan:
    """What a robustness experiment will run, validated (``--check`` prints it).

    Attributes:
        labels: Scenario labels; the first is the baseline.
        scenarios: The resolved scenarios (before any assumption set).
        ranges: The ranges in use (after ``regions``).
        dimensions: The sampled assumptions.
        sets: The assumption sets.
        set_scenarios: ``set_scenarios[i][label]``: scenario ``label`` under set ``i``.
        conclusions: The conclusions judged.
        skipped: Package conclusions left out (their scenarios are not given).
        outcomes: Outcomes compared in every set.
        pairs: ``(baseline, scenario)`` pairs compared.
        runs: Runs per scenario and set (common seeds).
        root_seed: The root seed (runs and sampling).
        fixed: Paths held by ``--set`` (not sampled).
        held: Ranges held at their defaults because no decision model of the
            scenarios' actors reads them (each with why).
        warnings: Scenario values that lie outside their range.
        ranges_text: The ranges file as read.
        conclusions_text: The conclusions file as read.
    """

    labels: list[str]
    scenarios: list[Scenario]
    ranges: AssumptionRanges
    dimensions: list[Dimension]
    sets: AssumptionSets
    set_scenarios: list[dict[str, Scenario]]
    conclusions: list[Conclusion]
    skipped: list[str]
    outcomes: list[str]
    pairs: list[tuple[str, str]]
    runs: int
    root_seed: int
    fixed: list[str]
    held: list[HeldAssumption] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ranges_text: str = ""
    conclusions_text: str = ""

    @property
    def samples(self) -> int:
        """Number of assumption sets."""
        return len(self.sets)

    @property
    def total_runs(self) -> int:
        """Runs of the whole experiment: sets x scenarios x runs."""
        return self.samples * len(self.labels) * self.runs

    def sets_hash(self) -> str:
        """SHA-256 of every scenario under every set (what decides the runs)."""
        h = hashlib.sha256()
        for by_label in self.set_scenarios:
            for lb in self.labels:
                h.update(scenario_hash(by_label[lb]).encode())
        return h.hexdigest()

    def describe(self) -> str:
        """A few lines: scenarios, assumptions, sets, runs, conclusions."""
        regions = sorted({d.spec.region for d in self.dimensions}, key=REGIONS.index)
        lines = [
            f"{self.samples} assumption sets x {len(self.labels)} scenarios x {self.runs} runs "
            f"= {self.total_runs} runs (baseline: {self.labels[0]})",
            f"{len(self.dimensions)} sampled assumptions from {len(self.ranges.specs)} ranges "
            f"in {self.ranges.file} (regions: {', '.join(regions) or 'none'})",
        ]
        if self.fixed:
            lines.append(f"held fixed by --set: {', '.join(self.fixed)}")
        if self.held:
            lines.append(
                f"{len(self.held)} ranges held at their defaults (no decision model of these "
                "scenarios reads them):"
            )
            lines += [f"  {line}" for line in describe_held(self.held)]
        lines.append(f"{len(self.conclusions)} conclusions:")
        lines += [f"  {c.id}: {c.text} ({c.claim()}, {c.judged_by})" for c in self.conclusions]
        if self.skipped:
            lines.append(f"skipped (scenarios not given): {', '.join(self.skipped)}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _fixed_paths(overrides: Sequence[str]) -> list[str]:
    return [o.partition("=")[0].strip() for o in overrides if "=" in o]


def _outside(
    ranges: AssumptionRanges, labels: Sequence[str], data: Sequence[Any], fixed: set[str]
) -> list[str]:
    """Scenario values outside their range (sampling replaces them; worth saying)."""
    out = []
    for lb, d in zip(labels, data, strict=True):
        for path, spec in ranges_by_path(ranges, d).items():
            if path in fixed:
                continue
            value = expand(d, path)[0][1]
            if not spec.contains(float(value)):
                out.append(
                    f"{lb}: {path} = {value!r} lies outside its range {spec.describe()} "
                    f"({spec.file}:{spec.line}); the assumption sets replace it"
                )
    return out


def _held_paths(
    ranges: AssumptionRanges, data: Sequence[Any], held: Sequence[HeldAssumption]
) -> set[str]:
    """The concrete paths of the held dimensions (their values are not replaced: no warning)."""
    names = {h.dimension for h in held}
    return {d_path for d in ranges.dimensions(data) if d.name in names for d_path in d.paths}


def _check_conclusions(
    conclusions: Sequence[Conclusion],
    labels: Sequence[str],
    known: Sequence[set[str]],
    label: str,
    user_file: bool,
) -> tuple[list[Conclusion], list[str]]:
    kept, skipped, problems = [], [], []
    for i, c in enumerate(conclusions):
        missing = [lb for lb in c.labels if lb not in labels]
        if missing:
            if user_file:
                problems.append(
                    Problem(
                        label,
                        None,
                        f"conclusions.{i}",
                        f"{c.id} names scenario(s) {', '.join(missing)}, not among the "
                        f"scenarios given ({', '.join(labels)}); labels are file stems",
                    )
                )
            else:
                skipped.append(c.id)
            continue
        bad = [
            lb
            for lb in c.labels
            if c.outcome not in known[labels.index(lb)] and not c.outcome.startswith(COUNT_PREFIXES)
        ]
        if bad:
            problems.append(
                Problem(
                    label,
                    None,
                    f"conclusions.{i}.outcome",
                    f"{c.id}: unknown outcome {c.outcome!r} for {', '.join(bad)}; outcomes are "
                    "the columns of runs.parquet (e.g. fire_on_city, peak_rung.RUS)",
                )
            )
            continue
        kept.append(c)
    if problems:
        raise ScenarioError(problems)
    return kept, skipped


def plan_robustness(
    scenarios: Sequence[Scenario | str | Path] | Mapping[str, Scenario | str | Path],
    *,
    samples: int = 32,
    runs: int = 20,
    seed: int = 0,
    days: int | None = None,
    overrides: Sequence[str] = (),
    ranges: AssumptionRanges | str | Path | None = None,
    regions: Sequence[str] | None = None,
    conclusions: Sequence[Conclusion] | str | Path | None = None,
    outcomes: Sequence[str] | None = None,
) -> RobustnessPlan:
    """Validate a robustness experiment and draw its assumption sets; run nothing.

    Args:
        scenarios: Two or more scenarios (files or objects); the first is the
            baseline. A mapping gives their labels; otherwise labels are file
            stems (or scenario names). Conclusions name scenarios by label.
        samples: Assumption sets (Latin hypercube over the ranges).
        runs: Runs per scenario and set (the same seeds in every one).
        seed: Root seed of the runs' seeds and of the sampling.
        days: Override every scenario's horizon (days).
        overrides: ``key.path=value`` overrides applied to every scenario; a
            path they set is held fixed (not sampled).
        ranges: A ranges file or object (``None``: the package's).
        regions: Sample only these regions of the ranges (``decisions``,
            ``policy``, ``battlefield``; default all).
        conclusions: A conclusions file or list (``None``: the package's, those
            whose scenarios are given).
        outcomes: Outcomes compared in every set (default: the key outcomes).

    Raises:
        ScenarioError: A scenario, override, ranges or conclusions file is
            invalid, or an assumption set makes a scenario invalid.
        ExperimentError: Fewer than two scenarios, or bad counts.
    """
    labels, items = scenario_labels(scenarios)
    if len(items) < 2:
        raise ExperimentError("robustness needs at least two scenarios (the first is the baseline)")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ExperimentError(f"--samples must be an integer of at least 2, got {samples!r}")
    runs, seed = check_runs(runs), check_root_seed(seed)
    resolved = [prepare_scenario(s, days, overrides) for s in items]
    data = [scenario_to_dict(sc) for sc in resolved]
    spans = ranges if isinstance(ranges, AssumptionRanges) else load_ranges(ranges)
    if regions is not None:
        spans = spans.select(regions)
    fixed = _fixed_paths(overrides)
    dims, held = split_read(spans.dimensions(data, fixed=fixed), resolved)
    if not dims:
        raise ExperimentError(
            f"no assumption to sample: {spans.file} gives no range to a value of these scenarios"
            + (" outside those held by --set" if fixed else "")
        )
    sets = sample(dims, samples, seed)
    set_scenarios = []
    for i in range(samples):
        set_scenarios.append(
            {lb: sets.scenario(i, sc) for lb, sc in zip(labels, resolved, strict=True)}
        )

    if conclusions is None or isinstance(conclusions, str | Path):
        declared, text = load_conclusions(conclusions)
        where = str(conclusions) if conclusions is not None else "package conclusions.yaml"
        user_file = conclusions is not None
    else:
        declared, text, where, user_file = list(conclusions), "", "conclusions", True
    known = [set(outcome_columns(sc)) for sc in resolved]
    kept, skipped = _check_conclusions(declared, labels, known, where, user_file)
    chosen = choose_outcomes(resolved, outcomes, known)
    chosen += [c.outcome for c in kept if c.outcome not in chosen]
    return RobustnessPlan(
        labels=labels,
        scenarios=resolved,
        ranges=spans,
        dimensions=dims,
        sets=sets,
        set_scenarios=set_scenarios,
        conclusions=kept,
        skipped=skipped,
        outcomes=chosen,
        pairs=pairs_needed(kept, labels),
        runs=runs,
        root_seed=seed,
        fixed=fixed,
        held=held,
        warnings=_outside(spans, labels, data, set(fixed) | _held_paths(spans, data, held)),
        ranges_text=spans.text,
        conclusions_text=text,
    )


# ------------------------------------------------------------------------------ tables
def _with_counts(table: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """Count outcomes absent from every run are zeros (no such strike ever happened)."""
    for o in outcomes:
        if o not in table and o.startswith(COUNT_PREFIXES):
            table[o] = 0
    return table


def robustness_rows(
    tables: Mapping[str, pd.DataFrame],
    pairs: Sequence[tuple[str, str]],
    outcomes: Sequence[str],
    *,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Per set, pair and outcome: the paired difference, its interval and its sign.

    ``tables[label]`` holds ``run, seed, set`` and the outcomes; runs pair by id
    (the same seed in every scenario of a set). ``sign`` is the sign of the
    mean difference; ``ci_sign`` is +1 or -1 when the interval excludes 0, else 0.
    """
    frames = []
    for base, other in pairs:
        a, b = tables[base], tables[other]
        for s, part in a.groupby("set", sort=True):
            diff = paired_differences(
                part, b[b["set"] == s], outcomes, ci=ci, baseline=base, scenario=other
            )
            diff.insert(0, "set", int(s))
            frames.append(diff)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(out):
        out["sign"] = np.sign(out["mean_diff"]).fillna(0).astype(int)
        out["ci_sign"] = np.where(out["ci_low"] > 0, 1, np.where(out["ci_high"] < 0, -1, 0))
    return out.reindex(columns=ROBUSTNESS_COLUMNS)


def level_rows(
    tables: Mapping[str, pd.DataFrame], outcomes: Sequence[str], *, ci: float = 0.95
) -> pd.DataFrame:
    """Per set, scenario and outcome: the mean over the set's runs with an interval.

    The interval is Clopper-Pearson for 0/1 outcomes (the share of runs) and a
    t-interval otherwise.
    """
    from scipy import stats

    from escalation_sim.experiment.conclusions import share_interval

    rows = []
    for label, table in tables.items():
        for s, part in table.groupby("set", sort=True):
            for o in outcomes:
                if o not in part:
                    continue
                x = part[o].to_numpy(dtype=float)
                x = x[~np.isnan(x)]
                n = len(x)
                mean = float(x.mean()) if n else math.nan
                if n and np.isin(x, (0.0, 1.0)).all():
                    lo, hi = share_interval(int(x.sum()), n, ci)
                    method = "clopper-pearson"
                elif n > 1 and x.std(ddof=1) > 0:
                    half = float(stats.t.ppf(0.5 + ci / 2, n - 1)) * x.std(ddof=1) / math.sqrt(n)
                    lo, hi, method = mean - half, mean + half, "t"
                else:
                    lo, hi, method = mean, mean, "t"
                rows.append(
                    {
                        "set": int(s),
                        "scenario": label,
                        "outcome": o,
                        "mean": mean,
                        "ci_low": lo,
                        "ci_high": hi,
                        "ci_level": ci,
                        "n": n,
                        "method": method,
                    }
                )
    return pd.DataFrame(rows, columns=LEVEL_COLUMNS)


def sets_tables(plan: RobustnessPlan) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``assumption_sets`` (drawn values), their unit positions, and ``dimensions``.

    A factor range's column holds the factor, not the value it scales.
    """
    names = [d.name for d in plan.dimensions]
    values = pd.DataFrame(plan.sets.values, columns=names)
    values.insert(0, "set", np.arange(plan.samples))
    unit = pd.DataFrame(plan.sets.unit, columns=names)
    unit.insert(0, "set", np.arange(plan.samples))
    dims = pd.DataFrame(
        [
            {
                "dimension": d.name,
                "region": d.spec.region,
                "kind": d.spec.kind,
                "low": d.spec.low,
                "high": d.spec.high,
                "scale": d.spec.scale,
                "shared": d.spec.shared,
                "integer": d.integer,
                "paths": " ".join(d.paths),
                "why": d.spec.why,
                "source": f"{d.spec.file}:{d.spec.line}",
            }
            for d in plan.dimensions
        ]
    )
    return values, unit, dims


# ------------------------------------------------------------------------------ result
class RobustnessResult:
    """A robustness experiment's tables.

    Attributes:
        conclusions: One row per conclusion: share of sets in which it holds, interval.
        robustness: One row per set x comparison x outcome: difference, CI, sign.
        levels: One row per set x scenario x outcome: mean and interval.
        assumption_sets: One row per set: each sampled assumption's value (or factor).
        unit: The same sets as positions in [0, 1] of each range.
        dimensions: The sampled assumptions: range, kind, paths, why.
        dependence: Per conclusion and assumption: rank correlation, shares by half.
        metadata: Kind, labels, hashes, seeds, counts, versions, command.
        path: The output directory (``None`` when kept in memory).
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        metadata: dict[str, Any],
        path: Path | None = None,
    ) -> None:
        self.conclusions = tables[CONCLUSIONS]
        self.robustness = tables[ROBUSTNESS]
        self.levels = tables[LEVELS]
        self.assumption_sets = tables[SETS]
        self.unit = tables["unit"]
        self.dimensions = tables[DIMENSIONS]
        self.dependence = tables[DEPENDENCE]
        self.metadata = metadata
        self.path = path

    def describe(self) -> str:
        """The conclusions table as text."""
        return format_conclusions(self.conclusions, self.metadata)

    @classmethod
    def load(cls, path: str | Path) -> RobustnessResult:
        """Open a robustness directory written by :func:`robustness`."""
        path = Path(path)
        meta = json.loads((path / METADATA).read_text("utf-8"))
        names = (CONCLUSIONS, ROBUSTNESS, LEVELS, SETS, DIMENSIONS, DEPENDENCE)
        tables = {n: read_parquet(path / f"{n}.parquet") for n in names}
        tables["unit"] = read_parquet(path / "assumption_sets_unit.parquet")
        return cls(tables, meta, path)


def _tasks(
    plan: RobustnessPlan, label: str, seeds: Sequence[int], missing: Sequence[int], size: int
) -> Iterator[Task]:
    """Tasks of one scenario: each set's missing runs, ``size`` at a time (never across sets)."""
    r = plan.runs
    for i, in_set in itertools.groupby(missing, key=lambda run: run // r):
        by_label = plan.set_scenarios[i]
        for chunk in contiguous_chunks(list(in_set), size):
            group = RunGroup(
                by_label[label],
                tuple(chunk),
                tuple(seeds[run % r] for run in chunk),
                {"set": (i,) * len(chunk)},
            )
            yield Task(label, (group,), keep_series=False)


def robustness(
    scenarios: Sequence[Scenario | str | Path] | Mapping[str, Scenario | str | Path],
    *,
    ci: float = 0.95,
    options: ExecutionOptions | None = None,
    **arguments: Any,
) -> RobustnessResult:
    """Check declared conclusions across assumption sets drawn from plausible ranges.

    Args:
        scenarios: As for :func:`plan_robustness`.
        ci: Confidence level of every interval.
        options: How to run and where to write
            (:class:`~escalation_sim.experiment.options.ExecutionOptions`).
        **arguments: The design, as for :func:`plan_robustness` (``samples``,
            ``runs``, ``seed``, ``days``, ``overrides``, ``ranges``, ``regions``,
            ``conclusions``, ``outcomes``), and any field of ``ExecutionOptions``
            as a keyword (``out=``, ``jobs=``, ``dask=``, ``chunk_size=``, ...).

    Returns:
        The conclusions' shares, per-set differences and levels, the assumption
        sets and what each conclusion depends on.

    Raises:
        ScenarioError: A scenario, override, ranges or conclusions file is invalid.
        ExperimentError: Fewer than two scenarios, or an unknown outcome.
        ExperimentInterrupted: Interrupted; finished runs are kept for a resume.
    """
    design_names = set(inspect.signature(plan_robustness).parameters) - {"scenarios"}
    design = {k: v for k, v in arguments.items() if k in design_names}
    execution = {k: v for k, v in arguments.items() if k not in design_names}
    opts = ExecutionOptions.of(options, execution, caller="robustness")
    if not 0 < ci < 1:
        raise ExperimentError(f"--ci must be between 0 and 1, got {ci}")
    plan = plan_robustness(scenarios, **design)
    labels = plan.labels
    facts = [scenario_metadata(sc) for sc in plan.scenarios]
    seeds = run_seeds(plan.root_seed, plan.runs)
    core_plan = Plan(
        kind="robustness",
        key={
            "labels": labels,
            "scenario_hashes": [f["scenario_hash"] for f in facts],
            "sets_hash": plan.sets_hash(),
            "samples": plan.samples,
            "root_seed": plan.root_seed,
            "runs": plan.runs,
        },
        runs={lb: plan.samples * plan.runs for lb in labels},
        tasks=lambda lb, missing, size: _tasks(plan, lb, seeds, missing, size),
        max_chunk_size=plan.runs,
        inputs=input_files(
            *scenario_labels(scenarios)[1], design.get("ranges"), design.get("conclusions")
        ),
    )
    with Experiment(core_plan, opts) as ex:
        done = ex.run()
        stores = done.stores
        keep = ["run", "seed", "set", *plan.outcomes]
        tables = {
            lb: _with_counts(aggregate.read_runs([stores[lb]], keep), plan.outcomes)
            .sort_values("run")
            .reset_index(drop=True)
            for lb in labels
        }
        rob = robustness_rows(tables, plan.pairs, plan.outcomes, ci=ci)
        lev = level_rows(tables, plan.outcomes, ci=ci)
        values, unit, dims = sets_tables(plan)
        concl = conclusions_table(plan.conclusions, rob, lev, level=ci)
        dep = dependence_table(plan.conclusions, rob, lev, unit)
        meta = {
            **done.metadata(),
            "labels": labels,
            "baseline": labels[0],
            "scenarios": [f["scenario"] for f in facts],
            "scenario_hashes": [f["scenario_hash"] for f in facts],
            "days": [f["days"] for f in facts],
            "samples": plan.samples,
            "dimensions": len(plan.dimensions),
            "regions": sorted({d.spec.region for d in plan.dimensions}, key=REGIONS.index),
            "ranges_file": plan.ranges.file,
            "held_fixed": plan.fixed,
            "held_at_defaults": [
                {"dimension": h.dimension, "parameter": h.parameter, "why": h.why}
                for h in plan.held
            ],
            "sampling": "Latin hypercube (scipy.stats.qmc.LatinHypercube) over the unit cube, "
            "rng = numpy.random.default_rng(SeedSequence([0x524F42, root_seed])); "
            "each position mapped linearly (or log-linearly) onto its range",
            "sets_hash": plan.sets_hash(),
            "root_seed": plan.root_seed,
            "runs": plan.runs,
            "seeds_first": seeds[:10],
            "common_random_numbers": "every scenario in every assumption set runs on the same "
            "seeds; differences are per seed within a set",
            "chunk_size": done.chunk_size,
            "resumed_runs": done.resumed,
            "outcomes": plan.outcomes,
            "pairs": [list(p) for p in plan.pairs],
            "conclusions": [c.model_dump() for c in plan.conclusions],
            "skipped_conclusions": plan.skipped,
            "ci_level": ci,
            "warnings": plan.warnings,
        }
        result_tables = {
            CONCLUSIONS: concl,
            ROBUSTNESS: rob,
            LEVELS: lev,
            SETS: values,
            "unit": unit,
            DIMENSIONS: dims,
            DEPENDENCE: dep,
        }

        def fill(tmp: Path) -> None:
            for name in (CONCLUSIONS, ROBUSTNESS, LEVELS, SETS, DIMENSIONS, DEPENDENCE):
                aggregate.write_table(result_tables[name], tmp / name)
            aggregate.write_table(unit, tmp / "assumption_sets_unit", csv=False)
            (tmp / f"{CONCLUSIONS}.txt").write_text(
                format_conclusions(concl, meta) + "\n", encoding="utf-8"
            )
            (tmp / "ranges.yaml").write_text(plan.ranges_text, encoding="utf-8")
            if plan.conclusions_text:
                (tmp / "conclusions.yaml").write_text(plan.conclusions_text, encoding="utf-8")
            for folder in ("runs", "scenarios"):
                (tmp / folder).mkdir()
            for lb, sc in zip(labels, plan.scenarios, strict=True):
                aggregate.write_runs([stores[lb]], tmp / "runs" / f"{lb}.parquet")
                (tmp / "scenarios" / f"{lb}.resolved.yaml").write_text(
                    scenario_to_yaml(sc), encoding="utf-8"
                )
            write_json(meta, tmp / METADATA)

        path = ex.publish(fill)
        return RobustnessResult(result_tables, meta, path)
