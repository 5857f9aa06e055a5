"""Ukraine's sensors: the cells each kind (radar, ISR) covers, and the chance that it does.

Ukrainian units never move, so the cells each sensor reaches and its chance of
detection in each (falling linearly to ``DETECTION_AT_MAX_RANGE`` of the
sensor's own chance at its maximum range: :mod:`escalation_sim.model.forces`)
are fixed at set-up; only the sensors' state (strength, zero when lost) changes.
A kind's coverage of a cell is the chance that at least one of its sensors
covers it, ``1 - prod(1 - p * state)``, taken as
``-expm1(sum(log1p(-min(p * state, 1 - 1e-12))))`` over the sensors that reach
the cell, in the order the sensors were placed.

The coverage is kept on the cells some sensor of the kind reaches (its
*slots*), not on every cell of the theater: a few hundred values instead of
thousands, recomputed only when a sensor's state changed. Every other cell
shares one slot of no coverage. :attr:`SensorCover.slot_of_cell` maps a cell
to its slot, kind by kind, into one array of both kinds' slots.
"""

from __future__ import annotations

import numpy as np

#: The sensor kinds, in the order of :attr:`SensorCover.slot_of_cell`'s rows.
KINDS = ("radar", "isr")


class SensorCover:
    """Both sensor kinds' coverage, kept on the cells they reach.

    Args:
        n_cells: Cells of the theater's grid.
        units: Per kind (in :data:`KINDS` order), the sensors' unit indices.
        source: Per kind, each (sensor, cell) pair's sensor (position in ``units``).
        cell: Per kind, each pair's cell.
        p: Per kind, each pair's chance of detection by a sensor at full strength.
    """

    def __init__(
        self,
        n_cells: int,
        units: list[np.ndarray],
        source: list[np.ndarray],
        cell: list[np.ndarray],
        p: list[np.ndarray],
    ) -> None:
        self.units = np.concatenate(units).astype(np.int64) if units else np.zeros(0, np.int64)
        self.kind = np.concatenate(
            [np.full(len(u), k, dtype=np.int64) for k, u in enumerate(units)]
        ).astype(np.int64)
        # No state yet: NaN never equals a real state, so the first look computes each kind.
        self.state = np.full(len(self.units), np.nan)
        self.slot_of_cell = np.empty((len(units), n_cells), dtype=np.int64)
        # Per kind: its sensors' span in ``units``, its slots' span in ``cover``, and its
        # pairs (sensor within the kind, slot within the kind, chance) in the order placed.
        self._kinds: list[tuple[int, int, int, int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._pair_cells = [np.asarray(c, dtype=np.int64) for c in cell]
        first_sensor = first_slot = 0
        for k in range(len(units)):
            cells, slot = np.unique(cell[k], return_inverse=True)
            n_slots = len(cells)
            row = np.full(n_cells, first_slot + n_slots, dtype=np.int64)  # the empty slot
            row[cells] = first_slot + np.arange(n_slots)
            self.slot_of_cell[k] = row
            stop = first_sensor + len(units[k])
            self._kinds.append(
                (
                    first_sensor,
                    stop,
                    first_slot,
                    n_slots,
                    np.asarray(source[k], dtype=np.int64),
                    slot.astype(np.int64).reshape(-1),
                    np.asarray(p[k], dtype=float),
                )
            )
            first_sensor, first_slot = stop, first_slot + n_slots + 1
        # A kind with no sensor never changes: zero coverage everywhere.
        self.cover = np.zeros(first_slot)

    def __eq__(self, other: object) -> bool:
        """Equal when every table and value is the same, bit for bit (two builds, two copies)."""
        if not isinstance(other, SensorCover):
            return NotImplemented
        mine = [self.units, self.kind, self.state, self.slot_of_cell, self.cover, *self._pair_cells]
        theirs = [other.units, other.kind, other.state, other.slot_of_cell, other.cover]
        theirs += other._pair_cells
        for k, o in zip(self._kinds, other._kinds, strict=False):
            mine += [np.array(k[:4]), *k[4:]]
            theirs += [np.array(o[:4]), *o[4:]]
        return len(mine) == len(theirs) and all(
            a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
            for a, b in zip(mine, theirs, strict=True)
        )

    __hash__ = None  # mutable: equal by value, so not hashable

    def refresh(self, kind: int) -> None:
        """Recompute one kind's coverage from the sensors' state in :attr:`state`.

        Per slot, the sum of ``log1p`` over the kind's pairs in the order they
        were placed (``bincount`` adds each slot's weights in array order), as a
        sum over every cell of the theater gives it for the cells reached.
        """
        a, b, c0, n_slots, source, slot, p = self._kinds[kind]
        live = self.state[a:b][source]
        log_miss = np.log1p(-np.minimum(p * live, 1.0 - 1e-12))
        self.cover[c0 : c0 + n_slots + 1] = -np.expm1(
            np.bincount(slot, weights=log_miss, minlength=n_slots + 1)
        )

    def update(self, strength: np.ndarray, alive: np.ndarray) -> None:
        """Take the sensors' state (the numpy code); recompute each kind whose state changed."""
        state = strength[self.units] * alive[self.units]
        for k, (a, b, *_) in enumerate(self._kinds):
            if a < b and not (self.state[a:b] == state[a:b]).all():
                self.state[a:b] = state[a:b]
                self.refresh(k)

    def refresh_changed(self, changed: int) -> None:
        """Recompute the kinds whose bit is set in ``changed`` (bit ``k``: kind ``k``)."""
        for k in range(len(self._kinds)):
            if changed >> k & 1:
                self.refresh(k)

    def pairs(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kind's (sensor, cell) pairs in the order placed: sensor (in :attr:`units`), cell, chance."""
        k = KINDS.index(kind)
        a, _, _, _, source, _, p = self._kinds[k]
        return a + source, self._pair_cells[k], p

    def of_cells(self, kind: str) -> np.ndarray:
        """Per cell of the theater, the chance that a sensor of ``kind`` covers it (for inspection)."""
        return self.cover[self.slot_of_cell[KINDS.index(kind)]]
