"""Runs on a Dask worker keep glibc's large blocks for reuse (fewer page faults, same numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from escalation_sim.experiment.heap import _glibc, run_heap

GLIBC = _glibc() is not None

# Runs two chunks in a fresh process, as a worker does, each through the function named on
# the command line (the process's own heap settings, or run_heap), and reports the page
# faults of the second (the first pays for imports, compiled kernels, the shared set-up).
PROBE = r"""
import gc, json, resource, sys
from escalation_sim.api import resolve_scenario
from escalation_sim.experiment import tasks
from escalation_sim.experiment.common import scenario_tasks
from escalation_sim.experiment.seeds import run_seeds

run = getattr(tasks, sys.argv[1])
sc = resolve_scenario("may30_kharkiv_counterfire", days=30)
first, second = scenario_tasks("runs", sc, run_seeds(0, 40), list(range(40)), 20)
run(first)
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
result = run(second)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"faults": faults, "fire": result.runs["fire_on_city"].tolist(),
                  "steps": float(result.steps.drop(columns=["run", "step"]).to_numpy().sum())}))
"""


def _probe(function: str, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, function],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc thresholds only")
def test_runs_under_dasks_trim_threshold_fault_far_less_and_give_the_same_results() -> None:
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    fixed = _probe("run_task", env)  # what a Dask worker did before
    heap = _probe("execute_task", env)  # what it does now
    # Every array of 128 KiB or more is mapped afresh under the fixed threshold; under
    # run_heap it is reused. Counted, not timed: the count does not depend on the load.
    assert heap["faults"] * 2 < fixed["faults"], (heap["faults"], fixed["faults"])
    assert heap["fire"] == fixed["fire"]
    assert heap["steps"] == fixed["steps"]


def test_run_heap_does_nothing_where_the_environment_fixes_no_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    with run_heap() as changed:
        assert changed is False
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "not a number")
    with run_heap() as changed:
        assert changed is False


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc thresholds only")
def test_run_heap_acts_where_the_environment_fixes_a_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with run_heap() as changed:
        assert changed is True


class _FakeLibc:
    """Records what run_heap asks of the C library."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad, 0))
        return 1


def test_run_heap_puts_the_environments_thresholds_back_when_the_last_task_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from escalation_sim.experiment import heap

    libc = _FakeLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    runs = [
        ("mallopt", heap.M_MMAP_THRESHOLD, heap.RUN_MMAP_THRESHOLD),
        ("mallopt", heap.M_TRIM_THRESHOLD, 2 * heap.RUN_MMAP_THRESHOLD),
    ]
    back = [
        ("mallopt", heap.M_MMAP_THRESHOLD, heap.DEFAULT_MMAP_THRESHOLD),
        ("mallopt", heap.M_TRIM_THRESHOLD, 65536),
        ("malloc_trim", 0, 0),
    ]
    with heap.run_heap():
        assert libc.calls == runs
        with heap.run_heap():  # a second task in another thread of the same worker
            pass
        assert libc.calls == runs  # the first is still running: nothing put back yet
    assert libc.calls == runs + back
    with pytest.raises(RuntimeError), heap.run_heap():
        raise RuntimeError("a run failed")
    assert libc.calls == (runs + back) * 2  # put back on the way out of a failure too
