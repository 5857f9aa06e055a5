"""Pieces the experiments share: metadata, labels, scenario facts, task plans, tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation_sim.experiment import aggregate
from escalation_sim.experiment.runner import contiguous_chunks
from escalation_sim.experiment.seeds import SEED_DERIVATION
from escalation_sim.experiment.store import ChunkStore
from escalation_sim.experiment.tasks import RunGroup, Task
from escalation_sim.results import package_versions
from escalation_sim.scenario.loader import scenario_hash
from escalation_sim.scenario.schema import Scenario

#: Packages recorded besides those of a single run.
EXTRA_PACKAGES = ("pyarrow", "scipy", "SALib", "tqdm", "distributed")


def versions() -> dict[str, str]:
    """Versions of Python and every package that shapes an experiment's outputs."""
    out = package_versions()
    for name in EXTRA_PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def base_metadata(kind: str, command: str | None, run_info: dict[str, Any]) -> dict[str, Any]:
    """What every experiment records: kind, time, versions, machine, command, executor."""
    seconds = run_info.get("seconds", 0.0)
    ran = run_info.get("runs_run", 0)
    return {
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "versions": versions(),
        # platform.platform() would fork a subprocess (uname -p): avoid it in a long run.
        "machine": {
            "system": platform.system(),
            "release": platform.release(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "executor": run_info.get("executor"),
        "timing": {
            "seconds_this_invocation": round(seconds, 3),
            "runs_this_invocation": ran,
            "runs_per_second": round(ran / seconds, 3) if seconds > 0 else None,
        },
        "seed_derivation": SEED_DERIVATION,
    }


def label_for(path_or_name: str) -> str:
    """A file-name-safe label (file stems of scenarios, or scenario names)."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", path_or_name).strip("._")
    return label or "scenario"


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Labels made unique by numbering repeats (``a``, ``a-2``)."""
    out: list[str] = []
    for label in labels:
        candidate, n = label, 1
        while candidate in out:
            n += 1
            candidate = f"{label}-{n}"
        out.append(candidate)
    return out


def scenario_labels(
    scenarios: Sequence[Scenario | str | Path] | Mapping[str, Scenario | str | Path],
) -> tuple[list[str], list[Scenario | str | Path]]:
    """Labels and scenarios of a comparison: a mapping's keys, else file stems or names."""
    if isinstance(scenarios, Mapping):
        given = list(scenarios.items())
        return unique_labels([label_for(str(k)) for k, _ in given]), [v for _, v in given]
    items = list(scenarios)
    names = [s.name if isinstance(s, Scenario) else Path(s).stem for s in items]
    return unique_labels([label_for(n) for n in names]), items


def choose_outcomes(
    resolved: Sequence[Scenario], outcomes: Sequence[str] | None, known: Sequence[set[str]]
) -> list[str]:
    """The outcomes compared: those asked for (each known to every scenario), else the key ones.

    Args:
        resolved: The scenarios, baseline first.
        outcomes: Outcomes asked for (``None``: headline outcomes and shared actors' peaks).
        known: The outcome columns of each scenario.

    Raises:
        ExperimentError: An outcome asked for is not an outcome of every scenario.
    """
    from escalation_sim.experiment.errors import ExperimentError
    from escalation_sim.experiment.outcomes import key_outcomes

    common = set.intersection(*known)
    if outcomes is None:
        actors = [a for a in resolved[0].actors if all(a in sc.actors for sc in resolved)]
        return [o for o in key_outcomes(actors) if o in common]
    chosen = list(outcomes)
    unknown = [o for o in chosen if o not in common]
    if unknown:
        raise ExperimentError(
            f"unknown outcome(s) {', '.join(unknown)}; outcomes every scenario has: "
            + ", ".join(sorted(common))
        )
    return chosen


def prepare_scenario(
    scenario: Scenario | str | Path, days: int | None, overrides: Sequence[str]
) -> Scenario:
    """Resolve a scenario (path, shipped name or object) with a horizon and overrides."""
    from escalation_sim.scenario.loader import resolve_scenario

    return resolve_scenario(scenario, days=days, overrides=overrides)


#: Most runs of one experiment: the seeds alone take ~30 s and ~0.6 GB per million
#: runs, and a million runs of the default scenario take days on a laptop.
MAX_RUNS = 1_000_000


def check_runs(runs: int, what: str = "runs") -> int:
    """A number of runs as an int, from 1 to :data:`MAX_RUNS`.

    Raises:
        ExperimentInputError: It is not an integer in that range (a ``ValueError``).
    """
    from escalation_sim.experiment.errors import ExperimentInputError

    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise ExperimentInputError(f"{what} must be a positive integer, got {runs!r}")
    if runs > MAX_RUNS:
        raise ExperimentInputError(
            f"--{what} {runs:,} is more than {MAX_RUNS:,} (the seeds alone would take "
            f"~{runs / MAX_RUNS * 0.6:,.1f} GB); run fewer"
        )
    return int(runs)


def input_files(*items: object) -> list[Path]:
    """The items that are files on disk (scenario and sweep paths; not objects or names)."""
    found = []
    for item in items:
        if isinstance(item, str | Path) and Path(item).is_file():
            found.append(Path(item))
    return found


def scenario_metadata(sc: Scenario) -> dict[str, Any]:
    """The scenario facts an ensemble records."""
    return {
        "scenario": sc.name,
        "scenario_hash": scenario_hash(sc),
        "days": float(sc.n_steps * sc.step_days),
        "step_days": float(sc.step_days),
        "start_date": sc.start_date,
        "actors": list(sc.actors),
        "start_rungs": {a: s.start_rung for a, s in sc.actors.items()},
    }


def ensemble_tables(store: ChunkStore, sc: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregates and rung probabilities of one scenario's stored runs."""
    return aggregate.aggregate_series(store, sc), aggregate.rung_probability(store, sc)


def scenario_tasks(
    store: str,
    scenario: Scenario,
    seeds: Sequence[int],
    missing: Sequence[int],
    chunk_size: int,
    *,
    keep_series: bool = True,
) -> Iterator[Task]:
    """Tasks running ``missing`` runs of one scenario, ``chunk_size`` consecutive runs each."""
    for chunk in contiguous_chunks(missing, chunk_size):
        group = RunGroup(scenario, tuple(chunk), tuple(seeds[r] for r in chunk))
        yield Task(store, (group,), keep_series)


def write_json(data: Any, path: Path) -> None:
    """Indented JSON (dates, numpy scalars and paths as text)."""

    def default(value: Any) -> Any:
        if isinstance(value, dt.date | Path):
            return str(value)
        if hasattr(value, "item"):
            return value.item()
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    path.write_text(json.dumps(data, indent=2, default=default, ensure_ascii=False) + "\n", "utf-8")


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A Parquet table (optionally only some columns)."""
    return pd.read_parquet(path, columns=list(columns) if columns is not None else None)


class LazyTables(Mapping[str, pd.DataFrame]):
    """Tables by label, read from ``<folder>/<label>.parquet`` on first use.

    Args:
        folder: Where the tables are (``None``: only ``loaded``).
        labels: The labels, in order.
        loaded: Tables already in memory.
    """

    def __init__(
        self,
        folder: Path | None,
        labels: Sequence[str],
        loaded: Mapping[str, pd.DataFrame] | None = None,
    ) -> None:
        self._folder = folder
        self._labels = list(labels)
        self._cache: dict[str, pd.DataFrame] = dict(loaded or {})

    def __getitem__(self, label: str) -> pd.DataFrame:
        if label not in self._labels:
            raise KeyError(label)
        if label not in self._cache:
            if self._folder is None:
                raise KeyError(label)
            self._cache[label] = read_parquet(self._folder / f"{label}.parquet")
        return self._cache[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"LazyTables({self._labels})"
