"""Prototype (a): engagement planning as two numba kernels around the batch rule engine.

A drop-in for ``escalation_sim.model.engagement.plan_strikes`` with the same
result, bit for bit:

1. ``options_kernel``: per candidate (in priority order) and launch option, is
   the option feasible (a launcher of the option in range with a shot left, an
   effect on the target class, a salvo in stock) and what is it worth;
2. the rule engine decides every feasible (candidate, option) in one batch,
   unchanged (it is already one array pass per step);
3. ``greedy_kernel``: candidates served in order, best option overall and best
   allowed option, launcher picked, shots and stock spent, withheld strikes
   recorded.

Two facts make the compiled loop simpler than the numpy phase and still equal:
a launcher's shots are zero once it is dead, so "alive and in range with a shot
left" is one test on the launch pairs; and the numpy phase re-ranks the waiting
candidates only when a launcher or a weapon runs dry, which is exactly when the
set of usable options can change, so ranking each candidate when its turn
comes, on the current state, gives the same choice.

Left out: the rule engine itself (kept in numpy), and the fallback and
agreement tests a production version needs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from escalation_sim.model.engagement import PRIORITY_WINDOW_HOURS, STOCK_RESERVE, StrikePlan
from escalation_sim.model.forces import NEVER, ForceLayer
from escalation_sim.model.rules import RuleEngine, StrikeBatch, WorldState


@njit(cache=True)
def options_kernel(
    cand: np.ndarray,
    cells: np.ndarray,
    cls: np.ndarray,
    opt_weapon: np.ndarray,
    effect_table: np.ndarray,
    w_intercept: np.ndarray,
    ru_cover_cells: np.ndarray,
    stock: np.ndarray,
    shots_left: np.ndarray,
    lp_ptr: np.ndarray,
    lp_src: np.ndarray,
    lp_opt: np.ndarray,
    reserve: float,
):
    """Feasibility and value of every (candidate, option), as the numpy phase computes them."""
    n_c, n_o = cand.shape[0], opt_weapon.shape[0]
    feasible = np.zeros((n_c, n_o), dtype=np.bool_)
    value = np.zeros((n_c, n_o))
    for c in range(n_c):
        cell = cells[c]
        for j in range(lp_ptr[cell], lp_ptr[cell + 1]):
            if shots_left[lp_src[j]] > 0:
                feasible[c, lp_opt[j]] = True
        for o in range(n_o):
            w = opt_weapon[o]
            e = effect_table[w, cls[cand[c]]]
            p_int = ru_cover_cells[c] * w_intercept[w]
            value[c, o] = e * (1.0 - p_int) * (stock[w] / (stock[w] + reserve))
            feasible[c, o] = feasible[c, o] and e > 0 and stock[w] >= 1.0
    return feasible, value


@njit(cache=True)
def greedy_kernel(
    cand: np.ndarray,
    cells: np.ndarray,
    in_russia: np.ndarray,
    feasible: np.ndarray,
    value: np.ndarray,
    allowed: np.ndarray,
    verdict: np.ndarray,
    opt_weapon: np.ndarray,
    stock: np.ndarray,
    shots_left: np.ndarray,
    lp_ptr: np.ndarray,
    lp_src: np.ndarray,
    lp_opt: np.ndarray,
    max_strikes: int,
):
    """Serve candidates in order; return the strikes and the withheld opportunities."""
    n_c, n_o = feasible.shape
    stock_left = stock.copy()
    out = np.empty((4, n_c), dtype=np.int64)  # target, option, rule, launcher
    wh = np.empty((4, n_c), dtype=np.int64)  # target, option, rule, substitute
    n_out = 0
    n_wh = 0
    for c in range(n_c):
        if n_out >= max_strikes:
            break
        cell = cells[c]
        best_any, best_ok = -1, -1
        v_any, v_ok = -np.inf, -np.inf
        for o in range(n_o):
            if not feasible[c, o] or stock_left[opt_weapon[o]] < 1.0:
                continue
            usable = False
            for j in range(lp_ptr[cell], lp_ptr[cell + 1]):
                if lp_opt[j] == o and shots_left[lp_src[j]] > 0:
                    usable = True
                    break
            if not usable:
                continue
            if value[c, o] > v_any:
                v_any, best_any = value[c, o], o
            if allowed[c, o] and value[c, o] > v_ok:
                v_ok, best_ok = value[c, o], o
        if best_any < 0:
            continue
        if not allowed[c, best_any] and in_russia[c]:
            wh[0, n_wh] = cand[c]
            wh[1, n_wh] = best_any
            wh[2, n_wh] = verdict[c, best_any]
            wh[3, n_wh] = best_ok
            n_wh += 1
        if best_ok < 0:
            continue
        launcher = -1
        for j in range(lp_ptr[cell], lp_ptr[cell + 1]):
            if lp_opt[j] == best_ok and shots_left[lp_src[j]] > 0:
                launcher = lp_src[j]
                break
        out[0, n_out] = cand[c]
        out[1, n_out] = best_ok
        out[2, n_out] = verdict[c, best_ok]
        out[3, n_out] = launcher
        n_out += 1
        shots_left[launcher] -= 1
        stock_left[opt_weapon[best_ok]] -= 1.0
    return out[:, :n_out].copy(), wh[:, :n_wh].copy()


def plan_strikes_numba(
    forces: ForceLayer,
    engine: RuleEngine,
    world: WorldState,
    candidates: np.ndarray,
    preparing: np.ndarray,
    stock: np.ndarray,
    step: int,
    max_strikes: int,
    engine_weapon: np.ndarray,
) -> StrikePlan:
    """``plan_strikes`` through the kernels; same arguments, same plan."""
    empty = np.zeros(0, dtype=np.int64)
    f = forces
    n_opt = len(f.opt_group)
    if len(candidates) == 0 or n_opt == 0 or max_strikes == 0:
        return StrikePlan(empty, empty, empty, empty, empty, empty, empty, empty)
    seen_hours = (step - f.last_seen_firing[candidates]) * 24.0 * f.step_days
    priority = 2 * f.fired_at_city[candidates] + (seen_hours <= PRIORITY_WINDOW_HOURS)
    order = np.lexsort((candidates, -priority))
    cand = candidates[order]
    cells = f.cell[cand]
    shots_left = f.group_shots[f.group] * f.alive
    w = f.opt_weapon
    feasible, value = options_kernel(
        cand,
        cells,
        f.cls,
        w,
        f.effect,
        f.w_intercept,
        f.russian_air_cover()[cells],
        stock,
        shots_left,
        f._lp_ptr,
        f._lp_src,
        f._lp_opt,
        STOCK_RESERVE,
    )
    rows, cols = np.nonzero(feasible)
    target = cand[rows]
    seen = f.last_seen_firing[target]
    batch = StrikeBatch(
        weapon=engine_weapon[w[cols]],
        target_class=f.cls[target],
        depth_km=f.depth[target],
        zone_bits=f.zone_bits[target],
        fired_hours_ago=np.where(seen > NEVER, (step - seen) * 24.0 * f.step_days, np.inf),
        preparing_attack=preparing[order][rows],
        attacks_ukraine=f.military[target],
    )
    decided = engine.decide(batch, world)
    verdict = np.full(feasible.shape, -1, dtype=np.int64)
    verdict[rows, cols] = decided
    allowed = np.zeros(feasible.shape, dtype=bool)
    allowed[rows, cols] = engine.allows[decided]
    out, wh = greedy_kernel(
        cand,
        cells,
        f.depth[cand] > 0,
        feasible,
        value,
        allowed,
        verdict,
        w,
        stock,
        shots_left,
        f._lp_ptr,
        f._lp_src,
        f._lp_opt,
        int(max_strikes),
    )
    return StrikePlan(out[0], out[1], out[2], wh[0], wh[1], wh[2], wh[3], out[3])
