"""Disk: experiments are refused before any run when the disk clearly cannot hold them, and a
disk that fills while they run ends them clearly, keeps every finished chunk and resumes."""

from __future__ import annotations

import errno
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_experiment_resume import _same_outputs  # the tables and CSVs, byte for byte

from escalation_sim.api import resolve_scenario
from escalation_sim.cli import main
from escalation_sim.experiment import ExperimentError, aggregate, diskspace, ensemble, store
from escalation_sim.experiment.common import scenario_tasks
from escalation_sim.experiment.diskspace import (
    ESTIMATE_FACTOR,
    DiskEstimate,
    DiskSpaceError,
    check_free_space,
)
from escalation_sim.experiment.seeds import run_seeds
from escalation_sim.experiment.store import ChunkStore, partial_dir
from escalation_sim.experiment.tasks import execute_task, run_columns

ROOT = Path(__file__).resolve().parents[1]
PRE = ROOT / "scenarios" / "pre_may30.yaml"
RUNS, DAYS, CHUNK = 6, 4, 2  # three chunks of two runs, five steps each


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


def _args(out: Path, *extra: str) -> list[str]:
    return [
        "ensemble", str(PRE), "-n", str(RUNS), "--days", str(DAYS), "--chunk-size", str(CHUNK),
        "-j", "1", "--out", str(out), *extra,
    ]  # fmt: skip


