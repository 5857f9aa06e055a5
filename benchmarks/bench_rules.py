"""Benchmark the rule engine: verdicts per second, batch and scalar.

Builds the :class:`~escalation_sim.model.rules.RuleEngine` for a scenario's active
rule sets (the May-30 set by default), draws ``--n`` realistic proposed
strikes with a seeded ``numpy.random.Generator`` (border counter-fire mostly,
some deep strikes, some on Ukrainian territory), and times

* ``decide``: ``RuleEngine.decide`` on pre-built ``StrikeBatch`` slices of
  batch size 1, 100 and 10,000 (conversion into arrays is not timed: the
  model hands the engine arrays);
* ``authorize``: the scalar reference ``authorize()``, one strike per call.

``decide`` runs on the compiled kernel when numba is available; set
``ESCALATION_SIM_NO_NUMBA=1`` to time its numpy reference path instead (the
``path`` column then reads ``decide-numpy``).

Each figure is the best of ``--repeat`` timings. The process is pinned to one
core. The aim is 200,000 verdicts/s; the printed ratio is verdicts/s / aim.

Usage::

    .venv/bin/python benchmarks/bench_rules.py [--n 100000] [--repeat 5]
        [--max-calls 20000] [--seed 0] [--scenario PATH] [--out benchmarks/results]

Options:
    --n: strikes drawn (at least the largest batch size, 10,000).
    --repeat: timings per measurement; the best is kept.
    --max-calls: cap on calls per timing (``decide`` calls at batch size 1, and
        ``authorize`` calls), so the slow paths finish in seconds.
    --seed: seed of the strike generator.
    --scenario: scenario file whose active rules are benchmarked.
    --out: directory for the CSV (``benchmarks/results/``, git-ignored).

Output: ``<out>/bench_rules_<UTC timestamp>.csv``, one row per measurement:

    timestamp       UTC start of the run, ISO 8601 (same on every row)
    python          Python version
    machine         architecture and CPU model
    path            ``decide`` (batch engine, compiled), ``decide-numpy`` (batch engine,
                    numpy path) or ``authorize`` (scalar reference)
    batch_size      strikes per call (1 for ``authorize``)
    verdicts        verdicts in one timing
    seconds         best time of one timing, in the process's CPU time (``benchlib.clock``)
    verdicts_per_s  verdicts / seconds
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from benchlib import machine, pin_to_one_core, timings

from escalation_sim import Scenario, load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.rules import ProposedStrike, RuleEngine, StrikeBatch, authorize

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIO = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
AIM = 200_000.0
BATCH_SIZES = (1, 100, 10_000)
FIELDS = [
    "timestamp",
    "python",
    "machine",
    "path",
    "batch_size",
    "verdicts",
    "seconds",
    "verdicts_per_s",
]
# Where Ukraine's proposed strikes land (assumption): mostly the border area opposite Kharkiv.
ZONE_SHARE = {
    "belgorod_border": 0.40,
    "kursk_border": 0.12,
    "voronezh_border": 0.04,
    "deep_russia": 0.16,
    "kharkiv_oblast": 0.18,
    "sumy_oblast": 0.05,
    "occupied_east": 0.05,
}
# What they aim at (assumption): the Russian target classes of the scenario.
CLASS_SHARE = {
    "artillery": 0.35,
    "missile_launcher": 0.10,
    "command_post": 0.15,
    "airbase": 0.08,
    "air_defence": 0.12,
    "logistics": 0.15,
    "energy": 0.05,
}
LAUNCH_DEPTH_KM = -20.0  # launchers sit ~20 km behind the border (assumption)


def active_rules(sc: Scenario) -> dict:
    """Each supplier's rules in the posture in force at the start."""
    return {s: list(p.postures[p.posture].rules) for s, p in sc.rules.items()}


def draw_strikes(
    sc: Scenario, engine: RuleEngine, n: int, rng: np.random.Generator
) -> tuple[StrikeBatch, list[ProposedStrike]]:
    """``n`` realistic strikes, as engine arrays and as ``ProposedStrike`` objects."""
    weapons = [w for w, spec in sc.weapons.items() if spec.supplier != "RUS"]
    zones = [z for z in ZONE_SHARE if z in sc.theater.zones]
    classes = [c for c in CLASS_SHARE if c in sc.target_classes]
    zp = np.array([ZONE_SHARE[z] for z in zones])
    cp = np.array([CLASS_SHARE[c] for c in classes])

    w = rng.integers(len(weapons), size=n)
    z = rng.choice(len(zones), size=n, p=zp / zp.sum())
    c = rng.choice(len(classes), size=n, p=cp / cp.sum())
    reach = np.array([sc.weapons[x].range_km for x in weapons])[w] + LAUNCH_DEPTH_KM
    # A zone is a polygon or a rectangle: its depth extent is what bounds() gives.
    lo = np.array([sc.theater.zones[x].bounds()[2] for x in zones])[z]
    hi = np.array([sc.theater.zones[x].bounds()[3] for x in zones])[z]
    hi = np.maximum(lo, np.minimum(hi, reach))  # beyond reach: the zone's near edge
    depth = rng.uniform(lo, hi)
    fired = np.where(rng.random(n) < 0.4, np.inf, rng.exponential(36.0, size=n))
    preparing = rng.random(n) < 0.10
    energy = np.array([x == "energy" for x in classes])[c]
    attacks = ~energy & (rng.random(n) < 0.9)

    wi = np.array([engine.weapon_ids.index(x) for x in weapons])[w]
    ci = np.array([engine.class_ids.index(x) for x in classes])[c]
    zb = np.array([engine.zone_bits([x]) for x in zones], dtype=np.int64)[z]
    batch = StrikeBatch(wi, ci, depth, zb, fired, preparing, attacks)
    objects = [
        ProposedStrike(
            weapon=weapons[w[i]],
            target_class=classes[c[i]],
            depth_km=float(depth[i]),
            zones=(zones[z[i]],),
            fired_hours_ago=None if np.isinf(fired[i]) else float(fired[i]),
            preparing_attack=bool(preparing[i]),
            attacks_ukraine=bool(attacks[i]),
        )
        for i in range(n)
    ]
    return batch, objects


