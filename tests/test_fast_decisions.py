"""The decision layer's fast paths equal the direct computations they replace.

The decision phase looks options up in a table built once per model
(``OptionMenu``: the gates an actor's rung alone decides), weighs only the
options that could be motivated, works the case out once per choice, and
prunes precedents only when the oldest is due, finds the salient precedents
from the newest back, works the other side's perceived rise out again only
when an act arrives, and decays every actor in one loop. Each is checked here
against the direct computation (``options.available``, ``CostBenefit.choose``
over the open options, ``option_terms``, a filter of every precedent, a direct
decay), on random actor states and catalogues and on whole runs with the
direct decision phase put back.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import get_args

import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.agents import PRUNE_HALF_LIVES
from escalation_sim.model.decisions.layer import DecisionLayer
from escalation_sim.model.decisions.models import (
    CostBenefit,
    PressureThreshold,
    motivated_terms,
    option_terms,
)
from escalation_sim.model.decisions.options import OptionMenu, available
from escalation_sim.model.decisions.perception import Observation, Trigger
from escalation_sim.model.model import EscalationModel
from escalation_sim.scenario.schema import TriggerKind

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"
KINDS = list(get_args(TriggerKind))


@pytest.fixture(scope="module")
def sc():
    return load_scenario(MAY30)


def _random_state(rnd: random.Random, actor, options) -> float:
    """Put the actor in a random state (rung, case, precedents, cool-downs); returns today."""
    actor.rung = rnd.randint(0, actor.ladder.top)
    top = actor.ladder.rung(actor.ladder.top).climb_threshold
    actor.pressure = rnd.choice([0.0, rnd.uniform(0.0, 1.5 * top)])
    actor.salient.clear()
    for kind in rnd.sample(KINDS, rnd.randint(0, 4)):
        actor.absorb(Observation(triggers=[Trigger(kind, kind, rnd.uniform(0.0, 5.0))]), 1.0, 0.0)
        actor.decay(rnd.choice([0.0, 7.0, 30.0]))
    now = float(rnd.randint(0, 200))
    actor.last_taken = {o.id: now - rnd.randint(0, 60) for o in rnd.sample(options, 3)}
    if rnd.random() < 0.3:
        actor.last_taken = {}
    return now


def _direct_options(actor, options, now: float) -> list:
    """The options open to the actor now, every gate checked by ``options.available``."""
    since = {o: now - d for o, d in actor.last_taken.items()}
    start, top = actor.spec.start_rung, actor.ladder.top
    return available(options, actor.rung, start, top, actor.salient_kinds(), since)


def test_the_menu_opens_what_the_gates_open(sc):
    """``OptionMenu.open`` equals ``available`` at every rung, whatever is salient or cooling down."""
    model = EscalationModel(sc, seed=0)
    rnd = random.Random(1)
    checked = 0
    for aid in model.actor_ids:
        actor = model.actor[aid]
        options = model.decisions.options[aid]
        menu = OptionMenu(options, actor.spec.start_rung, actor.ladder.top)
        for _ in range(300):
            now = _random_state(rnd, actor, options)
            salient = actor.salient_kinds()
            since = {o: now - d for o, d in actor.last_taken.items()}
            for rung in range(-1, actor.ladder.top + 2):  # off the ladder too
                direct = available(
                    options, rung, actor.spec.start_rung, actor.ladder.top, salient, since
                )
                fast = menu.open(rung, actor.salient_kinds, actor.last_taken, now)
                assert fast == direct, (aid, rung, salient, since)
                no_acts = menu.open(rung, actor.salient_kinds, actor.last_taken, now, acts=False)
                assert no_acts == [o for o in direct if o.kind == "hold" or o.descend]
                checked += 1
    assert checked > 1000


def _random_gates(rnd: random.Random, i: int, top: int) -> dict:
    """A random option ``o<i>``'s gates (an update for ``model_copy``): any mix of them."""
    descend = rnd.random() < 0.15
    return {
        "id": f"o{i}",
        "descend": descend,
        "rung": None if descend or rnd.random() < 0.2 else rnd.randint(0, top + 1),
        "min_rung": rnd.choice([None, rnd.randint(0, top)]),
        "requires_any": rnd.sample(KINDS, rnd.choice([0, 0, 1, 2])),
        "skip_on": rnd.sample(KINDS, rnd.choice([0, 1, 2])),
        "cooldown_days": rnd.choice([0.0, 7.0, 30.0]),
    }


