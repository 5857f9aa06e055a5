"""Ensemble throughput and memory: our runner (serial, 2 jobs, Dask) against mesa.batch_run.

Usage::

    python benchmarks/bench_ensemble.py            # R=1000 runs; memory at N=1,000 and 10,000
    python benchmarks/bench_ensemble.py --quick    # R=200 runs of 60 days; memory at N=200, 1,000
    python benchmarks/bench_ensemble.py --runs 500 --days 90 --skip batch_run1 --skip memory

Options:
    --runs R          Runs per throughput measurement (default 1000; --quick: 200).
    --memory-runs A,B Sizes N of the memory measurement with 2 jobs (default 1000,10000;
                      --quick: 200,1000). A size equal to R reuses the 2-job throughput run.
    --days D          Horizon override (default: the scenario's 180 days; --quick: 60).
    --scenario FILE   Scenario (default: scenarios/may30_kharkiv_counterfire.yaml).
    --seed S          Root seed (default 0); every mode runs the same R seeds.
    --repeat K        Measure each throughput mode K times, interleaved (default 1); the
                      fastest stands for the mode in the ratios (every repeat is in the CSV),
                      and each aim also prints its ratio within every repeat, the modes
                      measured one after the other: the spread the host's drift leaves.
    --skip MODE       Leave a mode out (repeatable): serial, jobs2, jobs2_again, dask2,
                      dask2_unprofiled, batch_run1, batch_run2, memory, ceiling.
    --quick           The small settings above (a few minutes on 2 shared cores).
    --out DIR         Where the CSV goes (default benchmarks/results/, git-ignored).

Modes, each measured in a fresh Python process so that its memory is its own:

* ``serial``: ``escalation_sim.ensemble(jobs=1)`` (in-process).
* ``jobs2``: the same with a local pool of 2 worker processes (the default start
  method: forked from the process's fork server, which starts with this first pool).
* ``jobs2_again``: the same, timed as the process's second pool (an untimed 2-run
  ensemble first): the fork server is up, as for a notebook's second experiment.
* ``dask2``: the same tasks on a Dask ``LocalCluster`` of 2 worker processes with one
  thread each, on 127.0.0.1, started before the clock starts (an "existing cluster").
* ``dask2_unprofiled``: the same with Dask's statistical profiler off in the workers
  (``distributed.worker.profile.enabled: false``, a setting of whoever starts them):
  what the profiler's sampling of the running task every 10 ms costs.
* ``batch_run1`` / ``batch_run2``: ``mesa.batch_run`` with 1 / 2 processes on a tiny
  adapter model around ``EscalationModel``, collecting the same per-step series every
  step (``data_collection_period=1``) and then computing the same per-step mean and
  percentiles with pandas, since an ensemble needs them.

``ceiling`` (printed, not a CSV row): the same pure-Python work in this process and on a
pool of two, timed in the same run: what two processes gain on this machine on work that
shares nothing, beside the "2 jobs vs 1" figure (a comparison, not a bound: it varies).

Every timed call includes pool start-up, writing outputs (ours: runs, aggregates and rung
probabilities to Parquet and CSV in a temporary directory) and aggregation. Peak memory
is the whole process tree's: every 50 ms while a mode runs, the resident set sizes (RSS)
of the measuring process and all its descendants (pool workers, Dask nanny, scheduler and
workers) are summed (psutil), and the largest sum is kept. RSS counts shared library pages
once per process, so the sum overstates what the tree takes from the machine by roughly
the shared libraries (~50 MB per Python process here): compare sizes N, not absolutes.

CSV (``<out>/bench_ensemble_<UTC timestamp>.csv``), one row per measurement:

    timestamp, host, cpus   when and where (the same on every row)
    python, mesa, numpy, numba, pandas, pyarrow, dask   versions (the same on every row)
    scenario             what (the same on every row)
    mode                 serial, jobs2, jobs2_again, dask2, dask2_unprofiled, batch_run1,
                         batch_run2
    runs                 runs in this measurement (R, or a memory size N)
    repeat               0, 1, ... (--repeat)
    days                 horizon override, or "scenario"
    workers              processes doing runs
    seconds              wall-clock time of the measured call
    runs_per_s           runs / seconds
    speedup_vs_serial    runs_per_s over serial's (best repeat)
    speedup_vs_batch_run runs_per_s over mesa.batch_run's with the same number of processes
    cpu_seconds, cpu_ms_per_run   user + system CPU of the measuring process and its
                         children: a cost per run that other work on the machine does not
                         distort (for the Dask modes it includes starting and stopping the cluster)
    cpu_ms_per_run_main, cpu_ms_per_run_workers   the same split: the measuring process
                         (for the Dask modes also the scheduler, the nannies and the client, which a
                         LocalCluster runs there) and its worker processes (pool workers,
                         Dask workers; counted when they end)
    peak_rss_tree_mb     peak summed RSS of the whole process tree (see above)
    peak_rss_main_mb     ru_maxrss of the measuring process
    peak_rss_children_mb ru_maxrss of its largest child process
    load_avg_1m          the machine's load when the mode started
    other_cores          CPU the rest of the machine used while the mode ran, in cores,
                         from /proc/stat (other work slows every mode)
    checksum             total fire on the city over all runs: equal across modes means
                         the same runs were made
    matches_serial       checksum equals serial's (same R only)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mesa
import psutil  # comes with dask[distributed], which the dask2 mode needs anyway
from benchlib import (
    DEFAULT_SCENARIO,
    RESULTS,
    ROOT,
    VERSION_FIELDS,
    verdict,
    versions,
    write_csv,
)

from escalation_sim import EscalationModel

SAMPLE_S = 0.05  # how often the process tree's memory is read while a mode runs
MODES = (
    "serial",
    "jobs2",
    "jobs2_again",
    "dask2",
    "dask2_unprofiled",
    "batch_run1",
    "batch_run2",
)
SERIES = ("fire_on_city", "harm_cumulative", "strikes_in_russia", "withheld")


# ----------------------------------------------------------------------------- batch_run adapter
class _Last:
    """A model reporter (Mesa calls it without arguments): the latest value of a column."""

    def __init__(self, table: Any, column: str) -> None:
        self.table = table  # the model's SeriesTable (model.datacollector)
        self.column = column

    def __call__(self) -> Any:
        return self.table.column(self.column)[-1]


class BatchAdapter(mesa.Model):
    """EscalationModel inside a Mesa model that mesa.batch_run can drive and collect."""

    def __init__(self, scenario: Any = None, rng: int | None = None) -> None:
        super().__init__(rng=rng)
        self.inner = EscalationModel(scenario, seed=rng, record_events=False)
        self.n_steps = scenario.n_steps
        series = self.inner.datacollector
        reporters = {name: _Last(series, name) for name in SERIES}
        for aid in self.inner.actor_ids:
            reporters[f"rung.{aid}"] = _Last(series, f"rung.{aid}")
            reporters[f"pressure.{aid}"] = _Last(series, f"pressure.{aid}")
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    def step(self) -> None:
        self.inner.step()
        self.datacollector.collect(self)
        if round(self.inner.time) >= self.n_steps:
            self.running = False


# ----------------------------------------------------------------------------- one measurement
def _rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def _checksum(path: Path) -> float:
    import pandas as pd

    return float(pd.read_parquet(path / "runs.parquet", columns=["fire_on_city"]).sum().iloc[0])


def _cpu_split() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of all its descendants so far.

    Ended, waited-for children count through ``RUSAGE_CHILDREN``; a child still
    running (the fork server) counts with what it has used and what its own
    ended children (the pool's workers, forked from it) used.
    """
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = child.cpu_times()
            live += t.user + t.system + t.children_user + t.children_system
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime + live


