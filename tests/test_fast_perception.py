"""Perception's and the policy responses' fast paths equal the direct computations they replace.

Perception skips the kernel on a step without strikes, looks strike names and
settled precedents up, tables the harm seers' weights and hands every actor
who perceives nothing one shared empty observation; the policy responses skip
a supplier whose draw, last change or settings rule out any change. Each is
checked here against the code it replaced (kept below as the reference), on
whole runs of every shipped scenario and of settings that stress each path
(no lag, a long lag, no noise, widening suppliers that change often, seated
players), with the kernels on and off, step by step: what every actor
perceives (``observation()``), its state, the event log and the time series.
"""

from __future__ import annotations

import math
import random
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model import kernels
from escalation_sim.model.decisions.perception import (
    Observation,
    PerceivedAct,
    Perception,
    Trigger,
)
from escalation_sim.model.engagement import StrikeReport
from escalation_sim.model.model import HARM_WINDOW_DAYS, EscalationModel
from escalation_sim.model.policy import PolicyState

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
MAY30 = SCENARIOS[0].parent / "may30_kharkiv_counterfire.yaml"
ADAPTIVE = SCENARIOS[0].parent / "adaptive_policy.yaml"
DEEP = SCENARIOS[0].parent / "deep_strike.yaml"


# ---------------------------------------------------------------- the direct code (reference)


def _direct_observe_step(
    self: Perception, step, report, russian_units_destroyed, harm, cause_label, harm_weights
) -> None:
    """``Perception.observe_step`` as it was: every step the same work, whatever it holds."""
    p = self.spec
    u = self.rng.random((self.n_units, 2))
    z = self.rng.standard_normal(self.n_units)
    z_harm = self.rng.standard_normal(len(self.actor_ids))
    noise = p.noise_sd
    rus = _direct_queue(self, step, self.russia_id)
    noticed = (
        self._noticed_compiled(report, u, z)
        if kernels.enabled()
        else self._noticed_numpy(report, u, z)
    )
    if noticed is not None:
        columns, weights = noticed
        rus.provocation += float(np.add.reduce(weights))
        rows = zip(*columns[:7], weights.tolist(), strict=True)  # the columns it had
        for seen, true, weapon, zone, rule, c, d, weight in rows:
            label = cause_label(true, weapon, zone, rule)
            if seen != true:
                label += f" (attributed to {self.actor_ids[seen]})"
            channel = self._channel[seen]
            rus.add(channel, label, weight)
            rus.counts[channel] = rus.counts.get(channel, 0) + 1
            if not self._precedent[seen]:
                _direct_precedents(self, rus, seen, weapon, c, d)
    if russian_units_destroyed:
        rus.add(
            "losses", "losses to Ukrainian strikes", p.own_loss_weight * russian_units_destroyed
        )
    if harm > 0:
        spread = 0.5 * noise * noise
        z_list = z_harm.tolist()
        for i, aid in self._harm_seers:
            seen_harm = harm * math.exp(noise * z_list[i] - spread)
            obs = _direct_queue(self, step, aid)
            obs.harm += seen_harm
            weight = harm_weights.get(aid, 0.0)
            if weight > 0:
                obs.add("harm", "harm to the city", weight * seen_harm)


def _direct_queue(self: Perception, step: int, actor: str) -> Observation:
    return self._pending[step + self.lag_steps].setdefault(actor, Observation())


def _direct_band_label(self: Perception, depth: float) -> str:
    for hi, label in zip(self._bands, self._band_labels, strict=False):
        if depth <= hi:
            return label
    return self._band_labels[-1]


def _direct_precedents(self: Perception, obs, s: int, weapon: int, cls: int, depth: float) -> None:
    from escalation_sim.model.decisions.perception import _precedent_label

    sup, cname = self.actor_ids[s], self.class_ids[cls]
    keys = [
        ("new_supplier", sup),
        ("first_weapon_class", sup, self.family[weapon]),
        ("new_depth_band", sup, _direct_band_label(self, depth)),
        ("new_target_class", sup, cname),
    ]
    if self._strategic[cls]:
        keys.append(("strategic_asset", sup, cname, f"{depth:.0f}"))
    for key in keys:
        if key in self.seen:
            continue
        self.seen[key] = 1
        weight = self.spec.trigger_weight.get(key[0], 0.0) * float(self._supplier_weight[s])
        if weight > 0:
            obs.triggers.append(Trigger(key[0], _precedent_label(key), weight))


def _direct_deliver(self: Perception, step: int) -> dict[str, Observation]:
    arrived = self._pending.pop(step, {})
    return {aid: arrived.get(aid, Observation()) for aid in self.actor_ids}


