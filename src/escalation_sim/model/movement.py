"""Movement: shoot-and-scoot, displacement when detected, and Russia's pull-back.

Three kinds of movement, with parameters per target class
(``combat.movement``):

* **Shoot-and-scoot.** A unit that fired leaves its position with
  ``scoot_prob``, after an exponential delay with mean ``leave_hours``.
* **Displacement.** A detected unit that sees it is watched leaves with
  ``displace_prob``, after the same kind of delay.
  A strike that arrives after the unit has left finds an empty position.
  Leaving units move ``hop_km`` in a random direction, inside their home zone.
* **Pull-back.** Russia remembers, per home zone, how deep strikes with a
  fast kill chain (tasking plus flight within :data:`FAST_KILL_CHAIN_HOURS`:
  weapons that can catch a mobile unit) have reached in the last
  ``memory_days`` (:class:`PullbackMemory`); mobile units of classes that pull
  back move to that depth plus a margin, but no deeper than their mission
  allows (a class's ``max_depth_km``; a firing unit keeps ``min_reach_km``
  of reach into Ukraine). Further back, artillery reaches less of Ukraine:
  the cost in effect follows from the geometry.

Fixed sites never move.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model import kernels, libm
from escalation_sim.model.kernels import movement as kmove

#: Strikes whose kill chain (tasking plus flight) exceeds this cannot catch a mobile
#: unit that relocates within hours, so pulling back from them gains nothing.
FAST_KILL_CHAIN_HOURS = 3.0  # assumption


def departure_hours(
    scoot_prob: np.ndarray,
    displace_prob: np.ndarray,
    leave_hours: np.ndarray,
    fired: np.ndarray,
    detected: np.ndarray,
    movable: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Hours until each unit leaves its position this step (``inf``: it stays).

    Args:
        scoot_prob: Per unit, chance of relocating after firing.
        displace_prob: Per unit, chance of displacing when detected.
        leave_hours: Per unit, mean delay before leaving.
        fired: Units that fired this step.
        detected: Units detected this step.
        movable: Units that can move (alive, not fixed sites).
        u: Two uniform variates per unit, shape ``(2, n)``.
    """
    go_prob = 1.0 - (1.0 - scoot_prob * fired) * (1.0 - displace_prob * detected)
    goes = movable & (u[0] < go_prob)
    delay = -leave_hours * libm.log1p(-np.minimum(u[1], 1.0 - 1e-12))
    return np.where(goes, delay, np.inf)


def hop(
    x: np.ndarray, depth: np.ndarray, hop_km: np.ndarray, angle: np.ndarray, min_depth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions after a hop of ``hop_km`` at ``angle`` (radians); never across the border.

    Russian units stay at least ``min_depth`` km inside Russia (a hop toward
    the border is mirrored).
    """
    nx = x + hop_km * np.cos(angle)
    nd = depth + hop_km * np.sin(angle)
    nd = np.where(nd < min_depth, 2 * min_depth - nd, nd)
    return nx, np.maximum(nd, min_depth)


class PullbackMemory:
    """Russia's memory of how deep fast strikes have reached, per home zone.

    Args:
        n_zones: Number of zones (home zones are zone indices).
        memory_steps: Strikes older than this many steps are forgotten.
    """

    def __init__(self, n_zones: int, memory_steps: int) -> None:
        self.memory_steps = max(1, memory_steps)
        self._deepest = np.zeros((self.memory_steps, n_zones))

    def remember(self, step: int, zone: np.ndarray, depth: np.ndarray) -> None:
        """Record this step's fast strikes inside Russia (home zone and depth of each)."""
        if kernels.enabled():
            kmove.remember_depths(self._deepest, step % self.memory_steps, zone, depth)
            return
        row = np.zeros(self._deepest.shape[1])
        if len(zone):
            np.maximum.at(row, zone, depth)
        self._deepest[step % self.memory_steps] = row

    def kernel_row(self, step: int) -> tuple[np.ndarray, int]:
        """The table and this step's row, for a kernel that remembers in place.

        Strike bookkeeping's kernel calls :meth:`remember`'s kernel itself
        (``kernels.strike.strike_bookkeeping``), with these.
        """
        return self._deepest, step % self.memory_steps

    def threat_depth(self) -> np.ndarray:
        """Per zone, the deepest fast strike remembered (0: none)."""
        if kernels.enabled():
            return kmove.deepest(self._deepest)
        return self._deepest.max(axis=0)
