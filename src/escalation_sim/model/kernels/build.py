"""Kernels of the model build: the (source, cell) pair tables of the force layer's reach.

:func:`launch_tables` turns the launch points' pairs into the force layer's
launch-option tables (per pair, and by cell), as ``ForceLayer.__init__`` does
with numpy; it is all whole numbers and a stable order.

:func:`in_zone` is ``Theater.in_zone`` for the points drawn to place units at
set-up (the draws stay numpy's, in ``Theater.sample_in_box``); :func:`kept_in_zone`
returns the points it keeps, in order, in the same call.

:func:`cells_within` is :meth:`escalation_sim.model.theater.Theater.cells_within`
after its bounding boxes: for each source in input order, every cell of its box
in increasing cell index (grid column outer, row inner), kept when the cell's
centre lies within the source's radius, with that distance. The numpy code
builds every candidate of every box as arrays (in passes of bounded size) and
filters them; the kernel walks the boxes twice, once to count the pairs kept
and once to write them, so it holds no candidate array at all.

The boxes themselves come from numpy (``Theater._box``: float floor division,
which the kernel need not reproduce). The distance is ``math.hypot``, the C
library's ``hypot``, which numpy's ``hypot`` also calls; the differences
inside it are the same subtractions of the same doubles. Whether a cell is
kept is decided by :func:`~escalation_sim.model.kernels.fire.within_radius`,
shared with the fire phase: squared distances where that is certain, ``hypot``
only within a relative 1e-9 of the radius (``hypot`` costs tens of
nanoseconds, and a long-range weapon's box holds thousands of cells).
"""

from __future__ import annotations

import math

import numpy as np

from escalation_sim.model.kernels import kernel
from escalation_sim.model.kernels.fire import within_radius
from escalation_sim.model.kernels.movement import zone_bits_at


@kernel
def cells_within(
    x: np.ndarray,
    depth: np.ndarray,
    radius_km: np.ndarray,
    ix0: np.ndarray,
    ix1: np.ndarray,
    id0: np.ndarray,
    id1: np.ndarray,
    cell_x: np.ndarray,
    cell_depth: np.ndarray,
    nd: int,
    distances: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, cell, distance) of every cell whose centre lies within each source's radius.

    Args:
        x: Per source, x (km).
        depth: Per source, depth (km).
        radius_km: Per source, the radius (km).
        ix0: Per source, the first grid column of its bounding box.
        ix1: Per source, the last grid column (below ``ix0``: an empty box).
        id0: Per source, the first grid row of its bounding box.
        id1: Per source, the last grid row (below ``id0``: an empty box).
        cell_x: Per cell, its centre's x.
        cell_depth: Per cell, its centre's depth.
        nd: Grid rows per column (cell index ``column * nd + row``).
        distances: Whether to return the distances (else an empty array).

    Returns:
        The pairs, source by source, each source's cells in increasing index.
    """
    n = len(x)
    total = 0
    for s in range(n):
        for ix in range(ix0[s], ix1[s] + 1):
            for idp in range(id0[s], id1[s] + 1):
                c = ix * nd + idp
                if within_radius(cell_x[c] - x[s], cell_depth[c] - depth[s], radius_km[s]):
                    total += 1
    source = np.empty(total, dtype=np.int64)
    cell = np.empty(total, dtype=np.int64)
    distance = np.empty(total if distances else 0)
    k = 0
    for s in range(n):
        for ix in range(ix0[s], ix1[s] + 1):
            for idp in range(id0[s], id1[s] + 1):
                c = ix * nd + idp
                dx = cell_x[c] - x[s]
                dd = cell_depth[c] - depth[s]
                if within_radius(dx, dd, radius_km[s]):
                    source[k] = s
                    cell[k] = c
                    if distances:
                        distance[k] = math.hypot(dx, dd)
                    k += 1
    return source, cell, distance


@kernel
def launch_tables(
    pair_source: np.ndarray,
    pair_cell: np.ndarray,
    launchers: np.ndarray,
    source_option: np.ndarray,
    n_cells: int,
    n_opt: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The force layer's launch-option tables from the launch points' (source, cell) pairs.

    What ``ForceLayer.__init__`` computes with numpy: per pair its launcher and
    its key ``option * n_cells + cell``, and the same pairs ordered by cell and,
    within a cell, by option (the stable order of ``np.argsort(cell * n_opt +
    option, kind="stable")``, here by a counting sort, which keeps the pairs of a
    (cell, option) in their order), with where each (cell, option)'s pairs start
    (``np.r_[0, np.cumsum(np.bincount(cell * n_opt + option, minlength=n_cells *
    n_opt))]``) and where each cell's start (every ``n_opt``-th of those).

    Args:
        pair_source: Per pair, the source (a position in ``launchers``).
        pair_cell: Per pair, the cell.
        launchers: Per source, the launcher's unit index.
        source_option: Per source, the launch option.
        n_cells: Cells in the grid.
        n_opt: Launch options (at least 1).

    Returns:
        Per pair its launcher and key; by cell and option, the launchers, the
        options, the pointer of ``n_cells + 1`` cell starts and the pointer of
        ``n_cells * n_opt + 1`` (cell, option) starts.
    """
    m = len(pair_source)
    reach_src = np.empty(m, dtype=np.int64)
    reach_key = np.empty(m, dtype=np.int64)
    group_ptr = np.zeros(n_cells * n_opt + 1, dtype=np.int64)
    for j in range(m):
        s = pair_source[j]
        reach_src[j] = launchers[s]
        reach_key[j] = source_option[s] * n_cells + pair_cell[j]
        group_ptr[pair_cell[j] * n_opt + source_option[s] + 1] += 1
    for g in range(n_cells * n_opt):
        group_ptr[g + 1] += group_ptr[g]
    at = group_ptr[:-1].copy()
    lp_src = np.empty(m, dtype=np.int64)
    lp_opt = np.empty(m, dtype=np.int64)
    for j in range(m):
        o = source_option[pair_source[j]]
        g = pair_cell[j] * n_opt + o
        k = at[g]
        at[g] += 1
        lp_src[k] = reach_src[j]
        lp_opt[k] = o
    cell_ptr = np.empty(n_cells + 1, dtype=np.int64)
    for c in range(n_cells + 1):
        cell_ptr[c] = group_ptr[c * n_opt]
    return reach_src, reach_key, lp_src, lp_opt, cell_ptr, group_ptr


