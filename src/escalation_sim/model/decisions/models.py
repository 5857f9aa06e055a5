"""Decision models: how an actor chooses among its open options. Pluggable and named.

``cost_benefit`` (the default) weighs, for every open option ``o``, what
answering gains against what it costs and what the other side's answer would
cost::

    U(o) = min(E, answers_o) - cost_o - risk_o x deterrence_weight x (1 + resolve)
                                       x 2 (1 - risk_tolerance)
    U(hold) = 0
    U(stand down) = upkeep x (T_now - T_below) - clip(case - T_below, 0, T_now - T_below) - cost

where ``case`` is the actor's pressure + salience of precedents + commitment,
``T`` the ladder's thresholds, ``E = max(0, case - T_now)`` the excess case
its standing rung does not already answer (a rung is a standing posture: the
drills go on, the intensified campaign goes on), and ``resolve`` the mean
number of rungs the other side stands above its start, as perceived
(deterrence). It weighs only the options that answer something it
perceives (hold and the stand-down always; another act only while ``E > 0``:
an act that answers nothing is dominated by holding), and chooses among them
by a logit with an absolute ``temperature`` (pressure units): an option's chance
falls off with the pressure it lacks, not with a share of its threshold, so a
high rung stays out of reach of ordinary pressure, and gates
(:mod:`~escalation_sim.model.decisions.options`) keep the nuclear rungs closed
without extreme, specific precedents.

``pressure`` is the earlier model, kept for comparison: a logistic chance of
climbing one rung on pressure against the next rung's threshold (width
``steepness`` x threshold), of descending below half of the current one
(``model/ladder.py``); a climb takes the first option tied to the new rung.

Both draw one uniform number per actor per step from the ``decide`` stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from escalation_sim.model.decisions.options import MenuEntry, OptionMenu, target_rung
from escalation_sim.scenario.schema import DecisionModelName, OptionSpec

if TYPE_CHECKING:
    from escalation_sim.model.agents import StateActor


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision model's choice: the option, its chance, its utility and the bar it cleared."""

    option: OptionSpec
    chance: float
    utility: float
    threshold: float


class DecisionModel(Protocol):
    """Chooses one of the open options for an actor, with one uniform draw."""

    name: str
    #: Whether the option gates (precedents, rungs, cool-downs) apply to its choices.
    gated: bool
    #: Whether an act answers (relieves) part of the case.
    relieves: bool
    #: Decision parameters (``DecisionSpec`` fields) that only this model reads.
    reads: frozenset[str]
    #: Whether it weighs the options' ``cost`` and ``risk`` (and ``answers``).
    weighs_options: bool

    def choose(
        self,
        actor: StateActor,
        options: list[OptionSpec],
        resolve: float,
        u: float,
        days: float,
    ) -> Verdict:
        """Choose among ``options`` (non-empty, the hold option first)."""
        ...

    def choose_open(
        self,
        actor: StateActor,
        menu: OptionMenu,
        resolve: float,
        u: float,
        days: float,
        now: float,
    ) -> Verdict | None:
        """The decision phase's choice; ``None`` when the actor holds.

        What :meth:`choose` chooses with the same draw, over the options the
        model weighs now (for a gated model those ``menu.open`` gives, for
        another every option in ``menu.options``).
        """
        ...

    def explain(
        self, actor: StateActor, options: list[OptionSpec], resolve: float
    ) -> dict[str, Any]:
        """What the model weighs for the actor now, from its perceived view (JSON-ready)."""
        ...


def excess_case(actor: StateActor) -> float:
    """The case the actor's standing rung does not already answer: ``max(0, case - T_now)``."""
    return max(0.0, actor.case - actor.ladder.rung(actor.rung).climb_threshold)


@dataclass(frozen=True, slots=True)
class OptionTerms:
    """What the cost-benefit model weighs for one option: ``utility = gain - forgone - cost - risk``.

    Attributes:
        option: The option.
        gain: What taking it gains: the excess case it answers (for the stand-down,
            the upkeep of the rung it leaves).
        forgone: For the stand-down, the case the rung it leaves still answers (0 otherwise).
        cost: The option's own cost.
        risk: The expected cost of the other side's answer, at the resolve perceived.
    """

    option: OptionSpec
    gain: float
    forgone: float
    cost: float
    risk: float

    @property
    def utility(self) -> float:
        """Gain less what is forgone, the cost and the risk (hold: 0)."""
        return self.gain - self.forgone - self.cost - self.risk

    @property
    def motivated(self) -> bool:
        """Whether the option has a reason in what the actor perceives.

        Hold and the stand-down always do (the stand-down's reason is the
        rung's upkeep); any other act only while it answers some perceived
        excess case. An act that answers nothing is dominated by holding
        (no gain, a cost), so the model never weighs it: choice noise picks
        among the answers to a perceived case, it does not make one up.
        """
        return self.option.kind == "hold" or self.option.descend or self.gain > 0.0


