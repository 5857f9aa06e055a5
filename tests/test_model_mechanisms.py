"""Each mechanism of the model on its own, with controlled inputs and generators.

Most tests drive the component classes directly (ForceLayer, plan_strikes,
Ladder, StateActor, PolicyState) on a model built from a shipped scenario with
a few overrides, so that one mechanism is isolated and its inputs are known.
Expectations are derived from the scenario's parameters and from geometry
computed here, never from numbers the model produced before.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching
from scipy.stats import norm

import escalation_sim.model.model as model_module
from escalation_sim import Scenario, load_scenario, scenario_from_dict, with_overrides
from escalation_sim.model.engagement import StrikePlan, plan_strikes
from escalation_sim.model.forces import NEVER, SIDE_RUSSIA, StrikeOutcome, ration
from escalation_sim.model.ladder import Ladder
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.policy import PolicyState

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"
PRE_MAY30 = SCENARIOS / "pre_may30.yaml"
ADAPTIVE = SCENARIOS / "adaptive_policy.yaml"
US_WIDENING = SCENARIOS / "us_widening_schedule.yaml"

UA_LAUNCHER_GROUPS = (
    "ua_himars",
    "ua_mars",
    "ua_m777",
    "ua_caesar",
    "ua_pzh2000",
    "ua_artillery",
    "ua_artillery_sumy",
    "ua_strike_aircraft",
    "ua_drone_launch",
)


def variant(path: Path, overrides: list[str] = (), remove_forces: tuple[str, ...] = ()) -> Scenario:
    """A shipped scenario with force groups removed and ``key=value`` overrides applied."""
    data = load_scenario(path).model_dump(mode="json")
    for group in remove_forces:
        data["forces"][group] = None
    return scenario_from_dict(data, list(overrides))


def half_cell_diagonal(model: EscalationModel) -> float:
    """Reach and coverage are judged at cell centres: a point can be this far off."""
    return model.theater.cell_km * math.sqrt(2) / 2


def distance(f, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Distance matrix (len(i), len(j)) between units."""
    return np.hypot(f.x[i][:, None] - f.x[j][None, :], f.depth[i][:, None] - f.depth[j][None, :])


