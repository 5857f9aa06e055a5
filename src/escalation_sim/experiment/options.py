"""How an experiment runs: one frozen object instead of a dozen loose arguments.

No field here changes an experiment's results: the same experiment gives the
same tables, byte for byte, whatever the executor, the number of workers, the
chunk size or the interruptions. What an experiment *computes* (scenarios,
runs, seeds, designs) stays in the arguments of :func:`ensemble`,
:func:`compare` and :func:`sweep`.

Each experiment function takes ``options=ExecutionOptions(...)`` and, for
convenience and backward compatibility, every field as a keyword argument
(``ensemble(path, runs=200, jobs=4, out="results/e")``); keywords replace the
fields of ``options``.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escalation_sim.experiment.executors import Executor

#: ``on_chunk(done, total)``: called after each chunk is on disk.
ChunkCallback = Callable[[int, int], None]
#: ``on_notice(message)``: told what a resume repaired, or that disk is tight (default: a warning).
NoticeCallback = Callable[[str], None]
#: ``on_start()``: called once the inputs and the output are checked, as the runs start.
StartCallback = Callable[[], None]

#: Most local workers per CPU: beyond a few, workers only share the same cores.
MAX_JOBS_PER_CPU = 4
#: Largest chunk (runs per task): a chunk's series are held in memory whole.
MAX_CHUNK_SIZE = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionOptions:
    """How an experiment runs, where it writes, and how it resumes.

    Attributes:
        out: Output directory. Finished runs are kept in ``<out>.partial/`` until
            every output is complete, so an interrupted experiment resumes when
            repeated. ``None``: keep everything in memory (nothing to resume).
        force: Replace ``out`` if it exists (only a directory this tool wrote).
        restart: Discard the finished runs kept in ``<out>.partial/`` and start over.
        jobs: Local worker processes (``None``: one per CPU; 1: in this process).
        dask: A Dask scheduler address (``tcp://host:8786``) or a
            ``distributed.Client`` to run on instead of local workers.
        chunk_size: Runs per task (``None``: a few chunks per worker, at most 25).
        start_method: ``"forkserver"`` (default where the platform has it) or
            ``"spawn"`` for the local pool.
        progress: Show a progress bar (tqdm; a widget in notebooks).
        on_chunk: Called with ``(done, total)`` after each chunk is on disk.
        command: The command line, recorded in the metadata.
        on_notice: Called with each thing a resume repaired (a corrupt chunk run
            again, a stray file removed) and with a warning that the free disk is
            tight; ``None``: issued as a ``ResumeWarning`` (``DiskSpaceWarning``).
        on_start: Called once, after every input and the output directory are
            checked and just before the runs start (the command line says there
            what is starting, so no such line precedes a refusal).
        executor: An executor to use instead of making one from ``jobs`` and
            ``dask`` (tests and benchmarks); it is left open.

    Raises:
        ExperimentError: ``jobs`` or ``chunk_size`` out of bounds (at most
            :data:`MAX_JOBS_PER_CPU` workers per CPU, :data:`MAX_CHUNK_SIZE` runs
            per chunk), or ``dask`` is not a scheduler address.
    """

    out: str | Path | None = None
    force: bool = False
    restart: bool = False
    jobs: int | None = None
    dask: Any = None
    chunk_size: int | None = None
    start_method: str | None = None
    progress: bool = True
    on_chunk: ChunkCallback | None = None
    command: str | None = None
    on_notice: NoticeCallback | None = None
    executor: Executor | None = None
    on_start: StartCallback | None = None

    def __post_init__(self) -> None:
        from escalation_sim.experiment.errors import ExperimentError
        from escalation_sim.experiment.executors import check_dask_address, default_jobs

        if self.jobs is not None:
            most = MAX_JOBS_PER_CPU * default_jobs()
            if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
                raise ExperimentError(
                    f"--jobs must be a whole number of at least 1, got {self.jobs!r}"
                )
            if self.jobs > most:
                raise ExperimentError(
                    f"--jobs {self.jobs} is more than {MAX_JOBS_PER_CPU} workers per CPU of this "
                    f"machine ({most}); more workers only share the same cores"
                )
        if self.chunk_size is not None and (
            isinstance(self.chunk_size, bool)
            or not isinstance(self.chunk_size, int)
            or not 1 <= self.chunk_size <= MAX_CHUNK_SIZE
        ):
            raise ExperimentError(
                f"--chunk-size must be a whole number from 1 to {MAX_CHUNK_SIZE}, "
                f"got {self.chunk_size!r}"
            )
        if self.dask is not None and isinstance(self.dask, str):
            check_dask_address(self.dask)

    @classmethod
    def of(
        cls, options: ExecutionOptions | None, keywords: Mapping[str, Any], *, caller: str
    ) -> ExecutionOptions:
        """``options`` (or the defaults) with ``keywords`` replacing its fields.

        Args:
            options: The options passed as an object, if any.
            keywords: Fields passed as keyword arguments.
            caller: The function's name, for the message of an unknown keyword.

        Raises:
            TypeError: A keyword is not a field (as for any unexpected keyword argument).
        """
        names = [f.name for f in dataclasses.fields(cls)]
        for key in keywords:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}{hint}")
        return dataclasses.replace(options or cls(), **keywords)

    @property
    def planned_workers(self) -> int:
        """Workers the default chunk size is planned for (before any executor starts)."""
        from escalation_sim.experiment.executors import default_jobs

        if self.executor is not None:
            return max(1, self.executor.workers)
        if self.jobs == 1 and self.dask is None:
            return 1
        return self.jobs or default_jobs()
