"""Prototype (a): Russian fire as one numba-compiled kernel, a drop-in for ``ForceLayer.russian_fire``.

The kernel does in one compiled loop what the current phase does in some sixty
numpy calls: who wants to fire, rationing of ammunition, fire on the city and its
interception, target picks on Ukrainian positions, damage and losses. It takes
the same uniform variates, drawn from the same stream in the same shape, so a
run with it is bit for bit the run without it (``compare_prototypes.py`` checks
the whole time series and event log).

Left in numpy, on purpose: the draws (``rng.random``), the air-cover array
(cached, and numpy's ``log1p``/``expm1`` may differ from libm's in the last
bit), and the city's harm (numpy's pairwise sum over weapons). A production
version would also keep the pure-numpy phase as the fallback, with a test that
the two agree.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from escalation_sim.model.forces import FireOutcome, ForceLayer


@njit(cache=True)
def fire_core(  # a kernel takes its arrays as arguments
    u: np.ndarray,
    rf: np.ndarray,
    rf_prob: np.ndarray,
    rf_weapon: np.ndarray,
    rf_salvoes: np.ndarray,
    rf_city_share: np.ndarray,
    rf_city_in_range: np.ndarray,
    rf_cand_ptr: np.ndarray,
    rf_cand_cells: np.ndarray,
    ua_cell_ptr: np.ndarray,
    ua_cell_members: np.ndarray,
    w_intercept: np.ndarray,
    effect: np.ndarray,
    cls: np.ndarray,
    ua_cover: np.ndarray,
    city_cell: int,
    multiplier: float,
    step: int,
    destroyed_below: float,
    stock: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    last_fired: np.ndarray,
    fired_at_city: np.ndarray,
    destroyed_now: np.ndarray,
    at_city: np.ndarray,
    at_front: np.ndarray,
    city_by_weapon: np.ndarray,
    lost: np.ndarray,
) -> int:
    """One step of Russian fire for one run; mutates its state like the numpy phase.

    Writes, per firing unit, whether it fired at the city (``at_city``) or at a
    position (``at_front``), the salvoes landing on the city per weapon, and per
    unit whether this fire destroyed it (``lost``); returns the hits on units.
    """
    n = rf.shape[0]
    n_w = stock.shape[0]
    for i in range(n):
        unit = rf[i]
        p = min(rf_prob[i] * strength[unit] * multiplier, 1.0)
        wants = alive[unit] and u[0, i] < p
        c = wants and rf_city_in_range[i] and u[1, i] < rf_city_share[i]
        at_city[i] = c
        at_front[i] = wants and not c and rf_cand_ptr[i + 1] - rf_cand_ptr[i] > 0
    # Rationing: requests in unit order, granted while each weapon's running demand fits.
    demand = np.zeros(n_w)
    for i in range(n):
        if at_city[i] or at_front[i]:
            demand[rf_weapon[i]] += rf_salvoes[i]
    short = False
    for w in range(n_w):
        if demand[w] > stock[w] + 1e-9:
            short = True
    if short:
        running = np.zeros(n_w)
        for i in range(n):
            if at_city[i] or at_front[i]:
                w = rf_weapon[i]
                running[w] += rf_salvoes[i]
                if running[w] > stock[w] + 1e-9:
                    at_city[i] = False
                    at_front[i] = False
    for i in range(n):
        if at_city[i] or at_front[i]:
            stock[rf_weapon[i]] -= rf_salvoes[i]
            last_fired[rf[i]] = step
        fired_at_city[rf[i]] = at_city[i]
    # Fire on the city.
    city_by_weapon[:] = 0.0
    for i in range(n):
        if at_city[i]:
            w = rf_weapon[i]
            if u[2, i] >= w_intercept[w] * ua_cover[city_cell]:
                city_by_weapon[w] += rf_salvoes[i]
    # Fire on positions: picks and hits decided on the state before any damage.
    targets = np.empty(n, dtype=np.int64)
    damage = np.empty(n)
    n_hits = 0
    for i in range(n):
        if not at_front[i]:
            continue
        n_cand = rf_cand_ptr[i + 1] - rf_cand_ptr[i]
        cell = rf_cand_cells[rf_cand_ptr[i] + np.int64(u[3, i] * n_cand)]
        lo = ua_cell_ptr[cell]
        size = ua_cell_ptr[cell + 1] - lo
        t = ua_cell_members[lo + np.int64(u[4, i] * size)]
        w = rf_weapon[i]
        if alive[t] and u[5, i] >= w_intercept[w] * ua_cover[cell]:
            targets[n_hits] = t
            damage[n_hits] = effect[w, cls[t]] * rf_salvoes[i]
            n_hits += 1
    lost[:] = False
    if n_hits > 0:
        for j in range(n_hits):
            strength[targets[j]] -= damage[j]
        for t in range(strength.shape[0]):
            if strength[t] < 0.0:
                strength[t] = 0.0
            if alive[t] and strength[t] < destroyed_below:
                alive[t] = False
                strength[t] = 0.0
                destroyed_now[t] = True
                lost[t] = True
    return n_hits


class NumbaFireForceLayer(ForceLayer):
    """The force layer with Russian fire replaced by :func:`fire_kernel`."""

    def russian_fire(
        self, step: int, fire_multiplier: float, stock: np.ndarray, rng: np.random.Generator
    ) -> FireOutcome:
        """Russian fire through the compiled kernel (same draws, same results)."""
        u = rng.random((6, len(self.rf)))
        ua_cover = self.ukrainian_air_cover()
        n_rf = len(self.rf)
        at_city = np.empty(n_rf, dtype=bool)
        at_front = np.empty(n_rf, dtype=bool)
        city_by_weapon = np.empty(len(self.weapon_ids))
        lost = np.empty(self.n, dtype=bool)
        hits = fire_core(
            u,
            self.rf,
            self.rf_prob,
            self.rf_weapon,
            self.rf_salvoes,
            self.rf_city_share,
            self.rf_city_in_range,
            self.rf_cand_ptr,
            self.rf_cand_cells,
            self.ua_cell_ptr,
            self.ua_cell_members,
            self.w_intercept,
            self.effect,
            self.cls,
            ua_cover,
            int(self.th.city_cell),
            float(fire_multiplier),
            int(step),
            float(self.destroyed_below),
            stock,
            self.strength,
            self.alive,
            self.last_fired,
            self.fired_at_city,
            self.destroyed_now,
            at_city,
            at_front,
            city_by_weapon,
            lost,
        )
        firing = at_city | at_front
        return FireOutcome(
            fired=self.rf[firing],
            at_city=at_city[firing],
            city_landed_by_weapon=city_by_weapon,
            city_harm=float((city_by_weapon * self.w_harm).sum()),
            hits_on_units=int(hits),
            ukrainian_losses=np.flatnonzero(lost),
        )