def _weigh(
    actor: StateActor,
    options: list[OptionSpec],
    resolve: float,
    case: float,
    every: bool = False,
) -> list[tuple[OptionSpec, float, float, float, float]]:
    """``(option, gain, forgone, cost, risk)`` of the options weighed, in order.

    With ``every`` false only the motivated options are weighed: hold, the
    stand-down, and an act while both the excess case ``E`` and its
    ``answers`` are positive (its gain ``min(E, answers)`` is positive only
    then), so the others are left out before their terms are worked out.

    Args:
        actor: The actor (its rung, ladder and parameters).
        options: The options, hold first.
        resolve: The other side's resolve as perceived.
        case: The actor's case now (read once by the caller).
        every: Give the terms of every option, motivated or not.
    """
    prm = actor.params
    rungs = actor.ladder.rungs
    t_now = rungs[actor.rung].climb_threshold
    excess = case - t_now
    if not excess > 0.0:
        excess = 0.0  # max(0.0, case - T_now)
    # An act's risk: risk x deterrence_weight x (1 + resolve) x 2 (1 - risk_tolerance),
    # multiplied left to right as written.
    weight, rise = prm.deterrence_weight, 1.0 + (resolve if resolve > 0.0 else 0.0)
    tolerance = 1.0 - actor.spec.risk_tolerance
    out: list[tuple[OptionSpec, float, float, float, float]] = []
    for o in options:
        if o.kind == "hold":
            out.append((o, 0.0, 0.0, 0.0, 0.0))
        elif o.descend:
            t_below = rungs[actor.rung - 1].climb_threshold
            still_needed = min(max(0.0, case - t_below), t_now - t_below)
            out.append((o, prm.upkeep * (t_now - t_below), still_needed, o.cost, 0.0))
        elif every or (excess > 0.0 and o.answers > 0.0):
            answers = o.answers
            gain = answers if answers < excess else excess  # min(E, answers)
            out.append((o, gain, 0.0, o.cost, o.risk * weight * rise * 2.0 * tolerance))
    return out


def option_terms(actor: StateActor, option: OptionSpec, resolve: float) -> OptionTerms:
    """The cost-benefit model's terms of one option for an actor now, from its perceived case.

    Args:
        actor: The actor (its case, rung, ladder and parameters).
        option: The option weighed.
        resolve: The other side's resolve as perceived (mean rungs above its start).
    """
    return OptionTerms(*_weigh(actor, [option], resolve, actor.case, every=True)[0])


def option_utility(actor: StateActor, option: OptionSpec, resolve: float) -> float:
    """The cost-benefit model's utility of one option for an actor now."""
    return option_terms(actor, option, resolve).utility


def motivated_terms(
    actor: StateActor, options: list[OptionSpec], resolve: float
) -> list[OptionTerms]:
    """The terms of the options the actor has a reason to weigh, in order.

    The same terms as :func:`option_terms`, for the options whose terms are
    :attr:`OptionTerms.motivated`, with the case read once.
    """
    return [OptionTerms(*row) for row in _weigh(actor, options, resolve, actor.case)]


def _chances(utils: list[float], tau: float, days: float) -> list[float]:
    """A logit over ``utils`` (hold's first) with temperature ``tau``, acts compounded over ``days``."""
    if len(utils) == 1 and utils[0] == 0.0:
        # Hold alone: exp(0) / exp(0) = 1, and 1 - (1 - 1 ** days) = 1 for any step.
        return [1.0]
    top = max(utils)
    weights = [math.exp((x - top) / tau) for x in utils]
    total = sum(weights)
    probs = [w / total for w in weights]
    if days != 1.0:
        hold = probs[0]
        act = 1.0 - hold**days
        rest = 1.0 - hold
        probs = [1.0 - act] + [p * act / rest if rest > 0 else 0.0 for p in probs[1:]]
    return probs


def _pick(probs: list[float], u: float) -> int:
    """The index the uniform draw ``u`` falls on in the cumulative ``probs`` (the last if none)."""
    acc = 0.0
    for i, p in enumerate(probs):
        acc += p
        if u < acc:
            return i
    return len(probs) - 1


def choice_chances(
    actor: StateActor, options: list[OptionSpec], resolve: float, days: float
) -> list[tuple[OptionTerms, float]]:
    """The cost-benefit model's weighing: each motivated option's terms and its chance this step.

    A logit over the utilities of the motivated options (hold first, always
    among them) with the actor's ``temperature``; over a step of several days
    an act other than holding happens with its per-day chance compounded.
    Options that answer nothing perceived are left out (see
    :attr:`OptionTerms.motivated`).
    """
    terms = motivated_terms(actor, options, resolve)
    probs = _chances([t.utility for t in terms], actor.params.temperature, days)
    return list(zip(terms, probs, strict=True))


