"""The model's agents: state actors that decide, and force units as views.

:class:`StateActor` is one state (Ukraine, Russia, a supplier). It carries its
rung on the escalation ladder, the pressure behind it, its risk tolerance, the
credibility of its signals, and, for a supplier, the rules it imposes on the
weapons it supplies. Its decision each step is stochastic and explained: the
contributions to its pressure are tracked so a climb can name its causes.

:class:`ForceUnit` is a light Mesa agent over one row of the force layer's
arrays, so units can be listed, selected and inspected with Mesa's AgentSet
while the combat itself runs vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa

from escalation_sim.model.ladder import Ladder
from escalation_sim.model.policy import PolicyState
from escalation_sim.scenario.schema import ActorSpec, DecisionSpec

if TYPE_CHECKING:
    from escalation_sim.model.model import EscalationModel

#: Contributions smaller than this share of pressure are not named as causes.
MIN_CAUSE_SHARE = 0.05  # assumption: presentation only


@dataclass(slots=True)
class Decision:
    """A move on the ladder, with what drove it."""

    actor: str
    from_rung: int
    to_rung: int
    pressure: float
    threshold: float
    chance: float
    causes: list[tuple[str, float]]


class StateActor(mesa.Agent):
    """A state: its escalation state, its decision rule and (if a supplier) its rules."""

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

    @property
    def is_supplier(self) -> bool:
        """True when the actor imposes rules on weapons it supplies."""
        return self.policy is not None

    def add_pressure(self, amount: float, cause: str) -> None:
        """Add escalation pressure and remember where it came from."""
        if amount <= 0.0:
            return
        self.pressure += amount
        self.contributions[cause] = self.contributions.get(cause, 0.0) + amount

    def decay(self, days: float) -> None:
        """Pressure (and the memory of its causes) fades with time."""
        keep = (1.0 - self.params.pressure_decay) ** days
        self.pressure *= keep
        self.contributions = {k: v * keep for k, v in self.contributions.items() if v * keep > 1e-6}

    def update_credibility(self, on_signal_rung: bool, provocation: float, days: float) -> None:
        """Signals that go unheeded build pressure toward a concrete step.

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

    def decide(self, u: float, day: float, days: float) -> Decision | None:
        """Climb, descend or hold on its ladder, with one uniform draw ``u``; returns the move if any."""
        ladder = self.ladder
        move = ladder.move_chances(
            self.rung, self.pressure, self.params, self.spec.risk_tolerance, days
        )
        if u < move.climb:
            to, chance = self.rung + 1, move.climb
            threshold = ladder.rung(to).climb_threshold
        elif u < move.climb + move.descend:
            to, chance = self.rung - 1, move.descend
            threshold = ladder.rung(self.rung).climb_threshold
        else:
            return None
        decision = Decision(
            self.actor_id, self.rung, to, self.pressure, threshold, chance, self.causes()
        )
        self.rung = to
        if to > self.peak_rung:
            self.peak_rung, self.peak_day = to, day
        if to > decision.from_rung:
            self.credibility_gap = 0.0
        return decision

    def causes(self, top: int = 3) -> list[tuple[str, float]]:
        """The largest contributions to current pressure, as (cause, share)."""
        total = sum(self.contributions.values())
        if total <= 0:
            return []
        ranked = sorted(self.contributions.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(k, v / total) for k, v in ranked[:top] if v / total >= MIN_CAUSE_SHARE]


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
