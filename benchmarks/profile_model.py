"""Where a step's time goes: per phase of the schedule, milliseconds and Python-level calls.

Three passes over the same runs (seeds 0, 1, ...), each measuring one thing:

* **time**: every phase of the step (the model's own methods, wrapped for the
  duration of this script, nothing edited) timed with ``time.perf_counter``
  (``--cpu``: the thread's CPU time, ``time.thread_time``, steadier on a machine
  shared with other work, at ~1-2 µs a reading), no profiler attached, so the
  figures are the model's real cost;
* **calls**: the same runs under a ``sys.setprofile`` hook that counts every
  Python-level call (``call`` events: Python functions) and every call of a
  built-in or C function (``c_call``: numpy functions and methods, ``len``,
  ``dict.get`` ...), attributed to the phase running. Array arithmetic written
  as operators (``a * b``) is not a call and is not counted;
* **cProfile**: the standard deterministic profiler over the same runs, for
  the functions that take the most time of their own (``tottime``). It inflates
  small calls, so shares are read from the first pass;
* **kind of work**: the step's time split three ways, the same runs again: inside
  the compiled kernels (every numba dispatcher of ``model.kernels`` wrapped),
  inside the random draws (every method call on the model's streams), and the
  rest, the Python around them. The first two are the real work a faster
  design must still do (or do less of); the rest is what batching or fusing
  phases can remove. Each wrapped call's own overhead, measured in the same
  run, is taken off its time. Without numba (``ESCALATION_SIM_NO_NUMBA=1``) the
  kernels' share is zero and the numpy code counts as the rest.

Phases are nested where the schedule nests them ("engagement planning" runs
inside "Ukrainian strikes"); a phase's figures include its children's, and
each child's share is of the whole step. A phase the model does not have (the
model is being rebuilt) is left out with a note.

Usage::

    .venv/bin/python benchmarks/profile_model.py [--runs 5] [--days 180] [--no-events]
        [--scale 1] [--scenario PATH] [--top 20] [--out benchmarks/results] [--quick]

To compare two versions of the code on the same machine, run this script from
one checkout with the other's sources first on the path, alternating the two::

    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/profile_model.py

Options:
    --runs N: runs per pass (default 5; --quick: 2).
    --days N: horizon (default: the scenario's; --quick: 60).
    --no-events: switch the event log off (ensembles run that way).
    --scale K: multiply every force group's count by K.
    --scenario PATH: scenario file (default: the May-30 scenario).
    --top N: functions listed from cProfile (default 20).
    --out DIR: where the CSV goes (default ``benchmarks/results/``).
    --cpu: time phases in CPU time, not wall-clock time.
    --fixed: run the kind-of-work pass at the scale and at 10x it, and split each
        kind into a part per step that does not depend on the forces (what a batch
        of runs would share out) and a part per x1 of forces (a straight line
        through the two points).

Output: ``<out>/profile_model_<UTC timestamp>.csv``, one row per phase:

    timestamp, python .. pyarrow, kernels, machine   as in every benchmark here
    scale, events, steps, runs                what was profiled
    phase                 the phase's label ("step" is the whole step)
    parent                the phase it runs inside ("" for a step's own phases)
    ms_per_step           wall-clock milliseconds per step, no profiler attached
    share_of_step         ms_per_step over the whole step's
    calls_per_step        Python-level and built-in calls per step (see above)
    ms_per_run            milliseconds per run: of a phase, its ms_per_step x steps; of
                          the work outside the steps (``parent`` "per run, outside the
                          steps": model build, the time series table, the summary, the
                          metadata, an ensemble's reduction of the run), the fastest of
                          the runs on the benchmarks' clock (CPU time), no profiler;
                          of the kinds of work (``parent`` "step, by kind of work":
                          compiled kernels, random draws, the Python around them),
                          its ms_per_step x steps
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import pkgutil
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import benchlib
from bench_model import BareModel, model_size, scaled
from benchlib import BASE_FIELDS, DEFAULT_SCENARIO, RESULTS, base_row, started, write_csv

import escalation_sim.model.kernels as kernels_package
import escalation_sim.model.model as model_module
from escalation_sim import EscalationModel, load_scenario, with_overrides
from escalation_sim.model.airdefence import AirDefence
from escalation_sim.model.decisions.layer import DecisionLayer
from escalation_sim.model.forces import ForceLayer
from escalation_sim.model.rules import RuleEngine

#: (label, parent label, owner, attribute): the phases of a step, in schedule order.
#: ``owner`` is a class (its method is wrapped) or a module (its function is: model.py
#: imports ``plan_strikes`` by name, so that name is the one wrapped).
PHASES: list[tuple[str, str, object, str]] = [
    ("run (Mesa time control and every step)", "", EscalationModel, "run"),
    ("step", "run (Mesa time control and every step)", EscalationModel, "step"),
    ("actors' pressure decay", "step", model_module, "decay_actors"),
    ("scheduled rule changes", "step", EscalationModel, "_apply_schedule"),
    ("Russian fire", "step", EscalationModel, "_russian_fire"),
    ("movement: pull-back", "step", ForceLayer, "pull_back"),
    ("detection", "step", ForceLayer, "detect"),
    ("Ukrainian strikes", "step", EscalationModel, "_ukrainian_strikes"),
    ("engagement planning", "Ukrainian strikes", model_module, "plan_strikes"),
    ("rule verdicts (batch engine)", "engagement planning", RuleEngine, "decide"),
    ("strike resolution", "Ukrainian strikes", ForceLayer, "strike"),
    (
        "Russia's and the others' perception of the step",
        "Ukrainian strikes",
        DecisionLayer,
        "perceive",
    ),
    ("movement: shoot-and-scoot, displacement", "step", ForceLayer, "relocate"),
    ("escalation decisions", "step", DecisionLayer, "decide"),
    ("policy responses", "step", EscalationModel, "_policy_responses"),
    ("resupply and recovery", "step", EscalationModel, "_resupply_and_recover"),
    ("per-step recording", "step", EscalationModel, "_record"),
    ("sensor coverage (all phases)", "step", ForceLayer, "_coverage"),
    ("air-defence coverage (all phases)", "step", AirDefence, "_log_miss_per_cell"),
    ("air-defence coverage at cells (compiled)", "step", AirDefence, "_log_miss_at"),
]
#: The clock of the phase timers (``--cpu`` swaps in the thread's CPU time).
CLOCK: list[Callable[[], float]] = [time.perf_counter]
FIELDS = [
    *BASE_FIELDS,
    "scale",
    "events",
    "steps",
    "runs",
    "phase",
    "parent",
    "ms_per_step",
    "share_of_step",
    "calls_per_step",
    "ms_per_run",
]

#: The work of a run outside its steps, timed on the benchmarks' clock (CPU time by default).
RUN_PARTS = (
    "model build (scenario to model)",
    "time series table (timeseries())",
    "summary (results.summarize)",
    "metadata (results.run_metadata)",
    "ensemble reduction (series, outcomes, step series)",
)


@dataclass
class Tally:
    """Time and calls per phase, with the phase currently running."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    running: list[str] = field(default_factory=list)
    total_calls: int = 0


