"""Disk an experiment needs: estimated and checked before any run, and a full disk in words.

Before the first run, :func:`check_free_space` compares an estimate of the disk the
experiment will still write with what is free on the work directory's file system
(:func:`shutil.disk_usage`; the outputs are published beside the work directory, on the
same file system). The estimate adds up

* the chunk files of the runs still missing (a resume needs room only for those),
* the per-step series spilled while aggregating, when they exceed the memory budget
  (:mod:`~escalation_sim.experiment.aggregate`; 8 bytes per run, step and series), and
* the published outputs (none for an experiment kept in memory).

The spill is removed before the outputs are written, so the need is the chunks plus
the larger of the two. Too little room by far refuses the experiment before any run
(:class:`DiskSpaceError`); a need within the estimate's uncertainty of what is free only
warns. A disk that fills anyway (another program writing) ends the experiment with the
same error, naming what is kept for a resume (:func:`disk_full_error`).
"""

from __future__ import annotations

import errno
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from escalation_sim.experiment import aggregate
from escalation_sim.experiment.errors import ExperimentError
from escalation_sim.experiment.runner import contiguous_chunks

if TYPE_CHECKING:
    from escalation_sim.experiment.core import Plan

# The sizes below are an estimate, measured on what the chunk store and the outputs
# write: ensembles of the shipped scenarios (30 series, 119 run columns) at 4, 20 and
# 180 days, chunks of 1 to 100 runs. Parquet files carry a fixed cost per column (its
# footer and the pandas schema: 660-670 bytes), and compressed values cost what their
# data allow: 2.1-2.3 bytes per series value over 180 days, fewer over a few days, so
# short experiments are overestimated. tests/test_experiment_disk.py holds the estimate
# to within ESTIMATE_FACTOR of the bytes a small ensemble writes.

#: Allocation unit assumed for every file (a small file still takes a whole block).
BLOCK_BYTES = 4096
#: Fixed bytes of a Parquet chunk file per column.
FILE_BYTES_PER_COLUMN = 670
#: Bytes per run and column of a chunk's outcomes file.
OUTCOME_BYTES_PER_VALUE = 0.5
#: Bytes per run, step and series of a chunk's series file.
SERIES_BYTES_PER_VALUE = 2.2
#: A chunk's manifest: fixed bytes, and bytes per run id listed.
MANIFEST_BYTES, MANIFEST_BYTES_PER_RUN = 400, 8
#: Published per-run table (Parquet and CSV): bytes per run and column.
OUTPUT_BYTES_PER_VALUE = 3.0
#: Published per-step tables (aggregates, rung probabilities): bytes per row.
TABLE_BYTES_PER_ROW = 100
#: Published files of fixed size per scenario: resolved scenario, metadata, Parquet footers.
OUTPUT_FIXED_BYTES = 160 * 1024
#: The figure the command line draws into the output directory.
FIGURE_BYTES = 256 * 1024
#: Bytes per spilled value (float64).
SPILL_BYTES_PER_VALUE = 8
#: What is written is within this factor of the estimate, either way: an estimate more
#: than this factor above the free space refuses, one within it of the free space warns.
ESTIMATE_FACTOR = 1.5


class DiskSpaceError(ExperimentError):
    """Too little free disk for the experiment: refused before any run, or run out of."""


class DiskSpaceWarning(UserWarning):
    """The free disk is within the estimate's uncertainty of what the experiment needs."""


@dataclass(frozen=True, slots=True)
class StoreShape:
    """What sizes the files of one chunk store.

    Attributes:
        run_columns: Columns of the outcomes file (run, seed, ids, scenario, outcomes).
        series: Per-step series kept (0: none, as in sweeps).
        steps: Steps of each run's series (step 0 included).
        rungs: Rungs of every actor's ladder together (rows of the rung table per step).
    """

    run_columns: int
    series: int
    steps: int
    rungs: int


def store_shape(plan: Plan, store: str) -> StoreShape:
    """The shape of a store's files, from the task of its first run (the scenario, not run)."""
    from escalation_sim.experiment.tasks import run_columns

    task = next(plan.tasks(store, [0], 1))
    group = task.groups[0]
    sc = group.scenario
    outcomes, series = run_columns(sc)
    return StoreShape(
        run_columns=3 + len(group.ids) + len(outcomes),  # run, seed, ids, scenario, outcomes
        series=len(series) if task.keep_series else 0,
        steps=sc.n_steps + 1,
        rungs=sum(len(sc.ladder_for(a).rungs) for a in sc.actors) if task.keep_series else 0,
    )


def _blocks(size: float) -> int:
    """Bytes a file of ``size`` bytes takes on disk (whole blocks)."""
    return BLOCK_BYTES * max(1, math.ceil(size / BLOCK_BYTES))


def chunk_bytes(shape: StoreShape, runs: int) -> int:
    """Estimated disk of one finished chunk of ``runs`` runs (outcomes, series, manifest)."""
    total = _blocks(shape.run_columns * (FILE_BYTES_PER_COLUMN + OUTCOME_BYTES_PER_VALUE * runs))
    total += _blocks(MANIFEST_BYTES + MANIFEST_BYTES_PER_RUN * runs)
    if shape.series:
        values = runs * shape.steps * shape.series
        total += _blocks(
            (shape.series + 2) * FILE_BYTES_PER_COLUMN + SERIES_BYTES_PER_VALUE * values
        )
    return total


