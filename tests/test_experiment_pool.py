"""The local pool: both start methods, warm workers from the fork server, a worker lost.

Also the head start: while a new pool's workers start, the process that made it
runs tasks itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from escalation_sim.experiment import ExperimentInterrupted, ensemble
from escalation_sim.experiment.executors import START_METHODS, LocalPoolExecutor
from escalation_sim.experiment.store import partial_dir
from escalation_sim.workers import PRELOAD, default_start_method, main_module_hidden

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
TABLES = ("runs", "aggregates", "rung_probability")
AVAILABLE = [m for m in START_METHODS if m in multiprocessing.get_all_start_methods()]


def _modules_loaded(_task: object) -> tuple[bool, bool]:
    """Run in a worker: was the preload module, and the model, there before any task?"""
    return PRELOAD in sys.modules, "escalation_sim.model.model" in sys.modules


def _where_run(task: int) -> tuple[int, int]:
    """Run in a worker or in this process: the task and the process that ran it."""
    time.sleep(0.05)  # a task long enough that spawned workers come up before the last
    return task, os.getpid()


def _fails_in_the_main_process(task: int) -> int:
    if multiprocessing.parent_process() is None:  # not a pool worker
        raise ValueError(f"task {task} failed in the main process")
    return task


def _same_csvs(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes(), name


@pytest.mark.parametrize("method", AVAILABLE)
def test_each_start_method_gives_the_serial_outputs_byte_for_byte(
    tmp_path: Path, method: str
) -> None:
    kwargs = {"runs": 6, "seed": 3, "days": 10, "progress": False}
    ensemble(DEFAULT, jobs=1, out=tmp_path / "serial", **kwargs)
    pooled = ensemble(
        DEFAULT, jobs=2, chunk_size=2, start_method=method, out=tmp_path / method, **kwargs
    )
    assert pooled.metadata["executor"] == {"kind": "local", "workers": 2, "start_method": method}
    _same_csvs(tmp_path / "serial", tmp_path / method)


def test_the_pool_forks_from_the_server_where_the_platform_has_one(tmp_path: Path) -> None:
    expected = "forkserver" if sys.platform.startswith("linux") else default_start_method()
    assert default_start_method() == expected
    result = ensemble(DEFAULT, runs=2, days=2, jobs=2, out=None, progress=False)
    assert result.metadata["executor"]["start_method"] == expected


@pytest.mark.skipif("forkserver" not in AVAILABLE, reason="no fork server on this platform")
def test_forkserver_workers_have_the_model_loaded_before_their_first_task() -> None:
    warm = LocalPoolExecutor(2, "forkserver", head_start=False)  # every task in a worker
    try:
        assert list(warm.imap_unordered(_modules_loaded, [0, 1])) == [(True, True)] * 2
    finally:
        warm.close()
    # The same check on a fresh interpreter (which imports the model only to unpickle
    # this test's function, so only the first answer tells).
    cold = LocalPoolExecutor(1, "spawn", head_start=False)
    try:
        assert [loaded[0] for loaded in cold.imap_unordered(_modules_loaded, [0])] == [False]
    finally:
        cold.close()


@pytest.mark.slow  # several seconds: left out of `make test-fast`
@pytest.mark.parametrize("head_start", [True, False])
def test_this_process_runs_tasks_only_while_a_new_pools_workers_start(head_start: bool) -> None:
    # Spawned workers take a second or more to import the model: time enough to see
    # this process take tasks meanwhile, and the workers take the rest once up.
    pool = LocalPoolExecutor(2, "spawn", head_start=head_start)
    try:
        done = list(pool.imap_unordered(_where_run, range(80)))
        here = [task for task, pid in done if pid == os.getpid()]
        assert sorted(task for task, _ in done) == list(range(80))  # each once, none lost
        assert pool.ran_here == len(here)
        if head_start:
            assert here, "nothing ran here while the workers started"
            # More than the first window: this process stopped taking tasks once up.
            assert len(done) - len(here) > 2 * pool.workers, "the head start never ended"
        else:
            assert not here
        # A second call on the same pool: its workers are up, nothing runs here.
        again = list(pool.imap_unordered(_where_run, range(4)))
        assert all(pid != os.getpid() for _, pid in again)
    finally:
        pool.close()


def test_a_task_failing_in_the_head_start_raises_its_error_and_closes_cleanly() -> None:
    pool = LocalPoolExecutor(2, "spawn")
    processes: list = []
    try:
        # Spawned workers take a second or more to start: the first task is this process's.
        with pytest.raises(ValueError, match="failed in the main process"):
            list(pool.imap_unordered(_fails_in_the_main_process, range(6)))
        processes = list(pool._pool._processes.values())  # the workers started meanwhile
    finally:
        pool.close(cancel=True)
    assert processes
    # Stopped by close, not left to exit on their own once their imports are done and
    # they find the pipe to this process closed (exit code 3). The pool's own thread
    # reaps them too: a moment for its bookkeeping.
    deadline = time.monotonic() + 5
    while any(p.exitcode is None for p in processes) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.exitcode for p in processes] == [-signal.SIGTERM] * len(processes)


def test_a_head_start_its_caller_abandons_stops_and_the_pool_serves_again() -> None:
    # A notebook's own executor (ExecutionOptions.executor), reused after an error.
    taken: list[int] = []

    def slow_tasks():  # tasks made slowly: the starter is still filling its window
        for task in range(40):
            time.sleep(0.2)
            taken.append(task)
            yield task

    pool = LocalPoolExecutor(2, "spawn")
    try:
        results = pool.imap_unordered(_where_run, slow_tasks())
        next(results)
        results.close()  # the caller stops reading (an error, Ctrl-C)
        assert pool._starter is not None and not pool._starter.is_alive()
        so_far = len(taken)
        time.sleep(0.5)
        assert len(taken) == so_far, "tasks still taken after the caller stopped"
        again = list(pool.imap_unordered(_where_run, range(4)))
        assert sorted(task for task, _ in again) == [0, 1, 2, 3]  # nothing of the first call
    finally:
        pool.close()


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_an_interrupt_during_the_head_start_keeps_what_finished_and_resumes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "ens"
    kwargs = {"runs": 12, "days": 10, "seed": 5, "progress": False, "out": out}
    started = time.monotonic()

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt  # at the first chunk: one run here, the workers still starting

    with pytest.raises(ExperimentInterrupted) as info:
        ensemble(DEFAULT, jobs=2, chunk_size=1, start_method="spawn", on_chunk=stop, **kwargs)
    assert time.monotonic() - started < 60
    assert info.value.done == 1
    assert not multiprocessing.active_children(), "workers left running"
    resumed = ensemble(DEFAULT, jobs=2, chunk_size=1, start_method="spawn", **kwargs)
    assert resumed.metadata["resumed_runs"] == 1
    ensemble(DEFAULT, jobs=1, **{**kwargs, "out": tmp_path / "serial"})
    _same_csvs(tmp_path / "serial", out)


#: A user's script with no ``if __name__ == "__main__":`` guard; it notes each time it runs.
UNGUARDED_SCRIPT = """
import escalation_sim