class CostBenefit:
    """Weigh answering against its cost and the risk of the other side's answer (logit choice)."""

    name = "cost_benefit"
    gated = True
    relieves = True
    #: Decision parameters (``DecisionSpec`` fields) only this model reads.
    reads = frozenset({"temperature", "relief", "deterrence_weight", "upkeep"})
    #: Whether it weighs the options' ``cost`` and ``risk``.
    weighs_options = True

    def choose(
        self,
        actor: StateActor,
        options: list[OptionSpec],
        resolve: float,
        u: float,
        days: float,
    ) -> Verdict:
        """Logit choice over the motivated options' utilities; per-day chances compound."""
        chances = choice_chances(actor, options, resolve, days)
        terms, p = chances[_pick([p for _, p in chances], u)]
        o = terms.option
        return Verdict(o, p, terms.utility, o.cost)

    def choose_open(
        self,
        actor: StateActor,
        menu: OptionMenu,
        resolve: float,
        u: float,
        days: float,
        now: float,
    ) -> Verdict | None:
        """:meth:`choose` over the options open now (``menu``); ``None`` when the actor holds.

        While the actor perceives no excess case no act is motivated, so only
        hold and the stand-down are looked up in the menu; where the rung
        leaves no stand-down open (``menu.holds_only``), hold is chosen
        without a look-up.

        The decision phase runs this for every actor every step, so it works
        on the menu's entries (``menu.open_entries``) and their utilities
        (:meth:`_utilities`, :func:`_weigh`'s arithmetic in its order), not
        on option terms, and a single weighed option is chosen without the
        logit (its chance is 1 on any step). The tests compare it with
        :meth:`choose` over ``menu.open``.
        """
        case = actor.case
        rung = actor.rung
        acts = case - actor.ladder.rungs[rung].climb_threshold > 0.0  # some excess case
        if not acts and menu.holds_only(rung):
            return None  # hold alone would be open and weighed: it is chosen, whatever the draw
        # The motivated of the open entries: hold, the stand-down, an act that answers.
        weighed = [
            e
            for e in menu.open_entries(rung, actor.salient_kinds, actor.last_taken, now, acts)
            if not e.act or e.answers > 0.0
        ]
        n = len(weighed)
        if n == 1:
            # One option weighed: its chance is 1 on any step (_chances), the draw picks it.
            e = weighed[0]
            if e.hold:
                return None
            return Verdict(e.option, 1.0, self._utilities(actor, weighed, resolve, case)[0], e.cost)
        utils = self._utilities(actor, weighed, resolve, case)
        probs = _chances(utils, actor.params.temperature, days)
        # _pick: where the draw falls on the cumulative chances (the last if nowhere).
        acc = 0.0
        i = n - 1
        for k, p in enumerate(probs):
            acc += p
            if u < acc:
                i = k
                break
        e = weighed[i]
        if e.hold:
            return None
        return Verdict(e.option, probs[i], utils[i], e.cost)

    @staticmethod
    def _utilities(
        actor: StateActor, entries: list[MenuEntry], resolve: float, case: float
    ) -> list[float]:
        """:func:`_weigh`'s utilities of motivated entries, with its arithmetic in its order.

        Each is ``gain - forgone - cost - risk`` subtracted left to right, with
        the zero terms left out (``x - 0.0`` is ``x``): hold 0, the stand-down
        ``upkeep x (T_now - T_below) - still_needed - cost``, an act
        ``min(E, answers) - cost - risk x deterrence_weight x (1 + resolve) x 2 (1 - risk_tolerance)``.
        """
        prm = actor.params
        rungs = actor.ladder.rungs
        rung = actor.rung
        t_now = rungs[rung].climb_threshold
        excess = case - t_now
        if not excess > 0.0:
            excess = 0.0  # max(0.0, case - T_now)
        # The stand-down's terms but its cost (rung - 1 is a rung: it is open above the start).
        t_below = rungs[rung - 1].climb_threshold
        above = case - t_below
        above = above if above > 0.0 else 0.0  # max(0.0, case - T_below)
        span = t_now - t_below
        down = prm.upkeep * span - (span if span < above else above)  # min(above, span)
        weight, rise = prm.deterrence_weight, 1.0 + (resolve if resolve > 0.0 else 0.0)
        tolerance = 1.0 - actor.spec.risk_tolerance
        return [
            0.0
            if e.hold
            else down - e.cost
            if not e.act
            else (e.answers if e.answers < excess else excess)
            - e.cost
            - e.risk * weight * rise * 2.0 * tolerance
            for e in entries
        ]

    def explain(
        self, actor: StateActor, options: list[OptionSpec], resolve: float
    ) -> dict[str, Any]:
        """The case, what the standing rung answers, and each open option's terms and daily chance.

        ``chance_per_day`` is the chance the model would choose the option on
        a one-day step; an option that answers nothing (``weighed`` false)
        has none.
        """
        chances = {t.option.id: p for t, p in choice_chances(actor, options, resolve, 1.0)}
        rows = []
        for o in options:
            t = option_terms(actor, o, resolve)
            rows.append(
                {
                    "id": o.id,
                    "label": o.label,
                    "kind": o.kind,
                    "to_rung": target_rung(o, actor.rung),
                    "gain": round(t.gain, 3),
                    "forgone": round(t.forgone, 3),
                    "cost": round(t.cost, 3),
                    "risk": round(t.risk, 3),
                    "utility": round(t.utility, 3),
                    "weighed": t.motivated,
                    "chance_per_day": round(chances.get(o.id, 0.0), 6),
                }
            )
        return {
            "model": self.name,
            "case": round(actor.case, 3),
            "pressure": round(actor.pressure, 3),
            "salience": round(actor.salience, 3),
            "commitment": round(actor.commitment, 3),
            "standing_threshold": actor.ladder.rung(actor.rung).climb_threshold,
            "excess_case": round(excess_case(actor), 3),
            "resolve": round(resolve, 3),
            "temperature": actor.params.temperature,
            "options": rows,
        }