def sensor_reach(model: EscalationModel, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(sensor unit indices, their ranges) for deployed Ukrainian sensors of a kind."""
    f = model.forces
    idx, rng = [], []
    for gi, gid in enumerate(f.group_ids):
        s = model.spec.forces[gid].sensor
        if s is not None and s.kind == kind:
            members = np.flatnonzero((f.group == gi) & f.alive)
            idx.extend(members.tolist())
            rng.extend([s.range_km] * len(members))
    return np.array(idx, dtype=np.int64), np.array(rng)


def mobile_russian(f) -> np.ndarray:
    """Deployed Russian military units that are not fixed sites (the ones sensors must find)."""
    return np.flatnonzero((f.side == SIDE_RUSSIA) & f.military & ~f.fixed & f.alive)


def detection_counts(
    f, step: int, trials: int, prep: float, fixed_prob: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """How often each unit was a candidate, and how often it was flagged preparing."""
    rng = np.random.default_rng(seed)
    seen = np.zeros(f.n, dtype=np.int64)
    preparing = np.zeros(f.n, dtype=np.int64)
    for _ in range(trials):
        cand, prep_flags = f.detect(step, prep, fixed_prob, rng)
        seen[cand] += 1
        preparing[cand[prep_flags]] += 1
    return seen, preparing


# ====================================================================== detection


class TestDetection:
    STEP = 5

    def test_radar_sees_only_units_that_fired_this_step(self):
        sc = with_overrides(load_scenario(MAY30), ["forces.ua_isr_drones.sensor.detect_prob=0"])
        m = EscalationModel(sc, seed=0)
        f = m.forces
        mobile = mobile_russian(f)
        fired = mobile[::2]
        silent = mobile[1::2]
        f.last_fired[:] = NEVER
        f.last_fired[fired] = self.STEP
        f.last_fired[silent] = self.STEP - 1  # fired yesterday: not "this step"
        seen, preparing = detection_counts(f, self.STEP, 300, prep=1.0, fixed_prob=0.0, seed=1)

        assert seen[silent].sum() == 0, "radar detected units that did not fire this step"
        assert seen[~np.isin(np.arange(f.n), fired)].sum() == 0
        radars, ranges = sensor_reach(m, "radar")
        d = distance(f, fired, radars)
        in_range = (d <= ranges - half_cell_diagonal(m)).any(axis=1)
        assert in_range.any(), "set-up: some firing unit must be well inside radar range"
        assert (seen[fired[in_range]] > 0).all(), "fired units in radar range were never detected"
        # What a radar sees firing is remembered as evidence; silent units get none.
        assert (f.last_seen_firing[fired[seen[fired] > 0]] == self.STEP).all()
        assert (f.last_seen_firing[silent] == NEVER).all()
        # Preparation evidence is for silent units seen by ISR, never for units seen firing.
        assert preparing.sum() == 0

    def test_isr_sees_silent_units(self):
        sc = with_overrides(load_scenario(MAY30), ["forces.ua_radars.sensor.detect_prob=0"])
        m = EscalationModel(sc, seed=0)
        f = m.forces
        f.last_fired[:] = NEVER
        mobile = mobile_russian(f)
        seen, preparing = detection_counts(f, self.STEP, 300, prep=1.0, fixed_prob=0.0, seed=2)

        isr, ranges = sensor_reach(m, "isr")
        d = distance(f, mobile, isr)
        well_inside = (d <= ranges - half_cell_diagonal(m)).any(axis=1)
        assert well_inside.any(), "set-up: some silent unit must be well inside ISR range"
        assert (seen[mobile[well_inside]] > 0).all(), "ISR never saw silent units in its range"
        # Silent units are not evidence of firing ...
        assert (f.last_seen_firing == NEVER).all()
        # ... but with preparation_prob 1 every silent firing unit ISR sees is "preparing".
        can_fire = np.isin(np.arange(f.n), f.rf)
        assert (preparing[can_fire] == seen[can_fire]).all()
        assert preparing[~can_fire].sum() == 0

    def test_fixed_sites_are_candidates_without_detection(self):
        sc = with_overrides(
            load_scenario(MAY30),
            ["forces.ua_isr_drones.sensor.detect_prob=0", "forces.ua_radars.sensor.detect_prob=0"],
        )
        m = EscalationModel(sc, seed=0)
        f = m.forces
        f.last_fired[:] = self.STEP  # everything "fired": still no sensor can see
        fixed = np.flatnonzero((f.side == SIDE_RUSSIA) & f.fixed & f.alive)
        assert len(fixed) >= 2
        dead = fixed[0]
        f.alive[dead] = False
        f.strength[dead] = 0.0
        f.believed_destroyed[dead] = True  # Ukraine knows: a site it believes alive stays listed
        rng = np.random.default_rng(3)
        for _ in range(20):
            cand, _ = f.detect(self.STEP, 0.3, 1.0, rng)
            assert set(cand.tolist()) == set(fixed[1:].tolist())
            cand, _ = f.detect(self.STEP, 0.3, 0.0, rng)
            assert len(cand) == 0

    def test_units_out_of_every_sensor_range_are_never_detected(self):
        sc = with_overrides(
            load_scenario(MAY30),
            ["forces.ua_isr_drones.sensor.detect_prob=1", "forces.ua_radars.sensor.detect_prob=1"],
        )
        m = EscalationModel(sc, seed=0)
        f = m.forces
        mobile = mobile_russian(f)
        f.last_fired[:] = self.STEP  # radars may see everything that is in range
        seen, _ = detection_counts(f, self.STEP, 100, prep=0.3, fixed_prob=0.0, seed=4)

        tol = half_cell_diagonal(m)
        margin = np.full(len(mobile), np.inf)
        for kind in ("radar", "isr"):
            sensors, ranges = sensor_reach(m, kind)
            margin = np.minimum(margin, (distance(f, mobile, sensors) - ranges).min(axis=1))
        out = mobile[margin > tol]
        inside = mobile[margin < -tol]
        assert len(out) > 0 and len(inside) > 0, "set-up: need units both out of and in range"
        assert seen[out].sum() == 0, f"units beyond every sensor's range detected: {seen[out]}"
        assert (seen[inside] > 0).all()

    def test_detection_chance_rises_with_sensor_count(self):
        sc = with_overrides(load_scenario(MAY30), ["forces.ua_isr_drones.sensor.detect_prob=0"])
        m = EscalationModel(sc, seed=0)
        f = m.forces
        radars, ranges = sensor_reach(m, "radar")
        assert len(radars) >= 2
        f.last_fired[:] = self.STEP
        mobile = mobile_russian(f)
        # Units inside the range of the first radar (the one that stays on).
        near_first = mobile[distance(f, mobile, radars[:1])[:, 0] <= ranges[0]]
        assert len(near_first) > 0
        trials = 400
        seen_all, _ = detection_counts(f, self.STEP, trials, 0.0, 0.0, seed=5)
        f.alive[radars[1:]] = False  # only one radar left
        seen_one, _ = detection_counts(f, self.STEP, trials, 0.0, 0.0, seed=5)
        f.alive[radars[1:]] = True

        k_all, k_one = seen_all[near_first].sum(), seen_one[near_first].sum()
        n = trials * len(near_first)
        p_pool = (k_all + k_one) / (2 * n)
        z = (k_all - k_one) / n / math.sqrt(2 * p_pool * (1 - p_pool) / n)
        assert z > norm.ppf(0.999), (
            f"{len(radars)} radars detected {k_all}/{n}, one radar {k_one}/{n} (z={z:.2f})"
        )
        # And per unit, never fewer sensors means never a lower chance (allowing noise).
        assert k_one <= k_all


# ====================================================================== engagement


def only_himars_scenario() -> Scenario:
    """May-30 rules; HIMARS (GMLRS + ATACMS) the only launchers; ATACMS the best option."""
    return variant(
        MAY30,
        [
            "weapons.ATACMS.effect.artillery=1.0",
            "weapons.ATACMS.stock=1000",
            "forces.ua_himars.shots_per_step=100",
        ],
        tuple(g for g in UA_LAUNCHER_GROUPS if g != "ua_himars"),
    )


def option_of(f, weapon: str) -> int:
    return int(np.flatnonzero(f.opt_weapon == f.weapon_ids.index(weapon))[0])


def option_launcher(f, option: int) -> int:
    return int(np.flatnonzero(f.group == f.opt_group[option])[0])


def run_plan(m: EscalationModel, candidates, preparing, step, max_strikes, stock=None):
    return plan_strikes(
        m.forces,
        m.engine,
        m.world(),
        np.asarray(candidates, dtype=np.int64),
        np.asarray(preparing, dtype=bool),
        m.stock.copy() if stock is None else stock,
        step,
        max_strikes,
        m._engine_weapon,
    )


class TestEngagement:
    STEP = 10

    def test_forbidden_best_option_is_withheld_or_constrained_by_the_forbidding_rule(self):
        m = EscalationModel(only_himars_scenario(), seed=0)
        f = m.forces
        gmlrs, atacms = option_of(f, "GMLRS"), option_of(f, "ATACMS")
        belgorod = f.th.zone_ids.index("belgorod_border")
        arty = f.class_ids.index("artillery")
        reach = f.reach()
        targets = np.flatnonzero(
            (f.side == SIDE_RUSSIA)
            & (f.cls == arty)
            & (f.zone_bits >> belgorod & 1 == 1)
            & (reach[gmlrs, f.cell] > 0)
            & (reach[atacms, f.cell] > 0)
        )
        assert len(targets) >= 4, "set-up: need border artillery within HIMARS reach"
        evidence, no_evidence = targets[::2], targets[1::2]
        f.last_seen_firing[:] = NEVER
        f.last_seen_firing[evidence] = self.STEP  # seen firing today: counter-fire allowed
        plan = run_plan(m, targets, np.zeros(len(targets), bool), self.STEP, 1000)

        label = m.engine.labels
        forbid = "us-no-long-range-in-russia"
        # Every opportunity was withheld (ATACMS, the best option, is forbidden) ...
        assert sorted(plan.withheld_target.tolist()) == sorted(targets.tolist())
        assert (plan.withheld_option == atacms).all()
        assert {label[r] for r in plan.withheld_rule} == {forbid}
        sub = dict(
            zip(plan.withheld_target.tolist(), plan.withheld_substituted.tolist(), strict=True)
        )
        # ... with evidence, GMLRS substitutes (constrained) under the counter-fire rule;
        assert all(sub[t] == gmlrs for t in evidence.tolist())
        struck = dict(zip(plan.target.tolist(), plan.rule.tolist(), strict=True))
        assert set(struck) == set(evidence.tolist())
        assert {label[r] for r in struck.values()} == {"us-kharkiv-counterfire"}
        assert (plan.option == gmlrs).all()
        # ... without it, nothing is allowed: sanctuary, still attributed to the forbid rule.
        assert all(sub[t] == -1 for t in no_evidence.tolist())

    def test_allowed_best_option_is_neither_withheld_nor_constrained(self):
        # The same targets under GBR's "anywhere" only: Storm Shadow is allowed outright.
        sc = variant(
            MAY30,
            [
                "forces.ua_strike_aircraft.shots_per_step=100",
                "weapons.STORM_SHADOW.stock=1000",
                "weapons.SCALP_EG.stock=0",
                "weapons.TAURUS.stock=0",
            ],
            tuple(g for g in UA_LAUNCHER_GROUPS if g != "ua_strike_aircraft"),
        )
        m = EscalationModel(sc, seed=0)
        f = m.forces
        storm = option_of(f, "STORM_SHADOW")
        targets = np.flatnonzero(
            (f.side == SIDE_RUSSIA) & f.military & (f.reach()[storm, f.cell] > 0)
        )
        targets = targets[f.effect[f.opt_weapon[storm], f.cls[targets]] > 0]
        assert len(targets) > 0
        plan = run_plan(m, targets, np.zeros(len(targets), bool), self.STEP, 1000)
        assert len(plan.withheld_target) == 0
        assert sorted(plan.target.tolist()) == sorted(targets.tolist())
        assert {m.engine.labels[r] for r in plan.rule} == {"gb-anywhere"}

    def test_target_out_of_every_weapons_reach_is_never_struck(self):
        # Deep depots pushed beyond every weapon's range once drones are removed;
        # the same depots are struck when the drones (1,000 km) are there.
        moves = [
            "forces.ru_logistics_deep.depth_km.min=450",
            "forces.ru_logistics_deep.depth_km.max=650",
            "combat.fixed_target_attempt_prob=1.0",
            "horizon_days=40",
        ]

        def deep_depot_strikes(remove: tuple[str, ...]) -> tuple[int, int]:
            sc = variant(MAY30, moves, remove)
            m = EscalationModel(sc, seed=0)
            m.run()
            ev = m.events.records()
            strikes = [e for e in ev if e["kind"] == "strike"]
            deep = sum(e["target"].startswith("ru_logistics_deep#") for e in strikes)
            return deep, len(strikes)

        with_drones, _ = deep_depot_strikes(())
        assert with_drones > 0, "control: long-range drones must reach the deep depots"
        without, total = deep_depot_strikes(("ua_drone_launch",))
        assert total > 0
        assert without == 0, "a target beyond every weapon's range was struck"

    def test_every_strike_is_within_range_of_a_launcher_of_its_group(self, monkeypatch):
        plans: list[tuple[int, StrikePlan, np.ndarray]] = []
        real = model_module.plan_strikes

        def spy(forces, *args):
            plan = real(forces, *args)
            plans.append((args[5], plan, forces.alive.copy(), forces.x.copy(), forces.depth.copy()))
            return plan

        monkeypatch.setattr(model_module, "plan_strikes", spy)
        m = EscalationModel(load_scenario(SCENARIOS / "deep_strike.yaml"), seed=3)
        m.run()
        f = m.forces
        tol = half_cell_diagonal(m)
        n = 0
        for _, plan, alive, x, depth in plans:  # targets where they stood that step
            for t, o in zip(plan.target.tolist(), plan.option.tolist(), strict=True):
                members = np.flatnonzero((f.group == f.opt_group[o]) & alive)
                # Launchers fire from their launch points (aircraft fly toward the border).
                d = np.hypot(f.launch_x[members] - x[t], f.launch_depth[members] - depth[t])
                assert (d <= f.w_range[f.opt_weapon[o]] + tol).any(), (
                    f"{f.labels[t]} struck with {f.weapon_ids[f.opt_weapon[o]]} "
                    f"from {f.group_ids[f.opt_group[o]]} at {d.min():.0f} km"
                )
                n += 1
        assert n > 0

    def _all_targets(self, m: EscalationModel) -> tuple[np.ndarray, np.ndarray]:
        f = m.forces
        cand = np.flatnonzero((f.side == SIDE_RUSSIA) & f.alive & f.military)
        f.last_seen_firing[f.rf] = self.STEP
        return cand, np.ones(len(cand), dtype=bool)

    def test_never_more_strikes_than_the_tasking(self):
        m = EscalationModel(load_scenario(SCENARIOS / "deep_strike.yaml"), seed=0)
        cand, prep = self._all_targets(m)
        unlimited = len(run_plan(m, cand, prep, self.STEP, 10_000).target)
        assert unlimited > 3, "set-up: more than 3 strikes must be possible"
        for cap in (0, 1, 3):
            assert len(run_plan(m, cand, prep, self.STEP, cap).target) == cap
        assert unlimited <= len(cand)

    def test_never_more_strikes_than_the_groups_shots(self):
        m = EscalationModel(load_scenario(SCENARIOS / "deep_strike.yaml"), seed=0)
        f = m.forces
        cand, prep = self._all_targets(m)
        f.alive[np.flatnonzero(f.group == f.group_ids.index("ua_himars"))[:2]] = False
        plan = run_plan(m, cand, prep, self.STEP, 10_000)
        used = Counter(f.opt_group[plan.option].tolist())
        shots = f.shots_available()
        for g, k in used.items():
            assert k <= shots[g], f"{f.group_ids[g]}: {k} strikes with {shots[g]} shots"
        # A target is struck at most once per step.
        assert len(set(plan.target.tolist())) == len(plan.target)

    def test_never_more_strikes_than_the_launchers_in_range_can_fire(self):
        """Shots belong to launchers: a launcher out of range cannot lend its shots.

        Two HIMARS launchers (one shot each) far apart; targets that only the first
        can reach may receive at most one strike between them.
        """
        sc = variant(
            MAY30,
            [
                "forces.ua_himars.count=2",
                "forces.ua_himars.shots_per_step=1",
                "forces.ua_himars.x_km={min: -80, max: 140}",
                "forces.ru_artillery_belgorod.count=40",
                "forces.ru_artillery_belgorod.x_km={min: -80, max: 140}",
            ],
            tuple(g for g in UA_LAUNCHER_GROUPS if g != "ua_himars"),
        )
        m = EscalationModel(sc, seed=0)
        f = m.forces
        launchers = np.flatnonzero(f.group == f.group_ids.index("ua_himars"))
        gmlrs_range = sc.weapons["GMLRS"].range_km
        atacms_range = sc.weapons["ATACMS"].range_km
        cand, _ = self._all_targets(m)
        cells = f.cell[cand]
        d = np.hypot(
            f.th.cell_x[cells][:, None] - f.x[launchers][None, :],
            f.th.cell_depth[cells][:, None] - f.depth[launchers][None, :],
        )
        # ATACMS is forbidden inside Russia under May-30, so GMLRS range is what counts.
        only_first = cand[(d[:, 0] <= gmlrs_range) & (d[:, 1] > gmlrs_range)]
        assert atacms_range > gmlrs_range
        assert len(only_first) >= 2, "set-up: need targets that only the first launcher reaches"
        plan = run_plan(m, only_first, np.ones(len(only_first), bool), self.STEP, 10_000)
        assert len(plan.target) <= 1, (
            f"{len(plan.target)} strikes on targets only one launcher (1 shot) can reach"
        )

    def test_strikes_of_a_whole_run_fit_the_launchers_shots(self, monkeypatch):
        """Every step's strikes can be assigned to alive launchers in range, each within its shots."""
        plans = []
        real = model_module.plan_strikes

        def spy(forces, *args):
            plan = real(forces, *args)
            plans.append((args[5], plan, forces.alive.copy(), forces.cell.copy()))
            return plan

        monkeypatch.setattr(model_module, "plan_strikes", spy)
        m = EscalationModel(load_scenario(MAY30), seed=0)
        m.run()
        f = m.forces
        th = f.th
        unassignable = []
        for step, plan, alive, cell in plans:  # targets' cells as they stood that step
            groups = f.opt_group[plan.option]
            for g in np.unique(groups).tolist():
                sel = np.flatnonzero(groups == g)
                members = np.flatnonzero((f.group == g) & alive)
                shots = int(f.group_shots[g])
                cells = cell[plan.target[sel]]
                rng_km = f.w_range[f.opt_weapon[plan.option[sel]]]
                d = np.hypot(
                    th.cell_x[cells][:, None] - f.launch_x[members][None, :],
                    th.cell_depth[cells][:, None] - f.launch_depth[members][None, :],
                )
                rows, cols = np.nonzero(d <= rng_km[:, None])
                slot_rows = np.repeat(rows, shots)
                slot_cols = (cols[:, None] * shots + np.arange(shots)).ravel()
                graph = csr_matrix(
                    (np.ones(len(slot_rows)), (slot_rows, slot_cols)),
                    shape=(len(sel), len(members) * shots),
                )
                match = maximum_bipartite_matching(graph, perm_type="column")
                if (match < 0).any():
                    unassignable.append((step, f.group_ids[g], len(sel), int((match < 0).sum())))
        assert not unassignable, (
            f"{len(unassignable)} step-groups struck more than their launchers in range "
            f"could fire, e.g. (step, group, strikes, unassignable): {unassignable[:5]}"
        )

    def test_stock_is_never_used_below_zero(self):
        m = EscalationModel(load_scenario(SCENARIOS / "deep_strike.yaml"), seed=0)
        f = m.forces
        cand, prep = self._all_targets(m)
        full = run_plan(m, cand, prep, self.STEP, 10_000)
        used_full = Counter(f.opt_weapon[full.option].tolist())
        scarce = [w for w, k in used_full.items() if k >= 3]
        assert scarce, "set-up: some weapon must be used at least 3 times with full stock"
        stock = m.stock.copy()
        for i, w in enumerate(scarce):
            stock[w] = [0.0, 0.5, 2.0][i % 3]
        before = stock.copy()
        plan = run_plan(m, cand, prep, self.STEP, 10_000, stock=stock)
        used = Counter(f.opt_weapon[plan.option].tolist())
        for w in range(len(stock)):
            assert used.get(w, 0) <= math.floor(before[w] + 1e-9), (
                f"{f.weapon_ids[w]}: {used.get(w, 0)} strikes with stock {before[w]}"
            )
        np.testing.assert_array_equal(stock, before)  # plan_strikes does not spend stock


# ====================================================================== interception


class TestInterception:
    def _model(self, ad_coverage: float) -> EscalationModel:
        sc = with_overrides(
            load_scenario(SCENARIOS / "deep_strike.yaml"),
            [
                "weapons.ATACMS.interception_chance=1.0",
                "forces.ru_air_defence_border.air_defence.interceptors=null",  # unlimited
                "forces.ru_air_defence_border.air_defence.range_km=2000",
                f"forces.ru_air_defence_border.air_defence.coverage={ad_coverage}",
            ],
        )
        return EscalationModel(sc, seed=0)

    def _strike_all(self, m: EscalationModel, weapon: str, rounds: int):
        f = m.forces
        w = f.weapon_ids.index(weapon)
        targets = np.flatnonzero(f.side == SIDE_RUSSIA)
        launcher = int(np.flatnonzero((f.group == f.group_ids.index("ua_himars")) & f.alive)[0])
        rng = np.random.default_rng(7)
        out = []
        for _ in range(rounds):
            alive = targets[f.alive[targets]]
            n = len(alive)
            out.append(f.strike(alive, np.full(n, w), np.full(n, launcher), rng))
        return out

    def test_weapon_with_zero_interception_chance_is_never_intercepted(self):
        m = self._model(1.0)
        assert m.spec.weapons["M777"].interception_chance == 0.0
        outs = self._strike_all(m, "M777", 20)
        assert sum(len(o.intercepted) for o in outs) > 0
        assert not any(o.intercepted.any() for o in outs)
        assert any((o.damage > 0).any() for o in outs)

    def test_certain_interception_under_full_cover_always_intercepts(self):
        m = self._model(1.0)
        outs = self._strike_all(m, "ATACMS", 20)
        assert all(o.intercepted.all() for o in outs)
        assert all((o.damage == 0).all() and not o.destroyed.any() for o in outs)

    def test_certain_interception_without_air_defence_never_intercepts(self):
        m = self._model(1.0)
        f = m.forces
        ad = np.flatnonzero(f.cls == f.class_ids.index("air_defence"))
        f.alive[ad] = False
        f.strength[ad] = 0.0
        outs = self._strike_all(m, "ATACMS", 5)
        assert not any(o.intercepted.any() for o in outs)

    def test_russian_fire_on_the_city_with_zero_interception_always_lands(self):
        sc = with_overrides(
            load_scenario(MAY30),
            [
                "weapons.KAB.interception_chance=1.0",
                "forces.ua_air_defence_kharkiv.air_defence.range_km=2000",
                "forces.ua_air_defence_kharkiv.air_defence.coverage=1.0",
            ],
        )
        m = EscalationModel(sc, seed=0)
        f = m.forces
        mlrs, kab = f.weapon_ids.index("RU_MLRS"), f.weapon_ids.index("KAB")
        assert m.spec.weapons["RU_MLRS"].interception_chance == 0.0
        rng = np.random.default_rng(8)
        salvoes = dict(zip(f.rf.tolist(), f.rf_salvoes.tolist(), strict=True))
        weapon = dict(zip(f.rf.tolist(), f.rf_weapon.tolist(), strict=True))
        aimed = {mlrs: 0, kab: 0}
        for step in range(1, 21):
            fire = f.russian_fire(step, 1.0, m.stock, rng)
            for u in fire.fired[fire.at_city].tolist():
                if weapon[u] in aimed:
                    aimed[weapon[u]] += salvoes[u]
            # Interception chance 0: every salvo aimed at the city lands.
            landed_mlrs = fire.city_landed_by_weapon[mlrs]
            expected = sum(
                salvoes[u] for u in fire.fired[fire.at_city].tolist() if weapon[u] == mlrs
            )
            assert landed_mlrs == expected
            # Interception chance 1 under full cover: none lands.
            assert fire.city_landed_by_weapon[kab] == 0
        assert aimed[mlrs] > 0 and aimed[kab] > 0


# ====================================================================== stocks and resupply


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), max_size=40),
    st.lists(st.integers(0, 30), min_size=4, max_size=4),
)
def test_ration_grants_in_order_and_never_overdraws(requests, stock_list):
    weapon = np.array([w for w, _ in requests], dtype=np.int64)
    amount = np.array([a for _, a in requests], dtype=np.int64)
    stock = np.array(stock_list, dtype=float)
    ok = ration(weapon, amount, stock)
    assert ok.dtype == bool and len(ok) == len(requests)
    for w in range(len(stock)):
        mine = np.flatnonzero(weapon == w)
        granted = ok[mine]
        # Never overdraws.
        assert amount[mine][granted].sum() <= stock[w]
        # In order: the granted requests are a prefix of this weapon's requests ...
        k = int(granted.sum())
        assert granted[:k].all() and not granted[k:].any()
        # ... and the first refused one would have overdrawn.
        if k < len(mine):
            assert amount[mine][: k + 1].sum() > stock[w]


