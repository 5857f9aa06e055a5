"""Benchmark the model: time per run, cost per agent-step against bare Mesa, scaling with forces.

Three measurements, all in one process (pinned to one core when the platform allows):

* ``run``: one 180-day run of the default scenario through the public API
  (``escalation_sim.run``: build the model, run it, assemble time series,
  events and summary), with and without the event log. Median of
  ``--repeats`` runs on seeds 0, 1, ... after ``--warmup`` runs. The design
  goal (MODEL.md section 9) is about 10 ms per run.
* ``mesa``: time per agent-step of the model against a bare Mesa 3.5 model
  with the same number of agents (one per force unit plus one per state
  actor) and the same number of steps, each agent having a trivial ``step``
  method called with ``model.agents.shuffle_do("step")``. Both are timed for
  the stepping only (``model.run()`` after construction), median of
  ``--repeats``. The aim is a ratio within 10x.
* ``scale``: every force group's count multiplied by each factor in
  ``--scales`` (default 1, 10, 100); set-up and stepping timed separately,
  median of ``--scale-repeats``; per unit-step cost and the ratio to x1
  (near 1 means linear in forces).

Usage::

    .venv/bin/python benchmarks/bench_model.py [--repeats 15] [--warmup 2]
        [--scales 1,10,100] [--scale-repeats 3] [--scale-days 180]
        [--scenario PATH] [--only run,mesa,scale] [--out benchmarks/results] [--no-pin]

Options:
    --repeats: timed runs per measurement for ``run`` and ``mesa``.
    --warmup: untimed runs before each measurement.
    --scales: comma-separated multipliers of every force group's count.
    --scale-repeats: timed runs per scale factor (large forces are slow).
    --scale-days: horizon of the scaling runs (days).
    --scenario: scenario file (default: the May-30 scenario, the package's default).
    --only: comma-separated subset of ``run``, ``mesa``, ``scale``.
    --out: directory for the CSV (``benchmarks/results/``, git-ignored).
    --no-pin: do not pin the process to one core.

Output: ``<out>/bench_model_<UTC timestamp>.csv``, one row per measurement:

    timestamp         UTC start of the benchmark, ISO 8601 (same on every row)
    python            Python version
    mesa              Mesa version
    machine           architecture and CPU model
    benchmark         ``run``, ``mesa`` or ``scale``
    variant           what was timed: ``events`` / ``no_events`` (run);
                      ``model`` / ``bare_mesa`` (mesa); ``x<factor>`` (scale)
    units             force units in the model
    agents            Mesa agents (units + state actors)
    steps             steps per run
    repeats           timed runs
    setup_s           median set-up time (model construction; 0 where not separated)
    median_s          median time of the timed part (see ``benchmark``)
    min_s             fastest timed run
    per_agent_step_us median_s / (agents * steps), microseconds
    ratio             mesa: model / bare Mesa per agent-step; scale: per unit-step / x1's;
                      run: median_s / 10 ms (the design goal); empty otherwise
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mesa

import escalation_sim
from escalation_sim import Scenario, load_scenario, with_overrides
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIO = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
RUN_GOAL_S = 0.010  # MODEL.md section 9: ~10 ms per 180-day run
FIELDS = [
    "timestamp",
    "python",
    "mesa",
    "machine",
    "benchmark",
    "variant",
    "units",
    "agents",
    "steps",
    "repeats",
    "setup_s",
    "median_s",
    "min_s",
    "per_agent_step_us",
    "ratio",
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(fn: Callable[[], object], repeats: int, warmup: int) -> list[float]:
    """Wall-clock times of ``repeats`` calls after ``warmup`` untimed ones (GC between)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


# ---------------------------------------------------------------------- bare Mesa


