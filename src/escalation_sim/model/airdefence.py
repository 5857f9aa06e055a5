"""Air defence on both sides: coverage, finite interceptor stocks, engagements.

An air-defence unit covers the cells within its range with a coverage
chance; a salvo flying into a covered cell is intercepted with the weapon's
interception chance times the cell's coverage. Every engagement uses one of
the covering battery's interceptors; a battery with none left covers
nothing until it is resupplied. Long-range batteries also reach aircraft:
glide-bomb carriers at their release points may be shot down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from escalation_sim.model import kernels, libm
from escalation_sim.model.kernels import fire as kfire
from escalation_sim.model.kernels import movement as kmove
from escalation_sim.model.theater import CellPairs, Theater

#: Covers kept per air-defence side for the compiled fire phase: the batteries' states
#: recur (a battery out of missiles is resupplied, runs out again), so a few cover most.
KEPT_COVERS = 8


@dataclass(slots=True)
class KeptCovers:
    """The cover at fixed cells for the last few states of the batteries (compiled phases)."""

    cells: np.ndarray  # the cells the covers are of
    states: np.ndarray  # (KEPT_COVERS, batteries): a state per row
    covers: np.ndarray  # (KEPT_COVERS, cells): the cover at ``cells`` for that row's state
    n: int = 0  # rows filled
    next: int = 0  # the row the next state goes to (the oldest once all are filled)


class AirDefence:
    """One side's air-defence units: where they reach and what they have left.

    Args:
        theater: The theater (cell index).
        units: Unit indices of the side's air-defence units.
        range_km: Reach of each unit against missiles, rockets and bombs.
        coverage: Coverage chance of each unit inside its reach.
        interceptors: Engagements on hand per unit (``inf``: unlimited).
        resupply_per_day: Interceptors delivered per unit per day.
        aircraft_range_km: Reach of each unit against aircraft (0: none).
        aircraft_kill_prob: Chance per sortie in reach of downing the carrier.
    """

    def __init__(
        self,
        theater: Theater,
        units: np.ndarray,
        range_km: np.ndarray,
        coverage: np.ndarray,
        interceptors: np.ndarray,
        resupply_per_day: np.ndarray,
        aircraft_range_km: np.ndarray,
        aircraft_kill_prob: np.ndarray,
    ) -> None:
        self.th = theater
        self.units = units
        self.range_km = range_km
        self.cover_p = coverage
        self.initial = interceptors.astype(float)
        self.interceptors = interceptors.astype(float).copy()
        self.resupply = resupply_per_day
        self.aircraft_range_km = aircraft_range_km
        self.aircraft_kill_prob = aircraft_kill_prob
        self.used = 0  # engagements this step
        # Each unit's covered cells and their distances, unit after unit (each unit's cells
        # in increasing order), with where each unit's start: the pairs before sorting by cell.
        self._by_unit: CellPairs | None = None
        self._unit_ptr = np.zeros(len(units) + 1, dtype=np.int64)
        self.pairs = CellPairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        # Compiled phases: (state, per unit the log of its chance to miss) for cover_at, and
        # the covers kept at the fire's cells; cleared when the units' cells are placed.
        self._unit_log_miss: tuple[np.ndarray, np.ndarray] | None = None
        self._kept: KeptCovers | None = None

    def place(self, x: np.ndarray, depth: np.ndarray, moved: np.ndarray | None = None) -> None:
        """(Re)compute the cells each unit covers from the units' positions.

        Args:
            x: Every unit's x (km).
            depth: Every unit's depth (km).
            moved: Positions (in :attr:`units`) of the only units that moved since
                the last call; none: every unit. A unit's cells depend on its own
                position alone, so the others' are kept.
        """
        if moved is None or self._by_unit is None or len(self.units) == 0:
            pairs = self.th.cells_within(x[self.units], depth[self.units], self.range_km)
            self._unit_ptr = np.searchsorted(pairs.source, np.arange(len(self.units) + 1))
        else:
            pairs = self._replace_units(x, depth, np.unique(moved))
        self._by_unit = pairs
        if kernels.enabled():
            source, cell, dist, self._ptr = kmove.pairs_by_cell(
                pairs.source, pairs.cell, pairs.distance_km, self.th.n_cells
            )
            self.pairs = CellPairs(source, cell, dist)
        else:
            order = np.argsort(pairs.cell, kind="stable")
            self.pairs = CellPairs(pairs.source[order], pairs.cell[order], pairs.distance_km[order])
            self._ptr = np.r_[0, np.cumsum(np.bincount(self.pairs.cell, minlength=self.th.n_cells))]
        # The engagement loop's lists are made when it first needs them: a battery that moves
        # every few steps would otherwise pay for lists of every pair and cell each time.
        self._lists: tuple[list[int], list[int]] | None = None
        self._cache = None
        self._unit_log_miss = None
        self._kept = None

    def _replace_units(self, x: np.ndarray, depth: np.ndarray, moved: np.ndarray) -> CellPairs:
        """The unit-ordered pairs with the ``moved`` units' cells worked out again.

        Every other unit's pairs are copied to their new places, in one compiled
        loop (:func:`~escalation_sim.model.kernels.movement.replace_units`) or a few
        array passes (before, a Python list of per-unit arrays was joined again:
        at forces x100, with a few hundred batteries moving, most of a step's
        detection). Unit after unit, each unit's cells in increasing order, as one
        call over every unit lists them.
        """
        old, old_ptr = self._by_unit, self._unit_ptr
        units = self.units[moved]
        new = self.th.cells_within(x[units], depth[units], self.range_km[moved])
        new_ptr = np.searchsorted(new.source, np.arange(len(moved) + 1))
        if kernels.enabled():
            source, cell, dist, self._unit_ptr = kmove.replace_units(
                old.cell, old.distance_km, old_ptr, moved, new.cell, new.distance_km, new_ptr
            )
            return CellPairs(source, cell, dist)
        lengths = np.diff(old_ptr)
        lengths[moved] = np.diff(new_ptr)
        ptr = np.zeros(len(self.units) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        source = np.repeat(np.arange(len(self.units), dtype=np.int64), lengths)
        cell = np.empty(int(ptr[-1]), dtype=np.int64)
        dist = np.empty(int(ptr[-1]), dtype=float)
        # The units kept: each old pair moves by the change of its unit's start.
        kept = np.ones(len(self.units), dtype=bool)
        kept[moved] = False
        keep = kept[old.source]
        at = np.flatnonzero(keep)
        to = at + (ptr[:-1] - old_ptr[:-1])[old.source[at]]
        cell[to] = old.cell[at]
        dist[to] = old.distance_km[at]
        # The moved units' new pairs, each at its unit's new start.
        unit_of_new = moved[new.source]
        to = np.arange(len(new.source)) - new_ptr[new.source] + ptr[unit_of_new]
        cell[to] = new.cell
        dist[to] = new.distance_km
        self._unit_ptr = ptr
        return CellPairs(source, cell, dist)

    @property
    def cell_ptr(self) -> np.ndarray:
        """Per cell, where its covering units start in ``pairs.source`` (pairs sorted by cell)."""
        return self._ptr

    def _state(self, strength: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Per unit, strength times alive times whether it has an interceptor left."""
        return strength[self.units] * alive[self.units] * (self.interceptors >= 1.0)

    def _log_miss(self, state: np.ndarray) -> np.ndarray:
        """Per unit, the log of its chance to miss a salvo in its reach (``libm.log1p``, the C library's)."""
        return libm.log1p(-np.minimum(self.cover_p * state, 1.0 - 1e-12))

    def _log_miss_per_cell(self, strength: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Per cell, the log of the chance that every covering unit misses (cached on the state).

        The cache is a function of the state alone (the cells each unit covers are
        fixed until :meth:`place`, which clears it), so it is kept across steps.
        """
        state = self._state(strength, alive)
        if self._cache is not None and (self._cache[0] == state).all():
            return self._cache[1]
        # Each unit's chance of missing, logged once per unit and then spread over its cells:
        # the same numbers as per (unit, cell) pair, element by element, at a fraction of the work.
        log_miss = self._log_miss(state)
        per_cell = np.bincount(
            self.pairs.cell, weights=log_miss[self.pairs.source], minlength=self.th.n_cells
        )
        self._cache = (state, per_cell)
        return per_cell

    def _log_miss_at(
        self, cells: np.ndarray, strength: np.ndarray, alive: np.ndarray
    ) -> np.ndarray:
        """``_log_miss_per_cell(strength, alive)[cells]``, in one compiled pass over those cells.

        The per-unit logs (``libm.log1p``) are kept with the state they belong to; the
        kernel works out the state now, compares it with the kept one and, when
        they match, adds up each cell's terms in the order ``np.bincount`` does:
        the same numbers, without a table of every cell. When they differ, the
        logs of the state the kernel wrote are taken (:meth:`_log_miss`) and the kernel adds.
        """
        cells = cells.astype(np.int64, copy=False)
        state = np.empty(len(self.units))
        sums = np.empty(len(cells))
        kept = self._unit_log_miss
        if kept is None:
            state = self._state(strength, alive)
        elif kfire.cover_sums(
            True, cells, self.units, strength, alive, self.interceptors, kept[0], kept[1],
            self.pairs.source, self._ptr, state, sums,
        ):  # fmt: skip
            return sums
        log_miss = self._log_miss(state)
        self._unit_log_miss = (state, log_miss)
        kfire.cover_sums(
            False, cells, self.units, strength, alive, self.interceptors, state, log_miss,
            self.pairs.source, self._ptr, state, sums,
        )  # fmt: skip
        return sums

    def cover(self, strength: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Per cell, the chance that at least one unit with interceptors left covers it."""
        if len(self.units) == 0:
            return np.zeros(self.th.n_cells)
        return -libm.expm1(self._log_miss_per_cell(strength, alive))

    def cover_at(self, cells: np.ndarray, strength: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """``cover(strength, alive)[cells]``, working out only the cells asked for."""
        if len(self.units) == 0:
            return np.zeros(len(cells))
        if kernels.enabled():
            return -libm.expm1(self._log_miss_at(cells, strength, alive))
        return -libm.expm1(self._log_miss_per_cell(strength, alive)[cells])

    def kept_covers(self, cells: np.ndarray) -> KeptCovers:
        """The covers kept at ``cells`` for compiled phases (none yet: an empty set of rows).

        The compiled fire phase looks up the batteries' state among the kept rows
        and asks for :meth:`keep_cover` when it is not there. The covers are a
        function of the state and of the cells the units cover, so they are kept
        across steps; :meth:`place` drops them, as does asking for other cells.
        """
        kept = self._kept
        if kept is None or kept.cells is not cells:
            kept = self._kept = KeptCovers(
                cells,
                np.zeros((KEPT_COVERS, len(self.units))),
                np.zeros((KEPT_COVERS, len(cells))),
            )
        return kept

    def keep_cover(self, strength: np.ndarray, alive: np.ndarray, cells: np.ndarray) -> KeptCovers:
        """Add the cover at ``cells`` for the units' state now to :meth:`kept_covers` (the oldest goes)."""
        kept = self.kept_covers(cells)
        row = kept.next
        kept.states[row] = self._state(strength, alive)
        kept.covers[row] = self.cover_at(cells, strength, alive)
        kept.next = (row + 1) % KEPT_COVERS
        kept.n = max(kept.n, row + 1)
        return kept

    def engage(self, cells: np.ndarray, alive: np.ndarray) -> None:
        """Spend one interceptor per engagement, from a live covering unit with stock left.

        Each engagement draws on the covering unit with the most interceptors
        left (ties: the first in unit order), so stocks run down evenly.
        """
        if len(cells) == 0:
            return
        # A few engagements over a few batteries each: plain Python on lists beats array calls
        # here, with the same float arithmetic and the same first-in-order choice on ties.
        left = self.interceptors.tolist()
        live = alive[self.units].tolist()
        source, ptr = self._source_list, self._ptr_list
        spent = False
        for c in cells.tolist():
            pick, most = -1, 0.0
            for s in source[ptr[c] : ptr[c + 1]]:
                if live[s] and left[s] >= 1.0 and (pick < 0 or left[s] > most):
                    pick, most = s, left[s]
            if pick < 0:
                continue
            if most != math.inf:
                left[pick] = most - 1.0
                spent = True
            self.used += 1
        if spent:
            self.interceptors[:] = left

    def carrier_kill_chance(
        self, x: float, depth: float, strength: np.ndarray, alive: np.ndarray
    ) -> tuple[float, int]:
        """Chance per sortie that a carrier releasing at (x, depth) is shot down, and by whom.

        Returns:
            The chance and the position (in :attr:`units`) of the unit most likely
            to fire (-1 if none reaches).
        """
        p, by = self.carrier_kill_chances(np.array([x]), np.array([depth]), strength, alive)
        return float(p[0]), int(by[0])

    def reaches(self, battery: int, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Whether ``battery`` (a position in :attr:`units`) reaches aircraft at each point."""
        u = self.units[battery]
        return np.hypot(self._x[u] - x, self._depth[u] - depth) <= self.aircraft_range_km[battery]

    def carrier_kill_chances(
        self, x: np.ndarray, depth: np.ndarray, strength: np.ndarray, alive: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`carrier_kill_chance` for several release points at once (one row each).

        Returns:
            Per release point, the chance per sortie and the position (in
            :attr:`units`) of the unit most likely to fire (-1 if none reaches).
        """
        if len(self.units) == 0:
            return np.zeros(len(x)), np.full(len(x), -1, dtype=np.int64)
        ux = self._x[self.units]
        ud = self._depth[self.units]
        reach = np.hypot(ux - x[:, None], ud - depth[:, None]) <= self.aircraft_range_km
        p = (
            self.aircraft_kill_prob
            * reach
            * alive[self.units]
            * strength[self.units]
            * (self.interceptors >= 1.0)
        )
        some = (p > 0).any(axis=1)
        chance = np.where(some, 1.0 - (1.0 - p).prod(axis=1), 0.0)
        return chance, np.where(some, p.argmax(axis=1), -1)

    def track_positions(self, x: np.ndarray, depth: np.ndarray) -> None:
        """Keep a reference to the force layer's position arrays (for aircraft reach)."""
        self._x, self._depth = x, depth

    def resupply_step(self, days: float) -> None:
        """Deliver interceptors (never above the initial stock) and reset the step's count."""
        # The covers are kept on the state, which counts whether a unit has missiles left:
        # nothing cached needs clearing here.
        np.minimum(self.interceptors + self.resupply * days, self.initial, out=self.interceptors)
        self.used = 0

    @property
    def _source_list(self) -> list[int]:
        """``pairs.source`` as a list (for the engagement loop), made when first read."""
        return self._engagement_lists()[0]

    @property
    def _ptr_list(self) -> list[int]:
        """Per cell, where its pairs start, as a list (for the engagement loop)."""
        return self._engagement_lists()[1]

    def _engagement_lists(self) -> tuple[list[int], list[int]]:
        if self._lists is None:
            self._lists = (self.pairs.source.tolist(), self._ptr.tolist())
        return self._lists
