"""The local pool's workers: how many, how they start, and starting their server early.

Kept free of heavy imports: the command line calls :func:`start_fork_server`
before it imports the model, so that the server's own loading (about 1.5 s)
runs on the second core while this process loads the same modules on the first.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

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
    forkserver.ensure_running()
    return True


@contextmanager
def main_module_hidden() -> Iterator[None]:
    """While worker processes start, keep this program's main module out of them.

    A worker started by ``spawn`` or the fork server first imports the
    program's main module (``multiprocessing`` does this so that functions
    defined there can be sent to it): a script without an ``if __name__ ==
    "__main__":`` guard would run again in every worker, side effects and all,
    and its call of an experiment would stop the worker (Python refuses to start
    processes while a module is being imported), leaving the experiment with a
    broken pool. A task needs nothing from that module (plain data, run by this
    package's own functions), so while this is in force ``__main__`` names no
    file and no module, and the workers started meanwhile import nothing of it.
    Restored on leaving, whatever happens.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None  # multiprocessing reads the attribute: it must exist
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
