"""Kernels of Russian fire: who fires, at what, what air defence stops, what is hit.

:func:`russian_fire` is :meth:`escalation_sim.model.forces.ForceLayer.russian_fire`
after its draws, in one compiled call. In the numpy code's order it does:

- the occupied Ukrainian cells and the city in reach of the firing units
  that moved (:func:`sync_reach`, ``ForceLayer._sync_reach``);
- each firing unit's chance to fire (strength, the rung's multiplier, an
  airbase's slower tempo after a strike) and the choice between the city and a
  Ukrainian position in reach;
- :func:`ration`, the ammunition ration (:func:`escalation_sim.model.forces.ration`),
  and the salvoes taken off the stocks;
- the occupied cell each unit firing at the front picks
  (``ForceLayer._target_cells``: the ``floor(u * n)``-th cell in reach, in
  cell order) and the unit in it;
- the Ukrainian engagements over the city and over the positions
  (:func:`engage`, :meth:`AirDefence.engage
  <escalation_sim.model.airdefence.AirDefence.engage>`: one interceptor from the
  covering battery with the most left, ties to the first);
- the damage to the units hit (:func:`apply_damage`,
  :meth:`ForceLayer.apply_damage <escalation_sim.model.forces.ForceLayer.apply_damage>`);
- the glide-bomb carriers shot down at their release points
  (``ForceLayer._carriers_downed`` with :meth:`AirDefence.carrier_kill_chances
  <escalation_sim.model.airdefence.AirDefence.carrier_kill_chances>` and
  :meth:`AirDefence.reaches <escalation_sim.model.airdefence.AirDefence.reaches>`:
  carrier after carrier, a battery that runs out of missiles no longer counted
  for the carriers still to come) and the damage to them.

What numpy computes differently from compiled code stays with numpy and is
passed in: the variates (the fire stream's ``(8, firing units)`` draw) and the
Ukrainian air cover over the city and the cells holding Ukrainian units
(``-expm1`` of the summed log-misses, :meth:`AirDefence.kept_covers
<escalation_sim.model.airdefence.AirDefence.kept_covers>`: the covers of the
last few states of the batteries, which come back again and again as a battery
runs out of missiles and is resupplied). The kernel first looks for the cover
of the batteries' state now among those kept and returns at once, having
changed nothing, when there is none, so the caller can add it and call again.
:func:`cover_sums` adds up the log-misses per cell for
:meth:`AirDefence.cover_at <escalation_sim.model.airdefence.AirDefence.cover_at>`
(the C library's ``log1p`` per battery, :mod:`escalation_sim.model.libm`, passed in). The city's harm is numpy's pairwise
sum (:func:`pairwise_sum`, numpy's summation order). The rest is ``+ - * /``, comparisons and two
functions of the C library that numpy's own code calls too: ``hypot`` (numpy's
``np.hypot``) and ``pow`` (Python's ``float ** int``, the carriers' chance over
their sorties); ``tests/test_kernel_fire.py`` checks both. The reach of moved
units skips ``hypot`` where the squared distance alone settles the answer
(:func:`within_radius`, tested against ``np.hypot`` at the edge). Sums are taken in
index order, as ``np.bincount`` and ``np.cumsum`` take them; products over
batteries in battery order, as ``np.prod`` takes them.

:func:`apply_damage`, :func:`engage` and :func:`ration` are kernels of their
own, callable from Python or from other kernels (strike resolution applies
damage and engages Russian batteries the same way).
"""

from __future__ import annotations

import math

import numpy as np

from escalation_sim.model.kernels import kernel


