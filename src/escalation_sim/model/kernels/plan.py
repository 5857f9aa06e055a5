"""Compiled engagement planning: the work of :func:`~escalation_sim.model.engagement.plan_strikes`.

Planning a step is two kernels with numpy between them:

* :func:`plan_options` puts the candidates in priority order, finds where the
  launchers in range of their cells lie per launch option (the force layer's
  launch pairs, kept in (cell, option) order since the build), screens every
  (candidate, option) for feasibility and lays the feasible ones out as the rule
  engine's batch;
* numpy reads the Russian air cover at the candidates' cells
  (``ForceLayer.russian_air_cover_at``: an ``expm1``, whose rounding is
  numpy's own);
* :func:`decide_and_assign` decides the batch by the rule engine's kernel
  (:func:`escalation_sim.model.kernels.rules.decide_batch`, on the tables
  ``RuleEngine.kernel_tables`` hands over, the conditions evaluated in Python),
  then :func:`assign_strikes` weighs the options and serves the candidates in
  order with their best option, overall and among the allowed ones, spending
  launchers' shots, weapons' stocks and families' capacity, and records the
  withheld opportunities.

They mirror the numpy code of ``plan_strikes`` step for step: ``lexsort`` of
(candidate, -priority) is a stable merge sort on one combined key; ``np.unique``
and ``searchsorted`` of the candidates' cells are a stable sort of the cells and
one walk through it; the stable ``argsort`` of the (cell, option) keys of the launch pairs
is the force layer's own order (sorted so at the build, the pairs' order kept within a
key), so a key's pairs are a range of its arrays, read in place; the count of launchers
with a shot left per key, which numpy keeps up to date as shots are spent, is here
whether the key's first launcher with a shot left exists, found by a pointer that only
moves forward, since within a step shots are only spent; ``nonzero`` of the
feasibility mask is a row-major walk; ``argmax`` is a first-maximum scan
(a NaN, were there one, wins, as in numpy). An option's value is the same
products and quotient of the same operands in the same order, so it rounds
the same.

Where numpy re-ranks the candidates still waiting whenever a launcher, a
weapon's stock or a family's capacity runs dry, :func:`assign_strikes` ranks
each candidate's options when its turn comes. The two agree: what makes an
option usable (launchers in range with a shot, stock, capacity) changes only
at the moments numpy re-ranks, and the values do not change within a step.

Returning an array from a kernel costs about half a microsecond (Python has to
wrap it), so the planning state handed from one kernel to the other travels
as one integer array (:func:`_state_views` lays it out) and the batch's
columns as the rows of three arrays.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model.kernels import kernel
from escalation_sim.model.kernels.rules import decide_batch

#: Sizes at the head of the planning state: candidates, distinct cells, units.
_HEAD = 3


@kernel
def _stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``: a bottom-up merge sort, equal keys in their order.

    Written out rather than numba's ``argsort``, ``sort`` and ``searchsorted``,
    whose general implementations take seconds to compile.
    """
    n = len(keys)
    idx = np.empty(n, dtype=np.int64)
    for i in range(n):
        idx[i] = i
    tmp = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j = lo, mid
            for k in range(lo, hi):
                if j >= hi or (i < mid and keys[idx[i]] <= keys[idx[j]]):
                    tmp[k] = idx[i]
                    i += 1
                else:
                    tmp[k] = idx[j]
                    j += 1
        idx, tmp = tmp, idx
        width *= 2
    return idx


@kernel
def _state_views(state: np.ndarray, n_opt: int):
    """The planning state's parts, as views into ``state`` (the layout both kernels share).

    ``state`` starts with the sizes (candidates, distinct cells, units), then:
    ``cand`` (candidates in priority order), ``local`` (each one's place among the
    distinct cells), ``in_russia`` (1: on Russian territory), ``slot`` (per
    candidate and option, row by row, its place in the rule engine's batch, -1: not
    feasible), ``first`` and ``end`` (per (cell place, option) key, where in the
    force layer's launch pairs its first launcher with a shot left may be, and where
    its pairs end), ``shots_left`` (per unit).
    """
    n_c, n_local, n_units = state[0], state[1], state[2]
    n_keys = n_local * n_opt
    sizes = (n_c, n_c, n_c, n_c * n_opt, n_keys, n_keys, n_units)
    ends = np.empty(len(sizes) + 1, dtype=np.int64)
    ends[0] = _HEAD
    for i in range(len(sizes)):
        ends[i + 1] = ends[i] + sizes[i]
    return (
        state[ends[0] : ends[1]],
        state[ends[1] : ends[2]],
        state[ends[2] : ends[3]],
        state[ends[3] : ends[4]],
        state[ends[4] : ends[5]],
        state[ends[5] : ends[6]],
        state[ends[6] : ends[7]],
    )


