"""Run hostile-input cases through the command line in one child process, under limits.

Usage: ``python _runner.py CASES.json`` where the file holds a list of
``{"id": ..., "argv": [...], "cwd": ...}``. Prints one JSON list: per case its
exit code, standard error, the exception type if one escaped the command
line, the wall time and the peak resident memory so far (MB).

The child caps its own address space (``resource.setrlimit``) so that an input
which escapes the bounds fails the case instead of exhausting the machine, and
each case gets an alarm, so a hang becomes a failure instead of a stuck test.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time

#: Wall-time limit of one case before it counts as a hang. The test's own bound
#: (< 5 s) is on CPU time, which other work on a shared machine does not inflate.
ALARM_S = 20
#: Address-space cap above the interpreter's own after imports (a safety net; the test
#: asserts the peak resident memory stays within 500 MB).
EXTRA_ADDRESS_SPACE = 1536 * 1024 * 1024


class Hang(Exception):
    """A case ran past the alarm."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang


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
    signal.signal(signal.SIGALRM, _alarm)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results = []
    for case in cases:
        os.chdir(case["cwd"])
        start = time.monotonic()
        cpu_start = time.process_time()
        signal.alarm(ALARM_S)
        try:
            result = CliRunner().invoke(cli, case["argv"], catch_exceptions=True)
            code, stderr = result.exit_code, result.stderr
            escaped = (
                None
                if result.exception is None or isinstance(result.exception, SystemExit)
                else type(result.exception).__name__
            )
        except Hang:
            code, stderr, escaped = None, "", "Hang"
        except MemoryError:
            code, stderr, escaped = None, "", "MemoryError"
        finally:
            signal.alarm(0)
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