class TrivialAgent(mesa.Agent):
    """An agent whose step does (almost) nothing."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.ticks = 0

    def step(self) -> None:
        self.ticks += 1


class BareModel(mesa.Model):
    """A Mesa 3.5 model with ``n`` trivial agents stepped by ``shuffle_do``."""

    def __init__(self, n: int, n_steps: int, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.n_steps = n_steps
        TrivialAgent.create_agents(self, n)

    def step(self) -> None:
        self.agents.shuffle_do("step")

    def run(self) -> None:
        self.run_for(self.n_steps)


def time_stepping(make: Callable[[int], object], repeats: int, warmup: int) -> tuple[float, list]:
    """Median construction time and the stepping times of models built by ``make(seed)``."""
    setups, runs = [], []
    for i in range(warmup + repeats):
        gc.collect()
        t0 = time.perf_counter()
        m = make(i)
        t1 = time.perf_counter()
        m.run()
        t2 = time.perf_counter()
        if i >= warmup:
            setups.append(t1 - t0)
            runs.append(t2 - t1)
        del m
    return statistics.median(setups), runs


# ---------------------------------------------------------------------- measurements


def scaled(sc: Scenario, factor: int) -> Scenario:
    if factor == 1:
        return sc
    return with_overrides(
        sc, [f"forces.{g}.count={spec.count * factor}" for g, spec in sc.forces.items()]
    )


def row(base: dict, **values: object) -> dict:
    return {**base, **values}


def bench_run(sc: Scenario, args, base: dict) -> list[dict]:
    rows = []
    units = sum(g.count for g in sc.forces.values())
    agents = units + len(sc.actors)
    for variant, record in (("events", True), ("no_events", False)):
        seeds = iter(range(10**6))
        times = timed(
            lambda record=record, seeds=seeds: escalation_sim.run(
                sc, seed=next(seeds), record_events=record
            ),
            args.repeats,
            args.warmup,
        )
        med = statistics.median(times)
        rows.append(
            row(
                base,
                benchmark="run",
                variant=variant,
                units=units,
                agents=agents,
                steps=sc.n_steps,
                repeats=len(times),
                setup_s=0.0,
                median_s=med,
                min_s=min(times),
                per_agent_step_us=med / (agents * sc.n_steps) * 1e6,
                ratio=med / RUN_GOAL_S,
            )
        )
    return rows


def bench_mesa(sc: Scenario, args, base: dict) -> list[dict]:
    setup, times = time_stepping(
        lambda seed: EscalationModel(sc, seed=seed, record_events=True), args.repeats, args.warmup
    )
    probe = EscalationModel(sc, seed=0)
    agents = len(probe.agents)
    units = probe.forces.n
    del probe
    steps = sc.n_steps
    bare_setup, bare_times = time_stepping(
        lambda seed: BareModel(agents, steps, seed), args.repeats, args.warmup
    )
    model_us = statistics.median(times) / (agents * steps) * 1e6
    bare_us = statistics.median(bare_times) / (agents * steps) * 1e6
    common = dict(benchmark="mesa", units=units, agents=agents, steps=steps)
    return [
        row(
            base,
            **common,
            variant="model",
            repeats=len(times),
            setup_s=setup,
            median_s=statistics.median(times),
            min_s=min(times),
            per_agent_step_us=model_us,
            ratio=model_us / bare_us,
        ),
        row(
            base,
            **common,
            variant="bare_mesa",
            repeats=len(bare_times),
            setup_s=bare_setup,
            median_s=statistics.median(bare_times),
            min_s=min(bare_times),
            per_agent_step_us=bare_us,
            ratio=1.0,
        ),
    ]


def bench_scale(sc: Scenario, args, base: dict) -> list[dict]:
    rows = []
    sc = with_overrides(sc, [f"horizon_days={args.scale_days}"])
    first_us = None
    for factor in args.scales:
        s = scaled(sc, factor)
        setup, times = time_stepping(
            lambda seed, s=s: EscalationModel(s, seed=seed, record_events=True),
            args.scale_repeats,
            1 if factor <= 10 else 0,
        )
        units = sum(g.count for g in s.forces.values())
        med = statistics.median(times)
        per_unit_step = med / (units * s.n_steps) * 1e6
        first_us = per_unit_step if first_us is None else first_us
        rows.append(
            row(
                base,
                benchmark="scale",
                variant=f"x{factor}",
                units=units,
                agents=units + len(s.actors),
                steps=s.n_steps,
                repeats=len(times),
                setup_s=setup,
                median_s=med,
                min_s=min(times),
                per_agent_step_us=per_unit_step,
                ratio=per_unit_step / first_us,
            )
        )
        print(
            f"  scale x{factor}: {units} units, set-up {setup:.2f} s, run {med:.3f} s", flush=True
        )
    return rows


# ---------------------------------------------------------------------- output


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'benchmark':<9} {'variant':<10} {'units':>6} {'agents':>6} {'steps':>5} "
        f"{'setup s':>8} {'median s':>9} {'min s':>8} {'us/agent-step':>13} {'ratio':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['benchmark']:<9} {r['variant']:<10} {r['units']:>6} {r['agents']:>6} "
            f"{r['steps']:>5} {r['setup_s']:>8.3f} {r['median_s']:>9.4f} {r['min_s']:>8.4f} "
            f"{r['per_agent_step_us']:>13.3f} {r['ratio']:>7.2f}"
        )
    mesa_rows = {r["variant"]: r for r in rows if r["benchmark"] == "mesa"}
    if mesa_rows:
        print(
            f"\nmodel / bare Mesa per agent-step: {mesa_rows['model']['ratio']:.2f}x (aim: within 10x)"
        )
    for r in rows:
        if r["benchmark"] == "run":
            print(
                f"run ({r['variant']}): {r['median_s'] * 1e3:.1f} ms median per "
                f"{r['steps']}-step run; {r['ratio']:.1f}x the 10 ms goal"
            )
    for r in rows:
        if r["benchmark"] == "scale":
            print(
                f"scale {r['variant']}: {r['per_agent_step_us']:.3f} us per unit-step, "
                f"{r['ratio']:.2f}x of x1 (1.0 = linear)"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=15, help="timed runs for run and mesa")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before timing")
    p.add_argument("--scales", default="1,10,100", help="force multipliers, comma-separated")
    p.add_argument("--scale-repeats", type=int, default=3, help="timed runs per scale factor")
    p.add_argument("--scale-days", type=int, default=180, help="horizon of the scaling runs")
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario file")
    p.add_argument("--only", default="run,mesa,scale", help="subset of run,mesa,scale")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="CSV dir")
    p.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    args = p.parse_args(argv)
    args.scales = [int(x) for x in args.scales.split(",") if x.strip()]
    args.only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = args.only - {"run", "mesa", "scale"}
    if unknown:
        p.error(f"unknown benchmark(s) in --only: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = dt.datetime.now(dt.UTC)
    base = {
        "timestamp": started.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "machine": f"{platform.machine()} {cpu_model()}",
    }
    sc = load_scenario(args.scenario)
    print(
        f"scenario {sc.name!r}: {sum(g.count for g in sc.forces.values())} units, "
        f"{len(sc.actors)} actors, {sc.n_steps} steps; {base['machine']}",
        flush=True,
    )
    rows: list[dict] = []
    if "run" in args.only:
        rows += bench_run(sc, args, base)
    if "mesa" in args.only:
        rows += bench_mesa(sc, args, base)
    if "scale" in args.only:
        rows += bench_scale(sc, args, base)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench_model_{started.strftime('%Y%m%dT%H%M%SZ')}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print()
    print_table(rows)
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