def spill_bytes(shape: StoreShape, runs: int, budget: int | None = None) -> int:
    """Disk the aggregation of ``runs`` runs spills to (0 when they fit the memory ``budget``).

    ``budget`` is the aggregation's (``None``: its default,
    :data:`~escalation_sim.experiment.aggregate.DEFAULT_BUDGET`).
    """
    budget = aggregate.DEFAULT_BUDGET if budget is None else budget
    if runs * shape.steps * shape.series <= budget:
        return 0
    return shape.series * _blocks(SPILL_BYTES_PER_VALUE * runs * shape.steps)  # a file a series


def output_bytes(shape: StoreShape, runs: int) -> int:
    """Estimated disk of the published outputs of one store of ``runs`` runs."""
    rows = shape.steps * (shape.series + shape.rungs)
    size = OUTPUT_FIXED_BYTES + OUTPUT_BYTES_PER_VALUE * runs * shape.run_columns
    return math.ceil(size + TABLE_BYTES_PER_ROW * rows)


def _size(n: float) -> str:
    """Bytes in words: ``430 MB``, ``1.2 GB`` (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n:.0f} bytes"


@dataclass(frozen=True, slots=True)
class DiskEstimate:
    """Disk an experiment will still write, by what writes it (bytes; an estimate).

    Attributes:
        folder: The work directory (the outputs go beside it).
        missing: Runs still to run.
        chunks: Chunk files of the missing runs.
        spill: The largest spill of the aggregation (one store is aggregated at a time).
        outputs: The published outputs (0 for an experiment kept in memory).
    """

    folder: Path
    missing: int
    chunks: int
    spill: int
    outputs: int

    @property
    def need(self) -> int:
        """Most disk in use at once: the chunks, then the spill or the outputs (never both)."""
        return self.chunks + max(self.spill, self.outputs)

    def describe(self) -> str:
        """The need and its parts, in words."""
        parts = []
        if self.missing:
            parts.append(
                f"chunk files of the {self.missing:,} runs still to run {_size(self.chunks)}"
            )
        if self.spill:
            parts.append(f"per-step series spilled while aggregating {_size(self.spill)}")
        if self.outputs:
            parts.append(f"outputs {_size(self.outputs)}")
        return f"about {_size(self.need)} ({'; '.join(parts)})"


def estimate(
    plan: Plan,
    missing: Mapping[str, Sequence[int]],
    chunk_size: int,
    folder: Path,
    *,
    publishes: bool,
) -> DiskEstimate:
    """Estimate the disk an experiment will still write.

    Args:
        plan: The experiment's runs.
        missing: The runs still to run, by store.
        chunk_size: Runs per task.
        folder: The work directory.
        publishes: Whether outputs will be written (``False``: kept in memory).
    """
    chunks = spill = outputs = 0
    for name, n in plan.runs.items():
        shape = store_shape(plan, name)
        chunks += sum(
            chunk_bytes(shape, len(c)) for c in contiguous_chunks(missing[name], chunk_size)
        )
        spill = max(spill, spill_bytes(shape, n))
        outputs += output_bytes(shape, n) if publishes else 0
    outputs += FIGURE_BYTES if publishes else 0
    n_missing = sum(len(m) for m in missing.values())
    return DiskEstimate(Path(folder), n_missing, chunks, spill, outputs)


def check_free_space(need: DiskEstimate, warn: Callable[[str], None]) -> None:
    """Refuse an experiment the free disk clearly cannot hold; warn when it may not.

    Args:
        need: What the experiment will still write.
        warn: Told, in a sentence, when the free disk is within the estimate's
            uncertainty of the need.

    Raises:
        DiskSpaceError: Even at the low end of the estimate, the runs would not fit.
    """
    free = shutil.disk_usage(need.folder).free
    if free * ESTIMATE_FACTOR < need.need:
        raise DiskSpaceError(
            f"not enough free disk for this experiment in {need.folder}: it needs "
            f"{need.describe()}, and {_size(free)} is free. Free some space, choose an --out "
            "on a disk with room, or run fewer runs (the need is estimated from measured "
            f"file sizes, to within a factor of {ESTIMATE_FACTOR:g})"
        )
    if free < need.need * ESTIMATE_FACTOR:
        warn(
            f"{need.folder} has {_size(free)} free and this experiment needs "
            f"{need.describe()}; it may run out of disk. If it does, the finished runs are "
            "kept: free some space and run the same command again to resume"
        )


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write refused for a full disk or an exhausted quota."""
    full = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
    return isinstance(exc, OSError) and exc.errno in full


def disk_full_error(
    exc: OSError,
    *,
    doing: str,
    workdir: Path | None,
    kept: int,
    total: int,
    still: DiskEstimate | None,
) -> DiskSpaceError:
    """The error that ends an experiment whose disk filled while it ran.

    Args:
        exc: The refused write.
        doing: What the experiment was doing and where (``writing finished runs to DIR``).
        workdir: Where finished runs are kept (``None``: an experiment kept in memory).
        kept: Runs finished and kept there (0: nothing kept).
        total: Runs of the whole experiment.
        still: What a resume will still write (``None``: not known).
    """
    reason = "quota exhausted" if exc.errno == getattr(errno, "EDQUOT", None) else "disk full"
    if kept and workdir is not None:
        kept_text = (
            f"{kept:,} of {total:,} runs are finished and kept in {workdir}/; free some space, "
            "then run the same command again: it resumes from the kept runs"
        )
    else:
        kept_text = (
            "no run was kept; free some space, choose an --out on a disk with room, "
            "or run fewer runs"
        )
    need = f" The rest needs {still.describe()}." if still is not None else ""
    return DiskSpaceError(f"{reason} while {doing}: {kept_text}.{need}")
