"""Compiled kernels for positions and movement: where units are, and what follows from it.

Each kernel mirrors numpy code of the force layer (:mod:`escalation_sim.model.forces`)
and gives the same numbers bit for bit; the numpy code stays the reference.
Only ``+ - * /``, floor division and comparisons are used here: they round
the same in numba and numpy (numba's float floor division is CPython's
algorithm, as numpy's is), and the cosines and sines of the hop directions,
the C library's here as numpy's are (``tests/test_kernel_detect.py`` compares
them on a million directions).

* :func:`cell_index` and :func:`zone_bits_at`: one point's grid cell
  (:meth:`Theater.cell_of`) and zone bits (:meth:`Theater.zone_bits`: the
  raster's answer, :meth:`ZoneRaster.look_up`, else the ray-casting test of
  :class:`~escalation_sim.model.theater._EdgeTable`).
* :func:`sync_positions`: ``ForceLayer._sync`` for the units moved since the
  last read (cells, fire cells, zone bits, primary zones).
* :func:`mark_moved`: ``ForceLayer._refresh`` with ``_place_fire`` (what goes
  out of date when units move).
* :func:`relocate_units`: ``ForceLayer.relocate`` after its draw (with
  :func:`escalation_sim.model.movement.hop` and :func:`mark_moved`).
* :func:`pull_back_units`: ``ForceLayer.pull_back`` after its draw.
* :func:`repair`: the repair of ``ForceLayer.recover``, and a count of the step's losses.
* :func:`remember_depths` and :func:`deepest`: the pull-back memory's
  ``remember`` (a row of per-zone maxima, as ``np.maximum.at`` on zeros) and
  ``threat_depth`` (the maximum over the remembered steps, as ``max(axis=0)``),
  with numpy's ``maximum`` (a NaN propagates; of two equal values the first).
* :func:`pairs_by_cell`: an air-defence side's (unit, cell) pairs ordered by
  cell, as ``AirDefence.place`` orders them (a stable sort by cell), with
  each cell's start.
"""

from __future__ import annotations

import math

import numpy as np

from escalation_sim.model.kernels import kernel


