"""Tables of an experiment, built from the chunks on disk with bounded memory.

* The per-run table is copied chunk by chunk, in run order, to Parquet and CSV.
* Per-step aggregates (mean and 5/25/50/75/95 percentiles of each series at each
  step) are computed from the stored per-step values holding at most ``budget``
  values at once, so memory stays bounded however many runs there are. Each chunk
  file is read once: when the values do not fit the budget, every series is first
  written step-major to a raw temporary file (8 bytes per run, step and series), so
  a block of steps is one contiguous read. Percentiles are numpy's
  (``method="linear"``), exact: nothing is sketched or binned.
* The probability of each actor reaching each rung by each day is exact
  integer counting: rungs are integers, so each chunk adds, per rung and step,
  the number of its runs whose running maximum has reached that rung.

Every table is a function of the runs alone, assembled in run order, so it does
not depend on how runs were chunked, on which worker ran them, or on whether
the experiment was interrupted and resumed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from escalation_sim.experiment.outcomes import COUNT_PREFIXES
from escalation_sim.experiment.store import PARQUET_OPTIONS, ChunkStore
from escalation_sim.scenario.schema import Scenario

#: Percentiles reported for each series.
PERCENTILES = (5, 25, 50, 75, 95)
#: Values held in memory at once when computing percentiles (8 bytes each).
DEFAULT_BUDGET = 2_000_000
#: Rows of the per-run table written at a time (one Parquet row group each).
ROW_GROUP_ROWS = 1_000


def _union_schema(paths: Sequence[Path]) -> pa.Schema:
    """One schema for chunks whose columns may differ (sweeps over rule sets)."""
    fields: dict[str, pa.Field] = {}
    seen: dict[str, int] = {}
    for path in paths:
        for f in pq.read_schema(path):
            if f.name not in fields:
                fields[f.name] = f
            seen[f.name] = seen.get(f.name, 0) + 1
    out = []
    for name, f in fields.items():
        partial = seen[name] < len(paths)
        zero_fill = name.startswith(COUNT_PREFIXES)
        if partial and not zero_fill and pa.types.is_integer(f.type):
            f = f.with_type(pa.float64())  # NaN where absent
        out.append(f.remove_metadata())
    return pa.schema(out)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    present = set(table.column_names)
    if table.column_names == schema.names and all(
        table.schema.field(i).type == f.type for i, f in enumerate(schema)
    ):
        return pa.Table.from_arrays(table.columns, schema=schema)
    cols = []
    for f in schema:
        if f.name in present:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        elif f.name.startswith(COUNT_PREFIXES):
            cols.append(pa.array(np.zeros(len(table), dtype=np.int64)).cast(f.type))
        else:
            cols.append(pa.nulls(len(table), f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _frame(table: pa.Table) -> pd.DataFrame:
    """A chunk table as pandas, nulls of float columns as NaN."""
    return table.to_pandas()


def write_runs(
    stores: Sequence[ChunkStore], parquet: Path, csv: Path | None = None, drop: Sequence[str] = ()
) -> list[str]:
    """Copy the per-run tables of ``stores`` (in order) to one Parquet file and CSV.

    Args:
        stores: Chunk stores, concatenated in this order.
        parquet: The Parquet file to write.
        csv: The CSV file to write too (optional).
        drop: Columns to leave out.

    Returns:
        The columns written.
    """
    paths = [p for s in stores for p in s.runs_files()]
    schema = _union_schema(paths)
    keep = pa.schema([f for f in schema if f.name not in set(drop)])
    pending: list[pa.Table] = []
    rows = 0
    header = True
    # Chunks are gathered into row groups of ROW_GROUP_ROWS rows: a row group per small chunk
    # would make the file's metadata, and the writer's memory, grow with the number of runs.
    with pq.ParquetWriter(parquet, keep, **PARQUET_OPTIONS) as writer:
        fh = csv.open("w", encoding="utf-8", newline="") if csv is not None else None
        try:
            for i, path in enumerate(paths):
                pending.append(_conform(pq.read_table(path), keep))
                rows += pending[-1].num_rows
                if rows >= ROW_GROUP_ROWS or i == len(paths) - 1:
                    table = pa.concat_tables(pending)
                    writer.write_table(table)
                    if fh is not None:
                        _frame(table).to_csv(fh, header=header, index=False)
                    header, pending, rows = False, [], 0
                    del table
        finally:
            if fh is not None:
                fh.close()
    return keep.names


def read_runs(stores: Sequence[ChunkStore], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The per-run tables of ``stores`` as one DataFrame (in memory)."""
    paths = [p for s in stores for p in s.runs_files()]
    if not paths:
        return pd.DataFrame()
    schema = _union_schema(paths)
    if columns is not None:
        schema = pa.schema([f for f in schema if f.name in set(columns)])
    tables = [_conform(pq.read_table(p, columns=None), schema) for p in paths]
    return _frame(pa.concat_tables(tables))