def test_stock_follows_use_and_resupply_every_step():
    sc = with_overrides(load_scenario(MAY30), ["step_days=2", "horizon_days=60"])
    ts = _run(sc, seed=0).timeseries()
    used_any = False
    for col in [c for c in ts.columns if c.startswith("stock.")]:
        w = col.removeprefix("stock.")
        expected_rise = sc.weapons[w].resupply_per_day * sc.step_days
        used = ts[f"strikes.weapon.{w}"].to_numpy()[1:]
        used_any |= bool(used.any())
        diff = np.diff(ts[col].to_numpy())
        np.testing.assert_allclose(diff, expected_rise - used, atol=1e-9, err_msg=col)
        assert (ts[col] >= 0).all()
    assert used_any


def test_unused_stock_rises_by_resupply_times_step_days():
    sc = with_overrides(
        load_scenario(MAY30),
        ["step_days=3", "horizon_days=30", "combat.max_strikes_per_step=0"],
    )
    m = _run(sc, seed=0)
    ts = m.timeseries()
    assert ts["strikes"].sum() == 0
    for col in [c for c in ts.columns if c.startswith("stock.")]:
        w = col.removeprefix("stock.")
        start = sc.weapons[w].stock
        rate = sc.weapons[w].resupply_per_day
        np.testing.assert_allclose(
            ts[col].to_numpy(), start + rate * sc.step_days * ts["step"].to_numpy(), err_msg=col
        )