def timed_phase(label: str, fn: Callable, tally: Tally) -> Callable:
    """``fn`` wrapped to add its time and the calls made inside it to ``tally`` under ``label``."""

    @functools.wraps(fn)
    def timed(*args: object, **kwargs: object) -> object:
        # Only the outermost entry of a phase counts (coverage runs inside several phases).
        outer = label not in tally.running
        tally.running.append(label)
        calls0, t0 = tally.total_calls, CLOCK[0]()
        try:
            return fn(*args, **kwargs)
        finally:
            tally.running.pop()
            if outer:
                tally.seconds[label] = tally.seconds.get(label, 0.0) + CLOCK[0]() - t0
                tally.calls[label] = tally.calls.get(label, 0) + tally.total_calls - calls0

    return timed


@contextmanager
def phases_wrapped(tally: Tally) -> Iterator[list[str]]:
    """Wrap every phase the model has for the duration; yield the labels of missing ones."""
    saved, missing = [], []
    for label, _, owner, attr in PHASES:
        original = (
            owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        )
        if original is None:
            missing.append(label)
            continue
        saved.append((owner, attr, original))
        setattr(owner, attr, timed_phase(label, original, tally))
    try:
        yield missing
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


def run_all(sc: object, runs: int, events: bool) -> None:
    """Build and run ``runs`` models on seeds 0, 1, ..."""
    for seed in range(runs):
        EscalationModel(sc, seed=seed, record_events=events).run()


