"""Small experiments on the shipped scenarios write the same files, byte for byte, as recorded.

Covers every result-carrying output of an ensemble, a comparison and a sweep of
each design (see ``tools/golden_experiments.py``). A change meant to alter
results regenerates the digests with ``python tools/golden_outputs.py --write``
in the same commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "golden_experiments", ROOT / "tools/golden_experiments.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_small_experiments_reproduce_the_recorded_outputs() -> None:
    tool = _tool()
    stored = json.loads(tool.GOLDEN.read_text("utf-8"))
    current = tool.digests()
    assert sorted(current) == sorted(stored), "experiments changed: regenerate the digests"
    differ = {}
    for case, files in current.items():
        names = sorted(files.keys() | stored[case].keys())
        changed = [f for f in names if stored[case].get(f) != files.get(f)]
        if changed:
            differ[case] = changed
    assert not differ, (
        f"outputs changed (run tools/golden_outputs.py --write if intended): {differ}"
    )


def test_digests_cover_every_result_file_and_ignore_only_volatile_metadata(tmp_path: Path) -> None:
    tool = _tool()
    out = tmp_path / "exp"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "a.parquet").write_bytes(b"1")
    (out / "figure.png").write_bytes(b"png")
    meta = {"kind": "ensemble", "runs": 3, "created": "now", "timing": {"seconds": 1}}
    (out / "metadata.json").write_text(json.dumps(meta))
    first = tool.directory_digests(out, tmp_path)
    assert sorted(first) == ["metadata.json", "runs/a.parquet"]
    (out / "metadata.json").write_text(json.dumps({**meta, "created": "later"}))
    assert tool.directory_digests(out, tmp_path) == first
    (out / "metadata.json").write_text(json.dumps({**meta, "runs": 4}))
    assert tool.directory_digests(out, tmp_path)["metadata.json"] != first["metadata.json"]
    (out / "runs" / "a.parquet").write_bytes(b"2")
    assert tool.directory_digests(out, tmp_path)["runs/a.parquet"] != first["runs/a.parquet"]