def test_the_menu_opens_what_the_gates_open_for_any_mix_of_gates(sc):
    """Random catalogues: every gate alone and in combination (the shipped one has
    few ``min_rung`` gates, and only one that lets an option skip a rung)."""
    model = EscalationModel(sc, seed=0)
    rus = model.actor["RUS"]
    base = model.decisions.options["RUS"]
    rnd = random.Random(8)
    top = rus.ladder.top
    for _ in range(60):
        options = [base[0]]
        for i in range(8):
            o = rnd.choice(base[1:])
            options.append(o.model_copy(update=_random_gates(rnd, i, top)))
        start = rnd.randint(0, 3)
        menu = OptionMenu(options, start, top)
        for _ in range(20):
            now = _random_state(rnd, rus, options)
            salient = rus.salient_kinds()
            since = {o: now - d for o, d in rus.last_taken.items()}
            for rung in range(top + 1):
                direct = available(options, rung, start, top, salient, since)
                assert menu.open(rung, rus.salient_kinds, rus.last_taken, now) == direct


def test_the_menu_asks_for_the_salient_precedents_only_when_a_gate_needs_them(sc):
    model = EscalationModel(sc, seed=0)
    rus = model.actor["RUS"]
    menu = model.decisions.menus["RUS"]
    calls = []

    def salient():
        calls.append(1)
        return []

    menu.open(rus.rung, salient, {}, 0.0, acts=False)
    assert calls == []  # hold and the stand-down carry no precedent gate
    menu.open(rus.rung, salient, {}, 0.0)
    assert calls == [1]  # the doctrine statement does: asked once, not once per option


def test_motivated_terms_are_the_option_terms_of_the_motivated_options(sc):
    model = EscalationModel(sc, seed=0)
    rnd = random.Random(2)
    for aid in model.actor_ids:
        actor = model.actor[aid]
        options = model.decisions.options[aid]
        for _ in range(200):
            _random_state(rnd, actor, options)
            resolve = rnd.choice([0.0, 0.5, 3.0])
            direct = [option_terms(actor, o, resolve) for o in options]
            assert motivated_terms(actor, options, resolve) == [t for t in direct if t.motivated]


@pytest.mark.parametrize("days", [1.0, 7.0, 2.5])
def test_the_decision_phase_choice_equals_choose_over_the_open_options(sc, days):
    """``choose_open`` gives ``choose``'s verdict over the open options (``None`` for hold)."""
    model = EscalationModel(sc, seed=0)
    rnd = random.Random(3)
    acted = 0
    for aid in model.actor_ids:
        actor = model.actor[aid]
        options = model.decisions.options[aid]
        menu = model.decisions.menus[aid]
        for dm in (CostBenefit(), PressureThreshold()):
            for _ in range(200):
                now = _random_state(rnd, actor, options)
                opts = _direct_options(actor, options, now) if dm.gated else options
                resolve, u = rnd.choice([0.0, 1.0, 2.5]), rnd.random()
                direct = dm.choose(actor, opts, resolve, u, days)
                fast = dm.choose_open(actor, menu, resolve, u, days, now)
                if direct.option.kind == "hold":
                    assert fast is None
                else:
                    assert fast == direct
                    acted += 1
    assert acted > 50  # the states reach acts, not only holds


def test_resolve_is_the_mean_rise_of_the_other_side_above_its_start(sc):
    model = EscalationModel(sc, seed=0)
    layer = model.decisions
    rnd = random.Random(4)
    for _ in range(100):
        for actor in model.actors:
            for a in actor.seen_rungs:
                actor.seen_rungs[a] = rnd.randint(0, model.actor[a].ladder.top)
            adv = layer.adversaries[actor.actor_id]
            direct = sum(
                max(0, actor.seen_rungs[a] - model.actor[a].spec.start_rung) for a in adv
            ) / len(adv)
            assert layer.resolve(actor) == direct


