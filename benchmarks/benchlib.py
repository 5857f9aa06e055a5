"""What every benchmark here shares: the machine's description, pinning, timing, CSV output.

The benchmarks are scripts (``python benchmarks/bench_x.py``), so this module is
imported from the scripts' own folder; it is not part of the package.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_SCENARIO = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"


def cpu_model() -> str:
    """The CPU model the OS reports (``/proc/cpuinfo`` on Linux), else the platform's."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    """Architecture and CPU model, e.g. ``x86_64 AMD EPYC``."""
    return f"{platform.machine()} {cpu_model()}".strip()


def pin_to_one_core() -> str:
    """Restrict this process to one CPU (Linux); return a note on what was done."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity on this platform)"


def started() -> dt.datetime:
    """The benchmark's start, UTC (one timestamp for every row of its CSV)."""
    return dt.datetime.now(dt.UTC)


#: The columns :func:`versions` fills, in order.
VERSION_FIELDS = ["python", "mesa", "numpy", "numba", "pandas", "pyarrow"]


def versions(*extra: str) -> dict[str, str]:
    """Python's and the run-time packages' versions: figures compare only across the same.

    A fresh environment takes each package's newest release, and a release can move a
    process's memory or speed (pandas with pyarrow loaded at import, say), so every CSV
    records what it was measured with. ``extra`` names more packages; one that is not
    installed is ``none``.
    """
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for name in (*VERSION_FIELDS[1:], *extra):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = "none"
    return found


def base_row(start: dt.datetime) -> dict[str, Any]:
    """Columns every CSV row starts with: when, which Python and packages, which machine.

    ``kernels`` says whether the model's compiled kernels were on at the start
    (``numba``) or its numpy code ran (``numpy``: numba missing, or
    ``ESCALATION_SIM_NO_NUMBA=1``); a row measuring the other path says so in its
    own ``variant``.
    """
    from escalation_sim.model import kernels

    return {
        "timestamp": start.isoformat(timespec="seconds"),
        **versions(),
        "kernels": "numba" if kernels.enabled() else "numpy",
        "machine": machine(),
    }


BASE_FIELDS = ["timestamp", *VERSION_FIELDS, "kernels", "machine"]


def write_csv(
    out: Path, name: str, start: dt.datetime, fields: list[str], rows: Iterable[Mapping[str, Any]]
) -> Path:
    """Write ``<out>/<name>_<UTC timestamp>.csv`` with the given columns; return its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}_{start.strftime('%Y%m%dT%H%M%SZ')}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


#: The clock of the single-process benchmarks: this process's CPU time. On a shared
#: machine, other work inflates wall-clock times at random (a process waits for a core)
#: but barely touches CPU time; on an idle machine the two agree to a few per cent.
#: ``use_wall_clock()`` switches to ``time.perf_counter`` (the ``--wall`` options).
clock: Callable[[], float] = time.process_time


def use_wall_clock() -> None:
    """Time with the wall clock (``time.perf_counter``) from now on."""
    global clock
    clock = time.perf_counter


def now() -> float:
    """The current reading of the benchmarks' clock, in seconds."""
    return clock()


def timings(fn: Callable[[int], object], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds (on the benchmarks' clock) of ``repeats`` calls ``fn(i)`` after ``warmup`` untimed ones.

    ``i`` counts every call from 0 (warm-up included), so each call can take its own
    seed; the garbage collector runs before each timed call, not inside it.
    """
    out = []
    for i in range(warmup + repeats):
        gc.collect()
        t0 = now()
        fn(i)
        elapsed = now() - t0
        if i >= warmup:
            out.append(elapsed)
    return out


def verdict(value: float, aim: float, *, at_most: bool) -> str:
    """``met`` or ``missed`` for a figure against its aim (``at_most``: lower is better)."""
    ok = value <= aim if at_most else value >= aim
    return "met" if ok else "missed"
