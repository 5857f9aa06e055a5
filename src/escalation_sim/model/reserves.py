"""Finite forces: losses replaced from a finite reserve, after a delay, at new positions.

Each force group holds ``count`` deployed units and ``reserve`` units held
back. When a unit is lost, the group's next reserve unit (if any is left) is
sent; it arrives ``replacement_days`` later (the group's own figure, or the
combat default) at its own position, drawn at set-up apart from every other
unit's, never at the position of the unit it replaces. A lost unit never
comes back. So losses can never exceed the forces deployed plus the reserves
drawn.
"""

from __future__ import annotations

import math

import numpy as np

#: :attr:`ReservePool.next_arrival` when no replacement is on its way.
NONE_DUE = 2**62


class ReservePool:
    """The reserve rows of every group and the replacements on their way.

    Args:
        group: Group index of every unit row.
        in_reserve: Rows held in reserve at the start.
        delay_steps: Per group, steps from a loss to the replacement's arrival.
    """

    def __init__(self, group: np.ndarray, in_reserve: np.ndarray, delay_steps: np.ndarray) -> None:
        self._queue: dict[int, list[int]] = {}
        for row in np.flatnonzero(in_reserve).tolist():
            self._queue.setdefault(int(group[row]), []).append(row)
        self._group = group
        self._delay = delay_steps
        self._pending: list[tuple[int, int]] = []  # (arrival step, reserve row), in order sent
        #: The earliest step at which a replacement sent arrives (:data:`NONE_DUE`: none is
        #: on its way), so that a step with nothing due costs one comparison.
        self.next_arrival = NONE_DUE
        self.drawn = np.zeros(len(group), dtype=bool)

    @staticmethod
    def delays(replacement_days: list[float], step_days: float) -> np.ndarray:
        """Steps from a loss to the arrival, per group (at least one step)."""
        return np.array(
            [max(1, math.ceil(d / step_days - 1e-9)) for d in replacement_days], dtype=np.int64
        )

    def send(self, step: int, lost: np.ndarray) -> np.ndarray:
        """Send a replacement for each lost unit whose group still has one. Returns the rows sent."""
        sent = []
        for row in lost.tolist():
            g = int(self._group[row])
            queue = self._queue.get(g)
            if queue:
                r = queue.pop(0)
                due = step + int(self._delay[g])
                self._pending.append((due, r))
                self.next_arrival = min(self.next_arrival, due)
                self.drawn[r] = True
                sent.append(r)
        return np.array(sent, dtype=np.int64)

    def arriving(self, step: int) -> np.ndarray:
        """Reserve rows that arrive at this step (removed from the pending list)."""
        if step < self.next_arrival:
            return np.zeros(0, dtype=np.int64)
        due = [r for s, r in self._pending if s <= step]
        self._pending = [(s, r) for s, r in self._pending if s > step]
        self.next_arrival = min((s for s, _ in self._pending), default=NONE_DUE)
        return np.array(due, dtype=np.int64)

    def left(self) -> int:
        """Reserve units not yet sent."""
        return sum(len(q) for q in self._queue.values())
