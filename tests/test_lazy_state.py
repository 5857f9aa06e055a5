"""Derived state brought up to date lazily stays right on every path that reads it.

Positions' consequences (cells, zones, fire cells, air-defence cover, firing
units' reach) are recomputed when next read, and the step's counters are views
of one buffer. These tests hold the paths outside the usual step order: a
model pickled or copied mid-run and continued, a phase called right after a
move, a scenario without any Russian firing unit.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.forces import SIDE_RUSSIA
from escalation_sim.model.model import EscalationModel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"


def _short(path: Path, days: int):
    return with_overrides(load_scenario(path), [f"horizon_days={days}"])


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("name", ["may30_kharkiv_counterfire.yaml", "adaptive_policy.yaml"])
def test_a_model_copied_mid_run_continues_exactly_as_the_original(name, how):
    """Pickling (or deep-copying) at day 20 and running on gives the uninterrupted run's outputs."""
    sc = _short(SCENARIOS / name, 60)
    whole = EscalationModel(sc, seed=7)
    whole.run()
    part = EscalationModel(sc, seed=7)
    part.run_for(20)
    copied = pickle.loads(pickle.dumps(part)) if how == "pickle" else copy.deepcopy(part)
    copied.run()
    ts_whole, ts_copied = whole.timeseries(), copied.timeseries()
    assert int(ts_whole["strikes"].iloc[21:].sum()) > 0  # the check has something to compare
    assert ts_copied.equals(ts_whole), [
        c for c in ts_whole.columns if not ts_whole[c].equals(ts_copied[c])
    ]
    assert copied.events.records() == whole.events.records()


def test_a_strike_right_after_a_move_reads_the_targets_new_cells(monkeypatch):
    """``ForceLayer.strike`` looks up air cover at where the target is now, not where it was."""
    m = EscalationModel(_short(MAY30, 10), seed=3)
    m.run_for(2)
    f = m.forces
    target = int(np.flatnonzero(f.alive & (f.side == SIDE_RUSSIA) & ~f.fixed)[0])
    f.cell  # noqa: B018 -- read once, so the target's cell is up to date before it moves
    f.move_to(
        np.array([target]), np.array([f.x[target] + 37.0]), np.array([f.depth[target] + 23.0])
    )
    moved_cell = int(m.theater.cell_of(f.x[[target]], f.depth[[target]])[0])
    seen: list[np.ndarray] = []
    cover_at = f.russian_air_cover_at

    def spy(cells):
        seen.append(np.array(cells))
        return cover_at(cells)

    monkeypatch.setattr(f, "russian_air_cover_at", spy)
    launcher = int(f._lp_src[0])
    weapon = int(f.opt_weapon[f._lp_opt[0]])
    f.strike(np.array([target]), np.array([weapon]), np.array([launcher]), m.streams["strike"], 2)
    assert [c.tolist() for c in seen] == [[moved_cell]]


def test_a_scenario_without_russian_firing_units_runs():
    """No firing unit: nothing marks reach out of date, and fire still runs (firing nothing)."""
    groups = ["ru_artillery_belgorod", "ru_mlrs_belgorod", "ru_s300_belgorod"]
    groups += ["ru_iskander", "ru_airbases", "ru_artillery_kursk"]
    sc = load_scenario(MAY30)
    assert sorted(g for g, s in sc.forces.items() if s.fire is not None) == sorted(groups)
    overrides = [f"forces.{g}.{k}=0" for g in groups for k in ("count", "reserve")]
    sc = with_overrides(sc, ["horizon_days=5", *overrides])
    m = EscalationModel(sc, seed=1)
    assert len(m.forces.rf) == 0
    m.run()
    ts = m.timeseries()
    assert len(ts) == 6
    assert float(ts["fire_on_city"].sum()) == 0.0


def test_sensor_coverage_belongs_to_its_model_not_to_an_object_identity():
    """A copy's detection coverage is its own sensors', and changes only with them.

    The cache once used ``id(pairs)``: a copied model kept the original's entries under
    the original's ids, and a new object at a freed address could pick up another sensor
    kind's entry. Coverage now lives in each force layer's own sensor table.
    """
    m = EscalationModel(_short(MAY30, 10), seed=5)
    m.run_for(2)
    f = pickle.loads(pickle.dumps(m)).forces
    fresh = EscalationModel(_short(MAY30, 10), seed=5)
    fresh.run_for(2)
    want = fresh.forces._coverage().copy()
    assert np.array_equal(f._coverage(), want)
    assert f.sensor_cover is not m.forces.sensor_cover
    f.alive[f.isr_idx] = False  # the copy's ISR lost: its coverage goes, the original's stays
    f._coverage()
    assert not f.sensor_cover.of_cells("isr").any()
    assert m.forces.sensor_cover.of_cells("isr").any()
    assert np.array_equal(m.forces._coverage(), want)


def _full_horizon_digest(path: str, seed: int, pickle_at: int | None = None) -> tuple[str, str]:
    """sha256 of a full-horizon run's time series (CSV) and event log, optionally copied mid-run."""
    import hashlib
    import json

    m = EscalationModel(load_scenario(path), seed=seed)
    if pickle_at is not None:
        m.run_for(pickle_at)
        m = pickle.loads(pickle.dumps(m))
    m.run()
    ts = m.timeseries().to_csv(index=False).encode()
    ev = "\n".join(json.dumps(r, sort_keys=True, default=str) for r in m.events.records())
    return hashlib.sha256(ts).hexdigest(), hashlib.sha256(ev.encode()).hexdigest()


@pytest.mark.slow
def test_full_horizon_runs_agree_straight_pickled_and_in_a_spawned_pool():
    """The default scenario's 180 days with the event log: one result however it is run.

    ``tools/check_equivalence.py`` does the same for every shipped scenario and
    several seeds, and compares ensembles with one job and two.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    straight = _full_horizon_digest(str(MAY30), 4)
    pickled = _full_horizon_digest(str(MAY30), 4, pickle_at=90)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = pool.submit(_full_horizon_digest, str(MAY30), 4).result()
    assert straight == pickled == pooled