def test_decay_prunes_exactly_the_precedents_past_twenty_half_lives(sc):
    """Pruning when the oldest is due keeps what a filter of every precedent keeps."""
    model = EscalationModel(sc, seed=0)
    rus = model.actor["RUS"]
    half = sc.decisions.perception.salience_half_life_days
    rnd = random.Random(5)
    for _ in range(400):
        if rnd.random() < 0.4:
            rus.absorb(Observation(triggers=[Trigger("new_supplier", "x", 1.0)]), 1.0, 0.0)
        ages = [s.age_days for s in rus.salient]
        days = rnd.choice([1.0, 7.0, 0.5])
        expected = [a + days for a in ages if a + days <= PRUNE_HALF_LIVES * half]
        rus.decay(days)
        assert [s.age_days for s in rus.salient] == expected
        total = sum(s.weight * 0.5 ** (s.age_days / half) for s in rus.salient)
        assert rus.salience == total


def _direct_decide(self: DecisionLayer, step: int, day: float) -> None:
    """The decision phase computed directly: every gate checked, every option weighed."""
    m = self.model
    days = m.step_days
    arrived = self.perception.deliver(step)
    for actor in m.actors:
        actor.absorb(arrived[actor.actor_id], days, day)
        above = max(
            (actor.seen_rungs[a] - m.actor[a].spec.start_rung for a in actor.seen_rungs),
            default=0,
        )
        actor.add_pressure(
            actor.params.adversary_rung_weight * max(0.0, above) * days, "adversary's escalation"
        )
        actor.update_commitment(days)
        if actor.params.model == "pressure":
            actor.update_credibility(
                actor.ladder.rung(actor.rung).signal, actor.last_provocation, days
            )
    draws = m.streams["decide"].random(len(m.actor_ids))
    now = round(m.time) * days
    for u, aid in zip(draws.tolist(), m.actor_ids, strict=True):
        actor = m.actor[aid]
        if aid in m.seated:
            continue
        dm = self.models[aid]
        options = self.options[aid]
        opts = _direct_options(actor, options, now) if dm.gated else options
        adv = self.adversaries[aid]
        resolve = sum(max(0, actor.seen_rungs[a] - m.actor[a].spec.start_rung) for a in adv) / len(
            adv
        )
        verdict = dm.choose(actor, opts, resolve, u, days)
        if verdict.option.kind != "hold":
            self.apply(step, day, actor, verdict)


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        # Hot-headed actors: many acts, climbs and cool-downs.
        [f"decisions.actors.{a}.temperature=30" for a in ("RUS", "USA", "UKR")]
        + ["decisions.perception.act_weight=3"],
        ["decisions.actors.RUS.model=pressure", "decisions.actors.GBR.model=pressure"],
    ],
    ids=["default", "hot", "pressure"],
)
def test_whole_runs_equal_the_direct_decision_phase(sc, overrides, monkeypatch):
    """Runs with the fast phase and with the direct one give the same series and decisions."""
    scenario = with_overrides(sc, [*overrides, "horizon_days=90"])
    fast = EscalationModel(scenario, seed=11)
    fast.run()
    with monkeypatch.context() as mp:
        mp.setattr(DecisionLayer, "decide", _direct_decide)
        direct = EscalationModel(scenario, seed=11)
        direct.run()
    decisions = [e for e in fast.events.other if e["kind"] == "decision"]
    assert decisions, "the run makes decisions"
    assert decisions == [e for e in direct.events.other if e["kind"] == "decision"]
    a, b = fast.timeseries(), direct.timeseries()
    assert a.equals(b)
    for x, y in zip(fast._actor_list, direct._actor_list, strict=True):
        assert (x.pressure, x.case, x.contributions) == (y.pressure, y.case, y.contributions)


