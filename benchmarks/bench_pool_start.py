"""A whole ``escalation-sim ensemble`` command, by how its workers start: wall seconds.

Each command runs as a user runs it (``python -m escalation_sim ensemble ...`` in a
child process, outputs in a temporary directory, no figure) and is timed by the wall
clock from start to exit, so that everything a user waits for counts: imports,
workers' start, the runs, the outputs. Three ways, in turn, ``--repeat`` times each
(the fastest kept, the least disturbed by other work):

* ``jobs1``: ``--jobs 1``, the runs in the command's own process;
* ``spawn``: ``--jobs 2 --start-method spawn``, each worker a fresh interpreter that
  imports the model and loads the kernels itself, after the command has imported its own;
* ``forkserver``: ``--jobs 2`` (the default): workers forked from the fork server, which
  the command starts before it imports anything heavy, so the server's loading and the
  command's run side by side.

The ratios printed are measured in the same run: each way against ``jobs1``, and
``forkserver`` against ``spawn``. Small ensembles show the start-up best; larger
ones bury it in the runs.

Usage::

    .venv/bin/python benchmarks/bench_pool_start.py [--runs 200] [--days 60] [--repeat 3]

Output: ``<out>/bench_pool_start_<UTC timestamp>.csv``, one row per way:

    timestamp .. machine   as every benchmark here (``benchlib.BASE_FIELDS``)
    way                    jobs1, spawn or forkserver
    runs, days             the ensemble's size
    seconds                fastest wall seconds of ``--repeat`` commands
    over_jobs1             jobs1's seconds / this way's (a speed-up)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

WAYS: dict[str, tuple[str, ...]] = {
    "jobs1": ("--jobs", "1"),
    "spawn": ("--jobs", "2", "--start-method", "spawn"),
    "forkserver": ("--jobs", "2"),
}
FIELDS = [*benchlib.BASE_FIELDS, "way", "runs", "days", "seconds", "over_jobs1"]


def command_seconds(args: list[str]) -> float:
    """Wall seconds of one ``escalation-sim`` command in a child process; it must succeed."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "escalation_sim", *args, "--out", f"{tmp}/e"]
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        return time.perf_counter() - start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200, help="runs per ensemble (200)")
    p.add_argument("--days", type=int, default=60, help="days per run (60)")
    p.add_argument("--repeat", type=int, default=3, help="commands per way (fastest kept)")
    p.add_argument("--scenario", type=Path, default=benchlib.DEFAULT_SCENARIO)
    p.add_argument("--out", type=Path, default=benchlib.RESULTS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = benchlib.started()
    base = benchlib.base_row(start)
    common = ["ensemble", str(args.scenario), "--runs", str(args.runs), "--days", str(args.days)]
    common += ["--no-plot", "--no-progress"]
    best: dict[str, float] = {}
    for _ in range(args.repeat):  # the ways take turns, so drift hits each alike
        for way, flags in WAYS.items():
            seconds = command_seconds([*common, *flags])
            best[way] = min(best.get(way, seconds), seconds)
    print(f"ensemble of {args.runs} runs x {args.days} days, fastest of {args.repeat}, wall clock")
    rows = []
    for way, seconds in best.items():
        ratio = best["jobs1"] / seconds
        print(f"  {way:<12}{seconds:8.2f} s   x jobs1 {ratio:5.2f}")
        rows.append({**base, "way": way, "runs": args.runs, "days": args.days})
        rows[-1].update({"seconds": round(seconds, 3), "over_jobs1": round(ratio, 3)})
    print(f"  forkserver against spawn: {best['spawn'] / best['forkserver']:.2f}x faster")
    print(f"\nwritten: {benchlib.write_csv(args.out, 'bench_pool_start', start, FIELDS, rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