def test_russian_fire_never_overdraws_its_stock():
    sc = with_overrides(
        load_scenario(MAY30),
        ["weapons.RU_TUBE.stock=5", "weapons.RU_TUBE.resupply_per_day=0", "horizon_days=20"],
    )
    m = _run(sc, seed=0)
    ts = m.timeseries()
    tube = m.weapon_ids.index("RU_TUBE")
    assert m.stock[tube] >= 0
    assert ts["fire_on_city.weapon.RU_TUBE"].sum() <= sc.weapons["RU_TUBE"].stock
    # Other weapons keep firing: the cap is per weapon.
    assert ts["fire_on_city.weapon.KAB"].sum() > 0


def _run(sc: Scenario, seed: int) -> EscalationModel:
    m = EscalationModel(sc, seed=seed)
    m.run()
    return m


# ====================================================================== damage and destruction


def test_destroyed_units_never_fire_again_and_reserves_replace_them_elsewhere():
    sc = with_overrides(load_scenario(MAY30), ["combat.replacement_days=5"])
    m = EscalationModel(sc, seed=0)
    f = m.forces
    f.rf_prob[:] = 1.0  # every alive firing unit wants to fire every step
    victims = f.rf[f.alive[f.rf]][::3]
    where = np.c_[f.x[victims], f.depth[victims]]
    newly = f.apply_damage(victims, np.ones(len(victims)), step=0)
    assert sorted(newly.tolist()) == sorted(victims.tolist())
    assert not f.alive[victims].any() and (f.strength[victims] == 0).all()
    # Damage to the dead does not "destroy" them again.
    assert len(f.apply_damage(victims, np.ones(len(victims)))) == 0
    in_reserve = {g: int(((f.group == g) & (f.status == 1)).sum()) for g in range(len(f.group_ids))}
    expected = sum(
        min(in_reserve[g], int((f.group[victims] == g).sum()))
        for g in set(f.group[victims].tolist())
    )
    assert expected > 0, "set-up: some victim's group must hold a reserve"

    rng = np.random.default_rng(9)
    arrived: list[int] = []
    for step in range(0, 12):
        fire = f.russian_fire(step, 1.0, m.stock, rng)
        assert not np.isin(fire.fired, victims).any(), "a destroyed unit fired"
        back = f.recover(0.0, step)
        arrived += back.tolist()
        if step < 5:
            assert len(back) == 0, "a replacement arrived before its delay"
    assert not f.alive[victims].any(), "a destroyed unit came back"
    assert len(arrived) == expected, "one replacement per loss while the group's reserve lasts"
    assert set(f.group[arrived].tolist()) <= set(f.group[victims].tolist())
    assert f.alive[arrived].all() and (f.strength[arrived] == 1.0).all()
    # Nothing reappears where it died.
    new_pos = np.c_[f.x[arrived], f.depth[arrived]]
    assert (np.hypot(*(new_pos[:, None, :] - where[None, :, :]).transpose(2, 0, 1)) > 0.01).all()
    fire = f.russian_fire(13, 1.0, m.stock, rng)
    assert np.isin(arrived, fire.fired).any()


