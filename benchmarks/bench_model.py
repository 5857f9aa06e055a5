"""Benchmark one model run: ms per run, cost per agent-step against bare Mesa, scaling with forces.

All measurements are made in one process, pinned to one core where the platform
allows, and timed in the process's CPU time (``--wall`` for wall-clock time), so
the ratios compare figures taken minutes apart on the same core:

* ``run``: one run of the scenario through the public API (``escalation_sim.run``:
  build the model, step it, assemble time series, events and summary), with the
  event log on and off; seeds 0, 1, ... The design goal (MODEL.md section 9) is
  about 10 ms per 180-day run.
* ``step``: for every force multiplier in ``--scales`` (every force group's count
  multiplied by it), the model's construction (``setup_s``) and its stepping
  (``model.run()``, ``median_s``) timed separately, event log on and off, and a
  bare Mesa 3.5 model with the same number of agents (one per force unit plus one
  per state actor) and steps, each agent with a trivial ``step`` called through
  ``model.agents.shuffle_do("step")``. Ratios: the model's cost per agent-step
  over bare Mesa's at the same scale (aim <= 1.0), and the cost of a whole run
  (set-up + stepping) over the same variant's at x1 (aim for x100: <= 110x).
  Both run the model's compiled kernels (``events``, ``no_events``) and, with the
  event log off, the numpy code they replace (``numpy``: what runs where numba is
  missing); the printed ratio of the two is the kernels' gain. ``batchN``: the
  runs of an ensemble, ``N`` stepped together phase by phase as the experiment
  core steps them (``model/batch.py``; ``N`` is its batch size for the
  scenario, and where that is 1 there is no such row), event log off, each
  time divided by ``N``: the cost of one run of an ensemble; ``aloneN``: the same
  seeds stepped one after another, in the same repeats (the order of the two
  alternating), so that their ratio compares like with like.
* ``compile``: a fresh interpreter's import, build and first 10 days, with numba
  compiling the kernels afresh (``cold``), loading them from its cache
  (``cached``), and without them (``numpy``); wall clock.

Usage::

    .venv/bin/python benchmarks/bench_model.py            # about 1-2 minutes on an idle core
    .venv/bin/python benchmarks/bench_model.py --quick    # about 15 s: 60 days, fewer repeats
    .venv/bin/python benchmarks/bench_model.py --scales 1,10 --only step --repeats 5

Options:
    --quick: 60-day horizon, 3 repeats at x1, 1 at larger scales, 1 warm-up.
    --days N: horizon in days (default: the scenario's, 180).
    --repeats N: timed runs at x1 and for ``run`` (default 15); median reported.
    --scale-repeats N: timed runs per larger multiplier (default 3).
    --warmup N: untimed runs before each measurement at x1 and x10 (default 2).
    --scales A,B,..: force multipliers (default 1,10,100; the first is the reference).
    --scenario PATH: scenario file (default: the May-30 scenario).
    --only LIST: comma-separated subset of ``run``, ``step``, ``compile``.
    --out DIR: where the CSV goes (default ``benchmarks/results/``, git-ignored).
    --no-pin: do not pin the process to one core.
    --wall: time with the wall clock (``time.perf_counter``) instead of the process's
        CPU time (``time.process_time``, the default: on a shared machine other work
        inflates wall-clock times at random and barely touches CPU time).

Output: ``<out>/bench_model_<UTC timestamp>.csv``, one row per measurement:

    timestamp          UTC start of the benchmark, ISO 8601 (the same on every row)
    python, mesa, numpy, numba, pandas, pyarrow, machine   versions and CPU
    kernels            ``numba`` (compiled kernels on) or ``numpy`` at the start
    clock              ``cpu`` (the process's CPU time) or ``wall`` (``--wall``); every
                       time below is in seconds on this clock
    benchmark          ``run``, ``step`` or ``compile``
    scale              force multiplier (1 for ``run``)
    variant            ``events`` / ``no_events`` / ``numpy`` / ``batchN`` / ``aloneN`` (the model), ``bare_mesa``;
                       ``cold`` / ``cached`` / ``numpy`` for ``compile``
    units              force units in the model, reserve units included
    agents             Mesa agents (units + state actors)
    steps              steps per run
    repeats            timed runs
    setup_s            median construction time (``step``; 0 for ``run``, whose time includes it)
    median_s           median time of the timed part: the whole API call (``run``),
                       the stepping alone (``step``)
    min_s              fastest timed run
    per_run_s          setup_s + median_s: one whole run
    per_agent_step_us  median_s / (agents * steps), microseconds
    ratio_vs_bare      ``step``: per agent-step over bare Mesa's at the same scale
    ratio_vs_x1        ``step``: per_run_s over the same variant's at the first scale
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import mesa
from benchlib import (
    BASE_FIELDS,
    DEFAULT_SCENARIO,
    RESULTS,
    base_row,
    now,
    pin_to_one_core,
    started,
    timings,
    use_wall_clock,
    verdict,
    write_csv,
)

import escalation_sim
from escalation_sim import EscalationModel, Scenario, load_scenario, with_overrides
from escalation_sim.model import kernels
from escalation_sim.model.batch import RunBatch, batch_size

RUN_GOAL_S = 0.010  # MODEL.md section 9: about 10 ms per 180-day run
BARE_AIM = 1.0  # issue 11: the model at or below bare Mesa's cost per agent-step
SCALE_AIM = 1.1  # issue 11: forces x100 cost at most 110x forces x1 per run (1.1 x factor)
EVENTS_AIM = 2.0  # issue 11: the event log on costs no more than the simulation itself
FIELDS = [
    *BASE_FIELDS,
    "clock",
    "benchmark",
    "scale",
    "variant",
    "units",
    "agents",
    "steps",
    "repeats",
    "setup_s",
    "median_s",
    "min_s",
    "per_run_s",
    "per_agent_step_us",
    "ratio_vs_bare",
    "ratio_vs_x1",
]


def _compiled() -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


#: The model's variants: name, event log on, and the code path (compiled kernels, or
#: the numpy reference they replace, which is what runs where numba is missing).
VARIANTS: tuple[tuple[str, bool, Callable[[], contextlib.AbstractContextManager]], ...] = (
    ("events", True, _compiled),
    ("no_events", False, _compiled),
    ("numpy", False, kernels.disabled),
)


# ---------------------------------------------------------------------- bare Mesa
class TrivialAgent(mesa.Agent):
    """An agent whose step does (almost) nothing."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.ticks = 0

    def step(self) -> None:
        """Count the step: the least an agent's Python step method can do."""
        self.ticks += 1


