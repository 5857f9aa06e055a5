"""Where tasks run: in this process, on a local process pool, or on a Dask cluster.

All three take the same :class:`~escalation_sim.experiment.tasks.Task` objects
and the same pure function, and yield results as they complete; the caller
files each result by its run ids, so the order of completion never shows in
the outputs. Only a bounded window of tasks is in flight at a time (twice the
number of workers), so memory does not grow with the number of runs.

The local pool uses :mod:`concurrent.futures` with an explicit start method
taken from :func:`multiprocessing.get_context` (``forkserver`` where the
platform has it, else ``spawn``): the process-wide start method is never set,
so the runner can live inside notebooks and other programs. The fork server
preloads :mod:`escalation_sim.preload`, so that its workers start
with the model imported and its kernels loaded.

A new pool's workers take a second or two to start (the fork server's own
loading, or each spawned interpreter's imports). Rather than wait, the process
that made the pool runs tasks itself meanwhile (the *head start*), while a
thread starts the workers and hands them their first tasks; it stops taking
tasks once a worker has answered, so from then on the workers do the work.
Each run's numbers depend only on its task, so where it ran never shows.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing.connection import Connection
from typing import Any

from escalation_sim.experiment.errors import ExperimentError
from escalation_sim.experiment.tasks import ChunkResult, Task
from escalation_sim.workers import (
    default_jobs,
    default_start_method,
    interrupts_held,
    main_module_hidden,
    release_interrupts,
    start_fork_server,
)

START_METHODS = ("forkserver", "spawn")
TaskFn = Callable[[Task], ChunkResult]
#: How long a new pool's maker waits for a worker before it runs a task itself (s): a
#: pool whose fork server is up has its workers within this, and then no head start.
HEAD_START_GRACE_S = 0.1
#: A Dask scheduler address: ``[protocol://]host:port``.
_DASK_ADDRESS = re.compile(
    r"^(?:(tcp|tls|ws|wss|ucx|inproc)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$"
)


def check_dask_address(address: str) -> str:
    """A Dask scheduler address, checked before any connection is tried.

    Raises:
        ExperimentError: It is not ``[tcp|tls|ws|wss|ucx|inproc://]host:port``.
    """
    m = _DASK_ADDRESS.match(address.strip())
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise ExperimentError(
            f"--dask {address!r} is not a Dask scheduler address; "
            "expected [protocol://]host:port, e.g. tcp://127.0.0.1:8786"
        )
    return address.strip()


class Executor:
    """Runs tasks and yields their results as they complete."""

    #: Number of tasks that can run at once.
    workers: int = 1
    #: What ran the tasks, for the metadata.
    description: dict[str, Any]

    def imap_unordered(self, fn: TaskFn, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        """Run ``fn`` on every task; yield results in completion order."""
        raise NotImplementedError

    def close(self, *, cancel: bool = False) -> None:
        """Release the workers; with ``cancel``, drop queued tasks and stop running ones."""


class SerialExecutor(Executor):
    """Runs tasks one after another in this process (``--jobs 1``)."""

    def __init__(self) -> None:
        self.workers = 1
        self.description = {"kind": "serial", "workers": 1}

    def imap_unordered(self, fn: TaskFn, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        """Run ``fn`` on every task in order."""
        for task in tasks:
            yield fn(task)


def _exit_when_orphaned(alive: Connection) -> None:
    # Only the process that made the pool holds the pipe's other end: the read
    # ends when that process is gone, however it died (even by SIGKILL). The
    # worker's parent is no sign: under forkserver it is the server, which
    # outlives the process that made the pool for as long as its workers run.
    with contextlib.suppress(OSError):
        alive.poll(None)
    os._exit(3)


def _worker_init(alive: Connection) -> None:
    """Set up a pool worker: leave Ctrl-C to the parent; exit when the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    release_interrupts()  # held while it started (spawn): ignored now, so dropped
    threading.Thread(target=_exit_when_orphaned, args=(alive,), daemon=True).start()


def _worker_ready() -> None:
    """A new pool's first call: its completion tells the main process a worker is up."""


class _SharedTasks:
    """Tasks taken one at a time, by the main thread and the pool's starting thread."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self._source = iter(tasks)
        self._lock = threading.Lock()  # a generator cannot be advanced by two threads at once

    def take(self) -> Task | None:
        """The next task, or ``None`` when there are none left."""
        with self._lock:
            return next(self._source, None)


def _windowed(
    submit: Callable[[Task], Future[ChunkResult]],
    tasks: Iterable[Task],
    window: int,
    pending: set[Future[ChunkResult]] | None = None,
) -> Iterator[ChunkResult]:
    """Keep ``window`` tasks in flight (``pending`` already are); yield results as they come."""
    pending = set() if pending is None else pending
    source = iter(tasks)

    def fill() -> None:
        while len(pending) < window:
            task = next(source, None)
            if task is None:
                return
            pending.add(submit(task))

    fill()
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            pending.discard(fut)
            yield fut.result()
        fill()


class LocalPoolExecutor(Executor):
    """A pool of worker processes on this machine.

    Args:
        jobs: Number of worker processes.
        start_method: ``"forkserver"`` (default where the platform has it:
            workers are forked warm from a server that has loaded the model) or
            ``"spawn"`` (each worker a fresh interpreter). Both are safe with
            threads and give the same numbers.
        head_start: While the workers of the first :meth:`imap_unordered`
            start, run tasks in this process (see the module's notes); ``False``
            leaves every task to the workers.
    """

    def __init__(
        self, jobs: int, start_method: str | None = None, *, head_start: bool = True
    ) -> None:
        method = start_method or default_start_method()
        if method not in START_METHODS:
            raise ExperimentError(
                f"start method {method!r} is not supported; use one of: {', '.join(START_METHODS)}"
            )
        if method not in multiprocessing.get_all_start_methods():
            raise ExperimentError(f"start method {method!r} is not available on this platform")
        self.workers = jobs
        self._method = method
        self.description = {"kind": "local", "workers": jobs, "start_method": method}
        context = multiprocessing.get_context(method)
        start_fork_server(method)  # now, if the command line has not already
        # Every worker watches the read end; this process alone holds the write end.
        self._alive_r, self._alive_w = context.Pipe(duplex=False)
        self._pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_worker_init,
            initargs=(self._alive_r,),
        )
        self._head_start = head_start
        self._workers_up = False  # a worker has answered: no head start needed
        self._starter: threading.Thread | None = None
        self._closing = threading.Event()
        #: Tasks this process ran itself while the workers started (for the curious).
        self.ran_here = 0

    def imap_unordered(self, fn: TaskFn, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        """Run tasks on the pool, at most two per worker in flight.

        On a new pool (with ``head_start``) this process runs tasks too until
        a worker is up; the results come in completion order either way.
        """
        if not self._head_start or self._workers_up:
            return _windowed(lambda t: self._submit(fn, t), tasks, 2 * self.workers)
        return self._imap_with_head_start(fn, tasks)

    def _imap_with_head_start(self, fn: TaskFn, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        window = 2 * self.workers
        shared = _SharedTasks(tasks)
        pending: set[Future[ChunkResult]] = set()
        up = threading.Event()
        stop = threading.Event()  # this call is over (finished, failed or abandoned)
        failed: list[BaseException] = []

        def start() -> None:
            # Submitting blocks until the workers exist (under forkserver, until the
            # server has loaded): here, not in the thread that could be running tasks.
            try:
                ready = self._submit(_worker_ready)
                ready.add_done_callback(lambda _f: up.set())
                while len(pending) < window and not (stop.is_set() or self._closing.is_set()):
                    task = shared.take()
                    if task is None:
                        break
                    pending.add(self._submit(fn, task))
            except BaseException as exc:  # re-raised in the main thread
                failed.append(exc)
                up.set()

        self._join_starter()  # an earlier call's, should it still be starting the workers
        # A daemon: should the fork server never answer, the program can still exit.
        starter = threading.Thread(target=start, name="escalation-sim pool start", daemon=True)
        self._starter = starter
        finished = False
        try:
            starter.start()
            up.wait(HEAD_START_GRACE_S)
            while not up.is_set():
                task = shared.take()
                if task is None:
                    break
                result = fn(task)
                self.ran_here += 1
                yield result
            # Once up, the starter has only its last few quick submits left.
            starter.join()
            self._workers_up = True
            if failed:
                raise failed[0]
            yield from _windowed(
                lambda t: self._submit(fn, t), iter(shared.take, None), window, pending
            )
            finished = True
        finally:
            # Also when the caller stops reading (an error, Ctrl-C): the starter
            # takes no more tasks, and those it queued that no worker began are dropped.
            stop.set()
            starter.join()
            if not finished:
                for fut in pending:
                    fut.cancel()

    def _join_starter(self) -> None:
        # At most the workers' start: the pool's shutdown would wait on it anyway.
        if self._starter is not None:
            self._starter.join()
            self._starter = None

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        # The pool starts its workers in its first submits (the starting thread's,
        # with a head start); they are not told of the program's main module. A
        # spawned worker starts with Ctrl-C held (forked ones come from the server,
        # which ignores it; holding it here would delay this thread's while the
        # server loads).
        held = interrupts_held() if self._method == "spawn" else contextlib.nullcontext()
        with main_module_hidden(), held:
            return self._pool.submit(fn, *args)

    def close(self, *, cancel: bool = False) -> None:
        """Shut the pool down; with ``cancel``, stop the workers at once."""
        self._closing.set()
        self._join_starter()
        if not cancel:
            self._pool.shutdown(wait=True)
            self._close_pipe()
            return
        terminate = getattr(self._pool, "terminate_workers", None)  # Python >= 3.14
        if terminate is not None:
            terminate()
            self._close_pipe()
            return
        # Listed before the shutdown, which drops the pool's own list of them.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._close_pipe()  # the workers exit on their own as well, once they look
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)

    def _close_pipe(self) -> None:
        self._alive_w.close()
        self._alive_r.close()


def _worker_versions() -> dict[str, str]:
    """Versions that decide a run's numbers, as seen on a Dask worker."""
    import numpy

    import escalation_sim

    return {"escalation-sim": escalation_sim.__version__, "numpy": numpy.__version__}


def _kernels_cold() -> bool:
    """On a Dask worker: whether its machine has yet to compile the model's kernels."""
    from escalation_sim.model import kernels

    return kernels.cache_is_cold()


def _compile_kernels() -> float:
    """On a Dask worker: compile the model's kernels if its machine has not (seconds taken)."""
    from escalation_sim.model import kernels

    return kernels.compile_if_cold(say=lambda _message: None)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def compile_on_workers(client: Any, say: Callable[[str], None] = _say) -> float:
    """Compile the kernels on the Dask workers whose machines have not, saying so first.

    Without this, each such worker compiles at its first task, for about a
    minute, while the progress bar stands still. Workers on one host share
    its cache: one per host compiles, then any still cold (another cache
    folder) compile on their own. Returns the seconds it took (0.0 when every
    worker was ready).
    """
    cold = [w for w, is_cold in client.run(_kernels_cold).items() if is_cold]
    if not cold:
        return 0.0
    say(
        f"compiling the model's kernels on {len(cold)} Dask worker"
        f"{'s' if len(cold) != 1 else ''} not yet ready: once per machine, about a minute..."
    )
    start = time.perf_counter()
    one_per_host: dict[str, str] = {}
    for worker in cold:
        one_per_host.setdefault(_host(worker), worker)
    client.run(_compile_kernels, workers=list(one_per_host.values()))
    rest = [w for w, is_cold in client.run(_kernels_cold, workers=cold).items() if is_cold]
    if rest:
        client.run(_compile_kernels, workers=rest)
    seconds = time.perf_counter() - start
    say(f"compiled in {seconds:.0f} s")
    return seconds


def _host(address: str) -> str:
    """The host of a worker address (``tcp://10.0.0.5:40123`` -> ``10.0.0.5``)."""
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


class DaskExecutor(Executor):
    """Sends tasks to an existing Dask distributed cluster.

    Args:
        cluster: The scheduler's address (``tcp://host:8786``) or a
            ``distributed.Client``. A client passed in stays open; one made
            here is closed with the executor.

    Raises:
        ExperimentError: Dask is not installed, the scheduler cannot be
            reached, or the workers run other versions of the package or numpy.
    """

    def __init__(self, cluster: Any) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExperimentError(
                "--dask needs Dask distributed: pip install 'escalation-sim[dask]'"
            ) from None
        self._futures: list[Any] = []
        if isinstance(cluster, Client):
            self._client, self._owned = cluster, False
        else:
            try:
                address = check_dask_address(str(cluster))
                self._client = Client(address, timeout="20s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExperimentError(
                    f"cannot reach the Dask scheduler at {cluster}: {exc}"
                ) from None
            self._owned = True
        try:
            seen = self._client.run(_worker_versions)
        except ModuleNotFoundError as exc:
            self.close()
            raise ExperimentError(
                f"the Dask workers cannot import escalation-sim ({exc}); "
                "install the same version in the workers' environment"
            ) from None
        here = _worker_versions()
        for worker, versions in seen.items():
            if versions != here:
                self.close()
                raise ExperimentError(
                    f"Dask worker {worker} runs {versions}, this process {here}; "
                    "results would not match: install the same versions on the workers"
                )
        compile_on_workers(self._client)
        self.workers = max(1, sum(self._client.nthreads().values()))
        self.description = {
            "kind": "dask",
            "workers": self.workers,
            "scheduler": self._client.scheduler.address,
            "worker_versions": here,
        }

    def imap_unordered(self, fn: TaskFn, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        """Submit tasks to the cluster, at most two per worker thread in flight."""
        from distributed import as_completed

        source = iter(tasks)
        window = 2 * self.workers
        first = [self._submit(fn, t) for _, t in zip(range(window), source, strict=False)]
        pending = as_completed(first, loop=self._client.loop)
        for fut in pending:
            result = fut.result()
            self._futures.remove(fut)
            fut.release()
            yield result
            task = next(source, None)
            if task is not None:
                pending.add(self._submit(fn, task))

    def _submit(self, fn: TaskFn, task: Task) -> Any:
        fut = self._client.submit(fn, task, pure=False)
        self._futures.append(fut)
        return fut

    def close(self, *, cancel: bool = False) -> None:
        """Cancel outstanding tasks (with ``cancel``); close the client if made here."""
        if cancel and self._futures:
            self._client.cancel(self._futures)
        self._futures = []
        if self._owned:
            self._client.close()


def make_executor(
    jobs: int | None = None, dask: Any = None, start_method: str | None = None
) -> Executor:
    """The executor for a command line's ``--jobs`` / ``--dask``.

    Args:
        jobs: Local worker processes (``None``: one per CPU; 1: in this process).
        dask: A Dask scheduler address or ``distributed.Client``; overrides ``jobs``.
        start_method: Start method of the local pool.
    """
    if dask is not None:
        return DaskExecutor(dask)
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ExperimentError(f"--jobs must be at least 1, got {jobs}")
    if jobs == 1:
        return SerialExecutor()
    return LocalPoolExecutor(jobs, start_method)