@kernel
def _has_shot(
    key: int, first: np.ndarray, end: np.ndarray, lp_src: np.ndarray, shots_left: np.ndarray
) -> bool:
    """Whether a launcher of ``key`` has a shot left; ``first[key]`` moved on to the first.

    Shots are only spent within a step, so the launchers passed over never have
    one again and the pointer only moves forward.
    """
    p = first[key]
    while p < end[key] and shots_left[lp_src[p]] <= 0:
        p += 1
    first[key] = p
    return p < end[key]


@kernel
def plan_options(
    candidates: np.ndarray,
    preparing: np.ndarray,
    step: int,
    step_days: float,
    priority_window_hours: float,
    never: int,
    last_seen_firing: np.ndarray,
    fired_at_city: np.ndarray,
    cell: np.ndarray,
    lg_ptr: np.ndarray,
    lp_src: np.ndarray,
    alive: np.ndarray,
    unit_shots: np.ndarray,
    opt_weapon: np.ndarray,
    opt_family: np.ndarray,
    opt_effect: np.ndarray,
    cls: np.ndarray,
    depth: np.ndarray,
    zone_bits: np.ndarray,
    military: np.ndarray,
    stock: np.ndarray,
    fam_left: np.ndarray,
    engine_weapon: np.ndarray,
):
    """Candidates in priority order, their launchers in range, and every feasible option.

    Args:
        candidates: Unit indices of the candidate targets.
        preparing: Per candidate, evidence of preparation to attack.
        step: Current step.
        step_days: Days per step.
        priority_window_hours: Targets seen firing within this window go first.
        never: The "never seen firing" step marker.
        last_seen_firing: Per unit, the step it was last seen firing.
        fired_at_city: Per unit, whether it was seen firing on the city.
        cell: Per unit, its grid cell.
        lg_ptr: Launch pairs' start per (cell, option), ``cell * n_opt + option``
            (``ForceLayer._lg_ptr``).
        lp_src: Launcher of each launch pair, sorted by cell and option.
        alive: Per unit, alive.
        unit_shots: Per unit, shots per step.
        opt_weapon: Weapon of each option.
        opt_family: Weapon family of each option.
        opt_effect: Effect of each option's weapon per target class (O, K).
        cls: Per unit, target class.
        depth: Per unit, depth into Russia (km).
        zone_bits: Per unit, the zones it lies in as bits.
        military: Per unit, a military target used to attack Ukraine.
        stock: Salvoes on hand per weapon.
        fam_left: Strikes left this step per weapon family.
        engine_weapon: The rule engine's index of each weapon.

    Returns:
        The planning state (laid out as :func:`_state_views` reads it), the
        candidates' cells in priority order, and the rule engine's batch as
        rows: integers (weapon, target class, zone bits), floats (depth, hours
        since seen firing, ``inf``: never) and booleans (preparing, attacks
        Ukraine).
    """
    n_c = len(candidates)
    n_opt = len(opt_weapon)

    # Priority order: lexsort((candidates, -priority)), a stable sort on one combined key.
    span = 1
    for i in range(n_c):
        span = max(span, candidates[i] + 1)
    sort_key = np.empty(n_c, dtype=np.int64)
    for i in range(n_c):
        t = candidates[i]
        seen_hours = (step - last_seen_firing[t]) * 24.0 * step_days
        priority = 2 * np.int64(fired_at_city[t]) + np.int64(seen_hours <= priority_window_hours)
        sort_key[i] = (3 - priority) * span + t
    order = _stable_argsort(sort_key)

    # Distinct cells in order (np.unique) and each candidate's place among them (searchsorted).
    cells = np.empty(n_c, dtype=np.int64)
    for i in range(n_c):
        cells[i] = cell[candidates[order[i]]]
    by_cell = _stable_argsort(cells)
    ucells = np.empty(n_c, dtype=np.int64)
    place = np.empty(n_c, dtype=np.int64)
    n_local = 0
    for i in range(n_c):
        c = cells[by_cell[i]]
        if n_local == 0 or c != ucells[n_local - 1]:
            ucells[n_local] = c
            n_local += 1
        place[by_cell[i]] = n_local - 1
    ucells = ucells[:n_local]

    n_keys = n_local * n_opt
    size = _HEAD + 3 * n_c + n_c * n_opt + 2 * n_keys + len(alive)
    state = np.empty(size, dtype=np.int64)
    state[0], state[1], state[2] = n_c, n_local, len(alive)
    cand, local, in_russia, slot, first, end, shots_left = _state_views(state, n_opt)
    for i in range(n_c):
        cand[i] = candidates[order[i]]
        in_russia[i] = depth[cand[i]] > 0
        local[i] = place[i]
    for u in range(len(alive)):
        shots_left[u] = unit_shots[u] * np.int64(alive[u])
    # Each key's launch pairs: a range of the force layer's, in their order.
    for i in range(n_local):
        for o in range(n_opt):
            g = ucells[i] * n_opt + o
            first[i * n_opt + o] = lg_ptr[g]
            end[i * n_opt + o] = lg_ptr[g + 1]

    # Feasibility of every (candidate, option), the feasible ones numbered row by row.
    n_b = 0
    for c in range(n_c):
        for o in range(n_opt):
            feasible = (
                _has_shot(local[c] * n_opt + o, first, end, lp_src, shots_left)
                and opt_effect[o, cls[cand[c]]] > 0
                and stock[opt_weapon[o]] >= 1.0
                and fam_left[opt_family[o]] >= 1.0
            )
            slot[c * n_opt + o] = n_b if feasible else -1
            n_b += feasible

    b_int = np.empty((3, n_b), dtype=np.int64)
    b_float = np.empty((2, n_b))
    b_bool = np.empty((2, n_b), dtype=np.bool_)
    for c in range(n_c):
        t = cand[c]
        last_seen = last_seen_firing[t]
        hours = (step - last_seen) * 24.0 * step_days if last_seen > never else np.inf
        for o in range(n_opt):
            b = slot[c * n_opt + o]
            if b < 0:
                continue
            b_int[0, b] = engine_weapon[opt_weapon[o]]
            b_int[1, b] = cls[t]
            b_int[2, b] = zone_bits[t]
            b_float[0, b] = depth[t]
            b_float[1, b] = hours
            b_bool[0, b] = preparing[order[c]]
            b_bool[1, b] = military[t]
    return state, cells, b_int, b_float, b_bool