def _cpu_seconds() -> float:
    return sum(_cpu_split())


def _measure(mode: str, runs: int, days: int | None, scenario: Path, seed: int) -> dict[str, Any]:
    from escalation_sim.api import resolve_scenario
    from escalation_sim.experiment import ensemble, run_seeds

    sc = resolve_scenario(scenario, days=days)
    workers = 1 if mode in ("serial", "batch_run1") else 2
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "jobs2_again":  # the process's first pool, untimed
            ensemble(sc, runs=2, seed=seed, jobs=2, out=Path(tmp) / "first", progress=False)
        main_start, workers_start = _cpu_split()
        if mode in ("serial", "jobs2", "jobs2_again"):
            start = time.perf_counter()
            result = ensemble(
                sc, runs=runs, seed=seed, jobs=workers, out=Path(tmp) / "e", progress=False
            )
            seconds = time.perf_counter() - start
            checksum = _checksum(result.path)
        elif mode in ("dask2", "dask2_unprofiled"):
            import dask
            from distributed import LocalCluster

            profile = {"distributed.worker.profile.enabled": mode == "dask2"}
            with (
                dask.config.set(profile),
                LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                ) as cluster,
            ):
                start = time.perf_counter()
                result = ensemble(
                    sc,
                    runs=runs,
                    seed=seed,
                    dask=cluster.scheduler_address,
                    out=Path(tmp) / "e",
                    progress=False,
                )
                seconds = time.perf_counter() - start
            checksum = _checksum(result.path)
        else:
            import pandas as pd

            start = time.perf_counter()
            rows = mesa.batch_run(
                BatchAdapter,
                parameters={"scenario": [sc]},
                rng=run_seeds(seed, runs),
                number_processes=workers,
                data_collection_period=1,
                max_steps=sc.n_steps,
                display_progress=False,
            )
            frame = pd.DataFrame(rows)
            names = [c for c in frame.columns if c in SERIES or c.startswith(("rung.", "press"))]
            stats = frame.groupby("Step")[names].quantile([0.05, 0.25, 0.5, 0.75, 0.95])
            means = frame.groupby("Step")[names].mean()
            seconds = time.perf_counter() - start
            checksum = float(frame["fire_on_city"].sum())
            del stats, means
    main_mb, children_mb = _rss_mb()
    main_end, workers_end = _cpu_split()
    main_cpu, workers_cpu = main_end - main_start, workers_end - workers_start
    cpu = main_cpu + workers_cpu
    return {
        "seconds": seconds,
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_run": round(1000 * cpu / runs, 2),
        "cpu_ms_per_run_main": round(1000 * main_cpu / runs, 2),
        "cpu_ms_per_run_workers": round(1000 * workers_cpu / runs, 2),
        "process_cpu_seconds": round(_cpu_seconds(), 2),
        "checksum": round(checksum, 6),
        "peak_rss_main_mb": round(main_mb, 1),
        "peak_rss_children_mb": round(children_mb, 1),
        "workers": workers,
    }