def profile(sc: object, runs: int, events: bool, top: int) -> tuple[Tally, Tally, str, list[str]]:
    """The three passes: phase times, phase call counts, and cProfile's top functions."""
    run_all(sc, 1, events)  # warm caches and imports
    timing = Tally()
    with phases_wrapped(timing) as missing:
        run_all(sc, runs, events)

    counting = Tally()

    def count(_frame: object, event: str, _arg: object) -> None:
        if event in ("call", "c_call"):
            counting.total_calls += 1

    with phases_wrapped(counting):
        sys.setprofile(count)
        try:
            run_all(sc, runs, events)
        finally:
            sys.setprofile(None)

    prof = cProfile.Profile()
    prof.enable()
    run_all(sc, runs, events)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    text = buf.getvalue()
    text = text[text.index("ncalls") :] if "ncalls" in text else text
    return timing, counting, text, missing


#: The kinds of work a step's time is split into (the fourth pass).
WORK_KINDS = ("compiled kernels", "random draws", "Python around them")


class _Probe:
    """Time and calls of the wrapped kernels and draws, with each wrapper's cost to take off."""

    def __init__(self) -> None:
        self.seconds = {"compiled kernels": 0.0, "random draws": 0.0}
        self.calls = {"compiled kernels": 0, "random draws": 0}

    def wrap(self, kind: str, fn: Callable) -> Callable:
        """``fn`` timed under ``kind``."""
        seconds, calls, clock = self.seconds, self.calls, CLOCK[0]

        def probed(*args: object, **kwargs: object) -> object:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[kind] += clock() - t0
                calls[kind] += 1

        return probed


class _ProbedStream:
    """A model stream whose every method call is timed as a random draw."""

    def __init__(self, stream: object, probe: _Probe) -> None:
        self._stream, self._probe = stream, probe

    def __getattr__(self, name: str) -> object:
        # Called once per name: the probed method is then an attribute, so a draw
        # costs what the measured wrapper costs, no more.
        attr = getattr(self._stream, name)
        if callable(attr):
            attr = self._probe.wrap("random draws", attr)
            setattr(self, name, attr)
        return attr


class _ProbedGenerator(_ProbedStream):
    """The model's generator: the streams it spawns are probed."""

    def spawn(self, n: int) -> list[_ProbedStream]:
        return [_ProbedStream(g, self._probe) for g in self._stream.spawn(n)]


def _probed_model_class(probe: _Probe) -> type:
    """EscalationModel whose generator (set by Mesa) spawns probed streams."""

    class Probed(EscalationModel):
        @property
        def rng(self) -> object:
            return self._probed_rng

        @rng.setter
        def rng(self, value: object) -> None:
            self._probed_rng = _ProbedGenerator(value, probe)

    return Probed


@contextmanager
def kernels_wrapped(probe: _Probe) -> Iterator[int]:
    """Every numba dispatcher in ``model.kernels`` timed for the duration; yields how many."""
    saved = []
    for info in pkgutil.iter_modules(kernels_package.__path__):
        mod = importlib.import_module(f"{kernels_package.__name__}.{info.name}")
        for name, fn in vars(mod).items():
            # numba's compiled functions, each where it is defined (kernel modules import
            # each other's kernels to call them from compiled code, not from Python).
            if type(fn).__name__ == "CPUDispatcher" and fn.py_func.__module__ == mod.__name__:
                saved.append((mod, name, fn))
                setattr(mod, name, probe.wrap("compiled kernels", fn))
    try:
        yield len(saved)
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)


