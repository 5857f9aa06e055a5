"""Options, gates, decision models, scales, threats and the players' hooks, actor by actor."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.decisions.models import (
    CostBenefit,
    PressureThreshold,
    choice_chances,
    decision_model,
    option_terms,
    option_utility,
)
from escalation_sim.model.decisions.options import is_available
from escalation_sim.model.decisions.perception import Observation, Trigger
from escalation_sim.model.decisions.scales import KAHN_RUNGS, RIVERA_SCORE
from escalation_sim.model.model import EscalationModel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"


@pytest.fixture(scope="module")
def sc():
    return load_scenario(MAY30)


@pytest.fixture
def model(sc):
    return EscalationModel(sc, seed=0)


def _salient(actor, *kinds: str, weight: float = 0.0) -> None:
    actor.absorb(Observation(triggers=[Trigger(k, f"test {k}", weight) for k in kinds]), 1.0, 0.0)


# ---------------------------------------------------------------- the catalogue and scales


def test_rivera_scale_is_the_papers():
    assert RIVERA_SCORE == {
        "de_escalation": -2,
        "status_quo": 0,
        "posturing": 4,
        "non_violent_escalation": 12,
        "violent_escalation": 28,
        "nuclear": 60,
    }


def test_every_option_has_a_kahn_rung_on_the_44_and_nuclear_ones_score_60(sc):
    for side, options in sc.options.items():
        for o in options:
            if o.kind not in ("hold", "de_escalation"):
                assert o.kahn is not None and 1 <= o.kahn <= KAHN_RUNGS, (side, o.id)
            assert (o.rivera == "nuclear") == (o.kind == "nuclear"), (side, o.id)


def test_severity_costs_rise_up_the_ladder(sc):
    """The higher the rung, the stronger the case needed: costs never fall with the rung."""
    for side, options in sc.options.items():
        by_rung: dict[int, float] = {}
        for o in options:
            if o.rung is not None and not o.descend:
                by_rung[o.rung] = min(by_rung.get(o.rung, math.inf), o.cost + o.risk)
        rungs = sorted(by_rung)
        assert all(by_rung[a] <= by_rung[b] for a, b in itertools.pairwise(rungs)), side


def test_nuclear_options_are_gated_by_specific_precedents_and_rungs(sc):
    for side, options in sc.options.items():
        for o in options:
            if o.kind == "nuclear":
                assert o.requires_any, (side, o.id)
                assert o.min_rung is not None, (side, o.id)
                assert set(o.requires_any) <= {"strategic_asset", "adversary_nuclear_use"}
                # No amount of ordinary pressure opens them from any lower rung.
                for rung in range(o.min_rung):
                    assert not is_available(o, rung, 0, 99, {"strategic_asset", "new_depth_band"})
                assert not is_available(o, o.min_rung, 0, 99, {"new_depth_band", "new_supplier"})


# ---------------------------------------------------------------- gates


def _option(sc, oid):
    return next(o for o in sc.options["russia"] if o.id == oid)


def test_gates_requires_min_rung_skip_and_cooldown(sc):
    doctrine = _option(sc, "doctrine_change")
    assert not is_available(doctrine, 2, 2, 9, [])
    assert is_available(doctrine, 2, 2, 9, ["first_weapon_class"])
    novel = _option(sc, "novel_weapon")  # rung 5
    assert not is_available(novel, 2, 2, 9, ["first_weapon_class"])  # a skip needs skip_on
    assert is_available(novel, 2, 2, 9, ["new_depth_band"])  # ... which this is
    assert is_available(novel, 4, 2, 9, ["first_weapon_class"])  # the next rung: no skip
    nato = _option(sc, "strike_nato_assets")
    assert not is_available(nato, 3, 2, 9, ["new_depth_band"])  # min_rung 4
    warning = _option(sc, "warning_statement")
    assert warning.cooldown_days > 0
    assert not is_available(warning, 2, 2, 9, [], {"warning_statement": 1.0})
    assert is_available(warning, 2, 2, 9, [], {"warning_statement": warning.cooldown_days})


def test_no_stand_down_below_the_starting_rung(sc):
    down = _option(sc, "stand_down")
    assert not is_available(down, 2, 2, 9, [])
    assert is_available(down, 3, 2, 9, [])


def test_choices_follow_the_gates_and_choose_validates(model):
    from escalation_sim.model.control import MoveError

    ids = [c.id for c in model.choices("RUS")]
    assert ids[0] == "hold" and "doctrine_change" not in ids and "novel_weapon" not in ids
    with pytest.raises(MoveError, match="expected one of: hold"):
        model.choose("RUS", "tactical_nuclear_use", cause="test")
    _salient(model.actor["RUS"], "first_weapon_class")
    assert "doctrine_change" in [c.id for c in model.choices("RUS")]
    climb = next(c for c in model.choices("RUS") if c.id == "arm_third_parties")
    assert climb.to_rung == 3
    chosen = model.choose("RUS", "arm_third_parties", cause="a player's move")
    assert chosen.id == "arm_third_parties" and model.actor["RUS"].rung == 3
    (ev,) = [e for e in model.events.other if e["kind"] == "decision"]
    assert (ev["from_rung"], ev["to_rung"], ev["score"]) == (2, 3, 12)
    assert ev["cause"] == "a player's move" and ev["option"] == "arm_third_parties"
    assert ev["kahn"] == 7 and ev["rivera"] == "non_violent_escalation" and ev["by"] == "player"
    # "climb" and "descend" still name the obvious options (move files of bare ladder moves).
    assert model.choose("RUS", "descend", cause="").id == "stand_down"
    assert model.actor["RUS"].rung == 2


def test_a_seated_actor_makes_no_automated_choice(sc):
    m = EscalationModel(with_overrides(sc, ["horizon_days=40"]), seed=0, seated=["RUS"])
    m.actor["RUS"].pressure = 500.0
    m.run()
    assert not [e for e in m.events.other if e["kind"] == "decision" and e["actor"] == "RUS"]
    obs = m.observation("RUS")
    assert obs["perceived"]["case"] > 0 and "strikes_inside_russia" in obs


# ---------------------------------------------------------------- the cost-benefit model


def _chances(actor, options, resolve=0.0):
    """Each open option's chance under the cost-benefit model's logit (one-day step)."""
    tau = actor.params.temperature
    utils = [option_utility(actor, o, resolve) for o in options]
    w = np.exp((np.array(utils) - max(utils)) / tau)
    return dict(zip([o.id for o in options], w / w.sum(), strict=True))


def test_without_a_case_every_climb_is_out_of_reach(model):
    layer = model.decisions
    for aid in model.actor_ids:
        actor = model.actor[aid]
        actor.pressure = 0.0
        opts = layer.open_options(actor)
        p = _chances(actor, opts)
        climbs = [o.id for o in opts if o.rung is not None and o.rung > actor.rung]
        assert climbs, aid
        # Over a 180-day run the chance of any climb stays below 1 %.
        assert 180 * sum(p[c] for c in climbs) < 0.01, (aid, {c: p[c] for c in climbs})


def test_without_a_perceived_case_no_act_is_weighed_at_all(model):
    """Choice noise picks among answers to a perceived case; it does not make one up.

    At zero case every act but hold is dominated (no gain, a cost): the model
    holds with certainty, whatever the draw, and a statement or a climb comes
    back into the choice as soon as some excess case is perceived.
    """
    layer = model.decisions
    for aid in model.actor_ids:
        actor = model.actor[aid]
        actor.pressure = 0.0
        opts = layer.open_options(actor)
        assert len(opts) > 1, aid
        chances = choice_chances(actor, opts, layer.resolve(actor), 1.0)
        assert [t.option.kind for t, _ in chances] == ["hold"], aid
        assert chances[0][1] == 1.0
        for u in (0.0, 0.5, 0.999999):
            assert CostBenefit().choose(actor, opts, 0.0, u, 7.0).option.kind == "hold"
        # A sliver of excess case: the acts that answer it are weighed again, by their utility.
        actor.pressure = actor.ladder.rung(actor.rung).climb_threshold + 0.5
        chances = choice_chances(actor, opts, layer.resolve(actor), 1.0)
        acts = [(t, p) for t, p in chances if t.option.kind != "hold"]
        assert acts and all(t.gain == 0.5 and 0 < p < 0.05 for t, p in acts), aid
        assert math.isclose(sum(p for _, p in chances), 1.0)


def test_option_terms_add_up_to_the_utility(model):
    rus = model.actor["RUS"]
    rus.pressure = 60.0
    _salient(rus, "first_weapon_class")
    for o in model.decisions.open_options(rus):
        t = option_terms(rus, o, 1.0)
        assert t.utility == option_utility(rus, o, 1.0)
        assert math.isclose(t.utility, t.gain - t.forgone - t.cost - t.risk)
        assert t.gain <= o.answers or o.descend
        if o.risk:
            assert t.risk > 0


def test_a_stand_down_is_weighed_without_a_case(model):
    """Above its start an actor with nothing left to answer may stand down (the rung's upkeep)."""
    rus = model.actor["RUS"]
    rus.rung, rus.pressure = 3, 0.0
    kinds = [t.option.kind for t, _ in choice_chances(rus, model.decisions.open_options(rus), 0, 1)]
    assert kinds == ["hold", "de_escalation"]


def test_a_larger_case_favours_stronger_options(model):
    rus = model.actor["RUS"]
    _salient(rus, "first_weapon_class")
    opts = model.decisions.open_options(rus)
    best = []
    for case in (0.0, 25.0, 45.0, 80.0, 200.0):
        rus.pressure = case + rus.ladder.rung(rus.rung).climb_threshold
        p = _chances(rus, opts)
        best.append(next(o for o in opts if o.id == max(p, key=p.get)))
    scores = [RIVERA_SCORE[o.rivera] + (o.rung or 0) for o in best]
    assert best[0].kind == "hold"
    assert scores == sorted(scores) and scores[-1] > scores[1]


def test_western_resolve_deters_risky_options(model):
    """Deterrence: the higher the West stands, the less Russia's risky options are worth."""
    rus = model.actor["RUS"]
    rus.pressure = 200.0
    sabotage = _option(model.spec, "sabotage_in_europe")
    statement = _option(model.spec, "warning_statement")
    utils = [option_utility(rus, sabotage, r) for r in (0.0, 1.0, 2.0, 3.0)]
    assert all(b < a for a, b in itertools.pairwise(utils))
    assert option_utility(rus, statement, 0.0) == option_utility(rus, statement, 3.0)


def test_western_signals_reach_russia_as_provocation_and_as_resolve(model):
    rus = model.actor["RUS"]
    layer = model.decisions
    before_resolve, before_pressure = layer.resolve(rus), rus.pressure
    for aid in ("USA", "GBR", "FRA", "DEU"):
        model.choose(aid, "diplomatic_warning", cause="test")
    for step in (1, 2):
        arrived = layer.perception.deliver(step)
        for actor in model.actors:
            actor.absorb(arrived[actor.actor_id], 1.0, float(step))
    assert layer.resolve(rus) > before_resolve  # deterrence
    assert rus.pressure > before_pressure  # provocation


def test_ignored_threats_build_commitment_or_lose_credibility_by_the_balance(sc):
    out = {}
    for share in (0.0, 0.5, 1.0):
        s = with_overrides(
            sc,
            [
                f"decisions.actors.RUS.commitment_share={share}",
                "decisions.actors.RUS.bluff_rate=0.05",
                "decisions.actors.RUS.commitment_weight=0.5",
            ],
        )
        m = EscalationModel(s, seed=0)
        rus = m.actor["RUS"]
        m.choose("RUS", "warning_statement", cause="test")
        rus.pressure = 0.0
        for _ in range(10):
            rus.last_provocation = 2.0
            rus.update_commitment(1.0)
        out[share] = (rus.commitment, rus.credibility)
    assert out[0.0][0] == 0.0 and out[0.0][1] < out[0.5][1] < out[1.0][1] == 1.0
    assert out[1.0][0] > out[0.5][0] > 0.0
    # A concrete step vindicates the threats.
    m = EscalationModel(sc, seed=0)
    rus = m.actor["RUS"]
    rus.credibility = 0.3
    m.choose("RUS", "arm_third_parties", cause="test")
    assert rus.credibility == 1.0 and rus.stakes == 0.0


def test_suppliers_narrow_on_a_credible_threat_and_widen_on_a_discounted_one(sc):
    s = with_overrides(
        sc,
        [
            "rules.DEU.adaptation.change_prob=1.0",
            "rules.DEU.adaptation.min_days_between_changes=0",
        ],
    )
    m = EscalationModel(s, seed=0)
    deu = m.actor["DEU"]
    narrow_at = deu.policy.spec.adaptation.narrow_at_threat
    before = deu.policy.level
    m.choose("RUS", "sabotage_in_europe", cause="test")  # violent escalation, 28
    deu.absorb(m.decisions.perception.deliver(2)["DEU"], 1.0, 1.0)  # a move acts next step
    threat = m.decisions.threat_seen_by(deu, 1.0, 30.0)
    assert threat >= 28
    change = deu.policy.adapt(1.0, 0.0, None, deu.seen_rungs["RUS"], 0.0, threat=narrow_at)
    assert change is not None and change.kind == "narrow" and deu.policy.level < before
    # The same acts from a Russia whose threats have lost credibility restrain less.
    m.actor["RUS"].credibility = 0.2
    assert m.decisions.threat_seen_by(deu, 1.0, 30.0) == pytest.approx(0.2 * threat)


# ---------------------------------------------------------------- the registry


def test_decision_models_are_named_and_pluggable(sc):
    assert isinstance(decision_model("cost_benefit"), CostBenefit)
    assert isinstance(decision_model("pressure"), PressureThreshold)
    s = with_overrides(sc, ["decisions.actors.RUS.model=pressure"])
    m = EscalationModel(s, seed=0)
    assert m.decisions.models["RUS"].name == "pressure"
    assert m.decisions.models["USA"].name == "cost_benefit"


def test_an_unknown_decision_model_is_a_clear_scenario_error(sc):
    from escalation_sim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="model"):
        with_overrides(sc, ["decisions.actors.RUS.model=oracle"])
