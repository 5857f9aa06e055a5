"""Geography: zones, depth into Russia, distances and a cell index.

The theater is a plane in a border-aligned frame: ``x_km`` runs along a
straightened border, ``depth_km`` is the distance into Russia (negative on the
Ukrainian side). Every point has a depth, belongs to the named zones whose
rectangles contain it, and falls in one cell of a regular grid. The grid lets
the model find what lies within a range without comparing every unit with
every other one: a source's reach is precomputed as the list of cells whose
centres lie within range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from escalation_sim.scenario.schema import TheaterSpec


@dataclass(frozen=True, slots=True)
class CellPairs:
    """Sparse (source, cell) pairs within a range, with each pair's distance."""

    source: np.ndarray
    cell: np.ndarray
    distance_km: np.ndarray


class Theater:
    """Zones, places and a cell grid built from a :class:`TheaterSpec`."""

    def __init__(self, spec: TheaterSpec) -> None:
        self.spec = spec
        self.zone_ids: list[str] = list(spec.zones)
        self._zx0 = np.array([z.x_km.min for z in spec.zones.values()])
        self._zx1 = np.array([z.x_km.max for z in spec.zones.values()])
        self._zd0 = np.array([z.depth_km.min for z in spec.zones.values()])
        self._zd1 = np.array([z.depth_km.max for z in spec.zones.values()])
        self.cell_km = spec.cell_km
        self.x0, self.x1 = spec.x_extent_km.min, spec.x_extent_km.max
        self.d0, self.d1 = spec.depth_extent_km.min, spec.depth_extent_km.max
        self.nx = max(1, int(np.ceil((self.x1 - self.x0) / self.cell_km)))
        self.nd = max(1, int(np.ceil((self.d1 - self.d0) / self.cell_km)))
        self.n_cells = self.nx * self.nd
        ix, idp = np.meshgrid(np.arange(self.nx), np.arange(self.nd), indexing="ij")
        self.cell_x = (self.x0 + (ix.ravel() + 0.5) * self.cell_km).astype(float)
        self.cell_depth = (self.d0 + (idp.ravel() + 0.5) * self.cell_km).astype(float)
        city = spec.places[spec.target_city]
        self.city_xy = (city.x_km, city.depth_km)
        self.city_cell = int(self.cell_of(np.array([city.x_km]), np.array([city.depth_km]))[0])

    def zone_bits(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Bit ``i`` set for each point inside zone ``zone_ids[i]``."""
        x = np.asarray(x, dtype=float)[:, None]
        d = np.asarray(depth, dtype=float)[:, None]
        inside = (x >= self._zx0) & (x <= self._zx1) & (d >= self._zd0) & (d <= self._zd1)
        weights = np.left_shift(1, np.arange(len(self.zone_ids), dtype=np.int64))
        return (inside * weights).sum(axis=1).astype(np.int64)

    def zone_names(self, bits: int) -> tuple[str, ...]:
        """The zone names encoded in a bit mask."""
        return tuple(z for i, z in enumerate(self.zone_ids) if bits >> i & 1)

    def primary_zone(self, bits: int) -> str:
        """The first zone (in scenario order) a point belongs to, or ``outside``."""
        for i, z in enumerate(self.zone_ids):
            if bits >> i & 1:
                return z
        return "outside"

    def cell_of(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Grid cell index of each point (points outside the extent are clamped)."""
        ix = np.clip(((np.asarray(x) - self.x0) // self.cell_km).astype(np.int64), 0, self.nx - 1)
        idp = np.clip(
            ((np.asarray(depth) - self.d0) // self.cell_km).astype(np.int64), 0, self.nd - 1
        )
        return ix * self.nd + idp

    def cells_within(self, x: np.ndarray, depth: np.ndarray, radius_km: np.ndarray) -> CellPairs:
        """For each source point, the cells whose centres lie within its radius.

        Cost grows with the number of sources times the cells in a radius, not
        with the number of other units: this is the index that keeps target
        search linear in forces.
        """
        x = np.asarray(x, dtype=float)
        depth = np.asarray(depth, dtype=float)
        radius_km = np.broadcast_to(np.asarray(radius_km, dtype=float), x.shape)
        sources, cells, dists = [], [], []
        for i in range(len(x)):
            r = radius_km[i]
            ix0 = max(0, int((x[i] - r - self.x0) // self.cell_km))
            ix1 = min(self.nx - 1, int((x[i] + r - self.x0) // self.cell_km))
            id0 = max(0, int((depth[i] - r - self.d0) // self.cell_km))
            id1 = min(self.nd - 1, int((depth[i] + r - self.d0) // self.cell_km))
            if ix1 < ix0 or id1 < id0:
                continue
            gx, gd = np.meshgrid(np.arange(ix0, ix1 + 1), np.arange(id0, id1 + 1), indexing="ij")
            c = (gx * self.nd + gd).ravel()
            dist = np.hypot(self.cell_x[c] - x[i], self.cell_depth[c] - depth[i])
            keep = dist <= r
            sources.append(np.full(int(keep.sum()), i, dtype=np.int64))
            cells.append(c[keep])
            dists.append(dist[keep])
        if not sources:
            empty = np.zeros(0, dtype=np.int64)
            return CellPairs(empty, empty, np.zeros(0))
        return CellPairs(np.concatenate(sources), np.concatenate(cells), np.concatenate(dists))

    def distance_to_city(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Distance (km) from each point to the target city."""
        return np.hypot(np.asarray(x) - self.city_xy[0], np.asarray(depth) - self.city_xy[1])
