"""An audit of every strike inside Russia, independent of the model's rule engine.

For each audited run the rules in force at every step are rebuilt from the
scenario and the run's own ``rule_change`` events (scheduled changes take
effect before that step's strikes, adaptive ones after), and each strike,
withheld and constrained opportunity in the event log is re-decided with the
reference :func:`escalation_sim.model.rules.authorize` (not the compiled
``RuleEngine`` the model uses).

Two levels of audit:

* **permissive**: with the most permissive evidence (fired just now, preparing
  to attack), some rule of the weapon's supplier must allow the strike, and the
  rule recorded in the event must be an allow rule of that supplier, in force
  at that step, whose scope (weapon, class, zones, depth, conditions) covers
  the strike (or ``unrestricted:<supplier>`` for a supplier without rules);
* **exact**: the evidence the model actually had (when each candidate was last
  seen firing, whether ISR saw it preparing) is observed by wrapping
  ``plan_strikes`` (its inputs only, not its verdicts), and ``authorize`` must
  give the same verdict *and* the same deciding rule as the event records.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import escalation_sim.model.model as model_module
from escalation_sim import Scenario, load_scenario, with_overrides
from escalation_sim.model.forces import NEVER
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.rules import (
    NO_PERMISSION,
    UKRAINIAN_TERRITORY,
    UNRESTRICTED,
    ProposedStrike,
    WorldState,
    authorize,
)
from escalation_sim.scenario.schema import RuleSpec, WeaponSpec

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = (0, 1, 2, 3)
WESTERN = ("USA", "GBR", "FRA", "DEU")


def forced_adaptive() -> Scenario:
    """Adaptive policy pushed hard enough that suppliers widen and narrow within the run,
    plus a scheduled rule added and later removed (exercises every kind of change)."""
    return with_overrides(
        load_scenario(SCENARIOS / "adaptive_policy.yaml"),
        [
            "rules.USA.adaptation.harm_weight=100",
            "rules.USA.adaptation.change_prob=0.5",
            "rules.USA.adaptation.min_days_between_changes=20",
            "rules.DEU.adaptation.harm_weight=100",
            "rules.DEU.adaptation.change_prob=0.5",
            "rules.DEU.adaptation.narrow_at_rung=3",
            "rules.DEU.adaptation.narrow_at_threat=4",
            "rules.DEU.adaptation.min_days_between_changes=20",
            "schedule=[{day: 30, supplier: GBR, add_rules: [{id: gb-no-airbases, effect: forbid,"
            " target_classes: [airbase]}]}, {day: 90, supplier: GBR,"
            " remove_rules: [gb-no-airbases]}]",
        ],
    )


AUDITED = {
    "may30": lambda: load_scenario(SCENARIOS / "may30_kharkiv_counterfire.yaml"),
    "deep_strike": lambda: load_scenario(SCENARIOS / "deep_strike.yaml"),
    "us_widening_schedule": lambda: load_scenario(SCENARIOS / "us_widening_schedule.yaml"),
    "adaptive_policy": lambda: load_scenario(SCENARIOS / "adaptive_policy.yaml"),
    "adaptive_forced": forced_adaptive,
}


# ---------------------------------------------------------------------- rules in force


class RuleReplay:
    """The suppliers' rules in force, replayed from the scenario and rule_change events.

    A supplier's rules are its posture's rules plus rules added by scheduled
    changes, minus rules removed by them (the semantics stated in policy.py and
    the ODD), rebuilt here from the scenario data alone.
    """

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.posture = {s: p.posture for s, p in sc.rules.items()}
        self.added: dict[str, list[RuleSpec]] = {s: [] for s in sc.rules}
        self.removed: dict[str, set[str]] = {s: set() for s in sc.rules}

    def _scheduled_rule(self, supplier: str, rule_id: str) -> RuleSpec:
        for change in self.sc.schedule:
            if change.supplier == supplier:
                for r in change.add_rules:
                    if r.id == rule_id:
                        return r
        raise AssertionError(f"rule {rule_id!r} added for {supplier} is not in the schedule")

    def apply(self, ev: dict[str, Any]) -> None:
        s = ev["actor"]
        assert ev["from_posture"] == self.posture[s], f"change from a posture not in force: {ev}"
        self.posture[s] = ev["to_posture"]
        for rid in ev["added"]:
            self.removed[s].discard(rid)
            self.added[s] = [r for r in self.added[s] if r.id != rid]
            self.added[s].append(self._scheduled_rule(s, rid))
        self.removed[s] |= set(ev["removed"])

    def rules(self) -> dict[str, list[RuleSpec]]:
        out = {}
        for s, policy in self.sc.rules.items():
            base = policy.postures[self.posture[s]].rules
            rules = [r for r in base if r.id not in self.removed[s]]
            rules += [r for r in self.added[s] if r.id not in self.removed[s]]
            out[s] = rules
        return out


def rules_timeline(sc: Scenario, events: list[dict[str, Any]], n_steps: int):
    """Per step: the rules in force during its strikes, and the postures at its end.

    Scheduled changes of step k take effect before step k's strikes; adaptive
    changes of step k (made after the strikes) from step k + 1. The time
    series row of step k is recorded after both.
    """
    changes = [e for e in events if e["kind"] == "rule_change"]
    during, end = RuleReplay(sc), RuleReplay(sc)
    rules_at, postures_end = [], []
    for k in range(n_steps + 1):
        for e in changes:
            if e["step"] == k - 1 and not _scheduled(e):
                during.apply(e)
        for e in changes:
            if e["step"] == k and _scheduled(e):
                during.apply(e)
        for e in changes:
            if e["step"] == k:
                end.apply(e)
        rules_at.append(during.rules())
        postures_end.append(dict(end.posture))
    return rules_at, postures_end


def _scheduled(e: dict[str, Any]) -> bool:
    return e["change"] == "scheduled"


# ---------------------------------------------------------------------- scope (independent)


def rule_covers(
    rule: RuleSpec,
    weapon_id: str,
    weapon: WeaponSpec,
    target_class: str,
    depth: float,
    zones: tuple[str, ...],
    world: WorldState,
) -> bool:
    """Does a rule's scope (everything but purpose) cover this strike?"""
    if rule.weapons != "all" and weapon_id not in rule.weapons:
        return False
    if rule.long_range_only and not weapon.long_range:
        return False
    if rule.target_classes != "all" and target_class not in rule.target_classes:
        return False
    if rule.territory == "russia" and depth <= 0:
        return False
    if rule.territory == "ukraine" and depth > 0:
        return False
    if rule.zones is not None and not set(rule.zones) & set(zones):
        return False
    if rule.min_depth_km is not None and depth < rule.min_depth_km:
        return False
    if rule.max_depth_km is not None and depth > rule.max_depth_km:
        return False
    c = rule.condition
    if c is not None:
        rung = world.rungs.get(c.actor, 0)
        if c.rung_below is not None and not rung < c.rung_below:
            return False
        if c.rung_at_least is not None and not rung >= c.rung_at_least:
            return False
    return True


