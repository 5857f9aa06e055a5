"""Zone membership by look-up: a raster of the theater's zones, exact where it answers.

Moving units need their zones every step, a few points at a time, where a
ray-casting test over every edge of every zone costs dozens of array passes.
The raster answers most points with one look-up instead: it holds, for each
small square of the theater, the zones of its centre, and marks the squares
that an outline comes near. A point in an unmarked square lies in exactly the
zones of that square's centre (no outline separates them), and the ray-casting
test would say so too, since it decides points away from every edge without
ambiguity; a point in a marked square, or off the raster, is left to the
ray-casting test. So a look-up never changes an answer.

A raster depends only on the zones' outlines and the theater's extent, so it is
built once per distinct theater in a process and shared (a small, bounded
cache), not once per model.
"""

from __future__ import annotations

import functools

import numpy as np

#: Squares per side of a model grid cell: fine enough that few units stand in a
#: square an outline crosses.
SQUARES_PER_CELL = 4
#: At most this many squares: the raster of a very large theater is coarser instead.
MAX_SQUARES = 250_000
#: Theaters whose rasters are kept per process (the least recently used is dropped).
CACHED_THEATERS = 4


class ZoneRaster:
    """Per square of the theater, the zone bits of its centre, and whether a look-up may answer.

    Args:
        outlines: Each zone's vertices ``(n, 2)`` as ``[x, depth]``, in zone order.
        extent: ``(x0, x1, d0, d1)`` of the theater (km).
        square_km: Side of a square before the :data:`MAX_SQUARES` cap.
    """

    def __init__(
        self,
        outlines: list[np.ndarray],
        extent: tuple[float, float, float, float],
        square_km: float,
    ) -> None:
        x0, x1, d0, d1 = extent
        area = max(x1 - x0, 1e-9) * max(d1 - d0, 1e-9)
        self.square_km = max(square_km, float(np.sqrt(area / MAX_SQUARES)))
        self.x0, self.d0 = x0, d0
        self.nx = max(1, int(np.ceil((x1 - x0) / self.square_km)))
        self.nd = max(1, int(np.ceil((d1 - d0) / self.square_km)))
        self.bits = self._centre_bits(outlines)
        self.answers = ~self._near_outlines(outlines)

    def _centre_bits(self, outlines: list[np.ndarray]) -> np.ndarray:
        """Zone bits of every square's centre, flat as ``ix * nd + id``.

        The even-odd rule row by row: a centre lies in a polygon when an odd
        number of the polygon's edges cross its row to its right, with the same
        crossing test, and the same arithmetic, as the ray-casting test.
        """
        s = self.square_km
        xc = self.x0 + (np.arange(self.nx) + 0.5) * s
        dc = (self.d0 + (np.arange(self.nd) + 0.5) * s)[:, None]
        bits = np.zeros((self.nd, self.nx), dtype=np.int64)
        for p, o in enumerate(outlines):
            xa, da = o[:, 0], o[:, 1]
            xb, db = np.roll(xa, -1), np.roll(da, -1)
            crosses = (da > dc) != (db > dc)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = xa + (dc - da) * (xb - xa) / (db - da)
            row, edge = np.nonzero(crosses)
            # Centres strictly left of a crossing are those before its insertion point.
            first_not_left = np.searchsorted(xc, x_at[row, edge], side="left")
            flips = np.zeros((self.nd, self.nx + 1), dtype=np.int64)
            np.add.at(flips, (row, 0), 1)
            np.add.at(flips, (row, first_not_left), -1)
            odd = np.cumsum(flips, axis=1)[:, : self.nx] % 2 == 1
            bits |= odd.astype(np.int64) << p
        return bits.T.ravel()

    def _near_outlines(self, outlines: list[np.ndarray]) -> np.ndarray:
        """Squares an outline passes through or next to (a look-up there would not be sure).

        Every edge is sampled at most half a square apart; each sample marks its
        square and the eight around it. Any point of a square within a square's
        width of an edge is then marked, with room to spare for rounding.
        """
        s = self.square_km
        near = np.zeros((self.nx, self.nd), dtype=bool)
        for o in outlines:
            a = o
            b = np.roll(o, -1, axis=0)
            length = np.hypot(*(b - a).T)
            n = np.ceil(length / (0.5 * s)).astype(np.int64) + 1
            t = np.concatenate([np.linspace(0.0, 1.0, k) for k in n])
            edge = np.repeat(np.arange(len(o)), n)
            px = a[edge, 0] + t * (b[edge, 0] - a[edge, 0])
            pd_ = a[edge, 1] + t * (b[edge, 1] - a[edge, 1])
            ix = np.floor((px - self.x0) / s).astype(np.int64)
            idp = np.floor((pd_ - self.d0) / s).astype(np.int64)
            for dx in (-1, 0, 1):
                for dd in (-1, 0, 1):
                    near[np.clip(ix + dx, 0, self.nx - 1), np.clip(idp + dd, 0, self.nd - 1)] = True
        return near.ravel()

    def look_up(self, x: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Zone bits of each point, and whether the raster answered for it.

        Where it did not (``False``), the bits returned are meaningless and the
        caller must test the point against the outlines.
        """
        ix = ((x - self.x0) // self.square_km).astype(np.int64)
        idp = ((depth - self.d0) // self.square_km).astype(np.int64)
        cx = np.minimum(np.maximum(ix, 0), self.nx - 1)
        cd = np.minimum(np.maximum(idp, 0), self.nd - 1)
        square = cx * self.nd + cd
        ok = self.answers[square] & (cx == ix) & (cd == idp)
        return self.bits[square], ok


@functools.lru_cache(maxsize=CACHED_THEATERS)
def _cached(key: bytes, shapes: tuple[int, ...], extent: tuple[float, ...], square_km: float):
    flat = np.frombuffer(key, dtype=float)
    outlines, start = [], 0
    for n in shapes:
        outlines.append(flat[start : start + 2 * n].reshape(n, 2))
        start += 2 * n
    return ZoneRaster(outlines, extent, square_km)  # type: ignore[arg-type]


def zone_raster(
    outlines: list[np.ndarray], extent: tuple[float, float, float, float], cell_km: float
) -> ZoneRaster:
    """The raster of these zones over this extent, built once per process and reused.

    Keyed by the outlines' coordinates and the extent themselves, so two
    scenarios with the same theater share it and any change to a zone makes a
    new one.
    """
    key = b"".join(np.ascontiguousarray(o, dtype=float).tobytes() for o in outlines)
    shapes = tuple(len(o) for o in outlines)
    return _cached(key, shapes, tuple(float(v) for v in extent), cell_km / SQUARES_PER_CELL)
