"""The local pool's workers: how many, how they start, and starting their server early.

Kept free of heavy imports: the command line calls :func:`start_fork_server`
before it imports the model, so that the server's own loading (about 1.5 s)
runs on the second core while this process loads the same modules on the first.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The module the fork server imports before it forks any worker.
PRELOAD = "escalation_sim.preload"


def default_jobs() -> int:
    """Number of CPUs this process may use."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, count or 1)


def default_start_method() -> str:
    """``forkserver`` where this platform has it (workers start warm), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def start_fork_server(start_method: str | None = None) -> bool:
    """Start this process's fork server now, preloading :data:`PRELOAD`; True if it is running.

    Does nothing for ``spawn`` or where the platform has no fork server. A
    server already running (this process's earlier pool) is kept as it is.
    The preload list is the process's own (``set_forkserver_preload``): a
    program that sets its own should start its server before calling this.
    """
    method = start_method or default_start_method()
    if method != "forkserver" or method not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload([PRELOAD])
    with interrupts_held():  # the server ignores Ctrl-C once it has begun (preload)
        forkserver.ensure_running()
    return True


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back from the processes this thread starts meanwhile; deliver it here after.

    Ctrl-C at a terminal interrupts every process of the foreground group, the
    workers too. A worker ignores it from its set-up on (the pool's
    initializer, the fork server's preload), but a new interpreter spends a
    second or two importing before that: interrupted then, it would print a
    traceback of its imports over the message that says what was kept. A
    process inherits the blocked signals of the thread that starts it, so a
    worker started in here receives none until its set-up ignores them (which
    discards the held ones). This thread's own Ctrl-C is delivered when the
    block ends; other threads, the main one included when it is not this
    one, receive it as usual. Nothing is held where the platform cannot block
    signals per thread.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    # multiprocessing's resource tracker, started on first need by whatever starts a
    # process, unblocks Ctrl-C when it has started: it must be running before the hold.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def release_interrupts() -> None:
    """In a worker that now ignores Ctrl-C: unblock it (see :func:`interrupts_held`).

    Once ignored, a held Ctrl-C is discarded, so the worker's mask is left as
    a fresh process's, for whatever it starts in turn.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


#: Per thread: how deep inside :func:`main_module_hidden` it is (0 outside).
_hiding = threading.local()
_wrap_lock = threading.Lock()
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")


def _leave_out_main_in_hiding_threads() -> None:
    """Wrap ``multiprocessing.spawn.get_preparation_data`` once (see :func:`main_module_hidden`)."""
    from multiprocessing import spawn

    with _wrap_lock:
        if getattr(spawn.get_preparation_data, "_escalation_sim", False):
            return
        original = spawn.get_preparation_data

        def get_preparation_data(name: str) -> dict[str, Any]:
            data = original(name)
            if getattr(_hiding, "depth", 0):
                for key in _MAIN_KEYS:
                    data.pop(key, None)
            return data

        get_preparation_data._escalation_sim = True  # type: ignore[attr-defined]
        spawn.get_preparation_data = get_preparation_data


@contextmanager
def main_module_hidden() -> Iterator[None]:
    """While worker processes start from this thread, keep the program's main module out of them.

    A worker started by ``spawn`` or the fork server first imports the
    program's main module (``multiprocessing`` does this so that functions
    defined there can be sent to it): a script without an ``if __name__ ==
    "__main__":`` guard would run again in every worker, side effects and all,
    and its call of an experiment would stop the worker (Python refuses to start
    processes while a module is being imported), leaving the experiment with a
    broken pool. A task needs nothing from that module (plain data, run by this
    package's own functions), so the workers that this thread starts while this
    is in force are not told of it: the preparation data ``multiprocessing``
    sends a new process (``multiprocessing.spawn.get_preparation_data``, wrapped
    once) leaves out the main module's path and name. Nothing else changes: the
    main module keeps its ``__file__`` and ``__spec__``, other threads (the
    pool's maker running tasks during the head start, a program's own pools)
    start their processes as usual, and nesting is fine.
    """
    _leave_out_main_in_hiding_threads()
    _hiding.depth = getattr(_hiding, "depth", 0) + 1
    try:
        yield
    finally:
        _hiding.depth -= 1
