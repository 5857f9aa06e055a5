"""The shipped scenarios give the same outputs, byte for byte, as the recorded digests.

A change meant to alter results regenerates the digests with
``python tools/golden_outputs.py --write`` in the same commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "golden_outputs", ROOT / "tools/golden_outputs.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_shipped_scenarios_reproduce_the_recorded_outputs() -> None:
    tool = _tool()
    stored = json.loads(tool.GOLDEN.read_text("utf-8"))
    current = tool.digests()
    assert sorted(current) == sorted(stored), "scenarios or seeds changed: regenerate the digests"
    differ = {k: [f for f in v if stored[k].get(f) != v[f]] for k, v in current.items()}
    differ = {k: v for k, v in differ.items() if v}
    assert not differ, (
        f"outputs changed (run tools/golden_outputs.py --write if intended): {differ}"
    )