@kernel
def _pairwise_block(a: np.ndarray, lo: int, n: int) -> float:
    """The sum numpy makes of at most 128 terms: one by one under eight, else eight at once."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r = a[lo : lo + 8].copy()
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[lo + i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@kernel
def pairwise_sum(a: np.ndarray) -> float:
    """``a.sum()`` of a contiguous float64 array, added up as numpy does (``pairwise_sum``).

    numpy splits more than 128 terms into two halves (the first a multiple of
    eight long) and adds their sums; this walks the same tree with a stack of
    its own (a recursive kernel does not load from numba's cache), and starts,
    as numpy does, from the identity 0.0.
    """
    n = len(a)
    if n <= 128:
        return 0.0 + _pairwise_block(a, 0, n)
    los = np.empty(64, dtype=np.int64)
    lens = np.empty(64, dtype=np.int64)
    state = np.zeros(64, dtype=np.int64)  # 0: not split yet, 1: left half pending, 2: right
    left = np.empty(64)
    top = 0
    los[0] = 0
    lens[0] = n
    while True:
        if lens[top] > 128 and state[top] == 0:
            half = lens[top] // 2
            half -= half % 8
            state[top] = 1
            los[top + 1] = los[top]
            lens[top + 1] = half
            state[top + 1] = 0
            top += 1
            continue
        v = _pairwise_block(a, los[top], lens[top])
        # Hand the sum up until a node still waits for its right half.
        while True:
            top -= 1
            if top < 0:
                return 0.0 + v
            if state[top] == 1:
                left[top] = v
                state[top] = 2
                half = lens[top] // 2
                half -= half % 8
                los[top + 1] = los[top] + half
                lens[top + 1] = lens[top] - half
                state[top + 1] = 0
                top += 1
                break
            v = left[top] + v


@kernel
def within_radius(dx: float, dy: float, radius: float) -> bool:
    """``math.hypot(dx, dy) <= radius``, the same answer, without ``hypot`` away from the edge.

    ``dx * dx + dy * dy`` is within a few units in the last place of the true
    squared distance and ``hypot`` within one of the true distance, so where
    the squared distance clears the squared radius by a relative billionth the
    answer is certain; nearer the edge, or where squares could overflow or
    lose precision (huge or tiny values, NaN), ``hypot`` decides as numpy's does.
    """
    r2 = radius * radius
    if 1e-280 < r2 < 1e280:
        d2 = dx * dx + dy * dy
        if d2 < r2 * (1.0 - 1e-9):
            return True
        if d2 > r2 * (1.0 + 1e-9):
            return False
    return math.hypot(dx, dy) <= radius


@kernel
def sync_reach(
    moved: np.ndarray,
    fire_x: np.ndarray,
    fire_depth: np.ndarray,
    rf_weapon: np.ndarray,
    w_range: np.ndarray,
    px: np.ndarray,
    pd: np.ndarray,
    reach: np.ndarray,
    city_in_range: np.ndarray,
    n_cand: np.ndarray,
    has_cand: np.ndarray,
) -> None:
    """``ForceLayer._sync_reach``: the targets in reach of the firing units that moved.

    Args:
        moved: Per firing unit, whether its fire position moved (cleared here).
        fire_x: Per firing unit, x of its fire position.
        fire_depth: Per firing unit, depth of its fire position.
        rf_weapon: Per firing unit, its weapon.
        w_range: Per weapon, its range (km).
        px: x of each occupied Ukrainian cell's centre, then of the city.
        pd: Depth of the same points.
        reach: ``(firing units, occupied cells)``, updated for the units that moved.
        city_in_range: Per firing unit, whether the city is in reach (updated).
        n_cand: Per firing unit, occupied cells in reach (updated).
        has_cand: Per firing unit, whether any is (updated).
    """
    n_pts = len(px) - 1
    for k in range(len(moved)):
        if not moved[k]:
            continue
        moved[k] = False
        radius = w_range[rf_weapon[k]]
        count = 0
        for c in range(n_pts):  # Theater.within: hypot of the differences, point minus source
            inside = within_radius(px[c] - fire_x[k], pd[c] - fire_depth[k], radius)
            reach[k, c] = inside
            if inside:
                count += 1
        city_in_range[k] = within_radius(px[n_pts] - fire_x[k], pd[n_pts] - fire_depth[k], radius)
        n_cand[k] = count
    for k in range(len(n_cand)):
        has_cand[k] = n_cand[k] > 0


@kernel
def ration(weapon: np.ndarray, amount: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """:func:`escalation_sim.model.forces.ration` compiled: requests granted in order per weapon.

    Args:
        weapon: Weapon index of each request (int64).
        amount: Salvoes asked by each request (float64).
        stock: Salvoes on hand per weapon.

    Returns:
        Boolean mask of granted requests.
    """
    m = len(weapon)
    ok = np.ones(m, dtype=np.bool_)
    if m == 0:
        return ok
    n_w = len(stock)
    demand = np.zeros(n_w)
    for i in range(m):
        demand[weapon[i]] += amount[i]
    enough = True
    for w in range(n_w):
        if not demand[w] <= stock[w] + 1e-9:
            enough = False
    if enough:
        return ok
    # A stable counting sort by weapon is numpy's stable argsort; the running sum runs
    # over the sorted requests, each weapon's share measured from where its block starts.
    count = np.zeros(n_w + 1, dtype=np.int64)
    for i in range(m):
        count[weapon[i] + 1] += 1
    for w in range(n_w):
        count[w + 1] += count[w]
    order = np.empty(m, dtype=np.int64)
    for i in range(m):
        order[count[weapon[i]]] = i
        count[weapon[i]] += 1
    cum = 0.0
    base = 0.0
    for j in range(m):
        i = order[j]
        a = amount[i]
        cum += a
        if j == 0 or weapon[order[j - 1]] != weapon[i]:
            base = cum - a
        ok[i] = cum - base <= stock[weapon[i]] + 1e-9
    return ok


@kernel
def apply_damage(
    targets: np.ndarray,
    damage: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    status: np.ndarray,
    destroyed_now: np.ndarray,
    destroyed_below: float,
    lost: int,
) -> np.ndarray:
    """``ForceLayer.apply_damage``: subtract in order, floor at zero, destroy the weakened.

    Updates ``strength``, ``alive``, ``status`` and ``destroyed_now`` in place.

    Returns:
        The units destroyed by this damage, in increasing order (int64).
    """
    if len(targets) == 0:
        return np.zeros(0, dtype=np.int64)
    for j in range(len(targets)):  # np.subtract.at: one target after the other
        strength[targets[j]] -= damage[j]
    newly = np.empty(len(strength), dtype=np.int64)
    n_dead = 0
    for i in range(len(strength)):
        # np.maximum(s, 0.0) over every unit: zero for s <= 0 (-0.0 too), NaN kept.
        if strength[i] <= 0.0:
            strength[i] = 0.0
        if alive[i] and strength[i] < destroyed_below:
            alive[i] = False
            status[i] = lost
            strength[i] = 0.0
            destroyed_now[i] = True
            newly[n_dead] = i
            n_dead += 1
    return newly[:n_dead].copy()


@kernel
def engage(
    cell: int,
    live: np.ndarray,
    interceptors: np.ndarray,
    source: np.ndarray,
    ptr: np.ndarray,
) -> int:
    """One engagement at ``cell`` (``AirDefence.engage``); 1 if a battery engaged, else 0.

    Args:
        cell: The cell engaged over.
        live: Per battery, whether its unit is alive.
        interceptors: Per battery, interceptors left (updated; ``inf`` never runs down).
        source: Batteries covering each cell, cell after cell (``pairs.source``).
        ptr: Per cell, where its batteries start in ``source``.
    """
    pick = -1
    most = 0.0
    for q in range(ptr[cell], ptr[cell + 1]):
        s = source[q]
        left = interceptors[s]
        if live[s] and left >= 1.0 and (pick < 0 or left > most):
            pick = s
            most = left
    if pick < 0:
        return 0
    if most != math.inf:
        interceptors[pick] = most - 1.0
    return 1


@kernel
def chance_in_reach(
    reach: np.ndarray,
    ad_units: np.ndarray,
    ad_kill: np.ndarray,
    interceptors: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
) -> tuple[float, int]:
    """:func:`carrier_kill_chance` with the batteries' reach of the point given (bool per battery).

    Every battery enters the product, those out of reach as a factor ``1 - 0``, as
    in the numpy code, so a NaN strength spoils the chance there too.
    """
    miss = 1.0
    best = 0.0
    by = -1
    for b in range(len(ad_units)):
        u = ad_units[b]
        # The numpy code's product, factor by factor: booleans count as 1.0 or 0.0.
        p = ad_kill[b] * (1.0 if reach[b] else 0.0)
        p = p * (1.0 if alive[u] else 0.0)
        p = p * strength[u]
        p = p * (1.0 if interceptors[b] >= 1.0 else 0.0)
        miss *= 1.0 - p
        if p > 0.0 and (by < 0 or p > best):
            best = p
            by = b
    if by < 0:
        return 0.0, -1
    return 1.0 - miss, by


@kernel
def battery_reach(
    x: float,
    depth: float,
    ad_units: np.ndarray,
    ad_range: np.ndarray,
    unit_x: np.ndarray,
    unit_depth: np.ndarray,
    out: np.ndarray,
) -> None:
    """Whether each battery reaches aircraft at ``(x, depth)`` (``AirDefence.reaches``), into ``out``."""
    for b in range(len(ad_units)):
        u = ad_units[b]
        out[b] = within_radius(unit_x[u] - x, unit_depth[u] - depth, ad_range[b])


@kernel
def carrier_kill_chance(
    x: float,
    depth: float,
    ad_units: np.ndarray,
    ad_kill: np.ndarray,
    ad_range: np.ndarray,
    interceptors: np.ndarray,
    unit_x: np.ndarray,
    unit_depth: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
) -> tuple[float, int]:
    """One row of ``AirDefence.carrier_kill_chances``: the chance per sortie, and by whom.

    Returns:
        The chance that a carrier releasing at ``(x, depth)`` is shot down per
        sortie, and the battery most likely to fire (-1 if none can).
    """
    reach = np.empty(len(ad_units), dtype=np.bool_)
    battery_reach(x, depth, ad_units, ad_range, unit_x, unit_depth, reach)
    return chance_in_reach(reach, ad_units, ad_kill, interceptors, strength, alive)


@kernel
def sorties_survive(p_kill: float, sorties: int) -> float:
    """``(1.0 - p_kill) ** int(sorties)`` as Python computes it: the C library's ``pow``.

    Python's float power with an integer exponent converts the exponent to a
    float and calls ``pow``; numba's ``x ** n`` with an integer ``n`` multiplies
    instead, which rounds differently.
    """
    return (1.0 - p_kill) ** float(sorties)


@kernel
def _carriers_downed(
    carriers: np.ndarray,
    u: np.ndarray,
    salvoes: np.ndarray,
    fire_x: np.ndarray,
    fire_depth: np.ndarray,
    ad_units: np.ndarray,
    ad_kill: np.ndarray,
    ad_range: np.ndarray,
    interceptors: np.ndarray,
    unit_x: np.ndarray,
    unit_depth: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
) -> tuple[np.ndarray, int]:
    """``ForceLayer._carriers_downed``: the carriers shot down, in order, and missiles used.

    The numpy code works out every carrier's chance at the start and again, for the
    carriers still to come that it reached, each time a battery runs out. Here each
    carrier's chance is worked out once, when its turn comes, from the batteries'
    missiles at that moment: the same figure, since a battery's missiles enter a
    carrier's chance only through whether it has one left and only where it reaches
    the carrier (out of reach, its factor is the same either way, NaN included), and
    within the phase a battery's "one left" only ever turns false, which the numpy code
    follows up for every carrier it reaches. Before, at forces x100, the recounts took
    most of the fire phase.
    """
    m = len(carriers)
    reach = np.empty(len(ad_units), dtype=np.bool_)
    downed = np.empty(m, dtype=np.int64)
    n_down = 0
    used = 0
    for j in range(m):
        k = carriers[j]
        battery_reach(fire_x[k], fire_depth[k], ad_units, ad_range, unit_x, unit_depth, reach)
        p_kill, b = chance_in_reach(reach, ad_units, ad_kill, interceptors, strength, alive)
        if p_kill > 0.0 and u[k] < 1.0 - sorties_survive(p_kill, salvoes[k]):
            downed[n_down] = k
            n_down += 1
            interceptors[b] = max(0.0, interceptors[b] - 1.0)
            used += 1
    return downed[:n_down].copy(), used


@kernel
def battery_state(strength: float, alive: bool, interceptors: float) -> float:
    """One battery's state as the cover sees it: strength times alive times missiles left.

    numpy's ``strength[units] * alive[units] * (interceptors >= 1.0)``, factor by
    factor (booleans count as 1.0 or 0.0).
    """
    s = strength * (1.0 if alive else 0.0)
    return s * (1.0 if interceptors >= 1.0 else 0.0)


@kernel
def kept_row(
    ad_units: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    interceptors: np.ndarray,
    kept_states: np.ndarray,
    n_kept: int,
) -> int:
    """The first of the ``n_kept`` kept states equal to the batteries' state now (-1: none).

    A NaN kept counts as the same state as a NaN now (a NaN never equals itself,
    which would otherwise never find the cover it was just given).
    """
    for r in range(n_kept):
        same = True
        for b in range(len(ad_units)):
            a = ad_units[b]
            s = battery_state(strength[a], alive[a], interceptors[b])
            kept = kept_states[r, b]
            if s != kept and not (s != s and kept != kept):
                same = False
                break
        if same:
            return r
    return -1


@kernel
def cover_sums(
    check: bool,
    cells: np.ndarray,
    ad_units: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    interceptors: np.ndarray,
    kept_state: np.ndarray,
    log_miss: np.ndarray,
    source: np.ndarray,
    ptr: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> bool:
    """Per cell asked, the summed log-miss of the batteries covering it (``AirDefence.cover_at``).

    Writes the batteries' state now to ``state`` (:func:`battery_state`, the
    numbers numpy's product gives). ``log_miss`` (per battery, ``libm.log1p``)
    belongs to ``kept_state``; with ``check``, the state now is compared with it
    (as numpy's ``==``: a NaN differs) and nothing is summed when they differ.
    Each cell's terms are added from 0.0 in pair order, as ``np.bincount`` adds
    them (pairs sorted by cell), into ``out``.

    Returns:
        Whether ``log_miss`` was the state's (always, without ``check``): whether
        ``out`` was written.
    """
    same = True
    for b in range(len(ad_units)):
        a = ad_units[b]
        state[b] = battery_state(strength[a], alive[a], interceptors[b])
        if check and state[b] != kept_state[b]:
            same = False
    if not same:
        return False
    for j in range(len(cells)):
        c = cells[j]
        acc = 0.0
        for q in range(ptr[c], ptr[c + 1]):
            acc += log_miss[source[q]]
        out[j] = acc
    return True


@kernel
def russian_fire(
    step: int,
    fire_multiplier: float,
    step_days: float,
    memory_days: float,
    airbase_tempo: float,
    detect_prob: float,
    after_fire_prob: float,
    carrier_loss: float,
    destroyed_below: float,
    lost: int,
    side_ukraine: int,
    city_cell: int,
    u: np.ndarray,
    reach_moved: np.ndarray,
    w_range: np.ndarray,
    reach_x: np.ndarray,
    reach_depth: np.ndarray,
    rf: np.ndarray,
    rf_weapon: np.ndarray,
    rf_prob: np.ndarray,
    rf_salvoes: np.ndarray,
    rf_city_share: np.ndarray,
    rf_airbase: np.ndarray,
    rf_air: np.ndarray,
    rf_city_in_range: np.ndarray,
    rf_has_cand: np.ndarray,
    rf_n_cand: np.ndarray,
    rf_reach: np.ndarray,
    rf_fx: np.ndarray,
    rf_fd: np.ndarray,
    ua_cells: np.ndarray,
    ua_cell_ptr: np.ndarray,
    ua_cell_members: np.ndarray,
    w_intercept: np.ndarray,
    w_harm: np.ndarray,
    effect: np.ndarray,
    stock: np.ndarray,
    x: np.ndarray,
    depth: np.ndarray,
    side: np.ndarray,
    cls: np.ndarray,
    scoot_prob: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    status: np.ndarray,
    destroyed_now: np.ndarray,
    last_fired: np.ndarray,
    last_struck: np.ndarray,
    fired_at_city: np.ndarray,
    ad_units: np.ndarray,
    ad_kill: np.ndarray,
    ad_range: np.ndarray,
    ad_interceptors: np.ndarray,
    ad_source: np.ndarray,
    ad_ptr: np.ndarray,
    kept_states: np.ndarray,
    kept_covers: np.ndarray,
    n_kept: int,
    units_out: np.ndarray,
    at_city_out: np.ndarray,
    city_landed: np.ndarray,
) -> tuple[bool, int, int, int, int, float, int, int]:
    """``ForceLayer.russian_fire`` after its draws; updates the arrays it is given in place.

    Args:
        step: The step.
        fire_multiplier: The Russian rung's multiplier of the chance to fire.
        step_days: Days per step.
        memory_days: How long an airbase remembers a strike on it.
        airbase_tempo: An airbase's multiplier of its chance to fire after a strike.
        detect_prob: Chance Russian reconnaissance finds a unit.
        after_fire_prob: Chance it finds a unit that fired the day before (and did not scoot).
        carrier_loss: Strength a carrier loses when shot down.
        destroyed_below: Strength under which a unit is destroyed.
        lost: The status code of a destroyed unit.
        side_ukraine: The side code of Ukraine.
        city_cell: The city's cell.
        u: The step's ``(8, firing units)`` variates of the fire stream.
        reach_moved: Per firing unit, whether its targets in reach are out of date
            (brought up to date first, :func:`sync_reach`, and cleared).
        w_range: Per weapon, its range (km).
        reach_x: x of each occupied Ukrainian cell's centre, then of the city.
        reach_depth: Depth of the same points.
        rf: Unit index of each firing unit.
        rf_weapon: Per firing unit, its weapon.
        rf_prob: Per firing unit, its chance to fire per step.
        rf_salvoes: Per firing unit, salvoes per step.
        rf_city_share: Per firing unit, the share of its fire aimed at the city.
        rf_airbase: Per firing unit, whether it is an airbase.
        rf_air: Per firing unit, whether it releases from aircraft.
        rf_city_in_range: Per firing unit, whether the city is in reach.
        rf_has_cand: Per firing unit, whether any occupied Ukrainian cell is in reach.
        rf_n_cand: Per firing unit, how many occupied Ukrainian cells are in reach.
        rf_reach: ``(firing units, occupied cells)``: which occupied cells are in reach.
        rf_fx: Per firing unit, x of its fire position.
        rf_fd: Per firing unit, depth of its fire position.
        ua_cells: The cells holding Ukrainian units, in order.
        ua_cell_ptr: Per cell, where its Ukrainian units start in ``ua_cell_members``.
        ua_cell_members: Ukrainian units, cell after cell.
        w_intercept: Per weapon, its interception chance.
        w_harm: Per weapon, civilian harm per salvo landing on the city.
        effect: ``(weapons, classes)`` strength removed by one salvo.
        stock: Salvoes on hand per weapon (updated).
        x: Per unit, x (km).
        depth: Per unit, depth (km).
        side: Per unit, its side code.
        cls: Per unit, its target class.
        scoot_prob: Per unit, its chance to move away after firing.
        strength: Per unit, strength (updated).
        alive: Per unit, alive (updated).
        status: Per unit, status code (updated).
        destroyed_now: Per unit, destroyed this step (updated).
        last_fired: Per unit, the last step it fired (updated).
        last_struck: Per unit, the last step a strike landed on it.
        fired_at_city: Per unit, whether it fired at the city (updated for every firing unit).
        ad_units: Unit index of each Ukrainian air-defence battery.
        ad_kill: Per battery, its chance per sortie in reach of downing a carrier.
        ad_range: Per battery, its reach against aircraft.
        ad_interceptors: Per battery, interceptors left (updated).
        ad_source: Batteries covering each cell, cell after cell.
        ad_ptr: Per cell, where its batteries start in ``ad_source``.
        kept_states: ``(kept, batteries)``: batteries' states whose cover is kept.
        kept_covers: ``(kept, 1 + occupied cells)``: the Ukrainian air cover for
            each kept state over the city, then over each cell of ``ua_cells``.
        n_kept: How many rows of the two are filled.
        units_out: Four slots per firing unit (written): the units that fired,
            then the Ukrainian units destroyed, then the carriers shot down
            (positions among the firing units), from the start.
        at_city_out: A slot per firing unit (written): per unit that fired,
            whether at the city.
        city_landed: Per weapon, zeros (written: salvoes landing on the city).

    The outputs are written to arrays the caller allocates: an array made here
    and handed to Python costs more than the caller's allocation.

    Returns:
        Whether a kept cover belonged to the batteries' state (if not, nothing was
        done and the rest is zero); how many units fired; how many Ukrainian
        units were destroyed; how many carriers were shot down; units that fired
        at the city; the harm to the city; units hit; and Ukrainian engagements made.
    """
    n = len(rf)
    n_w = len(stock)
    none_i = np.zeros(0, dtype=np.int64)
    sync_reach(
        reach_moved, rf_fx, rf_fd, rf_weapon, w_range, reach_x, reach_depth, rf_reach,
        rf_city_in_range, rf_n_cand, rf_has_cand,
    )  # fmt: skip
    # The cover is a function of the batteries' state: use the kept one of this state, or
    # hand back if none is kept.
    row = kept_row(ad_units, strength, alive, ad_interceptors, kept_states, n_kept)
    if row < 0:
        return False, 0, 0, 0, 0, 0.0, 0, 0
    cover = kept_covers[row]

    # Who wants to fire, and at what.
    at_city = np.zeros(n, dtype=np.bool_)
    firing = np.zeros(n, dtype=np.bool_)
    n_req = 0
    for k in range(n):
        i = rf[k]
        recent = (step - last_struck[i]) * step_days <= memory_days
        tempo = airbase_tempo if rf_airbase[k] and recent else 1.0
        p = rf_prob[k] * strength[i] * fire_multiplier * tempo
        if p > 1.0:  # np.minimum(p, 1.0)
            p = 1.0
        wants = alive[i] and u[0, k] < p
        at_city[k] = wants and rf_city_in_range[k] and u[1, k] < rf_city_share[k]
        firing[k] = at_city[k] or (wants and rf_has_cand[k])
        if firing[k]:
            n_req += 1

    # Ammunition, request by request in unit order.
    req = np.empty(n_req, dtype=np.int64)
    q = 0
    for k in range(n):
        if firing[k]:
            req[q] = k
            q += 1
    w_req = np.empty(n_req, dtype=np.int64)
    a_req = np.empty(n_req)
    for q in range(n_req):
        w_req[q] = rf_weapon[req[q]]
        a_req[q] = float(rf_salvoes[req[q]])
    granted = ration(w_req, a_req, stock)
    taken = np.zeros(n_w)
    n_fired = 0
    for q in range(n_req):
        k = req[q]
        if granted[q]:
            taken[w_req[q]] += a_req[q]
            n_fired += 1
        else:
            firing[k] = False
            at_city[k] = False
    for w in range(n_w):
        stock[w] -= taken[w]
    fired = units_out[:n_fired]
    fired_city = at_city_out[:n_fired]
    q = 0
    for k in range(n):
        if firing[k]:
            fired[q] = rf[k]
            fired_city[q] = at_city[k]
            q += 1
    for q in range(n_fired):
        last_fired[fired[q]] = step
    for k in range(n):  # every firing unit: those that did not fire did not fire at the city
        fired_at_city[rf[k]] = at_city[k]

    # The live batteries, as the engagements see them (no battery is hit before the last).
    live = np.empty(len(ad_units), dtype=np.bool_)
    for b in range(len(ad_units)):
        live[b] = alive[ad_units[b]]
    used = 0

    # Fire on the city: one engagement per unit whose salvoes can be intercepted.
    n_city = 0
    for k in range(n):
        if at_city[k]:
            n_city += 1
            w = rf_weapon[k]
            p_int = w_intercept[w] * cover[0]
            if p_int > 0.0:
                used += engage(city_cell, live, ad_interceptors, ad_source, ad_ptr)
            city_landed[w] += float(rf_salvoes[k] * (1 if u[2, k] >= p_int else 0))

    # Fire on the positions: a cell in reach, a unit in it, found or not, intercepted or not.
    n_shoot = 0
    for k in range(n):
        if firing[k] and not at_city[k]:
            n_shoot += 1
    hit_unit = np.empty(n_shoot, dtype=np.int64)
    hit_damage = np.empty(n_shoot)
    n_hits = 0
    for k in range(n):
        if not firing[k] or at_city[k]:
            continue
        pick = int(u[3, k] * rf_n_cand[k])
        col = 0  # the first place the running count passes the pick (argmax: 0 if none)
        seen = 0
        for c in range(rf_reach.shape[1]):
            if rf_reach[k, c]:
                seen += 1
                if seen > pick:
                    col = c
                    break
        cell = ua_cells[col]
        lo = ua_cell_ptr[cell]
        size = ua_cell_ptr[cell + 1] - lo
        t = ua_cell_members[lo + int(u[4, k] * size)]
        w = rf_weapon[k]
        fired_before = 1.0 if last_fired[t] == step - 1 else 0.0
        found_p = 1.0 - (1.0 - detect_prob) * (
            1.0 - after_fire_prob * fired_before * (1.0 - scoot_prob[t])
        )
        found = u[6, k] < found_p
        p_int = w_intercept[w] * cover[col + 1]
        if found and p_int > 0.0 and alive[t]:
            used += engage(cell, live, ad_interceptors, ad_source, ad_ptr)
        if alive[t] and found and u[5, k] >= p_int:
            hit_unit[n_hits] = t
            hit_damage[n_hits] = effect[w, cls[t]] * float(rf_salvoes[k])
            n_hits += 1
    front_losses = apply_damage(
        hit_unit[:n_hits], hit_damage[:n_hits], strength, alive, status, destroyed_now,
        destroyed_below, lost,
    )  # fmt: skip

    # Carriers at their release points under Ukrainian long-range air defence.
    n_car = 0
    for k in range(n):
        if firing[k] and rf_air[k]:
            n_car += 1
    carriers = np.empty(n_car, dtype=np.int64)
    q = 0
    for k in range(n):
        if firing[k] and rf_air[k]:
            carriers[q] = k
            q += 1
    downed, used_air = _carriers_downed(
        carriers, u[7], rf_salvoes, rf_fx, rf_fd, ad_units, ad_kill, ad_range,
        ad_interceptors, x, depth, strength, alive,
    )  # fmt: skip
    used += used_air
    if len(downed):
        carrier_units = np.empty(len(downed), dtype=np.int64)
        for q in range(len(downed)):
            carrier_units[q] = rf[downed[q]]
        carrier_losses = apply_damage(
            carrier_units, np.full(len(downed), carrier_loss), strength, alive, status,
            destroyed_now, destroyed_below, lost,
        )  # fmt: skip
    else:
        carrier_losses = none_i
    n_ua = 0
    for i in front_losses:
        if side[i] == side_ukraine:
            n_ua += 1
    for i in carrier_losses:
        if side[i] == side_ukraine:
            n_ua += 1
    ua_losses = np.empty(n_ua, dtype=np.int64)
    q = 0
    for i in front_losses:
        if side[i] == side_ukraine:
            ua_losses[q] = i
            q += 1
    for i in carrier_losses:
        if side[i] == side_ukraine:
            ua_losses[q] = i
            q += 1
    harm = np.empty(n_w)
    for w in range(n_w):
        harm[w] = city_landed[w] * w_harm[w]
    city_harm = pairwise_sum(harm)
    units_out[n_fired : n_fired + n_ua] = ua_losses
    units_out[n_fired + n_ua : n_fired + n_ua + len(downed)] = downed
    return True, n_fired, n_ua, len(downed), n_city, city_harm, n_hits, used
