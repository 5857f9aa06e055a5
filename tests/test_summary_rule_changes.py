"""The run summary lists the rule changes that took effect; run tables carry strikes per zone."""

from __future__ import annotations

from escalation_sim.api import run
from escalation_sim.experiment.outcomes import run_outcomes


def test_summary_lists_rule_changes_with_and_without_the_event_log() -> None:
    with_log = run("us_widening_schedule", seed=3, days=62)
    (change,) = with_log.summary["rule_changes"]
    assert (change["day"], change["actor"], change["change"]) == (60.0, "USA", "scheduled")
    assert (change["from_posture"], change["to_posture"]) == ("kharkiv_counterfire", "deep_strike")
    text = with_log.describe()
    assert "Rule changes that took effect: 1" in text
    assert "USA  scheduled kharkiv_counterfire -> deep_strike" in text
    without = run("us_widening_schedule", seed=3, days=62, record_events=False)
    (same,) = without.summary["rule_changes"]
    assert (same["day"], same["to_posture"]) == (60.0, "deep_strike")
    none = run("pre_may30", seed=3, days=5)
    assert none.summary["rule_changes"] == []
    assert "Rule changes that took effect: none" in none.describe()


def test_run_outcomes_count_strikes_per_zone() -> None:
    result = run("may30_kharkiv_counterfire", seed=1, days=20, record_events=False)
    ladders = {a: len(result.scenario.ladder_for(a).rungs) for a in result.scenario.actors}
    row = run_outcomes(result.timeseries, ladders, None, None)
    zones = {k: v for k, v in row.items() if k.startswith("strikes.zone.")}
    assert set(zones) == {f"strikes.zone.{z}" for z in result.scenario.theater.zones}
    assert sum(zones.values()) == row["strikes"]
    assert zones["strikes.zone.belgorod_border"] > 0
