"""The runner's work per run does not grow with the number of runs (counted, not timed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from escalation_sim.api import resolve_scenario
from escalation_sim.experiment import aggregate
from escalation_sim.experiment.store import ChunkStore
from escalation_sim.experiment.tasks import ChunkResult

DAYS = 4  # 5 steps
SERIES = ("rung.RUS", "pressure.RUS", "fire_on_city", "harm_cumulative")


class _CountingParquet:
    """``pyarrow.parquet`` as the aggregation module sees it, counting opens per file."""

    def __init__(self) -> None:
        self.opens: Counter[str] = Counter()

    def read_table(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        self.opens[Path(path).name] += 1
        return pq.read_table(path, *args, **kwargs)

    def ParquetFile(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        self.opens[Path(path).name] += 1
        return pq.ParquetFile(path, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(pq, name)


def _store(
    tmp: Path, chunks: int, per_chunk: int, rng: np.random.Generator
) -> tuple[ChunkStore, dict[str, np.ndarray]]:
    """A store of ``chunks`` chunks of made-up series; and every series as (runs, steps)."""
    store = ChunkStore(tmp / f"store-{chunks}")
    n_steps = DAYS + 1
    whole: dict[str, list[np.ndarray]] = {n: [] for n in SERIES}
    for c in range(chunks):
        first, last = c * per_chunk, (c + 1) * per_chunk - 1
        runs = np.arange(first, last + 1)
        data: dict[str, Any] = {
            "run": np.repeat(runs, n_steps),
            "step": np.tile(np.arange(n_steps), per_chunk),
        }
        for n in SERIES:
            values = (
                rng.integers(0, 9, per_chunk * n_steps)
                if n.startswith("rung")
                else rng.normal(size=per_chunk * n_steps)
            )
            data[n] = values
            whole[n].append(values.astype(float).reshape(per_chunk, n_steps))
        frame = pd.DataFrame({"run": runs, "seed": runs})
        store.write(ChunkResult("s", first, last, frame, pd.DataFrame(data), 0.0))
    return store, {n: np.vstack(v) for n, v in whole.items()}


@pytest.mark.parametrize("budget", [40, aggregate.DEFAULT_BUDGET])
def test_aggregation_opens_each_chunk_file_once_whatever_the_number_of_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    # A small budget forces what many runs force: the series do not fit in memory at once.
    # Aggregation used to take one pass over every chunk file per group of series and
    # block of steps, so the opens per file grew with the number of runs (and the work
    # with its square); now each file is opened once, at 10 and at 80 chunks alike.
    sc = resolve_scenario("may30_kharkiv_counterfire", days=DAYS)
    rng = np.random.default_rng(5)
    for chunks in (10, 80):
        store, whole = _store(tmp_path, chunks, 2, rng)
        counting = _CountingParquet()
        monkeypatch.setattr(aggregate, "pq", counting)
        agg = aggregate.aggregate_series(store, sc, budget=budget)
        monkeypatch.setattr(aggregate, "pq", pq)
        opened = [counting.opens[p.name] for p in store.steps_files()]
        assert opened == [1] * chunks, (chunks, Counter(opened))
        # ...and the figures are numpy's over all runs at once: percentiles exactly, means
        # to the last bits (a one-step block is summed pairwise by numpy, a wider one
        # run after run, as before this change).
        for n in SERIES:
            part = agg[agg["series"] == n].sort_values("step")
            np.testing.assert_allclose(part["mean"].to_numpy(), whole[n].mean(axis=0), rtol=1e-13)
            for q in aggregate.PERCENTILES:
                np.testing.assert_array_equal(
                    part[f"p{q}"].to_numpy(), np.percentile(whole[n], q, axis=0)
                )
        assert (agg["n"] == 2 * chunks).all()
        # The spill folder is gone: the store holds only its chunks.
        assert not [p for p in store.path.iterdir() if p.name.startswith(".aggregate-")]