def _busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all processes), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _tree_rss_mb(proc: psutil.Process) -> float:
    """Resident memory of a process and all its descendants now, in MB (RSS summed)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        # A worker may end between the listing and the reading.
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total / 2**20


def _run_child(mode: str, runs: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--runs", str(runs), "--seed", str(args.seed)]
    cmd += ["--scenario", str(args.scenario)]
    if args.days:
        cmd += ["--days", str(args.days)]
    load = os.getloadavg()[0]
    print(f"  {mode:<11} N={runs:<6} ... ", end="", flush=True)
    busy, start = _busy_seconds(), time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=ROOT)
        # Peak memory of the whole process tree (the measuring process, its pool or
        # Dask workers and their helpers), sampled while it runs.
        tree = psutil.Process(child.pid)
        peak_tree = 0.0
        while child.poll() is None:
            try:
                peak_tree = max(peak_tree, _tree_rss_mb(tree))
            except psutil.NoSuchProcess:
                break
            time.sleep(SAMPLE_S)
        child.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    busy, wall = _busy_seconds() - busy, time.perf_counter() - start
    if child.returncode != 0:
        print("failed")
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(1)
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_tree_mb"] = round(peak_tree, 1)
    result["load_avg_1m"] = round(load, 2)
    # CPU the rest of the machine used meanwhile, in cores (other people's work slows ours).
    result["other_cores"] = round(max(0.0, busy - result.pop("process_cpu_seconds")) / wall, 2)
    print(
        f"{result['seconds']:.1f} s, {runs / result['seconds']:.2f} runs/s, "
        f"peak memory {peak_tree:.0f} MB (other work on the machine: "
        f"{result['other_cores']:.2f} cores)"
    )
    return result


# ----------------------------------------------------------------------------- main
FIELDS = [
    "timestamp",
    "host",
    "cpus",
    *VERSION_FIELDS,
    "dask",
    "scenario",
    "mode",
    "runs",
    "repeat",
    "days",
    "workers",
    "seconds",
    "runs_per_s",
    "speedup_vs_serial",
    "speedup_vs_batch_run",
    "cpu_seconds",
    "cpu_ms_per_run",
    "cpu_ms_per_run_main",
    "cpu_ms_per_run_workers",
    "peak_rss_tree_mb",
    "peak_rss_main_mb",
    "peak_rss_children_mb",
    "load_avg_1m",
    "other_cores",
    "checksum",
    "matches_serial",
]


def _busy_work(n: int) -> int:
    """Interpreter-bound work with no memory traffic to speak of (a ceiling's unit of work)."""
    total = 0
    for i in range(n):
        total = (total + i * i) % 1_000_003
    return total


def _machine_ceiling(tasks: int = 16, size: int = 2_000_000) -> float:
    """How much faster two processes do the same pure-Python work than one, on this machine.

    ``tasks`` equal pieces of ``_busy_work``, once in this process and once on a
    spawn pool of two: the ratio of the wall-clock times, measured in the same
    run as the ensembles, shows what two processes gain here on work that shares
    nothing (two cores that share caches or a physical core slow each other
    down). It is a point of comparison, not a bound: it varies from run to run
    (1.45x to 1.83x on the development machine within ten minutes).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    for _ in range(tasks):
        _busy_work(size)
    one = time.perf_counter() - t0
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_busy_work, [size // 100] * 2))  # start both workers before the clock
        t0 = time.perf_counter()
        list(pool.map(_busy_work, [size] * tasks))
        two = time.perf_counter() - t0
    return one / two


def main() -> None:
    """Measure every mode not skipped, print the table and the aims, write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--memory-runs", default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip", action="append", default=[], choices=[*MODES, "memory", "ceiling"]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_measure(args.child, args.runs, args.days, args.scenario, args.seed)))
        return

    runs = args.runs or (200 if args.quick else 1000)
    args.days = args.days or (60 if args.quick else None)
    try:
        memory_runs = [
            int(n)
            for n in (args.memory_runs or ("200,1000" if args.quick else "1000,10000")).split(",")
        ]
    except ValueError:
        parser.error(f"--memory-runs: expected sizes like 1000,10000, got {args.memory_runs!r}")
    start = dt.datetime.now(dt.UTC)
    common = {
        "timestamp": start.isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        **versions("dask"),
        "scenario": args.scenario.name,
        "days": args.days or "scenario",
    }
    days = f"{args.days} days" if args.days else "the scenario's horizon"
    print(f"bench_ensemble: {runs} runs of {args.scenario.name}, {days}, {os.cpu_count()} CPUs")
    rows: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    for rep in range(args.repeat):
        for mode in MODES:
            if mode in args.skip:
                continue
            r = _run_child(mode, runs, args)
            rows.append({**common, "mode": mode, "runs": runs, "repeat": rep, **r})
            # The best of the repeats stands for the mode (the least disturbed by other work).
            if mode not in results or r["seconds"] < results[mode]["seconds"]:
                results[mode] = r
    if "memory" not in args.skip:
        for n in memory_runs:
            if n == runs and "jobs2" in results:
                continue
            r = _run_child("jobs2", n, args)
            rows.append({**common, "mode": "jobs2", "runs": n, "repeat": 0, **r})

    ceiling = None
    if "ceiling" not in args.skip:
        ceiling = _machine_ceiling()
        print(f"  2 processes vs 1 on pure-Python work: {ceiling:.2f}x")

    serial = results.get("serial")
    for row in rows:
        row["runs_per_s"] = round(row["runs"] / row["seconds"], 3)
        if serial:
            row["speedup_vs_serial"] = round(row["runs_per_s"] / (runs / serial["seconds"]), 3)
            if row["runs"] == runs:
                row["matches_serial"] = row["checksum"] == serial["checksum"]
        batch = results.get(f"batch_run{row['workers']}")
        if batch and not row["mode"].startswith("batch_run"):
            row["speedup_vs_batch_run"] = round(row["runs_per_s"] / (runs / batch["seconds"]), 3)
    path = write_csv(args.out, "bench_ensemble", start, FIELDS, rows)

    print()
    head = (
        f"{'mode':<11}{'runs':>7}{'workers':>8}{'seconds':>9}{'runs/s':>8}{'x serial':>9}"
        f"{'x batch_run':>12}{'CPU ms/run':>11}{'main':>6}{'workers':>8}{'tree MB':>9}"
        f"{'main MB':>9}{'other':>6}"
        "  same runs"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['mode']:<11}{r['runs']:>7}{r['workers']:>8}{r['seconds']:>9.1f}"
            f"{r['runs_per_s']:>8.2f}{_fmt(r.get('speedup_vs_serial')):>9}"
            f"{_fmt(r.get('speedup_vs_batch_run')):>12}{r['cpu_ms_per_run']:>11.1f}"
            f"{r['cpu_ms_per_run_main']:>6.1f}{r['cpu_ms_per_run_workers']:>8.1f}"
            f"{r['peak_rss_tree_mb']:>9.0f}{r['peak_rss_main_mb']:>9.0f}"
            f"{r['other_cores']:>6.2f}  {r.get('matches_serial', '')}"
        )
    print()
    _aims(results, rows, memory_runs, runs)
    if ceiling is not None:
        print(
            f"  {'(for comparison: 2 processes vs 1, pure-Python work)':<54} {ceiling:6.2f}x"
            "   what the machine gave other work"
        )
    print(f"\nwrote {path}")


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def paired_ratios(rows: list[dict[str, Any]], a: str, b: str, size: int) -> list[float]:
    """Throughput of mode ``a`` over mode ``b`` within each repeat both ran in, at ``size`` runs.

    A repeat measures every mode one after the other, so its ratio is the least
    exposed to the host's speed drifting between repeats; the spread of these
    ratios says how far the best-of figure can be trusted.
    """
    seconds: dict[tuple[int, str], float] = {
        (r["repeat"], r["mode"]): r["seconds"] for r in rows if r["runs"] == size
    }
    repeats = sorted({rep for rep, _ in seconds})
    return [
        seconds[(rep, b)] / seconds[(rep, a)]
        for rep in repeats
        if (rep, a) in seconds and (rep, b) in seconds
    ]


