"""The unit of work sent to a worker: a chunk of runs, and what it sends back.

A :class:`Task` is plain data (scenarios, run ids, seeds) and
:func:`execute_task` a pure function of it, so the same task gives the same
result in this process, in a local pool worker or on a Dask worker anywhere.
Results travel back to the process that started the experiment, which alone
writes files: workers need no shared file system.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from escalation_sim.experiment.heap import run_heap
from escalation_sim.experiment.outcomes import run_outcomes, series_names, step_series
from escalation_sim.scenario.schema import Scenario


@dataclass(frozen=True, slots=True)
class RunGroup:
    """Runs of one scenario inside a task.

    Attributes:
        scenario: The resolved scenario.
        runs: Run ids (the row keys of the experiment's tables).
        seeds: The seed of each run.
        ids: Extra id columns, each a tuple aligned with ``runs`` (e.g. ``point``).
    """

    scenario: Scenario
    runs: tuple[int, ...]
    seeds: tuple[int, ...]
    ids: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Task:
    """A chunk of consecutive runs.

    Attributes:
        store: Name of the chunk store the result belongs to (one per scenario
            of a comparison).
        groups: The runs, grouped by scenario, in run order.
        keep_series: Return the per-step series too (ensembles and comparisons).
    """

    store: str
    groups: tuple[RunGroup, ...]
    keep_series: bool = True

    @property
    def runs(self) -> list[int]:
        """Run ids of the chunk, in order."""
        return [r for g in self.groups for r in g.runs]


@dataclass(slots=True)
class ChunkResult:
    """What a task sends back.

    Attributes:
        store: As in the task.
        first: First run id of the chunk.
        last: Last run id of the chunk.
        runs: One row per run: ``run``, ``seed``, the id columns, ``scenario``, outcomes.
        steps: ``run``, ``step`` and one column per series, one row per run and step
            (``None`` when the task did not keep series).
        seconds: Time the worker spent.
    """

    store: str
    first: int
    last: int
    runs: pd.DataFrame
    steps: pd.DataFrame | None
    seconds: float

    @property
    def n(self) -> int:
        """Number of runs in the chunk."""
        return len(self.runs)


def run_many(
    scenario: Scenario, seeds: Sequence[int]
) -> Iterator[tuple[dict[str, Any], float | None, float | None]]:
    """Run a scenario once per seed without the event log; per run, its series' columns and conflict days.

    The runs are stepped together in batches (:func:`~escalation_sim.model.batch.run_batched`),
    which gives each run exactly what it gives alone, faster; they come back in
    the seeds' order. The columns come as :meth:`EscalationModel.series` gives
    them (arrays and lists): an experiment reduces them, so no DataFrame is
    built per run.
    """
    from escalation_sim.model.batch import run_batched
    from escalation_sim.model.model import EscalationModel

    models = (EscalationModel(scenario, seed=seed, record_events=False) for seed in seeds)
    for model in run_batched(models):
        yield model.series(), model.nato_conflict_day, model.nuclear_use_day


def execute_task(task: Task) -> ChunkResult:
    """Run every run of a task; deterministic given the task.

    The runs execute under :func:`~escalation_sim.experiment.heap.run_heap`: on a
    Dask worker, whose environment fixes glibc's thresholds, large arrays are then
    reused instead of mapped afresh (the same numbers, fewer page faults).

    Args:
        task: The chunk to run.

    Returns:
        The per-run outcomes and (if asked) the per-step series, in run order.
    """
    with run_heap():
        return run_task(task)


def run_task(task: Task) -> ChunkResult:
    """:func:`execute_task` under whatever heap settings the process has."""
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    series: dict[str, list[np.ndarray]] = {}
    run_col: list[np.ndarray] = []
    step_col: list[np.ndarray] = []
    for group in task.groups:
        sc = group.scenario
        ladders = {aid: len(sc.ladder_for(aid).rungs) for aid in sc.actors}
        names: list[str] | None = None
        results = run_many(sc, group.seeds)
        for i, (run, seed, (ts, nato_day, nuclear_day)) in enumerate(
            zip(group.runs, group.seeds, results, strict=True)
        ):
            row: dict[str, Any] = {"run": run, "seed": seed}
            row.update({k: v[i] for k, v in group.ids.items()})
            row["scenario"] = sc.name
            row.update(run_outcomes(ts, ladders, nato_day, nuclear_day))
            rows.append(row)
            if task.keep_series:
                names = names or series_names(list(ts), list(sc.actors))
                for name, values in step_series(ts, names).items():
                    series.setdefault(name, []).append(values)
                step = np.asarray(ts["step"], dtype=np.int64)
                run_col.append(np.full(len(step), run, dtype=np.int64))
                step_col.append(step)
    runs = pd.DataFrame(rows)
    steps = None
    if task.keep_series:
        data = {"run": np.concatenate(run_col), "step": np.concatenate(step_col)}
        data.update({k: np.concatenate(v) for k, v in series.items()})
        steps = pd.DataFrame(data)
    ids = task.runs
    return ChunkResult(task.store, ids[0], ids[-1], runs, steps, time.perf_counter() - start)


def run_columns(scenario: Scenario) -> tuple[list[str], list[str]]:
    """The outcome columns and the kept per-step series of a run of ``scenario`` (not run)."""
    from escalation_sim.model.model import EscalationModel

    model = EscalationModel(scenario, seed=0, record_events=False)
    ts = model.timeseries()
    ladders = {aid: len(scenario.ladder_for(aid).rungs) for aid in scenario.actors}
    del model
    outcomes = list(run_outcomes(ts, ladders, None, None))
    return outcomes, series_names(list(ts), list(scenario.actors))


def outcome_columns(scenario: Scenario) -> list[str]:
    """The outcome columns a run of ``scenario`` produces (without running it)."""
    return run_columns(scenario)[0]
