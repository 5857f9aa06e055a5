"""Ensembles: one scenario, many seeds; per-run outcomes, per-step bands, rung probabilities."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from escalation_sim.experiment import aggregate
from escalation_sim.experiment.common import (
    check_runs,
    ensemble_tables,
    input_files,
    prepare_scenario,
    read_parquet,
    scenario_metadata,
    scenario_tasks,
    write_json,
)
from escalation_sim.experiment.core import Experiment, Plan
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.outcomes import key_outcomes
from escalation_sim.experiment.seeds import check_root_seed, run_seeds
from escalation_sim.scenario.loader import scenario_to_yaml
from escalation_sim.scenario.schema import Scenario

RUNS = "runs"
AGGREGATES = "aggregates"
RUNG_PROBABILITY = "rung_probability"
METADATA = "metadata.json"
SCENARIO_YAML = "scenario.resolved.yaml"
STORE = "runs"


class EnsembleResult:
    """An ensemble's tables, in memory or read on first use from its directory.

    Attributes:
        metadata: Kind, scenario, hash, root seed, runs, versions, executor, timing.
        path: The output directory (``None`` when the ensemble was kept in memory).
    """

    def __init__(
        self,
        metadata: dict[str, Any],
        path: Path | None = None,
        *,
        runs: pd.DataFrame | None = None,
        aggregates: pd.DataFrame | None = None,
        rung_probability: pd.DataFrame | None = None,
    ) -> None:
        self.metadata = metadata
        self.path = path
        self._tables = {RUNS: runs, AGGREGATES: aggregates, RUNG_PROBABILITY: rung_probability}

    def _table(self, name: str) -> pd.DataFrame:
        if self._tables[name] is None:
            if self.path is None:
                raise ValueError(f"no {name} table")
            self._tables[name] = read_parquet(self.path / f"{name}.parquet")
        return self._tables[name]  # type: ignore[return-value]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: ``run``, ``seed``, ``scenario`` and the outcomes."""
        return self._table(RUNS)

    @property
    def aggregates(self) -> pd.DataFrame:
        """Per-step mean and percentiles of each series (tidy)."""
        return self._table(AGGREGATES)

    @property
    def rung_probability(self) -> pd.DataFrame:
        """Share of runs in which each actor reached each rung by each step (tidy)."""
        return self._table(RUNG_PROBABILITY)

    @classmethod
    def load(cls, path: str | Path) -> EnsembleResult:
        """Open an ensemble directory written by :func:`ensemble`."""
        path = Path(path)
        meta = json.loads((path / METADATA).read_text("utf-8"))
        return cls(meta, path)

    def describe(self) -> str:
        """A few lines for a terminal or notebook: rung probabilities and outcome ranges."""
        m = self.metadata
        if self.path is not None and self._tables[RUNS] is None:
            runs = read_parquet(self.path / f"{RUNS}.parquet", key_outcomes(m["actors"]))
        else:
            runs = self.runs
        return describe_ensemble(m, runs, self.rung_probability)


def describe_ensemble(meta: dict[str, Any], runs: pd.DataFrame, prob: pd.DataFrame) -> str:
    """Text summary of an ensemble (used by :meth:`EnsembleResult.describe`)."""
    lines = [
        f"{meta['scenario']}: {meta['runs']} runs (root seed {meta['root_seed']}), "
        f"{meta['days']:g} days each"
    ]
    reach = aggregate.reach_table(prob, meta.get("start_rungs", {}))
    if len(reach):
        lines += ["", f"Probability of reaching a rung above the start by day {meta['days']:g}:"]
        for r in reach.itertuples(index=False):
            lines.append(
                f"  {r.actor:<4} {r.rung:>2}  {r.rung_name:<36} {100 * r.probability:6.1f}%"
            )
    summary = aggregate.outcome_summary(runs, key_outcomes(meta["actors"]))
    if len(summary):
        lines += ["", "Per-run outcomes: mean (5th-95th percentile)"]
        for r in summary.itertuples(index=False):
            # One precision for every number of the table, so that columns compare at a glance.
            lines.append(f"  {r.outcome:<20} {r.mean:10.2f}   ({r.p5:.2f} - {r.p95:.2f})")
    return "\n".join(lines)