def _direct_absorb(actor, obs: Observation, days: float, day: float) -> None:
    """``StateActor.absorb`` computed directly: each addition through ``add_pressure``."""
    from escalation_sim.model.agents import ACT_MEMORY_DAYS, USUAL_CHANNELS, _Flow, _Salient

    p = actor.model.spec.decisions.perception
    actor.last_observation = obs
    actor.last_provocation, actor.last_harm = obs.provocation, obs.harm
    actor._harm_seen.append(obs.harm)
    actor._strikes_seen.append(obs.counts)
    for channel, amount in obs.flows.items():
        flow = actor.flows.get(channel)
        if flow is None:
            usual = channel in USUAL_CHANNELS or channel.removeprefix("strikes:") in (
                p.precedent_suppliers
            )
            flow = actor.flows[channel] = _Flow(usual=usual)
        by_cause = obs.causes[channel].items()
        flow.causes = {k: v / amount for k, v in by_cause} if amount else {}
    for channel, flow in actor.flows.items():
        rate = obs.flows.get(channel, 0.0) / days
        if p.habituation_days is None:
            surprise = rate
        else:
            flow.smoothed += (1.0 - math.exp(-days / p.smoothing_days)) * (rate - flow.smoothed)
            flow.days += days
            learn = 1.0 - math.exp(-days / p.habituation_days)
            if flow.usual:
                learn = max(learn, days / flow.days)
            flow.expected += learn * (flow.smoothed - flow.expected)
            surprise = max(0.0, flow.smoothed - flow.expected)
        if surprise > 0:
            for cause, share in flow.causes.items():
                actor.add_pressure(surprise * days * share, cause)
    for t in obs.triggers:
        actor.salient.append(_Salient(t.kind, t.label, t.weight))
    n_other = max(1, len(actor.seen_rungs))
    actor.seen_acts = [(d, a) for d, a in actor.seen_acts if day - d <= ACT_MEMORY_DAYS]
    for act in obs.acts:
        actor.seen_rungs[act.actor] = act.rung
        actor.seen_acts.append((day, act))
        actor.add_pressure(p.act_weight * act.score / n_other, f"{act.actor}: {act.label}")


def _random_observation(rnd: random.Random, step: int) -> Observation:
    from escalation_sim.model.decisions.perception import PerceivedAct

    obs = Observation()
    for channel in rnd.sample(["strikes:USA", "strikes:GBR", "strikes:UKR", "losses", "harm"], 3):
        for cause in rnd.sample(["a", "b", "c", "d"], rnd.randint(0, 3)):
            obs.add(channel, cause, rnd.choice([0.0, rnd.uniform(0.0, 20.0)]))
        obs.counts[channel] = rnd.randint(0, 5)
    if rnd.random() < 0.2:
        obs.triggers.append(Trigger(rnd.choice(KINDS), "t", rnd.uniform(0.0, 3.0)))
    if rnd.random() < 0.2:
        obs.acts.append(PerceivedAct("USA", "statement", "s", "posturing", 1, step))
    obs.provocation, obs.harm = rnd.uniform(0.0, 5.0), rnd.uniform(0.0, 2.0)
    return obs


@pytest.mark.parametrize("overrides", [[], ["decisions.perception.habituation_days=null"]])
@pytest.mark.parametrize("days", [1.0, 3.5])
def test_absorb_adds_what_add_pressure_adds_one_by_one(sc, overrides, days):
    """The inlined additions give the direct absorb's pressure, causes and flows exactly."""
    scenario = with_overrides(sc, overrides)
    fast, direct = (EscalationModel(scenario, seed=0).actor["RUS"] for _ in range(2))
    rnd = random.Random(6)
    for step in range(300):
        obs = _random_observation(rnd, step)
        fast.absorb(obs, days, step * days)
        _direct_absorb(direct, obs, days, step * days)
        fast.decay(days)
        direct.decay(days)
        for name in ("pressure", "contributions", "salience", "seen_rungs", "seen_acts"):
            assert getattr(fast, name) == getattr(direct, name), (step, name)
        assert [(c, f.smoothed, f.expected, f.causes) for c, f in fast.flows.items()] == [
            (c, f.smoothed, f.expected, f.causes) for c, f in direct.flows.items()
        ]
    assert fast.pressure > 0 and fast.salient


def test_observation_add_sums_what_get_and_setdefault_sum():
    rnd = random.Random(7)
    obs, flows, causes = Observation(), {}, {}
    for _ in range(500):
        channel, cause = rnd.choice(["strikes:USA", "losses", "harm"]), rnd.choice("abcde")
        amount = rnd.choice([0.0, rnd.uniform(0.0, 3.0), 1e-9])
        obs.add(channel, cause, amount)
        flows[channel] = flows.get(channel, 0.0) + amount
        by_cause = causes.setdefault(channel, {})
        by_cause[cause] = by_cause.get(cause, 0.0) + amount
    assert (obs.flows, obs.causes) == (flows, causes)
    assert list(obs.flows) == list(flows) and list(obs.causes) == list(causes)


