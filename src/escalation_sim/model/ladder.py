"""The escalation ladder and the chance of moving on it.

A ladder is an ordered list of rungs, each with a climb threshold on
escalation pressure. An actor on rung ``k`` climbs to ``k + 1`` with a daily
chance that rises as a logistic curve of its pressure against the next rung's
threshold, scaled by its risk tolerance; it descends with a chance that rises
as pressure falls well below its current rung's threshold. At most one move
per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from escalation_sim.scenario.schema import DecisionSpec, LadderSpec, RungSpec

#: Pressure below this fraction of the current rung's threshold makes descent likely.
DESCENT_FRACTION = 0.5  # assumption


def _logistic(z: float) -> float:
    if z < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True, slots=True)
class Move:
    """Chances of climbing and descending from the current rung this step."""

    climb: float
    descend: float


class Ladder:
    """An escalation ladder built from a :class:`LadderSpec`."""

    def __init__(self, spec: LadderSpec) -> None:
        self.spec = spec
        self.rungs: list[RungSpec] = list(spec.rungs)
        self.top = len(self.rungs) - 1
        self.names = [r.name for r in self.rungs]
        self.first_nato_conflict = next((r.level for r in self.rungs if r.nato_conflict), None)
        self.first_nuclear_use = next((r.level for r in self.rungs if r.nuclear_use), None)
        #: Per level, whether standing there is direct NATO-Russia conflict / nuclear use
        #: (read every step by the time series; the rungs' specs are fixed).
        self.nato_conflict = [r.nato_conflict for r in self.rungs]
        self.nuclear_use = [r.nuclear_use for r in self.rungs]

    def rung(self, level: int) -> RungSpec:
        """The rung at a level."""
        return self.rungs[level]

    def move_chances(
        self, level: int, pressure: float, params: DecisionSpec, risk_tolerance: float, days: float
    ) -> Move:
        """Chances of climbing and of descending this step.

        Args:
            level: Current rung.
            pressure: Current escalation pressure (including credibility).
            params: The actor's decision parameters.
            risk_tolerance: 0..1; scales the climb chance by ``0.5 + risk_tolerance``.
            days: Length of the step in days (chances are per day).
        """
        climb = 0.0
        if level < self.top:
            threshold = self.rungs[level + 1].climb_threshold
            scale = max(params.steepness * threshold, 1e-9)
            rate = params.climb_rate * (0.5 + risk_tolerance)
            climb = rate * _logistic((pressure - threshold) / scale)
        descend = 0.0
        if level > 0:
            threshold = self.rungs[level].climb_threshold
            floor = DESCENT_FRACTION * threshold
            scale = max(params.steepness * threshold, 1e-9)
            descend = params.descend_rate * _logistic((floor - pressure) / scale)
        # Per-day chances compound over a multi-day step.
        climb = 1.0 - (1.0 - min(climb, 1.0)) ** days
        descend = 1.0 - (1.0 - min(descend, 1.0)) ** days
        return Move(climb, min(descend, 1.0 - climb))
