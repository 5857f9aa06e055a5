"""The model's agents: state actors that decide, and force units as views.

:class:`StateActor` is one state (Ukraine, Russia, a supplier). It carries its
rung on the escalation ladder, what it perceives (flows it has come to expect,
precedents still salient, the other side's acts), the case for answering
that builds from them, the commitment and credibility of its threats, and,
for a supplier, the rules it imposes on the weapons it supplies. Its choice
each step is made by its decision model (``model/decisions``) and explained:
the contributions to its pressure are tracked so a choice can name its causes.

:class:`ForceUnit` is a light Mesa agent over one row of the force layer's
arrays, so units can be listed, selected and inspected with Mesa's AgentSet
while the combat itself runs vectorised.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa

from escalation_sim.model.decisions.perception import Observation, PerceivedAct
from escalation_sim.model.ladder import Ladder
from escalation_sim.model.policy import PolicyState
from escalation_sim.scenario.schema import ActorSpec, DecisionSpec

if TYPE_CHECKING:
    from escalation_sim.model.model import EscalationModel

#: Contributions smaller than this share of pressure are not named as causes.
MIN_CAUSE_SHARE = 0.05  # assumption: presentation only
#: A precedent stays salient (opens the options it gates) this many half-lives.
SALIENT_HALF_LIVES = 3.0  # assumption: ~3 weeks at the default 7-day half-life
#: Precedents older than this many half-lives are forgotten (their salience is ~1e-6).
PRUNE_HALF_LIVES = 20.0
#: The other side's acts are remembered this long (longer than any threat window).
ACT_MEMORY_DAYS = 120.0  # assumption: presentation and memory bound only
#: Channels that are the war as usual from the start: their expected level is learned
#: from the first observation on (no surprise at the start); others start at zero.
USUAL_CHANNELS = ("losses", "harm")


@dataclass(slots=True)
class _Flow:
    """A perceived flow (strikes by one supplier, losses, harm): smoothed, and expected."""

    smoothed: float = 0.0
    expected: float = 0.0
    days: float = 0.0
    causes: dict[str, float] = field(default_factory=dict)
    #: The war as usual (learned from the first observation on); fixed by the channel.
    usual: bool = False


@dataclass(slots=True)
class _Salient:
    """A perceived precedent and how salient it still is."""

    kind: str
    label: str
    weight: float
    age_days: float = 0.0


class StateActor(mesa.Agent):
    """A state: what it perceives, its escalation state, its decisions and (if a supplier) its rules.

    Its *case* for answering is its pressure (perceived flows above what it has
    come to expect, decaying), the salience of recent precedents and the
    commitment its ignored threats have built. The decision model weighs the
    case against each open option's cost and risk.
    """

    def __init__(
        self,
        model: EscalationModel,
        actor_id: str,
        spec: ActorSpec,
        params: DecisionSpec,
        policy: PolicyState | None,
        ladder: Ladder,
    ) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.ladder = ladder
        self.spec = spec
        self.params = params
        self.policy = policy
        self.rung = spec.start_rung
        self.pressure = 0.0
        self.credibility_gap = 0.0
        self.contributions: dict[str, float] = {}
        self.peak_rung = self.rung
        self.peak_day = 0.0
        self.flows: dict[str, _Flow] = {}
        self.salient: list[_Salient] = []
        #: Commitment built by threats ignored under continuing provocation (audience costs).
        self.commitment = 0.0
        #: Outstanding threats (decaying stake).
        self.stakes = 0.0
        #: Credibility of this actor's threats as the other side reads them (1 = full).
        self.credibility = 1.0
        #: The other side's rungs as last perceived.
        self.seen_rungs: dict[str, int] = {}
        #: The other side's acts as perceived: (day perceived, act).
        self.seen_acts: list[tuple[float, PerceivedAct]] = []
        self.last_observation: Observation | None = None
        self.last_provocation = 0.0
        self.last_harm = 0.0
        #: Harm and strike counts perceived, one entry per step (as long as the run; reads
        #: of a window leave them whole, so a longer window read later sees all it spans).
        self._harm_seen: list[float] = []
        #: The window ``seen_harm_rate`` was last asked for, and its length in steps.
        self._harm_window = (math.nan, 1)
        self._strikes_seen: list[dict[str, int]] = []
        #: Day each option was last taken (for cool-downs).
        self.last_taken: dict[str, float] = {}
        self.score_now = 0
        self.kahn_now = 0
        self.option_now = ""
        #: The step length the smoothing and learning rates are for (NaN: none yet).
        self._rates_days = math.nan
        self._rates_now = (0.0, 0.0)
        #: The scenario's perception parameters (read by every step's decay and absorb).
        self._perception = model.spec.decisions.perception

    @property
    def automated(self) -> bool:
        """True while the model's decision layer chooses for the actor (no player holds its seat)."""
        return self.actor_id not in self.model.seated

    @property
    def is_supplier(self) -> bool:
        """True when the actor imposes rules on weapons it supplies."""
        return self.policy is not None

    # ------------------------------------------------------------------ pressure
    def add_pressure(self, amount: float, cause: str) -> None:
        """Add escalation pressure and remember where it came from."""
        if amount <= 0.0:
            return
        self.pressure += amount
        self.contributions[cause] = self.contributions.get(cause, 0.0) + amount

    def decay(self, days: float) -> None:
        """Pressure and commitment (and the memory of causes) fade; precedents age; stakes halve."""
        decay_actors((self,), days)

    @property
    def salience(self) -> float:
        """The summed salience of perceived precedents, each halving with its half-life."""
        if not self.salient:
            return 0
        half = self._perception.salience_half_life_days
        return sum([s.weight * 0.5 ** (s.age_days / half) for s in self.salient])

    def _salient_now(self) -> list[_Salient]:
        """The precedents salient now (within ``SALIENT_HALF_LIVES``), in order of perception.

        Precedents are kept oldest first and age together (see :func:`decay_actors`),
        so those within the window are the list's tail: it is found from the
        newest back, without a test of every older precedent still remembered.
        """
        salient = self.salient
        window = SALIENT_HALF_LIVES * self._perception.salience_half_life_days
        i = len(salient)
        while i and salient[i - 1].age_days <= window:
            i -= 1
        return salient[i:] if i else salient

    def salient_kinds(self) -> list[str]:
        """Kinds of precedent salient now (in order of perception)."""
        kinds: list[str] = []
        if not self.salient:
            return kinds
        for s in self._salient_now():
            if s.kind not in kinds:
                kinds.append(s.kind)
        return kinds

    def salient_labels(self) -> list[str]:
        """The precedents salient now, as labels."""
        return [s.label for s in self._salient_now()]

    @property
    def case(self) -> float:
        """The case for answering: pressure + salience of precedents + commitment."""
        # An actor without precedents has salience 0 (read without the property's call).
        return self.pressure + (self.salience if self.salient else 0) + self.commitment

    def absorb(self, obs: Observation, days: float, day: float) -> None:
        """Take in one step's observation: flows above expectation, precedents, acts.

        A flow adds pressure only where it exceeds the level the actor has come to
        expect (habituation; ``perception.habituation_days``); precedents add
        salience; each act of the other side adds ``act_weight`` x its score.
        """
        p = self._perception
        self.last_observation = obs
        self.last_provocation = obs.provocation
        self.last_harm = obs.harm
        self._harm_seen.append(obs.harm)
        self._strikes_seen.append(obs.counts)
        flows = self.flows
        causes = obs.causes
        for channel, amount in obs.flows.items():
            flow = flows.get(channel)
            if flow is None:
                usual = channel in USUAL_CHANNELS or channel.removeprefix("strikes:") in (
                    p.precedent_suppliers
                )
                flow = flows[channel] = _Flow(usual=usual)
            flow.causes = {k: v / amount for k, v in causes[channel].items()} if amount else {}
        habituates = p.habituation_days is not None
        if habituates:
            # The actor's perception parameters are fixed: the rates change only with the step.
            if days != self._rates_days:  # the same every step of a run: worked out once
                self._rates_days = days
                self._rates_now = self._rates(days, p.smoothing_days, p.habituation_days)
            smooth, learn_rate = self._rates_now
        seen = obs.flows
        # What add_pressure does, inline: the same additions in the same order.
        pressure = self.pressure
        contributions = self.contributions
        for channel, flow in flows.items():
            rate = seen.get(channel, 0.0) / days
            if not habituates:
                surprise = rate
            else:
                # The flow's updates (+=) worked on locals: the same sums, each read once.
                smoothed = flow.smoothed
                flow.smoothed = smoothed = smoothed + smooth * (rate - smoothed)
                flow.days = seen_days = flow.days + days
                learn = learn_rate
                if flow.usual and days / seen_days > learn:
                    learn = days / seen_days  # max(learn, days / flow.days)
                expected = flow.expected
                flow.expected = expected = expected + learn * (smoothed - expected)
                # The surprise is max(0, smoothed - expected); only a positive one adds pressure.
                surprise = smoothed - expected
            if surprise > 0:
                scaled = surprise * days
                for cause, share in flow.causes.items():
                    amount = scaled * share
                    if amount <= 0.0:
                        continue
                    pressure += amount
                    if cause in contributions:
                        contributions[cause] += amount
                    else:  # 0.0 + amount is amount
                        contributions[cause] = amount
        self.pressure = pressure
        for t in obs.triggers:
            self.salient.append(_Salient(t.kind, t.label, t.weight))
        # The other side speaks as one: its acts weigh by their mean over its actors.
        # Acts are kept in the order perceived, the oldest first: when that one is
        # remembered, all are, and the list stays as it is.
        acts_seen = self.seen_acts
        if acts_seen and day - acts_seen[0][0] > ACT_MEMORY_DAYS:
            self.seen_acts = [(d, a) for d, a in acts_seen if day - d <= ACT_MEMORY_DAYS]
        if obs.acts:
            n_other = max(1, len(self.seen_rungs))
            for act in obs.acts:
                self.seen_rungs[act.actor] = act.rung
                self.seen_acts.append((day, act))
                self.add_pressure(p.act_weight * act.score / n_other, f"{act.actor}: {act.label}")

    @staticmethod
    def _rates(days: float, smoothing_days: float, habituation_days: float) -> tuple[float, float]:
        """Per step of ``days``: the smoothing weight and the habituation learning rate."""
        return 1.0 - math.exp(-days / smoothing_days), 1.0 - math.exp(-days / habituation_days)

    def seen_harm_rate(self, window_days: float) -> float:
        """Harm to the city per day as perceived over the last ``window_days``."""
        days = self.model.step_days
        if window_days != self._harm_window[0]:  # the same every step of a run: worked out once
            self._harm_window = (window_days, max(1, round(window_days / days)))
        # A read leaves the history as it is: a later, longer window sees every step it spans.
        seen = self._harm_seen[-self._harm_window[1] :]
        return sum(seen) / (len(seen) or 1) / days

    def seen_strike_counts(self, window_days: float) -> dict[str, int]:
        """Strikes inside Russia perceived over the last ``window_days``, by perceived supplier."""
        n = max(1, round(window_days / self.model.step_days))
        out: dict[str, int] = {}
        for counts in self._strikes_seen[-n:]:  # a read: the history is left as it is
            for channel, k in counts.items():
                key = channel.removeprefix("strikes:")
                out[key] = out.get(key, 0) + k
        return dict(sorted(out.items()))

    def update_commitment(self, days: float) -> None:
        """Threats ignored under provocation build commitment and lose credibility.

        While the actor has threats outstanding and the other side's strikes go
        on, a share ``commitment_share`` of the ignored threat becomes
        commitment to act (audience costs: ``commitment_weight`` x stakes x
        today's perceived provocation), the rest erodes the credibility of its
        threats (bluff discount: ``bluff_rate`` per day).
        """
        prm = self.params
        if self.stakes <= 1e-3 or self.last_provocation <= 0:
            return
        theta = prm.commitment_share
        added = theta * prm.commitment_weight * self.stakes * self.last_provocation * days
        self.commitment += added
        if added > 0:
            self.contributions["commitment of ignored threats"] = (
                self.contributions.get("commitment of ignored threats", 0.0) + added
            )
        self.credibility *= (1.0 - (1.0 - theta) * prm.bluff_rate) ** days

    def relieve(self, answered: float) -> None:
        """An act answers part of the case: pressure, salience and commitment shrink by its share."""
        case = self.case
        if case <= 0 or answered <= 0:
            return
        keep = 1.0 - self.params.relief * min(1.0, answered / case)
        self.pressure *= keep
        self.commitment *= keep
        self.contributions = {k: v * keep for k, v in self.contributions.items()}
        for s in self.salient:
            s.weight *= keep

    # ------------------------------------------------------------------ legacy credibility
    def update_credibility(self, on_signal_rung: bool, provocation: float, days: float) -> None:
        """The ``pressure`` model's credibility gap: unheeded signals build pressure.

        While the actor stands on a signalling rung and strikes against it go on
        (``provocation``: today's perceived weight of those strikes, > 0), its
        credibility gap grows by one per day, and each new provocation weighs
        more: ``credibility_weight x gap x provocation`` is added to its
        pressure. Otherwise the gap fades like pressure.
        """
        if on_signal_rung and provocation > 0:
            self.credibility_gap += days
            self.add_pressure(
                self.params.credibility_weight * self.credibility_gap * provocation,
                "credibility of unheeded signals",
            )
        else:
            self.credibility_gap *= (1.0 - self.params.pressure_decay) ** days

    def causes(self, top: int = 3) -> list[tuple[str, float]]:
        """The largest contributions to current pressure, as (cause, share)."""
        total = sum(self.contributions.values())
        if total <= 0:
            return []
        ranked = sorted(self.contributions.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(k, v / total) for k, v in ranked[:top] if v / total >= MIN_CAUSE_SHARE]


