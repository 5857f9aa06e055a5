"""What the local pool's fork server loads once, so that every worker it forks starts warm.

With the ``forkserver`` start method (the default where the platform has it),
the pool's workers are forked from one server process, started by the
process that runs the experiment (:func:`escalation_sim.workers.start_fork_server`).
The server imports this module first: Mesa, pandas, the model and the compiled
kernels (from the warm cache) are then in memory in every worker from its first
instant, instead of each worker paying about 1.5 s of imports and loading. The
server lives as long as the process that started it, so a notebook's second
experiment finds its workers warm too.

It sits outside :mod:`escalation_sim.experiment`, whose package imports every
experiment: the check on the starting process must run from the server's first
instant, before the heavy imports. Importing this module anywhere else is
harmless but pointless.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import threading

#: How often the server checks, while it loads, that the process that started it is there (s).
PARENT_CHECK_SECONDS = 0.05


def _exit_with_parent(parent: int, loaded: threading.Event) -> None:
    # The command line starts the server before it checks its inputs: if it then
    # stops (a typo in the scenario), the server must not hold its terminal or
    # pipes for the rest of its loading. After loading, the server's own loop
    # sees that process go.
    while not loaded.wait(PARENT_CHECK_SECONDS):
        if os.getppid() != parent:
            os._exit(0)


def _load() -> None:
    importlib.import_module("escalation_sim.experiment.tasks")  # what a worker runs
    kernels = importlib.import_module("escalation_sim.model.kernels")
    # Only a head start: should loading fail, each worker loads (and reports) on its own.
    with contextlib.suppress(Exception):
        kernels.load_compiled()


# Ctrl-C belongs to the main process, which stops the experiment and keeps what is
# finished; the server (and each worker forked from it) must not die of it first.
signal.signal(signal.SIGINT, signal.SIG_IGN)
_loaded = threading.Event()
_watch = threading.Thread(target=_exit_with_parent, args=(os.getppid(), _loaded), daemon=True)
_watch.start()
try:
    _load()
finally:
    _loaded.set()
    _watch.join()  # no thread may be left running where the server forks
