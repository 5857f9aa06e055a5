"""The local pool's workers: how many, how they start, and starting their server early.

Kept free of heavy imports: the command line calls :func:`start_fork_server`
before it imports the model, so that the server's own loading (about 1.5 s)
runs on the second core while this process loads the same modules on the first.
"""

from __future__ import annotations

import multiprocessing
import os

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
