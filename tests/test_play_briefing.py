"""A player's briefing shows what the actor's own decision model weighs, from the perceived view."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.decisions.models import choice_chances, option_terms
from escalation_sim.model.model import EscalationModel
from escalation_sim.play import briefing, turn_view

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEEP = SCENARIOS / "deep_strike.yaml"
DAYS = 30


def _seated(actor: str, extra=(), days: int = DAYS, seed: int = 1) -> EscalationModel:
    sc = with_overrides(load_scenario(DEEP), [*extra, "horizon_days=60"])
    m = EscalationModel(sc, seed=seed, seated=[actor])
    for _ in range(days):
        m.step()
    return m


@pytest.fixture(scope="module")
def russia() -> EscalationModel:
    return _seated("RUS")


def _table(text: str) -> dict[str, list[str]]:
    """The rows of the briefing's options table: option id -> its columns."""
    block = text.split("Options open now", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = {}
    for line in block:
        if not line.startswith("  ") or line.startswith("  ("):
            break
        cols = line.split()
        rows[cols[0]] = cols[1:]
    return rows


def test_cost_benefit_briefing_shows_each_open_options_terms(russia):
    m = russia
    rus = m.actor["RUS"]
    text = briefing(turn_view(m, "RUS", 5, 7))
    assert "next rung at about" not in text and "cost_benefit" in text
    resolve = m.decisions.resolve(rus)
    opts = m.decisions.open_options(rus)
    rows = _table(text)
    assert list(rows) == [o.id for o in opts]
    chances = {t.option.id: p for t, p in choice_chances(rus, opts, resolve, 1.0)}
    for o in opts:
        t = option_terms(rus, o, resolve)
        gain, cost, risk, utility = (float(x) for x in rows[o.id][:4])
        assert gain == pytest.approx(t.gain, abs=0.05), o.id
        assert cost == pytest.approx(t.cost + t.forgone, abs=0.05), o.id
        assert risk == pytest.approx(t.risk, abs=0.05), o.id
        assert utility == pytest.approx(t.utility, abs=0.05), o.id
        shown = rows[o.id][4]
        if o.id not in chances or chances[o.id] == 0:
            assert shown == "-"
        elif chances[o.id] >= 0.001:
            assert float(shown.rstrip("%")) == pytest.approx(100 * chances[o.id], abs=0.05)
    # The case and what the standing rung answers, as the model reads them.
    case = re.search(r"Your case for answering: ([\d.]+)", text)
    assert case and float(case.group(1)) == pytest.approx(rus.case, abs=0.05)
    assert f"your standing rung answers {rus.ladder.rung(rus.rung).climb_threshold:g}" in text


def test_the_gates_that_close_options_are_named(russia):
    text = briefing(turn_view(russia, "RUS", 5, 7))
    closed = text.split("Closed now:", 1)[1].split("\n\n", 1)[0]
    # Nuclear options: closed by the rung they need first (and never open in the table).
    assert "tactical_nuclear_use: needs you at rung 7 or higher first" in closed
    assert "tactical_nuclear_use" not in _table(text)
    assert "stand_down: you stand on your starting rung" in closed
    weighing = russia.observation("RUS")["perceived"]["weighing"]
    open_ids = {r["id"] for r in weighing["options"]}
    closed_ids = {c["id"] for c in weighing["closed"]}
    assert open_ids.isdisjoint(closed_ids)
    assert open_ids | closed_ids == {o.id for o in russia.decisions.options["RUS"]}


def test_the_weighing_is_json_ready_and_its_chances_add_up(russia):
    obs = russia.observation("RUS")
    json.dumps(obs)
    w = obs["perceived"]["weighing"]
    assert w["model"] == "cost_benefit"
    assert math.isclose(sum(r["chance_per_day"] for r in w["options"]), 1.0, abs_tol=1e-5)
    for r in w["options"]:
        assert r["utility"] == pytest.approx(r["gain"] - r["forgone"] - r["cost"] - r["risk"])


def test_the_briefing_reads_the_perceived_view_not_the_truth():
    """With Russia perceiving nothing, the same battlefield briefs a case of zero and no act."""
    blind = [
        *(
            f"decisions.perception.supplier_weight.{a}=0"
            for a in ("USA", "GBR", "FRA", "DEU", "UKR")
        ),
        "decisions.perception.own_loss_weight=0",
        "decisions.perception.act_weight=0",
    ]
    m = _seated("RUS", blind)
    text = briefing(turn_view(m, "RUS", 5, 7))
    assert "Your case for answering: 0.0" in text
    rows = _table(text)
    assert rows["hold"][4] == "100.0%"
    acts = [line for line in text.splitlines() if "(answers nothing you perceive)" in line]
    assert len(acts) == len(rows) - 1 and acts
    # ... while the strikes themselves happened (the truth is not what the model weighs).
    assert m.timeseries()["strikes_in_russia"].sum() > 0


def test_pressure_model_briefing_keeps_pressure_against_the_next_threshold():
    m = _seated("RUS", ["decisions.actors.RUS.model=pressure"])
    text = briefing(turn_view(m, "RUS", 5, 7))
    assert "next rung at about 70" in text
    assert re.search(r"your decision model \(pressure\): chance of a climb \S+ a day", text)
    assert "Options open now" not in text
    w = m.observation("RUS")["perceived"]["weighing"]
    assert w["model"] == "pressure" and w["next_threshold"] == 70
    assert 0 < w["climb_chance_per_day"] < 1


@pytest.mark.parametrize(
    ("resolve", "words"), [(0, "0 rungs"), (1, "1 rung above"), (1.5, "1.5 rungs")]
)
def test_the_perceived_resolve_is_counted_in_good_english(resolve, words):
    from escalation_sim.play.briefing import _cost_benefit_lines

    own = {"rung": 2, "rung_name": "Nuclear signalling", "pressure_causes": []}
    weighing = {
        "case": 1.0,
        "pressure": 1.0,
        "salience": 0.0,
        "commitment": 0.0,
        "standing_threshold": 15,
        "excess_case": 0.0,
        "resolve": resolve,
        "options": [],
    }
    text = "\n".join(_cost_benefit_lines(own, weighing))
    assert f"as you perceive it: {words}" in text


def test_the_briefing_names_the_city_as_the_scenario_does(russia):
    text = briefing(turn_view(russia, "RUS", turn=5, turn_days=7))
    assert "salvoes landed on Kharkiv (harm" in text
