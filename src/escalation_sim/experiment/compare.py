"""Paired comparison of rule sets on common random numbers.

Every scenario is run on the same seeds, and since the model draws each
process (fire, detection, strikes, decisions, policy, recovery) from its own
stream spawned from the run's seed, runs with the same seed share their
randomness wherever the rule sets do not change what happens. The comparison
is then made seed by seed: for each outcome, the difference between a scenario
and the baseline (the first scenario) in each run, their mean, and a
t-interval of that mean (``mean ± t[1-α/2, n-1] · sd / √n`` over the paired
differences). Pairing removes the seed-to-seed variation both share, so the
intervals are much narrower than those of two independent ensembles.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation_sim.experiment import aggregate
from escalation_sim.experiment.common import (
    LazyTables,
    check_runs,
    choose_outcomes,
    ensemble_tables,
    input_files,
    prepare_scenario,
    read_parquet,
    scenario_labels,
    scenario_metadata,
    scenario_tasks,
    write_json,
)
from escalation_sim.experiment.core import Experiment, Plan
from escalation_sim.experiment.errors import ExperimentError
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.seeds import check_root_seed, run_seeds
from escalation_sim.experiment.tasks import outcome_columns
from escalation_sim.scenario.loader import scenario_to_yaml
from escalation_sim.scenario.schema import Scenario

COMPARISON = "comparison"
DIFFERENCES = "differences"
METADATA = "metadata.json"
CI_METHOD = "paired t-interval: mean ± t(1-α/2, n-1) · sd / √n of the per-seed differences"
COMPARISON_COLUMNS = [
    "outcome",
    "baseline",
    "scenario",
    "mean_baseline",
    "mean_scenario",
    "mean_diff",
    "ci_low",
    "ci_high",
    "ci_level",
    "n",
    "sd_diff",
    "p_value",
]


def paired_differences(
    base: pd.DataFrame,
    other: pd.DataFrame,
    outcomes: Sequence[str],
    *,
    ci: float = 0.95,
    baseline: str = "baseline",
    scenario: str = "scenario",
) -> pd.DataFrame:
    """Mean paired difference ``other - base`` of each outcome with a t-interval.

    Runs are paired by their ``run`` id (the same seed in both); pairs where
    either value is missing are left out.

    Args:
        base: The baseline's per-run table.
        other: The other scenario's per-run table.
        outcomes: Columns to compare.
        ci: Confidence level of the interval.
        baseline: Baseline's label (for the table).
        scenario: The other scenario's label.

    Returns:
        One row per outcome with the columns of ``comparison.parquet``.
    """
    from scipy import stats

    if not 0 < ci < 1:
        raise ValueError(f"the confidence level must be between 0 and 1, got {ci}")
    a = base.set_index("run")
    b = other.set_index("run")
    common = a.index.intersection(b.index)
    if "seed" in a and "seed" in b and not (a.loc[common, "seed"] == b.loc[common, "seed"]).all():
        raise ExperimentError("the two tables were not run on the same seeds")
    rows: list[dict[str, Any]] = []
    for name in outcomes:
        if name not in a or name not in b:
            continue
        x = a.loc[common, name].to_numpy(dtype=float)
        y = b.loc[common, name].to_numpy(dtype=float)
        ok = ~(np.isnan(x) | np.isnan(y))
        x, y = x[ok], y[ok]
        d = y - x
        n = len(d)
        mean = float(d.mean()) if n else math.nan
        sd = float(d.std(ddof=1)) if n > 1 else math.nan
        if n > 1 and sd > 0:
            half = float(stats.t.ppf(0.5 + ci / 2, n - 1)) * sd / math.sqrt(n)
            p = float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
        elif n > 1:
            half, p = 0.0, (1.0 if mean == 0 else 0.0)
        else:
            half, p = math.nan, math.nan
        rows.append(
            {
                "outcome": name,
                "baseline": baseline,
                "scenario": scenario,
                "mean_baseline": float(x.mean()) if n else math.nan,
                "mean_scenario": float(y.mean()) if n else math.nan,
                "mean_diff": mean,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "ci_level": ci,
                "n": n,
                "sd_diff": sd,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def per_run_differences(
    base: pd.DataFrame, other: pd.DataFrame, outcomes: Sequence[str], baseline: str, scenario: str
) -> pd.DataFrame:
    """Tidy per-seed differences (``run, seed, outcome, baseline, scenario, ...``) for figures."""
    a = base.set_index("run")
    b = other.set_index("run")
    common = a.index.intersection(b.index)
    frames = []
    for name in outcomes:
        if name not in a or name not in b:
            continue
        x = a.loc[common, name].to_numpy(dtype=float)
        y = b.loc[common, name].to_numpy(dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "run": common.to_numpy(),
                    "seed": a.loc[common, "seed"].to_numpy(),
                    "outcome": name,
                    "baseline": baseline,
                    "scenario": scenario,
                    "value_baseline": x,
                    "value_scenario": y,
                    "diff": y - x,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def format_comparison(table: pd.DataFrame, meta: Mapping[str, Any]) -> str:
    """The comparison table as text (what the command prints and saves).

    A star marks a difference that stays significant after Holm's adjustment for
    the number of tests in the table (every outcome of every rule set); the
    intervals are each test's own, unadjusted.
    """
    from escalation_sim.experiment.multiplicity import holm

    level = float(table["ci_level"].iloc[0]) if len(table) else 0.95
    alpha = 1.0 - level
    p_holm = holm(table["p_value"].to_numpy(dtype=float)) if len(table) else np.zeros(0)
    tests = int(np.isfinite(p_holm).sum())
    lines = [
        f"Paired comparison on {meta['runs']} common seeds (root seed {meta['root_seed']}); "
        f"baseline: {meta['labels'][0]}",
        f"difference = scenario - baseline, seed by seed; {100 * level:g}% {CI_METHOD}",
        f"* significant at {100 * alpha:g}% after Holm's adjustment for the {tests} tests in "
        "this table (p Holm < "
        f"{alpha:g}); the intervals are per test, not adjusted",
    ]
    table = table.assign(p_holm=p_holm)
    for label, part in table.groupby("scenario", sort=False):
        lines += ["", f"{label} vs {meta['labels'][0]}"]
        lines.append(
            f"  {'outcome':<22}{'baseline':>11}{'scenario':>11}{'difference':>12}   "
            f"{f'{100 * level:g}% CI':<22}{'p Holm':>8}"
        )
        for r in part.itertuples(index=False):
            mark = " *" if r.n > 1 and r.p_holm < alpha else ""
            p_text = (
                "–" if np.isnan(r.p_holm) else "<0.001" if r.p_holm < 0.001 else f"{r.p_holm:.3f}"
            )
            ci = f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
            lines.append(
                f"  {r.outcome:<22}{r.mean_baseline:>11.3f}{r.mean_scenario:>11.3f}"
                f"{r.mean_diff:>+12.3f}   {ci:<22}{p_text:>8}{mark}"
            )
    return "\n".join(lines)


class ComparisonResult:
    """A comparison's tables.

    Attributes:
        table: Paired differences against the baseline, one row per scenario and outcome.
        differences: The per-seed differences behind ``table`` (tidy).
        runs: Per-run table of each scenario, by label.
        aggregates: Per-step aggregates of each scenario, by label.
        rung_probability: Rung probabilities of each scenario, by label.
        metadata: Kind, labels, scenario names and hashes, root seed, runs, versions.
        path: The output directory (``None`` when kept in memory).
    """

    def __init__(
        self,
        table: pd.DataFrame,
        differences: pd.DataFrame,
        runs: Mapping[str, pd.DataFrame],
        aggregates: dict[str, pd.DataFrame],
        rung_probability: dict[str, pd.DataFrame],
        metadata: dict[str, Any],
        path: Path | None = None,
    ) -> None:
        self.table = table
        self.differences = differences
        self.runs = runs
        self.aggregates = aggregates
        self.rung_probability = rung_probability
        self.metadata = metadata
        self.path = path

    @property
    def labels(self) -> list[str]:
        """Scenario labels; the first is the baseline."""
        return list(self.metadata["labels"])

    def describe(self) -> str:
        """The comparison table as text."""
        return format_comparison(self.table, self.metadata)

    @classmethod
    def load(cls, path: str | Path) -> ComparisonResult:
        """Open a comparison directory written by :func:`compare`."""
        path = Path(path)
        meta = json.loads((path / METADATA).read_text("utf-8"))
        labels = meta["labels"]

        def each(folder: str) -> dict[str, pd.DataFrame]:
            return {lb: read_parquet(path / folder / f"{lb}.parquet") for lb in labels}

        return cls(
            read_parquet(path / f"{COMPARISON}.parquet"),
            read_parquet(path / f"{DIFFERENCES}.parquet"),
            LazyTables(path / "runs", labels),
            each("aggregates"),
            each("rung_probability"),
            meta,
            path,
        )


def compare(
    scenarios: Sequence[Scenario | str | Path] | Mapping[str, Scenario | str | Path],
    *,
    runs: int = 100,
    seed: int = 0,
    days: int | None = None,
    overrides: Sequence[str] = (),
    ci: float = 0.95,
    outcomes: Sequence[str] | None = None,
    options: ExecutionOptions | None = None,
    **execution: Any,
) -> ComparisonResult:
    """Run rule sets on the same seeds and compare them seed by seed.

    Args:
        scenarios: Two or more scenarios (files, shipped names or objects); the
            first is the baseline. A mapping gives their labels; otherwise labels
            are file stems (or scenario names).
        runs: Runs per scenario (the same seeds for each).
        seed: Root seed of the common seeds.
        days: Override every scenario's horizon (days).
        overrides: ``key.path=value`` overrides applied to every scenario.
        ci: Confidence level of the intervals.
        outcomes: Outcomes to compare (default: headline outcomes and peak rungs).
        options: How to run and where to write
            (:class:`~escalation_sim.experiment.options.ExecutionOptions`).
        **execution: Any field of ``ExecutionOptions`` as a keyword (``out=``,
            ``jobs=``, ``dask=``, ``chunk_size=``, ``start_method=``, ``progress=``,
            ``restart=``, ``force=``, ``on_chunk=``, ``command=``).

    Returns:
        The comparison table, per-seed differences and each scenario's tables.

    Raises:
        ScenarioError: A scenario or override is invalid.
        ExperimentError: Fewer than two scenarios, or an unknown outcome.
        ExperimentInterrupted: Interrupted; finished runs are kept for a resume.
    """
    opts = ExecutionOptions.of(options, execution, caller="compare")
    labels, items = scenario_labels(scenarios)
    if len(items) < 2:
        raise ExperimentError("compare needs at least two scenarios (the first is the baseline)")
    if not 0 < ci < 1:
        raise ExperimentError(f"--ci must be between 0 and 1, got {ci}")
    resolved = [prepare_scenario(s, days, overrides) for s in items]
    runs, seed = check_runs(runs), check_root_seed(seed)
    chosen = choose_outcomes(resolved, outcomes, [set(outcome_columns(sc)) for sc in resolved])
    facts = [scenario_metadata(sc) for sc in resolved]
    seeds = run_seeds(seed, runs)
    by_label = dict(zip(labels, resolved, strict=True))
    plan = Plan(
        kind="compare",
        key={
            "labels": labels,
            "scenario_hashes": [f["scenario_hash"] for f in facts],
            "root_seed": seed,
            "runs": runs,
        },
        runs={lb: runs for lb in labels},
        tasks=lambda lb, missing, size: scenario_tasks(lb, by_label[lb], seeds, missing, size),
        inputs=input_files(*items),
    )
    with Experiment(plan, opts) as ex:
        done = ex.run()
        stores = done.stores
        keep = ["run", "seed", *chosen]
        tables = {lb: aggregate.read_runs([stores[lb]], keep) for lb in labels}
        base = labels[0]
        comparison = pd.concat(
            [
                paired_differences(
                    tables[base], tables[lb], chosen, ci=ci, baseline=base, scenario=lb
                )
                for lb in labels[1:]
            ],
            ignore_index=True,
        )
        differences = pd.concat(
            [per_run_differences(tables[base], tables[lb], chosen, base, lb) for lb in labels[1:]],
            ignore_index=True,
        )
        aggs = {lb: ensemble_tables(stores[lb], sc) for lb, sc in by_label.items()}
        meta = {
            **done.metadata(),
            "labels": labels,
            "baseline": base,
            "scenarios": [f["scenario"] for f in facts],
            "scenario_hashes": [f["scenario_hash"] for f in facts],
            "days": [f["days"] for f in facts],
            "root_seed": seed,
            "runs": runs,
            "seeds_first": seeds[:10],
            "chunk_size": done.chunk_size,
            "resumed_runs": done.resumed,
            "outcomes": chosen,
            "ci_level": ci,
            "ci_method": CI_METHOD,
            "common_random_numbers": "every scenario runs on the same seeds; differences are per seed",
        }

        def fill(tmp: Path) -> None:
            aggregate.write_table(comparison, tmp / COMPARISON)
            (tmp / f"{COMPARISON}.txt").write_text(
                format_comparison(comparison, meta) + "\n", encoding="utf-8"
            )
            differences.to_parquet(tmp / f"{DIFFERENCES}.parquet", index=False)
            for folder in ("runs", "aggregates", "rung_probability", "scenarios"):
                (tmp / folder).mkdir()
            for lb, sc in by_label.items():
                aggregate.write_runs([stores[lb]], tmp / "runs" / f"{lb}.parquet")
                agg, prob = aggs[lb]
                aggregate.write_table(agg, tmp / "aggregates" / lb, csv=False)
                aggregate.write_table(prob, tmp / "rung_probability" / lb, csv=False)
                (tmp / "scenarios" / f"{lb}.resolved.yaml").write_text(
                    scenario_to_yaml(sc), encoding="utf-8"
                )
            write_json(meta, tmp / METADATA)

        path = ex.publish(fill)
        if path is None:
            full = LazyTables(
                None, labels, {lb: aggregate.read_runs([stores[lb]]) for lb in labels}
            )
        else:
            full = LazyTables(path / "runs", labels)
        return ComparisonResult(
            comparison,
            differences,
            full,
            {lb: a for lb, (a, _) in aggs.items()},
            {lb: p for lb, (_, p) in aggs.items()},
            meta,
            path,
        )
