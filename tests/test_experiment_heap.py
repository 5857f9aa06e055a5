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
