"""Geography: zones, depth into Russia, distances and a cell index.

The theater is a plane in a border-aligned frame: ``x_km`` runs along a
straightened border (the line ``depth_km = 0``), ``depth_km`` is the distance
into Russia (negative on the Ukrainian side). Every point has a depth, belongs
to the named zones whose outlines (polygons, or rectangles) contain it, and
falls in one cell of a regular grid. The grid lets
the model find what lies within a range without comparing every unit with
every other one: a source's reach is precomputed as the list of cells whose
centres lie within range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from escalation_sim.scenario.schema import TheaterSpec


def _edges(outlines: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Every polygon's edges as arrays (xa, da, xb, db) and the polygon each belongs to."""
    xa, da, xb, db, owner = [], [], [], [], []
    for i, o in enumerate(outlines):
        xa.append(o[:, 0])
        da.append(o[:, 1])
        xb.append(np.roll(o[:, 0], -1))
        db.append(np.roll(o[:, 1], -1))
        owner.append(np.full(len(o), i, dtype=np.int64))
    return tuple(np.concatenate(a) for a in (xa, da, xb, db, owner))


def _inside(
    x: np.ndarray, depth: np.ndarray, edges: tuple[np.ndarray, ...], n_polygons: int
) -> np.ndarray:
    """``(points, polygons)``: whether each point lies inside each polygon (boundary included).

    Even-odd ray casting over every edge at once, so the cost is one array
    pass of points times edges.
    """
    xa, da, xb, db, owner = edges
    px = np.asarray(x, dtype=float).reshape(-1, 1)
    pd_ = np.asarray(depth, dtype=float).reshape(-1, 1)
    crosses = (da > pd_) != (db > pd_)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = xa + (pd_ - da) * (xb - xa) / (db - da)
    hits = crosses & (px < x_at)
    # Points on an edge belong to the polygon (zones that share a border both hold it).
    cross = (xb - xa) * (pd_ - da) - (db - da) * (px - xa)
    length = np.maximum(1.0, np.hypot(xb - xa, db - da))
    on_edge = (
        (np.abs(cross) <= 1e-9 * length)
        & (np.minimum(xa, xb) - 1e-9 <= px)
        & (px <= np.maximum(xa, xb) + 1e-9)
        & (np.minimum(da, db) - 1e-9 <= pd_)
        & (pd_ <= np.maximum(da, db) + 1e-9)
    )
    onehot = np.zeros((len(owner), n_polygons), dtype=np.int64)
    onehot[np.arange(len(owner)), owner] = 1
    parity = (hits.astype(np.int64) @ onehot) % 2 == 1
    return parity | ((on_edge.astype(np.int64) @ onehot) > 0)


def inside_polygon(x: np.ndarray, depth: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Whether each point lies inside a polygon (its boundary counts as inside).

    Args:
        x: Points' x (km along the border).
        depth: Points' depth (km into Russia).
        outline: ``(n, 2)`` vertices ``[x, depth]`` in order (closed implicitly).
    """
    shape = np.shape(x)
    return _inside(x, depth, _edges([np.asarray(outline, float)]), 1)[:, 0].reshape(shape)


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
        self._outlines = [np.array(z.outline(), dtype=float) for z in spec.zones.values()]
        self._edges = _edges(self._outlines) if self._outlines else None
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
        x = np.asarray(x, dtype=float)
        if self._edges is None or x.size == 0:
            return np.zeros(x.shape, dtype=np.int64)
        inside = _inside(x, depth, self._edges, len(self.zone_ids))
        weights = np.left_shift(np.int64(1), np.arange(len(self.zone_ids), dtype=np.int64))
        return (inside.astype(np.int64) @ weights).reshape(x.shape)

    def in_zone(self, zone: str, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Whether each point lies inside the named zone."""
        return inside_polygon(
            np.asarray(x, float),
            np.asarray(depth, float),
            self._outlines[self.zone_ids.index(zone)],
        )

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

    def sample_in_zone(
        self,
        zone: str,
        count: int,
        rng: np.random.Generator,
        *,
        x_band: tuple[float, float] | None = None,
        depth_band: tuple[float, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` points drawn uniformly inside a zone (and optional bands).

        Rejection sampling from the zone's bounding box, in batches, so the
        draws depend only on the generator's state.

        Raises:
            ValueError: The zone and bands do not overlap (or barely do).
        """
        if count == 0:
            return np.zeros(0), np.zeros(0)
        spec = self.spec.zones[zone]
        x0, x1, d0, d1 = spec.bounds()
        if x_band is not None:
            x0, x1 = max(x0, x_band[0]), min(x1, x_band[1])
        if depth_band is not None:
            d0, d1 = max(d0, depth_band[0]), min(d1, depth_band[1])
        xs: list[np.ndarray] = []
        ds: list[np.ndarray] = []
        got = 0
        for _ in range(200):
            if got >= count or x1 < x0 or d1 < d0:
                break
            n = max(16, 2 * (count - got))
            x = rng.uniform(x0, x1, n)
            d = rng.uniform(d0, d1, n)
            keep = self.in_zone(zone, x, d)
            xs.append(x[keep])
            ds.append(d[keep])
            got += int(keep.sum())
        if got < count:
            raise ValueError(
                f"cannot place {count} units in zone {zone!r} within the given bands "
                f"(x {x0:g}..{x1:g} km, depth {d0:g}..{d1:g} km): they do not overlap the zone"
            )
        return np.concatenate(xs)[:count], np.concatenate(ds)[:count]
