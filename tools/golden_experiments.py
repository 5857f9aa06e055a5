"""Digests of every result-carrying output of small experiments on the shipped scenarios.

The sibling of ``tools/golden_outputs.py`` for experiments: an ensemble, a
paired comparison and a sweep of each design (grid, lhs, sobol, morris), small
enough to run in a test, each with several chunks so that chunking, resume
bookkeeping and aggregation are exercised. ``tests/test_golden_experiments.py``
compares them with ``tests/golden/experiment_digests.json``, so a refactor of
the experiment code that should change nothing is shown to change nothing,
byte for byte, in every table, text and resolved file it writes.

``metadata.json`` is digested without what legitimately differs between two
identical experiments (creation time, timing, machine, versions, executor, the
command line, the source hash of the code) and with this checkout's and the temporary directory's paths
replaced by placeholders; every other file is digested as written.

A change that is *meant* to change results regenerates the file
(``python tools/golden_outputs.py --write`` writes both digest files) in the
same commit, and says why in its message.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "experiment_digests.json"
SCENARIOS = ROOT / "scenarios"
SHIPPED_SWEEP = SCENARIOS / "sweeps" / "depth_and_risk.yaml"
#: Metadata fields that differ between two runs of the same experiment.
VOLATILE = ("created", "command", "versions", "machine", "executor", "timing", "code")


def _normalised(text: str, tmp: Path) -> str:
    return text.replace(str(tmp), "<TMP>").replace(str(ROOT), "<ROOT>")


def _metadata_digest(path: Path, tmp: Path) -> str:
    meta = json.loads(path.read_text("utf-8"))
    stable = {k: v for k, v in meta.items() if k not in VOLATILE}
    text = json.dumps(stable, indent=1, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(_normalised(text, tmp).encode()).hexdigest()


def directory_digests(out: Path, tmp: Path) -> dict[str, str]:
    """``{relative file: sha256}`` of every file of an output directory except figures."""
    found: dict[str, str] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if path.suffix == ".png" or rel == ".escalation-sim-output":
            continue
        if rel == "metadata.json":
            found[rel] = _metadata_digest(path, tmp)
        elif path.suffix in (".yaml", ".txt", ".json"):
            found[rel] = hashlib.sha256(
                _normalised(path.read_text("utf-8"), tmp).encode()
            ).hexdigest()
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _sweep_file(tmp: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _tiny_sweeps(tmp: Path) -> dict[str, Path]:
    shipped = yaml.safe_load(SHIPPED_SWEEP.read_text("utf-8"))
    shipped.update(
        base=str((SHIPPED_SWEEP.parent / shipped["base"]).resolve()), days=10, replications=2
    )
    shipped["design"]["samples"] = 2
    # Root seed 5: SALib's Sobol' analysis treats a seed of 0 as "no seed" (tested apart).
    shipped["seed"] = 5
    common: dict[str, Any] = {
        "base": str(SCENARIOS / "may30_kharkiv_counterfire.yaml"),
        "days": 10,
        "replications": 1,
        "parameters": {
            "actors.RUS.risk_tolerance": {"range": [0.2, 0.8]},
            "weapons.GMLRS.range_km": {"range": [40, 120]},
        },
        "outcomes": ["fire_on_city", "strikes_in_russia", "peak_rung.RUS"],
    }
    grid = {
        **common,
        "replications": 2,
        "design": {"method": "grid"},
        "parameters": {
            "rules.USA.posture": {"values": ["no_strikes_in_russia", "kharkiv_counterfire"]},
            "weapons.GMLRS.range_km": {"range": [40, 120], "steps": 2},
        },
    }
    return {
        "sweep-sobol": _sweep_file(tmp, "sobol", shipped),
        "sweep-grid": _sweep_file(tmp, "grid", grid),
        "sweep-lhs": _sweep_file(tmp, "lhs", {**common, "design": {"method": "lhs", "samples": 8}}),
        "sweep-morris": _sweep_file(
            tmp, "morris", {**common, "design": {"method": "morris", "trajectories": 3}}
        ),
    }


def experiments(tmp: Path) -> dict[str, Callable[[Path], Any]]:
    """The experiments digested, by name: each writes its outputs to the path it is given."""
    from escalation_sim import compare, ensemble, sweep

    quiet: dict[str, Any] = {"jobs": 1, "progress": False, "chunk_size": 3}
    may30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"
    cases: dict[str, Callable[[Path], Any]] = {
        "ensemble-may30": lambda out: ensemble(may30, runs=7, days=30, seed=3, out=out, **quiet),
        "ensemble-adaptive": lambda out: ensemble(
            SCENARIOS / "adaptive_policy.yaml", runs=4, days=30, seed=0, out=out, **quiet
        ),
        "compare-three": lambda out: compare(
            [may30, SCENARIOS / "pre_may30.yaml", SCENARIOS / "deep_strike.yaml"],
            runs=5,
            days=30,
            seed=1,
            out=out,
            **quiet,
        ),
    }
    for name, path in _tiny_sweeps(tmp).items():
        cases[name] = lambda out, path=path: sweep(path, out=out, **quiet)
    return cases


def digests() -> dict[str, dict[str, str]]:
    """``{"<experiment>": {file: sha256}}`` for the small experiments above."""
    out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for case, make in experiments(tmp).items():
            target = tmp / case
            make(target)
            out[case] = directory_digests(target, tmp)
    return out


def main(argv: list[str]) -> int:
    """``--write`` records the digests; otherwise compares with the recorded ones."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--write", action="store_true", help="record the current digests instead of comparing"
    )
    write = ap.parse_args(argv).write
    current = digests()
    if write:
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", "utf-8")
        print(f"wrote {GOLDEN} ({len(current)} experiments)")
        return 0
    stored = json.loads(GOLDEN.read_text("utf-8"))
    bad = sorted(k for k in current.keys() | stored.keys() if stored.get(k) != current.get(k))
    print("identical" if not bad else f"differ: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