def _allocated(paths: Any) -> int:
    """Bytes the files take in whole 4 kB blocks, as on common file systems (their sizes,
    not ``st_blocks``, so that a compressing file system does not change the result)."""
    return sum(-(-p.stat().st_size // 4096) * 4096 for p in paths if p.is_file())


def _capture_estimates(monkeypatch: pytest.MonkeyPatch) -> list[DiskEstimate]:
    """Every estimate the experiment checks, in order."""
    seen: list[DiskEstimate] = []
    check = diskspace.check_free_space

    def capturing(need: DiskEstimate, warn: Callable[[str], None]) -> None:
        seen.append(need)
        check(need, warn)

    monkeypatch.setattr(diskspace, "check_free_space", capturing)
    return seen


def _free_space(monkeypatch: pytest.MonkeyPatch, free: Callable[[], int]) -> None:
    """Make the file system look as if ``free()`` bytes were free (as the preflight asks)."""
    monkeypatch.setattr(
        diskspace.shutil, "disk_usage", lambda path: _Usage(10**12, 10**12 - free(), free())
    )


def test_the_estimate_is_within_its_stated_factor_of_what_an_ensemble_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real bytes: each chunk's files as written, then the published directory with the
    # figure the command draws. If the chunk or output format grows, this fails.
    seen = _capture_estimates(monkeypatch)
    chunk_bytes: list[int] = []
    write = ChunkStore.write

    def measuring(self: ChunkStore, result: Any) -> None:
        write(self, result)
        a, b = result.first, result.last
        files = (self.steps_file(a, b), self.runs_file(a, b), self.manifest_file(a, b))
        chunk_bytes.append(_allocated(files))

    monkeypatch.setattr(ChunkStore, "write", measuring)
    out = tmp_path / "e"
    result = CliRunner().invoke(main, _args(out, "--plot"))
    assert result.exit_code == 0, result.output
    (need,) = seen
    assert need.missing == RUNS and len(chunk_bytes) == RUNS // CHUNK
    assert need.spill == 0  # six runs fit in memory
    for estimated, real in (
        (need.chunks, sum(chunk_bytes)),
        (need.outputs, _allocated(out.iterdir())),
    ):
        assert real / ESTIMATE_FACTOR <= estimated <= real * ESTIMATE_FACTOR, (estimated, real)


def _chunks(folder: Path, chunk: int = CHUNK) -> tuple[ChunkStore, Any]:
    """A store holding the runs of the test ensemble, and its scenario."""
    scenario = resolve_scenario(PRE, days=DAYS)
    chunks = ChunkStore(folder)
    for task in scenario_tasks("s", scenario, run_seeds(0, RUNS), range(RUNS), chunk):
        chunks.write(execute_task(task))
    return chunks, scenario


def test_the_spill_estimate_is_the_size_of_the_real_spill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spilled: list[int] = []
    spill = aggregate._spill

    def measuring(*args: Any) -> dict[str, Path]:
        paths = spill(*args)
        spilled.append(_allocated(paths.values()))
        return paths

    monkeypatch.setattr(aggregate, "_spill", measuring)
    chunks, scenario = _chunks(tmp_path / "s")
    budget = 40  # far fewer values than six runs hold: the series are spilled
    aggregate.aggregate_series(chunks, scenario, budget=budget)
    (real,) = spilled
    series = len(run_columns(scenario)[1])
    shape = diskspace.StoreShape(run_columns=0, series=series, steps=DAYS + 1, rungs=0)
    estimated = diskspace.spill_bytes(shape, RUNS, budget)
    assert real / ESTIMATE_FACTOR <= estimated <= real * ESTIMATE_FACTOR, (estimated, real)
    assert diskspace.spill_bytes(shape, RUNS) == 0  # the default budget holds six runs


def _counting_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Seeds of the runs executed in this process (``-j 1``)."""
    from escalation_sim.experiment import tasks

    ran: list[int] = []
    run_many = tasks.run_many

    def counting(scenario: Any, seeds: Any) -> Any:
        ran.extend(seeds)
        return run_many(scenario, seeds)

    monkeypatch.setattr(tasks, "run_many", counting)
    return ran


def test_clearly_too_little_free_disk_refuses_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _counting_runs(monkeypatch)
    _free_space(monkeypatch, lambda: 100_000)  # less than one chunk takes
    out = tmp_path / "e"
    result = CliRunner().invoke(main, _args(out, "--no-plot"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is not None
    message = result.stderr
    assert message.startswith("error: not enough free disk")
    assert str(partial_dir(out)) in message and "100 kB is free" in message
    assert "needs about" in message and "chunk files of the 6 runs" in message
    assert "--out" in message and "fewer runs" in message
    assert "starting" not in message and "in this process" not in message  # nothing started
    assert ran == []
    assert not out.exists() and not partial_dir(out).exists()  # nothing left behind


def test_a_need_within_the_estimates_noise_of_the_free_disk_warns_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _capture_estimates(monkeypatch)
    _free_space(monkeypatch, lambda: seen[-1].need)  # exactly what the estimate says
    out = tmp_path / "e"
    result = CliRunner().invoke(main, _args(out, "--no-plot"))
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "may run out of disk" in result.stderr
    assert (out / "runs.parquet").is_file()


@pytest.mark.parametrize(
    ("free", "outcome"),
    [
        (1.0 / ESTIMATE_FACTOR - 0.01, "refused"),
        (1.0 / ESTIMATE_FACTOR + 0.01, "warned"),
        (ESTIMATE_FACTOR - 0.01, "warned"),
        (ESTIMATE_FACTOR + 0.01, "silent"),
    ],
)
def test_refusal_and_warning_bands_follow_the_estimates_factor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: float, outcome: str
) -> None:
    need = DiskEstimate(tmp_path, missing=100, chunks=8_000_000, spill=3_000_000, outputs=2_000_000)
    assert need.need == 11_000_000  # the spill is gone before the outputs are written
    _free_space(monkeypatch, lambda: int(free * need.need))
    warned: list[str] = []
    if outcome == "refused":
        with pytest.raises(DiskSpaceError, match="not enough free disk"):
            check_free_space(need, warned.append)
        return
    check_free_space(need, warned.append)
    assert len(warned) == (1 if outcome == "warned" else 0)


def test_a_resume_needs_chunk_room_only_for_the_missing_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _capture_estimates(monkeypatch)
    out = tmp_path / "e"

    def stop_after_first_chunk(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensemble(
            PRE,
            runs=RUNS,
            days=DAYS,
            jobs=1,
            chunk_size=CHUNK,
            out=out,
            on_chunk=stop_after_first_chunk,
        )
    ensemble(PRE, runs=RUNS, days=DAYS, jobs=1, chunk_size=CHUNK, out=out)
    first, resumed = seen
    assert (first.missing, resumed.missing) == (RUNS, RUNS - CHUNK)
    assert resumed.chunks * RUNS // CHUNK == first.chunks * (RUNS // CHUNK - 1)
    assert resumed.outputs == first.outputs  # the outputs hold every run either way


def _fail_chunk_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second chunk's outcomes file: half written, then the disk is full."""

    class FullDisk:
        calls = 0

        def write_table(self, table: Any, where: Any, **kwargs: Any) -> None:
            FullDisk.calls += 1
            if FullDisk.calls == 4:  # chunk 1: series, outcomes; chunk 2: series, *outcomes*
                Path(where).write_bytes(b"PAR1 cut off")
                raise OSError(errno.ENOSPC, "No space left on device")
            pq.write_table(table, where, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(pq, name)

    monkeypatch.setattr(store, "pq", FullDisk())


def _fail_spill(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spill: one write stops short (as on a filling disk), the next finds it full."""
    pwrite = os.pwrite
    calls = [0]

    def filling(fd: int, data: Any, offset: int) -> int:
        calls[0] += 1
        if calls[0] == 7:
            return pwrite(fd, bytes(data)[: len(data) // 2], offset)
        if calls[0] == 8:
            raise OSError(errno.ENOSPC, "No space left on device")
        return pwrite(fd, data, offset)

    monkeypatch.setattr(aggregate.os, "pwrite", filling)


def _fail_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    """The metadata, the last output but the scenario: the disk is full."""
    module = importlib.import_module("escalation_sim.experiment.ensemble")  # not the function

    def full(data: Any, path: Path) -> None:
        path.write_text("{", encoding="utf-8")
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(module, "write_json", full)


@pytest.mark.parametrize(
    ("fail", "doing", "kept"),
    [
        (_fail_chunk_write, "disk full while writing finished runs", CHUNK),
        (_fail_spill, "disk full while aggregating the runs", RUNS),
        (_fail_publish, "quota exhausted while writing the outputs", RUNS),
    ],
    ids=["chunk", "spill", "publish"],
)
def test_a_disk_that_fills_mid_way_ends_clearly_keeps_finished_runs_and_resumes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail: Callable[[pytest.MonkeyPatch], None],
    doing: str,
    kept: int,
) -> None:
    monkeypatch.setattr(aggregate, "DEFAULT_BUDGET", 40)  # spill, as many runs would
    reference = tmp_path / "reference"
    assert CliRunner().invoke(main, _args(reference, "--no-plot")).exit_code == 0
    out = tmp_path / "e"
    work = partial_dir(out)
    with monkeypatch.context() as patch:
        fail(patch)
        result = CliRunner().invoke(main, _args(out, "--no-plot"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = result.stderr
    assert f"\nerror: {doing}" in message, message
    assert f"{kept} of {RUNS} runs are finished and kept in {work}/" in message
    assert "run the same command again" in message
    # Nothing half-written: whole chunks only, no temporary file, no spill, no output.
    files = sorted(p.name for p in (work / "runs").iterdir())
    chunks = [
        f"{k}-{a:09d}-{a + CHUNK - 1:09d}"
        for a in range(0, kept, CHUNK)
        for k in ("chunk", "runs", "steps")
    ]
    assert files == sorted(f"{c}.json" if c.startswith("chunk") else f"{c}.parquet" for c in chunks)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert not out.exists()
    resumed = CliRunner().invoke(main, _args(out, "--no-plot"))
    assert resumed.exit_code == 0, resumed.output
    assert "warning" not in resumed.stderr  # no chunk needed repair
    _same_outputs(out, reference)
    assert not work.exists()


def test_an_in_memory_experiment_on_a_full_disk_says_nothing_was_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fail_chunk_write(monkeypatch)
    with pytest.raises(ExperimentError, match="disk full while writing finished runs") as caught:
        ensemble(PRE, runs=RUNS, days=DAYS, jobs=1, chunk_size=CHUNK)
    assert isinstance(caught.value, DiskSpaceError)
    assert "no run was kept" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


def test_a_spill_write_that_stops_short_is_completed_not_left_with_a_hole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a filling disk a write may store only part of its bytes and say so, without an
    # error; a spill that ignored it kept a hole of zeros and aggregated wrong values.
    chunks, scenario = _chunks(tmp_path / "s")
    whole = aggregate.aggregate_series(chunks, scenario)  # in memory: no spill
    pwrite = os.pwrite
    calls = [0]

    def stopping_short(fd: int, data: Any, offset: int) -> int:
        calls[0] += 1
        data = bytes(data)
        return pwrite(fd, data[: max(1, len(data) // 2)], offset)  # half of it, every time

    monkeypatch.setattr(aggregate.os, "pwrite", stopping_short)
    spilled = aggregate.aggregate_series(chunks, scenario, budget=600)  # 4 runs a write
    assert calls[0] > 0
    pd.testing.assert_frame_equal(spilled, whole, check_exact=True)


def test_a_disk_that_fills_while_the_figure_is_drawn_leaves_no_cut_off_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    out = tmp_path / "e"
    assert CliRunner().invoke(main, _args(out)).exit_code == 0
    figures = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert figures  # the command drew its main figure
    before = {name: (out / name).read_bytes() for name in figures}

    def cut_off(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"\x89PNG half")  # what a full disk leaves mid-write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", cut_off)
    result = CliRunner().invoke(main, ["plot", str(out), "--main-only"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{out / figures[0]}: cannot be written (No space left on device)" in result.stderr
    assert f"escalation-sim plot {out}" in result.stderr
    # The earlier figure stands whole; no temporary file is left beside it.
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == figures
    assert {name: (out / name).read_bytes() for name in figures} == before
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == []

    rerun = CliRunner().invoke(main, [*_args(out), "--force"])
    assert rerun.exit_code == 2, rerun.output  # the outputs are written, the figure is not
    assert "cannot be written (No space left on device)" in rerun.stderr
    assert "Traceback" not in rerun.output
