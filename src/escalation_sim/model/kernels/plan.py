"""Compiled engagement planning: the work of :func:`~escalation_sim.model.engagement.plan_strikes`.

Planning a step is two kernels with the rule engine's verdicts between them:

* :func:`plan_options` puts the candidates in priority order, finds the
  launchers in range of their cells per launch option (:func:`launch_pairs`),
  weighs and screens every (candidate, option) and lays the feasible ones out
  as the rule engine's batch;
* ``RuleEngine.decide`` (numpy, unchanged) decides the batch;
* :func:`assign_strikes` serves the candidates in order with their best
  option, overall and among the allowed ones, spending launchers' shots,
  weapons' stocks and families' capacity, and records withheld opportunities.

They mirror the numpy code of ``plan_strikes`` step for step: ``lexsort`` of
(candidate, -priority) is a stable sort on one combined key; ``np.unique`` and
``searchsorted`` of the candidates' cells are a sort and a binary search; the
stable ``argsort`` of the (cell, option) keys of the launch pairs is a
counting sort that keeps the pairs' order within a key; ``nonzero`` of the
feasibility mask is a row-major walk; ``argmax`` is a first-maximum scan
(a NaN, were there one, wins, as in numpy). The values are products and
quotients of the same operands in the same order, so they round the same;
the one transcendental, the Russian air cover at each candidate's cell
(``expm1``), is computed by numpy and passed in.

Where numpy re-ranks the candidates still waiting whenever a launcher, a
weapon's stock or a family's capacity runs dry, :func:`assign_strikes` ranks
each candidate's options when its turn comes. The two agree: what makes an
option usable (launchers in range with a shot, stock, capacity) changes only
at the moments numpy re-ranks.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model.kernels import kernel

#: :func:`plan_options` returns the planning state :func:`assign_strikes` takes (its first
#: ``N_STATE`` entries, in that function's order), then the rule engine's batch columns.
N_STATE = 10


@kernel
def launch_pairs(
    cells: np.ndarray,
    lp_ptr: np.ndarray,
    lp_src: np.ndarray,
    lp_opt: np.ndarray,
    alive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alive launchers within range of ``cells``: (launcher, option, position in ``cells``).

    Mirrors ``ForceLayer.launch_pairs``: the pairs of each cell in the order
    they are stored (sorted by cell at set-up), cell after cell, dead launchers
    left out.
    """
    total = 0
    for i in range(len(cells)):
        total += lp_ptr[cells[i] + 1] - lp_ptr[cells[i]]
    src = np.empty(total, dtype=np.int64)
    opt = np.empty(total, dtype=np.int64)
    pos = np.empty(total, dtype=np.int64)
    n = 0
    for i in range(len(cells)):
        for p in range(lp_ptr[cells[i]], lp_ptr[cells[i] + 1]):
            if alive[lp_src[p]]:
                src[n] = lp_src[p]
                opt[n] = lp_opt[p]
                pos[n] = i
                n += 1
    return src[:n], opt[:n], pos[:n]