def _direct_policy_responses(self: EscalationModel, k: int, day: float) -> None:
    """``EscalationModel._policy_responses`` as it was: every supplier perceives, then adapts."""
    from escalation_sim.model.model import HARM_WINDOW_DAYS

    draws = self.streams["policy"].random(len(self.suppliers))
    changed = False
    levels = [a.policy.level for a in self.suppliers]
    total, n_others = sum(levels), len(levels) - 1
    for u, actor, own in zip(draws.tolist(), self.suppliers, levels, strict=True):
        if actor.actor_id in self.seated:
            continue
        allies = (total - own) / n_others if n_others else None
        harm_rate = actor.seen_harm_rate(HARM_WINDOW_DAYS)
        rus_rung = actor.seen_rungs.get(self.russia_id, self.actor[self.russia_id].rung)
        window = actor.policy.spec.adaptation.threat_window_days
        threat = self.decisions.threat_seen_by(actor, day, window)
        change = actor.policy.adapt(day, harm_rate, allies, rus_rung, u, threat=threat)
        if change is not None:
            self._log_rule_change(k, change)
            changed = True
    if changed:
        self._rebuild_engine()


def _direct(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(Perception, "observe_step", _direct_observe_step)
    mp.setattr(Perception, "deliver", _direct_deliver)
    mp.setattr(EscalationModel, "_policy_responses", _direct_policy_responses)


# ---------------------------------------------------------------- whole runs, step by step


def _state(m: EscalationModel, full: bool) -> list:
    """What the rest of the project reads of perception and policy after a step.

    ``full``: with what each actor's ``observation()`` shows (the players' and
    briefings' view; dear, so not every step).
    """
    out: list = [m.time]
    for actor in m._actor_list:
        aid = actor.actor_id
        if full:
            view = m.observation(aid)
            out.append((aid, repr(sorted(view.items(), key=lambda kv: kv[0]))))
        obs = actor.last_observation
        out.append(
            (
                actor.pressure,
                dict(actor.contributions),
                [(s.kind, s.label, s.weight, s.age_days) for s in actor.salient],
                list(actor.seen_acts),
                dict(actor.seen_rungs),
                actor.last_harm,
                actor.last_provocation,
                None if obs is None else repr(obs),
                [(c, f.smoothed, f.expected, f.causes) for c, f in actor.flows.items()],
            )
        )
        if actor.policy is not None:
            p = actor.policy
            out.append((p.posture, p.level, p.last_change_day, [r.id for r in p.active_rules()]))
    out.append(sorted(m.decisions.perception.seen))
    return out


def _run(scenario, seed: int, steps: int, play: bool) -> tuple[list, list, object]:
    m = EscalationModel(scenario, seed=seed, seated=("UKR",) if play else ())
    trace = []
    rnd = random.Random(seed)
    for k in range(steps):
        if play and k % 5 == 0:  # a player's choice between steps (perceived one step on)
            options = m.choices("UKR")
            m.choose("UKR", options[rnd.randrange(len(options))].id, cause="test")
        m.step()
        trace.append(_state(m, full=k % 6 == 0 or k == steps - 1))
    return trace, m.events.records(), m


def _assert_same_runs(a, b) -> None:
    trace_a, events_a, model_a = a
    trace_b, events_b, model_b = b
    for k, (x, y) in enumerate(zip(trace_a, trace_b, strict=True)):
        assert x == y, f"step {k + 1}"
    assert events_a == events_b
    assert model_a.timeseries().equals(model_b.timeseries())


CASES = [
    *[(path, [], False) for path in SCENARIOS],
    (MAY30, ["decisions.perception.lag_days=0"], True),  # acts land in the step's own bucket
    (MAY30, ["decisions.perception.lag_days=3", "decisions.perception.noise_sd=0"], False),
    (DEEP, ["decisions.perception.attribution_accuracy=0.2"], False),  # many misattributed
    (DEEP, ["decisions.actors.GBR.harm_weight=0", "decisions.perception.report_prob=1"], False),
    # Widening and narrowing suppliers that act on most steps they may.
    (
        ADAPTIVE,
        [f"rules.{s}.adaptation.change_prob=0.9" for s in ("USA", "GBR", "FRA", "DEU")]
        + [f"rules.{s}.adaptation.min_days_between_changes=2" for s in ("USA", "FRA")],
        True,
    ),
]


def _params() -> list:
    """Every case with the kernels; with the numpy path, three in the fast suite, all when slow."""
    params = []
    for i, (path, overrides, play) in enumerate(CASES):
        for numba_on in (True, False):
            fast = numba_on or i in (2, 5, len(CASES) - 1)
            params.append(
                pytest.param(
                    path,
                    overrides,
                    play,
                    numba_on,
                    id=f"{i}-{path.stem}-{'kernels' if numba_on else 'numpy'}",
                    marks=() if fast else pytest.mark.slow,
                )
            )
    return params


@pytest.mark.parametrize(("path", "overrides", "play", "numba_on"), _params())
def test_whole_runs_equal_the_direct_perception_and_policy(path, overrides, play, numba_on):
    scenario = with_overrides(load_scenario(path), overrides)
    steps = min(120, round(scenario.horizon_days / scenario.step_days))
    with nullcontext() if numba_on else kernels.disabled():
        fast = _run(scenario, 4, steps, play)
        with pytest.MonkeyPatch.context() as mp:
            _direct(mp)
            direct = _run(scenario, 4, steps, play)
    _assert_same_runs(fast, direct)
    model = fast[2]
    # The runs exercised what they are meant to: perceived strikes and harm, precedents.
    kinds = {e["kind"] for e in fast[1]}
    assert "decision" in kinds
    assert any(h > 0 for a in model._actor_list for h in a._harm_seen)  # harm perceived
    if "pre_may30" not in path.stem:  # strikes inside Russia set precedents
        assert model.decisions.perception.seen
    if "adaptive" in path.stem:
        assert any(e["kind"] == "rule_change" and e["change"] != "scheduled" for e in fast[1])
    # The shared empty observation was never changed by whoever read it.
    assert repr(model.decisions.perception._nothing) == repr(Observation())


def test_the_run_comparison_detects_a_one_ulp_difference(monkeypatch):
    scenario = with_overrides(load_scenario(MAY30), ["horizon_days=40"])
    fast = _run(scenario, 4, 40, False)
    original = Perception.observe_step

    def nudged(self, step, report, destroyed, harm, cause_label, weights):
        if step == 20 and harm > 0:
            harm = math.nextafter(harm, math.inf)
        original(self, step, report, destroyed, harm, cause_label, weights)

    monkeypatch.setattr(Perception, "observe_step", nudged)
    nudged_run = _run(scenario, 4, 40, False)
    with pytest.raises(AssertionError):
        _assert_same_runs(fast, nudged_run)


# ---------------------------------------------------------------- pieces


def test_a_change_of_harm_weights_between_steps_is_honoured():
    m = EscalationModel(with_overrides(load_scenario(MAY30), ["decisions.perception.noise_sd=0"]))
    p = m.decisions.perception
    for step, w in enumerate([0.5, 0.5, 2.0, 0.0, 2.0], start=1):
        weights = {aid: w for aid in m.actor_ids}
        p.observe_step(step, StrikeReport.empty(), 0, 3.0, m._cause_label, weights)
        got = p.deliver(step + p.lag_steps)
        for aid in m.actor_ids:
            obs = got[aid]
            if aid == m.russia_id:
                assert obs.flows == {} and obs.harm == 0.0
            else:
                assert obs.harm == 3.0
                assert obs.flows == ({"harm": w * 3.0} if w > 0 else {})


def test_a_step_that_holds_nothing_delivers_the_empty_observation_to_all():
    m = EscalationModel(load_scenario(MAY30))
    p = m.decisions.perception
    before = p.rng.bit_generator.state
    p.observe_step(3, StrikeReport.empty(), 0, 0.0, m._cause_label, {})
    assert p.rng.bit_generator.state != before  # the step's block is drawn all the same
    got = p.deliver(3 + p.lag_steps)
    assert list(got) == m.actor_ids
    assert all(repr(obs) == repr(Observation()) for obs in got.values())


@pytest.mark.parametrize("bands", [[30.0, 90.0], [], [50.0], [10.0, 30.0, 90.0, 300.0]])
def test_band_index_is_the_first_edge_at_or_beyond_the_depth(bands):
    sc = with_overrides(load_scenario(DEEP), [f"decisions.perception.depth_bands_km={bands}"])
    p = EscalationModel(sc, seed=0).decisions.perception
    depths = [0.0, 1e-9, 29.999, 30.0, math.nextafter(30.0, 99), 90.0, 1e6, math.inf, math.nan]
    depths += [b for b in bands] + [math.nextafter(b, math.inf) for b in bands]
    depths += list(np.random.default_rng(1).uniform(0, 300, 200))
    for d in depths:
        assert p.band_label(d) == _direct_band_label(p, d), d
        assert p._band_labels[p.band_index(d)] == _direct_band_label(p, d), d


# ---------------------------------------------------------------- policy responses


def _random_policy(rnd: random.Random, sc) -> PolicyState:
    supplier = rnd.choice(list(sc.rules))
    spec = sc.rules[supplier]
    adaptation = spec.adaptation.model_copy(
        update={
            "widen": rnd.random() < 0.6,
            "narrow": rnd.random() < 0.7,
            "change_prob": rnd.choice([0.0, 0.1, 0.5, 1.0]),
            "min_days_between_changes": rnd.choice([0, 7, 14]),
            "widen_threshold": rnd.choice([0.0, 0.5, 1.0, 5.0]),
            "narrow_at_threat": rnd.choice([0.0, 10.0, 40.0]),
        }
    )
    spec = spec.model_copy(update={"adaptation": adaptation})
    state = PolicyState(supplier, spec, rnd.choice(list(spec.postures)))
    state.last_change_day = rnd.choice([-1e9, rnd.uniform(0, 100)])
    return state


def test_a_supplier_ruled_out_by_draw_last_change_or_settings_never_changes():
    """What the fast phase skips is exactly what adapt could never change, whatever it perceives."""
    sc = load_scenario(ADAPTIVE)
    rnd = random.Random(3)
    skipped = changed = 0
    for _ in range(4000):
        state = _random_policy(rnd, sc)
        a = state.spec.adaptation
        day = rnd.uniform(0, 120)
        u = rnd.random()
        ruled_out = (
            u >= a.change_prob
            or day - state.last_change_day < a.min_days_between_changes
            or not (a.narrow or a.widen)
        )
        assert state.may_change(day, u) is not ruled_out  # the phase asks may_change
        for _ in range(5):  # whatever it perceives
            before = (state.posture, state.last_change_day)
            change = state.adapt(
                day,
                rnd.choice([0.0, rnd.uniform(0, 200)]),
                rnd.choice([None, rnd.uniform(0, 3)]),
                rnd.randint(0, 10),
                u,
                threat=rnd.choice([0, rnd.uniform(0, 100)]),
            )
            if ruled_out:
                assert change is None and (state.posture, state.last_change_day) == before
            elif change is not None:
                changed += 1
                break
        skipped += ruled_out
    assert 0 < skipped < 4000 and changed > 100  # both kinds were seen


def test_skipped_suppliers_still_forget_old_acts_as_reading_the_threat_does():
    """A skipped supplier's memory of acts (what observation() shows) is pruned as before."""
    sc = with_overrides(
        load_scenario(MAY30),
        ["rules.USA.adaptation.change_prob=0", "rules.USA.adaptation.threat_window_days=5"],
    )
    m = EscalationModel(sc, seed=0)
    usa = m.actor["USA"]
    act = PerceivedAct("RUS", "threat", "a threat", "posturing", 1, 0)
    usa.seen_acts = [(1.0, act), (9.0, act)]
    m._policy_responses(10, 10.0)
    assert usa.seen_acts == [(9.0, act)]  # the act of day 1 is out of the 5-day window
    m._policy_responses(11, 11.0)
    assert usa.seen_acts == [(9.0, act)]


def test_the_harm_window_is_read_only_when_a_supplier_may_change():
    # The harm memory is read only on the full path; only the last HARM_WINDOW_DAYS are averaged.
    m = EscalationModel(load_scenario(MAY30), seed=0)
    usa = m.actor["USA"]
    usa._harm_seen = [float(i) for i in range(50)]
    n = round(HARM_WINDOW_DAYS / m.step_days)
    assert usa.seen_harm_rate(HARM_WINDOW_DAYS) == sum(range(50 - n, 50)) / n / m.step_days


def test_a_suppliers_level_follows_its_posture_however_it_changes():
    import pickle

    from escalation_sim.scenario.schema import ScheduledChangeSpec

    sc = load_scenario(ADAPTIVE)
    rnd = random.Random(8)

    def level_of(state: PolicyState) -> int:
        return state.spec.postures[state.posture].level

    for _ in range(300):
        state = _random_policy(rnd, sc)
        assert state.level == level_of(state)
        how = rnd.choice(["scheduled", "adapt", "direct", "pickle"])
        postures = list(state.spec.postures)
        if how == "scheduled":
            change = ScheduledChangeSpec(
                day=1, supplier=state.supplier, posture=rnd.choice(postures)
            )
            state.apply_scheduled(change, 1.0)
        elif how == "adapt":
            state.last_change_day = -1e9
            state.adapt(50.0, 500.0, 3.0, rnd.choice([0, 9]), 0.0, threat=rnd.choice([0, 99]))
        elif how == "direct":
            state.posture = rnd.choice(postures)
        else:
            state = pickle.loads(pickle.dumps(state))
        assert state.level == level_of(state), how
    # The level changed along the way: it is not a constant.
    assert len({_random_policy(rnd, sc).level for _ in range(50)}) > 1
