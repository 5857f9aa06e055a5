"""The force layer: every unit's state in arrays, and the vectorised combat phases.

Units are aggregated to batteries, launcher groups, airbases, command posts,
radars and air-defence batteries. Their state (position, strength, whether
they are alive, when they last fired) lives in numpy arrays owned here, so a
step costs a handful of array operations whatever the number of units; the
model keeps a light Mesa agent per unit (:class:`escalation_sim.model.agents.ForceUnit`)
as a view for inspection.

Everything within a range is found through the theater's cell index, so
costs grow with forces, not with forces squared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from escalation_sim.model.theater import CellPairs, Theater
from escalation_sim.scenario.schema import Scenario

NEVER = -(10**9)
SIDE_UKRAINE, SIDE_RUSSIA, SIDE_OTHER = 0, 1, 2

#: Detection chance falls linearly to this fraction at a sensor's maximum range.
DETECTION_AT_MAX_RANGE = 0.5  # assumption


def ration(weapon: np.ndarray, amount: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Grant requests for ammunition in order until each weapon's stock runs out.

    Args:
        weapon: Weapon index of each request.
        amount: Salvoes asked by each request.
        stock: Salvoes on hand per weapon.

    Returns:
        Boolean mask of granted requests (a request is granted whole or not at all).
    """
    if len(weapon) == 0:
        return np.zeros(0, dtype=bool)
    demand = np.bincount(weapon, weights=amount, minlength=len(stock))
    if (demand <= stock + 1e-9).all():
        return np.ones(len(weapon), dtype=bool)
    order = np.argsort(weapon, kind="stable")
    w = weapon[order]
    a = amount[order].astype(float)
    cum = np.cumsum(a)
    starts = np.r_[0, np.flatnonzero(np.diff(w)) + 1]
    lengths = np.diff(np.r_[starts, len(w)])
    base = np.repeat(cum[starts] - a[starts], lengths)
    ok_sorted = (cum - base) <= stock[w] + 1e-9
    ok = np.empty(len(w), dtype=bool)
    ok[order] = ok_sorted
    return ok