@kernel
def _best(
    row: np.ndarray,
    usable: np.ndarray,
) -> tuple[int, bool]:
    """``argmax`` of the scores numpy builds (``row`` where usable, ``-inf`` elsewhere), and whether any.

    The first maximum; a NaN would win, as it does in ``argmax``.
    """
    best = 0
    top = -np.inf
    for o in range(len(row)):
        v = row[o] if usable[o] else -np.inf
        if o == 0:
            top = v
        elif np.isnan(v):
            return o, False
        elif v > top:
            best, top = o, v
        if np.isnan(top):
            return best, False
    return best, top > -np.inf


@kernel
def _first_columns(rows: np.ndarray, n: int) -> np.ndarray:
    """A fresh array of the first ``n`` columns of ``rows``."""
    out = np.empty((rows.shape[0], n), dtype=rows.dtype)
    for r in range(rows.shape[0]):
        for i in range(n):
            out[r, i] = rows[r, i]
    return out


@kernel
def assign_strikes(
    state: np.ndarray,
    lp_src: np.ndarray,
    decided: np.ndarray,
    allows: np.ndarray,
    cover: np.ndarray,
    stock: np.ndarray,
    fam_left: np.ndarray,
    opt_weapon: np.ndarray,
    opt_family: np.ndarray,
    opt_effect: np.ndarray,
    opt_intercept: np.ndarray,
    cls: np.ndarray,
    stock_reserve: float,
    max_strikes: int,
):
    """The greedy assignment of ``plan_strikes``, from the rule engine's verdicts.

    Args:
        state: The planning state from :func:`plan_options` (its shots and
            pointers are spent in place).
        lp_src: The force layer's launch pairs' launchers (``ForceLayer._lp_src``).
        decided: The engine's deciding entry per batch slot.
        allows: Per engine entry, whether it allows the strike.
        cover: Russian air cover at each candidate's cell, in priority order.
        stock: Salvoes on hand per weapon (not modified).
        fam_left: Strikes left this step per weapon family (spent in place).
        opt_weapon: Weapon of each option.
        opt_family: Weapon family of each option.
        opt_effect: Effect of each option's weapon per target class (O, K).
        opt_intercept: Interception chance of each option's weapon.
        cls: Per unit, target class.
        stock_reserve: Reserve in an option's stock weighting, stock / (stock + reserve).
        max_strikes: Ceiling on the step's strikes.

    Returns:
        The strikes as rows (target, option, deciding entry, launcher, the
        target's place among the candidates in priority order) and the
        withheld opportunities as rows (target, best option, deciding entry,
        option used instead, -1: none).
    """
    n_opt = len(opt_weapon)
    cand, local, in_russia, slot, first, end, shots_left = _state_views(state, n_opt)
    n_c = len(cand)
    # Each option's value for each candidate, as numpy weighs it (on the stocks at the start).
    value = np.empty((n_c, n_opt))
    for c in range(n_c):
        for o in range(n_opt):
            effect = opt_effect[o, cls[cand[c]]]
            p_int = cover[c] * opt_intercept[o]
            stock_w = stock[opt_weapon[o]]
            value[c, o] = effect * (1.0 - p_int) * (stock_w / (stock_w + stock_reserve))
    stock_left = stock.copy()
    cap = min(max(max_strikes, 0), n_c)
    strikes = np.empty((5, cap), dtype=np.int64)
    withheld = np.empty((4, n_c), dtype=np.int64)
    usable = np.empty(n_opt, dtype=np.bool_)
    usable_ok = np.empty(n_opt, dtype=np.bool_)
    n_out = 0
    n_wh = 0
    for c in range(n_c):
        if n_out >= max_strikes:
            break
        for o in range(n_opt):
            b = slot[c * n_opt + o]
            usable[o] = (
                b >= 0
                and _has_shot(local[c] * n_opt + o, first, end, lp_src, shots_left)
                and stock_left[opt_weapon[o]] >= 1.0
                and fam_left[opt_family[o]] >= 1.0
            )
            usable_ok[o] = usable[o] and allows[decided[b]]
        best_any, has_any = _best(value[c], usable)
        if not has_any:
            continue
        best_ok, has_ok = _best(value[c], usable_ok)
        if not usable_ok[best_any] and in_russia[c]:
            withheld[0, n_wh] = cand[c]
            withheld[1, n_wh] = best_any
            withheld[2, n_wh] = decided[slot[c * n_opt + best_any]]
            withheld[3, n_wh] = best_ok if has_ok else -1
            n_wh += 1
        if not has_ok:
            continue
        o = best_ok
        # The key's first launcher with a shot left (usable: there is one).
        launcher = lp_src[first[local[c] * n_opt + o]]
        strikes[0, n_out] = cand[c]
        strikes[1, n_out] = o
        strikes[2, n_out] = decided[slot[c * n_opt + o]]
        strikes[3, n_out] = launcher
        strikes[4, n_out] = c
        n_out += 1
        shots_left[launcher] -= 1  # its last shot: the keys' pointers pass it when next read
        stock_left[opt_weapon[o]] -= 1.0
        fam_left[opt_family[o]] -= 1.0
    return _first_columns(strikes, n_out), _first_columns(withheld, n_wh)


