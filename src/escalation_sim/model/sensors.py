"""Ukraine's sensors: the cells each kind (radar, ISR) covers, and the chance that it does.

Ukrainian units never move, so the cells each sensor reaches and its chance of
detection in each (falling linearly to ``DETECTION_AT_MAX_RANGE`` of the
sensor's own chance at its maximum range: :mod:`escalation_sim.model.forces`)
are fixed at set-up; only the sensors' state (strength, zero when lost) changes.
A kind's coverage of a cell is the chance that at least one of its sensors
covers it, ``1 - prod(1 - p * state)``, taken as
``-expm1(sum(log1p(-min(p * state, 1 - 1e-12))))`` over the sensors that reach
the cell, added in the order the sensors were placed.

The coverage is kept on the cells some sensor of the kind reaches (its
*slots*), not on every cell of the theater: a few hundred values instead of
thousands, recomputed only when a sensor's state changed. Every other cell
shares one slot of no coverage (``-expm1(0.0)``, that is ``-0.0``) per kind.
:attr:`SensorCover.slot_of_cell` maps a cell to its slot, kind by kind, into
one array of both kinds' slots, so both kinds are recomputed in one pass.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model import libm

#: The sensor kinds, in the order of :attr:`SensorCover.slot_of_cell`'s rows.
KINDS = ("radar", "isr")
#: The largest chance of detection a pair takes (so that ``log1p`` stays finite).
MAX_PAIR_CHANCE = 1.0 - 1e-12


class SensorCover:
    """Both sensor kinds' coverage, kept on the cells they reach.

    Args:
        n_cells: Cells of the theater's grid.
        units: Per kind (in :data:`KINDS` order), the sensors' unit indices.
        source: Per kind, each (sensor, cell) pair's sensor (position in the kind's ``units``).
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
        empty_i = np.zeros(0, dtype=np.int64)
        self.units = np.concatenate([empty_i, *units]).astype(np.int64)
        self.kind = np.concatenate(
            [empty_i, *(np.full(len(u), k, dtype=np.int64) for k, u in enumerate(units))]
        )
        # No state yet: NaN never equals a real state, so the first look computes the cover.
        self.state = np.full(len(self.units), np.nan)
        self.slot_of_cell = np.empty((len(units), n_cells), dtype=np.int64)
        sensor, slot, chance, pair_cell = [empty_i], [empty_i], [np.zeros(0)], [empty_i]
        first_sensor = first_slot = 0
        for k in range(len(units)):
            cells, inverse = np.unique(np.asarray(cell[k], dtype=np.int64), return_inverse=True)
            n_slots = len(cells)
            row = np.full(n_cells, first_slot + n_slots, dtype=np.int64)  # the empty slot
            row[cells] = first_slot + np.arange(n_slots)
            self.slot_of_cell[k] = row
            sensor.append(first_sensor + np.asarray(source[k], dtype=np.int64))
            slot.append(first_slot + inverse.astype(np.int64).reshape(-1))
            chance.append(np.asarray(p[k], dtype=float))
            pair_cell.append(np.asarray(cell[k], dtype=np.int64))
            first_sensor += len(units[k])
            first_slot += n_slots + 1
        # Every (sensor, cell) pair, kind after kind, each kind's in the order placed.
        self.pair_sensor = np.concatenate(sensor)
        self.pair_slot = np.concatenate(slot)
        self.pair_p = np.concatenate(chance)
        self.pair_cell = np.concatenate(pair_cell)
        #: Per pair, ``-min(p * state, MAX_PAIR_CHANCE)``: what ``log1p`` takes.
        self.pair_x = np.zeros(len(self.pair_p))
        self.cover = np.full(first_slot, -0.0)

    def __eq__(self, other: object) -> bool:
        """Equal when every table and value is the same, bit for bit (two builds, two copies)."""
        if not isinstance(other, SensorCover):
            return NotImplemented
        return all(
            a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
            for a, b in zip(self._arrays(), other._arrays(), strict=True)
        )

    __hash__ = None  # mutable: equal by value, so not hashable

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.units,
            self.kind,
            self.state,
            self.slot_of_cell,
            self.pair_sensor,
            self.pair_slot,
            self.pair_p,
            self.pair_cell,
            self.pair_x,
            self.cover,
        )

    def recompute(self) -> None:
        """Both kinds' coverage per slot from :attr:`pair_x` (the sensors' state as of now).

        Per slot, the sum of ``log1p`` over its pairs in their order
        (``bincount`` adds each slot's weights in array order), as a sum over
        every cell of the theater, kind by kind, gives it for the cells reached.
        A kind whose state did not change gets the values it had.
        """
        log_miss = libm.log1p(self.pair_x)
        sums = np.bincount(self.pair_slot, weights=log_miss, minlength=len(self.cover))
        np.negative(libm.expm1(sums), out=self.cover)

    def update(self, strength: np.ndarray, alive: np.ndarray) -> None:
        """Take the sensors' state and recompute the cover if it changed (the numpy code)."""
        state = strength[self.units] * alive[self.units]
        differ = state != self.state
        if differ.any():
            self.state[differ] = state[differ]
            live = self.state[self.pair_sensor]
            self.pair_x[:] = -np.minimum(self.pair_p * live, MAX_PAIR_CHANCE)
            self.recompute()

    def pairs(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kind's (sensor, cell) pairs in the order placed: sensor (in :attr:`units`), cell, chance."""
        mine = self.kind[self.pair_sensor] == KINDS.index(kind)
        return self.pair_sensor[mine], self.pair_cell[mine], self.pair_p[mine]

    def of_cells(self, kind: str) -> np.ndarray:
        """Per cell of the theater, the chance that a sensor of ``kind`` covers it (for inspection)."""
        return self.cover[self.slot_of_cell[KINDS.index(kind)]]