def test_units_below_the_destruction_threshold_are_destroyed():
    m = EscalationModel(load_scenario(MAY30), seed=0)
    f = m.forces
    below = f.destroyed_below
    a, b = f.rf[0], f.rf[1]
    f.apply_damage(np.array([a, b]), np.array([1.0 - below + 0.01, 1.0 - below - 0.01]))
    assert not f.alive[a] and f.strength[a] == 0.0
    assert f.alive[b] and f.strength[b] == pytest.approx(below + 0.01)


# ====================================================================== the ladder


@pytest.fixture(scope="module")
def may30() -> Scenario:
    return load_scenario(MAY30)


class TestLadder:
    def test_climb_chance_rises_with_pressure(self, may30):
        ladder = Ladder(may30.ladder)
        prm = may30.decisions.actors["RUS"]
        for level in range(ladder.top):
            nxt = ladder.rung(level + 1).climb_threshold
            pressures = np.linspace(0, 3 * max(nxt, 1), 50)
            climb = [ladder.move_chances(level, p, prm, 0.5, 1.0).climb for p in pressures]
            assert all(b >= a for a, b in itertools.pairwise(climb)), level
            assert climb[-1] > climb[0], level

    def test_climb_chance_rises_with_risk_tolerance(self, may30):
        ladder = Ladder(may30.ladder)
        prm = may30.decisions.actors["RUS"]
        level = 2
        p = ladder.rung(level + 1).climb_threshold
        climb = [ladder.move_chances(level, p, prm, rt, 1.0).climb for rt in np.linspace(0, 1, 11)]
        assert all(b > a for a, b in itertools.pairwise(climb))

    def test_no_climb_from_the_top_rung(self, may30):
        for aid in may30.actors:
            ladder = Ladder(may30.ladder_for(aid))
            prm = may30.decisions.actors[aid]
            move = ladder.move_chances(ladder.top, 1e12, prm, 1.0, 1.0)
            assert move.climb == 0.0, aid

    def test_no_descent_from_rung_zero_and_descent_rises_as_pressure_falls(self, may30):
        ladder = Ladder(may30.ladder)
        prm = may30.decisions.actors["RUS"]
        for p in (0.0, 1.0, 1e6):
            assert ladder.move_chances(0, p, prm, 0.5, 1.0).descend == 0.0
        for level in range(1, ladder.top + 1):
            own = ladder.rung(level).climb_threshold
            pressures = np.linspace(2 * own, 0, 50)  # falling pressure
            desc = [ladder.move_chances(level, p, prm, 0.5, 1.0).descend for p in pressures]
            assert all(b >= a for a, b in itertools.pairwise(desc)), level
            assert desc[-1] > desc[0], level

    def test_chances_are_probabilities_and_compound_over_longer_steps(self, may30):
        ladder = Ladder(may30.ladder)
        prm = may30.decisions.actors["RUS"]
        for level in range(ladder.top + 1):
            for p in (0.0, 10.0, 100.0, 1e4):
                one = ladder.move_chances(level, p, prm, 0.5, 1.0)
                week = ladder.move_chances(level, p, prm, 0.5, 7.0)
                assert 0 <= one.climb <= 1 and 0 <= one.descend <= 1
                assert one.climb + one.descend <= 1 + 1e-12
                assert week.climb >= one.climb
                assert week.climb == pytest.approx(1 - (1 - one.climb) ** 7)

    def test_huge_pressure_climbs_exactly_one_rung_per_step(self):
        # The earlier, pressure-threshold model (kept as ``pressure``) never skips a rung.
        sc = with_overrides(
            load_scenario(MAY30),
            ["decisions.actors.RUS.climb_rate=1.0", "decisions.actors.RUS.model=pressure"],
        )
        m = EscalationModel(sc, seed=0)
        rus = m.actor["RUS"]
        top = rus.ladder.top
        assert rus.rung < top - 1
        rungs = [rus.rung]
        for _ in range(top + 3):
            rus.pressure = 1e12
            m.step()
            rungs.append(rus.rung)
        steps = np.diff(rungs)
        reached = rungs.index(top)
        assert (steps[:reached] == 1).all(), rungs
        assert (np.array(rungs[reached:]) == top).all(), rungs

    def test_pressure_model_moves_one_rung_at_a_time(self):
        sc = with_overrides(load_scenario(MAY30), ["decisions.actors.RUS.model=pressure"])
        m = EscalationModel(sc, seed=0)
        rus = m.actor["RUS"]
        layer = m.decisions
        model = layer.models["RUS"]
        assert model.name == "pressure"
        opts = layer.options["RUS"]
        start = rus.rung
        rus.pressure = 1e12
        v = model.choose(rus, opts, 0.0, 0.0, 1.0)
        d = layer.apply(0, 1.0, rus, v, cause="")
        assert (d.from_rung, d.to_rung) == (start, start + 1) and v.option.rung == start + 1
        assert rus.rung == start + 1 and rus.peak_rung == start + 1
        rus.pressure = 0.0
        rus.salient.clear()
        rus.credibility_gap = 0.0
        move = rus.ladder.move_chances(rus.rung, 0.0, rus.params, rus.spec.risk_tolerance, 1.0)
        v = model.choose(rus, opts, 0.0, move.climb + move.descend / 2, 1.0)  # inside "descend"
        d = layer.apply(0, 2.0, rus, v, cause="")
        assert v.option.descend and (d.from_rung, d.to_rung) == (start + 1, start)
        assert rus.peak_rung == start + 1
        assert model.choose(rus, opts, 0.0, 0.999999, 1.0).option.kind == "hold"


