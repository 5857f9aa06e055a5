"""The force layer: every unit's state in arrays, and the vectorised combat phases.

Units are aggregated to batteries, launcher groups, airbases, command posts,
radars and air-defence batteries. Their state (position, strength, whether
they are alive, when they last fired, what Ukraine believes about them) lives
in numpy arrays owned here, so a step costs a handful of array operations
whatever the number of units; the model keeps a light Mesa agent per unit
(:class:`escalation_sim.model.agents.ForceUnit`) as a view for inspection.

Forces are finite: each group has ``count`` units deployed and ``reserve``
units held back (rows of the same arrays, not yet deployed). A destroyed unit
stays destroyed; a reserve unit arrives ``replacement_days`` later at a new
position (:mod:`escalation_sim.model.reserves`).

Russian units move (:mod:`escalation_sim.model.movement`); everything that
depends on a Russian unit's position (its cell, zones, what it can fire at,
the cells its air defence covers) is recomputed for the units that moved.
Ukrainian units keep their positions; their shoot-and-scoot shows in how
often Russia's reconnaissance finds them.

Everything within a range is found through the theater's cell index, so
costs grow with forces, not with forces squared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from escalation_sim.model import kernels, libm
from escalation_sim.model.airdefence import AirDefence
from escalation_sim.model.kernels import build as build_kernels
from escalation_sim.model.kernels import detect as kdetect
from escalation_sim.model.kernels import fire as fire_kernels
from escalation_sim.model.kernels import movement as kmove
from escalation_sim.model.kernels import strike as strike_kernels
from escalation_sim.model.movement import departure_hours, hop
from escalation_sim.model.reserves import ReservePool
from escalation_sim.model.sensors import KINDS as SENSOR_KINDS
from escalation_sim.model.sensors import MAX_PAIR_CHANCE, SensorCover
from escalation_sim.model.shared import SpecCache
from escalation_sim.model.theater import Theater
from escalation_sim.scenario.schema import Scenario

NEVER = -(10**9)
SIDE_UKRAINE, SIDE_RUSSIA, SIDE_OTHER = 0, 1, 2
#: Unit status: deployed and fighting, held in reserve, or lost for good.
ACTIVE, RESERVE, LOST = 0, 1, 2
#: Weapon families (the schema's delivery modes): Ukraine's tasking capacity is per family.
FAMILIES = ("tube", "rocket", "ballistic", "cruise", "glide_bomb", "drone", "sam_surface")
#: Russian units stay at least this far inside Russia when they move.
MIN_RUSSIAN_DEPTH_KM = 1.0  # assumption

#: Detection chance falls linearly to this fraction at a sensor's maximum range.
DETECTION_AT_MAX_RANGE = 0.5  # assumption
#: No units (what a phase that moved nobody, or a step with no reserve due, returns;
#: read-only, so that no caller can change what every such step hands back).
_NO_UNITS = np.zeros(0, dtype=np.int64)
_NO_UNITS.flags.writeable = False


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
    """What a set of strikes did to their targets (one entry per strike)."""

    intercepted: np.ndarray
    damage: np.ndarray
    destroyed: np.ndarray
    moved: np.ndarray  # the target had left the tracked position before the strike arrived
    already_destroyed: np.ndarray  # the target was destroyed before (Ukraine believed it alive)
    miss_km: np.ndarray  # distance from the aim point to the target's position at arrival
    arrival_hours: np.ndarray  # tasking delay plus time of flight
    believed_destroyed: np.ndarray  # Ukraine's assessment after the strike


@dataclass(slots=True)
class _Static:
    """What a force layer's set-up takes from the scenario alone (the same for every seed).

    Attributes:
        arrays: The layer's array attributes that follow from the scenario alone, by name.
        others: Its other such attributes (specs, numbers, lists and dicts), by name.
        specs: The force groups' specs, in the scenario's order.
        boxes: Per group, where its units are drawn (``Theater.placement_box``: the zone
            and its bounding box within the group's bands).
        reserve_delays: Per group, steps from a loss to its replacement's arrival.
        ua_units: The Ukrainian units.
        sensors: Per sensor kind, its units, ranges and detection chances.
        air_defence: Per side, its batteries and their figures, as ``AirDefence`` takes them.
        launch_depth: Per unit, its group's launch depth (NaN: where the unit stands).
        launchers: Every launch option's launchers, their option and their weapon's range.
    """

    arrays: dict[str, np.ndarray]
    others: dict[str, Any]
    specs: list[Any]
    boxes: list[tuple[str, int, float, float, float, float]]
    reserve_delays: np.ndarray
    ua_units: np.ndarray
    sensors: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    air_defence: dict[int, tuple[np.ndarray, ...]]
    launch_depth: np.ndarray
    launchers: tuple[np.ndarray, np.ndarray, np.ndarray]


def _own(value: Any) -> Any:
    """A model's own copy of a cached set-up value: arrays, lists and dicts copied, the rest shared.

    Shared as they are: the scenario's frozen specs, the theater (shared by design, see
    :meth:`Theater.shared`), numbers and strings. Lists hold strings or numbers only.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return {k: _own(v) for k, v in value.items()}
    return value


def _build_statics(scenario: Scenario) -> dict[tuple[Any, ...], tuple[Theater, _Static]]:
    """An empty table of a scenario's set-ups, filled per theater and ids (see :func:`_statics`)."""
    return {}


#: Per scenario object, its force layers' seed-independent set-up (see :func:`_statics`).
_static_cache: SpecCache[Scenario, dict[tuple[Any, ...], tuple[Theater, _Static]]] = SpecCache(
    _build_statics
)


def _statics(
    scenario: Scenario, theater: Theater, actor_ids: list[str], weapon_ids: list[str]
) -> _Static:
    """The force layer's seed-independent set-up for a scenario, built once per process.

    Every model of an ensemble takes the same scenario object, so its set-up is
    worked out for the first and copied (:func:`_own`) for the others. Keyed by the
    scenario's identity, the actors' and weapons' order and the theater's identity
    (a theater passed in other than the shared one gets its own entry).
    """
    table = _static_cache.get(scenario)
    key = (tuple(actor_ids), tuple(weapon_ids), id(theater))
    hit = table.get(key)
    if hit is not None and hit[0] is theater:
        return hit[1]
    bare = ForceLayer.__new__(ForceLayer)
    static = bare._static_attributes(scenario, theater, actor_ids, weapon_ids)
    for name, value in vars(bare).items():
        (static.arrays if isinstance(value, np.ndarray) else static.others)[name] = value
    table[key] = (theater, static)
    return static