def _aims(
    results: dict[str, dict[str, Any]], rows: list[dict[str, Any]], sizes: list[int], runs: int
) -> None:
    """Each aim of issue 11 with its figure from this run, and met or missed."""

    def rate(mode: str) -> float | None:
        r = results.get(mode)
        return None if r is None else 1 / r["seconds"]

    checks = [
        ("2 jobs vs mesa.batch_run (2 processes)", "jobs2", "batch_run2", 3.0),
        ("serial vs mesa.batch_run (1 process)", "serial", "batch_run1", 3.0),
        ("2 jobs vs 1", "jobs2", "serial", 1.8),
        ("2 jobs, the process's second pool, vs 1", "jobs2_again", "serial", 1.8),
        ("Dask LocalCluster (2 workers) vs local pool (2 jobs)", "dask2", "jobs2", 0.85),
        ("the same, Dask's profiler off in the workers", "dask2_unprofiled", "jobs2", 0.85),
    ]
    print("Aims (issue 11), figures from this run: the best repeat of each mode, and in")
    print("brackets the ratio within each repeat (modes measured one after the other):")
    for label, a, b, aim in checks:
        ra, rb = rate(a), rate(b)
        if ra and rb:
            met = verdict(ra / rb, aim, at_most=False)
            paired = paired_ratios(rows, a, b, runs)
            within = f"   [{', '.join(f'{x:.2f}' for x in paired)}]" if len(paired) > 1 else ""
            print(f"  {label:<54} {ra / rb:6.2f}x   aim >= {aim:.2f}x  {met}{within}")
    mem = {r["runs"]: r for r in rows if r["mode"] == "jobs2"}
    if len(sizes) >= 2 and all(n in mem for n in sizes):
        a, b = mem[sizes[0]], mem[sizes[-1]]
        ratio = b["peak_rss_tree_mb"] / a["peak_rss_tree_mb"]
        label = f"peak memory of the process tree, 2 jobs, N={sizes[-1]:,} / N={sizes[0]:,}"
        print(
            f"  {label:<54} {ratio:6.2f}x   aim <= 1.10x  {verdict(ratio, 1.1, at_most=True)}"
            f"   ({b['peak_rss_tree_mb']:.0f} vs {a['peak_rss_tree_mb']:.0f} MB)"
        )


if __name__ == "__main__":
    main()