# ====================================================================== pressure and credibility


@pytest.mark.parametrize("decay", [0.05, 0.08, 0.3, 0.5])
def test_pressure_halves_after_its_half_life(decay):
    sc = with_overrides(load_scenario(MAY30), [f"decisions.actors.RUS.pressure_decay={decay}"])
    rus = EscalationModel(sc, seed=0).actor["RUS"]
    rus.pressure = 0.0
    rus.contributions = {}
    rus.add_pressure(80.0, "a")
    rus.add_pressure(20.0, "b")
    half_life = math.log(0.5) / math.log(1 - decay)
    rus.decay(half_life)
    assert rus.pressure == pytest.approx(50.0)
    assert rus.contributions["a"] == pytest.approx(40.0)
    assert rus.contributions["b"] == pytest.approx(10.0)
    # Day by day is the same as all at once.
    rus.decay(1.0)
    rus.decay(2.0)
    assert rus.pressure == pytest.approx(50.0 * (1 - decay) ** 3)


def test_pressure_decays_step_by_step_in_the_model():
    sc = with_overrides(
        load_scenario(MAY30),
        [
            "step_days=2",
            "horizon_days=20",
            "combat.max_strikes_per_step=0",
            "decisions.perception.act_weight=0",
            "decisions.actors.RUS.relief=0",
        ],
    )
    m = EscalationModel(sc, seed=0)
    rus = m.actor["RUS"]
    # Nothing else feeds Russia's pressure without strikes.
    assert sc.decisions.actors["RUS"].harm_weight == 0
    assert sc.decisions.actors["RUS"].adversary_rung_weight == 0
    rus.pressure = 100.0
    decay = sc.decisions.actors["RUS"].pressure_decay
    for k in range(1, 6):
        m.step()
        assert rus.pressure == pytest.approx(100.0 * (1 - decay) ** (k * sc.step_days))