def _wrapper_cost(repeats: int = 20_000) -> tuple[float, float]:
    """Seconds a probed call adds inside its timed window, and outside it (fastest of 5 rounds).

    Inside: the clock reading and the call through the wrapper, counted in the
    kernel's or draw's time; outside: the rest of the wrapper, counted in the
    step's time. Both are taken off where they fell.
    """
    noop = lambda: None  # noqa: E731 - the cheapest call there is
    inside = outside = float("inf")
    for _ in range(5):
        probe = _Probe()
        probed = probe.wrap("random draws", noop)
        t0 = CLOCK[0]()
        for _ in range(repeats):
            noop()
        t1 = CLOCK[0]()
        for _ in range(repeats):
            probed()
        t2 = CLOCK[0]()
        bare = (t1 - t0) / repeats
        within = probe.seconds["random draws"] / repeats - bare
        inside = min(inside, max(within, 0.0))
        outside = min(outside, max((t2 - t1) / repeats - bare - within, 0.0))
    return inside, outside


def work_kinds(sc: object, runs: int, events: bool) -> dict[str, float]:
    """Seconds of the runs' steps (Mesa's time control included) in each of :data:`WORK_KINDS`.

    Kernels called inside other kernels are compiled calls and not wrapped, so
    nothing is counted twice. The model build is left out: only what the
    probes saw while the steps ran is counted.
    """
    # A kernel compiled while probed would find a Python wrapper where it calls another
    # kernel: one run first, unprobed, has every kernel these runs call compiled or loaded.
    EscalationModel(sc, seed=0, record_events=events).run()
    probe = _Probe()
    model_class = _probed_model_class(probe)
    run_seconds = 0.0
    seen = dict.fromkeys(probe.seconds, 0.0)
    calls = dict.fromkeys(probe.calls, 0)
    with kernels_wrapped(probe):
        for seed in range(runs):
            model = model_class(sc, seed=seed, record_events=events)
            before = dict(probe.seconds), dict(probe.calls)
            t0 = CLOCK[0]()
            model.run()
            run_seconds += CLOCK[0]() - t0
            for kind in seen:
                seen[kind] += probe.seconds[kind] - before[0][kind]
                calls[kind] += probe.calls[kind] - before[1][kind]
    inside, outside = _wrapper_cost()
    kernels = seen["compiled kernels"] - inside * calls["compiled kernels"]
    draws = seen["random draws"] - inside * calls["random draws"]
    rest = run_seconds - sum(seen.values()) - outside * sum(calls.values())
    return dict(zip(WORK_KINDS, (kernels, draws, rest), strict=True))


def per_run_costs(sc: object, runs: int, events: bool) -> dict[str, float]:
    """Milliseconds per run of each of :data:`RUN_PARTS` (the fastest of ``runs`` runs).

    The fastest, not the mean: these are a few milliseconds each, and on a shared
    machine a single preemption would dominate a mean.
    """
    from escalation_sim.experiment.outcomes import run_outcomes, series_names, step_series
    from escalation_sim.results import run_metadata, summarize

    ladders = {aid: len(sc.ladder_for(aid).rungs) for aid in sc.actors}
    best = dict.fromkeys(RUN_PARTS, float("inf"))

    def timed(part: str, fn: Callable[..., object], *args: object, **kwargs: object) -> object:
        t0 = benchlib.now()
        out = fn(*args, **kwargs)
        best[part] = min(best[part], (benchlib.now() - t0) * 1e3)
        return out

    def reduce(m: EscalationModel) -> None:
        # What the ensemble runner does per run; a tree before ``series()`` reduced a frame.
        cols = m.series() if hasattr(m, "series") else m.timeseries()
        run_outcomes(cols, ladders, m.nato_conflict_day, m.nuclear_use_day)
        step_series(cols, series_names(list(cols), list(sc.actors)))

    for seed in range(runs):
        model = timed(RUN_PARTS[0], EscalationModel, sc, seed=seed, record_events=events)
        model.run()
        ts = timed(RUN_PARTS[1], model.timeseries)
        records = model.events.records() if events else []
        timed(RUN_PARTS[2], summarize, ts, records, sc, seed, None, None)
        timed(RUN_PARTS[3], run_metadata, sc, seed)
        timed(RUN_PARTS[4], reduce, model)
    return best


