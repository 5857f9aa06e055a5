"""Run hostile-input cases through the command line in one child process, under limits.

Usage: ``python _runner.py CASES.json`` where the file holds a list of
``{"id": ..., "argv": [...], "cwd": ...}``. Prints one JSON list: per case its
exit code, standard error, the exception type if one escaped the command
line, the wall time and the peak resident memory so far (MB).

The child caps its own address space (``resource.setrlimit``) so that an input
which escapes the bounds fails the case instead of exhausting the machine, and
each case gets two alarms, so a hang becomes a failure instead of a stuck test: one on
CPU time (a case spinning), one on wall time (a case blocked, e.g. on a FIFO).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

#: CPU-time limit of one case before it counts as a hang: twice the test's own bound
#: (< 5 s of CPU), and, being CPU time, not inflated by other work on a shared machine.
CPU_ALARM_S = 10.0
#: Wall-time limit, for a case blocked without using CPU (reading a FIFO, say). Generous:
#: under a heavy load (a load of 13 on 2 cores has been seen) a fast case's wall clock
#: stretches many times over, and a 20 s limit once failed a case that was not hanging.
WALL_ALARM_S = 120.0
#: Address-space cap above the interpreter's own after imports (a safety net; the test
#: asserts the peak resident memory stays within 500 MB).
EXTRA_ADDRESS_SPACE = 1536 * 1024 * 1024


class Hang(BaseException):
    """A case ran past one of the alarms (not an ``Exception``: nothing may swallow it)."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang("CPU time" if signum == signal.SIGPROF else "wall time")


def run_limited(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    """``fn()`` under both alarms: its value and ``None``, or ``None`` and which alarm rang."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_REAL, WALL_ALARM_S)
    signal.setitimer(signal.ITIMER_PROF, CPU_ALARM_S)
    try:
        return fn(), None
    except Hang as hang:
        return None, str(hang)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.setitimer(signal.ITIMER_PROF, 0.0)


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    from click.testing import CliRunner

    from escalation_sim.cli import main as cli

    with open(sys.argv[1], encoding="utf-8") as handle:
        cases = json.load(handle)
    if os.path.exists("/proc/self/status"):
        cap = _vm_size() + EXTRA_ADDRESS_SPACE
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results = []
    for case in cases:
        os.chdir(case["cwd"])
        start = time.monotonic()
        cpu_start = time.process_time()
        try:
            result, hang = run_limited(
                lambda argv=case["argv"]: CliRunner().invoke(cli, argv, catch_exceptions=True)
            )
        except MemoryError:
            result, hang = None, None
        if hang is not None:
            code, stderr, escaped = None, "", f"Hang ({hang})"
        elif result is None:
            code, stderr, escaped = None, "", "MemoryError"
        else:
            code, stderr = result.exit_code, result.stderr
            escaped = (
                None
                if result.exception is None or isinstance(result.exception, SystemExit)
                else type(result.exception).__name__
            )
        results.append(
            {
                "id": case["id"],
                "exit_code": code,
                "stderr": stderr,
                "escaped": escaped,
                "seconds": time.monotonic() - start,
                "cpu_seconds": time.process_time() - cpu_start,
                "peak_mb_above_start": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                - base_rss,
            }
        )
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
