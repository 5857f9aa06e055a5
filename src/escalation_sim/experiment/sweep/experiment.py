"""Parameter sweeps: vary scenario values over a design, run replications, measure sensitivity.

The sweep file's format is in :mod:`~escalation_sim.experiment.sweep.spec`, its
designs in :mod:`~escalation_sim.experiment.sweep.designs` and its sensitivity
indices in :mod:`~escalation_sim.experiment.sweep.sensitivity`; this module is
the experiment: every design point with its replications, as a plan on the
experiment core, and the tables it writes.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation_sim.experiment import aggregate
from escalation_sim.experiment.common import input_files, read_parquet, write_json
from escalation_sim.experiment.core import Experiment, Plan
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.outcomes import COUNT_PREFIXES
from escalation_sim.experiment.runner import contiguous_chunks
from escalation_sim.experiment.sweep.sensitivity import (
    CONF_LEVEL,
    format_index,
    sensitivity_indices,
)
from escalation_sim.experiment.sweep.spec import ResolvedSweep, load_sweep
from escalation_sim.experiment.tasks import RunGroup, Task
from escalation_sim.scenario.loader import scenario_hash, scenario_to_yaml

EXPERIMENTS = "experiments"
OUTCOMES = "outcomes"
POINTS = "points"
SENSITIVITY = "sensitivity"
METADATA = "metadata.json"
SWEEP_YAML = "sweep.resolved.yaml"
SCENARIO_YAML = "scenario.resolved.yaml"
PROBLEM_JSON = "problem.json"
STORE = "runs"


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
            level = m.get("sensitivity_ci_level", CONF_LEVEL)
            lines += ["", f"Sensitivity (largest first; {level:.0%} bootstrap intervals):"]
            lines += _describe_indices(s)
        for outcome, note in m.get("sensitivity_notes", {}).items():
            lines.append(f"  {outcome}: {note}")
        for warning in m.get("sensitivity_warnings", []):
            lines.append(f"warning: {warning}")
        return "\n".join(lines)


#: The index each method ranks parameters by.
MAIN_INDEX = {"sobol": "ST", "morris": "mu_star", "rbd_fast": "S1"}


def _describe_indices(table: pd.DataFrame) -> list[str]:
    """One line per outcome: the main index of each parameter with its interval."""
    lines = []
    if "ci_low" not in table:  # written before intervals were kept
        table = table.assign(ci_low=np.nan, ci_high=np.nan, flag="")
    table = table[table["flag"].fillna("") != "never varied"]  # named in the notes
    for outcome, part in table.groupby("outcome", sort=False):
        method = part["method"].iloc[0]
        main = MAIN_INDEX[method]
        first = part[part["index"] == "S1"].set_index("parameter") if method == "sobol" else None
        shown = []
        for r in part[part["index"] == main].sort_values("value", ascending=False).itertuples():
            text = f"{r.parameter} {format_index(r.value, r.ci_low, r.ci_high)}"
            if first is not None and r.parameter in first.index:
                f = first.loc[r.parameter]
                text += f" (S1 {format_index(f['value'], f['ci_low'], f['ci_high'])})"
            shown.append(text)
        lines.append(f"  {outcome:<20} {main}: {'; '.join(shown)}")
    return lines


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
    options: ExecutionOptions | None = None,
    **execution: Any,
) -> SweepResult:
    """Run a sweep file: every design point, with its replications.

    Args:
        source: The sweep file (or its contents as a mapping).
        options: How to run and where to write
            (:class:`~escalation_sim.experiment.options.ExecutionOptions`).
        **execution: Any field of ``ExecutionOptions`` as a keyword (``out=``,
            ``jobs=``, ``dask=``, ``chunk_size=``, ``start_method=``, ``progress=``,
            ``restart=``, ``force=``, ``on_chunk=``, ``command=``).

    Returns:
        Experiments, outcomes, per-point means and sensitivity indices.

    Raises:
        ScenarioError: The sweep file (or its base scenario) is invalid.
        ExperimentInterrupted: Interrupted; finished runs are kept for a resume.
    """
    opts = ExecutionOptions.of(options, execution, caller="sweep")
    sw = load_sweep(source)
    seeds = sw.seeds()
    plan = Plan(
        kind="sweep",
        key={"sweep_hash": sw.hash, "root_seed": sw.spec.seed, "runs": sw.runs},
        runs={STORE: sw.runs},
        tasks=lambda store, missing, size: _sweep_tasks(sw, seeds, missing, size),
        inputs=input_files(source, sw.base_path),
    )
    with Experiment(plan, opts) as ex:
        done = ex.run()
        store = done.stores[STORE]
        experiments = _experiments_table(sw, seeds)
        chosen = aggregate.read_runs([store], ["point", "replication", *sw.outcomes])
        for name in sw.outcomes:
            if name not in chosen:
                chosen[name] = 0 if name.startswith(COUNT_PREFIXES) else np.nan
        means = chosen.groupby("point", sort=True)[sw.outcomes].mean()
        analysis = sensitivity_indices(sw, chosen)
        sens = analysis.table
        points = experiments[experiments["replication"] == 0].drop(columns=["replication", "seed"])
        points = points.reset_index(drop=True)
        points.insert(1, "replications", sw.spec.replications)
        points = points.join(means, on="point")
        meta = {
            **done.metadata(),
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
            "chunk_size": done.chunk_size,
            "resumed_runs": done.resumed,
            "outcomes_analysed": sw.outcomes,
            "sensitivity_notes": analysis.notes,
            "sensitivity_warnings": analysis.warnings,
            "sensitivity_ci_level": CONF_LEVEL,
            "sensitivity_ci_method": "SALib's bootstrap: value ± conf (conf = half-width); "
            "nothing clipped, impossible values flagged in the 'flag' column",
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

        path = ex.publish(fill)
        tables: dict[str, pd.DataFrame | None] = {
            EXPERIMENTS: experiments,
            POINTS: points,
            SENSITIVITY: sens,
        }
        if path is None:
            outcomes = aggregate.read_runs([store])
            tables[OUTCOMES] = outcomes.drop(columns=["run", "seed", "scenario"])
        return SweepResult(meta, path, **tables)