def _direct_decay(actor, days: float) -> None:
    """``StateActor.decay`` computed directly: every precedent aged and filtered."""
    keep = (1.0 - actor.params.pressure_decay) ** days
    actor.pressure *= keep
    actor.commitment *= keep
    actor.contributions = {k: v * keep for k, v in actor.contributions.items() if v * keep > 1e-6}
    half = actor.model.spec.decisions.perception.salience_half_life_days
    for s in actor.salient:
        s.age_days += days
    actor.salient = [s for s in actor.salient if s.age_days <= PRUNE_HALF_LIVES * half]
    actor.stakes *= 0.5 ** (days / actor.params.threat_half_life_days)


def _actor_state(actor) -> tuple:
    return (
        actor.pressure,
        actor.commitment,
        actor.stakes,
        actor.contributions,
        list(actor.contributions),
        [(s.kind, s.label, s.weight, s.age_days) for s in actor.salient],
    )


def test_decay_of_every_actor_in_one_loop_is_each_actors_direct_decay(sc):
    """``decay_actors`` over all actors gives each actor what the direct decay gives it."""
    from escalation_sim.model.agents import decay_actors

    fast, direct = (EscalationModel(sc, seed=0) for _ in range(2))
    rnd = random.Random(9)
    for step in range(300):
        days = rnd.choice([1.0, 0.5, 7.0, 0.0])
        for a, b in zip(fast._actor_list, direct._actor_list, strict=True):
            obs = _random_observation(rnd, step)
            a.absorb(obs, 1.0, float(step))
            b.absorb(obs, 1.0, float(step))
            if rnd.random() < 0.1:
                a.stakes = b.stakes = rnd.uniform(0.0, 3.0)
                a.commitment = b.commitment = rnd.uniform(0.0, 3.0)
        decay_actors(fast._actor_list, days)
        for b in direct._actor_list:
            _direct_decay(b, days)
        for a, b in zip(fast._actor_list, direct._actor_list, strict=True):
            assert _actor_state(a) == _actor_state(b), (step, a.actor_id)
    assert any(a.salient for a in fast._actor_list) and any(a.stakes for a in fast._actor_list)


