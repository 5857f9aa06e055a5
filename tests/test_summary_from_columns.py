"""A run's summary read from its columns equals the summary read from its DataFrame.

``results.result_from_model`` summarises the columns of
:meth:`EscalationModel.series` directly instead of reading each back from the
DataFrame built of them. Compared here on every shipped scenario, two seeds,
with the event log on and off (off: the rule changes come from the posture
columns, text columns that are lists in ``series()`` and strings in the frame),
and with a scheduled posture switch so that that path has something to find.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.model import EscalationModel
from escalation_sim.results import result_from_model, summarize

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _both(m: EscalationModel) -> tuple[dict, dict]:
    events = m.events.records() if m.record_events else []
    args = (events, m.spec, m.seed, m.nato_conflict_day, m.nuclear_use_day)
    return summarize(m.series(), *args), summarize(m.timeseries(), *args)


def _same(a: dict, b: dict) -> bool:
    # Through JSON, as the summary is written: NaN, ints and floats all compared as text.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("events", [False, True], ids=["no-events", "events"])
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_summary_of_the_columns_is_the_summary_of_the_frame(path: Path, events: bool):
    sc = with_overrides(load_scenario(path), ["horizon_days=60"])
    for seed in (0, 5):
        m = EscalationModel(sc, seed=seed, record_events=events)
        m.run()
        from_columns, from_frame = _both(m)
        assert _same(from_columns, from_frame)
        result = result_from_model(m)
        assert _same(result.summary, from_frame)
        assert result.timeseries.equals(m.timeseries())


@pytest.mark.parametrize("name", ["adaptive_policy", "us_widening_schedule"])
def test_posture_switches_are_found_in_the_columns_as_in_the_frame(name: str):
    sc = load_scenario(ROOT / f"scenarios/{name}.yaml")
    m = EscalationModel(sc, seed=0, record_events=False)
    m.run()
    from_columns, from_frame = _both(m)
    assert from_frame["rule_changes"], "the scenario switches a posture (scheduled or adaptive)"
    assert from_columns["rule_changes"] == from_frame["rule_changes"]


def test_the_comparison_sees_a_changed_column():
    sc = load_scenario(ROOT / "scenarios/us_widening_schedule.yaml")
    m = EscalationModel(sc, seed=0, record_events=False)
    m.run()
    columns = m.series()
    frame_summary = summarize(m.timeseries(), [], sc, 0, None, None)
    columns["fire_on_city"] = np.nextafter(columns["fire_on_city"], np.inf)
    assert not _same(summarize(columns, [], sc, 0, None, None), frame_summary)
    posture = next(c for c in columns if c.startswith("posture."))
    columns = m.series()
    actor = posture.split(".", 1)[1]
    assert any(c["actor"] == actor for c in frame_summary["rule_changes"])
    columns[posture] = [columns[posture][0]] * len(columns[posture])
    changed = summarize(columns, [], sc, 0, None, None)
    assert not any(c["actor"] == actor for c in changed["rule_changes"])