# ---------------------------------------------------------------------- observed runs


@dataclass
class ObservedRun:
    sc: Scenario
    model: EscalationModel
    events: list[dict[str, Any]]
    ts: Any
    # step -> target index -> (fired_hours_ago or None, preparing_attack)
    evidence: dict[int, dict[int, tuple[float | None, bool]]] = field(default_factory=dict)
    worlds: dict[int, dict[str, int]] = field(default_factory=dict)
    # step -> target index -> (x_km, depth_km) where the candidate stood when the plan was made
    positions: dict[int, dict[int, tuple[float, float]]] = field(default_factory=dict)


@functools.cache
def observed(name: str, seed: int) -> ObservedRun:
    sc = AUDITED[name]()
    evidence: dict[int, dict[int, tuple[float | None, bool]]] = {}
    worlds: dict[int, dict[str, int]] = {}
    positions: dict[int, dict[int, tuple[float, float]]] = {}
    real = model_module.plan_strikes

    def observe(forces, engine, world, candidates, preparing, stock, step, *rest):
        seen = forces.last_seen_firing[candidates]
        hours = (step - seen) * 24.0 * forces.step_days
        evidence[int(step)] = {
            int(t): (float(h) if s > NEVER else None, bool(p))
            for t, s, h, p in zip(
                candidates.tolist(), seen.tolist(), hours.tolist(), preparing.tolist(), strict=True
            )
        }
        worlds[int(step)] = dict(world.rungs)
        positions[int(step)] = {
            int(t): (float(forces.x[t]), float(forces.depth[t])) for t in candidates.tolist()
        }
        return real(forces, engine, world, candidates, preparing, stock, step, *rest)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model_module, "plan_strikes", observe)
        model = EscalationModel(sc, seed=seed)
        model.run()
    return ObservedRun(
        sc, model, model.events.records(), model.timeseries(), evidence, worlds, positions
    )


