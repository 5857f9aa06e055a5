"""Interrupting and resuming experiments; old chunks never mix with a changed experiment."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.experiment import ExperimentInterrupted, StaleWorkError, ensemble
from escalation_sim.experiment.compare import compare
from escalation_sim.experiment.store import partial_dir

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
PRE = ROOT / "scenarios" / "pre_may30.yaml"
TABLES = ("runs", "aggregates", "rung_probability")


def _same_outputs(a: Path, b: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / f"{name}.parquet"),
            pd.read_parquet(b / f"{name}.parquet"),
            check_exact=True,
        )
        assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes()


def _stop_after(chunks: int):
    seen = []

    def on_chunk(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) >= chunks:
            raise KeyboardInterrupt

    return on_chunk


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "escalation_sim", *args]


def _default_sigint() -> None:
    # A test run started in the background of a non-interactive shell inherits SIGINT
    # ignored; restore the default so the child behaves as it does at a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_cli(args: list[str], cwd: Path, **popen: object) -> subprocess.Popen:
    """The command line started as at a terminal (Ctrl-C not ignored), its output captured."""
    return subprocess.Popen(
        _cli(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        preexec_fn=_default_sigint,
        **popen,
    )


def _interrupt_when_chunks(proc: subprocess.Popen, work: Path, chunks: int, sig: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {proc.communicate()}")
        store = work / "runs"
        if store.is_dir() and len(list(store.glob("chunk-*.json"))) >= chunks:
            proc.send_signal(sig)
            return
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no chunk appeared in time")


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_cli_interrupted_with_sigint_resumes_to_the_uninterrupted_outputs(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", str(DEFAULT), "--runs", "120", "--days", "20", "--jobs", "1"]
    args += ["--chunk-size", "3", "--seed", "21", "--out", str(out), "--no-progress"]
    proc = _start_cli(args, tmp_path)
    _interrupt_when_chunks(proc, partial_dir(out), 3, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    kept = list((partial_dir(out) / "runs").glob("chunk-*.json"))  # finished chunks
    assert 3 <= len(kept) < 40

    resumed = CliRunner().invoke(main, args)
    assert resumed.exit_code == 0, resumed.output
    assert not partial_dir(out).exists()
    import json

    meta = json.loads((out / "metadata.json").read_text())
    assert meta["resumed_runs"] == 3 * len(kept)

    fresh = tmp_path / "fresh"
    ensemble(DEFAULT, runs=120, days=20, jobs=1, seed=21, out=fresh, progress=False)
    _same_outputs(out, fresh)


# Run by every Python process of the test below (on PYTHONPATH): a spawned worker marks
# that it is starting, then lingers in its start-up, where Ctrl-C would reach its imports.
# A Ctrl-C that reaches it there is noted in a file of its own, before the main process's
# SIGTERM (stopping the workers) can end it: Python runs signal handlers in the order of
# the signals' numbers, SIGINT's first, so the note is written even when both are pending.
_LINGERING_START = """
import os, signal, sys, time
if "--multiprocessing-fork" in sys.argv:
    mark = os.path.join(os.environ["ESCALATION_SIM_TEST_STARTING"], str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    open(mark, "w").close()
    try:
        time.sleep(4)
    except KeyboardInterrupt:
        open(mark + ".interrupted", "w").close()
        raise
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
"""


@pytest.mark.slow  # several seconds: left out of `make test-fast`
@pytest.mark.skipif(
    "spawn" not in multiprocessing.get_all_start_methods()
    or not hasattr(signal, "pthread_sigmask"),
    reason="needs spawn and per-thread signal masks",
)
def test_ctrl_c_while_spawned_workers_start_prints_no_worker_traceback(tmp_path: Path) -> None:
    # Ctrl-C at a terminal goes to the whole process group: the workers get it too,
    # here while each is still starting (before its initializer ignores Ctrl-C).
    hooks, starting = tmp_path / "hooks", tmp_path / "starting"
    hooks.mkdir()
    starting.mkdir()
    (hooks / "sitecustomize.py").write_text(_LINGERING_START)
    env = dict(os.environ, ESCALATION_SIM_TEST_STARTING=str(starting))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hooks), env.get("PYTHONPATH")]))
    out = tmp_path / "ens"
    args = ["ensemble", str(DEFAULT), "--runs", "200", "--days", "20", "--jobs", "2"]
    args += ["--start-method", "spawn", "--out", str(out), "--no-progress"]
    # Its own process group, as a terminal's command has.
    proc = _start_cli(args, tmp_path, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list(starting.glob("[0-9]*"))) < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the workers did not start: {proc.communicate()}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr, stderr
    assert not list(starting.glob("*.interrupted")), "Ctrl-C reached a starting worker"


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_sigterm_stops_a_pool_cleanly_and_the_rerun_resumes(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "ens"
    args = ["ensemble", str(DEFAULT), "--runs", "150", "--days", "20", "--jobs", "2"]
    args += ["--chunk-size", "3", "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(
        _cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    _interrupt_when_chunks(proc, partial_dir(out), 2, signal.SIGTERM)
    children = psutil.Process(proc.pid).children(recursive=True)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "resume" in stderr and "Traceback" not in stderr
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"workers left running: {alive}"

    assert not out.exists() and list((partial_dir(out) / "runs").glob("chunk-*.json"))
    resumed = CliRunner().invoke(main, args)
    assert resumed.exit_code == 0, resumed.output
    fresh = tmp_path / "fresh"
    ensemble(DEFAULT, runs=150, days=20, jobs=1, out=fresh, progress=False)
    _same_outputs(out, fresh)


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_resume_with_other_jobs_and_chunk_size_gives_the_same_outputs(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    kwargs = {"runs": 14, "days": 20, "seed": 2, "out": out, "progress": False}
    with pytest.raises(ExperimentInterrupted) as info:
        ensemble(DEFAULT, jobs=1, chunk_size=3, on_chunk=_stop_after(2), **kwargs)
    assert info.value.done == 6 and info.value.total == 14
    assert info.value.workdir == partial_dir(out)
    assert "run the same command again to resume" in info.value.message()
    resumed = ensemble(DEFAULT, jobs=2, chunk_size=5, **kwargs)
    assert resumed.metadata["resumed_runs"] == 6
    ensemble(DEFAULT, jobs=1, **{**kwargs, "out": tmp_path / "fresh"})
    _same_outputs(out, tmp_path / "fresh")


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_a_changed_scenario_or_size_never_mixes_with_old_chunks(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    base = ["ensemble", str(DEFAULT), "--runs", "8", "--days", "20", "--jobs", "1"]
    base += ["--out", str(out), "--no-progress"]
    with pytest.raises(ExperimentInterrupted):
        ensemble(
            DEFAULT,
            runs=8,
            days=20,
            jobs=1,
            chunk_size=2,
            out=out,
            progress=False,
            on_chunk=_stop_after(1),
        )
    kept = sorted(p.name for p in (partial_dir(out) / "runs").iterdir())
    assert kept

    changed = [*base, "--set", "actors.RUS.risk_tolerance=0.9"]
    for args in (changed, [*base[:3], "9", *base[4:]], [*base, "--seed", "1"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "--restart" in result.output and "another experiment" in result.output
        assert "Traceback" not in result.output
        assert sorted(p.name for p in (partial_dir(out) / "runs").iterdir()) == kept
        assert not out.exists()

    with pytest.raises(StaleWorkError):
        ensemble(
            DEFAULT,
            runs=8,
            days=20,
            jobs=1,
            out=out,
            progress=False,
            overrides=["actors.RUS.risk_tolerance=0.9"],
        )

    restarted = CliRunner().invoke(main, [*changed, "--restart"])
    assert restarted.exit_code == 0, restarted.output
    ensemble(
        DEFAULT,
        runs=8,
        days=20,
        jobs=1,
        out=tmp_path / "fresh",
        progress=False,
        overrides=["actors.RUS.risk_tolerance=0.9"],
    )
    _same_outputs(out, tmp_path / "fresh")


def test_compare_resumes_and_in_memory_interruption_keeps_nothing(tmp_path: Path) -> None:
    kwargs = {"runs": 6, "days": 20, "jobs": 1, "chunk_size": 2, "progress": False}
    with pytest.raises(ExperimentInterrupted) as info:
        compare([DEFAULT, PRE], out=tmp_path / "cmp", on_chunk=_stop_after(3), **kwargs)
    assert info.value.done == 6 and info.value.total == 12
    stores = partial_dir(tmp_path / "cmp")
    assert {p.name for p in stores.iterdir()} >= {"may30_kharkiv_counterfire", "pre_may30"}
    resumed = compare([DEFAULT, PRE], out=tmp_path / "cmp", **kwargs)
    fresh = compare([DEFAULT, PRE], out=tmp_path / "fresh", **kwargs)
    pd.testing.assert_frame_equal(resumed.table, fresh.table, check_exact=True)
    for label in fresh.labels:
        pd.testing.assert_frame_equal(resumed.runs[label], fresh.runs[label], check_exact=True)
        pd.testing.assert_frame_equal(
            resumed.aggregates[label], fresh.aggregates[label], check_exact=True
        )

    with pytest.raises(ExperimentInterrupted) as info:
        ensemble(
            DEFAULT, runs=4, days=20, jobs=1, chunk_size=1, progress=False, on_chunk=_stop_after(1)
        )
    assert info.value.workdir is None and "nothing was kept" in info.value.message()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_handler_is_restored_after_a_command(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(
        main,
        [
            "ensemble",
            str(DEFAULT),
            "--runs",
            "2",
            "--days",
            "5",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "e"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGTERM) is before