def step_calendar(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, list[dt.date]]:
    """Steps, days and dates of a scenario's time series (step 0 included)."""
    steps = np.arange(scenario.n_steps + 1, dtype=np.int64)
    days = steps * float(scenario.step_days)
    dates = [scenario.start_date + dt.timedelta(days=float(d)) for d in days]
    return steps, days, dates


def _series_columns(store: ChunkStore) -> list[str]:
    files = store.steps_files()
    if not files:
        return []
    return [n for n in pq.read_schema(files[0]).names if n not in ("run", "step")]


def _read_all(
    files: Sequence[Path], names: Sequence[str], n_runs: int, n_steps: int
) -> dict[str, np.ndarray]:
    """Every value of ``names``, one read of each file: arrays of shape (runs, steps)."""
    out = {n: np.empty((n_runs, n_steps), dtype=np.float64) for n in names}
    row = 0
    for path in files:
        table = pq.read_table(path, columns=list(names))
        size = table.num_rows // n_steps
        for n in names:
            out[n][row : row + size] = table.column(n).to_numpy().reshape(size, n_steps)
        row += size
        del table
    return out


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``: a write to a filling disk may stop short silently."""
    while len(data):
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def _spill(
    files: Sequence[Path],
    names: Sequence[str],
    n_runs: int,
    n_steps: int,
    budget: int,
    folder: Path,
) -> dict[str, Path]:
    """Every series written step-major to its own raw file, each chunk file read once.

    A series' file holds float64 values laid out (steps, runs): the values of a block
    of steps are one contiguous read, however many runs there are. Chunks are
    gathered in memory (at most ``budget`` values) and written a step row at a time.
    """
    paths = {n: folder / f"series-{i}.f8" for i, n in enumerate(names)}
    fds = {n: os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600) for n, p in paths.items()}
    try:
        rows_per_flush = max(1, budget // (len(names) * n_steps))
        pending: dict[str, list[np.ndarray]] = {n: [] for n in names}
        held = first = 0

        def flush() -> None:
            for n in names:
                block = np.ascontiguousarray(np.concatenate(pending[n]).T)  # (steps, runs)
                for t in range(n_steps):
                    _write_at(fds[n], block[t].data.cast("B"), 8 * (t * n_runs + first))
                pending[n] = []

        for path in files:
            chunk = pq.ParquetFile(path)
            size = chunk.metadata.num_rows // n_steps
            for n in names:
                values = chunk.read(columns=[n]).column(n).to_numpy()
                pending[n].append(values.astype(np.float64).reshape(size, n_steps))
            held += size
            if held >= rows_per_flush:
                flush()
                first, held = first + held, 0
            del chunk
        if held:
            flush()
    finally:
        for fd in fds.values():
            os.close(fd)
    return paths


def _step_blocks(
    files: Sequence[Path], names: Sequence[str], n_runs: int, n_steps: int, budget: int
) -> Iterator[tuple[str, int, np.ndarray]]:
    """``(series, first step, values)`` blocks covering every series and step.

    ``values`` has shape (runs, steps of the block), C-contiguous, as a reduction over
    runs needs it. When everything fits in ``budget`` values, every chunk file is read
    once; otherwise the series are spilled once, step-major (:func:`_spill`), to a
    temporary folder of the store, and each block is one contiguous read of it. Either
    way each chunk file is opened once, so the work of aggregation grows with the
    number of runs, not with its square (a pass per series over every chunk file did).
    """
    if n_runs * n_steps * len(names) <= budget:
        values = _read_all(files, names, n_runs, n_steps)
        for n in names:
            yield n, 0, values.pop(n)
        return
    # A block read from the spill and its transposed copy: at most ``budget`` values together.
    width = max(1, budget // (2 * n_runs))
    with tempfile.TemporaryDirectory(prefix=".aggregate-", dir=files[0].parent) as tmp:
        spilled = _spill(files, names, n_runs, n_steps, budget, Path(tmp))
        for n in names:
            with spilled[n].open("rb") as fh:
                for lo in range(0, n_steps, width):
                    hi = min(n_steps, lo + width)
                    raw = np.fromfile(fh, dtype=np.float64, count=(hi - lo) * n_runs)
                    yield n, lo, np.ascontiguousarray(raw.reshape(hi - lo, n_runs).T)
                    del raw


def aggregate_series(
    store: ChunkStore, scenario: Scenario, *, budget: int | None = None
) -> pd.DataFrame:
    """Per-step mean and percentiles of every stored series.

    Args:
        store: The chunks of one scenario's runs.
        scenario: That scenario (for steps, days and dates).
        budget: Most values held at once (beyond it, the series are spilled to disk
            once, 8 bytes per run, step and series, in a temporary folder of the store;
            removed when done or failed); ``None``: :data:`DEFAULT_BUDGET`.

    Returns:
        Tidy table: ``step, day, date, series, mean, p5, p25, p50, p75, p95, n``.
    """
    budget = DEFAULT_BUDGET if budget is None else budget
    files = store.steps_files()
    names = _series_columns(store)
    steps, days, dates = step_calendar(scenario)
    n_steps = len(steps)
    n_runs = sum(b - a + 1 for a, b in store.chunks())
    if not files or not names:
        return pd.DataFrame(
            columns=["step", "day", "date", "series", "mean"]
            + [f"p{q}" for q in PERCENTILES]
            + ["n"]
        )
    # np.percentile copies what it sorts: hand it a few steps at a time.
    sub = max(1, (budget // 8) // max(1, n_runs))
    results: dict[str, dict[str, np.ndarray]] = {
        n: {k: np.empty(n_steps) for k in ("mean", *map(str, PERCENTILES))} for n in names
    }
    # Closed at once if this loop fails, so the spill's temporary folder goes with it.
    with contextlib.closing(_step_blocks(files, names, n_runs, n_steps, budget)) as blocks:
        for n, lo, values in blocks:
            width = values.shape[1]
            for a in range(0, width, sub):
                b = min(width, a + sub)
                part = values[:, a:b]
                results[n]["mean"][lo + a : lo + b] = part.mean(axis=0)
                pct = np.percentile(part, PERCENTILES, axis=0)
                for q, row in zip(PERCENTILES, pct, strict=True):
                    results[n][str(q)][lo + a : lo + b] = row
            del values
    frames: list[pd.DataFrame] = []
    for n in names:
        frame = {"step": steps, "day": days, "date": dates, "series": n}
        frame["mean"] = results[n]["mean"]
        for q in PERCENTILES:
            frame[f"p{q}"] = results[n][str(q)]
        frame["n"] = n_runs
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def rung_probability(store: ChunkStore, scenario: Scenario) -> pd.DataFrame:
    """Share of runs in which each actor has reached each rung (or higher) by each step.

    Returns:
        Tidy table: ``actor, rung, rung_name, step, day, date, probability, count, n``.
    """
    steps, days, dates = step_calendar(scenario)
    n_steps = len(steps)
    actors = list(scenario.actors)
    ladders = {a: [r.name for r in scenario.ladder_for(a).rungs] for a in actors}
    counts = {a: np.zeros((len(ladders[a]), n_steps), dtype=np.int64) for a in actors}
    n_runs = 0
    for path in store.steps_files():
        table = pq.read_table(path, columns=[f"rung.{a}" for a in actors])
        for a in actors:
            rung = table.column(f"rung.{a}").to_numpy().reshape(-1, n_steps)
            top = np.maximum.accumulate(rung, axis=1)
            for k in range(len(ladders[a])):
                counts[a][k] += (top >= k).sum(axis=0)
        n_runs += table.num_rows // n_steps
    frames = []
    for a in actors:
        for k, name in enumerate(ladders[a]):
            c = counts[a][k]
            frames.append(
                pd.DataFrame(
                    {
                        "actor": a,
                        "rung": k,
                        "rung_name": name,
                        "step": steps,
                        "day": days,
                        "date": dates,
                        "probability": c / n_runs if n_runs else np.nan,
                        "count": c,
                        "n": n_runs,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def write_table(frame: pd.DataFrame, path_stem: Path, *, csv: bool = True) -> None:
    """Write ``frame`` as ``<stem>.parquet`` (and ``<stem>.csv``)."""
    frame.to_parquet(path_stem.with_suffix(".parquet"), index=False, **PARQUET_OPTIONS)
    if csv:
        frame.to_csv(path_stem.with_suffix(".csv"), index=False)


def outcome_summary(runs: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Mean and 5/50/95 percentiles of per-run outcomes (for printing)."""
    rows: list[dict[str, Any]] = []
    for n in names:
        if n not in runs:
            continue
        v = runs[n].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        p5, p50, p95 = np.percentile(v, [5, 50, 95]) if len(v) else (np.nan,) * 3
        rows.append(
            {"outcome": n, "mean": v.mean() if len(v) else np.nan, "p5": p5, "p50": p50, "p95": p95}
        )
    return pd.DataFrame(rows)


def reach_table(prob: pd.DataFrame, starts: Mapping[str, int]) -> pd.DataFrame:
    """Probability of each actor reaching each rung above its start by the horizon."""
    last = prob[prob["step"] == prob["step"].max()]
    keep = last[[r > starts.get(a, 0) for a, r in zip(last["actor"], last["rung"], strict=True)]]
    return keep[keep["probability"] > 0][["actor", "rung", "rung_name", "probability"]]