def ensemble(
    scenario: Scenario | str | Path,
    *,
    runs: int = 100,
    seed: int = 0,
    days: int | None = None,
    overrides: Sequence[str] = (),
    options: ExecutionOptions | None = None,
    **execution: Any,
) -> EnsembleResult:
    """Run one scenario ``runs`` times on seeds spawned from ``seed``.

    Args:
        scenario: A :class:`Scenario`, a scenario file or a shipped scenario's name.
        runs: Number of runs.
        seed: Root seed; run ``i`` gets child ``i`` of ``SeedSequence(seed)``.
        days: Override the horizon (days).
        overrides: ``key.path=value`` overrides.
        options: How to run and where to write
            (:class:`~escalation_sim.experiment.options.ExecutionOptions`).
        **execution: Any field of ``ExecutionOptions`` as a keyword (``out=``,
            ``jobs=``, ``dask=``, ``chunk_size=``, ``start_method=``, ``progress=``,
            ``restart=``, ``force=``, ``on_chunk=``, ``command=``); replaces that
            field of ``options``.

    Returns:
        The ensemble's tables and metadata.

    Raises:
        ScenarioError: The scenario or an override is invalid.
        OutputExistsError: ``out`` exists and ``force`` is false.
        StaleWorkError: ``<out>.partial/`` holds runs of a different experiment.
        ExperimentInterrupted: Interrupted; finished runs are kept for a resume.
    """
    opts = ExecutionOptions.of(options, execution, caller="ensemble")
    sc = prepare_scenario(scenario, days, overrides)
    runs, seed = check_runs(runs), check_root_seed(seed)
    facts = scenario_metadata(sc)
    seeds = run_seeds(seed, runs)
    plan = Plan(
        kind="ensemble",
        key={"scenario_hash": facts["scenario_hash"], "root_seed": seed, "runs": runs},
        runs={STORE: runs},
        tasks=lambda store, missing, size: scenario_tasks(store, sc, seeds, missing, size),
        inputs=input_files(scenario),
    )
    with Experiment(plan, opts) as ex:
        done = ex.run()
        store = done.stores[STORE]
        aggregates, prob = ensemble_tables(store, sc)
        meta = {
            **done.metadata(),
            **facts,
            "root_seed": seed,
            "runs": runs,
            "seeds_first": seeds[:10],
            "chunk_size": done.chunk_size,
            "resumed_runs": done.resumed,
            "series": sorted(set(aggregates["series"])),
            "percentiles": "numpy.percentile, method 'linear', over all runs at each step",
            "files": {
                "runs": "runs.parquet / runs.csv: one row per run",
                "aggregates": "aggregates.parquet / .csv: step, day, date, series, mean, p5..p95",
                "rung_probability": "rung_probability.parquet / .csv: share of runs at rung >= k",
            },
        }

        def fill(tmp: Path) -> None:
            aggregate.write_runs([store], tmp / f"{RUNS}.parquet", tmp / f"{RUNS}.csv")
            aggregate.write_table(aggregates, tmp / AGGREGATES)
            aggregate.write_table(prob, tmp / RUNG_PROBABILITY)
            write_json(meta, tmp / METADATA)
            (tmp / SCENARIO_YAML).write_text(scenario_to_yaml(sc), encoding="utf-8")

        path = ex.publish(fill)
        if path is not None:
            return EnsembleResult(meta, path, aggregates=aggregates, rung_probability=prob)
        table = aggregate.read_runs([store])
        return EnsembleResult(meta, None, runs=table, aggregates=aggregates, rung_probability=prob)
