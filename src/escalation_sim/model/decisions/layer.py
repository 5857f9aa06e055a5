"""The decision phase of a step: perceive, weigh, choose, act, and tell the other side.

:class:`DecisionLayer` holds the perception module and each actor's options
and decision model. Each step, after Ukraine's strikes, the model hands it
the strike report (:meth:`DecisionLayer.perceive`); in the decision phase
(:meth:`DecisionLayer.decide`) every actor takes in what has reached it, the
automated ones choose an option, and each act is queued for the other side to
perceive. Players choose through :meth:`DecisionLayer.choices` and
:meth:`DecisionLayer.choose`, applied exactly as an automated choice is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from escalation_sim.model.decisions.models import (
    DecisionModel,
    Verdict,
    decision_model,
    excess_case,
)
from escalation_sim.model.decisions.options import (
    Choice,
    Decision,
    OptionMenu,
    as_choice,
    closed_by,
    describe_gate,
    target_rung,
)
from escalation_sim.model.decisions.perception import Perception
from escalation_sim.model.decisions.scales import CONCRETE, RIVERA_SCORE
from escalation_sim.model.engagement import StrikeReport
from escalation_sim.scenario.schema import OptionSpec

if TYPE_CHECKING:
    from escalation_sim.model.agents import StateActor
    from escalation_sim.model.model import EscalationModel

#: The option every actor has, whether or not its catalogue lists it.
HOLD = OptionSpec(
    id="hold",
    label="Hold: no new act",
    kind="hold",
    answers=0.0,
    cost=0.0,
    rivera="status_quo",
    description="Carry on as before.",
)


class DecisionLayer:
    """Perception, options and decision models of every actor in one model.

    Args:
        model: The model (its actors, ladders, streams and names).
        cause_label: ``(supplier, weapon, zone, rule) -> str``, how a strike is named.
    """

    def __init__(self, model: EscalationModel, cause_label: Callable[..., str]) -> None:
        self.model = model
        sc = model.spec
        self.cause_label = cause_label
        self.perception = Perception(
            sc.decisions.perception,
            actor_ids=model.actor_ids,
            russia_id=model.russia_id,
            weapon_ids=model.weapon_ids,
            weapon_supplier=model._weapon_supplier,
            weapon_long=np.array([sc.weapons[w].long_range for w in model.weapon_ids]),
            class_ids=model.forces.class_ids,
            zone_ids=model.theater.zone_ids,
            n_units=model.forces.n,
            step_days=model.step_days,
            rng=model.streams["perceive"],
        )
        self.options: dict[str, list[OptionSpec]] = {}
        self.models: dict[str, DecisionModel] = {}
        for aid in model.actor_ids:
            opts = list(sc.options_for(aid))
            holds = [o for o in opts if o.kind == "hold"]
            rest = [o for o in opts if o.kind != "hold"]
            self.options[aid] = [holds[0] if holds else HOLD, *rest]
            self.models[aid] = decision_model(sc.decisions.actors[aid].model)
        self.adversaries = {
            aid: (
                [a for a in model.actor_ids if a != model.russia_id]
                if aid == model.russia_id
                else [model.russia_id]
            )
            for aid in model.actor_ids
        }
        for actor in model.actors:
            actor.seen_rungs = {
                a: model.actor[a].spec.start_rung for a in self.adversaries[actor.actor_id]
            }
        # Tabled once per model (the options, ladders and starting rungs are fixed).
        self._start_rung = {a.actor_id: a.spec.start_rung for a in model.actors}
        #: Each actor's options tabled by rung (the gates its rung alone decides, applied once).
        self.menus = {
            aid: OptionMenu(
                self.options[aid], model.actor[aid].spec.start_rung, model.actor[aid].ladder.top
            )
            for aid in model.actor_ids
        }
        #: The other side of each actor, with each adversary's starting rung.
        self._adversary_start = {
            aid: [(a, self._start_rung[a]) for a in self.adversaries[aid]]
            for aid in model.actor_ids
        }
        #: Per actor in the model's agent order: the actor and whether it runs the earlier model.
        self._absorbing = [(a, a.params.model == "pressure") for a in model.actors]
        #: Per actor: (the highest perceived rise of the other side above its start, the
        #: resolve it perceives). Both read only ``seen_rungs``, which only an act perceived
        #: changes (``StateActor.absorb``): worked out again only in a step that brings one.
        self._rise = {a.actor_id: self._rise_seen_by(a) for a in model.actors}
        #: Per actor in scenario order (the order of the ``decide`` draws): actor, model, menu.
        self._choosing = [
            (aid, model.actor[aid], self.models[aid], self.menus[aid]) for aid in model.actor_ids
        ]

    # ------------------------------------------------------------------ perception
    def perceive(
        self, step: int, report: StrikeReport, russian_destroyed: int, harm: float
    ) -> None:
        """Hand the step's strikes, Russia's losses and the harm to the city to perception."""
        weights = {a.actor_id: a.params.harm_weight for a, _ in self._absorbing}
        self.perception.observe_step(
            step, report, russian_destroyed, harm, self.cause_label, weights
        )

    def resolve(self, actor: StateActor) -> float:
        """The other side's resolve as the actor perceives it: mean rungs above their start."""
        adv = self._adversary_start[actor.actor_id]
        if not adv:
            return 0.0
        seen = actor.seen_rungs
        total = 0
        for a, start in adv:
            above = seen[a] - start
            if above > 0:
                total += above
        return total / len(adv)

    def _rise_seen_by(self, actor: StateActor) -> tuple[int, float]:
        """The other side's highest perceived rung above its start (0 if none), and its resolve."""
        start = self._start_rung
        above = 0
        for a, r in actor.seen_rungs.items():
            if r - start[a] > above:
                above = r - start[a]
        return above, self.resolve(actor)

    def threat_seen_by(self, actor: StateActor, day: float, window_days: float) -> float:
        """The other side's threat as an actor perceives it.

        The escalation scores of the other side's acts perceived within the
        window, each weighed by the credibility of its author's threats.
        """
        acts = actor.seen_acts
        if not acts:
            return 0  # what the sum of no acts is
        by_id = self.model.actor
        if day - acts[0][0] > window_days:  # the oldest first: else every act is in the window
            actor.seen_acts = acts = [(d, a) for d, a in acts if day - d <= window_days]
        # max(0, a.score) * credibility, the score looked up as PerceivedAct.score does.
        score = RIVERA_SCORE
        return sum(
            [(s if (s := score[a.rivera]) > 0 else 0) * by_id[a.actor].credibility for _, a in acts]
        )

    # ------------------------------------------------------------------ decisions
    def decide(self, step: int, day: float) -> None:
        """The decision phase: every actor absorbs what reached it, then chooses."""
        m = self.model
        days = m.step_days
        arrived = self.perception.deliver(step)
        rise = self._rise
        for actor, legacy in self._absorbing:
            aid = actor.actor_id
            obs = arrived[aid]
            actor.absorb(obs, days, day)
            if obs.acts:  # the other side's rungs as perceived may have moved
                rise[aid] = self._rise_seen_by(actor)
            amount = actor.params.adversary_rung_weight * rise[aid][0] * days
            if amount > 0.0:
                actor.add_pressure(amount, "adversary's escalation")
            if actor.stakes > 1e-3 and actor.last_provocation > 0:  # else it changes nothing
                actor.update_commitment(days)
            if legacy:
                actor.update_credibility(
                    actor.ladder.rung(actor.rung).signal, actor.last_provocation, days
                )
        draws = m.streams["decide"].random(len(m.actor_ids))
        now = round(m.time) * days
        seated = m.seated
        for u, (aid, actor, dm, menu) in zip(draws.tolist(), self._choosing, strict=True):
            if aid in seated:  # a player chooses between steps (model.choose)
                continue
            verdict = dm.choose_open(actor, menu, rise[aid][1], u, days, now)
            if verdict is not None:
                self.apply(step, day, actor, verdict)

    def open_options(self, actor: StateActor) -> list[OptionSpec]:
        """The options open to an actor now (hold first)."""
        now = round(self.model.time) * self.model.step_days
        return self.menus[actor.actor_id].open(
            actor.rung, actor.salient_kinds, actor.last_taken, now
        )

    def apply(
        self, step: int, day: float, actor: StateActor, verdict: Verdict, **extra: Any
    ) -> Decision:
        """Carry out a chosen option: move on the ladder, answer the case, stake or vindicate threats.

        ``extra`` fields go into the ``decision`` event (a player's ``cause``, ``by``).
        """
        m = self.model
        o = verdict.option
        before = actor.rung
        case = actor.case
        answered = min(excess_case(actor), o.answers)
        triggers = actor.salient_labels()
        decision = Decision(
            actor=actor.actor_id,
            option=o.id,
            label=o.label,
            kind=o.kind,
            from_rung=before,
            to_rung=target_rung(o, before),
            rivera=o.rivera,
            score=RIVERA_SCORE[o.rivera],
            kahn=o.kahn,
            pressure=case,
            threshold=verdict.threshold,
            chance=verdict.chance,
            utility=verdict.utility,
            model=self.models[actor.actor_id].name,
            causes=actor.causes(),
            triggers=triggers,
        )
        actor.rung = decision.to_rung
        if actor.rung > actor.peak_rung:
            actor.peak_rung, actor.peak_day = actor.rung, day
        if actor.rung > before:
            actor.credibility_gap = 0.0
        if self.models[actor.actor_id].relieves:
            actor.relieve(answered)
        if o.threat:
            actor.stakes += 1.0
        if o.rivera in CONCRETE:
            # A concrete step answers the threats made: they were not bluffs.
            actor.credibility, actor.stakes, actor.commitment = 1.0, 0.0, 0.0
        actor.score_now, actor.kahn_now, actor.option_now = decision.score, o.kahn or 0, o.id
        actor.last_taken[o.id] = day
        self.perception.observe_act(
            step,
            actor.actor_id,
            o,
            actor.rung,
            actor.ladder.rung(actor.rung),
            self.adversaries[actor.actor_id],
        )
        m._log_decision(step, day, decision, **extra)
        return decision

    # ------------------------------------------------------------------ players
    def choices(self, actor_id: str) -> list[Choice]:
        """What an actor may choose now: its open options, hold first."""
        actor = self.model.actor[actor_id]
        return [as_choice(o, actor.rung) for o in self.open_options(actor)]

    def resolve_choice(self, actor_id: str, choice_id: str) -> OptionSpec | None:
        """The open option a choice id names (``climb`` and ``descend`` name the obvious one)."""
        actor = self.model.actor[actor_id]
        opts = self.open_options(actor)
        by_id = {o.id: o for o in opts}
        if choice_id in by_id:
            return by_id[choice_id]
        if choice_id == "climb":
            return next((o for o in opts if o.rung == actor.rung + 1 and not o.descend), None)
        if choice_id == "descend":
            return next((o for o in opts if o.descend), None)
        return None

    def observation(self, actor_id: str) -> dict[str, Any]:
        """What an actor perceives now: its case, precedents, the other side's rungs and acts."""
        actor = self.model.actor[actor_id]
        obs = actor.last_observation
        window = self.model.spec.decisions.perception.smoothing_days
        return {
            "actor": actor_id,
            "rung": actor.rung,
            "case": actor.case,
            "pressure": actor.pressure,
            "salience": actor.salience,
            "commitment": actor.commitment,
            "salient_precedents": actor.salient_labels(),
            "other_side_rungs": dict(actor.seen_rungs),
            "other_side_acts": [
                {"day": d, "actor": a.actor, "option": a.option, "score": a.score}
                for d, a in actor.seen_acts
            ],
            "perceived_today": dict(obs.flows) if obs else {},
            "strikes_seen_by_supplier": actor.seen_strike_counts(window),
            "perceived_harm_today": actor.last_harm,
            "top_causes": actor.causes(),
            "weighing": self.weighing(actor_id),
        }

    def weighing(self, actor_id: str) -> dict[str, Any]:
        """What the actor's decision model weighs now, from its perceived view (JSON-ready).

        The model's own terms (``DecisionModel.explain``: for ``cost_benefit``
        each open option's gain, cost, risk, utility and daily chance; for
        ``pressure`` pressure against the next threshold), and, for a gated
        model, each closed option with the gate that closes it.
        """
        actor = self.model.actor[actor_id]
        dm = self.models[actor_id]
        opts = self.open_options(actor) if dm.gated else self.options[actor_id]
        out = dm.explain(actor, opts, self.resolve(actor))
        if dm.gated:
            now = round(self.model.time) * self.model.step_days
            since = {o: now - d for o, d in actor.last_taken.items()}
            salient = actor.salient_kinds()
            out["closed"] = []
            for o in self.options[actor_id]:
                gate = closed_by(
                    o, actor.rung, actor.spec.start_rung, actor.ladder.top, salient, since
                )
                if gate is not None:
                    out["closed"].append(
                        {
                            "id": o.id,
                            "label": o.label,
                            "gate": gate[0],
                            "why": describe_gate(o, gate),
                        }
                    )
        return out