def test_salient_kinds_and_labels_are_the_filter_of_every_precedent(sc):
    """Found from the newest back, the salient precedents are those a filter of all keeps."""
    from escalation_sim.model.agents import SALIENT_HALF_LIVES

    model = EscalationModel(sc, seed=0)
    rus = model.actor["RUS"]
    window = SALIENT_HALF_LIVES * sc.decisions.perception.salience_half_life_days
    rnd = random.Random(10)
    seen = set()
    for step in range(600):
        if (step // 100) % 2 == 0 and rnd.random() < 0.3:  # quiet spells: all age out
            kind = rnd.choice(KINDS)
            rus.absorb(Observation(triggers=[Trigger(kind, f"{kind}{step}", 1.0)]), 1.0, 0.0)
        # Whole days reach the window's edge exactly; a 0-day decay leaves ages tied.
        rus.decay(rnd.choice([1.0, 0.0, 3.0, 0.7]))
        within = [s for s in rus.salient if s.age_days <= window]
        kinds = []
        for s in within:
            if s.kind not in kinds:
                kinds.append(s.kind)
        assert rus.salient_kinds() == kinds
        assert rus.salient_labels() == [s.label for s in within]
        seen.add((len(within) > 0, len(within) < len(rus.salient)))
    # Every mix met: none salient, all salient, and some remembered but no longer salient.
    assert {(False, True), (True, False), (True, True)} <= seen


def test_the_decision_phase_choice_equals_choose_for_any_mix_of_gates(sc):
    """Random catalogues (hold with a cool-down, acts answering nothing, every gate):
    ``choose_open`` gives ``choose``'s verdict over the options ``available`` opens."""
    model = EscalationModel(sc, seed=0)
    rus = model.actor["RUS"]
    base = model.decisions.options["RUS"]
    rnd = random.Random(12)
    top = rus.ladder.top
    dm = CostBenefit()
    outcomes = set()
    for _ in range(80):
        hold = base[0].model_copy(update={"cooldown_days": rnd.choice([0.0, 0.0, 5.0])})
        options = [hold]
        for i in range(rnd.choice([2, 3, 8])):  # _random_state marks 3 as taken
            o = rnd.choice(base[1:])
            update = _random_gates(rnd, i, top)
            update["answers"] = rnd.choice([0.0, o.answers, rnd.uniform(0.0, 200.0)])
            update["cost"] = rnd.choice([0.0, o.cost])
            options.append(o.model_copy(update=update))
        start = rnd.randint(0, 3)
        rus.spec = rus.spec.model_copy(update={"start_rung": start})
        menu = OptionMenu(options, start, top)
        for _ in range(25):
            now = _random_state(rnd, rus, options)
            if rnd.random() < 0.3:
                rus.last_taken["hold"] = now - rnd.randint(0, 6)
            opts = _direct_options(rus, options, now)
            resolve, u, days = rnd.choice([0.0, 1.0, 2.5]), rnd.random(), rnd.choice([1.0, 3.0])
            try:
                direct = dm.choose(rus, opts, resolve, u, days)
            except ValueError:  # nothing weighed, not even hold (cooling down): no logit of none
                with pytest.raises(ValueError):
                    dm.choose_open(rus, menu, resolve, u, days, now)
                outcomes.add("none weighed")
                continue
            fast = dm.choose_open(rus, menu, resolve, u, days, now)
            assert fast == (None if direct.option.kind == "hold" else direct)
            outcomes.add((len(opts) == 1, direct.option.kind == "hold"))
    assert outcomes == {(True, True), (True, False), (False, True), (False, False), "none weighed"}


def test_seen_harm_rate_is_the_mean_over_the_window_however_it_changes(sc):
    """The rate is the mean of the last ``round(window / step)`` harms perceived, whatever
    windows were asked for before (a read leaves the history whole)."""
    model = EscalationModel(sc, seed=0)
    actor = model.actor["DEU"]
    rnd = random.Random(13)
    history: list[float] = []
    for step in range(400):
        obs = Observation(harm=rnd.choice([0.0, rnd.uniform(0.0, 5.0)]))
        actor.absorb(obs, model.step_days, float(step))
        history.append(obs.harm)
        window = rnd.choice([14.0, 14.0, 14.0, 3.0, 30.0, 0.2])
        n = max(1, round(window / model.step_days))
        recent = history[-n:]
        direct = sum(recent) / max(1, len(recent)) / model.step_days
        assert actor.seen_harm_rate(window) == direct, step
        assert actor._harm_seen == history


def test_threat_seen_by_weighs_each_act_by_its_score_and_its_authors_credibility(sc):
    """The scores looked up in the layer are ``PerceivedAct.score``, acts of every sign."""
    from escalation_sim.model.decisions.perception import PerceivedAct
    from escalation_sim.model.decisions.scales import RIVERA_SCORE

    model = EscalationModel(sc, seed=0)
    deu, rus = model.actor["DEU"], model.actor["RUS"]
    rnd = random.Random(14)
    riveras = sorted(RIVERA_SCORE)
    assert min(RIVERA_SCORE.values()) <= 0 < max(RIVERA_SCORE.values())
    for step in range(300):
        if rnd.random() < 0.5:
            act = PerceivedAct("RUS", "o", "act", rnd.choice(riveras), 2, step)
            deu.seen_acts.append((float(step), act))
        rus.credibility = rnd.choice([1.0, rnd.uniform(0.0, 1.0)])
        window = rnd.choice([30.0, 7.0])
        kept = [a for d, a in deu.seen_acts if step - d <= window]
        direct = sum(max(0, a.score) * rus.credibility for a in kept)
        assert model.decisions.threat_seen_by(deu, float(step), window) == direct, step


def test_absorb_works_the_rates_out_again_when_the_step_changes(sc):
    """The smoothing and learning rates kept for one step length are not reused for another."""
    fast, direct = (EscalationModel(sc, seed=0).actor["RUS"] for _ in range(2))
    rnd = random.Random(15)
    for step in range(200):
        days = rnd.choice([1.0, 3.5, 0.25])
        obs = _random_observation(rnd, step)
        fast.absorb(obs, days, float(step))
        _direct_absorb(direct, obs, days, float(step))
        assert fast.pressure == direct.pressure, step
        assert [(f.smoothed, f.expected, f.days) for f in fast.flows.values()] == [
            (f.smoothed, f.expected, f.days) for f in direct.flows.values()
        ], step
    assert fast.pressure > 0