def decay_actors(actors: Iterable[StateActor], days: float) -> None:
    """Every actor's decay over ``days`` (:meth:`StateActor.decay`), in one loop.

    The step's decay phase runs this once over all actors rather than one
    method call per actor; the arithmetic per actor is the method's own (this
    is its only implementation).
    """
    for actor in actors:
        prm = actor.params
        keep = (1.0 - prm.pressure_decay) ** days
        actor.pressure *= keep
        actor.commitment *= keep
        if actor.contributions:
            actor.contributions = {
                k: w for k, v in actor.contributions.items() if (w := v * keep) > 1e-6
            }
        salient = actor.salient
        if salient:
            for s in salient:
                s.age_days += days
            # A precedent twenty half-lives old weighs a millionth of its start and gates nothing.
            # Every precedent ages by the same days and a new one starts at 0, so the first
            # in the list is the oldest: the list needs pruning only when that one is too old.
            limit = PRUNE_HALF_LIVES * actor._perception.salience_half_life_days
            if salient[0].age_days > limit:
                actor.salient = [s for s in salient if s.age_days <= limit]
        actor.stakes *= 0.5 ** (days / prm.threat_half_life_days)


class ForceUnit(mesa.Agent):
    """A view of one unit in the force layer (battery, launcher group, airbase, ...)."""

    def __init__(self, model: EscalationModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def label(self) -> str:
        """Group name and ordinal, e.g. ``ru_artillery_belgorod#3``."""
        return self.model.forces.labels[self.index]

    @property
    def owner(self) -> str:
        """Actor id of the owner."""
        return self.model.actor_ids[int(self.model.forces.owner[self.index])]

    @property
    def target_class(self) -> str:
        """Target class of the unit."""
        return self.model.forces.class_ids[int(self.model.forces.cls[self.index])]

    @property
    def position(self) -> tuple[float, float]:
        """(x_km along the border, depth_km into Russia)."""
        f = self.model.forces
        return float(f.x[self.index]), float(f.depth[self.index])

    @property
    def zones(self) -> tuple[str, ...]:
        """Zones the unit lies in."""
        return self.model.theater.zone_names(int(self.model.forces.zone_bits[self.index]))

    @property
    def strength(self) -> float:
        """Current strength (1 = full)."""
        return float(self.model.forces.strength[self.index])

    @property
    def alive(self) -> bool:
        """False while destroyed and not yet replaced."""
        return bool(self.model.forces.alive[self.index])