def bare_mesa_seconds(sc: object, runs: int) -> float:
    """Seconds of ``runs`` runs of a bare Mesa model with this scenario's agents and steps."""
    agents, _ = model_size(sc)
    total = 0.0
    for seed in range(runs):
        model = BareModel(agents, sc.n_steps, seed)
        t0 = CLOCK[0]()
        model.run()
        total += CLOCK[0]() - t0
    return total


def fixed_split(
    sc: object,
    args: argparse.Namespace,
    kinds: dict[str, float],
    row: Callable[..., dict],
    steps: int,
) -> list[dict]:
    """Print and return each kind of work's fixed part per step and its part per x1 of forces.

    A bare Mesa model with the same agents and steps is measured at both scales
    in the same run, so the parts can be set against Mesa's own cost: the fixed
    part is what running many replications at once shares out; the part per
    x1 is what it cannot. ``row(phase, parent, **figures)`` makes a CSV row.
    """
    big = scaled(sc, 10)  # every force group's count x10 over the scale already applied
    kinds10 = work_kinds(big, args.runs, not args.no_events)
    steps10 = big.n_steps * args.runs
    low_all = {**kinds, "bare Mesa (same agents)": bare_mesa_seconds(sc, args.runs)}
    high_all = {**kinds10, "bare Mesa (same agents)": bare_mesa_seconds(big, args.runs)}
    print(
        f"\nEach kind, fixed per step and per x1 of forces (the pass again at x{10 * args.scale}; "
        "a line through the two), ms/step:"
    )
    lo, hi = f"x{args.scale}", f"x{10 * args.scale}"
    print(f"  {'':<30} {lo:>9} {hi:>9} {'fixed':>9} {'per x1':>9}")
    rows, parts = [], {}
    for kind, seconds in low_all.items():
        low, high = 1e3 * seconds / steps, 1e3 * high_all[kind] / steps10
        slope = (high - low) / (9 * args.scale)
        fixed = low - slope * args.scale
        parts[kind] = (fixed, slope)
        print(f"  {kind:<30} {low:>9.3f} {high:>9.3f} {fixed:>9.3f} {slope:>9.4f}")
        for part, value in ((f"{kind}: fixed per step", fixed), (f"{kind}: per x1", slope)):
            rows.append(row(part, "step, by kind of work", ms_per_step=value))
    ours = sum(parts[k][1] for k in WORK_KINDS)
    bare = parts["bare Mesa (same agents)"][1]
    print(
        f"  the model's part per x1 over bare Mesa's: {ours / bare:.2f}x (what a batch that "
        "shared out every fixed cost would leave)"
        if bare > 0
        else ""
    )
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options of the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=None, help="runs per pass (5)")
    p.add_argument("--days", type=int, default=None, help="horizon in days (scenario's)")
    p.add_argument("--no-events", action="store_true", help="event log off")
    p.add_argument("--scale", type=int, default=1, help="force multiplier")
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario file")
    p.add_argument("--top", type=int, default=20, help="cProfile functions listed")
    p.add_argument("--out", type=Path, default=RESULTS, help="CSV directory")
    p.add_argument("--quick", action="store_true", help="2 runs of 60 days")
    p.add_argument("--cpu", action="store_true", help="phase times in CPU time")
    p.add_argument(
        "--fixed",
        action="store_true",
        help="split each kind of work into a fixed part per step and a part that grows "
        "with the forces (the kind-of-work pass again at 10x the scale)",
    )
    args = p.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.days = args.days or (60 if args.quick else None)
    return args


