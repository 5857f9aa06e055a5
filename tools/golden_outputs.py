"""Digests of one run's outputs for every shipped scenario and a few seeds.

``tests/test_golden_outputs.py`` compares the model's outputs with the digests
in ``tests/golden/run_digests.json``, so a refactor that should change nothing
is shown to change nothing, byte for byte. A change that is *meant* to change
results regenerates the file (``python tools/golden_outputs.py --write``) in the
same commit, and says why in its message. ``--write`` also rewrites the
experiments' digests (``tools/golden_experiments.py``), so one command keeps
both in step with the model.

    python tools/golden_outputs.py            # compare (exit 1 if any digest differs)
    python tools/golden_outputs.py --write    # record the current outputs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "run_digests.json"
#: Each shipped scenario's hash as run metadata records it (``scenario_hash``).
HASHES = ROOT / "tests" / "golden" / "scenario_hashes.json"
SEEDS = (0, 7)
DAYS = 60
#: The outputs that carry results (metadata.json holds versions and the machine).
FILES = ("timeseries.csv", "events.jsonl", "summary.json", "scenario.resolved.yaml")


def digests() -> dict[str, dict[str, str]]:
    """``{"<scenario>@<seed>": {file: sha256}}`` for the shipped scenarios."""
    import tempfile

    from escalation_sim import run, write_run

    out: dict[str, dict[str, str]] = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        for seed in SEEDS:
            result = run(path, seed=seed, days=DAYS)
            with tempfile.TemporaryDirectory() as tmp:
                d = write_run(result, Path(tmp) / "run", plot=False)
                out[f"{path.stem}@{seed}"] = {
                    f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in FILES
                }
    return out


def scenario_hashes() -> dict[str, str]:
    """``{"<scenario>": scenario_hash}`` for the shipped scenarios, as files resolve them."""
    from escalation_sim import load_scenario
    from escalation_sim.scenario import scenario_hash

    return {
        p.stem: scenario_hash(load_scenario(p)) for p in sorted((ROOT / "scenarios").glob("*.yaml"))
    }


def main(argv: list[str] | None = None) -> int:
    """Compare the outputs with the recorded digests, or record them with ``--write``."""
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--write",
        action="store_true",
        help="record the current digests (runs and experiments) instead of comparing; "
        "only for a change meant to change results, said so in its commit message",
    )
    args = ap.parse_args(argv)
    current = digests()
    if args.write:
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", "utf-8")
        print(f"wrote {GOLDEN} ({len(current)} runs)")
        HASHES.write_text(json.dumps(scenario_hashes(), indent=1, sort_keys=True) + "\n", "utf-8")
        print(f"wrote {HASHES}")
        sys.path.insert(0, str(Path(__file__).parent))
        import golden_experiments

        return golden_experiments.main(["--write"])
    stored = json.loads(GOLDEN.read_text("utf-8"))
    bad = sorted(k for k in current if stored.get(k) != current[k])
    hashes = json.loads(HASHES.read_text("utf-8"))
    bad += sorted(f"{k} (hash)" for k, v in scenario_hashes().items() if hashes.get(k) != v)
    print("identical" if not bad else f"differ: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
