"""Invariants of the model: determinism, state checked at every step, memory, views, outputs."""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.path import Path as Outline

import escalation_sim
import escalation_sim.api as api_module
from escalation_sim import Scenario, load_scenario, with_overrides
from escalation_sim.model.agents import ForceUnit, StateActor
from escalation_sim.model.model import EscalationModel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


# ---------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", SHIPPED)
def test_same_scenario_and_seed_give_identical_results(name):
    a = escalation_sim.run(SCENARIOS / name, seed=11)
    b = escalation_sim.run(SCENARIOS / name, seed=11)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert a.events == b.events
    assert a.summary == b.summary


@pytest.mark.parametrize("name", SHIPPED)
def test_different_seeds_give_different_results(name):
    a = escalation_sim.run(SCENARIOS / name, seed=1)
    b = escalation_sim.run(SCENARIOS / name, seed=2)
    assert not a.timeseries.equals(b.timeseries)
    assert a.events != b.events


def test_stepping_by_hand_equals_running():
    sc = load_scenario(MAY30)
    a = EscalationModel(sc, seed=5)
    a.run()
    b = EscalationModel(sc, seed=5)
    for _ in range(sc.n_steps):
        b.step()
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    assert a.events.records() == b.events.records()


def test_recording_events_does_not_change_the_run():
    sc = load_scenario(MAY30)
    with_log = escalation_sim.run(sc, seed=3, record_events=True)
    without = escalation_sim.run(sc, seed=3, record_events=False)
    pd.testing.assert_frame_equal(with_log.timeseries, without.timeseries)
    assert without.events == []


# ---------------------------------------------------------------------- every step


def check_every_step(sc: Scenario, seed: int) -> EscalationModel:
    m = EscalationModel(sc, seed=seed)
    f = m.forces
    top = {aid: len(sc.ladder_for(aid).rungs) - 1 for aid in sc.actors}
    tasking_cap = max(r.strike_multiplier for r in sc.ladder_for(m.ukraine_id).rungs)
    fired_total = 0
    for _ in range(m.n_steps):
        alive_before = f.alive.copy()
        ukr_rung_before = m.actor[m.ukraine_id].rung
        m.step()
        k = round(m.time)
        where = f"{sc.name} seed {seed} step {k}"

        assert (m.stock >= -1e-9).all(), f"{where}: negative stock {m.stock.min()}"
        for a in m.actors:
            assert 0 <= a.rung <= top[a.actor_id], f"{where}: {a.actor_id} on rung {a.rung}"
            assert a.pressure >= 0, where
            assert a.peak_rung >= a.rung, where
        assert ((f.strength >= 0) & (f.strength <= 1)).all(), where
        # Destroyed units have no strength; alive ones are above the destruction threshold.
        assert (f.strength[~f.alive] == 0).all(), where
        assert (f.strength[f.alive] >= f.destroyed_below).all(), where
        # A unit destroyed before this step began did not fire this step
        # (a unit may fire and then be destroyed by counter-fire in the same step).
        fired_now = f.last_fired == k
        assert not (fired_now & ~alive_before).any(), f"{where}: a destroyed unit fired"
        fired_total += int(fired_now.sum())
        # Never more strikes than the day's tasking.
        row = {c: v[-1] for c, v in m.datacollector.tables["series"].items()}
        ukr = m.actor[m.ukraine_id]
        tasking = round(
            sc.combat.max_strikes_per_step * ukr.ladder.rung(ukr_rung_before).strike_multiplier
        )
        assert row["strikes"] <= tasking <= round(sc.combat.max_strikes_per_step * tasking_cap)
        assert row["strikes_in_russia"] <= row["strikes"]
        assert row["alive.RUS"] + row["alive.UKR"] <= f.n
    assert fired_total > 0
    return m


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        ("may30_kharkiv_counterfire.yaml", 0),
        ("may30_kharkiv_counterfire.yaml", 1),
        ("deep_strike.yaml", 0),
        ("pre_may30.yaml", 0),
        ("us_widening_schedule.yaml", 2),
        ("adaptive_policy.yaml", 3),
    ],
)
def test_invariants_hold_at_every_step(name, seed):
    check_every_step(load_scenario(SCENARIOS / name), seed)


def test_invariants_hold_with_multi_day_steps_and_escalation():
    # Longer steps, a Russia that climbs readily: rungs must still stay on the ladder.
    sc = with_overrides(
        load_scenario(SCENARIOS / "deep_strike.yaml"),
        [
            "step_days=3",
            "decisions.actors.RUS.climb_rate=1.0",
            "decisions.actors.UKR.climb_rate=1.0",
        ],
    )
    # Invariants are checked on every run; at least one of them must climb, so that
    # rungs are exercised (with finite forces and a moving battlefield, not every run does).
    climbed = [check_every_step(sc, seed).actor["RUS"].peak_rung for seed in (0, 4)]
    assert max(climbed) > sc.actors["RUS"].start_rung


# ---------------------------------------------------------------------- memory


