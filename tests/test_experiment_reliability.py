"""Outputs and resumable work: nothing lost, nothing wrong accepted, clean refusals.

Each test here stands for a point of the reliability issue: ``--force`` only
over directories this tool wrote, chunk corruption detected and run again,
the code in the resume key, the work-directory lock, failed starts that leave
nothing behind, bounds checked before anything is allocated, figures of
damaged directories refused cleanly, permissions that follow the umask, and
pool workers that do not outlive their parent.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.experiment import ExecutionOptions, ExperimentError, StaleWorkError, ensemble
from escalation_sim.experiment import store as store_module
from escalation_sim.experiment.executors import Executor
from escalation_sim.experiment.store import WorkLock, partial_dir
from escalation_sim.results import OUTPUT_MARKER, OutputError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
PRE = ROOT / "scenarios" / "pre_may30.yaml"
SMALL = {"runs": 8, "days": 5, "seed": 4, "jobs": 1, "progress": False}


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "escalation_sim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def _clean_error(result, text: str) -> None:
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert code == 2, output
    assert "Traceback" not in output
    assert text in output, output


# ----------------------------------------------------------------- 14.1 --force, markers
def test_force_never_replaces_a_directory_this_tool_did_not_write(tmp_path: Path) -> None:
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("years of work")
    tail = ["--days", "2", "--out", str(thesis), "--force", "--no-plot"]
    for args in (["run", str(DEFAULT), *tail], ["ensemble", str(DEFAULT), "--runs", "2", *tail]):
        _clean_error(CliRunner().invoke(main, args), "not an output directory of escalation-sim")
        assert (thesis / "thesis.txt").read_text() == "years of work"
        assert not partial_dir(thesis).exists()

    # A directory it wrote carries the marker and is replaced with --force.
    out = tmp_path / "ens"
    ensemble(DEFAULT, out=out, **{**SMALL, "runs": 2})
    assert (out / OUTPUT_MARKER).is_file()
    again = ensemble(DEFAULT, out=out, force=True, **{**SMALL, "runs": 3})
    assert len(again.runs) == 3


@pytest.mark.slow
def test_out_may_not_be_the_current_directory_or_hold_the_inputs(tmp_path: Path) -> None:
    scenario = tmp_path / "mine.yaml"
    scenario.write_text(DEFAULT.read_text())
    (tmp_path / "notes.txt").write_text("keep")
    for args in (
        ["run", str(scenario), "--days", "2", "--out", ".", "--force"],
        ["ensemble", str(scenario), "--runs", "2", "--days", "2", "--out", ".", "--force"],
    ):
        _clean_error(_cli(*args, cwd=tmp_path), "is the current directory")
    for args in (
        ["run", str(scenario), "--days", "2", "--out", str(tmp_path), "--force"],
        ["compare", str(scenario), str(PRE), "--runs", "2", "--out", str(tmp_path), "--force"],
    ):
        _clean_error(CliRunner().invoke(main, args), "an input of this command")
    assert scenario.is_file() and (tmp_path / "notes.txt").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".old", ".partial"))]
    with pytest.raises(OutputError):
        ensemble(scenario, out=tmp_path, force=True, **SMALL)


# ----------------------------------------------------------------- 14.2 chunk verification
def _interrupted(out: Path, chunks: int = 3) -> None:
    seen: list[int] = []

    def stop(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == chunks:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensemble(DEFAULT, out=out, chunk_size=2, on_chunk=stop, **SMALL)


def _truncate(store: Path) -> None:
    path = sorted(store.glob("runs-*.parquet"))[0]
    path.write_bytes(path.read_bytes()[:40])


def _garbage(store: Path) -> None:
    sorted(store.glob("steps-*.parquet"))[1].write_bytes(b"not parquet at all" * 10)


def _empty(store: Path) -> None:
    sorted(store.glob("runs-*.parquet"))[2].write_bytes(b"")


def _delete_steps(store: Path) -> None:
    sorted(store.glob("steps-*.parquet"))[0].unlink()


def _edit_values(store: Path) -> None:
    path = sorted(store.glob("runs-*.parquet"))[1]
    table = pq.read_table(path).to_pandas()
    table["fire_on_city"] = table["fire_on_city"] + 1000.0
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)


def _stray_copy(store: Path) -> None:
    for kind in ("runs", "steps"):
        src = store / f"{kind}-000000000-000000001.parquet"
        (store / f"{kind}-000000006-000000007.parquet").write_bytes(src.read_bytes())


def _renamed(store: Path) -> None:
    # A finished chunk copied whole (manifest too) under another range's names.
    for kind, ext in (("runs", "parquet"), ("steps", "parquet"), ("chunk", "json")):
        src = store / f"{kind}-000000002-000000003.{ext}"
        (store / f"{kind}-000000006-000000007.{ext}").write_bytes(src.read_bytes())


def _overlap(store: Path) -> None:
    # Sound chunks of the same experiment, cut into other ranges (another --chunk-size),
    # copied in beside the existing ones: runs 0..2 overlap 0..1 and 2..3.
    other = store.parent.parent / "other"
    seen: list[int] = []

    def stop(done: int, total: int) -> None:
        seen.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensemble(DEFAULT, out=other, chunk_size=3, on_chunk=stop, **SMALL)
    for path in (partial_dir(other) / "runs").glob("*-000000000-000000002.*"):
        (store / path.name).write_bytes(path.read_bytes())


CORRUPTIONS = {
    "truncated": (_truncate, "does not match its checksum"),
    "garbage": (_garbage, "does not match its checksum"),
    "zero-length": (_empty, "does not match its checksum"),
    "deleted steps file": (_delete_steps, "is missing"),
    "edited values": (_edit_values, "does not match its checksum"),
    "stray extra chunk": (_stray_copy, "no manifest vouches for it"),
    "copied under another range": (_renamed, "not of its name"),
    "overlapping ranges": (_overlap, "overlap"),
}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fresh") / "ens"
    ensemble(DEFAULT, out=out, **SMALL)
    return out


#: Kinds run only in the full suite (each like a faster one: a file failing its checksum).
SLOW_KINDS = ("garbage", "zero-length", "deleted steps file")


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.slow) if k in SLOW_KINDS else k
        for k in sorted(CORRUPTIONS)
    ],
)
def test_corrupt_chunks_are_detected_said_and_run_again(kind: str, tmp_path: Path, fresh) -> None:
    out = tmp_path / "ens"
    _interrupted(out)
    damage, why = CORRUPTIONS[kind]
    damage(partial_dir(out) / "runs")
    notices: list[str] = []
    result = ensemble(DEFAULT, out=out, on_notice=notices.append, **SMALL)
    assert any(why in n for n in notices), notices
    assert result.metadata["resume_repairs"] == notices
    for name in ("runs", "aggregates", "rung_probability"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"),
            pd.read_parquet(fresh / f"{name}.parquet"),
            check_exact=True,
        )


def test_the_cli_says_what_a_resume_repaired(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    _interrupted(out)
    _truncate(partial_dir(out) / "runs")
    args = ["ensemble", str(DEFAULT), "--runs", "8", "--days", "5", "--seed", "4", "--jobs", "1"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--no-progress", "--no-plot"])
    assert result.exit_code == 0, result.output
    assert "warning: runs/: runs 0..1 are run again" in result.output


# ----------------------------------------------------------------- 14.3 code in the key
def test_a_resume_after_a_code_change_is_refused(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "ens"
    _interrupted(out, chunks=1)
    state = json.loads((partial_dir(out) / "state.json").read_text())
    assert set(state["code"]) == {"package_version", "source_hash", "numpy_version"}
    changed = {**store_module.code_key(), "source_hash": "0" * 64}
    monkeypatch.setattr(store_module, "code_key", lambda: changed)
    with pytest.raises(StaleWorkError, match="source_hash"):
        ensemble(DEFAULT, out=out, **SMALL)


# ----------------------------------------------------------------- 14.4 lock, temporaries
def test_a_work_directory_in_use_is_refused_with_the_pid(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    partial_dir(out).mkdir(parents=True)
    held = WorkLock(partial_dir(out) / ".lock")
    try:
        with pytest.raises(ExperimentError, match=f"in use by PID {os.getpid()}"):
            ensemble(DEFAULT, out=out, **SMALL)
        args = ["ensemble", str(DEFAULT), "--runs", "2", "--days", "2", "--out", str(out)]
        _clean_error(CliRunner().invoke(main, args), "in use by PID")
    finally:
        held.release()
    assert len(ensemble(DEFAULT, out=out, **SMALL).runs) == 8  # free again: it runs


def test_chunk_files_are_written_under_unique_temporary_names(tmp_path: Path) -> None:
    names: list[str] = []
    real = store_module.tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        names.append(Path(name).name)
        return fd, name

    store_module.tempfile.mkstemp = spy
    try:
        ensemble(DEFAULT, out=tmp_path / "e", **{**SMALL, "runs": 4})
    finally:
        store_module.tempfile.mkstemp = real
    assert len(names) == len(set(names)) > 4
    assert not any(n.endswith(".parquet.tmp") and n.startswith(("runs-", "steps-")) for n in names)


# ----------------------------------------------------------------- 14.6 failed starts
class _FailingExecutor(Executor):
    def __init__(self) -> None:
        self.workers = 1
        self.description = {"kind": "failing"}

    def imap_unordered(self, fn, tasks):
        raise MemoryError("no memory for the workers")


def test_a_failed_start_leaves_nothing_that_blocks_the_corrected_command(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    with pytest.raises(MemoryError):
        ensemble(
            DEFAULT,
            out=out,
            options=ExecutionOptions(executor=_FailingExecutor()),
            **{k: v for k, v in SMALL.items() if k not in ("jobs", "progress")},
        )
    assert not partial_dir(out).exists() and not out.exists()
    corrected = ensemble(DEFAULT, out=out, **{**SMALL, "runs": 3})  # another key: no --restart
    assert len(corrected.runs) == 3

    # A work directory with a state but no finished chunk never blocks another experiment.
    other = tmp_path / "other"
    partial_dir(other).mkdir()
    (partial_dir(other) / "state.json").write_text(json.dumps({"kind": "ensemble", "runs": 99}))
    assert len(ensemble(DEFAULT, out=other, **{**SMALL, "runs": 2}).runs) == 2


# ----------------------------------------------------------------- 14.12 bounds
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "100000"], "workers per CPU"),
        (["--chunk-size", "1000000"], "--chunk-size must be a whole number from 1 to"),
        (["--runs", str(10**12)], "is more than 1,000,000"),
        (["--dask", "not a url"], "is not a Dask scheduler address"),
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--seed", str(2**63)], "Invalid value for '--seed'"),
    ],
)
def test_experiment_bounds_are_clean_errors_before_any_work(args, message, tmp_path) -> None:
    start = time.perf_counter()
    base = ["ensemble", str(DEFAULT), "--runs", "2", "--days", "2", "--out", str(tmp_path / "e")]
    _clean_error(CliRunner().invoke(main, [*base, *args]), message)
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "e").exists() and not partial_dir(tmp_path / "e").exists()


def test_the_api_takes_the_seeds_the_command_line_takes() -> None:
    from escalation_sim.experiment.seeds import SEED_MAX, check_seed

    assert SEED_MAX == 2**63 - 1
    assert check_seed(SEED_MAX) == SEED_MAX
    for bad in (-1, 2**63, True, 1.5):
        with pytest.raises(ValueError, match="integer from 0 to"):
            check_seed(bad)


@pytest.mark.parametrize("command", ["run", "ensemble", "compare", "robustness"])
def test_every_command_checks_seeds_alike(command: str, tmp_path: Path) -> None:
    scenarios = [str(DEFAULT), str(PRE)] if command in ("compare", "robustness") else [str(DEFAULT)]
    for seed in ("-1", str(2**63), "x"):
        args = [command, *scenarios, "--days", "2", "--seed", seed, "--out", str(tmp_path / "o")]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "Invalid value for '--seed'" in result.output


@pytest.mark.parametrize(
    ("design", "parameters", "size"),
    [
        ({"method": "sobol", "samples": 2**40}, 1, "3,298,534,883,328 points"),
        ({"method": "morris", "trajectories": 10**8}, 1, "200,000,000 points"),
        ({"method": "grid"}, 2, "10,000,000,000 points"),
    ],
)
def test_absurd_sweep_designs_are_refused_under_check(design, parameters, size, tmp_path) -> None:
    params = {
        "actors.RUS.risk_tolerance": {"range": [0.1, 0.9], "steps": 100_000},
        "weapons.GMLRS.range_km": {"range": [40, 120], "steps": 100_000},
    }
    if design["method"] != "grid":
        params = {"actors.RUS.risk_tolerance": {"range": [0.1, 0.9]}}
    path = tmp_path / "big.yaml"
    path.write_text(json.dumps({"base": str(DEFAULT), "design": design, "parameters": params}))
    start = time.perf_counter()
    _clean_error(CliRunner().invoke(main, ["sweep", str(path), "--check"]), size)
    assert time.perf_counter() - start < 5


def test_check_reports_the_design_size(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    spec = {
        "base": str(DEFAULT),
        "replications": 3,
        "design": {"method": "morris", "trajectories": 4},
        "parameters": {"actors.RUS.risk_tolerance": {"range": [0.1, 0.9]}},
    }
    path.write_text(json.dumps(spec))
    result = CliRunner().invoke(main, ["sweep", str(path), "--check"])
    assert result.exit_code == 0 and "8 points x 3 replications = 24 runs" in result.output


# ----------------------------------------------------------------- 14.13 damaged directories
def test_plot_of_a_damaged_directory_is_a_clean_error(tmp_path: Path, fresh) -> None:
    cases = {
        "garbage": ("{not json", "metadata.json: not readable JSON"),
        "list": ("[1, 2, 3]", "metadata.json: holds a list, expected a mapping"),
        "no-fields": ('{"kind": "compare"}', "error: "),
    }
    for name, (text, message) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "metadata.json").write_text(text)
        _clean_error(CliRunner().invoke(main, ["plot", str(folder)]), message)
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in fresh.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    data = (broken / "aggregates.parquet").read_bytes()
    (broken / "aggregates.parquet").write_bytes(data[: len(data) // 2])
    _clean_error(CliRunner().invoke(main, ["plot", str(broken)]), "damaged or truncated")


# ----------------------------------------------------------------- 12.2 permissions
def test_output_directories_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        run = CliRunner().invoke(
            main, ["run", str(DEFAULT), "--days", "2", "--out", str(tmp_path / "r"), "--no-plot"]
        )
        assert run.exit_code == 0, run.output
        ensemble(DEFAULT, out=tmp_path / "e", **{**SMALL, "runs": 2})
    finally:
        os.umask(old)
    for folder in (tmp_path / "r", tmp_path / "e"):
        mode = stat.S_IMODE(folder.stat().st_mode)
        assert mode == 0o755, oct(mode)


# ----------------------------------------------------------------- 14.14 orphaned workers
@pytest.mark.slow
@pytest.mark.parametrize(
    "method",
    [m for m in ("forkserver", "spawn") if m in multiprocessing.get_all_start_methods()],
)
def test_pool_workers_exit_when_the_main_process_is_killed(tmp_path: Path, method: str) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "ens"
    args = ["ensemble", str(DEFAULT), "--runs", "200", "--days", "30", "--jobs", "2"]
    args += ["--start-method", method]
    proc = subprocess.Popen(
        [sys.executable, "-m", "escalation_sim", *args, "--chunk-size", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not list(partial_dir(out).glob("runs/chunk-*.json")):
        time.sleep(0.1)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "no worker started"
    os.kill(proc.pid, signal.SIGKILL)  # the main process alone
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=15)
    for child in alive:
        child.kill()
    assert not alive, f"left running after their parent died: {alive}"


def test_an_unwritable_out_is_a_clean_error_before_any_run(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    for out in (tmp_path / "a-file" / "ens", Path("/proc/escalation-sim-test")):
        args = ["ensemble", str(DEFAULT), "--runs", "2", "--days", "2", "--out", str(out)]
        _clean_error(CliRunner().invoke(main, [*args, "--jobs", "1"]), "cannot create")
