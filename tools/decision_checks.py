"""Full-scale checks of the decision layer (issue 8's "done means"), as a table anyone can rerun.

For every shipped scenario, ``--runs`` runs (default 200) of the full horizon
on seeds 0..runs-1: how many reach a nuclear rung or direct NATO-Russia
conflict, Russia's peak-rung distribution, the share of Russia's acts that
are posturing; and, with every perception input zeroed, how many runs see any
actor leave its starting rung, and how many see any actor act at all (a
statement too: with nothing perceived, no decision has a reason). Writes ``decision_checks.csv`` (one row per
scenario and condition) to ``--out`` and prints it.

    python tools/decision_checks.py --runs 200 --jobs 2 --out results/decision_checks
"""

from __future__ import annotations

import argparse
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

import escalation_sim
from escalation_sim import load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def zero_perception(sc) -> list[str]:
    """Overrides that zero every input the actors perceive."""
    p = sc.decisions.perception
    out = [f"decisions.perception.supplier_weight.{a}=0" for a in p.supplier_weight]
    out += [f"decisions.perception.trigger_weight.{k}=0" for k in p.trigger_weight]
    out += ["decisions.perception.own_loss_weight=0", "decisions.perception.act_weight=0"]
    for aid in sc.decisions.actors:
        out += [
            f"decisions.actors.{aid}.harm_weight=0",
            f"decisions.actors.{aid}.adversary_rung_weight=0",
        ]
    return out


def one(args: tuple[str, str, int]) -> dict:
    """One run of (scenario file, condition, seed), reduced to what the checks count."""
    name, condition, seed = args
    sc = load_scenario(SCENARIOS / name)
    if condition == "zero_perception":
        sc = with_overrides(sc, zero_perception(sc))
    r = escalation_sim.run(sc, seed=seed, record_events=True)
    ts = r.timeseries
    acts = [e for e in r.events if e["kind"] == "decision" and e["actor"] == "RUS"]
    return {
        "nuclear": r.summary["nuclear_use_day"] is not None,
        "nato": r.summary["nato_conflict_day"] is not None,
        "left_start": any((ts[f"rung.{a}"] != sc.actors[a].start_rung).any() for a in sc.actors),
        "any_act": any(e["kind"] == "decision" for e in r.events),
        "peak": int(ts["rung.RUS"].max()),
        "acts": len(acts),
        "posturing": sum(e["rivera"] == "posturing" for e in acts),
    }


def _positive(text: str) -> int:
    """A whole number of at least 1, for ``--runs`` and ``--jobs``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def main() -> None:
    """Run the checks and write the table."""
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "--runs",
        type=_positive,
        default=200,
        help="runs per scenario and condition, on seeds 0..RUNS-1, each of the full horizon",
    )
    ap.add_argument(
        "--jobs", type=_positive, default=2, help="worker processes that share the runs"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=Path("results/decision_checks"),
        help="folder for decision_checks.csv (created if missing)",
    )
    a = ap.parse_args()
    cases = [(p.name, "default") for p in sorted(SCENARIOS.glob("*.yaml"))]
    cases.append(("may30_kharkiv_counterfire.yaml", "zero_perception"))
    rows = []
    with ProcessPoolExecutor(a.jobs) as pool:
        for name, condition in cases:
            res = list(pool.map(one, [(name, condition, s) for s in range(a.runs)], chunksize=8))
            acts = sum(r["acts"] for r in res)
            rows.append(
                {
                    "scenario": name,
                    "condition": condition,
                    "runs": len(res),
                    "runs_nuclear_use": sum(r["nuclear"] for r in res),
                    "runs_nato_conflict": sum(r["nato"] for r in res),
                    "runs_any_actor_left_start": sum(r["left_start"] for r in res),
                    "runs_any_act": sum(r["any_act"] for r in res),
                    "rus_peak_rung": dict(sorted(Counter(r["peak"] for r in res).items())),
                    "rus_posturing_share": round(sum(r["posturing"] for r in res) / acts, 3)
                    if acts
                    else None,
                }
            )
            print(rows[-1], flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(a.out / "decision_checks.csv", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