def test_credibility_gap_grows_on_a_signalling_rung_under_strikes_and_decays_off_it():
    sc = load_scenario(MAY30)
    rus = EscalationModel(sc, seed=0).actor["RUS"]
    prm = sc.decisions.actors["RUS"]
    assert prm.credibility_weight > 0
    rus.pressure = 0.0
    added = []
    for _ in range(4):
        before = rus.pressure
        rus.update_credibility(True, True, 1.0)
        added.append(rus.pressure - before)
    assert rus.credibility_gap == pytest.approx(4.0)
    assert all(a > 0 for a in added)
    assert all(b > a for a, b in itertools.pairwise(added)), "unheeded signals compound"
    for on_signal, provoked in ((False, True), (True, False), (False, False)):
        gap, pressure = rus.credibility_gap, rus.pressure
        rus.update_credibility(on_signal, provoked, 1.0)
        assert rus.credibility_gap == pytest.approx(gap * (1 - prm.pressure_decay))
        assert rus.pressure == pressure


def test_credibility_in_the_model_follows_signal_rungs_and_strikes_inside_russia():
    # The credibility gap belongs to the earlier, pressure-threshold model.
    sc = with_overrides(load_scenario(MAY30), ["decisions.actors.RUS.model=pressure"])
    m = EscalationModel(sc, seed=1)
    rus = m.actor["RUS"]
    decay = rus.params.pressure_decay
    grew = decayed = 0
    for _ in range(m.n_steps):
        gap, rung = rus.credibility_gap, rus.rung
        m.step()
        provoked = rus.last_provocation > 0
        if rus.rung > rung:
            assert rus.credibility_gap == 0.0  # a concrete step answers the signals
        elif rus.ladder.rung(rung).signal and provoked:
            assert rus.credibility_gap == pytest.approx(gap + m.step_days)
            grew += 1
        else:
            assert rus.credibility_gap == pytest.approx(gap * (1 - decay) ** m.step_days)
            decayed += 1
    assert grew > 0


# ====================================================================== policy


def _policy(sc: Scenario, supplier: str, posture: str, **adaptation) -> PolicyState:
    spec = sc.rules[supplier]
    spec = spec.model_copy(update={"adaptation": spec.adaptation.model_copy(update=adaptation)})
    return PolicyState(supplier, spec, posture)