def sliced(b: StrikeBatch, start: int, stop: int) -> StrikeBatch:
    """Strikes ``start:stop`` of a batch (views, no copies)."""
    return StrikeBatch(
        b.weapon[start:stop],
        b.target_class[start:stop],
        b.depth_km[start:stop],
        b.zone_bits[start:stop],
        b.fired_hours_ago[start:stop],
        b.preparing_attack[start:stop],
        b.attacks_ukraine[start:stop],
    )


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The shortest of ``repeat`` timings of ``fn()`` on the benchmarks' clock (CPU time)."""
    return min(timings(lambda _i: fn(), repeat, warmup=0))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Verdicts per second of the rule engine (batch decide() and scalar "
        "authorize()), against the 200,000 verdicts/s aim.",
    )
    p.add_argument("--n", type=int, default=100_000, help="strikes drawn (default 100000)")
    p.add_argument("--repeat", type=int, default=5, help="timings per figure, best kept (5)")
    p.add_argument(
        "--max-calls",
        type=int,
        default=20_000,
        help="cap on calls per timing for batch size 1 and authorize() (20000)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the strike generator (0)")
    p.add_argument(
        "--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario file (May-30 set)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="directory for the CSV (benchmarks/results)",
    )
    args = p.parse_args(argv)
    if args.n < 1 or args.repeat < 1 or args.max_calls < 1:
        p.error("--n, --repeat and --max-calls must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pinned = pin_to_one_core()
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sc = load_scenario(args.scenario)
    rules = active_rules(sc)
    engine = RuleEngine(rules, sc.weapons, sc.target_classes, list(sc.theater.zones))
    n = max(args.n, max(BATCH_SIZES))
    batch, objects = draw_strikes(sc, engine, n, np.random.default_rng(args.seed))

    # The two paths must agree on what they time (a cheap sanity check, not a test).
    sample = objects[: min(n, 2_000)]
    idx = engine.decide(sliced(batch, 0, len(sample)))
    ref = [authorize(s, rules, sc.weapons) for s in sample]
    if [engine.labels[i] for i in idx] != [v.rule_id for v in ref]:
        print("error: decide() and authorize() disagree on the benchmark strikes", file=sys.stderr)
        return 1
    allowed = float(engine.allows[engine.decide(batch)].mean())

    rows: list[dict[str, object]] = []
    common = {
        "timestamp": stamp.isoformat(),
        "python": platform.python_version(),
        "machine": machine(),
    }
    decide_path = "decide" if kernels.enabled() else "decide-numpy"
    for size in BATCH_SIZES:
        calls = min(n // size, args.max_calls)
        chunks = [sliced(batch, i * size, (i + 1) * size) for i in range(calls)]

        def run(chunks: list[StrikeBatch] = chunks) -> None:
            for ch in chunks:
                engine.decide(ch)

        secs = best_of(args.repeat, run)
        rows.append(
            {"path": decide_path, "batch_size": size, "verdicts": calls * size, "seconds": secs}
        )

    scalar = objects[: min(n, args.max_calls)]
    weapons = sc.weapons

    def run_scalar() -> None:
        for s in scalar:
            authorize(s, rules, weapons)

    secs = best_of(args.repeat, run_scalar)
    rows.append({"path": "authorize", "batch_size": 1, "verdicts": len(scalar), "seconds": secs})

    print(f"rule engine benchmark: {sc.name} ({len(engine.rules)} rules), {pinned}")
    print(
        f"python {common['python']}, {common['machine']}; {n} strikes, seed {args.seed}, "
        f"best of {args.repeat}; {allowed:.1%} of the strikes allowed"
    )
    print(
        f"{'path':<10} {'batch':>7} {'verdicts':>9} {'seconds':>9} {'verdicts/s':>13} {'x aim':>8}"
    )
    for r in rows:
        r["verdicts_per_s"] = r["verdicts"] / r["seconds"]
        print(
            f"{r['path']:<10} {r['batch_size']:>7} {r['verdicts']:>9} {r['seconds']:>9.4f} "
            f"{r['verdicts_per_s']:>13,.0f} {r['verdicts_per_s'] / AIM:>8.2f}"
        )
        r.update(common)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench_rules_{stamp.strftime('%Y%m%dT%H%M%SZ')}.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r[k] for k in FIELDS})
    print(f"aim: {AIM:,.0f} verdicts/s; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