@kernel
def cell_index(
    x: float, depth: float, x0: float, d0: float, cell_km: float, nx: int, nd: int
) -> int:
    """Grid cell of one point, clamped to the grid (as :meth:`Theater.cell_of`)."""
    ix = int((x - x0) // cell_km)
    idp = int((depth - d0) // cell_km)
    ix = min(max(ix, 0), nx - 1)
    idp = min(max(idp, 0), nd - 1)
    return ix * nd + idp


@kernel
def zone_bits_at(
    x: float,
    depth: float,
    raster_f: np.ndarray,
    raster_i: np.ndarray,
    raster_bits: np.ndarray,
    raster_answers: np.ndarray,
    edges: np.ndarray,
    edge_owner: np.ndarray,
    counts: np.ndarray,
    on_edge: np.ndarray,
) -> int:
    """Zone bits of one point: the raster's answer where it has one, else ray casting.

    Args:
        x: The point's x (km).
        depth: The point's depth (km).
        raster_f: ``[x0, d0, square_km]`` of the zone raster.
        raster_i: ``[nx, nd]`` of the zone raster.
        raster_bits: The raster's zone bits per square.
        raster_answers: Whether the raster answers for each square.
        edges: ``(10, edges)``: rows ``xa, da, db, dx, dd, length, x_lo, x_hi,
            d_lo, d_hi`` of the outlines' edge table.
        edge_owner: Polygon (zone) index of each edge.
        counts: Scratch, one integer per zone.
        on_edge: Scratch, one boolean per zone.
    """
    n_zones = len(counts)
    if n_zones == 0:
        return 0
    sq = raster_f[2]
    rnx, rnd = raster_i[0], raster_i[1]
    ix = int((x - raster_f[0]) // sq)
    idp = int((depth - raster_f[1]) // sq)
    cx = min(max(ix, 0), rnx - 1)
    cd = min(max(idp, 0), rnd - 1)
    square = cx * rnd + cd
    if raster_answers[square] and cx == ix and cd == idp:
        return raster_bits[square]
    # The ray-casting test of every edge, term for term as _EdgeTable.inside.
    counts[:] = 0
    on_edge[:] = False
    xa, da, db, dx, dd = edges[0], edges[1], edges[2], edges[3], edges[4]
    length, x_lo, x_hi, d_lo, d_hi = edges[5], edges[6], edges[7], edges[8], edges[9]
    for e in range(edges.shape[1]):
        p = edge_owner[e]
        rel_d = depth - da[e]
        # A crossing edge has da != db, so dd is never zero where it divides.
        if (da[e] > depth) != (db[e] > depth) and x < xa[e] + rel_d * dx[e] / dd[e]:
            counts[p] += 1
        cross = dx[e] * rel_d - dd[e] * (x - xa[e])
        if (
            abs(cross) <= 1e-9 * length[e]
            and x_lo[e] <= x
            and x <= x_hi[e]
            and d_lo[e] <= depth
            and depth <= d_hi[e]
        ):
            on_edge[p] = True
    bits = 0
    for p in range(n_zones):
        if counts[p] % 2 == 1 or on_edge[p]:
            bits |= 1 << p
    return bits


@kernel
def primary_of(bits: int, table: np.ndarray) -> int:
    """First zone of a zone mask (-1: none), from the table where there is one (as ``primary_zones``)."""
    if len(table) > 0:
        return table[bits]
    low = bits & -bits
    if low <= 0:
        return -1
    i = 0
    while low > 1:
        low >>= 1
        i += 1
    return i


@kernel
def sync_positions(
    moved: np.ndarray,
    x: np.ndarray,
    depth: np.ndarray,
    cell: np.ndarray,
    fire_cell: np.ndarray,
    zone_bits: np.ndarray,
    primary_zone: np.ndarray,
    carrier_unit: np.ndarray,
    rf_of_unit: np.ndarray,
    rf_fx: np.ndarray,
    rf_fd: np.ndarray,
    grid_f: np.ndarray,
    grid_i: np.ndarray,
    raster_f: np.ndarray,
    raster_i: np.ndarray,
    raster_bits: np.ndarray,
    raster_answers: np.ndarray,
    edges: np.ndarray,
    edge_owner: np.ndarray,
    n_zones: int,
    primary_table: np.ndarray,
) -> None:
    """Cells, fire cells, zone bits and primary zones of the units marked moved; clears the marks.

    ``grid_f`` is ``[x0, d0, cell_km]`` and ``grid_i`` ``[nx, nd]`` of the
    theater's grid; the zone arguments are those of :func:`zone_bits_at`. A
    glide-bomb carrier's fire cell is its release point's (``rf_fx``, ``rf_fd``).
    """
    x0, d0, ck = grid_f[0], grid_f[1], grid_f[2]
    nx, nd = grid_i[0], grid_i[1]
    counts = np.zeros(n_zones, dtype=np.int64)
    on_edge = np.zeros(n_zones, dtype=np.bool_)
    for u in range(len(moved)):
        if not moved[u]:
            continue
        moved[u] = False
        c = cell_index(x[u], depth[u], x0, d0, ck, nx, nd)
        cell[u] = c
        fire_cell[u] = c
        b = zone_bits_at(
            x[u],
            depth[u],
            raster_f,
            raster_i,
            raster_bits,
            raster_answers,
            edges,
            edge_owner,
            counts,
            on_edge,
        )
        zone_bits[u] = b
        primary_zone[u] = primary_of(b, primary_table)
        if carrier_unit[u]:
            k = rf_of_unit[u]
            fire_cell[u] = cell_index(rf_fx[k], rf_fd[k], x0, d0, ck, nx, nd)


@kernel
def mark_moved(
    units: np.ndarray,
    moved: np.ndarray,
    rf_of_unit: np.ndarray,
    rf_air: np.ndarray,
    rf_release: np.ndarray,
    city_x: float,
    x: np.ndarray,
    depth: np.ndarray,
    rf_fx: np.ndarray,
    rf_fd: np.ndarray,
    reach_moved: np.ndarray,
    is_ru_ad: np.ndarray,
    ru_ad_dirty: np.ndarray,
) -> tuple[bool, bool]:
    """Mark what depends on these units' positions out of date; place firing units' fire.

    As ``ForceLayer._refresh`` (with ``_place_fire``): an aircraft fires from
    the city's axis at its release depth, any other firing unit from where it
    stands. When any of the units is a Russian air-defence battery, every one
    of them is marked for the batteries' cover (as the numpy code marks them).

    Returns:
        Whether a firing unit was among them, and whether a battery was.
    """
    any_rf = False
    any_ad = False
    for u in units:
        moved[u] = True
        k = rf_of_unit[u]
        if k >= 0:
            if rf_air[k]:
                rf_fx[k] = city_x
                rf_fd[k] = rf_release[k]
            else:
                rf_fx[k] = x[u]
                rf_fd[k] = depth[u]
            reach_moved[k] = True
            any_rf = True
        if is_ru_ad[u]:
            any_ad = True
    if any_ad:
        for u in units:
            ru_ad_dirty[u] = True
    return any_rf, any_ad


#: Rows of the static per-unit table :func:`relocate_units` takes (``ForceLayer``).
HOP_KM, HOME_X0, HOME_X1 = range(3)


@kernel
def relocate_units(
    u: np.ndarray,
    leave_h: np.ndarray,
    alive: np.ndarray,
    step_hours: float,
    hop_table: np.ndarray,
    min_depth: float,
    pullback_cap: np.ndarray,
    x: np.ndarray,
    depth: np.ndarray,
    moved: np.ndarray,
    rf_of_unit: np.ndarray,
    rf_air: np.ndarray,
    rf_release: np.ndarray,
    city_x: float,
    rf_fx: np.ndarray,
    rf_fd: np.ndarray,
    reach_moved: np.ndarray,
    is_ru_ad: np.ndarray,
    ru_ad_dirty: np.ndarray,
) -> tuple[np.ndarray, bool, bool]:
    """Units whose departure falls within the step hop; departures reset; what they move marked.

    As ``ForceLayer.relocate`` after its draw (with
    :func:`escalation_sim.model.movement.hop` and :func:`mark_moved`): a
    mover's direction is ``u * 2 * pi`` radians (as ``rng.random(n) * 2.0 *
    np.pi``), its cosine and sine the C library's (``math.cos``, ``math.sin``:
    numpy's ``cos`` and ``sin`` of float64 are the same functions, which
    tests check on a million directions); it moves ``hop_km`` that way, a hop
    toward the border mirrored at ``min_depth``, x kept within its home
    zone's bounds, and no deeper than its pull-back cap (or where it already
    is, if deeper).

    Args:
        u: The step's uniform per unit.
        leave_h: Hours into the step at which each unit leaves (reset to ``inf``).
        alive: Units alive.
        step_hours: Hours in a step.
        hop_table: Per unit, fixed at set-up: rows :data:`HOP_KM` (hop length;
            zero: the unit never hops), :data:`HOME_X0`, :data:`HOME_X1`
            (its home zone's stretch of the border).
        min_depth: The least depth inside Russia.
        pullback_cap: Per unit, the deepest it goes.
        x: Positions, moved in place.
        depth: Depths, moved in place.
        moved: To :func:`mark_moved`, with the arguments after it.
        rf_of_unit: As :func:`mark_moved` takes it.
        rf_air: As :func:`mark_moved` takes it.
        rf_release: As :func:`mark_moved` takes it.
        city_x: As :func:`mark_moved` takes it.
        rf_fx: As :func:`mark_moved` takes it.
        rf_fd: As :func:`mark_moved` takes it.
        reach_moved: As :func:`mark_moved` takes it.
        is_ru_ad: As :func:`mark_moved` takes it.
        ru_ad_dirty: As :func:`mark_moved` takes it.

    Returns:
        The movers (ascending), and :func:`mark_moved`'s two answers (both
        false when nobody moved).
    """
    n = len(leave_h)
    goes = np.empty(n, dtype=np.bool_)
    count = 0
    for i in range(n):
        goes[i] = leave_h[i] < step_hours and alive[i] and hop_table[HOP_KM, i] > 0
        count += goes[i]
        leave_h[i] = np.inf
    movers = np.empty(count, dtype=np.int64)
    if count == 0:
        return movers, False, False
    j = 0
    for i in range(n):
        if not goes[i]:
            continue
        movers[j] = i
        j += 1
        h = hop_table[HOP_KM, i]
        angle = u[i] * 2.0 * math.pi
        nx = x[i] + h * math.cos(angle)
        nd = depth[i] + h * math.sin(angle)
        if nd < min_depth:
            nd = 2 * min_depth - nd
        nd = nd if nd >= min_depth else min_depth
        lo, hi = hop_table[HOME_X0, i], hop_table[HOME_X1, i]
        nx = nx if nx >= lo else lo
        nx = nx if nx <= hi else hi
        cap = pullback_cap[i] if pullback_cap[i] >= depth[i] else depth[i]
        nd = nd if nd <= cap else cap
        x[i] = nx
        depth[i] = nd
    any_rf, any_ad = mark_moved(
        movers,
        moved,
        rf_of_unit,
        rf_air,
        rf_release,
        city_x,
        x,
        depth,
        rf_fx,
        rf_fd,
        reach_moved,
        is_ru_ad,
        ru_ad_dirty,
    )
    return movers, any_rf, any_ad


@kernel
def pull_back_units(
    threat_depth: np.ndarray,
    home_zone: np.ndarray,
    margin_km: float,
    pullback_cap: np.ndarray,
    alive: np.ndarray,
    pulls_back: np.ndarray,
    day_p: float,
    u: np.ndarray,
    depth: np.ndarray,
    movers: np.ndarray,
) -> int:
    """Units that pull back beyond the deepest fast strike in their home zone; moves them.

    As ``ForceLayer.pull_back`` after its draw: a threatened unit's goal is
    the threat depth plus the margin, capped; it moves straight back when the
    goal lies more than a kilometre deeper and its variate falls below the
    day's response chance. Nothing moves when no zone is threatened.

    The units moved are written to the start of ``movers`` (one slot per unit)
    rather than handed back as a new array: most steps move nobody, and an
    array handed to Python costs more than the rest of the phase.

    Returns:
        How many units moved (``movers[:n]``, ascending).
    """
    threatened = False
    for z in range(len(threat_depth)):
        if threat_depth[z] > 0:
            threatened = True
    if not threatened:
        return 0
    goal = np.empty(len(depth))
    n = 0
    for i in range(len(depth)):
        t = threat_depth[home_zone[i]]
        g = t + margin_km if t > 0 else 0.0
        g = g if g <= pullback_cap[i] else pullback_cap[i]
        goal[i] = g
        if alive[i] and pulls_back[i] and g > depth[i] + 1.0 and u[i] < day_p:
            movers[n] = i
            n += 1
    for j in range(n):  # every goal is read before any depth changes, as numpy does
        depth[movers[j]] = goal[movers[j]]
    return n


@kernel
def repair(strength: np.ndarray, alive: np.ndarray, gain: float, destroyed_now: np.ndarray) -> int:
    """Live units regain ``gain`` of strength (up to 1); returns how many were lost this step.

    The losses stay marked in ``destroyed_now`` (the caller, who hands them to
    the reserves only when there are any, clears them): an integer answers
    faster than a new array every step.
    """
    n = 0
    for i in range(len(strength)):
        if alive[i]:
            v = strength[i] + gain
            strength[i] = 1.0 if v >= 1.0 else v
        if destroyed_now[i]:
            n += 1
    return n


@kernel
def pairs_by_cell(
    source: np.ndarray, cell: np.ndarray, dist: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(unit, cell, distance) pairs ordered by cell, keeping their order within a cell.

    A counting sort: the permutation of ``np.argsort(cell, kind="stable")``,
    and the pointer ``np.r_[0, np.cumsum(np.bincount(cell, minlength=n_cells))]``.

    Returns:
        The sorted sources, cells and distances, and per cell where its pairs start.
    """
    ptr = np.zeros(n_cells + 1, dtype=np.int64)
    for c in cell:
        ptr[c + 1] += 1
    for c in range(n_cells):
        ptr[c + 1] += ptr[c]
    at = ptr[:-1].copy()
    out_source = np.empty(len(cell), dtype=np.int64)
    out_cell = np.empty(len(cell), dtype=np.int64)
    out_dist = np.empty(len(cell))
    for j in range(len(cell)):
        c = cell[j]
        k = at[c]
        at[c] += 1
        out_source[k] = source[j]
        out_cell[k] = c
        out_dist[k] = dist[j]
    return out_source, out_cell, out_dist, ptr


@kernel
def replace_units(
    old_cell: np.ndarray,
    old_dist: np.ndarray,
    old_ptr: np.ndarray,
    moved: np.ndarray,
    new_cell: np.ndarray,
    new_dist: np.ndarray,
    new_ptr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit-ordered (unit, cell, distance) pairs with the ``moved`` units' pairs replaced.

    ``AirDefence._replace_units``' array passes in one loop: unit after unit, a
    moved unit's new pairs (``moved`` sorted, distinct; its ``j``-th unit's pairs
    are ``new_ptr[j]`` to ``new_ptr[j + 1]``), any other unit's old ones.

    Returns:
        The pairs' units, cells and distances, and per unit where its pairs start.
    """
    n_units = len(old_ptr) - 1
    ptr = np.zeros(n_units + 1, dtype=np.int64)
    j = 0
    for u in range(n_units):
        if j < len(moved) and moved[j] == u:
            ptr[u + 1] = ptr[u] + new_ptr[j + 1] - new_ptr[j]
            j += 1
        else:
            ptr[u + 1] = ptr[u] + old_ptr[u + 1] - old_ptr[u]
    source = np.empty(ptr[n_units], dtype=np.int64)
    cell = np.empty(ptr[n_units], dtype=np.int64)
    dist = np.empty(ptr[n_units])
    j = 0
    for u in range(n_units):
        if j < len(moved) and moved[j] == u:
            lo, arr_cell, arr_dist = new_ptr[j], new_cell, new_dist
            j += 1
        else:
            lo, arr_cell, arr_dist = old_ptr[u], old_cell, old_dist
        for k in range(ptr[u + 1] - ptr[u]):
            source[ptr[u] + k] = u
            cell[ptr[u] + k] = arr_cell[lo + k]
            dist[ptr[u] + k] = arr_dist[lo + k]
    return source, cell, dist, ptr


@kernel
def _maximum(a: float, b: float) -> float:
    """``np.maximum(a, b)`` for two floats: a NaN propagates, and of equal values ``a``."""
    return a if (a >= b or a != a) else b


@kernel
def remember_depths(deepest: np.ndarray, row: int, zone: np.ndarray, depth: np.ndarray) -> None:
    """Row ``row`` of ``deepest`` becomes this step's deepest strike per zone (0 where none)."""
    deepest[row, :] = 0.0
    for j in range(len(zone)):
        deepest[row, zone[j]] = _maximum(deepest[row, zone[j]], depth[j])


@kernel
def deepest(memory: np.ndarray) -> np.ndarray:
    """Per zone (column), the maximum over the remembered steps (rows), row after row."""
    out = memory[0].copy()
    for r in range(1, memory.shape[0]):
        for z in range(memory.shape[1]):
            out[z] = _maximum(out[z], memory[r, z])
    return out
