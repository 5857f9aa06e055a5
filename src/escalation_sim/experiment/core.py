"""The core every experiment runs on: output and work directories, chunks, executors, resume.

An experiment is a *design* (which runs exist and what tables they make) on
this core, which does the rest the same way for all of them: it claims the
output directory, keeps finished chunks in ``<out>.partial/`` keyed to what
produced them, runs the missing chunks on the chosen executor with a progress
bar, and publishes the outputs atomically. :func:`ensemble`, :func:`compare`
and :func:`sweep` are such designs, each a short module.

How to add an experiment
------------------------
1. Resolve and check every input first (scenarios, sizes, seeds, outcomes),
   before any directory is touched, so a bad input leaves nothing behind.
2. Describe the runs as a :class:`Plan`: a ``kind``, the ``key`` of what
   decides the runs (scenario hashes, root seed, sizes: anything that, when
   changed, makes old chunks wrong), the number of runs of each chunk store
   (one store per scenario whose runs have their own columns) and a function
   ``tasks(store, missing_run_ids, chunk_size)`` yielding
   :class:`~escalation_sim.experiment.tasks.Task` objects for the missing runs
   (:func:`~escalation_sim.experiment.common.scenario_tasks` does it for one
   scenario on a list of seeds).
3. Run it::

       with Experiment(plan, options) as ex:
           done = ex.run()                        # every run is now on disk
           table = aggregate.read_runs([done.stores["runs"]])
           meta = {**done.metadata(), "runs": n, ...}

           def fill(tmp: Path) -> None:           # write every output file into tmp
               aggregate.write_table(table, tmp / "runs")
               write_json(meta, tmp / "metadata.json")

           path = ex.publish(fill)                # None when options.out is None

4. Return a result object that reads its tables from ``path`` (or holds them
   in memory when ``path`` is ``None``), and export the function from
   :mod:`escalation_sim.experiment`.

Everything in ``options`` (:class:`~escalation_sim.experiment.options.ExecutionOptions`)
is handled here: a new experiment gets jobs, Dask, chunking, progress,
interruption, resume, ``--force`` and ``--restart`` without a line of its own.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from escalation_sim.experiment import diskspace
from escalation_sim.experiment.common import base_metadata
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.runner import auto_chunk_size, run_tasks
from escalation_sim.experiment.store import ChunkStore, WorkDir, code_key, partial_dir
from escalation_sim.experiment.tasks import Task
from escalation_sim.results import OutputError, atomic_directory, check_output


class ResumeWarning(UserWarning):
    """A resume found finished chunks that failed verification; they are run again."""


#: ``tasks(store, missing, chunk_size)``: the tasks running a store's missing runs.
TaskFactory = Callable[[str, Sequence[int], int], Iterator[Task]]


@dataclass(frozen=True, slots=True)
class Plan:
    """What runs an experiment has, and how to make tasks of them.

    Attributes:
        kind: ``ensemble``, ``compare``, ``sweep``...: the metadata's kind and the
            progress bar's label.
        key: What decides the runs (JSON-compatible); finished chunks of a
            different key are never reused.
        runs: Number of runs of each chunk store, in store order (run ids
            ``0 .. n-1`` in each).
        tasks: Makes the tasks of a store's missing runs, at most ``chunk_size`` each
            (its first task, of run 0, also tells the disk estimate what the runs keep).
        max_chunk_size: Cap of the *default* chunk size (e.g. the runs of one
            assumption set, when a task never crosses sets); ``None``: no cap.
        inputs: Files the experiment reads (scenarios, sweep files): the output
            directory may never hold them.
    """

    kind: str
    key: Mapping[str, Any]
    runs: Mapping[str, int]
    tasks: TaskFactory
    max_chunk_size: int | None = None
    inputs: Sequence[Path] = ()

    @property
    def total(self) -> int:
        """Runs of the whole experiment."""
        return sum(self.runs.values())


@dataclass(frozen=True, slots=True)
class Completed:
    """An experiment whose runs are all on disk.

    Attributes:
        kind: As in the plan.
        stores: The chunk stores, by name, in plan order.
        chunk_size: Runs per task this invocation used.
        resumed: Runs that were already finished before this invocation.
        info: What ran the tasks and how fast (``executor``, ``seconds``, ``runs_run``).
        command: The command line, if any.
        repairs: What the resume found wrong and ran again (one sentence each).
    """

    kind: str
    stores: dict[str, ChunkStore]
    chunk_size: int
    resumed: int
    info: dict[str, Any]
    command: str | None
    repairs: list[str]

    def metadata(self) -> dict[str, Any]:
        """What every experiment records: kind, time, versions, machine, command, executor.

        Also the code that ran (package version, source hash, numpy) and what the
        resume repaired.
        """
        return {
            **base_metadata(self.kind, self.command, self.info),
            "code": code_key(),
            "resume_repairs": self.repairs,
        }


def _interleave(generators: Sequence[Iterator[Task]]) -> Iterator[Task]:
    """Tasks of several stores taken in turn (every scenario of a comparison advances)."""
    if len(generators) == 1:
        yield from generators[0]
        return
    for batch in itertools.zip_longest(*generators):
        yield from (t for t in batch if t is not None)


class Experiment:
    """One invocation of an experiment: claims its directories, runs, publishes.

    Use it as a context manager (see the module docstring); leaving the block
    removes the temporary directory of an in-memory experiment.

    Args:
        plan: The runs.
        options: How to run them and where to write.

    Raises:
        OutputExistsError: ``options.out`` exists and ``options.force`` is false.
        OutputError: ``options.out`` may not be written (the current directory, one
            holding an input, or an existing directory this tool did not write).
        StaleWorkError: ``<out>.partial/`` holds runs of a different experiment.
        ExperimentError: ``<out>.partial/`` is in use by another process.

    A disk that fills inside the block (writing a chunk, spilling the series while
    aggregating, publishing) ends it with a
    :class:`~escalation_sim.experiment.diskspace.DiskSpaceError` saying what is kept.
    """

    def __init__(self, plan: Plan, options: ExecutionOptions) -> None:
        self.plan = plan
        self.options = options
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._doing = "starting"  # what a full disk interrupted, for its message
        self._chunk_size = 1
        if options.out is None:
            self.out: Path | None = None
            self._tmp = tempfile.TemporaryDirectory(prefix="escalation-sim-")
            work = Path(self._tmp.name) / "work"
        else:
            self.out = Path(options.out)
            check_output(self.out, force=options.force, inputs=plan.inputs)
            work = partial_dir(self.out)
            for item in plan.inputs:
                if work.resolve() in Path(item).resolve().parents:
                    raise OutputError(
                        f"{work} holds {item}, an input of this command; choose another --out"
                    )
        try:
            self.workdir = WorkDir(work, {"kind": plan.kind, **plan.key}, restart=options.restart)
        except OSError as exc:  # an unwritable --out: found before any run, not after
            self.close()
            raise OutputError(
                f"--out {options.out}: cannot create {work}: {exc.strerror or exc}"
            ) from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Experiment:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        full = exc is not None and diskspace.is_disk_full(exc)
        error = self._disk_full(exc) if full else None  # type: ignore[arg-type]
        self.close()
        if error is not None:
            raise error from exc

    def _missing(self) -> dict[str, list[int]]:
        """The runs not on disk, by store (every run when the work directory is gone)."""
        gone = not self.workdir.path.is_dir()
        missing: dict[str, list[int]] = {}
        for name, n in self.plan.runs.items():
            finished = set() if gone else self.workdir.store(name).done()
            missing[name] = [r for r in range(n) if r not in finished]
        return missing

    def _disk_estimate(self, missing: Mapping[str, Sequence[int]]) -> diskspace.DiskEstimate:
        return diskspace.estimate(
            self.plan, missing, self._chunk_size, self.workdir.path, publishes=self.out is not None
        )

    def _disk_full(self, exc: OSError) -> diskspace.DiskSpaceError:
        """A full disk met inside the block, in words: what was kept, what the rest needs."""
        missing = self._missing()
        kept = self.plan.total - sum(len(m) for m in missing.values())
        return diskspace.disk_full_error(
            exc,
            doing=self._doing,
            workdir=self.workdir.path if self.out is not None else None,
            kept=kept,
            total=self.plan.total,
            still=self._disk_estimate(missing),
        )

    def run(self) -> Completed:
        """Run every run that is not on disk yet; return the stores holding all of them.

        Finished chunks are verified first; those that fail are run again, with
        a notice (see :mod:`~escalation_sim.experiment.store`). Then the disk the
        rest will write is estimated and checked against the free space
        (:mod:`~escalation_sim.experiment.diskspace`): too little refuses before any
        run, little warns. If the start fails (no disk, no worker, no cluster, no
        memory) before any run is finished, the work directory is removed, so the
        corrected command starts clean.

        Raises:
            DiskSpaceError: Clearly too little free disk for the runs still missing.
            ExperimentInterrupted: Interrupted; finished chunks are kept for a resume.
        """
        plan, opts = self.plan, self.options
        stores = {name: self.workdir.store(name) for name in plan.runs}
        repairs: list[str] = []
        for name, n in plan.runs.items():
            repairs += stores[name].verify(n)
        for message in repairs:
            self._notice(message)
        missing = self._missing()
        n_missing = sum(len(m) for m in missing.values())
        size = opts.chunk_size or auto_chunk_size(n_missing, opts.planned_workers)
        if opts.chunk_size is None and plan.max_chunk_size is not None:
            size = min(size, plan.max_chunk_size)
        self._chunk_size = size
        tasks = _interleave([plan.tasks(name, missing[name], size) for name in plan.runs])
        self._doing = f"writing finished runs to {self.workdir.path}"
        # Dask's workers may be other machines: DaskExecutor compiles on those not ready.
        if opts.dask is None:
            from escalation_sim.model import kernels

            kernels.compile_if_cold()  # before the workers start, which then load them
        try:
            diskspace.check_free_space(
                self._disk_estimate(missing),
                lambda message: self._notice(message, diskspace.DiskSpaceWarning),
            )
            if opts.on_start is not None:
                opts.on_start()
            info = run_tasks(
                tasks,
                stores=stores,
                total=plan.total,
                done=plan.total - n_missing,
                options=opts,
                desc=plan.kind,
                workdir=self.workdir.path if self.out is not None else None,
            )
        except KeyboardInterrupt:
            raise
        except BaseException:
            if self.workdir.finished_runs() == 0:
                self.workdir.remove()  # nothing to resume: leave nothing in the way
            raise
        self._doing = f"aggregating the runs in {self.workdir.path}"
        resumed = plan.total - n_missing
        return Completed(plan.kind, stores, size, resumed, info, opts.command, repairs)

    def _notice(self, message: str, category: type[Warning] = ResumeWarning) -> None:
        if self.options.on_notice is not None:
            self.options.on_notice(message)
        else:
            warnings.warn(message, category, stacklevel=3)

    def publish(self, fill: Callable[[Path], None]) -> Path | None:
        """Write the outputs atomically with ``fill(tmp)``, then drop the work directory.

        Returns:
            The output directory, or ``None`` for an in-memory experiment.
        """
        if self.out is None:
            return None
        self._doing = f"writing the outputs to {self.out}"
        atomic_directory(self.out, fill, force=self.options.force, inputs=self.plan.inputs)
        self.workdir.remove()
        return self.out

    def close(self) -> None:
        """Release the work directory's lock; remove an in-memory experiment's temporary one."""
        workdir = getattr(self, "workdir", None)
        if workdir is not None:
            workdir.release()
        if self._tmp is not None:
            shutil.rmtree(self._tmp.name, ignore_errors=True)
            self._tmp.cleanup()
            self._tmp = None