class BareModel(mesa.Model):
    """A Mesa 3.5 model with ``n`` trivial agents stepped by ``shuffle_do``."""

    def __init__(self, n: int, n_steps: int, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.n_steps = n_steps
        TrivialAgent.create_agents(self, n)

    def step(self) -> None:
        """Every agent steps once, in random order."""
        self.agents.shuffle_do("step")

    def run(self) -> None:
        """The whole horizon with Mesa's own time control."""
        self.run_for(self.n_steps)


# ---------------------------------------------------------------------- measurements
def scaled(sc: Scenario, factor: int) -> Scenario:
    """The scenario with every force group's count multiplied by ``factor``, validated.

    Made with overrides (``forces.<group>.count=N``), as a user's file or
    ``--set`` would be: the scaled scenario passes the same schema, cross-reference
    and size checks, and is read-only, so the model's per-scenario caches hold
    for it as for any scenario (a copy made with pydantic's ``model_copy`` would
    skip validation and is never cached, which would time set-up work a user's
    run does not repeat). The reach bound admits the default scenario at x100
    (``scenario/bounds.py``: it was set from this measurement).
    """
    if factor == 1:
        return sc
    return with_overrides(
        sc, [f"forces.{g}.count={spec.count * factor}" for g, spec in sc.forces.items()]
    )


def time_stepping(
    make: Callable[[int], object], repeats: int, warmup: int
) -> tuple[float, list[float]]:
    """Median construction time and the stepping times of models built by ``make(seed)``.

    Construction and stepping are timed apart, so set-up never counts as stepping.
    """
    setups, runs = [], []
    for i in range(warmup + repeats):
        gc.collect()
        t0 = now()
        model = make(i)
        t1 = now()
        model.run()
        t2 = now()
        if i >= warmup:
            setups.append(t1 - t0)
            runs.append(t2 - t1)
        del model
    return statistics.median(setups), runs


def time_batches(
    sc: Scenario, runs: int, repeats: int, warmup: int
) -> tuple[tuple[float, list[float]], tuple[float, list[float]]]:
    """Per run: the same ``runs`` seeds stepped as one RunBatch and one after another.

    Each repeat takes ``runs`` new seeds and steps them both ways, the order of
    the two alternating from repeat to repeat, so the pair differs only in how
    the runs are stepped (a seed's work varies more than the batch's gain).
    Returns, for the batch and for the runs alone, the median construction time
    and the stepping times, each divided by ``runs``.
    """
    built: dict[str, list[float]] = {"batch": [], "alone": []}
    stepped: dict[str, list[float]] = {"batch": [], "alone": []}
    for i in range(warmup + repeats):
        seeds = range(i * runs, (i + 1) * runs)
        for way in ("batch", "alone") if i % 2 == 0 else ("alone", "batch"):
            gc.collect()
            t0 = now()
            models = [EscalationModel(sc, seed=seed, record_events=False) for seed in seeds]
            batch = RunBatch(models) if way == "batch" else None
            t1 = now()
            if batch is not None:
                batch.run()
            else:
                for model in models:
                    model.run()
            t2 = now()
            if i >= warmup:
                built[way].append((t1 - t0) / runs)
                stepped[way].append((t2 - t1) / runs)
            del models, batch
    return (
        (statistics.median(built["batch"]), stepped["batch"]),
        (statistics.median(built["alone"]), stepped["alone"]),
    )


def model_size(sc: Scenario) -> tuple[int, int]:
    """Mesa agents and force units of a model of ``sc``, reserve units included.

    A scenario's group counts leave out the reserves, which the model holds as
    units (and agents) from the start; every per-agent-step figure divides by
    the model's own count, so both benchmarks take it from a built model.
    """
    probe = EscalationModel(sc, seed=0, record_events=False)
    return len(probe.agents), probe.forces.n


def bench_run(sc: Scenario, args: argparse.Namespace, base: dict) -> list[dict]:
    """Whole runs through the public API, event log on and off."""
    rows = []
    agents, units = model_size(sc)
    for variant, record, path in VARIANTS:
        with path():
            times = timings(
                lambda i, record=record: escalation_sim.run(sc, seed=i, record_events=record),
                args.repeats,
                args.warmup,
            )
        med = statistics.median(times)
        rows.append(
            {
                **base,
                "benchmark": "run",
                "scale": 1,
                "variant": variant,
                "units": units,
                "agents": agents,
                "steps": sc.n_steps,
                "repeats": len(times),
                "setup_s": 0.0,
                "median_s": med,
                "min_s": min(times),
                "per_run_s": med,
                "per_agent_step_us": med / (agents * sc.n_steps) * 1e6,
            }
        )
        print(f"  run {variant:<10} {med * 1e3:8.1f} ms", flush=True)
    return rows


def bench_step(sc: Scenario, args: argparse.Namespace, base: dict) -> list[dict]:
    """Stepping cost at every force multiplier, against bare Mesa and against x1."""
    rows: list[dict] = []
    reference: dict[str, float] = {}
    for n, factor in enumerate(args.scales):
        s = scaled(sc, factor)
        first = n == 0
        repeats = args.repeats if first else args.scale_repeats
        warmup = args.warmup if factor <= 10 else 0
        (agents, units), steps = model_size(s), s.n_steps
        found: dict[str, tuple[float, list[float]]] = {}
        for variant, record, path in VARIANTS:
            with path():
                found[variant] = time_stepping(
                    lambda seed, s=s, record=record: EscalationModel(
                        s, seed=seed, record_events=record
                    ),
                    repeats,
                    warmup,
                )
        runs = batch_size(units)
        if runs > 1:  # the runs of an ensemble, stepped together (model/batch.py); per run
            found[f"batch{runs}"], found[f"alone{runs}"] = time_batches(s, runs, repeats, warmup)
        found["bare_mesa"] = time_stepping(
            lambda seed, agents=agents, steps=steps: BareModel(agents, steps, seed),
            repeats,
            warmup,
        )
        bare_us = statistics.median(found["bare_mesa"][1]) / (agents * steps) * 1e6
        for variant, (setup, times) in found.items():
            med = statistics.median(times)
            per_run = setup + med
            if first:
                reference[variant] = per_run
            us = med / (agents * steps) * 1e6
            rows.append(
                {
                    **base,
                    "benchmark": "step",
                    "scale": factor,
                    "variant": variant,
                    "units": units,
                    "agents": agents,
                    "steps": steps,
                    "repeats": len(times),
                    "setup_s": setup,
                    "median_s": med,
                    "min_s": min(times),
                    "per_run_s": per_run,
                    "per_agent_step_us": us,
                    "ratio_vs_bare": us / bare_us,
                    "ratio_vs_x1": per_run / reference[variant],
                }
            )
        this = {r["variant"]: r for r in rows[-len(found) :]}
        batched = [v for v in this if v.startswith("batch")]
        print(
            f"  x{factor:<4} {units:>6} units: set-up {this['events']['setup_s']:.3f} s, "
            f"stepping {this['events']['median_s']:.3f} s with events, "
            f"{this['no_events']['median_s']:.3f} s without"
            + "".join(
                f", {this[v]['median_s']:.3f} s per run in a {v} "
                f"({this['alone' + v[5:]]['median_s']:.3f} s for the same seeds alone)"
                for v in batched
            )
            + f", {this['numpy']['median_s']:.3f} s on the numpy path, "
            f"bare Mesa {this['bare_mesa']['median_s']:.3f} s",
            flush=True,
        )
    return rows


#: Run in a fresh interpreter by ``bench_compile``: import, build, step 10 days; seconds.
FIRST_RUN = """
import time
t0 = time.perf_counter()
from escalation_sim import EscalationModel, load_scenario
m = EscalationModel(load_scenario({path!r}), seed=0, record_events=False)
m.run_for(10)
print(time.perf_counter() - t0)
"""


def bench_compile(sc_path: Path, base: dict) -> list[dict]:
    """A fresh process's first 10 days: kernels compiled afresh, loaded from the cache, none.

    Each case runs in its own interpreter (wall clock: compilation is the point),
    with numba's cache in an empty folder (``cold``), the same folder again
    (``cached``), and the numpy path (``numpy``, ``ESCALATION_SIM_NO_NUMBA=1``).
    """
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        cases = (
            ("cold", {"NUMBA_CACHE_DIR": cache}),
            ("cached", {"NUMBA_CACHE_DIR": cache}),
            ("numpy", {kernels.ENV_DISABLE: "1"}),
        )
        for variant, env in cases:
            done = subprocess.run(
                [sys.executable, "-c", FIRST_RUN.format(path=str(sc_path))],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = float(done.stdout.strip().splitlines()[-1])
            rows.append(
                {
                    **base,
                    "clock": "wall",
                    "benchmark": "compile",
                    "scale": 1,
                    "variant": variant,
                    "steps": 10,
                    "repeats": 1,
                    "setup_s": 0.0,
                    "median_s": seconds,
                    "min_s": seconds,
                    "per_run_s": seconds,
                }
            )
            print(f"  first 10 days in a fresh process, {variant:<7} {seconds:6.2f} s", flush=True)
    return rows


# ---------------------------------------------------------------------- output
def print_table(rows: list[dict]) -> None:
    """The CSV's rows as a table, then each aim with its figure from this run."""
    head = (
        f"{'benchmark':<9} {'scale':>5} {'variant':<10} {'units':>6} {'steps':>5} "
        f"{'setup s':>8} {'median s':>9} {'per run s':>9} {'us/agent-step':>13} "
        f"{'x bare':>7} {'x x1':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        r = {"units": 0, "per_agent_step_us": 0.0, **r}
        vs_bare = f"{r['ratio_vs_bare']:.2f}" if "ratio_vs_bare" in r else ""
        vs_x1 = f"{r['ratio_vs_x1']:.2f}" if "ratio_vs_x1" in r else ""
        print(
            f"{r['benchmark']:<9} {r['scale']:>5} {r['variant']:<10} {r['units']:>6} "
            f"{r['steps']:>5} {r['setup_s']:>8.3f} {r['median_s']:>9.4f} {r['per_run_s']:>9.4f} "
            f"{r['per_agent_step_us']:>13.3f} {vs_bare:>7} {vs_x1:>7}"
        )
    print("\nAims (issue 11), figures from this run:")

    def aim_line(label: str, figure: str, aim: str, met: str) -> None:
        print(f"  {label:<48} {figure:>10}   aim {aim:<9} {met}")

    for r in rows:
        if r["benchmark"] == "run":
            goal = RUN_GOAL_S * r["steps"] / 180
            aim_line(
                f"ms per {r['steps']}-step run (API), {r['variant']}",
                f"{r['median_s'] * 1e3:.1f} ms",
                f"<= {goal * 1e3:.0f} ms",
                verdict(r["median_s"], goal, at_most=True),
            )
    step = {(r["scale"], r["variant"]): r for r in rows if r["benchmark"] == "step"}
    for (scale, variant), r in step.items():
        if variant != "bare_mesa":
            aim_line(
                f"model / bare Mesa per agent-step, x{scale}, {variant}",
                f"{r['ratio_vs_bare']:.2f}x",
                f"<= {BARE_AIM:.1f}x",
                verdict(r["ratio_vs_bare"], BARE_AIM, at_most=True),
            )
    scales = sorted({s for s, _ in step})
    for scale in scales[1:]:
        for variant in ("events", "no_events"):
            r = step[(scale, variant)]
            aim = SCALE_AIM * scale / scales[0]
            aim_line(
                f"per-run cost x{scale} / x{scales[0]}, {variant}",
                f"{r['ratio_vs_x1']:.1f}x",
                f"<= {aim:.0f}x",
                verdict(r["ratio_vs_x1"], aim, at_most=True),
            )
    for (scale, variant), r in step.items():
        if variant.startswith("batch"):
            alone = step[(scale, "alone" + variant[5:])]
            print(
                f"  {'stepping, runs alone / in a ' + variant + ', same seeds, x' + str(scale):<48} "
                f"{alone['median_s'] / r['median_s']:>9.2f}x"
            )
    for scale in scales:
        ratio = step[(scale, "numpy")]["median_s"] / step[(scale, "no_events")]["median_s"]
        print(f"  {'stepping, numpy path / kernels, x' + str(scale):<48} {ratio:>9.2f}x")
    for scale in scales:
        ratio = step[(scale, "events")]["median_s"] / step[(scale, "no_events")]["median_s"]
        aim_line(
            f"event log on / off, stepping, x{scale}",
            f"{ratio:.2f}x",
            f"<= {EVENTS_AIM:.1f}x",
            verdict(ratio, EVENTS_AIM, at_most=True),
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options of the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="60 days, few repeats (~15 s)")
    p.add_argument("--days", type=int, default=None, help="horizon in days (scenario's)")
    p.add_argument("--repeats", type=int, default=None, help="timed runs at x1 (15)")
    p.add_argument("--scale-repeats", type=int, default=None, help="timed runs per scale (3)")
    p.add_argument("--warmup", type=int, default=None, help="untimed runs first (2)")
    p.add_argument("--scales", default="1,10,100", help="force multipliers, comma-separated")
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario file")
    p.add_argument("--only", default="run,step,compile", help="subset of run,step,compile")
    p.add_argument("--out", type=Path, default=RESULTS, help="CSV directory")
    p.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    p.add_argument("--wall", action="store_true", help="wall-clock times, not CPU time")
    args = p.parse_args(argv)
    quick = args.quick
    args.days = args.days or (60 if quick else None)
    args.repeats = args.repeats or (3 if quick else 15)
    args.scale_repeats = args.scale_repeats or (1 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    try:
        args.scales = [int(x) for x in args.scales.split(",") if x.strip()]
    except ValueError:
        p.error(f"--scales: expected whole numbers separated by commas, got {args.scales!r}")
    if not args.scales or min(args.scales) < 1:
        p.error("--scales: expected at least one multiplier, each >= 1")
    args.only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = args.only - {"run", "step", "compile"}
    if unknown:
        p.error(
            f"--only: unknown benchmark(s) {', '.join(sorted(unknown))}; "
            "expected run, step, compile"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks chosen, print the table and the aims, write the CSV."""
    args = parse_args(argv)
    pinned = "not pinned" if args.no_pin else pin_to_one_core()
    if args.wall:
        use_wall_clock()
    start = started()
    base = {**base_row(start), "clock": "wall" if args.wall else "cpu"}
    sc = load_scenario(args.scenario)
    if args.days:
        sc = with_overrides(sc, [f"horizon_days={args.days}"])
    print(
        f"bench_model: {sc.name!r}, {sum(g.count for g in sc.forces.values())} units deployed "
        f"({model_size(sc)[1]} with the reserves), {len(sc.actors)} actors, {sc.n_steps} steps; "
        f"{base['machine']}; {pinned}",
        flush=True,
    )
    rows: list[dict] = []
    if "run" in args.only:
        rows += bench_run(sc, args, base)
    if "step" in args.only:
        rows += bench_step(sc, args, base)
    if "compile" in args.only:
        rows += bench_compile(args.scenario, base)
    path = write_csv(args.out, "bench_model", start, FIELDS, rows)
    print()
    print_table(rows)
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
