"""How a kernel should reach R runs' arrays: the choice behind the run axis (plan step 1).

A batch of R runs would call each phase's kernel once for the batch instead of
once per run. The runs' arrays can reach that one call in three ways, and this
measures each, for the same kernel body (a read of every argument) on the same
data:

* ``per_run``: R calls of the one-run kernel, each with its A arrays (today);
* ``typed_lists``: one call taking A ``numba.typed.List`` s of R arrays each,
  the runs' own arrays, ragged lengths and all, without copying them;
* ``blocks``: one call taking A arrays of shape (R, n), each run a row (the
  plan's (R, n) state; ragged tables as flat arrays with offsets cost the same
  per call).

Also timed: building one typed list of R arrays, and replacing one of its
items (what a run's rebound array would cost). Each figure is the median of
``--rounds`` rounds of ``--calls`` calls, in this process's CPU time.

Usage::

    .venv/bin/python benchmarks/bench_run_axis.py [--runs 8] [--args 20] [--units 160]
        [--calls 20000] [--rounds 5] [--out benchmarks/results]

Output: ``<out>/bench_run_axis_<UTC timestamp>.csv``, one row per way:
``timestamp .. machine`` as in every benchmark here, ``runs``, ``args``,
``units``, ``way``, ``us_per_batch`` (microseconds to reach all R runs once) and
``vs_per_run`` (``per_run``'s time over this way's: above 1 is faster).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
from benchlib import BASE_FIELDS, RESULTS, base_row, now, started, write_csv
from numba.typed import List

FIELDS = [*BASE_FIELDS, "runs", "args", "units", "way", "us_per_batch", "vs_per_run"]


def _kernels(n_args: int) -> tuple[Callable, Callable]:
    """The one-run kernel (reads element 0 of each argument) and its batched form.

    The batched form loops over runs, taking run ``r``'s arrays as ``a[r]``: one
    compiled function for lists and for blocks (numba specialises it per type).
    """
    names = [f"a{i}" for i in range(n_args)]
    params = ", ".join(names)
    reads = "".join(f"    s += {a}[0]\n" for a in names)
    source = f"def one({params}):\n    s = 0.0\n{reads}    return s\n"
    rows = ", ".join(f"{a}[r]" for a in names)
    batched = (
        f"def batched({params}):\n"
        "    out = np.empty(len(a0))\n"
        "    for r in range(len(a0)):\n"
        f"        out[r] = one({rows})\n"
        "    return out\n"
    )
    space: dict = {"np": np}
    exec(source, space)  # a kernel per argument count: written out, then compiled
    space["one"] = numba.njit(space["one"])
    exec(batched, space)
    return space["one"], numba.njit(space["batched"])


def _median_us(fn: Callable[[], object], calls: int, rounds: int) -> float:
    fn()  # compiled, caches warm
    times = []
    for _ in range(rounds):
        t0 = now()
        for _ in range(calls):
            fn()
        times.append((now() - t0) / calls)
    return statistics.median(times) * 1e6


def main() -> None:
    """Time the three ways and the typed lists' upkeep; print and write the CSV."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=8, help="runs in a batch (8)")
    ap.add_argument("--args", type=int, default=20, help="array arguments per call (20)")
    ap.add_argument("--units", type=int, default=160, help="length of each run's arrays (160)")
    ap.add_argument("--calls", type=int, default=20_000, help="calls per round (20000)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds, median taken (5)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="CSV directory")
    a = ap.parse_args()
    start = started()
    rng = np.random.default_rng(0)
    one, over_runs = _kernels(a.args)
    # Ragged like the runs' per-seed tables: run r's arrays have units + r elements.
    per_run = [[rng.random(a.units + r) for _ in range(a.args)] for r in range(a.runs)]
    lists = [List([per_run[r][i] for r in range(a.runs)]) for i in range(a.args)]
    blocks = [rng.random((a.runs, a.units)) for _ in range(a.args)]

    def calls_per_run() -> None:
        for arrays in per_run:
            one(*arrays)

    timed = {
        "per_run": _median_us(calls_per_run, a.calls, a.rounds),
        "typed_lists": _median_us(lambda: over_runs(*lists), a.calls, a.rounds),
        "blocks": _median_us(lambda: over_runs(*blocks), a.calls, a.rounds),
    }
    column = [per_run[r][0] for r in range(a.runs)]
    build_us = _median_us(lambda: List(column), max(1, a.calls // 20), a.rounds)
    replace_us = _median_us(lambda: lists[0].__setitem__(1, column[1]), a.calls, a.rounds)

    base = base_row(start)
    rows = []
    print(f"bench_run_axis: {a.runs} runs, {a.args} array arguments of ~{a.units} elements")
    print(f"{'way':<14}{'us per batch':>14}{'per_run / way':>16}")
    for way, us in timed.items():
        ratio = timed["per_run"] / us
        print(f"{way:<14}{us:>14.2f}{ratio:>15.2f}x")
        rows.append(
            {**base, "runs": a.runs, "args": a.args, "units": a.units, "way": way,
             "us_per_batch": round(us, 3), "vs_per_run": round(ratio, 3)}
        )  # fmt: skip
    print(f"typed list of {a.runs} arrays: built in {build_us:.2f} us, an item replaced in "
          f"{replace_us:.2f} us")  # fmt: skip
    for way, us in (("build_typed_list", build_us), ("replace_list_item", replace_us)):
        rows.append(
            {**base, "runs": a.runs, "args": a.args, "units": a.units, "way": way,
             "us_per_batch": round(us, 3), "vs_per_run": ""}
        )  # fmt: skip
    print(f"written: {write_csv(a.out, 'bench_run_axis', start, FIELDS, rows)}")


if __name__ == "__main__":
    main()
