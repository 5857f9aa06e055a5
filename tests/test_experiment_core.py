"""The experiment core: one options object, and a new experiment as a short design on it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from escalation_sim import ensemble
from escalation_sim.experiment import ExecutionOptions, Experiment, Plan, aggregate
from escalation_sim.experiment.common import scenario_tasks, write_json
from escalation_sim.experiment.seeds import run_seeds
from escalation_sim.scenario.loader import resolve_scenario

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"


def test_options_take_keywords_over_the_object_and_refuse_unknown_ones() -> None:
    base = ExecutionOptions(jobs=2, progress=False)
    merged = ExecutionOptions.of(base, {"jobs": 1, "out": "x"}, caller="ensemble")
    assert (merged.jobs, merged.out, merged.progress) == (1, "x", False)
    assert base.jobs == 2  # the object passed in is not changed
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.jobs = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"ensemble\(\) got an unexpected keyword.*'chunk_size'"):
        ExecutionOptions.of(None, {"chunk_sise": 3}, caller="ensemble")
    with pytest.raises(TypeError, match="unexpected keyword"):
        ensemble(DEFAULT, runs=1, days=2, job=1)


def test_options_object_and_keywords_give_the_same_ensemble(tmp_path: Path) -> None:
    by_keywords = ensemble(DEFAULT, runs=3, days=5, jobs=1, progress=False)
    opts = ExecutionOptions(jobs=1, progress=False, chunk_size=1, out=tmp_path / "e")
    by_object = ensemble(DEFAULT, runs=3, days=5, options=opts)
    assert by_object.path == tmp_path / "e" and by_object.metadata["chunk_size"] == 1
    pd.testing.assert_frame_equal(by_keywords.runs, by_object.runs, check_exact=True)


def test_a_new_experiment_is_a_short_design_on_the_core(tmp_path: Path) -> None:
    """The recipe of the core's docstring: plan, run, tables, publish; resume comes free."""
    sc = resolve_scenario(DEFAULT, days=5)
    seeds = run_seeds(4, 5)
    plan = Plan(
        kind="tiny",
        key={"root_seed": 4, "runs": 5},
        runs={"runs": 5},
        tasks=lambda store, missing, size: scenario_tasks(store, sc, seeds, missing, size),
    )
    calls: list[int] = []

    def stop_after_first(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            raise KeyboardInterrupt

    opts = ExecutionOptions(out=tmp_path / "t", jobs=1, chunk_size=2, progress=False)
    interrupted = dataclasses.replace(opts, on_chunk=stop_after_first)
    with pytest.raises(KeyboardInterrupt), Experiment(plan, interrupted) as ex:
        ex.run()
    with Experiment(plan, opts) as ex:
        done = ex.run()
        table = aggregate.read_runs([done.stores["runs"]])
        meta = {**done.metadata(), "resumed_runs": done.resumed}

        def fill(tmp: Path) -> None:
            aggregate.write_table(table, tmp / "runs")
            write_json(meta, tmp / "metadata.json")

        path = ex.publish(fill)
    assert path == tmp_path / "t" and done.resumed == 2 and meta["kind"] == "tiny"
    assert not (tmp_path / "t.partial").exists()
    reference = ensemble(sc, runs=5, seed=4, jobs=1, progress=False).runs
    pd.testing.assert_frame_equal(pd.read_parquet(path / "runs.parquet"), reference)