RUNS = [(name, seed) for name in AUDITED for seed in SEEDS]


def _target(run: ObservedRun, ev: dict[str, Any]) -> tuple[int, float, tuple[str, ...]]:
    """Unit index, exact depth and zones of an event's target where it stood that step.

    Units move, so the position is the one observed when the step's plan was
    made (independently of the event), and its zones are computed afresh from
    the theater's outlines.
    """
    f = run.model.forces
    idx = f.labels.index(ev["target"])
    x, depth = run.positions[ev["step"]][idx]
    bits = run.model.theater.zone_bits(np.array([x]), np.array([depth]))
    zones = run.model.theater.zone_names(int(bits[0]))
    # The event agrees with the unit it names.
    assert ev["depth_km"] == pytest.approx(round(depth, 1), abs=1e-9), ev
    assert ev["zone"] == (zones[0] if zones else None), ev
    assert ev["target_class"] == f.class_ids[f.cls[idx]], ev
    return idx, depth, zones


def _world(run: ObservedRun, step: int) -> WorldState:
    """Rungs during a step's strikes: those recorded at the end of the previous step."""
    row = run.ts.iloc[step - 1]
    return WorldState({a: int(row[f"rung.{a}"]) for a in run.sc.actors})


@pytest.mark.parametrize(("name", "seed"), RUNS)
def test_rules_in_force_replayed_from_events_match_the_time_series(name, seed):
    run = observed(name, seed)
    n = run.model.n_steps
    _, postures_end = rules_timeline(run.sc, run.events, n)
    for k in range(n + 1):
        row = run.ts.iloc[k]
        for s in run.sc.rules:
            assert row[f"posture.{s}"] == postures_end[k][s], (name, seed, k, s)
    # The world the engine saw is the world at the end of the previous step.
    for k, rungs in run.worlds.items():
        assert rungs == dict(_world(run, k).rungs), (name, seed, k)


@pytest.mark.parametrize(("name", "seed"), RUNS)
def test_every_strike_inside_russia_is_authorized(name, seed):
    run = observed(name, seed)
    sc = run.sc
    rules_at, _ = rules_timeline(sc, run.events, run.model.n_steps)
    f = run.model.forces
    audited = defaultdict(int)
    for ev in run.events:
        if ev["kind"] != "strike":
            continue
        idx, depth, zones = _target(run, ev)
        k = ev["step"]
        weapon = sc.weapons[ev["weapon"]]
        assert ev["supplier"] == weapon.supplier, ev
        # Strikes hit only targets that were candidates that step (detected or known sites).
        assert idx in run.evidence[k], ev
        if depth <= 0:
            assert ev["rule"] in (UKRAINIAN_TERRITORY, f"{UNRESTRICTED}:{weapon.supplier}"), ev
            continue
        rules, world = rules_at[k], _world(run, k)
        supplier = weapon.supplier
        military = bool(f.military[idx])

        # Permissive audit: with the best evidence some rule allows it ...
        best = ProposedStrike(ev["weapon"], ev["target_class"], depth, zones, 0.0, True, military)
        verdict = authorize(best, rules, sc.weapons, world)
        assert verdict.allowed, f"{name} seed {seed}: no rule allows {ev}: {verdict.reason}"
        # ... and the recorded rule is an allow rule of the supplier, in force, covering it.
        if supplier in rules:
            covering = [
                r.id
                for r in rules[supplier]
                if r.effect == "allow"
                and rule_covers(r, ev["weapon"], weapon, ev["target_class"], depth, zones, world)
            ]
            assert ev["rule"] in covering, (
                f"{name} seed {seed}: {ev['rule']!r} is not an allow rule of {supplier} in force "
                f"covering {ev}; in force and covering: {covering}"
            )
        else:
            assert ev["rule"] == f"{UNRESTRICTED}:{supplier}", ev

        # Exact audit: with the evidence the model had, same verdict and same rule.
        hours, preparing = run.evidence[k][idx]
        exact = ProposedStrike(
            ev["weapon"], ev["target_class"], depth, zones, hours, preparing, military
        )
        v = authorize(exact, rules, sc.weapons, world)
        assert v.allowed and v.rule_id == ev["rule"], (
            f"{name} seed {seed}: strike {ev} re-decided as {v}"
        )
        audited[supplier] += 1
    assert sum(audited.values()) > 0, f"{name} seed {seed}: no strike inside Russia to audit"
    if name != "adaptive_policy":
        assert any(audited[s] for s in WESTERN), f"{name}: no Western strike inside Russia"