def test_model_is_garbage_collected_after_a_run():
    # Mesa's own check for agents and models: a weak reference dies once the
    # last strong reference is dropped and the cycle collector has run.
    m = EscalationModel(load_scenario(MAY30), seed=0)
    m.run()
    ts = m.timeseries()
    events = m.events.records()
    ref = weakref.ref(m)
    agent_ref = weakref.ref(next(iter(m.agents_by_type[ForceUnit])))
    del m
    gc.collect()
    assert ref() is None, "the model outlives its last reference"
    assert agent_ref() is None, "a force-unit agent outlives its model"
    assert len(ts) > 0 and len(events) > 0  # outputs survive the model


def test_api_run_does_not_keep_the_model_alive(monkeypatch):
    refs: list[weakref.ref] = []

    class Tracked(EscalationModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            refs.append(weakref.ref(self))

    monkeypatch.setattr(api_module, "EscalationModel", Tracked)
    result = escalation_sim.run(MAY30, seed=0, days=30)
    gc.collect()
    assert len(refs) == 1
    assert refs[0]() is None, "RunResult (or something else) keeps the model alive"
    assert len(result.timeseries) == 31


# ---------------------------------------------------------------------- views and outputs


def test_force_unit_views_agree_with_the_arrays():
    m = EscalationModel(load_scenario(MAY30), seed=0)
    for _ in range(40):
        m.step()  # let units be damaged, destroyed and replaced first
    f = m.forces
    views = list(m.agents_by_type[ForceUnit])
    assert sorted(v.index for v in views) == list(range(f.n))
    assert len(m.agents_by_type[StateActor]) == len(m.spec.actors)
    assert len(m.agents) == f.n + len(m.spec.actors)
    assert (~f.alive).any() or (f.strength < 1).any(), "set-up: some unit must have been hit"
    for v in views:
        i = v.index
        group = m.spec.forces[f.group_ids[f.group[i]]]
        assert v.label == f.labels[i] and v.label.startswith(f.group_ids[f.group[i]] + "#")
        assert v.owner == group.owner
        assert v.target_class == group.target_class
        assert v.position == (float(f.x[i]), float(f.depth[i]))
        assert v.strength == float(f.strength[i])
        assert v.alive == bool(f.alive[i])
        zones = v.zones
        if not f.pulls_back[i]:  # only units that pull back may leave their home zone
            assert group.zone in zones
        # The zones are those whose outlines hold the position (an independent point test).
        for zid, spec in m.spec.theater.zones.items():
            outline = Outline(spec.outline())
            inside = outline.contains_point(v.position)
            near_edge = outline.contains_point(v.position, radius=0.2) != outline.contains_point(
                v.position, radius=-0.2
            )
            if not near_edge:
                assert (zid in zones) == inside, (v.label, zid, v.position)
    assert len({v.label for v in views}) == f.n


@pytest.mark.parametrize("step_days", [1.0, 2.0, 0.5])
def test_time_series_has_one_row_per_step_and_dates_advance_by_step_days(step_days):
    sc = with_overrides(load_scenario(MAY30), [f"step_days={step_days}", "horizon_days=30"])
    res = escalation_sim.run(sc, seed=0)
    ts = res.timeseries
    assert len(ts) == sc.n_steps + 1
    assert ts["step"].tolist() == list(range(sc.n_steps + 1))
    np.testing.assert_allclose(ts["day"].to_numpy(), ts["step"].to_numpy() * step_days)
    expected = [sc.start_date + dt.timedelta(days=d) for d in ts["day"]]
    assert ts["date"].tolist() == expected
    # Step 0 is the initial state: nothing has happened yet.
    first = ts.iloc[0]
    assert first["strikes"] == 0 and first["fire_on_city"] == 0 and first["harm_cumulative"] == 0
    for aid, spec in sc.actors.items():
        assert first[f"rung.{aid}"] == spec.start_rung
    # Events carry the same clock.
    for e in res.events:
        assert e["day"] == pytest.approx(e["step"] * step_days)
        assert e["date"] == (sc.start_date + dt.timedelta(days=e["day"])).isoformat()


def test_time_series_totals_agree_with_the_event_log():
    res = escalation_sim.run(SCENARIOS / "us_widening_schedule.yaml", seed=4)
    ts, events = res.timeseries, res.events
    strikes = [e for e in events if e["kind"] == "strike"]
    assert ts["strikes"].sum() == len(strikes)
    assert ts["strikes_in_russia"].sum() == sum(e["depth_km"] > 0 for e in strikes)
    assert ts["withheld"].sum() == sum(e["kind"] == "withheld" for e in events)
    assert ts["constrained"].sum() == sum(e["kind"] == "constrained" for e in events)
    for e in strikes:
        assert ts.loc[e["step"], f"strikes.weapon.{e['weapon']}"] > 0
    # Rung moves in the series are exactly the logged decisions that move (an act such as a
    # statement is logged without a move); a descent is one rung, a climb may skip.
    for aid in res.scenario.actors:
        moves = [
            (e["step"], e["from_rung"], e["to_rung"])
            for e in events
            if e["kind"] == "decision" and e["actor"] == aid and e["to_rung"] != e["from_rung"]
        ]
        series = ts[f"rung.{aid}"].to_numpy()
        changed = [
            (k, int(series[k - 1]), int(series[k]))
            for k in range(1, len(series))
            if series[k] != series[k - 1]
        ]
        assert changed == moves, aid
        assert all(b > a or a - b == 1 for _, a, b in moves), aid