@kernel
def decide_and_assign(
    state: np.ndarray,
    lp_src: np.ndarray,
    b_int: np.ndarray,
    b_float: np.ndarray,
    b_bool: np.ndarray,
    scope: np.ndarray,
    n_classes: int,
    rule_float: np.ndarray,
    rule_int: np.ndarray,
    active: np.ndarray,
    fallback: np.ndarray,
    allows: np.ndarray,
    cover: np.ndarray,
    stock: np.ndarray,
    fam_left: np.ndarray,
    opt_weapon: np.ndarray,
    opt_family: np.ndarray,
    opt_effect: np.ndarray,
    opt_intercept: np.ndarray,
    cls: np.ndarray,
    stock_reserve: float,
    max_strikes: int,
):
    """The rule engine's verdicts on the batch (:func:`.rules.decide_batch`), then :func:`assign_strikes`.

    One call where there were three (``RuleEngine.decide``, its kernel, the
    assignment): the verdicts never travel through Python. The rule tables are
    ``RuleEngine.kernel_tables``; the batch is :func:`plan_options`' rows.
    """
    decided = decide_batch(
        b_int[0],
        b_int[1],
        b_float[0],
        b_int[2],
        b_float[1],
        b_bool[0],
        b_bool[1],
        scope,
        n_classes,
        rule_float,
        rule_int,
        active,
        fallback,
    )
    return assign_strikes(
        state,
        lp_src,
        decided,
        allows,
        cover,
        stock,
        fam_left,
        opt_weapon,
        opt_family,
        opt_effect,
        opt_intercept,
        cls,
        stock_reserve,
        max_strikes,
    )