def main(argv: list[str] | None = None) -> int:
    """Profile, print the phase table and cProfile's top functions, write the CSV."""
    args = parse_args(argv)
    if args.cpu:
        CLOCK[0] = time.thread_time
    start = started()
    base = base_row(start)
    sc = load_scenario(args.scenario)
    if args.days:  # the horizon first: scaling keeps it
        sc = with_overrides(sc, [f"horizon_days={args.days}"])
    sc = scaled(sc, args.scale)
    events = not args.no_events
    timing, counting, top, missing = profile(sc, args.runs, events, args.top)
    steps = sc.n_steps * args.runs
    step_s = timing.seconds["step"]

    def row(phase: str, parent: str, **figures: float) -> dict:
        """A CSV row: what was profiled, the phase and its figures."""
        what = {"scale": args.scale, "events": events, "steps": sc.n_steps, "runs": args.runs}
        return {**base, **what, "phase": phase, "parent": parent, **figures}

    rows = []
    for label, parent, _, _ in PHASES:
        if label in missing:
            continue
        rows.append(
            row(
                label,
                parent,
                ms_per_step=timing.seconds.get(label, 0.0) / steps * 1e3,
                share_of_step=timing.seconds.get(label, 0.0) / step_s,
                calls_per_step=counting.calls.get(label, 0) / steps,
                ms_per_run=timing.seconds.get(label, 0.0) / args.runs * 1e3,
            )
        )
    run_parts = per_run_costs(sc, args.runs, events)
    for part, ms in run_parts.items():
        rows.append(row(part, "per run, outside the steps", ms_per_run=ms))
    kinds = work_kinds(sc, args.runs, events)
    run_s = sum(kinds.values())
    for kind, seconds in kinds.items():
        rows.append(
            row(
                kind,
                "step, by kind of work",
                ms_per_step=seconds / steps * 1e3,
                share_of_step=seconds / run_s,
                ms_per_run=seconds / args.runs * 1e3,
            )
        )
    depth = {"": -1}  # indentation of each phase under its parent
    for label, parent, _, _ in PHASES:
        depth[label] = depth.get(parent, 0) + 1
    print(
        f"profile_model: {sc.name!r} x{args.scale}, {sc.n_steps} steps x {args.runs} runs, "
        f"event log {'on' if events else 'off'}; {base['machine']}"
    )
    clock = "thread CPU time" if args.cpu else "perf_counter"
    print(f"Phase times: {clock}, no profiler; calls: sys.setprofile (call + c_call)\n")
    print(f"{'phase':<50} {'ms/step':>8} {'share':>7} {'calls/step':>11}")
    for r in rows:
        if r["phase"] in run_parts or r["phase"] in kinds:
            continue
        name = "  " * depth[r["phase"]] + r["phase"]
        print(
            f"{name:<50} {r['ms_per_step']:>8.3f} {r['share_of_step']:>7.1%} "
            f"{r['calls_per_step']:>11.1f}"
        )
    by_phase = {r["phase"]: r for r in rows}
    inside = sum(
        r["ms_per_step"] for r in rows if r["parent"] == "step" and "all phases" not in r["phase"]
    )
    print(
        f"{'    (step, outside the phases above)':<50} {by_phase['step']['ms_per_step'] - inside:>8.3f}"
    )
    print(
        f"\nPer run, outside the steps ({benchlib.clock.__name__}, fastest of {args.runs}; "
        f"the steps: {by_phase['run (Mesa time control and every step)']['ms_per_run']:.1f} ms):"
    )
    for part, ms in run_parts.items():
        print(f"  {part:<56} {ms:>8.2f} ms")
    print(
        f"\nThe steps by kind of work (the runs again, probes on; {1e3 * run_s / steps:.3f} "
        "ms/step with Mesa's time control, each probe's own cost taken off):"
    )
    for kind, seconds in kinds.items():
        print(f"  {kind:<56} {1e3 * seconds / steps:>8.3f} ms/step {seconds / run_s:>7.1%}")
    if args.fixed:
        rows += fixed_split(sc, args, kinds, row, steps)
    if missing:
        print(f"\nnot in this model (left out): {', '.join(missing)}")
    print(f"\ncProfile, the {args.top} functions with the most time of their own:\n")
    print(top)
    path = write_csv(args.out, "profile_model", start, FIELDS, rows)
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