def _csr(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``values`` by ``keys`` into (pointer, values) compressed rows."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    return ptr, values[order]


@dataclass(slots=True)
class FireOutcome:
    """What Russian fire did this step."""

    fired: np.ndarray  # unit indices that fired
    at_city: np.ndarray  # bool per fired unit: aimed at the city
    city_landed_by_weapon: np.ndarray  # salvoes landing on the city, per weapon
    city_harm: float
    hits_on_units: int
    ukrainian_losses: np.ndarray  # unit indices destroyed by this fire


@dataclass(slots=True)
class StrikeOutcome:
    """What a set of strikes did to their targets."""

    intercepted: np.ndarray
    damage: np.ndarray
    destroyed: np.ndarray


class ForceLayer:
    """Unit arrays and the combat phases: fire, detection, damage, recovery."""

    def __init__(
        self,
        scenario: Scenario,
        theater: Theater,
        setup_rng: np.random.Generator,
        actor_ids: list[str],
        weapon_ids: list[str],
    ) -> None:
        self.sc = scenario
        self.th = theater
        self.step_days = scenario.step_days
        cb = scenario.combat
        self.destroyed_below = cb.destroyed_below
        self.damage_spread = cb.damage_spread
        self.weapon_ids = weapon_ids
        w_index = {w: i for i, w in enumerate(weapon_ids)}
        self.class_ids = list(scenario.target_classes)
        c_index = {c: i for i, c in enumerate(self.class_ids)}
        a_index = {a: i for i, a in enumerate(actor_ids)}
        side_code = {"ukraine": SIDE_UKRAINE, "russia": SIDE_RUSSIA}
        weapons = [scenario.weapons[w] for w in weapon_ids]
        self.w_range = np.array([w.range_km for w in weapons])
        self.w_intercept = np.array([w.interception_chance for w in weapons])
        self.w_harm = np.array([w.civilian_harm for w in weapons])
        self.w_long = np.array([w.long_range for w in weapons], dtype=bool)
        self.effect = np.zeros((len(weapons), len(self.class_ids)))
        for i, w in enumerate(weapons):
            for cls, e in w.effect.items():
                self.effect[i, c_index[cls]] = e

        # --- place units, group by group, from the set-up stream
        groups = list(scenario.forces.items())
        self.group_ids = [g for g, _ in groups]
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("group", "x", "depth")}
        for gi, (_, g) in enumerate(groups):
            zone = scenario.theater.zones[g.zone]
            d_lo, d_hi = zone.depth_km.min, zone.depth_km.max
            if g.depth_km is not None:
                d_lo, d_hi = max(d_lo, g.depth_km.min), min(d_hi, g.depth_km.max)
            x_lo, x_hi = zone.x_km.min, zone.x_km.max
            if g.x_km is not None:
                x_lo, x_hi = max(x_lo, g.x_km.min), min(x_hi, g.x_km.max)
            cols["group"].append(np.full(g.count, gi, dtype=np.int64))
            cols["x"].append(setup_rng.uniform(x_lo, x_hi, g.count))
            cols["depth"].append(setup_rng.uniform(d_lo, d_hi, g.count))
        self.group = np.concatenate(cols["group"]) if groups else np.zeros(0, dtype=np.int64)
        self.x = np.concatenate(cols["x"]) if groups else np.zeros(0)
        self.depth = np.concatenate(cols["depth"]) if groups else np.zeros(0)
        self.n = len(self.group)
        specs = [g for _, g in groups]
        per = lambda f, dtype=float: np.array([f(specs[gi]) for gi in self.group], dtype=dtype)  # noqa: E731
        self.owner = per(lambda g: a_index[g.owner], np.int64)
        self.side = per(
            lambda g: side_code.get(scenario.actors[g.owner].side, SIDE_OTHER), np.int64
        )
        self.cls = per(lambda g: c_index[g.target_class], np.int64)
        self.fixed = per(lambda g: g.fixed_site, bool)
        self.military = per(lambda g: g.military, bool)
        self.zone_bits = self.th.zone_bits(self.x, self.depth)
        self.cell = self.th.cell_of(self.x, self.depth)
        self.strength = np.ones(self.n)
        self.alive = np.ones(self.n, dtype=bool)
        self.last_fired = np.full(self.n, NEVER, dtype=np.int64)
        self.last_seen_firing = np.full(self.n, NEVER, dtype=np.int64)
        self.fired_at_city = np.zeros(self.n, dtype=bool)
        self.destroyed_now = np.zeros(self.n, dtype=bool)
        self.labels = [f"{self.group_ids[g]}#{k}" for g, k in self._ordinal_in_group()]

        # --- Russian firing units
        self.rf = np.flatnonzero(per(lambda g: g.fire is not None and bool(g.weapons), bool))
        rf_specs = [specs[self.group[i]] for i in self.rf]
        self.rf_weapon = np.array([w_index[g.weapons[0]] for g in rf_specs], dtype=np.int64)
        self.rf_prob = np.array([g.fire.prob_per_step for g in rf_specs])
        self.rf_salvoes = np.array([g.fire.salvoes_per_step for g in rf_specs], dtype=np.int64)
        self.rf_city_share = np.array([g.fire.city_share for g in rf_specs])
        release = [g.fire.release_depth_km for g in rf_specs]
        self.rf_fire_depth = np.array(
            [self.depth[i] if r is None else r for i, r in zip(self.rf, release, strict=True)]
        )
        # Aircraft fly to the city's axis to release; other units fire from where they are.
        rf_x = np.array(
            [
                self.th.city_xy[0] if r is not None else self.x[i]
                for i, r in zip(self.rf, release, strict=True)
            ]
        )
        rf_reach = self.w_range[self.rf_weapon]
        self.fire_cell = self.cell.copy()
        self.fire_cell[self.rf] = self.th.cell_of(rf_x, self.rf_fire_depth)
        self.rf_city_in_range = self.th.distance_to_city(rf_x, self.rf_fire_depth) <= rf_reach
        # Cells within range that hold Ukrainian units, per firing unit (CSR).
        ua = np.flatnonzero(self.side == SIDE_UKRAINE)
        self.ua_cell_ptr, self.ua_cell_members = _csr(self.cell[ua], ua, self.th.n_cells)
        occupied = np.diff(self.ua_cell_ptr) > 0
        pairs = self.th.cells_within(rf_x, self.rf_fire_depth, rf_reach)
        keep = occupied[pairs.cell]
        self.rf_cand_ptr, self.rf_cand_cells = _csr(
            pairs.source[keep], pairs.cell[keep], len(self.rf)
        )

        # --- sensors (Ukrainian) and air defences (both sides), as cell pairs
        def sensor_pairs(kind: str) -> tuple[np.ndarray, CellPairs, np.ndarray]:
            idx = np.flatnonzero(
                per(lambda g: g.sensor is not None and g.sensor.kind == kind, bool)
            )
            rng_km = np.array([specs[self.group[i]].sensor.range_km for i in idx])
            prob = np.array([specs[self.group[i]].sensor.detect_prob for i in idx])
            pairs = self.th.cells_within(self.x[idx], self.depth[idx], rng_km)
            falloff = (
                1.0 - (1.0 - DETECTION_AT_MAX_RANGE) * pairs.distance_km / rng_km[pairs.source]
            )
            return idx, pairs, prob[pairs.source] * falloff

        self.radar_idx, self.radar_pairs, self.radar_p = sensor_pairs("radar")
        self.isr_idx, self.isr_pairs, self.isr_p = sensor_pairs("isr")

        def ad_pairs(side: int) -> tuple[np.ndarray, CellPairs, np.ndarray]:
            idx = np.flatnonzero(
                per(lambda g: g.air_defence is not None, bool) & (self.side == side)
            )
            rng_km = np.array([specs[self.group[i]].air_defence.range_km for i in idx])
            cover = np.array([specs[self.group[i]].air_defence.coverage for i in idx])
            pairs = self.th.cells_within(self.x[idx], self.depth[idx], rng_km)
            return idx, pairs, cover[pairs.source]

        self.ua_ad_idx, self.ua_ad_pairs, self.ua_ad_cov = ad_pairs(SIDE_UKRAINE)
        self.ru_ad_idx, self.ru_ad_pairs, self.ru_ad_cov = ad_pairs(SIDE_RUSSIA)

        # Coverage is only ever read where a unit stands, fires from, or at the city
        # (positions are static), so keep only the pairs that reach such cells.
        used = np.zeros(self.th.n_cells, dtype=bool)
        used[self.cell] = True
        used[self.fire_cell] = True
        used[self.th.city_cell] = True

        def keep_used(pairs: CellPairs, p: np.ndarray) -> tuple[CellPairs, np.ndarray]:
            k = used[pairs.cell]
            return CellPairs(pairs.source[k], pairs.cell[k], pairs.distance_km[k]), p[k]

        self.radar_pairs, self.radar_p = keep_used(self.radar_pairs, self.radar_p)
        self.isr_pairs, self.isr_p = keep_used(self.isr_pairs, self.isr_p)
        self.ua_ad_pairs, self.ua_ad_cov = keep_used(self.ua_ad_pairs, self.ua_ad_cov)
        self.ru_ad_pairs, self.ru_ad_cov = keep_used(self.ru_ad_pairs, self.ru_ad_cov)

        # --- Ukrainian launch options: one per (group, weapon)
        opt_group, opt_weapon, reach_src, reach_cell, reach_opt = [], [], [], [], []
        for gi, g in enumerate(specs):
            if scenario.actors[g.owner].side != "ukraine" or g.shots_per_step == 0:
                continue
            members = np.flatnonzero(self.group == gi)
            for w in g.weapons:
                o = len(opt_group)
                opt_group.append(gi)
                opt_weapon.append(w_index[w])
                pairs = self.th.cells_within(
                    self.x[members], self.depth[members], scenario.weapons[w].range_km
                )
                reach_src.append(members[pairs.source])
                reach_cell.append(pairs.cell)
                reach_opt.append(np.full(len(pairs.cell), o, dtype=np.int64))
        self.opt_group = np.array(opt_group, dtype=np.int64)
        self.opt_weapon = np.array(opt_weapon, dtype=np.int64)
        self.group_shots = np.array([g.shots_per_step for g in specs], dtype=np.int64)
        self._reach_src = np.concatenate(reach_src) if reach_src else np.zeros(0, dtype=np.int64)
        self._reach_key = (
            np.concatenate(reach_opt) * self.th.n_cells + np.concatenate(reach_cell)
            if reach_src
            else np.zeros(0, dtype=np.int64)
        )
        # The same (launcher, option, cell) pairs sorted by cell, for per-step look-ups.
        pair_cell = self._reach_key % self.th.n_cells
        by_cell = np.argsort(pair_cell, kind="stable")
        self._lp_src = self._reach_src[by_cell]
        self._lp_opt = (self._reach_key // self.th.n_cells)[by_cell]
        self._lp_ptr = np.r_[0, np.cumsum(np.bincount(pair_cell, minlength=self.th.n_cells))]
        self._coverage_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _ordinal_in_group(self) -> list[tuple[int, int]]:
        seen: dict[int, int] = {}
        out = []
        for g in self.group.tolist():
            k = seen.get(g, 0)
            seen[g] = k + 1
            out.append((g, k))
        return out

    # ------------------------------------------------------------------ coverage
    def _coverage(self, units: np.ndarray, pairs: CellPairs, p: np.ndarray) -> np.ndarray:
        """Per cell, the chance that at least one of the units covers it.

        Cached on the covering units' strengths, which change far less often
        than once a step.
        """
        if len(units) == 0:
            return np.zeros(self.th.n_cells)
        state = self.strength[units] * self.alive[units]
        key = id(pairs)
        cached = self._coverage_cache.get(key)
        if cached is not None and (cached[0] == state).all():
            return cached[1]
        live = state[pairs.source]
        log_miss = np.log1p(-np.minimum(p * live, 1.0 - 1e-12))
        cover = -np.expm1(np.bincount(pairs.cell, weights=log_miss, minlength=self.th.n_cells))
        self._coverage_cache[key] = (state, cover)
        return cover

    def ukrainian_air_cover(self) -> np.ndarray:
        """Per cell, chance that Ukrainian air defence covers it (cells with units or the city)."""
        return self._coverage(self.ua_ad_idx, self.ua_ad_pairs, self.ua_ad_cov)

    def russian_air_cover(self) -> np.ndarray:
        """Per cell, chance that Russian air defence covers it (cells with units or the city)."""
        return self._coverage(self.ru_ad_idx, self.ru_ad_pairs, self.ru_ad_cov)

    def reach(self) -> np.ndarray:
        """``reach[o, cell]``: alive launchers of option ``o`` within range of the cell.

        For inspection (maps, tests); the step loop uses :meth:`launch_pairs`.
        """
        n_opt = len(self.opt_group)
        counts = np.bincount(
            self._reach_key,
            weights=self.alive[self._reach_src].astype(float),
            minlength=n_opt * self.th.n_cells,
        )
        return counts.reshape(n_opt, self.th.n_cells)

    def launch_pairs(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Alive launchers within range of the given cells, as (launcher, option, position in ``cells``).

        Pairs are kept sorted by cell, so this costs the pairs of these cells only.
        """
        starts = self._lp_ptr[cells]
        lens = self._lp_ptr[cells + 1] - starts
        pos = np.repeat(np.arange(len(cells)), lens)
        idx = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens) + starts[pos]
        src = self._lp_src[idx]
        keep = self.alive[src]
        return src[keep], self._lp_opt[idx][keep], pos[keep]

    def shots_available(self) -> np.ndarray:
        """Shots per Ukrainian group this step (alive launchers times shots each)."""
        alive_per_group = np.bincount(self.group[self.alive], minlength=len(self.group_ids))
        return alive_per_group * self.group_shots

    # ------------------------------------------------------------------ phases
    def russian_fire(
        self, step: int, fire_multiplier: float, stock: np.ndarray, rng: np.random.Generator
    ) -> FireOutcome:
        """Russian firing units attack the city and Ukrainian positions in range.

        Draws a fixed number of variates per step (six per firing unit) so that
        runs under different rule sets stay aligned on common random numbers.
        """
        n = len(self.rf)
        u = rng.random((6, n))
        units = self.rf
        p = np.minimum(self.rf_prob * self.strength[units] * fire_multiplier, 1.0)
        n_cand = self.rf_cand_ptr[1:] - self.rf_cand_ptr[:-1]
        wants = self.alive[units] & (u[0] < p)
        at_city = wants & self.rf_city_in_range & (u[1] < self.rf_city_share)
        at_front = wants & ~at_city & (n_cand > 0)
        firing = at_city | at_front
        granted = ration(self.rf_weapon[firing], self.rf_salvoes[firing], stock)
        firing[np.flatnonzero(firing)[~granted]] = False
        at_city &= firing
        at_front &= firing
        np.subtract.at(stock, self.rf_weapon[firing], self.rf_salvoes[firing])
        fired_units = units[firing]
        self.last_fired[fired_units] = step
        self.fired_at_city[units] = at_city

        ua_cover = self.ukrainian_air_cover()
        # Fire on the city: each salvo may be intercepted.
        w_city = self.rf_weapon[at_city]
        p_int_city = self.w_intercept[w_city] * ua_cover[self.th.city_cell]
        landed = self.rf_salvoes[at_city] * (u[2][at_city] >= p_int_city)
        city_by_weapon = np.bincount(w_city, weights=landed, minlength=len(self.weapon_ids))
        city_harm = float((city_by_weapon * self.w_harm).sum())

        # Fire on Ukrainian positions: a random occupied cell in range, a random unit in it.
        shooters = np.flatnonzero(at_front)
        pick = self.rf_cand_ptr[shooters] + (u[3][shooters] * n_cand[shooters]).astype(np.int64)
        cells = self.rf_cand_cells[pick]
        lo = self.ua_cell_ptr[cells]
        size = self.ua_cell_ptr[cells + 1] - lo
        targets = self.ua_cell_members[lo + (u[4][shooters] * size).astype(np.int64)]
        w_front = self.rf_weapon[shooters]
        hit = self.alive[targets] & (u[5][shooters] >= self.w_intercept[w_front] * ua_cover[cells])
        targets, w_front = targets[hit], w_front[hit]
        salvoes = self.rf_salvoes[shooters][hit]
        damage = self.effect[w_front, self.cls[targets]] * salvoes
        losses = self.apply_damage(targets, damage)
        return FireOutcome(
            fired=fired_units,
            at_city=at_city[firing],
            city_landed_by_weapon=city_by_weapon,
            city_harm=city_harm,
            hits_on_units=len(targets),
            ukrainian_losses=losses,
        )

    def detect(
        self,
        step: int,
        preparation_prob: float,
        fixed_attempt_prob: float,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ukrainian radars and ISR look for Russian units; fixed sites are known.

        Radars see only units that fired this step, where the fire came from
        (the release point, for aircraft); ISR sees any unit where it stands. A
        unit seen firing is remembered as such, fixed sites included (the
        evidence counter-fire rules ask for). Returns the candidate targets for
        this step (mobile units seen, fixed sites on today's list) and, per
        candidate, whether ISR saw it preparing to attack.
        """
        u = rng.random((3, self.n))
        fired_now = self.last_fired == step
        radar_cov = self._coverage(self.radar_idx, self.radar_pairs, self.radar_p)
        isr_cov = self._coverage(self.isr_idx, self.isr_pairs, self.isr_p)
        miss = (1.0 - radar_cov[self.fire_cell] * fired_now) * (1.0 - isr_cov[self.cell])
        russian = (self.side == SIDE_RUSSIA) & self.alive & self.military
        detected = russian & (u[0] < 1.0 - miss)
        seen = detected & ~self.fixed
        self.last_seen_firing[detected & fired_now] = step
        fixed = (self.side == SIDE_RUSSIA) & self.alive & self.fixed & (u[2] < fixed_attempt_prob)
        candidates = np.flatnonzero(seen | fixed)
        can_fire = np.zeros(self.n, dtype=bool)
        can_fire[self.rf] = True
        preparing = can_fire & seen & ~fired_now & (u[1] < preparation_prob)
        return candidates, preparing[candidates]

    def apply_damage(self, targets: np.ndarray, damage: np.ndarray) -> np.ndarray:
        """Reduce targets' strength; return the indices destroyed by this damage."""
        if len(targets) == 0:
            return np.zeros(0, dtype=np.int64)
        np.subtract.at(self.strength, targets, damage)
        np.maximum(self.strength, 0.0, out=self.strength)
        dead = self.alive & (self.strength < self.destroyed_below)  # alive until now
        self.alive[dead] = False
        self.strength[dead] = 0.0
        newly = np.flatnonzero(dead)
        self.destroyed_now[newly] = True
        return newly

    def strike(
        self, targets: np.ndarray, weapons: np.ndarray, rng: np.random.Generator
    ) -> StrikeOutcome:
        """Resolve Ukrainian strikes: interception by Russian air defence, then damage.

        Draws two variates per unit per step (indexed by target) so that common
        random numbers line up across rule sets.
        """
        u = rng.random((2, self.n))
        ru_cover = self.russian_air_cover()
        p_int = self.w_intercept[weapons] * ru_cover[self.cell[targets]]
        intercepted = u[0][targets] < p_int
        spread = 1.0 + self.damage_spread * (2.0 * u[1][targets] - 1.0)
        damage = np.where(intercepted, 0.0, self.effect[weapons, self.cls[targets]] * spread)
        self.apply_damage(targets, damage)
        destroyed = self.destroyed_now[targets]  # only Ukrainian strikes destroy Russian units
        return StrikeOutcome(intercepted=intercepted, damage=damage, destroyed=destroyed)

    def recover(
        self, repair_per_day: float, replacement_days: float, rng: np.random.Generator
    ) -> np.ndarray:
        """Damaged units repair; destroyed units are replaced at random. Returns replaced units."""
        u = rng.random(self.n)
        days = self.step_days
        alive = self.alive
        self.strength[alive] = np.minimum(1.0, self.strength[alive] + repair_per_day * days)
        # Only units already down at the start of this step can be replaced now.
        back = ~alive & ~self.destroyed_now & (u < min(1.0, days / replacement_days))
        self.destroyed_now[:] = False
        if back.any():
            self.alive[back] = True
            self.strength[back] = 1.0
            self.last_fired[back] = NEVER
            self.last_seen_firing[back] = NEVER
        return np.flatnonzero(back)
