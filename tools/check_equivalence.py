"""Whole-horizon runs give the same outputs however they are run: straight, copied mid-run, in a pool.

The golden digests (``tests/golden/run_digests.json``) cover 60 days on two
seeds. This check runs every shipped scenario for its full horizon, with the
event log on, on a few seeds, three ways, and compares the time series and the
event log byte for byte:

- straight through in this process (the reference);
- pickled at mid-horizon, unpickled, and run to the end;
- in a pool of two worker processes (``spawn``: each worker imports afresh).

It also compares the ensemble runner's runs table with one job and with two.
Exit status 0 when everything matches, 1 otherwise (each mismatch printed).

Usage::

    python tools/check_equivalence.py [--seeds 0 1 2] [--scenario NAME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import pickle
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _digest(model) -> tuple[str, str]:
    """sha256 of the time series as CSV and of the event log as JSON lines."""
    ts = model.timeseries().to_csv(index=False).encode()
    ev = "\n".join(json.dumps(r, sort_keys=True, default=str) for r in model.events.records())
    return hashlib.sha256(ts).hexdigest(), hashlib.sha256(ev.encode()).hexdigest()


def run_straight(path: str, seed: int) -> tuple[str, str]:
    """One run of the whole horizon in this process."""
    from escalation_sim import load_scenario
    from escalation_sim.model.model import EscalationModel

    m = EscalationModel(load_scenario(path), seed=seed)
    m.run()
    return _digest(m)


def run_pickled(path: str, seed: int) -> tuple[str, str]:
    """Run to mid-horizon, pickle, unpickle, run on to the end."""
    from escalation_sim import load_scenario
    from escalation_sim.model.model import EscalationModel

    m = EscalationModel(load_scenario(path), seed=seed)
    m.run_for(m.n_steps // 2)
    copy = pickle.loads(pickle.dumps(m))
    del m
    copy.run()
    return _digest(copy)


def _ensemble_runs(path: str, jobs: int, n: int) -> str:
    from escalation_sim.experiment import ensemble

    with tempfile.TemporaryDirectory() as tmp:
        result = ensemble(path, runs=n, seed=11, jobs=jobs, out=Path(tmp) / "e", progress=False)
        runs = result.runs.sort_values("run").reset_index(drop=True)
        return hashlib.sha256(runs.to_csv(index=False).encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Run the check; print one line per scenario and seed; 1 if anything differs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--scenario", nargs="*", help="shipped scenario names (default: all)")
    ap.add_argument("--ensemble-runs", type=int, default=40, help="runs per ensemble check")
    args = ap.parse_args(argv)
    paths = sorted((ROOT / "scenarios").glob("*.yaml"))
    if args.scenario:
        paths = [p for p in paths if p.stem in args.scenario]
    jobs = [(str(p), s) for p in paths for s in args.seeds]
    t0 = time.perf_counter()
    bad = 0
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pooled = list(pool.map(run_straight, *zip(*jobs, strict=True)))
    for (path, seed), in_pool in zip(jobs, pooled, strict=True):
        straight = run_straight(path, seed)
        pickled = run_pickled(path, seed)
        ok = straight == pickled == in_pool
        bad += not ok
        name = Path(path).stem
        print(
            f"{'ok  ' if ok else 'DIFF'} {name}@{seed}: straight {straight[0][:10]}/{straight[1][:10]}"
            f" pickled {pickled[0][:10]}/{pickled[1][:10]} pool {in_pool[0][:10]}/{in_pool[1][:10]}"
        )
    for path in paths:
        one, two = (_ensemble_runs(str(path), j, args.ensemble_runs) for j in (1, 2))
        bad += one != two
        print(
            f"{'ok  ' if one == two else 'DIFF'} {path.stem}: ensemble jobs 1 {one[:10]} jobs 2 {two[:10]}"
        )
    print(f"{bad} mismatch(es); {time.perf_counter() - t0:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
