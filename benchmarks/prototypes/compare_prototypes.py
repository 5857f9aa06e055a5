"""Measure the fast-core prototypes against the current model in one run, and check they agree.

Variants, each a whole run of the current model with one part swapped (nothing in
``src/`` is edited; the swaps last for this process only):

* ``current``: the model as it is;
* ``b_record``: (b) per-step recording into preallocated arrays (``record_arrays.py``).

Every variant runs the same seeds; its time series and event log must equal the
current model's exactly (``pandas`` frames compared with ``check_exact``), or the
script says which differ and exits 1. A prototype that no longer fits the model
(its columns changed) is left out with a note. Per variant: median ms per run
(stepping, in the process's CPU time; the model built outside the clock) and ms
per step in each swapped phase (wall clock around the phase, as in
``profile_model.py``).

The numba kernels of Russian fire and engagement planning (design (a)) and the
batched fire of many runs per array pass (design (c)) were prototypes of the
model before the battlefield was rebuilt; they no longer matched its phases and
were removed when the battlefield's hot path was restructured (their figures, as
measured then, are in ``benchmarks/README.md``; the files are in the project's
history up to commit 3e83a3b).

Usage::

    .venv/bin/python benchmarks/prototypes/compare_prototypes.py [--runs 10] [--days 180]
        [--scale 1] [--no-events] [--quick] [--out benchmarks/results]

Options:
    --runs N: runs per variant (default 10; --quick: 3), seeds 0..N-1.
    --days N: horizon (default: the scenario's; --quick: 60).
    --scale K: multiply every force group's count by K.
    --no-events: event log off.
    --out DIR: CSV directory.

Output: ``<out>/prototypes_<UTC timestamp>.csv``, one row per (variant, phase):

    timestamp, python, mesa, numpy, machine   as in every benchmark here
    scale, events, steps, runs   what was run
    variant             current, b_record
    phase               ``run`` (stepping, ms per run) or a phase label (ms per step)
    ms                  median ms per run (``run``), or mean ms per step (a phase)
    speedup             the current model's figure over this one
    identical           the variant's time series and event log equal the current model's
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import pandas as pd  # noqa: E402
from bench_model import scaled  # noqa: E402
from benchlib import (  # noqa: E402
    BASE_FIELDS,
    DEFAULT_SCENARIO,
    RESULTS,
    base_row,
    now,
    pin_to_one_core,
    started,
    write_csv,
)
from profile_model import Tally, phases_wrapped, timed_phase  # noqa: E402
from record_arrays import ArrayRecorder  # noqa: E402

from escalation_sim import EscalationModel, load_scenario, with_overrides  # noqa: E402

PHASES = ("Russian fire", "engagement planning", "per-step recording", "step")
FIELDS = [
    *BASE_FIELDS,
    "scale",
    "events",
    "steps",
    "runs",
    "variant",
    "phase",
    "ms",
    "speedup",
    "identical",
]


def build(sc: object, seed: int, events: bool, record: bool, tally: Tally) -> EscalationModel:
    """The current model, with the recorder swapped if asked."""
    model = EscalationModel(sc, seed=seed, record_events=events)
    if record:
        ArrayRecorder.attach(model)
        # The recorder is the instance's own method: time it where the model calls it.
        model._record = timed_phase("per-step recording", model._record, tally)
    return model


Outputs = list[tuple[pd.DataFrame, list[dict]]]


VARIANTS: dict[str, dict[str, bool]] = {
    "current": {},
    "b_record": {"record": True},
}


@contextmanager
def variant(flags: dict[str, bool], tally: Tally) -> Iterator[None]:
    """The phases of one variant timed into ``tally``, for the duration."""
    with phases_wrapped(tally):
        yield


def run_variants(
    sc: object, runs: int, events: bool
) -> dict[str, tuple[list[float], Tally, Outputs]]:
    """Stepping times, phase tallies and outputs of every variant on seeds 0..runs-1.

    The variants take turns run by run (not variant after variant), so that a
    change in the machine's other load touches them all alike.
    """
    found = {name: ([], Tally(), []) for name in VARIANTS}
    for flags in VARIANTS.values():  # compile and warm up, not counted
        with variant(flags, Tally()):
            build(sc, 10**6, events, flags.get("record", False), Tally()).run()
    for seed in range(runs):
        for name, flags in VARIANTS.items():
            times, tally, outputs = found[name]
            with variant(flags, tally):
                model = build(sc, seed, events, flags.get("record", False), tally)
                gc.collect()
                t0 = now()
                model.run()
                times.append(now() - t0)
            outputs.append((model.timeseries(), model.events.records()))
    return found


def same(a: Outputs, b: Outputs) -> bool:
    """Whether two variants' time series and event logs are equal, value for value."""
    try:
        for (ts_a, ev_a), (ts_b, ev_b) in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(ts_a, ts_b, check_exact=True)
            assert ev_a == ev_b, "event logs differ"
    except AssertionError as exc:
        print(f"    differs: {str(exc).splitlines()[0]}")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run every variant, check it against the current model, print and write the figures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--days", type=int, default=None)
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--no-events", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    runs = args.runs or (3 if args.quick else 10)
    days = args.days or (60 if args.quick else None)
    pinned = pin_to_one_core()
    start = started()
    base = base_row(start)
    sc = scaled(load_scenario(DEFAULT_SCENARIO), args.scale)
    if days:
        sc = with_overrides(sc, [f"horizon_days={days}"])
    events = not args.no_events
    steps = sc.n_steps
    print(
        f"prototypes: {sc.name!r} x{args.scale}, {steps} steps, {runs} runs per variant, "
        f"event log {'on' if events else 'off'}; {pinned}"
    )
    try:  # the recorder mirrors the model's columns; has the model added some since?
        probe = build(sc, 0, events, True, Tally())
        probe.run_for(1)
    except ValueError:
        print("  note: the model's columns changed; b_record left out")
        VARIANTS.pop("b_record")
    found = run_variants(sc, runs, events)

    rows = []
    ref_times, ref_tally, ref_out = found["current"]
    ref = {"run": statistics.median(ref_times) * 1e3}
    ref |= {ph: ref_tally.seconds.get(ph, 0.0) / (runs * steps) * 1e3 for ph in PHASES}
    for name, (times, tally, out) in found.items():
        identical = same(ref_out, out) if name != "current" else True
        figures = {"run": statistics.median(times) * 1e3}
        figures |= {ph: tally.seconds.get(ph, 0.0) / (runs * steps) * 1e3 for ph in PHASES}
        for phase, ms in figures.items():
            rows.append(
                {
                    **base,
                    "scale": args.scale,
                    "events": events,
                    "steps": steps,
                    "runs": runs,
                    "variant": name,
                    "phase": phase,
                    "ms": ms,
                    "speedup": ref[phase] / ms if ms else float("nan"),
                    "identical": identical,
                }
            )
    print(
        f"\n{'variant':<9} {'ms/run':>8} {'x':>6}  "
        + "  ".join(f"{ph[:18]:>18}" for ph in PHASES[:-1])
        + "  identical"
    )
    for name in found:
        r = {row["phase"]: row for row in rows if row["variant"] == name}
        cells = "  ".join(f"{r[ph]['ms']:>9.3f} ({r[ph]['speedup']:>4.1f}x)" for ph in PHASES[:-1])
        print(
            f"{name:<9} {r['run']['ms']:>8.1f} {r['run']['speedup']:>5.2f}x  {cells}  "
            f"{r['run']['identical']}"
        )
    print("(phase figures: ms per step, and the current model's over this variant's)")
    path = write_csv(args.out, "prototypes", start, FIELDS, rows)
    print(f"\nwritten: {path}")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