@pytest.mark.parametrize(("name", "seed"), RUNS)
def test_every_withheld_opportunity_was_forbidden_by_the_recorded_rule(name, seed):
    run = observed(name, seed)
    sc = run.sc
    rules_at, _ = rules_timeline(sc, run.events, run.model.n_steps)
    f = run.model.forces
    struck: dict[tuple[int, str], str] = {
        (e["step"], e["target"]): e["weapon"] for e in run.events if e["kind"] == "strike"
    }
    for ev in run.events:
        if ev["kind"] not in ("withheld", "constrained"):
            continue
        idx, depth, zones = _target(run, ev)
        k = ev["step"]
        assert depth > 0, f"withheld opportunity outside Russia: {ev}"
        rules, world = rules_at[k], _world(run, k)
        supplier = sc.weapons[ev["weapon"]].supplier
        assert ev["supplier"] == supplier, ev
        hours, preparing = run.evidence[k][idx]
        military = bool(f.military[idx])
        strike = ProposedStrike(
            ev["weapon"], ev["target_class"], depth, zones, hours, preparing, military
        )
        v = authorize(strike, rules, sc.weapons, world)
        assert not v.allowed and v.rule_id == ev["rule"], (
            f"{name} seed {seed}: {ev} re-decided as {v}"
        )
        # The recorded rule is a forbid rule in force covering it, or "no permission".
        if ev["rule"] != f"{NO_PERMISSION}:{supplier}":
            forbids = {
                r.id
                for r in rules[supplier]
                if r.effect == "forbid"
                and rule_covers(
                    r,
                    ev["weapon"],
                    sc.weapons[ev["weapon"]],
                    ev["target_class"],
                    depth,
                    zones,
                    world,
                )
            }
            assert ev["rule"] in forbids, ev
        # Constrained: a substitute was allowed and used; withheld: the target was spared.
        if ev["kind"] == "constrained":
            assert ev["substitute"] is not None, ev
            sub = ProposedStrike(
                ev["substitute"], ev["target_class"], depth, zones, hours, preparing, military
            )
            assert authorize(sub, rules, sc.weapons, world).allowed, ev
            assert struck.get((k, ev["target"])) == ev["substitute"], ev
        else:
            assert ev["substitute"] is None, ev
            assert (k, ev["target"]) not in struck, ev


def test_the_audit_sees_rule_changes_of_every_kind():
    """The forced adaptive scenario exercises widen, narrow and scheduled add/remove."""
    kinds = set()
    for seed in SEEDS:
        run = observed("adaptive_forced", seed)
        for e in run.events:
            if e["kind"] == "rule_change":
                kinds.add(e["change"])
                if e["added"]:
                    kinds.add("added")
                if e["removed"]:
                    kinds.add("removed")
    assert {"widen", "narrow", "scheduled", "added", "removed"} <= kinds, kinds


def test_the_audit_catches_a_strike_outside_its_authorization():
    """Control: a forged US strike deep inside Russia fails the permissive audit."""
    run = observed("may30", 0)
    sc = run.sc
    rules_at, _ = rules_timeline(sc, run.events, run.model.n_steps)
    f = run.model.forces
    deep = int(np.flatnonzero(f.group == f.group_ids.index("ru_airbases"))[0])
    zones = run.model.theater.zone_names(int(f.zone_bits[deep]))
    forged = ProposedStrike("ATACMS", "airbase", float(f.depth[deep]), zones, 0.0, True, True)
    assert not authorize(forged, rules_at[10], sc.weapons, _world(run, 10)).allowed
    us = [r for r in rules_at[10]["USA"] if r.effect == "allow"]
    assert not any(
        rule_covers(
            r,
            "ATACMS",
            sc.weapons["ATACMS"],
            "airbase",
            float(f.depth[deep]),
            zones,
            _world(run, 10),
        )
        for r in us
    )
