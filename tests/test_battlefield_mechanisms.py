"""The battlefield's mechanisms one at a time: geography, kill chain, assessment, movement,
reserves, air defence, tasking.

Each test drives the force layer (or the theater, or the planner) directly on a
model built from a shipped scenario with a few overrides, so one mechanism is
isolated and its inputs are known. Expectations follow from the parameters and
from geometry computed here (an independent point-in-polygon test from
matplotlib), never from numbers the model produced before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as Outline

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.engagement import Outcome, outcome_codes, plan_strikes
from escalation_sim.model.forces import ACTIVE, LOST, RESERVE, SIDE_RUSSIA, SIDE_UKRAINE
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.movement import PullbackMemory
from escalation_sim.model.rules import RuleEngine

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"


def model(overrides: list[str] = (), path: Path = MAY30, seed: int = 0) -> EscalationModel:
    return EscalationModel(with_overrides(load_scenario(path), list(overrides)), seed=seed)


def units_of(f, group: str) -> np.ndarray:
    """Deployed units of a force group."""
    return np.flatnonzero((f.group == f.group_ids.index(group)) & f.alive)


def launcher_of(f, group: str) -> int:
    return int(units_of(f, group)[0])


# ====================================================================== geography


def test_zone_membership_matches_an_independent_point_in_polygon_test():
    m = model()
    th = m.theater
    rng = np.random.default_rng(1)
    x = rng.uniform(th.x0, th.x1, 4000)
    d = rng.uniform(th.d0, th.d1, 4000)
    bits = th.zone_bits(x, d)
    checked = 0
    for i, (zid, spec) in enumerate(m.spec.theater.zones.items()):
        outline = Outline(spec.outline())
        inside = outline.contains_points(np.c_[x, d])
        near = outline.contains_points(np.c_[x, d], radius=0.5) != outline.contains_points(
            np.c_[x, d], radius=-0.5
        )
        ours = (bits >> i & 1).astype(bool)
        np.testing.assert_array_equal(ours[~near], inside[~near], err_msg=zid)
        checked += int(inside.sum())
    assert checked > 1000


def test_shipped_oblasts_hold_their_cities_and_the_border_is_the_line_depth_zero():
    m = model()
    th = m.theater
    places = m.spec.theater.places

    def zones_at(pid: str) -> tuple[str, ...]:
        p = places[pid]
        return th.zone_names(int(th.zone_bits(np.array([p.x_km]), np.array([p.depth_km]))[0]))

    assert "belgorod_oblast" in zones_at("belgorod")
    assert "belgorod_border" in zones_at("belgorod")  # the article's counter-fire area
    assert "kursk_oblast" in zones_at("kursk")
    assert "bryansk_oblast" in zones_at("bryansk")
    assert "kharkiv_oblast" in zones_at("kharkiv")
    assert "sumy_oblast" in zones_at("sumy")
    for zid, spec in m.spec.theater.zones.items():
        _, _, d0, d1 = spec.bounds()
        assert (d0 >= 0) if spec.territory == "russia" else (d1 <= 0), zid


def test_a_rule_can_name_an_oblast():
    """A permission for 'Kursk oblast' allows a strike there and not in Belgorod oblast."""
    sc = with_overrides(
        load_scenario(MAY30),
        [
            "rules.USA.postures.kharkiv_counterfire.rules="
            "[{id: us-kursk, effect: allow, zones: [kursk_oblast], purpose: any}]"
        ],
    )
    m = EscalationModel(sc, seed=0)
    th = m.theater
    engine = RuleEngine(m.active_rules(), sc.weapons, sc.target_classes, th.zone_ids)
    from escalation_sim.model.rules import StrikeBatch, WorldState

    pts = {"kursk": (-190.0, 100.0), "belgorod": (25.0, 38.0)}
    bits = th.zone_bits(
        np.array([p[0] for p in pts.values()]), np.array([p[1] for p in pts.values()])
    )
    batch = StrikeBatch(
        weapon=np.full(2, m.weapon_ids.index("GMLRS")),
        target_class=np.full(2, sc.target_classes.index("artillery")),
        depth_km=np.array([p[1] for p in pts.values()]),
        zone_bits=bits,
        fired_hours_ago=np.full(2, np.inf),
        preparing_attack=np.zeros(2, bool),
        attacks_ukraine=np.ones(2, bool),
    )
    allowed = engine.allows[engine.decide(batch, WorldState())]
    assert allowed.tolist() == [True, False]


def test_forces_are_placed_inside_their_zones_and_bands():
    m = model()
    f = m.forces
    for gi, gid in enumerate(f.group_ids):
        g = m.spec.forces[gid]
        members = np.flatnonzero(f.group == gi)
        outline = Outline(m.spec.theater.zones[g.zone].outline())
        assert outline.contains_points(
            np.c_[f.x[members], f.depth[members]], radius=1e-6
        ).all() or (
            outline.contains_points(np.c_[f.x[members], f.depth[members]], radius=-1e-6).all()
        ), gid
        if g.depth_km is not None:
            assert (f.depth[members] >= g.depth_km.min - 1e-9).all(), gid
            assert (f.depth[members] <= g.depth_km.max + 1e-9).all(), gid


# ====================================================================== kill chain


def _one_strike(m, target: int, weapon: str, launcher_group: str, leave_h: float, error_km=0.0):
    f = m.forces
    f.leave_h[:] = np.inf
    f.leave_h[target] = leave_h
    f.track_error_km[:] = 0.0
    f.track_error_km[target] = error_km
    w = m.weapon_ids.index(weapon)
    out = f.strike(
        np.array([target]),
        np.array([w]),
        np.array([launcher_of(f, launcher_group)]),
        np.random.default_rng(0),
        step=1,
    )
    return out


NO_INTERCEPT = ["weapons.GMLRS.interception_chance=0", "combat.damage_spread=0"]


def test_a_unit_that_relocates_before_the_strike_lands_is_missed():
    m = model(NO_INTERCEPT)
    f = m.forces
    target = int(units_of(f, "ru_artillery_belgorod")[0])
    w = m.weapon_ids.index("GMLRS")
    launcher = launcher_of(f, "ua_himars")
    flight = np.hypot(
        f.launch_x[launcher] - f.x[target], f.launch_depth[launcher] - f.depth[target]
    )
    arrival = f.w_tasking[w] + flight / f.w_speed[w]
    out = _one_strike(m, target, "GMLRS", "ua_himars", leave_h=0.5 * arrival)
    assert out.moved[0] and out.damage[0] == 0.0 and not out.destroyed[0]
    assert outcome_codes(out)[0] == Outcome.TARGET_MOVED
    assert out.arrival_hours[0] == pytest.approx(arrival)
    assert f.strength[target] == 1.0


def test_a_unit_that_leaves_after_the_strike_lands_is_hit():
    m = model(NO_INTERCEPT)
    f = m.forces
    target = int(units_of(f, "ru_artillery_belgorod")[0])
    out = _one_strike(m, target, "GMLRS", "ua_himars", leave_h=50.0)
    expected = m.spec.weapons["GMLRS"].effect["artillery"]
    assert not out.moved[0]
    assert out.damage[0] == pytest.approx(expected)
    assert outcome_codes(out)[0] in (Outcome.DAMAGED, Outcome.DESTROYED)


def test_location_error_costs_effect_as_the_footprint_says():
    m = model(NO_INTERCEPT)
    f = m.forces
    footprint = m.spec.combat.killchain.target_footprint_km
    target = int(units_of(f, "ru_artillery_belgorod")[0])
    out = _one_strike(m, target, "GMLRS", "ua_himars", leave_h=np.inf, error_km=footprint)
    full = m.spec.weapons["GMLRS"].effect["artillery"]
    assert out.damage[0] == pytest.approx(full * np.exp(-0.5))
    assert out.miss_km[0] == pytest.approx(footprint)


def test_slow_weapons_miss_more_shoot_and_scoot_units_than_fast_ones():
    """Over many draws of departure times, a drone (12 h tasking) finds the battery gone
    far more often than GMLRS (0.5 h) does."""
    m = model(["weapons.UA_LR_DRONE.effect.artillery=0.3"])
    f = m.forces
    mobile = np.flatnonzero((f.side == SIDE_RUSSIA) & f.alive & ~f.fixed & (f.cls == 0))
    from escalation_sim.model.movement import departure_hours

    rng = np.random.default_rng(3)
    moved = {"GMLRS": 0, "UA_LR_DRONE": 0}
    for _ in range(200):
        fired = np.zeros(f.n, bool)
        fired[mobile] = True
        leave = departure_hours(
            f.scoot_prob, f.displace_prob, f.leave_hours, fired, fired, fired, rng.random((2, f.n))
        )
        for wid in moved:
            w = m.weapon_ids.index(wid)
            moved[wid] += int((leave[mobile] < f.w_tasking[w]).sum())
    assert moved["UA_LR_DRONE"] > 1.5 * moved["GMLRS"] > 0


def test_fixed_sites_stay_put_and_mobile_units_move():
    m = model(seed=2)
    f = m.forces
    x0, d0 = f.x.copy(), f.depth.copy()
    fixed = f.fixed & (f.status != RESERVE)
    for _ in range(40):
        m.step()
    assert (f.x[fixed] == x0[fixed]).all() and (f.depth[fixed] == d0[fixed]).all()
    mobile_ru = (f.side == SIDE_RUSSIA) & ~f.fixed & (f.status != RESERVE)
    assert ((f.x != x0) | (f.depth != d0))[mobile_ru].any()
    # Ukrainian units keep their positions (their scooting shows in Russian recon).
    ua = f.side == SIDE_UKRAINE
    assert (f.x[ua] == x0[ua]).all()
    # Every Russian unit is still inside Russia.
    assert (f.depth[f.side == SIDE_RUSSIA] > 0).all()


# ====================================================================== damage assessment


def test_a_destroyed_target_believed_alive_is_struck_again_for_nothing():
    m = model([*NO_INTERCEPT, "combat.damage_assessment.destroyed_seen_prob=1"])
    f = m.forces
    target = int(units_of(f, "ru_artillery_belgorod")[0])
    f.apply_damage(np.array([target]), np.array([1.0]))
    assert f.status[target] == LOST and not f.believed_destroyed[target]
    out = _one_strike(m, target, "GMLRS", "ua_himars", leave_h=np.inf)
    assert out.already_destroyed[0] and out.damage[0] == 0.0
    assert outcome_codes(out)[0] == Outcome.ALREADY_DESTROYED
    assert f.believed_destroyed[target]  # the second look shows the wreck for what it is


def test_a_damaged_unit_believed_destroyed_is_left_alone_until_seen_firing():
    m = model(
        [
            "forces.ua_isr_drones.sensor.detect_prob=1",
            "forces.ua_radars.sensor.detect_prob=1",
        ]
    )
    f = m.forces
    art = units_of(f, "ru_artillery_belgorod")
    f.last_fired[:] = -100
    rng = np.random.default_rng(0)
    cand, _ = f.detect(5, 0.3, 0.0, rng)
    seen = art[np.isin(art, cand)]
    assert len(seen) > 0, "set-up: some battery must be detectable"
    f.believed_destroyed[seen] = True
    for _ in range(20):
        cand, _ = f.detect(5, 0.3, 0.0, rng)
        assert not np.isin(seen, cand).any(), "Ukraine struck what it believed destroyed"
    f.last_fired[seen] = 6  # they fire again: the radar shows they live
    hits = 0
    for _ in range(20):
        cand, _ = f.detect(6, 0.3, 0.0, rng)
        hits += int(np.isin(seen, cand).sum())
    assert hits > 0 and not f.believed_destroyed[seen].all()


def test_assessment_errors_happen_at_their_rates():
    m = model([*NO_INTERCEPT, "combat.damage_assessment.damaged_called_destroyed_prob=0.5"])
    f = m.forces
    target = int(units_of(f, "ru_command_posts")[0])
    called = 0
    n = 400
    rng = np.random.default_rng(1)
    w = np.array([m.weapon_ids.index("GMLRS")])
    launcher = np.array([launcher_of(f, "ua_himars")])
    for _ in range(n):
        f.strength[target] = 1.0
        f.alive[target] = True
        f.status[target] = ACTIVE
        f.believed_destroyed[target] = False
        f.leave_h[target] = np.inf
        out = f.strike(np.array([target]), w, launcher, rng)
        assert not out.destroyed[0]  # one GMLRS salvo does not destroy a command post
        called += int(out.believed_destroyed[0])
    assert abs(called / n - 0.5) < 0.08


# ====================================================================== Russian pull-back


def test_pull_back_moves_threatened_mobile_units_beyond_the_strikes_and_no_others():
    m = model(["combat.pullback.response_prob=1"])
    f = m.forces
    zone = m.theater.zone_ids.index("belgorod_border")
    memory = PullbackMemory(len(m.theater.zone_ids), 14)
    memory.remember(1, np.array([zone]), np.array([40.0]))
    x0, d0 = f.x.copy(), f.depth.copy()
    f.pull_back(memory.threat_depth(), np.random.default_rng(0))
    margin = m.spec.combat.pullback.margin_km
    home = (f.home_zone == zone) & f.alive & f.pulls_back
    goal = np.minimum(40.0 + margin, f.pullback_cap)
    should = home & (d0 < goal - 1.0)
    assert should.any()
    np.testing.assert_allclose(f.depth[should], goal[should])
    assert (f.x[should] == x0[should]).all()
    untouched = ~should
    assert (f.depth[untouched] == d0[untouched]).all()
    # Firing units keep reach into Ukraine: never deeper than range minus min reach.
    rf_cap = f.w_range[f.rf_weapon] - m.spec.combat.pullback.min_reach_km
    assert (f.depth[f.rf] <= np.maximum(rf_cap, d0[f.rf]) + 1e-9).all()


def test_artillery_further_back_reaches_less_of_ukraine():
    m = model()
    f = m.forces
    k = int(np.flatnonzero(f.rf_weapon == m.weapon_ids.index("RU_MLRS"))[0])
    unit = f.rf[k]
    before = f.rf_cand_ptr[k + 1] - f.rf_cand_ptr[k]
    f.move_to(np.array([unit]), f.x[[unit]], np.array([55.0]))
    after = f.rf_cand_ptr[k + 1] - f.rf_cand_ptr[k]
    assert after < before
    assert not f.rf_city_in_range[k]  # 70 km rockets from 55 km deep do not reach the city


def test_memory_forgets_strikes_older_than_its_window():
    memory = PullbackMemory(3, 5)
    memory.remember(0, np.array([1]), np.array([30.0]))
    for k in range(1, 5):
        memory.remember(k, np.zeros(0, np.int64), np.zeros(0))
    assert memory.threat_depth()[1] == 30.0
    memory.remember(5, np.zeros(0, np.int64), np.zeros(0))
    assert memory.threat_depth()[1] == 0.0


# ====================================================================== finite forces


def test_losses_never_exceed_forces_and_reserves_and_nothing_comes_back():
    m = model(["horizon_days=90"], path=SCENARIOS / "deep_strike.yaml", seed=1)
    f = m.forces
    lost_ever: set[int] = set()
    for _ in range(m.n_steps):
        m.step()
        lost = set(np.flatnonzero(f.status == LOST).tolist())
        assert lost_ever <= lost, "a destroyed unit came back"
        lost_ever = lost
        for side in (SIDE_RUSSIA, SIDE_UKRAINE):
            assert f.lost(side) <= f.forces_and_reserves(side)
    ts = m.timeseries()
    assert ts["losses.RUS"].sum() <= ts["forces_and_reserves.RUS"].iloc[-1]
    assert ts["forces_and_reserves.RUS"].is_monotonic_increasing
    assert ts["forces_and_reserves.RUS"].iloc[-1] > ts["forces_and_reserves.RUS"].iloc[0]


# ====================================================================== air defence


def test_interceptors_run_out_and_then_cover_nothing():
    m = model(["forces.ru_air_defence_border.air_defence.interceptors=3"])
    f = m.forces
    ad = f.ru_ad
    border = np.flatnonzero(np.isin(ad.units, units_of(f, "ru_air_defence_border")))
    cell = int(f.cell[ad.units[border[0]]])
    before = f.russian_air_cover()[cell]
    assert before > 0
    for _ in range(3 * len(border) + 10):
        ad.engage(np.array([cell]), f.alive)
    covering = [j for j in border if cell in ad.pairs.cell[ad.pairs.source == j]]
    assert (ad.interceptors[covering] == 0).all()
    assert f.russian_air_cover()[cell] < before
    ad.resupply_step(1.0)
    assert (ad.interceptors[covering] <= 3).all() and (ad.interceptors[covering] > 0).all()


def test_carrier_losses_push_glide_bomb_release_points_back_but_keep_the_city_in_reach():
    m = model(["forces.ua_long_range_sam.air_defence.aircraft_kill_prob=1"])
    f = m.forces
    air = np.flatnonzero(f.rf_air)
    f.rf_prob[air] = 1.0
    start = f.rf_release[air].copy()
    rng = np.random.default_rng(0)
    downed = 0
    for step in range(1, 30):
        f.russian_fire(step, 1.0, m.stock, rng)
        downed += f.carriers_downed_now
        f.carriers_downed_now = 0
    assert downed > 0
    assert (f.rf_release[air] >= start).all() and (f.rf_release[air] > start).any()
    assert (f.rf_release[air] <= f.rf_release_cap[air] + 1e-9).all()
    assert f.rf_city_in_range[air].all()


def test_without_reconnaissance_russian_fire_finds_no_ukrainian_unit():
    m = model(["combat.recon.detect_prob=0", "combat.recon.after_fire_prob=0"])
    f = m.forces
    rng = np.random.default_rng(4)
    for step in range(1, 20):
        fire = f.russian_fire(step, 1.0, m.stock, rng)
        assert fire.hits_on_units == 0
    m2 = model(["combat.recon.detect_prob=1"])
    hits = sum(m2.forces.russian_fire(s, 1.0, m2.stock, rng).hits_on_units for s in range(1, 20))
    assert hits > 0


# ====================================================================== tasking


def _plan(m, family_capacity, permissive: bool):
    f = m.forces
    russian = np.flatnonzero((f.side == SIDE_RUSSIA) & f.alive & f.military)
    f.last_seen_firing[russian] = 5
    sc = m.spec
    rules = (
        {s: [] for s in m.active_rules()}
        if not permissive
        else {
            s: [r for r in sc.rules[s].postures[sc.rules[s].posture].rules if r.effect == "allow"]
            + [sc.rules["GBR"].postures["anywhere"].rules[0].model_copy(update={"id": f"{s}-any"})]
            for s in m.active_rules()
        }
    )
    engine = RuleEngine(rules, sc.weapons, sc.target_classes, m.theater.zone_ids)
    return plan_strikes(
        f,
        engine,
        m.world(),
        russian,
        np.ones(len(russian), bool),
        m.stock,
        5,
        10_000,
        m._engine_weapon,
        family_capacity,
    )


def test_family_capacity_caps_each_family_and_permissions_never_crowd_out_drones():
    m = model()
    f = m.forces
    cap = m._strike_tasking()[1]
    drone = m.weapon_ids.index("UA_LR_DRONE")
    narrow = _plan(m, cap, permissive=False)
    wide = _plan(m, cap, permissive=True)
    for plan in (narrow, wide):
        fam = f.w_family[f.opt_weapon[plan.option]]
        used = np.bincount(fam, minlength=len(cap))
        assert (used <= cap).all()
    drones = lambda p: int((f.opt_weapon[p.option] == drone).sum())  # noqa: E731
    assert drones(narrow) > 0
    assert drones(wide) >= drones(narrow), "a Western permission took a drone sortie's place"
    assert len(wide.target) > len(narrow.target)


def test_air_launched_missiles_reach_from_the_release_point_toward_the_border():
    m = model()
    f = m.forces
    aircraft = units_of(f, "ua_strike_aircraft")
    release = m.spec.forces["ua_strike_aircraft"].launch_depth_km
    assert (f.launch_depth[aircraft] == release).all()
    reach = f.reach()
    o = int(
        np.flatnonzero(
            (f.opt_group == f.group_ids.index("ua_strike_aircraft"))
            & (f.opt_weapon == m.weapon_ids.index("STORM_SHADOW"))
        )[0]
    )
    cells = np.flatnonzero(reach[o] > 0)
    deepest = m.theater.cell_depth[cells].max()
    assert deepest > 200 - m.theater.cell_km
    assert deepest <= release + m.spec.weapons["STORM_SHADOW"].range_km + m.theater.cell_km