with open({log!r}, "a") as f:
    f.write("ran\\n")
escalation_sim.ensemble(
    {scenario!r}, runs=4, seed=3, days=3, jobs=2, chunk_size=1,
    start_method={method!r}, out={out!r}, progress=False,
)
print("done")
"""


@pytest.mark.parametrize("method", AVAILABLE)
def test_a_script_without_a_main_guard_runs_once_and_its_pool_works(
    tmp_path: Path, method: str
) -> None:
    # Workers import the program's main module unless told otherwise: the script would
    # run again in each, and its experiment call there would break the pool.
    log, out = tmp_path / "log.txt", tmp_path / "ens"
    script = tmp_path / "study.py"
    script.write_text(
        UNGUARDED_SCRIPT.format(log=str(log), scenario=str(DEFAULT), method=method, out=str(out))
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "done"
    assert "Traceback" not in done.stderr
    assert log.read_text() == "ran\n"  # in this process only, not in the workers
    ensemble(DEFAULT, runs=4, seed=3, days=3, jobs=1, out=tmp_path / "serial", progress=False)
    _same_csvs(tmp_path / "serial", out)


def test_workers_started_while_hidden_are_not_told_of_the_main_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from multiprocessing import spawn

    script = types.ModuleType("__main__")
    script.__file__ = "/somewhere/study.py"  # a user's script, run as `python study.py`
    script.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert spawn.get_preparation_data("w")["init_main_from_path"] == "/somewhere/study.py"

    seen_elsewhere: list[dict] = []
    with main_module_hidden():
        data = spawn.get_preparation_data("w")
        assert "init_main_from_path" not in data and "init_main_from_name" not in data
        with main_module_hidden():  # nested
            assert "init_main_from_path" not in spawn.get_preparation_data("w")
        assert "init_main_from_path" not in spawn.get_preparation_data("w")
        # Another thread (the pool's maker running tasks meanwhile) starts its processes as usual,
        other = threading.Thread(
            target=lambda: seen_elsewhere.append(spawn.get_preparation_data("w"))
        )
        other.start()
        other.join()
        # and the main module itself is untouched.
        assert script.__file__ == "/somewhere/study.py" and script.__spec__ is None
    assert seen_elsewhere[0]["init_main_from_path"] == "/somewhere/study.py"
    assert spawn.get_preparation_data("w")["init_main_from_path"] == "/somewhere/study.py"
    with pytest.raises(KeyError), main_module_hidden():
        raise KeyError("left on an error too")
    assert spawn.get_preparation_data("w")["init_main_from_path"] == "/somewhere/study.py"


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_a_worker_killed_mid_way_is_a_clean_error_and_the_rerun_resumes(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "ens"
    args = ["ensemble", str(DEFAULT), "--runs", "120", "--days", "20", "--jobs", "2"]
    args += ["--chunk-size", "3", "--out", str(out), "--no-progress", "--no-plot"]
    cli = [sys.executable, "-m", "escalation_sim"]
    proc = subprocess.Popen(
        [*cli, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    deadline = time.monotonic() + 60
    store = partial_dir(out) / "runs"
    main = psutil.Process(proc.pid)

    def workers() -> list:
        # The pool's workers: the fork server's children (under spawn, the main process's).
        return [
            p
            for p in main.children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())
            and (p.ppid() != proc.pid or default_start_method() == "spawn")
        ]

    # Two chunks written (the first may be the main process's own, while the workers
    # start) and the workers there.
    while time.monotonic() < deadline and (
        len(list(store.glob("chunk-*.json"))) < 2 or not workers()
    ):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    assert workers(), "no worker found"
    workers()[0].send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert "error: a worker process stopped unexpectedly" in stderr, stderr
    assert "run the same command again to resume" in stderr
    assert not out.exists() and list(store.glob("chunk-*.json"))

    resumed = subprocess.run([*cli, *args], capture_output=True, text=True, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    fresh = tmp_path / "fresh"
    ensemble(DEFAULT, runs=120, days=20, jobs=1, out=fresh, progress=False)
    _same_csvs(out, fresh)


def test_dask_workers_not_ready_compile_once_per_host_and_say_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dask_cluster
) -> None:
    from escalation_sim.experiment.executors import DaskExecutor
    from escalation_sim.model import kernels

    compiled: list[int] = []
    monkeypatch.setattr(kernels, "cache_is_cold", lambda: not compiled)  # a fresh machine
    monkeypatch.setattr(kernels, "warm_up", lambda: compiled.append(1) or 0.0)
    # Workers in this process (threads): both on one host, sharing one (patched) cache.
    executor = DaskExecutor(dask_cluster.scheduler_address)
    executor.close()
    err = capsys.readouterr().err
    assert compiled == [1], "one compilation for the host, not one per worker"
    assert "compiling the model's kernels on 2 Dask workers not yet ready" in err
    assert "compiled in" in err
    DaskExecutor(dask_cluster.scheduler_address).close()  # now ready: nothing compiled or said
    assert compiled == [1]
    assert "compiling" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "started"),
    [
        (["--jobs", "2"], ["forkserver"]),
        (["--jobs", "2", "--start-method", "spawn"], ["spawn"]),  # which then starts nothing
        (["--jobs", "1"], []),
        (["--jobs", "2", "--dask", "tcp://127.0.0.1:1"], []),
        (["--jobs", "2", "--help"], []),
    ],
)
def test_the_command_line_starts_the_fork_server_before_it_checks_its_options(
    monkeypatch: pytest.MonkeyPatch, extra: list[str], started: list[str]
) -> None:
    from click.testing import CliRunner

    import escalation_sim.workers
    from escalation_sim.cli import main

    calls: list[str] = []
    seed_checked: list[bool] = []
    monkeypatch.setattr(
        escalation_sim.workers,
        "start_fork_server",
        lambda method=None: calls.append(method or "forkserver") or True,
    )
    import escalation_sim.experiment.seeds as seeds

    real_check = seeds.check_seed
    monkeypatch.setattr(
        seeds, "check_seed", lambda v, *a: seed_checked.append(bool(calls)) or real_check(v, *a)
    )
    args = ["ensemble", "no-such-scenario.yaml", "--runs", "2", "--seed", "4", *extra]
    result = CliRunner().invoke(main, args)
    assert calls == started, result.output
    if "--help" not in extra:
        assert result.exit_code == 2 and "no-such-scenario" in result.output
        # The seed's rule is checked once, by the real parse, after the server's start.
        assert seed_checked == [bool(started)]


def test_a_bad_seed_is_still_a_usage_error_after_the_quiet_parse() -> None:
    from click.testing import CliRunner

    from escalation_sim.cli import main

    result = CliRunner().invoke(main, ["ensemble", str(DEFAULT), "--seed", "-1", "--jobs", "2"])
    assert result.exit_code == 2
    assert "Invalid value for '--seed'" in result.output and "Traceback" not in result.output
