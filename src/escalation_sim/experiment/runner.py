"""The loop every experiment shares: plan chunks, run them, file results, show progress.

Interruption (Ctrl-C, or SIGTERM under the command line) stops the workers,
keeps every finished chunk and raises
:class:`~escalation_sim.experiment.errors.ExperimentInterrupted`; running the
same experiment again skips the finished runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor
from pathlib import Path
from typing import Any

from escalation_sim.experiment.errors import ExperimentError, ExperimentInterrupted
from escalation_sim.experiment.executors import make_executor
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.store import ChunkStore
from escalation_sim.experiment.tasks import ChunkResult, Task, execute_task
from escalation_sim.model.kernels import is_interrupt

#: Largest default chunk (runs); a chunk of the default scenario takes a few seconds.
MAX_CHUNK = 25
#: Chunks per worker aimed at by the default chunk size (for balance and resumability).
CHUNKS_PER_WORKER = 4


def auto_chunk_size(runs: int, workers: int) -> int:
    """Default runs per chunk: several chunks per worker, at most :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, math.ceil(runs / (max(1, workers) * CHUNKS_PER_WORKER))))


def contiguous_chunks(missing: Sequence[int], size: int) -> Iterator[list[int]]:
    """Split sorted run ids into chunks of consecutive ids, at most ``size`` long."""
    chunk: list[int] = []
    for run in missing:
        if chunk and (run != chunk[-1] + 1 or len(chunk) >= size):
            yield chunk
            chunk = []
        chunk.append(run)
    if chunk:
        yield chunk


def progress_bar(total: int, initial: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar (a notebook widget inside Jupyter) counting runs."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="run",
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.5,
        smoothing=0.1,
    )


def worker_lost(done: int, total: int, workdir: Path | None) -> str:
    """What to say when a pool worker died mid-way, and how to carry on."""
    kept = (
        f"the {done} of {total} runs finished are kept in {workdir}/: "
        "run the same command again to resume"
        if workdir is not None
        else f"{done} of {total} runs had finished; nothing was kept "
        "(give an output directory to make experiments resumable)"
    )
    return (
        "a worker process stopped unexpectedly (killed, or out of memory: "
        f"try fewer --jobs or a smaller --chunk-size); {kept}"
    )


def run_tasks(
    tasks: Iterable[Task],
    *,
    stores: Mapping[str, ChunkStore],
    total: int,
    done: int,
    options: ExecutionOptions,
    desc: str,
    workdir: Path | None,
) -> dict[str, Any]:
    """Run ``tasks`` and write each result to its store.

    Args:
        tasks: Chunks still to run (a lazy iterable is fine).
        stores: Where results go, by :attr:`Task.store`.
        total: Runs of the whole experiment.
        done: Runs already finished before this call.
        options: Executor, progress bar and chunk callback
            (:class:`~escalation_sim.experiment.options.ExecutionOptions`).
        desc: Label of the progress bar.
        workdir: Where finished runs are kept (for the interruption message).

    Returns:
        What ran the tasks and how fast: ``executor``, ``seconds``, ``runs_run``.

    Raises:
        ExperimentInterrupted: Interrupted; finished chunks are on disk.
        ExperimentError: A pool worker died (killed, or out of memory); finished
            chunks are on disk.
    """
    bar = progress_bar(total, done, desc, options.progress)
    start = time.perf_counter()
    ran = 0
    source = iter(tasks)
    first = next(source, None)
    described: dict[str, Any] = {"kind": "none (all runs were already finished)"}
    if first is None:
        bar.close()
        return {"executor": described, "seconds": 0.0, "runs_run": 0}
    executor = options.executor
    own = executor is None
    try:
        if executor is None:
            executor = make_executor(options.jobs, options.dask, options.start_method)
        described = executor.description

        def chained() -> Iterator[Task]:
            yield first
            yield from source

        result: ChunkResult
        for result in executor.imap_unordered(execute_task, chained()):
            stores[result.store].write(result)
            ran += result.n
            bar.update(result.n)
            if options.on_chunk is not None:
                options.on_chunk(done + ran, total)
    except BaseException as exc:
        if executor is not None and own:
            executor.close(cancel=True)
        bar.close()
        if is_interrupt(exc):  # Ctrl-C, also when it arrived inside a compiled kernel
            raise ExperimentInterrupted(done + ran, total, workdir) from None
        if isinstance(exc, BrokenExecutor):  # a worker killed (by hand, or out of memory)
            raise ExperimentError(worker_lost(done + ran, total, workdir)) from None
        raise
    if own:
        executor.close()
    bar.close()
    return {"executor": described, "seconds": time.perf_counter() - start, "runs_run": ran}
