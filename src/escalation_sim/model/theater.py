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

from escalation_sim.model import kernels
from escalation_sim.model.kernels import build as build_kernels
from escalation_sim.model.shared import SpecCache
from escalation_sim.model.zonegrid import ZoneRaster, zone_raster
from escalation_sim.scenario.schema import TheaterSpec

#: Sources per pass of :meth:`Theater.cells_within` are grouped so that one pass
#: holds at most this many (source, cell) candidates: a bounded temporary whatever
#: the number of sources or their radii.
_PASS_CANDIDATES = 1 << 20


class _EdgeTable:
    """Every polygon's edges, with what the point-in-polygon test needs of them precomputed.

    The per-edge terms (differences, lengths, bounds, the edge-to-polygon map)
    are the same expressions the test would otherwise rebuild on every call,
    computed once per outline set, so a test of a few points costs a few array
    passes, not dozens.
    """

    def __init__(self, outlines: list[np.ndarray]) -> None:
        xa, da, xb, db, owner = [], [], [], [], []
        for i, o in enumerate(outlines):
            xa.append(o[:, 0])
            da.append(o[:, 1])
            xb.append(np.roll(o[:, 0], -1))
            db.append(np.roll(o[:, 1], -1))
            owner.append(np.full(len(o), i, dtype=np.int64))
        self.xa, self.da, xb_, db_ = (np.concatenate(a) for a in (xa, da, xb, db))
        self.n_polygons = len(outlines)
        owner_ = np.concatenate(owner)
        self.dx = xb_ - self.xa
        self.dd = db_ - self.da
        self.db = db_
        self.length = np.maximum(1.0, np.hypot(self.dx, self.dd))
        self.x_lo = np.minimum(self.xa, xb_) - 1e-9
        self.x_hi = np.maximum(self.xa, xb_) + 1e-9
        self.d_lo = np.minimum(self.da, db_) - 1e-9
        self.d_hi = np.maximum(self.da, db_) + 1e-9
        self.onehot = np.zeros((len(owner_), self.n_polygons), dtype=np.int64)
        self.onehot[np.arange(len(owner_)), owner_] = 1

    def inside(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """``(points, polygons)``: whether each point lies inside each polygon (boundary included).

        Even-odd ray casting over every edge at once, so the cost is one array
        pass of points times edges.
        """
        px = np.asarray(x, dtype=float).reshape(-1, 1)
        pd_ = np.asarray(depth, dtype=float).reshape(-1, 1)
        crosses = (self.da > pd_) != (self.db > pd_)
        rel_d = pd_ - self.da
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = self.xa + rel_d * self.dx / self.dd
        hits = crosses & (px < x_at)
        # Points on an edge belong to the polygon (zones that share a border both hold it).
        cross = self.dx * rel_d - self.dd * (px - self.xa)
        on_edge = (
            (np.abs(cross) <= 1e-9 * self.length)
            & (self.x_lo <= px)
            & (px <= self.x_hi)
            & (self.d_lo <= pd_)
            & (pd_ <= self.d_hi)
        )
        parity = (hits.astype(np.int64) @ self.onehot) % 2 == 1
        return parity | ((on_edge.astype(np.int64) @ self.onehot) > 0)


def inside_polygon(x: np.ndarray, depth: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Whether each point lies inside a polygon (its boundary counts as inside).

    Args:
        x: Points' x (km along the border).
        depth: Points' depth (km into Russia).
        outline: ``(n, 2)`` vertices ``[x, depth]`` in order (closed implicitly).
    """
    shape = np.shape(x)
    return _EdgeTable([np.asarray(outline, float)]).inside(x, depth)[:, 0].reshape(shape)


#: Theaters with at most this many zones look a mask's primary zone up in a table.
TABLED_ZONES = 16


def lowest_bit(bits: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each mask (-1 for 0): a point's primary zone."""
    low = bits & -bits
    out = np.full(bits.shape, -1, dtype=np.int64)
    nz = low > 0
    out[nz] = np.round(np.log2(low[nz].astype(float))).astype(np.int64)
    return out


@dataclass(frozen=True, slots=True)
class CellPairs:
    """Sparse (source, cell) pairs within a range, with each pair's distance."""

    source: np.ndarray
    cell: np.ndarray
    distance_km: np.ndarray


#: Theaters kept per process by :meth:`Theater.shared` (the least recently used is dropped).
SHARED_THEATERS = 8


class Theater:
    """Zones, places and a cell grid built from a :class:`TheaterSpec`."""

    @classmethod
    def shared(cls, spec: TheaterSpec) -> Theater:
        """The theater of ``spec``, built once per spec in this process and shared by its models.

        A theater is a function of its (frozen) spec: the grid, the zones' outlines
        and what is derived from them on first use (the raster, edge tables),
        nothing a model changes. So the many models of an ensemble, built from one
        scenario, share one instead of each rebuilding it. Keyed by the spec
        object itself (held here, so its ``id`` cannot be reused while kept).
        """
        return _shared.get(spec)

    def __init__(self, spec: TheaterSpec) -> None:
        self.spec = spec
        self.zone_ids: list[str] = list(spec.zones)
        self._outlines = [np.array(z.outline(), dtype=float) for z in spec.zones.values()]
        self._edges = _EdgeTable(self._outlines) if self._outlines else None
        self._zone_edges: dict[int, _EdgeTable] = {}
        self._raster: ZoneRaster | None = None
        self._lookup: tuple | None = None  # plain arrays for kernels (lookup_arrays)
        n_zones = len(self.zone_ids)
        self._primary_table = (
            lowest_bit(np.arange(1 << n_zones, dtype=np.int64)) if n_zones <= TABLED_ZONES else None
        )
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

    @property
    def raster(self) -> ZoneRaster:
        """The zones' look-up raster (built on first use, shared by equal theaters)."""
        if self._raster is None:
            self._raster = zone_raster(
                self._outlines, (self.x0, self.x1, self.d0, self.d1), self.cell_km
            )
        return self._raster

    def zone_bits(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Bit ``i`` set for each point inside zone ``zone_ids[i]``.

        Looked up in the zones' raster; points it cannot answer for (near an
        outline, off the theater) are tested against the outlines.
        """
        x = np.asarray(x, dtype=float)
        if self._edges is None or x.size == 0:
            return np.zeros(x.shape, dtype=np.int64)
        depth = np.asarray(depth, dtype=float)
        bits, ok = self.raster.look_up(x.ravel(), depth.ravel())
        if not ok.all():
            rest = ~ok
            bits[rest] = self._bits_by_outline(x.ravel()[rest], depth.ravel()[rest])
        return bits.reshape(x.shape)

    def _bits_by_outline(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Zone bits by the ray-casting test against every outline (the reference)."""
        inside = self._edges.inside(x, depth)
        weights = np.left_shift(np.int64(1), np.arange(len(self.zone_ids), dtype=np.int64))
        return inside.astype(np.int64) @ weights

    def in_zone(self, zone: str, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Whether each point lies inside the named zone (raster first, as :meth:`zone_bits`)."""
        i = self.zone_ids.index(zone)
        x = np.asarray(x, float)
        depth = np.asarray(depth, float)
        bits, ok = self.raster.look_up(x.ravel(), depth.ravel())
        inside = (bits >> i & 1).astype(bool)
        if not ok.all():
            rest = ~ok
            table = self._zone_edges.get(i)
            if table is None:
                table = self._zone_edges[i] = _EdgeTable([self._outlines[i]])
            inside[rest] = table.inside(x.ravel()[rest], depth.ravel()[rest])[:, 0]
        return inside.reshape(x.shape)

    def primary_zones(self, bits: np.ndarray) -> np.ndarray:
        """Per zone mask, the index of its first zone in scenario order (-1: none).

        With up to :data:`TABLED_ZONES` zones, one look-up in a table of every mask.
        """
        if self._primary_table is not None:
            return self._primary_table[bits]
        return lowest_bit(bits)

    def zone_names(self, bits: int) -> tuple[str, ...]:
        """The zone names encoded in a bit mask."""
        return tuple(z for i, z in enumerate(self.zone_ids) if bits >> i & 1)

    def primary_zone(self, bits: int) -> str:
        """The first zone (in scenario order) a point belongs to, or ``outside``."""
        for i, z in enumerate(self.zone_ids):
            if bits >> i & 1:
                return z
        return "outside"

    def lookup_arrays(self) -> tuple:
        """The grid, the zone raster and the outlines' edge table as plain arrays, for kernels.

        Returns ``(grid_f, grid_i, raster_f, raster_i, raster_bits,
        raster_answers, edges, edge_owner, n_zones, primary_table)``: the
        arguments of :func:`escalation_sim.model.kernels.movement.sync_positions`
        after the unit arrays, so a kernel finds a point's cell and zones as
        :meth:`cell_of` and :meth:`zone_bits` do. Built once per theater.
        """
        if self._lookup is None:
            grid_f = np.array([self.x0, self.d0, self.cell_km], dtype=float)
            grid_i = np.array([self.nx, self.nd], dtype=np.int64)
            if self._edges is None:
                raster_f, raster_i = np.array([0.0, 0.0, 1.0]), np.ones(2, dtype=np.int64)
                raster_bits, raster_answers = np.zeros(1, np.int64), np.zeros(1, bool)
                edges, owner = np.zeros((10, 0)), np.zeros(0, dtype=np.int64)
            else:
                r, e = self.raster, self._edges
                raster_f = np.array([r.x0, r.d0, r.square_km], dtype=float)
                raster_i = np.array([r.nx, r.nd], dtype=np.int64)
                raster_bits = np.ascontiguousarray(r.bits, dtype=np.int64)
                raster_answers = np.ascontiguousarray(r.answers, dtype=bool)
                rows = (e.xa, e.da, e.db, e.dx, e.dd, e.length, e.x_lo, e.x_hi, e.d_lo, e.d_hi)
                edges = np.ascontiguousarray(np.array(rows, dtype=float))
                owner = e.onehot.argmax(axis=1).astype(np.int64)
            table = (
                np.zeros(0, dtype=np.int64)
                if self._primary_table is None
                else self._primary_table.astype(np.int64)
            )
            self._lookup = (
                grid_f,
                grid_i,
                raster_f,
                raster_i,
                raster_bits,
                raster_answers,
                edges,
                owner,
                len(self.zone_ids),
                table,
            )
        return self._lookup

    def cell_of(self, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Grid cell index of each point (points outside the extent are clamped)."""
        # np.minimum/np.maximum, not np.clip: the same integers without clip's Python wrapper.
        ix = ((np.asarray(x) - self.x0) // self.cell_km).astype(np.int64)
        idp = ((np.asarray(depth) - self.d0) // self.cell_km).astype(np.int64)
        ix = np.minimum(np.maximum(ix, 0), self.nx - 1)
        idp = np.minimum(np.maximum(idp, 0), self.nd - 1)
        return ix * self.nd + idp

    def _box(
        self, x: np.ndarray, depth: np.ndarray, radius_km: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per source, the first and last grid column and row of its radius's bounding box.

        Bounds are clamped to the grid in floating point before the conversion to
        integers, so a huge radius cannot overflow; an empty box has last < first.
        """
        ck = self.cell_km
        ix0 = np.maximum((x - radius_km - self.x0) // ck, 0.0).astype(np.int64)
        ix1 = np.minimum((x + radius_km - self.x0) // ck, self.nx - 1.0).astype(np.int64)
        id0 = np.maximum((depth - radius_km - self.d0) // ck, 0.0).astype(np.int64)
        id1 = np.minimum((depth + radius_km - self.d0) // ck, self.nd - 1.0).astype(np.int64)
        return ix0, ix1, id0, id1

    def cells_within(
        self,
        x: np.ndarray,
        depth: np.ndarray,
        radius_km: np.ndarray,
        *,
        distances: bool = True,
    ) -> CellPairs:
        """For each source point, the cells whose centres lie within its radius.

        Pairs come source by source (in input order), each source's cells in
        increasing cell index. Cost grows with the number of sources times the
        cells in a radius, not with the number of other units: this is the
        index that keeps target search linear in forces. All sources are
        handled in a few array passes (every candidate cell of every source's
        bounding box at once, in passes of bounded size), not one by one.

        Args:
            x: Sources' x (km).
            depth: Sources' depth (km).
            radius_km: Radius per source (or one for all).
            distances: Whether the pairs' distances are wanted; without them,
                ``distance_km`` is empty (the compiled path then skips ``hypot``
                for every cell clearly inside).
        """
        x = np.asarray(x, dtype=float).ravel()
        depth = np.asarray(depth, dtype=float).ravel()
        radius_km = np.broadcast_to(np.asarray(radius_km, dtype=float), x.shape).ravel()
        ix0, ix1, id0, id1 = self._box(x, depth, radius_km)
        if kernels.enabled():
            # Contiguous and writeable: a read-only view (one radius broadcast to one source)
            # would make numba compile a second version of the kernel.
            def plain(a: np.ndarray) -> np.ndarray:
                return np.require(a, requirements=["C", "W"])

            return CellPairs(
                *build_kernels.cells_within(
                    plain(x),
                    plain(depth),
                    plain(radius_km),
                    ix0,
                    ix1,
                    id0,
                    id1,
                    self.cell_x,
                    self.cell_depth,
                    self.nd,
                    distances,
                )
            )
        width = ix1 - ix0 + 1
        height = id1 - id0 + 1
        n_box = np.where((width > 0) & (height > 0), width * height, 0)
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        ends = np.cumsum(n_box)
        start = 0
        while start < len(x):
            # The largest run of sources whose candidates fit one pass (at least one source).
            limit = (ends[start - 1] if start else 0) + _PASS_CANDIDATES
            stop = max(start + 1, int(np.searchsorted(ends, limit, side="right")))
            out.append(
                self._pairs_in_boxes(x, depth, radius_km, ix0, id0, height, n_box, start, stop)
            )
            start = stop
        if not out:
            empty = np.zeros(0, dtype=np.int64)
            return CellPairs(empty, empty, np.zeros(0))
        pairs = (
            CellPairs(*out[0])
            if len(out) == 1
            else CellPairs(*(np.concatenate(parts) for parts in zip(*out, strict=True)))
        )
        return pairs if distances else CellPairs(pairs.source, pairs.cell, np.zeros(0))

    def _pairs_in_boxes(
        self,
        x: np.ndarray,
        depth: np.ndarray,
        radius_km: np.ndarray,
        ix0: np.ndarray,
        id0: np.ndarray,
        height: np.ndarray,
        n_box: np.ndarray,
        start: int,
        stop: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, cell, distance) of sources ``start:stop``: every box cell, then those in range."""
        sl = slice(start, stop)
        counts = n_box[sl]
        src = np.repeat(np.arange(start, stop, dtype=np.int64), counts)
        first = np.cumsum(counts) - counts
        j = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
        h = height[src]
        # Column-major within a box (x outer, depth inner): increasing cell index.
        cell = (ix0[src] + j // h) * self.nd + (id0[src] + j % h)
        dist = np.hypot(self.cell_x[cell] - x[src], self.cell_depth[cell] - depth[src])
        keep = dist <= radius_km[src]
        return src[keep], cell[keep], dist[keep]

    def within(
        self,
        x: np.ndarray,
        depth: np.ndarray,
        radius_km: np.ndarray,
        px: np.ndarray,
        pd: np.ndarray,
    ) -> np.ndarray:
        """``(sources, points)``: whether each listed point lies within each source's radius.

        The distance is the one :meth:`cells_within` measures (``hypot`` of the
        coordinate differences), so with cell centres as the points this is its
        answer for those cells: a cell whose centre is in range always lies in
        the source's bounding box (the box reaches half a cell beyond any centre
        in range), so the box test adds nothing there.
        """
        x = np.asarray(x, dtype=float)
        depth = np.asarray(depth, dtype=float)
        return np.hypot(px - x[:, None], pd - depth[:, None]) <= np.asarray(radius_km)[:, None]

    def cells_among(
        self, x: np.ndarray, depth: np.ndarray, radius_km: np.ndarray, cells: np.ndarray
    ) -> CellPairs:
        """:meth:`cells_within`, kept to the given cells: the same pairs, cheaper when few.

        A source's reach into a short list of cells (Ukraine's occupied cells,
        for a firing unit) costs one distance per listed cell instead of one per
        cell of its radius's box; the pairs are exactly those of
        :meth:`cells_within` whose cell is listed (see :meth:`within`).

        Args:
            x: Sources' x (km).
            depth: Sources' depth (km).
            radius_km: Radius per source (or one for all).
            cells: Cell indices to consider, increasing and distinct.
        """
        x = np.asarray(x, dtype=float).ravel()
        depth = np.asarray(depth, dtype=float).ravel()
        radius_km = np.broadcast_to(np.asarray(radius_km, dtype=float), x.shape).ravel()
        cells = np.asarray(cells, dtype=np.int64)
        cx, cd = self.cell_x[cells], self.cell_depth[cells]
        srcs, kept, dists = [], [], []
        step = max(1, _PASS_CANDIDATES // max(1, len(cells)))
        for a in range(0, len(x), step):
            b = min(len(x), a + step)
            dist = np.hypot(cx - x[a:b, None], cd - depth[a:b, None])
            s, c = np.nonzero(dist <= radius_km[a:b, None])
            srcs.append(s + a)
            kept.append(cells[c])
            dists.append(dist[s, c])
        if not srcs:
            empty = np.zeros(0, dtype=np.int64)
            return CellPairs(empty, empty, np.zeros(0))
        return CellPairs(
            np.concatenate(srcs).astype(np.int64), np.concatenate(kept), np.concatenate(dists)
        )

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
        return self.sample_in_box(self.placement_box(zone, x_band, depth_band), count, rng)

    def placement_box(
        self,
        zone: str,
        x_band: tuple[float, float] | None = None,
        depth_band: tuple[float, float] | None = None,
    ) -> tuple[str, int, float, float, float, float]:
        """Where :meth:`sample_in_box` draws: the zone, its index, its bounding box within the bands.

        A function of the scenario alone, so the force layer works it out once per
        scenario, not once per model.
        """
        x0, x1, d0, d1 = self.spec.zones[zone].bounds()
        if x_band is not None:
            x0, x1 = max(x0, x_band[0]), min(x1, x_band[1])
        if depth_band is not None:
            d0, d1 = max(d0, depth_band[0]), min(d1, depth_band[1])
        return zone, self.zone_ids.index(zone), x0, x1, d0, d1

    def sample_in_box(
        self,
        box: tuple[str, int, float, float, float, float],
        count: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`sample_in_zone` within a :meth:`placement_box`: the same draws, the same points.

        Raises:
            ValueError: The zone and bands do not overlap (or barely do).
        """
        if count == 0:
            return np.zeros(0), np.zeros(0)
        zone, zone_i, x0, x1, d0, d1 = box
        compiled = kernels.enabled()
        if compiled:
            _, _, rf, ri, rbits, ranswers, edges, owner, n_zones, _ = self.lookup_arrays()
        xs: list[np.ndarray] = []
        ds: list[np.ndarray] = []
        got = 0
        for _ in range(200):
            if got >= count or x1 < x0 or d1 < d0:
                break
            n = max(16, 2 * (count - got))
            x = rng.uniform(x0, x1, n)
            d = rng.uniform(d0, d1, n)
            if compiled:
                # The points kept, in order, in one call (the test, the two selections, the count).
                x, d = build_kernels.kept_in_zone(
                    x, d, zone_i, rf, ri, rbits, ranswers, edges, owner, n_zones
                )
            else:
                keep = self.in_zone(zone, x, d)
                x, d = x[keep], d[keep]
            xs.append(x)
            ds.append(d)
            got += len(x)
        if got < count:
            raise ValueError(
                f"cannot place {count} units in zone {zone!r} within the given bands "
                f"(x {x0:g}..{x1:g} km, depth {d0:g}..{d1:g} km): they do not overlap the zone"
            )
        if len(xs) == 1:  # one batch was enough (the usual case): nothing to join
            return xs[0][:count], ds[0][:count]
        return np.concatenate(xs)[:count], np.concatenate(ds)[:count]


_shared: SpecCache[TheaterSpec, Theater] = SpecCache(Theater, SHARED_THEATERS)