@kernel
def plan_options(
    candidates: np.ndarray,
    preparing: np.ndarray,
    step: int,
    step_days: float,
    priority_window_hours: float,
    never: int,
    stock_reserve: float,
    last_seen_firing: np.ndarray,
    fired_at_city: np.ndarray,
    cell: np.ndarray,
    cover: np.ndarray,
    lp_ptr: np.ndarray,
    lp_src: np.ndarray,
    lp_opt: np.ndarray,
    alive: np.ndarray,
    unit_shots: np.ndarray,
    opt_weapon: np.ndarray,
    opt_family: np.ndarray,
    opt_effect: np.ndarray,
    opt_intercept: np.ndarray,
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
        candidates: Unit indices of the candidate targets (any order).
        preparing: Per candidate, evidence of preparation to attack.
        step: Current step.
        step_days: Days per step.
        priority_window_hours: Targets seen firing within this window go first.
        never: The "never seen firing" step marker.
        stock_reserve: Reserve in an option's stock weighting, stock / (stock + reserve).
        last_seen_firing: Per unit, the step it was last seen firing.
        fired_at_city: Per unit, whether it was seen firing on the city.
        cell: Per unit, its grid cell.
        cover: Per candidate (in the order given), Russian air cover at its cell.
        lp_ptr: Launch pairs' start per cell (``ForceLayer._lp_ptr``).
        lp_src: Launcher of each launch pair, sorted by cell.
        lp_opt: Option of each launch pair, sorted by cell.
        alive: Per unit, alive.
        unit_shots: Per unit, shots per step.
        opt_weapon: Weapon of each option.
        opt_family: Weapon family of each option.
        opt_effect: Effect of each option's weapon per target class (O, K).
        opt_intercept: Interception chance of each option's weapon.
        cls: Per unit, target class.
        depth: Per unit, depth into Russia (km).
        zone_bits: Per unit, the zones it lies in as bits.
        military: Per unit, a military target used to attack Ukraine.
        stock: Salvoes on hand per weapon.
        fam_left: Strikes left this step per weapon family.
        engine_weapon: The rule engine's index of each weapon.

    Returns:
        ``cand`` (candidates in priority order), ``local`` (each one's place
        among the distinct cells), ``in_russia``, the launch pairs grouped by
        (cell place, option) key (``pair_l``, ``pair_key``, ``key_ptr``),
        ``shots_left`` (set for the launchers in those pairs only),
        ``counts`` (launchers with a shot per key), ``value`` and ``slot``
        (C, O: the option's place in the batch, -1 where it is not feasible),
        then the batch's columns: weapon, target class, depth, zone bits,
        hours since seen firing, preparing, attacks Ukraine.
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
    order = np.argsort(sort_key, kind="mergesort")
    cand = candidates[order]
    prep = preparing[order]
    cov = cover[order]

    # Distinct cells in order, and each candidate's place among them.
    cells = np.empty(n_c, dtype=np.int64)
    for i in range(n_c):
        cells[i] = cell[cand[i]]
    sorted_cells = np.sort(cells)
    n_local = 0
    ucells = np.empty(n_c, dtype=np.int64)
    for i in range(n_c):
        if n_local == 0 or sorted_cells[i] != ucells[n_local - 1]:
            ucells[n_local] = sorted_cells[i]
            n_local += 1
    ucells = ucells[:n_local]
    local = np.searchsorted(ucells, cells)

    # Launch pairs grouped by (cell place, option), pairs kept in order within a key.
    src, opt, pos = launch_pairs(ucells, lp_ptr, lp_src, lp_opt, alive)
    n_keys = n_local * n_opt
    key_ptr = np.zeros(n_keys + 1, dtype=np.int64)
    for p in range(len(src)):
        key_ptr[pos[p] * n_opt + opt[p] + 1] += 1
    for k in range(n_keys):
        key_ptr[k + 1] += key_ptr[k]
    fill = key_ptr[:-1].copy()
    pair_l = np.empty(len(src), dtype=np.int64)
    pair_key = np.empty(len(src), dtype=np.int64)
    shots_left = np.empty(len(alive), dtype=np.int64)
    counts = np.zeros(n_keys, dtype=np.int64)
    for p in range(len(src)):
        key = pos[p] * n_opt + opt[p]
        pair_l[fill[key]] = src[p]
        pair_key[fill[key]] = key
        fill[key] += 1
        shots = unit_shots[src[p]] * np.int64(alive[src[p]])
        shots_left[src[p]] = shots
        if shots > 0:
            counts[key] += 1

    # Value and feasibility of every (candidate, option), the feasible ones numbered row by row.
    value = np.empty((n_c, n_opt))
    slot = np.full((n_c, n_opt), -1, dtype=np.int64)
    in_russia = np.empty(n_c, dtype=np.bool_)
    n_b = 0
    for c in range(n_c):
        t = cand[c]
        in_russia[c] = depth[t] > 0
        for o in range(n_opt):
            effect = opt_effect[o, cls[t]]
            p_int = cov[c] * opt_intercept[o]
            stock_w = stock[opt_weapon[o]]
            value[c, o] = effect * (1.0 - p_int) * (stock_w / (stock_w + stock_reserve))
            if (
                counts[local[c] * n_opt + o] > 0
                and effect > 0
                and stock_w >= 1.0
                and fam_left[opt_family[o]] >= 1.0
            ):
                slot[c, o] = n_b
                n_b += 1

    b_weapon = np.empty(n_b, dtype=np.int64)
    b_class = np.empty(n_b, dtype=np.int64)
    b_depth = np.empty(n_b)
    b_zone = np.empty(n_b, dtype=np.int64)
    b_hours = np.empty(n_b)
    b_prep = np.empty(n_b, dtype=np.bool_)
    b_military = np.empty(n_b, dtype=np.bool_)
    for c in range(n_c):
        t = cand[c]
        last_seen = last_seen_firing[t]
        hours = (step - last_seen) * 24.0 * step_days if last_seen > never else np.inf
        for o in range(n_opt):
            b = slot[c, o]
            if b < 0:
                continue
            b_weapon[b] = engine_weapon[opt_weapon[o]]
            b_class[b] = cls[t]
            b_depth[b] = depth[t]
            b_zone[b] = zone_bits[t]
            b_hours[b] = hours
            b_prep[b] = prep[c]
            b_military[b] = military[t]
    return (
        cand,
        local,
        in_russia,
        pair_l,
        pair_key,
        key_ptr,
        shots_left,
        counts,
        value,
        slot,
        b_weapon,
        b_class,
        b_depth,
        b_zone,
        b_hours,
        b_prep,
        b_military,
    )


@kernel
def _best(
    c: int,
    value: np.ndarray,
    slot: np.ndarray,
    ok: np.ndarray,
    only_allowed: bool,
    usable: np.ndarray,
) -> tuple[int, bool]:
    """``argmax`` of candidate ``c``'s usable scores (overall or allowed only), and whether any.

    The scores numpy builds (the value where usable, ``-inf`` elsewhere) scanned
    for their first maximum; a NaN would win as it does in ``argmax``.
    """
    best = 0
    top = -np.inf
    for o in range(value.shape[1]):
        use = usable[o] and (ok[slot[c, o]] or not only_allowed)
        v = value[c, o] if use else -np.inf
        if o == 0:
            top = v
        elif np.isnan(v):
            best, top = o, v
            break
        elif v > top:
            best, top = o, v
        if np.isnan(top):
            break
    return best, top > -np.inf


@kernel
def assign_strikes(
    decided: np.ndarray,
    allows: np.ndarray,
    cand: np.ndarray,
    local: np.ndarray,
    in_russia: np.ndarray,
    pair_l: np.ndarray,
    pair_key: np.ndarray,
    key_ptr: np.ndarray,
    shots_left: np.ndarray,
    counts: np.ndarray,
    value: np.ndarray,
    slot: np.ndarray,
    stock: np.ndarray,
    fam_left: np.ndarray,
    opt_weapon: np.ndarray,
    opt_family: np.ndarray,
    max_strikes: int,
):
    """The greedy assignment of ``plan_strikes``, from the rule engine's verdicts.

    Args:
        decided: The engine's deciding entry per batch slot.
        allows: Per engine entry, whether it allows the strike.
        cand: Candidates in priority order (from :func:`plan_options`, as the rest).
        local: Each candidate's place among the distinct cells.
        in_russia: Per candidate, on Russian territory.
        pair_l: Launcher of each launch pair, grouped by key.
        pair_key: (cell place, option) key of each pair.
        key_ptr: Where each key's pairs start in ``pair_l``.
        shots_left: Shots left per launcher (spent in place).
        counts: Launchers with a shot left per key (kept up to date in place).
        value: Value of each (candidate, option).
        slot: Place of each (candidate, option) in the batch, -1: not feasible.
        stock: Salvoes on hand per weapon (not modified).
        fam_left: Strikes left this step per weapon family (spent in place).
        opt_weapon: Weapon of each option.
        opt_family: Weapon family of each option.
        max_strikes: Ceiling on the step's strikes.

    Returns:
        The fields of a ``StrikePlan`` in its order: the strikes' target, option
        and deciding entry; the withheld opportunities' target, best option,
        deciding entry and option used instead (-1: none); the strikes' launcher.
    """
    n_c, n_opt = slot.shape
    stock_left = stock.copy()
    ok = np.empty(len(decided), dtype=np.bool_)
    for b in range(len(decided)):
        ok[b] = allows[decided[b]]
    cap = min(max(max_strikes, 0), n_c)
    out_t = np.empty(cap, dtype=np.int64)
    out_o = np.empty(cap, dtype=np.int64)
    out_r = np.empty(cap, dtype=np.int64)
    out_l = np.empty(cap, dtype=np.int64)
    wh_t = np.empty(n_c, dtype=np.int64)
    wh_o = np.empty(n_c, dtype=np.int64)
    wh_r = np.empty(n_c, dtype=np.int64)
    wh_s = np.empty(n_c, dtype=np.int64)
    usable = np.empty(n_opt, dtype=np.bool_)
    n_out = 0
    n_wh = 0
    for c in range(n_c):
        if n_out >= max_strikes:
            break
        for o in range(n_opt):
            usable[o] = (
                slot[c, o] >= 0
                and counts[local[c] * n_opt + o] > 0
                and stock_left[opt_weapon[o]] >= 1.0
                and fam_left[opt_family[o]] >= 1.0
            )
        best_any, has_any = _best(c, value, slot, ok, False, usable)
        if not has_any:
            continue
        best_ok, has_ok = _best(c, value, slot, ok, True, usable)
        if not ok[slot[c, best_any]] and in_russia[c]:
            wh_t[n_wh] = cand[c]
            wh_o[n_wh] = best_any
            wh_r[n_wh] = decided[slot[c, best_any]]
            wh_s[n_wh] = best_ok if has_ok else -1
            n_wh += 1
        if not has_ok:
            continue
        o = best_ok
        key = local[c] * n_opt + o
        launcher = -1
        for p in range(key_ptr[key], key_ptr[key + 1]):
            if shots_left[pair_l[p]] > 0:
                launcher = pair_l[p]
                break
        out_t[n_out] = cand[c]
        out_o[n_out] = o
        out_r[n_out] = decided[slot[c, o]]
        out_l[n_out] = launcher
        n_out += 1
        shots_left[launcher] -= 1
        if shots_left[launcher] == 0:
            for p in range(len(pair_l)):
                if pair_l[p] == launcher:
                    counts[pair_key[p]] -= 1
        stock_left[opt_weapon[o]] -= 1.0
        fam_left[opt_family[o]] -= 1.0
    return (
        out_t[:n_out],
        out_o[:n_out],
        out_r[:n_out],
        wh_t[:n_wh],
        wh_o[:n_wh],
        wh_r[:n_wh],
        wh_s[:n_wh],
        out_l[:n_out],
    )
