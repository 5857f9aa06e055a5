"""A chunk cut off by Ctrl-C while it is being written leaves no file behind.

Otherwise the next, resumed run warns that a file "no manifest vouches for" was
removed, as it would for a crash or a stray copy, after an ordinary Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from escalation_sim.experiment import store as store_module
from escalation_sim.experiment.store import ChunkStore
from escalation_sim.experiment.tasks import ChunkResult


def _chunk() -> ChunkResult:
    runs = pd.DataFrame({"run": [0, 1], "seed": [11, 12], "harm": [1.0, 2.0]})
    steps = pd.DataFrame({"run": [0, 0, 1, 1], "step": [0, 1, 0, 1], "harm": [0.0, 1.0, 0.0, 2.0]})
    return ChunkResult(store="s", first=0, last=1, runs=runs, steps=steps, seconds=0.1)


@pytest.mark.parametrize("cut_at_write", [1, 2, 3])
def test_an_interrupted_chunk_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut_at_write: int
) -> None:
    """Ctrl-C after the series, the outcomes or the manifest's temporary file was written."""
    real = store_module.write_atomically
    calls = {"n": 0}

    def cut(path: Path, write: object) -> None:
        calls["n"] += 1
        if calls["n"] == cut_at_write:
            raise KeyboardInterrupt
        real(path, write)

    chunks = ChunkStore(tmp_path / "store", "key")
    monkeypatch.setattr(store_module, "write_atomically", cut)
    with pytest.raises(KeyboardInterrupt):
        chunks.write(_chunk())
    monkeypatch.setattr(store_module, "write_atomically", real)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == []
    assert chunks.verify(runs=2) == []  # a resume has nothing to warn about


def test_a_written_chunk_is_kept_and_verified(tmp_path: Path) -> None:
    chunks = ChunkStore(tmp_path / "store", "key")
    chunks.write(_chunk())
    assert chunks.verify(runs=2) == []
    assert chunks.chunks() == [(0, 1)]