class ForceLayer:
    """Unit arrays and the combat phases: fire, detection, movement, damage, reserves."""

    def __init__(
        self,
        scenario: Scenario,
        theater: Theater,
        setup_rng: np.random.Generator,
        actor_ids: list[str],
        weapon_ids: list[str],
    ) -> None:
        # What follows from the scenario alone (weapons, groups, masks, launch options) is
        # the same for every seed: built once per scenario in a process, copied into each
        # model (its arrays are its own). Only positions and what follows from them below.
        static = _statics(scenario, theater, actor_ids, weapon_ids)
        self.__dict__.update({k: a.copy() for k, a in static.arrays.items()})
        self.__dict__.update({k: _own(v) for k, v in static.others.items()})
        self.weapon_ids = weapon_ids
        specs = static.specs

        # --- place units (deployed, then reserve), group by group, from the set-up stream
        xcol, dcol = [], []
        for (gid, g), box in zip(scenario.forces.items(), static.boxes, strict=True):
            try:
                x, d = theater.sample_in_box(box, g.count + g.reserve, setup_rng)
            except ValueError as exc:
                raise ValueError(f"forces.{gid}: {exc}") from None
            xcol.append(x)
            dcol.append(d)
        self.x = np.concatenate(xcol).astype(float) if specs else np.zeros(0)
        self.depth = np.concatenate(dcol).astype(float) if specs else np.zeros(0)
        self.reserves = ReservePool(self.group, self.status == RESERVE, _own(static.reserve_delays))

        ua = static.ua_units
        self._cell = self.th.cell_of(self.x, self.depth)
        self.ua_cell_ptr, self.ua_cell_members = _csr(self._cell[ua], ua, self.th.n_cells)
        # Ukrainian units never move (reserves arrive at positions drawn at set-up), so the
        # cells Russian fire can find a unit in are fixed: a firing unit's targets are these
        # cells within its reach, one row of booleans per firing unit.
        self._ua_cells = np.flatnonzero(np.diff(self.ua_cell_ptr) > 0)
        self._rf_reach = np.zeros((len(self.rf), len(self._ua_cells)), dtype=bool)
        self._rf_points = (
            np.r_[self.th.cell_x[self._ua_cells], self.th.city_xy[0]],
            np.r_[self.th.cell_depth[self._ua_cells], self.th.city_xy[1]],
        )
        self._fire_cell = self._cell.copy()

        # --- sensors (Ukrainian), as cell pairs
        def sensor_pairs(kind: str):
            idx, rng_km, prob = (_own(a) for a in static.sensors[kind])
            pairs = self.th.cells_within(self.x[idx], self.depth[idx], rng_km)
            falloff = (
                1.0 - (1.0 - DETECTION_AT_MAX_RANGE) * pairs.distance_km / rng_km[pairs.source]
            )
            return idx, pairs, prob[pairs.source] * falloff

        sensors = [sensor_pairs(kind) for kind in SENSOR_KINDS]
        (self.radar_idx, _, _), (self.isr_idx, _, _) = sensors
        self._sensors = SensorCover(
            self.th.n_cells,
            [idx for idx, _, _ in sensors],
            [pairs.source for _, pairs, _ in sensors],
            [pairs.cell for _, pairs, _ in sensors],
            [p for _, _, p in sensors],
        )

        # --- air defence, both sides
        def air_defence(side: int) -> AirDefence:
            ad = AirDefence(self.th, *(_own(a) for a in static.air_defence[side]))
            ad.track_positions(self.x, self.depth)
            ad.place(self.x, self.depth)
            return ad

        self.ua_ad = air_defence(SIDE_UKRAINE)
        self.ru_ad = air_defence(SIDE_RUSSIA)
        self._is_ru_ad = np.zeros(self.n, dtype=bool)
        self._is_ru_ad[self.ru_ad.units] = True
        self._refresh(np.arange(self.n))
        self._sync()

        # --- Ukrainian launch options: one per (group, weapon); reach from the launch point
        launch_depth = static.launch_depth
        self.launch_x = self.x.copy()
        self.launch_depth = np.where(np.isnan(launch_depth), self.depth, launch_depth)
        launchers, source_option, source_range = static.launchers
        pairs = self.th.cells_within(
            self.launch_x[launchers],
            self.launch_depth[launchers],
            source_range,
            distances=False,
        )
        # The same (launcher, option, cell) pairs sorted by cell and, within a cell, by
        # option, for per-step look-ups: ``_lp_ptr`` per cell, ``_lg_ptr`` per (cell,
        # option), so that planning reads a target cell's launchers of one option where
        # they lie instead of gathering and grouping every pair of the cell each step.
        n_cells, n_opt = self.th.n_cells, max(len(self.opt_group), 1)
        if kernels.enabled():
            (
                self._reach_src,
                self._reach_key,
                self._lp_src,
                self._lp_opt,
                self._lp_ptr,
                self._lg_ptr,
            ) = build_kernels.launch_tables(
                pairs.source, pairs.cell, launchers, source_option, n_cells, n_opt
            )
        else:
            self._reach_src = launchers[pairs.source]
            self._reach_key = source_option[pairs.source] * n_cells + pairs.cell
            pair_group = pairs.cell * n_opt + source_option[pairs.source]
            by_group = np.argsort(pair_group, kind="stable")
            self._lp_src = self._reach_src[by_group]
            self._lp_opt = source_option[pairs.source][by_group]
            counts = np.bincount(pair_group, minlength=n_cells * n_opt)
            self._lg_ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
            self._lp_ptr = self._lg_ptr[::n_opt].copy()

    def _static_attributes(
        self, scenario: Scenario, theater: Theater, actor_ids: list[str], weapon_ids: list[str]
    ) -> _Static:
        """Set every attribute that follows from the scenario alone; the rest of the set-up's inputs.

        Draws nothing and reads no position: the same for every seed (see :func:`_statics`).
        """
        self.sc = scenario
        self.th = theater
        self.step_days = scenario.step_days
        cb = scenario.combat
        self.combat = cb
        self.destroyed_below = cb.destroyed_below
        self.damage_spread = cb.damage_spread
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
        self.w_speed = np.array([w.speed_kmh for w in weapons])
        self.w_tasking = np.array([w.tasking_hours for w in weapons])
        self.w_rounds = np.array([w.rounds_per_salvo for w in weapons], dtype=np.int64)
        self.w_family = np.array([FAMILIES.index(w.mode) for w in weapons], dtype=np.int64)
        self.effect = np.zeros((len(weapons), len(self.class_ids)))
        for i, w in enumerate(weapons):
            for cls, e in w.effect.items():
                self.effect[i, c_index[cls]] = e

        # --- units (deployed, then reserve), group by group; their positions are drawn per model
        groups = list(scenario.forces.items())
        self.group_ids = [g for g, _ in groups]
        specs = [g for _, g in groups]
        gcol, scol, boxes = [], [], []  # boxes: where each group's units are drawn
        for gi, (_, g) in enumerate(groups):
            xb = (g.x_km.min, g.x_km.max) if g.x_km is not None else None
            db = (g.depth_km.min, g.depth_km.max) if g.depth_km is not None else None
            boxes.append(theater.placement_box(g.zone, xb, db))
            gcol.append(np.full(g.count + g.reserve, gi, dtype=np.int64))
            scol.append(np.r_[np.full(g.count, ACTIVE), np.full(g.reserve, RESERVE)])
        empty_i = np.zeros(0, dtype=np.int64)
        self.group = np.concatenate(gcol).astype(np.int64) if groups else empty_i
        self.status = np.concatenate(scol).astype(np.int64) if groups else empty_i
        self.n = len(self.group)
        # A group's value, spread over its units: one call of ``f`` per group, not per unit.
        per = lambda f, dtype=float: np.array([f(g) for g in specs], dtype=dtype)[self.group]  # noqa: E731
        self.owner = per(lambda g: a_index[g.owner], np.int64)
        self.side = per(
            lambda g: side_code.get(scenario.actors[g.owner].side, SIDE_OTHER), np.int64
        )
        self.cls = per(lambda g: c_index[g.target_class], np.int64)
        self.fixed = per(lambda g: g.fixed_site, bool)
        self.military = per(lambda g: g.military, bool)
        zone_index = {z: i for i, z in enumerate(theater.zone_ids)}
        self.home_zone = per(lambda g: zone_index[g.zone], np.int64)
        self.alive = self.status == ACTIVE
        self.strength = self.alive.astype(float)
        self.initial_count = int(self.alive.sum())
        self.labels = [f"{self.group_ids[g]}#{k}" for g, k in self._ordinal_in_group()]
        reserve_delays = ReservePool.delays(
            [
                cb.replacement_days if g.replacement_days is None else g.replacement_days
                for g in specs
            ],
            self.step_days,
        )

        # --- mobility per target class
        mob = [cb.movement.get(c) for c in self.class_ids]
        by_cls = lambda f, default: np.array([default if m is None else f(m) for m in mob])  # noqa: E731
        self.scoot_prob = by_cls(lambda m: m.scoot_prob, 0.0)[self.cls]
        self.displace_prob = by_cls(lambda m: m.displace_prob, 0.0)[self.cls]
        self.leave_hours = by_cls(lambda m: m.leave_hours, 1.0)[self.cls]
        self.hop_km = by_cls(lambda m: m.hop_km, 0.0)[self.cls]
        self.pulls_back = by_cls(lambda m: m.pullback, False).astype(bool)[self.cls] & ~self.fixed
        self._hops = self.hop_km > 0
        zb = np.array([theater.spec.zones[z].bounds() for z in theater.zone_ids]).reshape(-1, 4)
        self._home_x0 = zb[self.home_zone, 0] if self.n else np.zeros(0)
        self._home_x1 = zb[self.home_zone, 1] if self.n else np.zeros(0)
        # What relocation reads of each unit that never changes after set-up, stacked so the
        # relocation kernel takes one array, not three (rows: kernels.movement's names).
        self._hop_table = np.stack([self.hop_km, self._home_x0, self._home_x1]).reshape(3, self.n)
        self._ru_pulls_back = self.pulls_back & (self.side == SIDE_RUSSIA)
        max_depth = by_cls(lambda m: np.inf if m.max_depth_km is None else m.max_depth_km, np.inf)[
            self.cls
        ]
        self.pullback_cap = np.minimum(max_depth, theater.d1 - 1.0)

        # --- per-step state: tracks, beliefs, timing
        self.last_fired = np.full(self.n, NEVER, dtype=np.int64)
        self.last_seen_firing = np.full(self.n, NEVER, dtype=np.int64)
        self.last_struck = np.full(self.n, NEVER, dtype=np.int64)
        self.fired_at_city = np.zeros(self.n, dtype=bool)
        self.destroyed_now = np.zeros(self.n, dtype=bool)
        self.believed_destroyed = np.zeros(self.n, dtype=bool)
        self.track_error_km = np.zeros(self.n)
        self.leave_h = np.full(self.n, np.inf)
        self.moved_now = 0
        self.pulled_back_now = 0
        self.carriers_downed_now = 0

        # --- Russian firing units
        self.rf = np.flatnonzero(per(lambda g: g.fire is not None and bool(g.weapons), bool))
        rf_specs = [specs[self.group[i]] for i in self.rf]
        self.rf_weapon = np.array([w_index[g.weapons[0]] for g in rf_specs], dtype=np.int64)
        self.rf_prob = np.array([g.fire.prob_per_step for g in rf_specs])
        self.rf_salvoes = np.array([g.fire.salvoes_per_step for g in rf_specs], dtype=np.int64)
        self.rf_city_share = np.array([g.fire.city_share for g in rf_specs])
        release = [g.fire.release_depth_km for g in rf_specs]
        self.rf_air = np.array([r is not None for r in release], dtype=bool)
        self._carrier_unit = np.zeros(self.n, dtype=bool)
        self._carrier_unit[self.rf[self.rf_air]] = True
        # Airbases (fixed sites launching sorties) slow their tempo after being struck.
        self._rf_airbase = self.rf_air & self.fixed[self.rf]
        self.rf_release = np.array([np.nan if r is None else r for r in release])
        # Release points pull back no further than keeps the city within the bombs' glide.
        self.rf_release_cap = np.where(
            self.rf_air,
            self.w_range[self.rf_weapon] + self.th.city_xy[1] - 2.0,
            np.nan,
        )
        # A firing unit keeps some reach into Ukraine when it pulls back.
        fire_cap = self.w_range[self.rf_weapon] - cb.pullback.min_reach_km
        self.pullback_cap[self.rf] = np.minimum(self.pullback_cap[self.rf], fire_cap)
        self.rf_fx = np.zeros(len(self.rf))
        self.rf_fd = np.zeros(len(self.rf))
        self._rf_city_in_range = np.zeros(len(self.rf), dtype=bool)
        # Fixed masks the phases combine every step.
        self._side_mask = {s: self.side == s for s in (SIDE_UKRAINE, SIDE_RUSSIA, SIDE_OTHER)}
        russian = self.side == SIDE_RUSSIA
        self._ru_military = russian & self.military
        self._ru_military_mobile = self._ru_military & ~self.fixed
        self._ru_fixed = russian & self.fixed
        self._ru_mobile = russian & ~self.fixed
        self._can_fire = np.zeros(self.n, dtype=bool)
        self._can_fire[self.rf] = True
        # Position of each unit among the firing units (-1: not one).
        self._rf_of_unit = np.full(self.n, -1, dtype=np.int64)
        self._rf_of_unit[self.rf] = np.arange(len(self.rf))
        ua = np.flatnonzero(self.side == SIDE_UKRAINE)
        self._rf_n_cand = np.zeros(len(self.rf), dtype=np.int64)
        # Set here too, not only when reach is brought up to date: with no firing unit,
        # nothing ever marks reach out of date.
        self._rf_has_cand = np.zeros(len(self.rf), dtype=bool)
        self._rf_csr: tuple[np.ndarray, np.ndarray] | None = None
        # What depends on a position is brought up to date when it is next read, not at
        # every move: a unit can move twice in a step (pull-back, then relocation), and
        # one pass over every unit moved since the last read costs what one move did.
        self._moved = np.zeros(self.n, dtype=bool)  # cell, fire cell, zones out of date
        self._reach_moved = np.zeros(len(self.rf), dtype=bool)  # targets in reach out of date
        self._ru_ad_moved = False
        self._any_moved = self._any_reach_moved = False  # whether the masks above hold any

        # --- sensors (Ukrainian): who, how far, how likely (their cells follow positions)
        def sensors(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            idx = np.flatnonzero(
                per(lambda g: g.sensor is not None and g.sensor.kind == kind, bool)
            )
            rng_km = np.array([specs[self.group[i]].sensor.range_km for i in idx])
            prob = np.array([specs[self.group[i]].sensor.detect_prob for i in idx])
            return idx, rng_km, prob

        sensor_specs = {kind: sensors(kind) for kind in SENSOR_KINDS}
        # What detection reads of each unit that never changes after set-up, stacked so
        # the detection kernel takes two arrays, not nine (rows: kernels.detect's names).
        self._detect_flags = np.stack(
            [
                self.fixed,
                self._ru_military,
                self._ru_military_mobile,
                self._ru_fixed,
                self._ru_mobile,
                self._can_fire,
            ]
        ).reshape(6, self.n)
        self._detect_rates = np.stack(
            [self.scoot_prob, self.displace_prob, self.leave_hours]
        ).reshape(3, self.n)

        # --- air defence, both sides: each battery's figures (its cells follow positions)
        def air_defence(side: int) -> tuple[np.ndarray, ...]:
            idx = np.flatnonzero(
                per(lambda g: g.air_defence is not None, bool) & (self.side == side)
            )
            ads = [specs[self.group[i]].air_defence for i in idx]
            return (
                idx,
                np.array([a.range_km for a in ads]),
                np.array([a.coverage for a in ads]),
                np.array([np.inf if a.interceptors is None else a.interceptors for a in ads]),
                np.array([a.interceptor_resupply_per_day for a in ads]),
                np.array([a.aircraft_range_km for a in ads]),
                np.array([a.aircraft_kill_prob for a in ads]),
            )

        ad_specs = {side: air_defence(side) for side in (SIDE_UKRAINE, SIDE_RUSSIA)}
        self._ru_ad_dirty = np.zeros(self.n, dtype=bool)  # Russian batteries moved since placed
        self._zone_bits = np.zeros(self.n, dtype=np.int64)
        self._primary_zone = np.full(self.n, -1, dtype=np.int64)

        # --- Ukrainian launch options: one per (group, weapon)
        launch_depth = per(
            lambda g: np.nan if g.launch_depth_km is None else g.launch_depth_km, float
        )
        opt_group, opt_weapon, src_unit, src_range, src_opt = [], [], [], [], []
        for gi, g in enumerate(specs):
            if scenario.actors[g.owner].side != "ukraine" or g.shots_per_step == 0:
                continue
            members = np.flatnonzero(self.group == gi)
            for w in g.weapons:
                src_opt.append(np.full(len(members), len(opt_group), dtype=np.int64))
                opt_group.append(gi)
                opt_weapon.append(w_index[w])
                src_unit.append(members)
                src_range.append(np.full(len(members), scenario.weapons[w].range_km))
        self.opt_group = np.array(opt_group, dtype=np.int64)
        self.opt_weapon = np.array(opt_weapon, dtype=np.int64)
        self.group_shots = np.array([g.shots_per_step for g in specs], dtype=np.int64)
        # Per launch option and per unit, what planning looks up every step.
        self.unit_shots = self.group_shots[self.group]
        self.opt_family = self.w_family[self.opt_weapon]
        self.opt_effect = self.effect[self.opt_weapon]
        self.opt_intercept = self.w_intercept[self.opt_weapon]
        self.opt_weapon_list = self.opt_weapon.tolist()
        # Every option's launchers in one pass: pairs come source by source, so option after
        # option, each option's launcher after launcher, as one pass per option gave.
        launchers = (
            np.concatenate(src_unit) if src_unit else empty_i,
            np.concatenate(src_opt) if src_unit else empty_i,
            np.concatenate(src_range) if src_unit else np.zeros(0),
        )
        return _Static(
            arrays={},
            others={},
            specs=specs,
            boxes=boxes,
            reserve_delays=reserve_delays,
            ua_units=ua,
            sensors=sensor_specs,
            air_defence=ad_specs,
            launch_depth=launch_depth,
            launchers=launchers,
        )

    def _ordinal_in_group(self) -> list[tuple[int, int]]:
        seen: dict[int, int] = {}
        out = []
        for g in self.group.tolist():
            k = seen.get(g, 0)
            seen[g] = k + 1
            out.append((g, k))
        return out

    # ------------------------------------------------------------------ positions
    def _refresh(self, units: np.ndarray) -> None:
        """Mark what depends on these units' positions (cell, zones, reach, cover) out of date."""
        if len(units) == 0:
            return
        if kernels.enabled():
            any_rf, any_ad = kmove.mark_moved(
                units.astype(np.int64, copy=False),
                self._moved,
                self._rf_of_unit,
                self.rf_air,
                self.rf_release,
                float(self.th.city_xy[0]),
                self.x,
                self.depth,
                self.rf_fx,
                self.rf_fd,
                self._reach_moved,
                self._is_ru_ad,
                self._ru_ad_dirty,
            )
            self._any_moved = True
            if any_rf:
                self._any_reach_moved = True
            if any_ad:
                self._ru_ad_moved = True
            return
        self._moved[units] = True
        self._any_moved = True
        rf_k = self._rf_of_unit[units]
        rf_k = rf_k[rf_k >= 0]
        if len(rf_k):
            self._place_fire(rf_k)
        if self._is_ru_ad[units].any():
            self._ru_ad_moved = True
            self._ru_ad_dirty[units] = True

    def _place_fire(self, k: np.ndarray) -> None:
        """Fire positions of firing units ``k``; their cells and targets in reach go out of date."""
        units = self.rf[k]
        air = self.rf_air[k]
        # Aircraft fly to the city's axis and release at their release depth.
        self.rf_fx[k] = np.where(air, self.th.city_xy[0], self.x[units])
        self.rf_fd[k] = np.where(air, self.rf_release[k], self.depth[units])
        self._moved[units] = True
        self._reach_moved[k] = True
        self._any_moved = self._any_reach_moved = True

    def _sync(self) -> None:
        """Bring cells, fire cells, zones and air-defence cover up to date with the positions."""
        if self._any_moved and kernels.enabled():
            self._any_moved = False
            kmove.sync_positions(
                self._moved,
                self.x,
                self.depth,
                self._cell,
                self._fire_cell,
                self._zone_bits,
                self._primary_zone,
                self._carrier_unit,
                self._rf_of_unit,
                self.rf_fx,
                self.rf_fd,
                *self.th.lookup_arrays(),
            )
        elif self._any_moved:
            units = self._moved.nonzero()[0]
            self._moved[:] = False
            self._any_moved = False
            x, d = self.x[units], self.depth[units]
            cell = self.th.cell_of(x, d)
            self._cell[units] = cell
            self._fire_cell[units] = cell
            bits = self.th.zone_bits(x, d)
            self._zone_bits[units] = bits
            self._primary_zone[units] = self.th.primary_zones(bits)
            # A carrier fires from its release point; every other unit from where it stands.
            k = self._rf_of_unit[units[self._carrier_unit[units]]]
            if len(k):
                self._fire_cell[self.rf[k]] = self.th.cell_of(self.rf_fx[k], self.rf_fd[k])
        if self._ru_ad_moved:
            self._ru_ad_moved = False
            moved = self._ru_ad_dirty[self.ru_ad.units].nonzero()[0]
            self._ru_ad_dirty[:] = False
            self.ru_ad.place(self.x, self.depth, moved)

    def _sync_reach(self) -> None:
        """Bring firing units' targets in reach (occupied Ukrainian cells, the city) up to date."""
        if not self._any_reach_moved:
            return
        if kernels.enabled():
            self._any_reach_moved = False
            self._rf_csr = None
            fire_kernels.sync_reach(
                self._reach_moved,
                self.rf_fx,
                self.rf_fd,
                self.rf_weapon,
                self.w_range,
                *self._rf_points,
                self._rf_reach,
                self._rf_city_in_range,
                self._rf_n_cand,
                self._rf_has_cand,
            )
            return
        k = self._reach_moved.nonzero()[0]
        self._reach_moved[:] = False
        self._any_reach_moved = False
        # One distance pass per moved unit: to every occupied cell's centre, and to the city.
        reach = self.th.within(
            self.rf_fx[k], self.rf_fd[k], self.w_range[self.rf_weapon[k]], *self._rf_points
        )
        self._rf_reach[k] = reach[:, :-1]
        self._rf_city_in_range[k] = reach[:, -1]
        self._rf_n_cand[k] = np.count_nonzero(reach[:, :-1], axis=1)
        self._rf_has_cand = self._rf_n_cand > 0
        self._rf_csr = None

    def _target_cells(self, shooters: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The occupied cell in reach each shooter fires at: its ``floor(u * n)``-th, in cell order.

        Read from the shooters' rows of the reach table (the first place where the
        running count of cells in reach passes the pick), so a step costs the
        shooters' rows, not a rebuild of every firing unit's list.
        """
        if len(shooters) == 0:
            return np.zeros(0, dtype=np.int64)
        pick = (u * self._rf_n_cand[shooters]).astype(np.int64)
        rows = self._rf_reach[shooters]
        return self._ua_cells[(rows.cumsum(axis=1) > pick[:, None]).argmax(axis=1)]

    def _fire_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Every firing unit's occupied cells in reach as compressed rows (for inspection)."""
        self._sync_reach()
        if self._rf_csr is None:
            _, col = np.nonzero(self._rf_reach)
            ptr = np.concatenate(([0], np.cumsum(self._rf_n_cand))).astype(np.int64)
            self._rf_csr = (ptr, self._ua_cells[col])
        return self._rf_csr

    @property
    def cell(self) -> np.ndarray:
        """Grid cell of each unit's position."""
        self._sync()
        return self._cell

    @property
    def fire_cell(self) -> np.ndarray:
        """Cell each unit fires from (a glide-bomb carrier's release point; else its own cell)."""
        self._sync()
        return self._fire_cell

    @property
    def zone_bits(self) -> np.ndarray:
        """Per unit, bit ``i`` set when its position lies in zone ``theater.zone_ids[i]``."""
        self._sync()
        return self._zone_bits

    @property
    def primary_zone(self) -> np.ndarray:
        """Per unit, its first zone in scenario order (-1: outside every zone)."""
        self._sync()
        return self._primary_zone

    @property
    def rf_city_in_range(self) -> np.ndarray:
        """Per firing unit, whether the city lies within its weapon's range of its fire position."""
        self._sync_reach()
        return self._rf_city_in_range

    @property
    def rf_cand_ptr(self) -> np.ndarray:
        """Per firing unit, where its occupied Ukrainian cells in reach start in :attr:`rf_cand_cells`."""
        return self._fire_candidates()[0]

    @property
    def rf_cand_cells(self) -> np.ndarray:
        """The occupied Ukrainian cells in reach of each firing unit, unit after unit, cells in order."""
        return self._fire_candidates()[1]

    def move_to(self, units: np.ndarray, x: np.ndarray, depth: np.ndarray) -> None:
        """Put units at new positions (what depends on them follows when next read)."""
        self.x[units] = x
        self.depth[units] = depth
        self._refresh(units)

    def mean_depth(self, side: int) -> np.ndarray:
        """Per target class, the mean depth (km into Russia) of the side's live units (nan: none)."""
        live = self.alive & self._side_mask[side]
        cls = self.cls[live]
        total = np.bincount(cls, weights=self.depth[live], minlength=len(self.class_ids))
        count = np.bincount(cls, minlength=len(self.class_ids))
        # No division by zero to silence: empty classes divide by one and are masked.
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    # ------------------------------------------------------------------ coverage
    def _coverage(self) -> np.ndarray:
        """Both sensor kinds' coverage, per slot of :attr:`sensor_cover` (see its ``slot_of_cell``).

        Brought up to date with the sensors' state (strength, zero when lost),
        which changes far less often than once a step: the cover is
        recomputed only when it changed.
        """
        s = self._sensors
        if kernels.enabled():
            self._sensors_changed()
        else:
            s.update(self.strength, self.alive)
        return s.cover

    def _sensors_changed(self) -> bool:
        """The compiled state check of :meth:`_coverage` (recomputes the cover); whether it changed."""
        s = self._sensors
        return kdetect.sensors_changed(
            s.units,
            self.strength,
            self.alive,
            s.state,
            s.pair_sensor,
            s.pair_p,
            MAX_PAIR_CHANCE,
            s.pair_x,
            s.pair_slot,
            s.cover,
        )

    @property
    def sensor_cover(self) -> SensorCover:
        """Ukraine's radar and ISR coverage as of the last detection (for inspection)."""
        return self._sensors

    def ukrainian_air_cover(self) -> np.ndarray:
        """Per cell, chance that Ukrainian air defence (with interceptors left) covers it."""
        return self.ua_ad.cover(self.strength, self.alive)

    def russian_air_cover(self) -> np.ndarray:
        """Per cell, chance that Russian air defence (with interceptors left) covers it."""
        self._sync()  # Russian batteries move: their cover follows their positions
        return self.ru_ad.cover(self.strength, self.alive)

    def russian_air_cover_at(self, cells: np.ndarray) -> np.ndarray:
        """:meth:`russian_air_cover` at the given cells only."""
        self._sync()
        return self.ru_ad.cover_at(cells, self.strength, self.alive)

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
        pos = np.arange(len(cells)).repeat(lens)
        idx = np.arange(int(lens.sum())) - (lens.cumsum() - lens).repeat(lens) + starts[pos]
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
        """Russian firing units attack the city and the Ukrainian positions their recon finds.

        A unit fires at the city (when in reach, with its city share) or at a
        Ukrainian position in reach; the salvo does harm only where Russia's
        reconnaissance has found a unit (more likely if it fired the day before
        and did not scoot). Glide-bomb carriers fly to their release points,
        where Ukraine's long-range air defence may shoot one down; Russia then
        moves its release points back. Draws a fixed number of variates per
        step (eight per firing unit) so that runs under different rule sets
        stay aligned on common random numbers.
        """
        n = len(self.rf)
        u = rng.random((8, n))
        units = self.rf
        if kernels.enabled():
            return self._russian_fire_compiled(step, fire_multiplier, stock, u)
        self._sync_reach()
        cb = self.combat
        recent = (step - self.last_struck[units]) * self.step_days <= cb.pullback.memory_days
        tempo = np.where(self._rf_airbase & recent, cb.pullback.airbase_tempo_after_strike, 1.0)
        p = np.minimum(self.rf_prob * self.strength[units] * fire_multiplier * tempo, 1.0)
        wants = self.alive[units] & (u[0] < p)
        at_city = wants & self._rf_city_in_range & (u[1] < self.rf_city_share)
        at_front = wants & ~at_city & self._rf_has_cand
        firing = at_city | at_front
        w_fire, s_fire = self.rf_weapon[firing], self.rf_salvoes[firing]
        granted = ration(w_fire, s_fire, stock)
        if not granted.all():
            firing[firing.nonzero()[0][~granted]] = False
            at_city &= firing
            at_front &= firing
            w_fire, s_fire = w_fire[granted], s_fire[granted]
        # Whole salvoes off stocks: integer amounts, so subtracting their sum per weapon
        # gives exactly what subtracting them one by one would.
        stock -= np.bincount(w_fire, weights=s_fire, minlength=len(stock))
        fired_units = units[firing]
        self.last_fired[fired_units] = step
        self.fired_at_city[units] = at_city

        # Fire on Ukrainian positions goes to a random occupied cell in reach (below); the air
        # cover of those cells and of the city is read once, before any interceptor is spent.
        shooters = at_front.nonzero()[0]
        cells = self._target_cells(shooters, u[3][shooters])
        cover = self.ua_ad.cover_at(
            np.concatenate(([self.th.city_cell], cells)), self.strength, self.alive
        )

        # Fire on the city: each unit's salvoes may be intercepted (one engagement each).
        w_city = self.rf_weapon[at_city]
        p_int_city = self.w_intercept[w_city] * cover[0]
        self.ua_ad.engage(np.full(int((p_int_city > 0).sum()), self.th.city_cell), self.alive)
        landed = self.rf_salvoes[at_city] * (u[2][at_city] >= p_int_city)
        city_by_weapon = np.bincount(w_city, weights=landed, minlength=len(self.weapon_ids))
        city_harm = float((city_by_weapon * self.w_harm).sum())

        # A random unit in the cell, harmed only if Russian reconnaissance found it.
        lo = self.ua_cell_ptr[cells]
        size = self.ua_cell_ptr[cells + 1] - lo
        targets = self.ua_cell_members[lo + (u[4][shooters] * size).astype(np.int64)]
        w_front = self.rf_weapon[shooters]
        fired_before = self.last_fired[targets] == step - 1
        found_p = 1.0 - (1.0 - cb.recon.detect_prob) * (
            1.0 - cb.recon.after_fire_prob * fired_before * (1.0 - self.scoot_prob[targets])
        )
        found = u[6][shooters] < found_p
        p_int = self.w_intercept[w_front] * cover[1:]
        engaged = found & (p_int > 0) & self.alive[targets]
        self.ua_ad.engage(cells[engaged], self.alive)
        hit = self.alive[targets] & found & (u[5][shooters] >= p_int)
        targets, w_front = targets[hit], w_front[hit]
        salvoes = self.rf_salvoes[shooters][hit]
        damage = self.effect[w_front, self.cls[targets]] * salvoes
        losses = self.apply_damage(targets, damage, step)

        # Carriers at their release points under Ukrainian long-range air defence.
        downed = self._carriers_downed((firing & self.rf_air).nonzero()[0], u[7])
        if downed:
            kk = np.array(downed, dtype=np.int64)
            self.carriers_downed_now += len(kk)
            losses = np.r_[
                losses,
                self.apply_damage(
                    units[kk], np.full(len(kk), cb.pullback.carrier_loss_strength), step
                ),
            ]
            self.rf_release[kk] = np.minimum(
                self.rf_release[kk] + cb.pullback.release_pullback_km, self.rf_release_cap[kk]
            )
            self._place_fire(kk)
        return FireOutcome(
            fired=fired_units,
            at_city=at_city[firing],
            city_landed_by_weapon=city_by_weapon,
            city_harm=city_harm,
            hits_on_units=len(targets),
            ukrainian_losses=losses[self.side[losses] == SIDE_UKRAINE] if len(losses) else losses,
        )

    def _russian_fire_compiled(
        self, step: int, fire_multiplier: float, stock: np.ndarray, u: np.ndarray
    ) -> FireOutcome:
        """:meth:`russian_fire` after its draws, in one kernel (:mod:`.kernels.fire`).

        The kernel first brings the firing units' targets in reach up to date
        (as :meth:`_sync_reach`). The Ukrainian air cover over the city and the
        occupied cells (:meth:`AirDefence.cover_at`, the C library's ``expm1``) is kept
        for the last few states of the batteries (:meth:`AirDefence.kept_covers`);
        the kernel hands back before firing when the state now is not among them,
        and is called again once its cover is added.
        """
        cb = self.combat
        ad = self.ua_ad
        # Fire lands on the city or on a cell holding Ukrainian units: the cover is read there.
        cells = getattr(self, "_fire_cover_cells", None)
        if cells is None:
            cells = self._fire_cover_cells = np.r_[self.th.city_cell, self._ua_cells].astype(
                np.int64
            )
        kept = ad.kept_covers(cells)
        # The scenario's constants the kernel takes, converted once (scenario sections are frozen).
        consts = getattr(self, "_fire_constants", None)
        if consts is None or consts[0] is not cb:
            consts = self._fire_constants = (
                cb,
                (
                    float(self.step_days),
                    float(cb.pullback.memory_days),
                    float(cb.pullback.airbase_tempo_after_strike),
                    float(cb.recon.detect_prob),
                    float(cb.recon.after_fire_prob),
                    float(cb.pullback.carrier_loss_strength),
                    float(self.destroyed_below),
                    LOST,
                    SIDE_UKRAINE,
                    int(self.th.city_cell),
                ),
            )
        if self._any_reach_moved:  # the kernel brings the reach up to date first
            self._any_reach_moved = False
            self._rf_csr = None
        # What the kernel hands back, written here (see the kernel): units, whether at the city.
        n = len(self.rf)
        units = np.empty(4 * n, dtype=np.int64)
        at_city = np.empty(n, dtype=np.bool_)
        by_weapon = np.zeros(len(stock))
        for _attempt in range(2):  # a second call always finds the cover up to date
            up_to_date, n_fired, n_lost, n_down, n_city, harm, hits, used = (
                fire_kernels.russian_fire(
                    int(step),
                    float(fire_multiplier),
                    *consts[1],
                    u,
                    self._reach_moved,
                    self.w_range,
                    *self._rf_points,
                    self.rf,
                    self.rf_weapon,
                    self.rf_prob,
                    self.rf_salvoes,
                    self.rf_city_share,
                    self._rf_airbase,
                    self.rf_air,
                    self._rf_city_in_range,
                    self._rf_has_cand,
                    self._rf_n_cand,
                    self._rf_reach,
                    self.rf_fx,
                    self.rf_fd,
                    self._ua_cells,
                    self.ua_cell_ptr,
                    self.ua_cell_members,
                    self.w_intercept,
                    self.w_harm,
                    self.effect,
                    stock,
                    self.x,
                    self.depth,
                    self.side,
                    self.cls,
                    self.scoot_prob,
                    self.strength,
                    self.alive,
                    self.status,
                    self.destroyed_now,
                    self.last_fired,
                    self.last_struck,
                    self.fired_at_city,
                    ad.units,
                    ad.aircraft_kill_prob,
                    ad.aircraft_range_km,
                    ad.interceptors,
                    ad.pairs.source,
                    ad.cell_ptr,
                    kept.states,
                    kept.covers,
                    kept.n,
                    units,
                    at_city,
                    by_weapon,
                )
            )
            if up_to_date:
                break
            kept = ad.keep_cover(self.strength, self.alive, cells)
        else:
            raise RuntimeError("the Ukrainian air cover kept changing within one fire phase")
        ad.used += used
        if n_city == 0:  # numpy's bincount of no salvoes counts in integers
            by_weapon = np.zeros(len(by_weapon), dtype=np.int64)
        fired, losses = units[:n_fired], units[n_fired : n_fired + n_lost]
        if n_down:
            downed = units[n_fired + n_lost : n_fired + n_lost + n_down]
            self.carriers_downed_now += n_down
            self.rf_release[downed] = np.minimum(
                self.rf_release[downed] + cb.pullback.release_pullback_km,
                self.rf_release_cap[downed],
            )
            self._place_fire(downed)
        return FireOutcome(
            fired=fired,
            at_city=at_city[:n_fired],
            city_landed_by_weapon=by_weapon,
            city_harm=harm,
            hits_on_units=hits,
            ukrainian_losses=losses,
        )

    def _carriers_downed(self, carriers: np.ndarray, u: np.ndarray) -> list[int]:
        """Which firing carriers (positions among the firing units) Ukraine shoots down, in order.

        Each carrier faces the batteries in reach of its release point with
        missiles left; a battery that fires spends one. Chances are computed for
        all carriers at once and again only when a battery runs out.
        """
        downed: list[int] = []
        if len(carriers) == 0:
            return downed
        ad = self.ua_ad
        chances, shooters = ad.carrier_kill_chances(
            self.rf_fx[carriers], self.rf_fd[carriers], self.strength, self.alive
        )
        chance, by = chances.tolist(), shooters.tolist()
        for j, k in enumerate(carriers.tolist()):
            p_kill = chance[j]
            if p_kill > 0 and u[k] < 1.0 - (1.0 - p_kill) ** int(self.rf_salvoes[k]):
                downed.append(k)
                ad.interceptors[by[j]] = max(0.0, ad.interceptors[by[j]] - 1.0)
                ad.used += 1
                if ad.interceptors[by[j]] < 1.0 and j + 1 < len(carriers):
                    # That battery is out of missiles: the carriers still to come that it
                    # reached face the others only (the rest face what they faced).
                    later = np.arange(j + 1, len(carriers))
                    rest = carriers[later]
                    hit = ad.reaches(by[j], self.rf_fx[rest], self.rf_fd[rest])
                    if hit.any():
                        rows, again = later[hit], rest[hit]
                        c, b = ad.carrier_kill_chances(
                            self.rf_fx[again], self.rf_fd[again], self.strength, self.alive
                        )
                        for row, cc, bb in zip(rows.tolist(), c.tolist(), b.tolist(), strict=True):
                            chance[row], by[row] = cc, bb
        return downed

    def detect(
        self,
        step: int,
        preparation_prob: float,
        fixed_attempt_prob: float,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ukrainian radars and ISR look for Russian units; fixed sites are known.

        Radars see only units that fired this step, where the fire came from
        (the release point, for aircraft); ISR sees any unit where it stands,
        and a destroyed one that Ukraine still believes alive (a wreck, a
        decoy) at a share of that chance. A unit seen firing is remembered as
        such and is known to be alive again. Each detection is a located track
        with an error; a mobile unit that fired or was detected may leave its
        position some hours later (its departure time is drawn here). Returns
        the candidate targets (mobile units seen, fixed sites on today's list,
        neither believed destroyed) and, per candidate, whether ISR saw it
        preparing to attack.
        """
        u = rng.random((5, self.n))
        z = rng.standard_normal((2, self.n))
        kc = self.combat.killchain
        bda = self.combat.damage_assessment
        self._sync()
        cover = self._coverage()
        slot = self._sensors.slot_of_cell
        if kernels.enabled():
            return kdetect.detect_units(
                int(step),
                u,
                z,
                cover,
                slot,
                self._cell,
                self._fire_cell,
                self.last_fired,
                self.alive,
                self.status,
                LOST,
                self._detect_flags,
                self._detect_rates,
                float(bda.wreck_detect_factor),
                float(fixed_attempt_prob),
                float(preparation_prob),
                float(kc.radar_error_km),
                float(kc.isr_error_km),
                self.believed_destroyed,
                self.last_seen_firing,
                self.track_error_km,
                self.leave_h,
            )
        fired_now = self.last_fired == step
        isr_here = cover[slot[1][self._cell]]
        miss = (1.0 - cover[slot[0][self._fire_cell]] * fired_now) * (1.0 - isr_here)
        live = self._ru_military & self.alive & (u[0] < 1.0 - miss)
        wreck = (self.status == LOST) & ~self.believed_destroyed
        wreck_seen = self._ru_military_mobile & wreck & (u[0] < isr_here * bda.wreck_detect_factor)
        seen_firing = live & fired_now
        self.last_seen_firing[seen_firing] = step
        self.believed_destroyed[seen_firing] = False
        seen = (live | wreck_seen) & ~self.fixed & ~self.believed_destroyed
        known = self._ru_fixed & (self.alive | wreck)
        fixed = known & ~self.believed_destroyed & (u[2] < fixed_attempt_prob)
        candidates = (seen | fixed).nonzero()[0]
        preparing = self._can_fire & seen & self.alive & ~fired_now & (u[1] < preparation_prob)
        sigma = np.where(fired_now, kc.radar_error_km, kc.isr_error_km)
        # In place: whoever holds these arrays (a kernel's arguments) sees this step's values.
        self.track_error_km[:] = np.where(self.fixed, 0.0, sigma * np.hypot(z[0], z[1]))
        movable = self._ru_mobile & self.alive
        self.leave_h[:] = departure_hours(
            self.scoot_prob, self.displace_prob, self.leave_hours, fired_now, live, movable, u[3:5]
        )
        return candidates, preparing[candidates]

    def apply_damage(self, targets: np.ndarray, damage: np.ndarray, step: int = 0) -> np.ndarray:
        """Reduce targets' strength; return the indices destroyed by this damage."""
        if len(targets) == 0:
            return np.zeros(0, dtype=np.int64)
        if kernels.enabled():
            return fire_kernels.apply_damage(
                np.ascontiguousarray(targets, dtype=np.int64),
                np.ascontiguousarray(damage, dtype=np.float64),
                self.strength,
                self.alive,
                self.status,
                self.destroyed_now,
                float(self.destroyed_below),
                LOST,
            )
        np.subtract.at(self.strength, targets, damage)
        np.maximum(self.strength, 0.0, out=self.strength)
        dead = self.alive & (self.strength < self.destroyed_below)  # alive until now
        self.alive[dead] = False
        self.status[dead] = LOST
        self.strength[dead] = 0.0
        newly = dead.nonzero()[0]
        self.destroyed_now[newly] = True
        return newly

    def strike(
        self,
        targets: np.ndarray,
        weapons: np.ndarray,
        launchers: np.ndarray,
        rng: np.random.Generator,
        step: int = 0,
        cover: np.ndarray | None = None,
    ) -> StrikeOutcome:
        """Resolve Ukrainian strikes: interception, the kill chain's timing, damage, assessment.

        In order: a salvo may be intercepted by Russian air defence (using an
        interceptor); a target destroyed earlier is struck for nothing; a
        target that left its tracked position before the salvo arrived (tasking
        delay plus time of flight from the launch point) is missed; otherwise
        the damage falls off with the distance between the aim point (the
        track, with its location error) and the target. Ukraine then assesses
        the result, sometimes wrongly. Draws three variates per unit per step
        (indexed by target) so that common random numbers line up across rule sets.

        ``cover``, if given, is Russian air cover at each target's cell as
        planning read it (:attr:`StrikePlan.cover
        <escalation_sim.model.engagement.StrikePlan.cover>`); nothing between
        planning and here changes it, so it is not read again.
        """
        u = rng.random((3, self.n))
        if len(targets) == 0:  # the draws are made all the same, to keep streams aligned
            no, none = np.zeros(0, dtype=bool), np.zeros(0)
            return StrikeOutcome(no, none, no, no, no, none, none, no)
        cb = self.combat
        cells = self.cell[targets]  # the property: brought up to date if a target moved
        if cover is None:
            cover = self.russian_air_cover_at(cells)
        if kernels.enabled():
            return self._strike_compiled(targets, weapons, launchers, cells, cover, u, step)
        p_int = self.w_intercept[weapons] * cover
        self.ru_ad.engage(cells[p_int > 0], self.alive)
        intercepted = u[0][targets] < p_int
        already = self.status[targets] == LOST
        dist = np.hypot(
            self.launch_x[launchers] - self.x[targets],
            self.launch_depth[launchers] - self.depth[targets],
        )
        arrival = self.w_tasking[weapons] + dist / self.w_speed[weapons]
        moved = ~intercepted & ~already & (self.leave_h[targets] < arrival)
        miss_km = np.where(moved, self.hop_km[targets], self.track_error_km[targets])
        on_target = libm.exp(-0.5 * (miss_km / cb.killchain.target_footprint_km) ** 2)
        spread = 1.0 + self.damage_spread * (2.0 * u[1][targets] - 1.0)
        lands = ~intercepted & ~already & ~moved
        damage = np.where(lands, self.effect[weapons, self.cls[targets]] * spread * on_target, 0.0)
        self.apply_damage(targets, damage, step)
        destroyed = self.destroyed_now[targets] & lands
        bda = cb.damage_assessment
        believed = np.where(
            destroyed | already,
            u[2][targets] < bda.destroyed_seen_prob,
            lands & (damage > 0) & (u[2][targets] < bda.damaged_called_destroyed_prob),
        )
        self.believed_destroyed[targets] |= believed
        self.last_struck[targets[lands]] = step
        self.last_fired[launchers] = step
        return StrikeOutcome(
            intercepted=intercepted,
            damage=damage,
            destroyed=destroyed,
            moved=moved,
            already_destroyed=already & ~intercepted,
            miss_km=miss_km,
            arrival_hours=arrival,
            believed_destroyed=believed,
        )

    def _strike_compiled(
        self,
        targets: np.ndarray,
        weapons: np.ndarray,
        launchers: np.ndarray,
        cells: np.ndarray,
        cover: np.ndarray,
        u: np.ndarray,
        step: int,
    ) -> StrikeOutcome:
        """:meth:`strike` after its draws and the air cover, in one kernel (:mod:`.kernels.strike`).

        The air cover (``expm1``) and the damage's fall-off with the track error
        (``exp``) are numpy's; the kernel does the rest.
        """
        cb = self.combat
        ad = self.ru_ad
        # Only strikes that land use it, and a strike that lands was aimed at its track.
        footprint = cb.killchain.target_footprint_km
        on_track = libm.exp(-0.5 * (self.track_error_km[targets] / footprint) ** 2)
        bda = cb.damage_assessment
        floats, flags, used = strike_kernels.resolve_strikes(
            targets,
            weapons,
            launchers,
            cells,
            cover,
            on_track,
            u,
            self.w_intercept,
            self.w_tasking,
            self.w_speed,
            self.effect,
            self.cls,
            self.x,
            self.depth,
            self.launch_x,
            self.launch_depth,
            self.leave_h,
            self.hop_km,
            self.track_error_km,
            self.strength,
            self.alive,
            self.status,
            self.destroyed_now,
            self.believed_destroyed,
            self.last_struck,
            self.last_fired,
            ad.units,
            ad.interceptors,
            ad.pairs.source,
            ad.cell_ptr,
            float(self.damage_spread),
            float(self.destroyed_below),
            float(bda.destroyed_seen_prob),
            float(bda.damaged_called_destroyed_prob),
            int(step),
            LOST,
        )
        ad.used += used
        damage, miss_km, arrival = floats
        intercepted, destroyed, moved, already, believed = flags
        return StrikeOutcome(
            intercepted=intercepted,
            damage=damage,
            destroyed=destroyed,
            moved=moved,
            already_destroyed=already,
            miss_km=miss_km,
            arrival_hours=arrival,
            believed_destroyed=believed,
        )

    def relocate(self, rng: np.random.Generator) -> np.ndarray:
        """Units whose departure came within the step move ``hop_km`` in a random direction.

        They stay inside Russia and within their home zone's stretch of the
        border. Draws one variate per unit per step. Returns the units moved.
        """
        if kernels.enabled():
            movers, any_rf, any_ad = kmove.relocate_units(
                rng.random(self.n),
                self.leave_h,
                self.alive,
                24.0 * self.step_days,
                self._hop_table,
                MIN_RUSSIAN_DEPTH_KM,
                self.pullback_cap,
                self.x,
                self.depth,
                self._moved,
                self._rf_of_unit,
                self.rf_air,
                self.rf_release,
                float(self.th.city_xy[0]),
                self.rf_fx,
                self.rf_fd,
                self._reach_moved,
                self._is_ru_ad,
                self._ru_ad_dirty,
            )
            if len(movers):  # what _refresh() records of a move
                self._any_moved = True
                if any_rf:
                    self._any_reach_moved = True
                if any_ad:
                    self._ru_ad_moved = True
                self.moved_now += len(movers)
            return movers
        angle = rng.random(self.n) * 2.0 * np.pi
        movers = ((self.leave_h < 24.0 * self.step_days) & self.alive & self._hops).nonzero()[0]
        self.leave_h[:] = np.inf
        if len(movers) == 0:
            return movers
        nx, nd = hop(
            self.x[movers],
            self.depth[movers],
            self.hop_km[movers],
            angle[movers],
            MIN_RUSSIAN_DEPTH_KM,
        )
        nx = np.minimum(np.maximum(nx, self._home_x0[movers]), self._home_x1[movers])
        nd = np.minimum(nd, np.maximum(self.pullback_cap[movers], self.depth[movers]))
        self.move_to(movers, nx, nd)
        self.moved_now += len(movers)
        return movers

    def pull_back(self, threat_depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mobile Russian units move back beyond the deepest fast strike seen in their home zone.

        Each threatened unit moves with ``response_prob`` a day, straight back
        to the threat depth plus a margin, or as deep as its mission allows.
        Draws one variate per unit per step. Returns the units moved.
        """
        pb = self.combat.pullback
        u = rng.random(self.n)
        if kernels.enabled():
            # The kernel writes the movers here (a fresh array each step: what is returned is
            # a slice of it, which nothing later overwrites).
            slots = np.empty(self.n, dtype=np.int64)
            n_moved = kmove.pull_back_units(
                np.ascontiguousarray(threat_depth, dtype=float),
                self.home_zone,
                float(pb.margin_km),
                self.pullback_cap,
                self.alive,
                self._ru_pulls_back,
                float(1.0 - (1.0 - pb.response_prob) ** self.step_days),
                u,
                self.depth,
                slots,
            )
            if n_moved == 0:
                return _NO_UNITS
            movers = slots[:n_moved]
            self._refresh(movers)
            self.pulled_back_now += n_moved
            return movers
        # Nothing to pull back from (the draw is made all the same).
        if not (threat_depth > 0).any():
            return np.zeros(0, dtype=np.int64)
        threat = threat_depth[self.home_zone]
        goal = np.minimum(np.where(threat > 0, threat + pb.margin_km, 0.0), self.pullback_cap)
        day_p = 1.0 - (1.0 - pb.response_prob) ** self.step_days
        movers = (
            self.alive & self._ru_pulls_back & (goal > self.depth + 1.0) & (u < day_p)
        ).nonzero()[0]
        if len(movers):
            self.move_to(movers, self.x[movers], goal[movers])
            self.pulled_back_now += len(movers)
        return movers

    def recover(self, repair_per_day: float, step: int) -> np.ndarray:
        """Damaged units repair; losses of this step send replacements; replacements arrive.

        Returns the reserve units that arrived (deployed) this step.
        """
        if kernels.enabled():
            gain = float(repair_per_day * self.step_days)
            if kmove.repair(self.strength, self.alive, gain, self.destroyed_now):
                lost = self.destroyed_now.nonzero()[0]
                self.destroyed_now[:] = False
                self.reserves.send(step, lost)
        else:
            alive = self.alive
            self.strength[alive] = np.minimum(
                1.0, self.strength[alive] + repair_per_day * self.step_days
            )
            self.reserves.send(step, self.destroyed_now.nonzero()[0])
            self.destroyed_now[:] = False
        if step < self.reserves.next_arrival:  # nothing due: most steps
            return _NO_UNITS
        back = self.reserves.arriving(step)
        if len(back):
            self.status[back] = ACTIVE
            self.alive[back] = True
            self.strength[back] = 1.0
            self.last_fired[back] = NEVER
            self.last_seen_firing[back] = NEVER
            self.last_struck[back] = NEVER
            self.believed_destroyed[back] = False
            self._refresh(back)
        return back

    def forces_and_reserves(self, side: int) -> int:
        """Units of a side deployed at the start plus the reserves sent so far."""
        mine = self._side_mask[side]
        drawn = self.reserves.drawn
        deployed = np.count_nonzero((self.status != RESERVE) & mine & ~drawn)
        return int(deployed) + int(np.count_nonzero(drawn & mine))

    def lost(self, side: int) -> int:
        """Units of a side lost so far (destroyed; they never come back)."""
        return int(((self.status == LOST) & (self.side == side)).sum())
