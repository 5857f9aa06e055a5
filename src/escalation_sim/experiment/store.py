"""The work directory of an experiment: finished chunks on disk, keyed to what produced them.

Layout of ``DIR.partial/`` (beside the output directory ``DIR``)::

    state.json                  the experiment's key: kind, scenario hash(es),
                                root seed, number of runs
    <store>/runs-<a>-<b>.parquet    outcomes of runs a..b (one row per run)
    <store>/steps-<a>-<b>.parquet   their per-step series (ensembles, comparisons)

Each chunk is written to a temporary name and renamed into place, the series
file first and the outcomes file last: a chunk counts as finished when its
``runs-`` file exists, so a chunk cut off half-way is simply run again. A rerun
with the same key skips the finished runs; a different key (a changed
scenario, seed or number of runs) is refused unless the caller asks to
restart, so old chunks never mix with new ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from escalation_sim.experiment.errors import ExperimentError, StaleWorkError
from escalation_sim.experiment.tasks import ChunkResult

#: Version of the work-directory layout (part of the key).
FORMAT = 1
STATE_FILE = "state.json"
_CHUNK = re.compile(r"^runs-(\d+)-(\d+)\.parquet$")
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd"}


def partial_dir(out: Path) -> Path:
    """The work directory of output directory ``out``: ``DIR.partial`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _describe_key(key: Mapping[str, Any]) -> str:
    parts = []
    for name, value in key.items():
        if name == "format":
            continue
        if isinstance(value, str) and len(value) == 64:
            value = value[:12] + "…"
        elif isinstance(value, list):
            value = ", ".join(str(v)[:12] for v in value)
        parts.append(f"{name} {value}")
    return "; ".join(parts)


class ChunkStore:
    """Finished chunks of one scenario's runs.

    Args:
        path: The store's directory (created if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        for leftover in self.path.glob("*.tmp"):
            leftover.unlink(missing_ok=True)

    def chunks(self) -> list[tuple[int, int]]:
        """``(first, last)`` run ids of every finished chunk, in run order."""
        found = []
        for entry in os.scandir(self.path):
            m = _CHUNK.match(entry.name)
            if m:
                found.append((int(m.group(1)), int(m.group(2))))
        return sorted(found)

    def done(self) -> set[int]:
        """Run ids already finished."""
        return {r for a, b in self.chunks() for r in range(a, b + 1)}

    def runs_file(self, first: int, last: int) -> Path:
        """Outcomes file of a chunk."""
        return self.path / f"runs-{first:09d}-{last:09d}.parquet"

    def steps_file(self, first: int, last: int) -> Path:
        """Per-step series file of a chunk."""
        return self.path / f"steps-{first:09d}-{last:09d}.parquet"

    def write(self, result: ChunkResult) -> None:
        """Write a finished chunk (series first, outcomes last; each atomically)."""
        if result.steps is not None:
            self._write(result.steps, self.steps_file(result.first, result.last))
        self._write(result.runs, self.runs_file(result.first, result.last))

    @staticmethod
    def _write(frame: Any, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        os.replace(tmp, path)

    def runs_files(self) -> list[Path]:
        """Outcome files in run order."""
        return [self.runs_file(a, b) for a, b in self.chunks()]

    def steps_files(self) -> list[Path]:
        """Series files in run order."""
        return [self.steps_file(a, b) for a, b in self.chunks()]

    def iter_runs(self, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """Each chunk's outcomes in run order (optionally only some columns)."""
        for path in self.runs_files():
            if columns is None:
                yield pq.read_table(path)
            else:
                names = set(pq.read_schema(path).names)
                yield pq.read_table(path, columns=[c for c in columns if c in names])


class WorkDir:
    """An experiment's work directory, tied to the experiment's key.

    Args:
        path: The directory (``DIR.partial``).
        key: What identifies the experiment: kind, scenario hash(es), root seed,
            number of runs (JSON-compatible).
        restart: Discard finished runs of a different (or the same) experiment.

    Raises:
        StaleWorkError: ``path`` holds runs of a different experiment and
            ``restart`` is false.
    """

    def __init__(self, path: Path, key: Mapping[str, Any], *, restart: bool = False) -> None:
        self.path = Path(path)
        self.key = {"format": FORMAT, **key}
        state = self.path / STATE_FILE
        if self.path.exists():
            if not self.path.is_dir():
                raise ExperimentError(f"{self.path} exists and is not a directory")
            old = self._read_state(state)
            if restart or (old is None and not any(self.path.iterdir())):
                shutil.rmtree(self.path)
            elif old != self.key:
                was = _describe_key(old) if old else "no readable state.json"
                raise StaleWorkError(
                    f"{self.path}/ holds unfinished runs of another experiment ({was}); "
                    f"this one is {_describe_key(self.key)}. Pass --restart (restart=True) "
                    "to discard them, or choose another output directory"
                )
        self.path.mkdir(parents=True, exist_ok=True)
        if not state.exists():
            tmp = state.with_name(STATE_FILE + ".tmp")
            tmp.write_text(json.dumps(self.key, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, state)
        self._stores: dict[str, ChunkStore] = {}

    @staticmethod
    def _read_state(state: Path) -> dict[str, Any] | None:
        try:
            return json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def store(self, name: str) -> ChunkStore:
        """The chunk store called ``name`` (one per scenario of a comparison)."""
        if name not in self._stores:
            self._stores[name] = ChunkStore(self.path / name)
        return self._stores[name]

    def remove(self) -> None:
        """Delete the work directory (after the outputs are in place)."""
        shutil.rmtree(self.path, ignore_errors=True)