class PressureThreshold:
    """The earlier model: logistic climb and descent on pressure against rung thresholds."""

    name = "pressure"
    gated = False  # the earlier model had no gates: any rung can follow its neighbour
    relieves = False  # nor did a move answer its pressure
    reads = frozenset({"climb_rate", "descend_rate", "steepness", "credibility_weight"})
    weighs_options = False  # a climb takes the first option of the rung, whatever it costs

    def choose(
        self,
        actor: StateActor,
        options: list[OptionSpec],
        resolve: float,
        u: float,
        days: float,
    ) -> Verdict:
        """Climb one rung, descend one, or hold, as ``Ladder.move_chances`` gives."""
        move = actor.ladder.move_chances(
            actor.rung, actor.case, actor.params, actor.spec.risk_tolerance, days
        )
        hold = options[0]
        if u < move.climb:
            up = [o for o in options if o.rung == actor.rung + 1 and not o.descend]
            if up:
                t = actor.ladder.rung(actor.rung + 1).climb_threshold
                return Verdict(up[0], move.climb, 0.0, t)
        elif u < move.climb + move.descend:
            down = [o for o in options if o.descend]
            if down:
                t = actor.ladder.rung(actor.rung).climb_threshold
                return Verdict(down[0], move.descend, 0.0, t)
        return Verdict(hold, 1.0 - move.climb - move.descend, 0.0, 0.0)

    def choose_open(
        self,
        actor: StateActor,
        menu: OptionMenu,
        resolve: float,
        u: float,
        days: float,
        now: float,
    ) -> Verdict | None:
        """:meth:`choose` over every option (the model has no gates); ``None`` when it holds."""
        verdict = self.choose(actor, menu.options, resolve, u, days)
        return None if verdict.option.kind == "hold" else verdict

    def explain(
        self, actor: StateActor, options: list[OptionSpec], resolve: float
    ) -> dict[str, Any]:
        """Pressure against the next rung's threshold and the daily chances of a move."""
        ladder = actor.ladder
        move = ladder.move_chances(
            actor.rung, actor.case, actor.params, actor.spec.risk_tolerance, 1
        )
        return {
            "model": self.name,
            "case": round(actor.case, 3),
            "pressure": round(actor.pressure, 3),
            "next_threshold": (
                ladder.rung(actor.rung + 1).climb_threshold if actor.rung < ladder.top else None
            ),
            "climb_chance_per_day": round(move.climb, 6),
            "descend_chance_per_day": round(move.descend, 6),
        }


def decision_model(name: DecisionModelName) -> DecisionModel:
    """The decision model a scenario names (the registry: a ``match`` on the name)."""
    match name:
        case "cost_benefit":
            return CostBenefit()
        case "pressure":
            return PressureThreshold()
        case _:  # pragma: no cover - the schema admits only the names above
            raise ValueError(f"unknown decision model {name!r}; expected cost_benefit or pressure")


__all__ = [
    "CostBenefit",
    "DecisionModel",
    "OptionTerms",
    "PressureThreshold",
    "Verdict",
    "choice_chances",
    "decision_model",
    "motivated_terms",
    "option_terms",
    "option_utility",
    "target_rung",
]
