"""RunBatch: runs stepped together, phase by phase, give exactly what they give alone."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from escalation_sim.model.batch import (
    MAX_BATCH_RUNS,
    MAX_BATCH_UNITS,
    RunBatch,
    batch_size,
    run_batched,
)
from escalation_sim.model.model import EscalationModel
from escalation_sim.scenario.loader import load_scenario, shipped_scenarios, with_overrides

SEEDS = (0, 1, 2)


def _same_series(a: EscalationModel, b: EscalationModel) -> None:
    sa, sb = a.series(), b.series()
    assert list(sa) == list(sb)
    for name in sa:
        x, y = sa[name], sb[name]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
        else:
            assert x == y, name
    assert (a.nato_conflict_day, a.nuclear_use_day) == (b.nato_conflict_day, b.nuclear_use_day)


def _alone(scenario, seed: int, events: bool = False) -> EscalationModel:
    model = EscalationModel(scenario, seed=seed, record_events=events)
    model.run()
    return model


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_a_batch_gives_every_run_what_it_gives_alone(name: str) -> None:
    scenario = load_scenario(shipped_scenarios()[name])
    runs = [EscalationModel(scenario, seed=s, record_events=True) for s in SEEDS]
    batch = RunBatch(runs)
    batch.run()
    for seed, run in zip(SEEDS, runs, strict=True):
        alone = _alone(scenario, seed, events=True)
        _same_series(run, alone)
        assert run.events.records() == alone.events.records()


def test_each_run_keeps_its_own_time_control() -> None:
    base = load_scenario(shipped_scenarios()["may30_kharkiv_counterfire"])
    short = with_overrides(base, ["horizon_days=40"])
    runs = [
        EscalationModel(short, seed=0, record_events=False),
        EscalationModel(base, seed=0, record_events=False),
    ]
    batch = RunBatch(runs)
    assert batch.steps_left == runs[1].n_steps
    batch.run()
    # Each run stopped at its own horizon, its clock and step count Mesa's.
    assert [(r.time, r.steps) for r in runs] == [(40, 40), (base_n := runs[1].n_steps, base_n)]
    assert batch.time == base_n and batch.steps_left == 0
    _same_series(runs[0], _alone(short, 0))
    _same_series(runs[1], _alone(base, 0))


def test_a_run_goes_on_alone_after_part_of_its_horizon_in_a_batch() -> None:
    scenario = load_scenario(shipped_scenarios()["adaptive_policy"])
    runs = [EscalationModel(scenario, seed=s, record_events=False) for s in SEEDS]
    RunBatch(runs).run_for(25)
    for seed, run in zip(SEEDS, runs, strict=True):
        assert run.time == 25
        run.run()  # its own steps again run their phases straight through
        _same_series(run, _alone(scenario, seed))


def test_run_batched_builds_a_batch_at_a_time_and_keeps_the_order() -> None:
    scenario = with_overrides(
        load_scenario(shipped_scenarios()["may30_kharkiv_counterfire"]), ["horizon_days=15"]
    )
    built: list[int] = []

    def models() -> Iterator[EscalationModel]:
        for seed in range(7):
            built.append(seed)
            yield EscalationModel(scenario, seed=seed, record_events=False)

    done = run_batched(models(), batch_runs=3)
    first = next(done)
    assert built == [0, 1, 2]  # one batch built, not every run
    rest = list(done)
    assert built == list(range(7))
    for seed, run in enumerate([first, *rest]):
        assert round(run.time) == run.n_steps
        _same_series(run, _alone(scenario, seed))


def test_run_batched_refuses_an_empty_batch_size() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(run_batched([], batch_runs=0))


def test_small_runs_batch_and_large_ones_run_alone() -> None:
    assert batch_size(160) == MAX_BATCH_RUNS  # the default scenario's forces
    assert batch_size(MAX_BATCH_UNITS // 3) == 3
    assert batch_size(MAX_BATCH_UNITS) == 1 == batch_size(10 * MAX_BATCH_UNITS)
    assert batch_size(0) == MAX_BATCH_RUNS


def test_run_batched_takes_its_batch_size_from_the_first_run() -> None:
    base = load_scenario(shipped_scenarios()["may30_kharkiv_counterfire"])
    big = with_overrides(
        base, [f"forces.{g}.count={spec.count * 10}" for g, spec in base.forces.items()]
    )
    big = with_overrides(big, ["horizon_days=3"])
    small = with_overrides(base, ["horizon_days=3"])
    for scenario in (small, big):
        built: list[int] = []

        def models(scenario=scenario, built=built) -> Iterator[EscalationModel]:
            for seed in range(12):
                built.append(seed)
                yield EscalationModel(scenario, seed=seed, record_events=False)

        done = run_batched(models())
        first = next(done)
        assert len(built) == min(12, batch_size(first.forces.n))
        assert len(list(done)) == 11
    assert batch_size(EscalationModel(big, seed=0).forces.n) == 1 < batch_size(160)


def test_an_experiment_chunk_steps_its_runs_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from escalation_sim.experiment import tasks
    from escalation_sim.model import batch as batch_module

    sizes: list[int] = []
    real = batch_module.RunBatch

    class Counting(real):
        def __init__(self, runs) -> None:
            sizes.append(len(runs))
            super().__init__(runs)

    monkeypatch.setattr(batch_module, "RunBatch", Counting)
    scenario = with_overrides(
        load_scenario(shipped_scenarios()["may30_kharkiv_counterfire"]), ["horizon_days=5"]
    )
    runs = tuple(range(11))
    task = tasks.Task("s", (tasks.RunGroup(scenario, runs, tuple(100 + r for r in runs)),))
    result = tasks.run_task(task)
    assert sizes == [MAX_BATCH_RUNS, 11 - MAX_BATCH_RUNS]
    assert list(result.runs["seed"]) == [100 + r for r in runs]
    alone = [_alone(scenario, 100 + r) for r in runs]
    steps = result.steps
    for r, model in zip(runs, alone, strict=True):
        mine = steps[steps["run"] == r]
        series = model.series()
        for name in ("step", "harm_cumulative", "strikes", "withheld"):
            assert np.array_equal(mine[name].to_numpy(), np.asarray(series[name])), name
