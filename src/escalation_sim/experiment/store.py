"""The work directory of an experiment: finished chunks on disk, verified, keyed to what produced them.

Layout of ``DIR.partial/`` (beside the output directory ``DIR``)::

    .lock                           held by the process working here (its PID inside)
    state.json                      the experiment's key: kind, scenario hash(es), root
                                    seed, number of runs, and the code (package version,
                                    source hash, numpy version)
    <store>/runs-<a>-<b>.parquet    outcomes of runs a..b (one row per run)
    <store>/steps-<a>-<b>.parquet   their per-step series (ensembles, comparisons)
    <store>/chunk-<a>-<b>.json      the chunk's manifest: its run ids, the SHA-256 of
                                    each file, and a digest of the key
    <store>/.aggregate-*/           while the tables are made, the series spilled
                                    step-major (:mod:`~escalation_sim.experiment.aggregate`)

Each file is written under a unique temporary name, flushed to disk and
renamed into place; the manifest comes last, so a chunk counts as finished
only when its manifest exists. A write that fails (a full disk) removes what the
chunk had written. On resume every manifest is checked against its
files (checksum, run ids, range, key): a chunk that fails (truncated, edited,
missing a file, renamed, copied from elsewhere, overlapping another), and any
chunk file no manifest vouches for, is removed with a notice and its runs are
run again. A rerun with the same key skips the verified runs; a different key
(a changed scenario, seed, number of runs or code) is refused unless the
caller asks to restart, so old chunks never mix with new ones.

The checksums protect against accidents (a crash, a full disk, a stray copy),
not against someone who can rewrite both a chunk and its manifest.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from escalation_sim.experiment.errors import ExperimentError, StaleWorkError
from escalation_sim.experiment.tasks import ChunkResult

#: Version of the work-directory layout (part of the key).
FORMAT = 2
STATE_FILE = "state.json"
LOCK_FILE = ".lock"
_MANIFEST = re.compile(r"^chunk-(\d+)-(\d+)\.json$")
_CHUNK_FILE = re.compile(r"^(runs|steps|chunk)-\d+-\d+\.(parquet|json)$")
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd"}


def partial_dir(out: Path) -> Path:
    """The work directory of output directory ``out``: ``DIR.partial`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


@functools.cache
def code_key() -> dict[str, str]:
    """The code that computes runs: package version, a hash of its source, numpy's version.

    The source hash covers every Python and data file of the installed package
    (an editable install's working tree included), so a resume never mixes runs
    of edited code with runs of the code before.
    """
    import numpy

    import escalation_sim

    root = Path(escalation_sim.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".yml", ".json") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return {
        "package_version": escalation_sim.__version__,
        "source_hash": digest.hexdigest(),
        "numpy_version": numpy.__version__,
    }


def _describe_key(key: Mapping[str, Any]) -> str:
    parts = []
    for name, value in key.items():
        if name == "format":
            continue
        if isinstance(value, dict):
            parts.append(_describe_key(value))
            continue
        if isinstance(value, str) and len(value) == 64:
            value = value[:12] + "…"
        elif isinstance(value, list):
            value = ", ".join(str(v)[:12] for v in value)
        parts.append(f"{name} {value}")
    return "; ".join(parts)


def _key_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """What differs between two keys, in words (``seed 0 -> 1``)."""
    names = [n for n in {**old, **new} if n != "format" and old.get(n) != new.get(n)]
    flat_old = {**old, **old.get("code", {})}
    flat_new = {**new, **new.get("code", {})}
    if "code" in names:
        names.remove("code")
        names += [n for n in flat_new.get("code", {}) if flat_old.get(n) != flat_new.get(n)]
    shown = []
    for n in names:
        a, b = flat_old.get(n), flat_new.get(n)
        a = a[:12] + "…" if isinstance(a, str) and len(a) == 64 else a
        b = b[:12] + "…" if isinstance(b, str) and len(b) == 64 else b
        shown.append(f"{n} {a} -> {b}")
    return "; ".join(shown) or "format"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(functools.partial(fh.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, write: Any) -> None:
    """Write ``path`` through ``write(tmp_path)`` under a unique name, fsync, rename."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class ChunkStore:
    """Finished, verified chunks of one scenario's runs.

    Args:
        path: The store's directory (created if missing).
        key_digest: Digest of the experiment's key, recorded in every manifest.
    """

    def __init__(self, path: Path, key_digest: str = "") -> None:
        self.path = Path(path)
        self.key_digest = key_digest
        self.path.mkdir(parents=True, exist_ok=True)
        # The work directory is locked: a temporary file here is a leftover of a crash.
        for leftover in self.path.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)

    def _manifests(self) -> list[tuple[int, int, Path]]:
        found = []
        for entry in os.scandir(self.path):
            m = _MANIFEST.match(entry.name)
            if m:
                found.append((int(m.group(1)), int(m.group(2)), Path(entry.path)))
        return sorted(found)

    def chunks(self) -> list[tuple[int, int]]:
        """``(first, last)`` run ids of every finished chunk, in run order."""
        return [(a, b) for a, b, _ in self._manifests()]

    def done(self) -> set[int]:
        """Run ids already finished."""
        return {r for a, b in self.chunks() for r in range(a, b + 1)}

    def runs_file(self, first: int, last: int) -> Path:
        """Outcomes file of a chunk."""
        return self.path / f"runs-{first:09d}-{last:09d}.parquet"

    def steps_file(self, first: int, last: int) -> Path:
        """Per-step series file of a chunk."""
        return self.path / f"steps-{first:09d}-{last:09d}.parquet"

    def manifest_file(self, first: int, last: int) -> Path:
        """Manifest of a chunk (written last: the chunk is finished when it exists)."""
        return self.path / f"chunk-{first:09d}-{last:09d}.json"

    def write(self, result: ChunkResult) -> None:
        """Write a finished chunk: series, outcomes, then the manifest; each atomically.

        If a write fails (a full disk), the chunk's files already written are removed
        too: a chunk is on disk whole, with its manifest, or not at all.
        """
        targets = [(result.runs, self.runs_file(result.first, result.last))]
        if result.steps is not None:
            targets.insert(0, (result.steps, self.steps_file(result.first, result.last)))
        manifest_file = self.manifest_file(result.first, result.last)
        try:
            self._write_chunk(result, targets, manifest_file)
        except BaseException:
            # Cut off (Ctrl-C, a full disk) before its manifest: take back the chunk's
            # files, so that a resume has no stray file to warn about and no half chunk.
            if not manifest_file.exists():
                for _, path in targets:
                    path.unlink(missing_ok=True)
            raise

    def _write_chunk(
        self, result: ChunkResult, targets: list[tuple[Any, Path]], manifest_file: Path
    ) -> None:
        files: dict[str, str] = {}
        for frame, path in targets:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            write_atomically(path, lambda tmp, t=table: pq.write_table(t, tmp, **PARQUET_OPTIONS))
            files[path.name] = sha256_file(path)
        manifest = {
            "first": result.first,
            "last": result.last,
            "runs": [int(r) for r in result.runs["run"]],
            "files": files,
            "key": self.key_digest,
        }
        text = json.dumps(manifest, indent=1) + "\n"
        write_atomically(manifest_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def _check(self, first: int, last: int, path: Path, runs: int) -> str | None:
        """Why a chunk's manifest or files fail (``None``: the chunk is sound)."""
        try:
            m = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return "unreadable manifest"
        if not isinstance(m, dict) or not isinstance(m.get("files"), dict):
            return "malformed manifest"
        if (m.get("first"), m.get("last")) != (first, last):
            return f"manifest is of runs {m.get('first')}..{m.get('last')}, not of its name"
        if m.get("runs") != list(range(first, last + 1)):
            return "run ids do not match the chunk's range"
        if last >= runs:
            return f"runs beyond the experiment's {runs}"
        if m.get("key") != self.key_digest:
            return "written by another experiment"
        if self.runs_file(first, last).name not in m["files"]:
            return "manifest lists no outcomes file"
        for name, digest in m["files"].items():
            file = self.path / name
            if not _CHUNK_FILE.match(name) or not file.is_file():
                return f"{name} is missing"
            if sha256_file(file) != digest:
                return f"{name} does not match its checksum (truncated or changed)"
        try:
            ids = pq.read_table(self.runs_file(first, last), columns=["run"]).column("run")
        except (OSError, pa.ArrowException, KeyError):
            return "outcomes file unreadable"
        if ids.to_pylist() != m["runs"]:
            return "run ids inside the outcomes file differ from the manifest"
        return None

    def verify(self, runs: int) -> list[str]:
        """Check every chunk; remove those that fail and stray chunk files; say what went.

        Args:
            runs: Runs of this store (run ids ``0 .. runs-1``).

        Returns:
            One notice per removed chunk or file (empty when everything is sound).
        """
        notices: list[str] = []
        bad: dict[Path, str] = {}
        sound: list[tuple[int, int, Path]] = []
        for first, last, path in self._manifests():
            why = self._check(first, last, path, runs)
            if why is None:
                sound.append((first, last, path))
            else:
                bad[path] = why
        reach: tuple[int, int, Path] | None = None  # the chunk reaching furthest so far
        for a2, b2, p2 in sound:
            if reach is not None and a2 <= reach[1]:
                a1, b1, p1 = reach
                bad[p1] = bad[p2] = f"runs {a1}..{b1} and {a2}..{b2} overlap"
            if reach is None or b2 > reach[1]:
                reach = (a2, b2, p2)
        for path, why in bad.items():
            m = _MANIFEST.match(path.name)
            assert m is not None
            first, last = int(m.group(1)), int(m.group(2))
            notices.append(f"{self.path.name}/: runs {first}..{last} are run again ({why})")
            for file in (path, self.runs_file(first, last), self.steps_file(first, last)):
                file.unlink(missing_ok=True)
        vouched = {path.name for _, _, path in sound if path not in bad}
        for _, _, path in sound:
            if path in bad:
                continue
            vouched |= set(json.loads(path.read_text("utf-8"))["files"])
        for entry in os.scandir(self.path):
            if _CHUNK_FILE.match(entry.name) and entry.name not in vouched:
                notices.append(
                    f"{self.path.name}/{entry.name}: no manifest vouches for it (cut off "
                    "before the chunk was complete, or put there by hand); removed, its runs "
                    "run again"
                )
                Path(entry.path).unlink(missing_ok=True)
        return notices

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


class WorkLock:
    """An exclusive lock on a work directory, held by one process (its PID in the file).

    Args:
        path: The lock file.

    Raises:
        ExperimentError: Another process holds it.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock (documented in the README)
            return
        for _ in range(3):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ExperimentError(
                    f"{self.path.parent} is in use by PID {holder} (another experiment is "
                    "writing there); wait for it to finish or choose another --out"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return
            os.close(fd)  # the file was removed and made anew meanwhile: lock the new one
        raise ExperimentError(f"cannot lock {self.path}")

    def release(self) -> None:
        """Release the lock (the file is left for the directory's owner to remove)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class WorkDir:
    """An experiment's work directory, locked and tied to the experiment's key.

    Args:
        path: The directory (``DIR.partial``).
        key: What identifies the experiment: kind, scenario hash(es), root seed,
            number of runs (JSON-compatible); the code's versions are added.
        restart: Discard finished runs of a different (or the same) experiment.

    Raises:
        StaleWorkError: ``path`` holds runs of a different experiment and
            ``restart`` is false.
        ExperimentError: ``path`` is not a work directory of this tool, or
            another process is using it.
    """

    def __init__(self, path: Path, key: Mapping[str, Any], *, restart: bool = False) -> None:
        self.path = Path(path)
        self.key = {"format": FORMAT, **key, "code": code_key()}
        canonical = json.dumps(self.key, sort_keys=True, separators=(",", ":"))
        self.key_digest = hashlib.sha256(canonical.encode()).hexdigest()
        state = self.path / STATE_FILE
        if self.path.exists() and not self.path.is_dir():
            raise ExperimentError(f"{self.path} exists and is not a directory")
        if self.path.is_dir() and not state.exists() and self._foreign():
            raise ExperimentError(
                f"{self.path}/ is not a work directory of escalation-sim (no {STATE_FILE}); "
                "remove or rename it, or choose another --out"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock = WorkLock(self.path / LOCK_FILE)
        try:
            old = self._read_state(state)
            if old is not None and old != self.key:
                if restart or not self._has_chunks():
                    self._clear()  # nothing finished is lost without --restart
                else:
                    raise StaleWorkError(
                        f"{self.path}/ holds unfinished runs of another experiment "
                        f"({_key_differences(old, self.key)}). Pass --restart (restart=True) "
                        "to discard them, or choose another output directory"
                    )
            elif restart:
                self._clear()
            elif old is None and state.exists():
                self._clear()  # an unreadable state vouches for nothing
            if not state.exists():
                text = json.dumps(self.key, indent=2) + "\n"
                write_atomically(state, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        except BaseException:
            self.lock.release()
            raise
        self._stores: dict[str, ChunkStore] = {}

    def _foreign(self) -> bool:
        """Whether the directory holds anything but a lock (of a start that failed early)."""
        return any(p.name != LOCK_FILE for p in self.path.iterdir())

    def _has_chunks(self) -> bool:
        return any(self.path.glob("*/chunk-*.json"))

    def _clear(self) -> None:
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    @staticmethod
    def _read_state(state: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def store(self, name: str) -> ChunkStore:
        """The chunk store called ``name`` (one per scenario of a comparison)."""
        if name not in self._stores:
            self._stores[name] = ChunkStore(self.path / name, self.key_digest)
        return self._stores[name]

    def finished_runs(self) -> int:
        """Runs whose chunks are on disk, over every store."""
        return sum(b - a + 1 for s in self._stores.values() for a, b in s.chunks())

    def remove(self) -> None:
        """Delete the work directory (after the outputs are in place) and release the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.lock.release()

    def release(self) -> None:
        """Release the lock and keep the directory (finished runs stay for a resume)."""
        self.lock.release()