class TestPolicyAdaptation:
    BASE: ClassVar[dict[str, Any]] = dict(
        widen=True,
        narrow=True,
        harm_weight=1.0,
        ally_weight=0.0,
        widen_threshold=10.0,
        narrow_at_rung=5,
        change_prob=0.5,
        min_days_between_changes=0,
    )

    def test_widens_one_posture_when_pushed_past_threshold_and_drawn(self, may30):
        p = _policy(may30, "USA", "no_strikes_in_russia", **self.BASE)
        order = p.ordered_postures
        assert len(order) >= 3 and order[0] == "no_strikes_in_russia"
        change = p.adapt(10.0, harm_per_day=10.0, allies_level=None, russia_rung=2, u=0.49)
        assert change is not None and change.kind == "widen"
        assert (change.from_posture, change.to_posture) == (order[0], order[1])
        assert p.posture == order[1]

    @pytest.mark.parametrize(("harm", "u"), [(9.99, 0.0), (10.0, 0.5), (1000.0, 0.99), (0.0, 0.0)])
    def test_does_not_widen_below_threshold_or_on_a_high_draw(self, may30, harm, u):
        p = _policy(may30, "USA", "no_strikes_in_russia", **self.BASE)
        assert p.adapt(10.0, harm, None, 2, u) is None
        assert p.posture == "no_strikes_in_russia"

    def test_allies_wider_stances_push_too(self, may30):
        p = _policy(may30, "USA", "no_strikes_in_russia", **{**self.BASE, "ally_weight": 5.0})
        assert p.adapt(10.0, 0.0, allies_level=1.0, russia_rung=2, u=0.0) is None  # push 5
        change = p.adapt(10.0, 0.0, allies_level=2.0, russia_rung=2, u=0.0)  # push 10
        assert change is not None and change.kind == "widen"

    def test_never_widens_when_widening_is_off(self, may30):
        p = _policy(may30, "USA", "no_strikes_in_russia", **{**self.BASE, "widen": False})
        for harm in (10.0, 1e6):
            for u in (0.0, 0.25):
                assert p.adapt(10.0, harm, 5.0, 0, u) is None
        assert p.posture == "no_strikes_in_russia"

    def test_narrows_when_russia_reaches_the_limit(self, may30):
        p = _policy(may30, "USA", "deep_strike", **self.BASE)
        order = p.ordered_postures
        change = p.adapt(10.0, harm_per_day=1e6, allies_level=5.0, russia_rung=5, u=0.0)
        assert change is not None and change.kind == "narrow"
        assert p.posture == order[order.index("deep_strike") - 1]
        # Even at the narrowest posture, harm cannot widen while Russia is at the limit.
        q = _policy(may30, "USA", order[0], **self.BASE)
        assert q.adapt(10.0, 1e6, 5.0, 7, 0.0) is None
        assert q.posture == order[0]

    def test_respects_the_minimum_days_between_changes(self, may30):
        p = _policy(
            may30, "USA", "no_strikes_in_russia", **{**self.BASE, "min_days_between_changes": 14}
        )
        assert p.adapt(10.0, 100.0, None, 0, 0.0) is not None
        assert p.adapt(23.0, 100.0, None, 0, 0.0) is None
        assert p.adapt(24.0, 100.0, None, 0, 0.0) is not None

    def test_a_change_that_removes_and_adds_one_rule_id_replaces_the_rule(self, may30):
        from escalation_sim.scenario.schema import ScheduledChangeSpec

        posture = next(k for k, v in may30.rules["USA"].postures.items() if v.rules)
        p = _policy(may30, "USA", posture, **self.BASE)
        old = p.active_rules()[0]
        new = old.model_copy(update={"note": "replaced"})
        change = ScheduledChangeSpec(day=5, supplier="USA", add_rules=[new], remove_rules=[old.id])
        p.apply_scheduled(change, 5.0)
        same_id = [r for r in p.active_rules() if r.id == old.id]
        assert same_id == [new]

    def test_scheduled_change_applies_on_its_day(self):
        sc = load_scenario(US_WIDENING)
        (change,) = sc.schedule
        m = EscalationModel(sc, seed=0)
        m.run()
        ts = m.timeseries()
        before = ts.loc[ts["day"] < change.day, "posture.USA"]
        after = ts.loc[ts["day"] >= change.day, "posture.USA"]
        assert set(before) == {sc.rules["USA"].posture}
        assert set(after) == {change.posture}
        changes = [e for e in m.events.records() if e["kind"] == "rule_change"]
        assert len(changes) == 1
        (ev,) = changes
        assert (ev["day"], ev["actor"], ev["change"]) == (change.day, "USA", "scheduled")
        assert (ev["from_posture"], ev["to_posture"]) == (sc.rules["USA"].posture, change.posture)

    def test_scheduled_widening_changes_what_is_struck(self):
        # ATACMS inside Russia is forbidden before day 60 and allowed (deep_strike) after.
        sc = load_scenario(US_WIDENING)
        day = sc.schedule[0].day
        after = 0
        for seed in range(3):
            m = EscalationModel(sc, seed=seed)
            m.run()
            for e in m.events.records():
                if e["kind"] == "strike" and e["weapon"] == "ATACMS" and e["depth_km"] > 0:
                    assert e["day"] >= day, e
                    after += 1
        assert after > 0

    def test_adaptive_widening_happens_in_the_model_and_is_logged(self):
        sc = with_overrides(
            load_scenario(ADAPTIVE),
            [
                "rules.USA.adaptation.harm_weight=100",
                "rules.USA.adaptation.change_prob=1.0",
                "rules.USA.adaptation.min_days_between_changes=30",
                "horizon_days=90",
            ],
        )
        m = EscalationModel(sc, seed=0)
        m.run()
        ts = m.timeseries()
        widen = [
            e for e in m.events.records() if e["kind"] == "rule_change" and e["actor"] == "USA"
        ]
        assert widen and all(e["change"] == "widen" for e in widen)
        levels = ts["posture_level.USA"].to_numpy()
        assert (np.diff(levels) >= 0).all() and levels[-1] > levels[0]
        # Each change is logged on the step its effect first shows in the time series.
        changed_steps = ts["step"][np.r_[False, np.diff(levels) != 0]].tolist()
        assert changed_steps == [e["step"] for e in widen]
        days = [e["day"] for e in widen]
        assert all(b - a >= 30 for a, b in itertools.pairwise(days))


# ====================================================================== Russian perception


class TestPerception:
    """Russia's reading of one strike inside Russia, through the model's strike phase."""

    @pytest.fixture
    def model(self):
        sc = with_overrides(
            load_scenario(MAY30),
            [
                "decisions.perception.own_loss_weight=0",
                "decisions.perception.noise_sd=0",
                "decisions.perception.lag_days=0",
                "decisions.perception.report_prob=1",
            ],
        )
        return EscalationModel(sc, seed=0)

    def _pressure(self, monkeypatch, m, target, weapon, destroyed, depth=None):
        f = m.forces
        if depth is not None:
            f.depth[target] = depth
        option = option_of(f, weapon)
        plan = StrikePlan(
            target=np.array([target]),
            option=np.array([option]),
            rule=np.array([0]),
            withheld_target=np.zeros(0, np.int64),
            withheld_option=np.zeros(0, np.int64),
            withheld_rule=np.zeros(0, np.int64),
            withheld_substituted=np.zeros(0, np.int64),
            launcher=np.array([option_launcher(f, option)]),
        )
        monkeypatch.setattr(model_module, "plan_strikes", lambda *a, **k: plan)
        monkeypatch.setattr(
            f,
            "strike",
            lambda t, w, launchers, rng, step=0, cover=None: StrikeOutcome(
                intercepted=np.array([False]),
                damage=np.array([0.5]),
                destroyed=np.array([destroyed]),
                moved=np.array([False]),
                already_destroyed=np.array([False]),
                miss_km=np.array([0.0]),
                arrival_hours=np.array([1.0]),
                believed_destroyed=np.array([destroyed]),
            ),
        )
        m._ukrainian_strikes(1, np.array([target]), np.array([True]), 0.0)
        return m.decisions.perception.deliver(1)["RUS"].provocation

    def _target(self, m) -> int:
        f = m.forces
        return int(np.flatnonzero(f.group == f.group_ids.index("ru_artillery_belgorod"))[0])

    def test_deeper_strike_weighs_more(self, model, monkeypatch):
        t = self._target(model)
        shallow = self._pressure(monkeypatch, model, t, "GMLRS", False, depth=5.0)
        deep = self._pressure(monkeypatch, model, t, "GMLRS", False, depth=80.0)
        assert 0 < shallow < deep

    def test_long_range_weapon_weighs_more(self, model, monkeypatch):
        t = self._target(model)
        assert model.spec.weapons["ATACMS"].long_range
        assert not model.spec.weapons["GMLRS"].long_range
        plain = self._pressure(monkeypatch, model, t, "GMLRS", False)
        long_range = self._pressure(monkeypatch, model, t, "ATACMS", False)
        assert 0 < plain < long_range

    def test_destroyed_target_weighs_more(self, model, monkeypatch):
        t = self._target(model)
        damaged = self._pressure(monkeypatch, model, t, "GMLRS", False)
        destroyed = self._pressure(monkeypatch, model, t, "GMLRS", True)
        assert 0 < damaged < destroyed

    def test_strike_on_ukrainian_soil_adds_no_russian_pressure(self, model, monkeypatch):
        t = self._target(model)
        assert self._pressure(monkeypatch, model, t, "GMLRS", False, depth=-5.0) == 0.0