@kernel
def in_zone(
    x: np.ndarray,
    depth: np.ndarray,
    zone: int,
    raster_f: np.ndarray,
    raster_i: np.ndarray,
    raster_bits: np.ndarray,
    raster_answers: np.ndarray,
    edges: np.ndarray,
    edge_owner: np.ndarray,
    n_zones: int,
) -> np.ndarray:
    """Whether each point lies in zone ``zone`` (``Theater.in_zone``), for placing units.

    The zone's bit of :func:`escalation_sim.model.kernels.movement.zone_bits_at`:
    the raster's answer where it has one, else the ray-casting test, polygon by
    polygon, so the zone's bit is its own polygon's test as in ``in_zone``.

    Args:
        x: Points' x (km).
        depth: Points' depth (km).
        zone: The zone's index.
        raster_f: ``[x0, d0, square_km]`` of the zone raster.
        raster_i: ``[nx, nd]`` of the zone raster.
        raster_bits: The raster's zone bits per square.
        raster_answers: Whether the raster answers for each square.
        edges: The outlines' edge table (``Theater.lookup_arrays``).
        edge_owner: Zone index of each edge.
        n_zones: Number of zones.
    """
    counts = np.zeros(n_zones, dtype=np.int64)
    on_edge = np.zeros(n_zones, dtype=np.bool_)
    inside = np.empty(len(x), dtype=np.bool_)
    for i in range(len(x)):
        bits = zone_bits_at(
            x[i],
            depth[i],
            raster_f,
            raster_i,
            raster_bits,
            raster_answers,
            edges,
            edge_owner,
            counts,
            on_edge,
        )
        inside[i] = (bits >> zone) & 1 == 1
    return inside


@kernel
def kept_in_zone(
    x: np.ndarray,
    depth: np.ndarray,
    zone: int,
    raster_f: np.ndarray,
    raster_i: np.ndarray,
    raster_bits: np.ndarray,
    raster_answers: np.ndarray,
    edges: np.ndarray,
    edge_owner: np.ndarray,
    n_zones: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The points of :func:`in_zone` that lie in the zone, in their order: ``x[keep], depth[keep]``.

    Args: as :func:`in_zone`.
    """
    keep = in_zone(
        x, depth, zone, raster_f, raster_i, raster_bits, raster_answers, edges, edge_owner, n_zones
    )
    n = 0
    for i in range(len(x)):
        if keep[i]:
            n += 1
    out_x = np.empty(n)
    out_d = np.empty(n)
    k = 0
    for i in range(len(x)):
        if keep[i]:
            out_x[k] = x[i]
            out_d[k] = depth[i]
            k += 1
    return out_x, out_d
