"""EscalationModel: counter-fire around Kharkiv and escalation decisions, on Mesa 3.5.

Ukraine, Russia, the United States, the United Kingdom, France and Germany (by
default) are state-actor agents; batteries, launchers, airbases, command posts,
radars and air-defence batteries are force-unit agents whose state lives in
the force layer's arrays. Each step (one day by default) runs the schedule of
the model brief:

1. scheduled rule changes due today take effect;
2. Russian fire on Kharkiv and on the Ukrainian positions its reconnaissance
   finds; Ukrainian air defence against missiles and glide-bomb carriers;
3. movement: Russia pulls mobile units back beyond the strikes it has seen;
4. detection by Ukrainian radars and ISR drones: located tracks with errors;
5. Ukrainian counter-fire: every option is put to the rule engine, strikes
   (by launcher and weapon-family capacity) take their tasking delay and time
   of flight, may be intercepted or find the target gone, and are assessed
   uncertainly; withheld opportunities are counted by the rule that forbade
   them; units that fired or were detected shoot and scoot;
6. escalation decisions: Russia weighs strikes inside Russia (by supplier,
   weapon, target class, depth and harm), its losses and the credibility of its
   signals; the others weigh harm to the city and Russia's rung;
7. suppliers' policy responses (adaptive widening and narrowing);
8. resupply, repair, replacements from finite reserves; data collection.

Source facts: the article of 2024-05-30 in the project's seed material (US
counter-fire authorization for the Kharkiv region; ATACMS at long range still
prohibited; Britain's missiles anywhere; Germany cautious; Russian nuclear
signalling). Every parameter default is in the package defaults with its
source or the word "assumption"; see docs/ODD.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import mesa
import numpy as np
import pandas as pd

from escalation_sim.model.agents import Decision, ForceUnit, StateActor
from escalation_sim.model.engagement import (
    OUTCOME_LABELS,
    Outcome,
    StrikeReport,
    outcome_codes,
    plan_strikes,
)
from escalation_sim.model.events import EventLog
from escalation_sim.model.forces import FAMILIES, SIDE_RUSSIA, SIDE_UKRAINE, ForceLayer
from escalation_sim.model.ladder import Ladder
from escalation_sim.model.movement import FAST_KILL_CHAIN_HOURS, PullbackMemory
from escalation_sim.model.policy import PolicyChange, PolicyState
from escalation_sim.model.rules import (
    NO_PERMISSION,
    UKRAINIAN_TERRITORY,
    UNRESTRICTED,
    RuleEngine,
    WorldState,
)
from escalation_sim.model.theater import Theater
from escalation_sim.scenario.schema import Scenario

#: Independent random streams, spawned from the model's generator, one per process,
#: so that changing one process (e.g. the rules) leaves the others' draws aligned.
STREAMS = ("setup", "fire", "detect", "strike", "decide", "policy", "recover", "move")
#: Days of harm averaged when suppliers judge the harm to the city.
HARM_WINDOW_DAYS = 7  # assumption


class EscalationModel(mesa.Model):
    """The escalation model for one scenario and seed.

    Args:
        scenario: A validated scenario (see :func:`escalation_sim.load_scenario`).
        seed: Seed of the model's generator; the same scenario and seed give
            identical results. ``None`` draws one (recorded in :attr:`seed`).
        record_events: Keep the event log (ensembles can switch it off).
    """

    def __init__(
        self, scenario: Scenario, *, seed: int | None = None, record_events: bool = True
    ) -> None:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        super().__init__(rng=seed)
        self.seed = seed
        self.spec = scenario
        self.step_days = scenario.step_days
        self.n_steps = scenario.n_steps
        self.record_events = record_events
        self.streams = dict(zip(STREAMS, self.rng.spawn(len(STREAMS)), strict=True))

        # Parameters and geography.
        self.actor_ids = list(scenario.actors)
        self.weapon_ids = list(scenario.weapons)
        self.theater = Theater(scenario.theater)
        self.ladders = {aid: Ladder(scenario.ladder_for(aid)) for aid in self.actor_ids}
        self.perception = scenario.decisions.perception
        self.combat = scenario.combat
        self.russia_id = next(a for a, s in scenario.actors.items() if s.side == "russia")
        self.ukraine_id = next(a for a, s in scenario.actors.items() if s.side == "ukraine")

        # State actors (one agent each), with suppliers' rules in force.
        for aid, spec in scenario.actors.items():
            policy_spec = scenario.rules.get(aid)
            policy = PolicyState(aid, policy_spec, policy_spec.posture) if policy_spec else None
            StateActor(self, aid, spec, scenario.decisions.actors[aid], policy, self.ladders[aid])
        self.actors = self.agents_by_type[StateActor]
        self.actor = {a.actor_id: a for a in self.actors}
        self.suppliers = [self.actor[a] for a in self.actor_ids if self.actor[a].is_supplier]

        # Forces: arrays in the force layer, a light agent per unit for inspection.
        self.forces = ForceLayer(
            scenario, self.theater, self.streams["setup"], self.actor_ids, self.weapon_ids
        )
        ForceUnit.create_agents(self, self.forces.n, list(range(self.forces.n)))
        self.stock = np.array([scenario.weapons[w].stock for w in self.weapon_ids], dtype=float)
        self.resupply = np.array([scenario.weapons[w].resupply_per_day for w in self.weapon_ids])
        self._engine_weapon = np.arange(len(self.weapon_ids), dtype=np.int64)
        self.memory = PullbackMemory(
            len(self.theater.zone_ids),
            max(1, round(scenario.combat.pullback.memory_days / self.step_days)),
        )
        self._family_capacity = np.array(
            [scenario.combat.tasking_per_day.get(fam, np.inf) for fam in FAMILIES]
        )
        self.strike_report = StrikeReport.empty()

        # Rule engine and the fixed list of every rule that can decide in this run.
        self.rule_labels = self._all_rule_labels()
        self._rule_column = {label: i for i, label in enumerate(self.rule_labels)}
        self._rebuild_engine()
        self._schedule = sorted(enumerate(scenario.schedule), key=lambda ic: (ic[1].day, ic[0]))
        self._next_change = 0

        # Outputs.
        self.events = EventLog(scenario.start_date, self.step_days)
        self.events.decode = {
            "target": self.forces.labels,
            "launcher": self.forces.labels,
            "weapon": self.weapon_ids,
            "supplier": self.actor_ids,
            "rule": self.rule_labels,
            "substitute": self.weapon_ids,
            "target_class": self.forces.class_ids,
            "zone": self.theater.zone_ids,
            "outcome": OUTCOME_LABELS,
        }
        self._init_counters()
        self.datacollector = mesa.DataCollector(tables={"series": self._series_columns()})
        self.harm_total = 0.0
        self._harm_recent: list[float] = []
        self.nato_conflict_day: float | None = None
        self.nuclear_use_day: float | None = None
        self._apply_schedule(day=0.0, step=0)
        self._record(step=0, harm=0.0, fire=0.0, losses=(0, 0))

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One step: the schedule of the model brief, in order."""
        k = round(self.time)
        day = k * self.step_days
        for actor in self.actors:
            actor.decay(self.step_days)
        self._apply_schedule(day, k)
        fire = self._russian_fire(k)
        self.forces.pull_back(self.memory.threat_depth(), self.streams["move"])
        candidates, preparing = self.forces.detect(
            k,
            self.combat.preparation_evidence_prob,
            self.combat.fixed_target_attempt_prob,
            self.streams["detect"],
        )
        ru_losses = self._ukrainian_strikes(k, candidates, preparing)
        self.forces.relocate(self.streams["move"])
        self._escalation_decisions(k, day, fire.city_harm, provocation=self._perceived_now)
        self._policy_responses(k, day)
        self._resupply_and_recover(k)
        self._record(
            k,
            fire.city_harm,
            float(fire.city_landed_by_weapon.sum()),
            (ru_losses, len(fire.ukrainian_losses)),
        )

    def run(self) -> None:
        """Run the whole horizon with the model's own time control."""
        self.run_for(self.n_steps - round(self.time))

    # ------------------------------------------------------------------ phases
    def _russian_fire(self, k: int):
        rus = self.actor[self.russia_id]
        multiplier = rus.ladder.rung(rus.rung).fire_multiplier
        fire = self.forces.russian_fire(k, multiplier, self.stock, self.streams["fire"])
        self.harm_total += fire.city_harm
        self._harm_recent = ([*self._harm_recent, fire.city_harm])[
            -max(1, round(HARM_WINDOW_DAYS / self.step_days)) :
        ]
        self._row_fire_by_weapon = fire.city_landed_by_weapon
        return fire

    def _ukrainian_strikes(self, k: int, candidates: np.ndarray, preparing: np.ndarray) -> int:
        f = self.forces
        max_strikes, family_capacity = self._strike_tasking()
        plan = plan_strikes(
            f,
            self.engine,
            self.world(),
            candidates,
            preparing,
            self.stock,
            k,
            max_strikes,
            self._engine_weapon,
            family_capacity,
        )
        weapons = f.opt_weapon[plan.option]
        np.subtract.at(self.stock, weapons, 1.0)
        zone = f.primary_zone[plan.target]
        x_km = f.x[plan.target].copy()
        depth_km = f.depth[plan.target].copy()
        outcome = f.strike(plan.target, weapons, plan.launcher, self.streams["strike"], k)
        rules = self._engine_to_column[plan.rule] if len(plan.rule) else plan.rule
        supplier = self._weapon_supplier[weapons]
        report = StrikeReport(
            target=plan.target,
            launcher=plan.launcher,
            supplier=supplier,
            weapon=weapons,
            target_class=f.cls[plan.target],
            rule=rules,
            depth_km=depth_km,
            zone=zone,
            outcome=outcome_codes(outcome),
            x_km=x_km,
        )
        self.strike_report = report
        in_russia = report.in_russia
        self._strikes_in_russia_now = int(in_russia.sum())
        # Russia remembers how deep strikes fast enough to catch a mobile unit reached.
        fast = in_russia & (outcome.arrival_hours <= FAST_KILL_CHAIN_HOURS)
        self.memory.remember(k, f.home_zone[plan.target[fast]], depth_km[fast])

        # Counters for the time series.
        c = self._counts
        np.add.at(c["strikes.supplier"], supplier, 1)
        np.add.at(c["strikes_in_russia.supplier"], supplier[in_russia], 1)
        np.add.at(c["strikes.weapon"], weapons, 1)
        np.add.at(c["strikes_in_russia.weapon"], weapons[in_russia], 1)
        np.add.at(c["strikes.class"], f.cls[plan.target], 1)
        np.add.at(c["strikes.zone"], zone[zone >= 0], 1)
        np.add.at(c["strikes.outcome"], report.outcome, 1)
        wh_rules = (
            self._engine_to_column[plan.withheld_rule]
            if len(plan.withheld_rule)
            else plan.withheld_rule
        )
        sanctuary = plan.withheld_substituted < 0
        np.add.at(c["withheld.rule"], wh_rules[sanctuary], 1)
        self._constrained_now = int((~sanctuary).sum())

        # Russia's perception of strikes inside Russia.
        rus = self.actor[self.russia_id]
        p = self.perception
        destroyed_ru = int(outcome.destroyed.sum())
        inside = np.flatnonzero(in_russia)
        t = plan.target[inside]
        w = weapons[inside]
        weights = (
            self._supplier_weight[supplier[inside]]
            * self._class_weight[f.cls[t]]
            * (1.0 + depth_km[inside] / p.depth_scale_km)
            * np.where(f.w_long[w], p.long_range_multiplier, 1.0)
            * np.where(outcome.destroyed[inside], p.destroyed_multiplier, 1.0)
        )
        keys = zip(
            supplier[inside].tolist(),
            w.tolist(),
            zone[inside].tolist(),
            rules[inside].tolist(),
            strict=True,
        )
        for key, weight in zip(keys, weights.tolist(), strict=True):
            rus.add_pressure(weight, self._cause_label(*key))
        self._perceived_now += float(weights.sum())
        rus.add_pressure(p.own_loss_weight * destroyed_ru, "losses to Ukrainian strikes")

        if self.record_events:
            self.events.add_strikes(
                k,
                target=plan.target,
                launcher=plan.launcher,
                target_class=f.cls[plan.target],
                supplier=supplier,
                weapon=weapons,
                rule=rules,
                depth_km=np.round(depth_km, 1),
                x_km=np.round(x_km, 1),
                zone=zone,
                outcome=report.outcome,
                intercepted=outcome.intercepted,
                damage=np.round(outcome.damage, 4),
                destroyed=outcome.destroyed,
                miss_km=np.round(outcome.miss_km, 3),
                arrival_hours=np.round(outcome.arrival_hours, 2),
                believed_destroyed=outcome.believed_destroyed,
            )
            sub = np.where(
                plan.withheld_substituted >= 0, f.opt_weapon[plan.withheld_substituted], -1
            )
            wh_weapon = f.opt_weapon[plan.withheld_option]
            for kind, mask in (("withheld", sanctuary), ("constrained", ~sanctuary)):
                t = plan.withheld_target[mask]
                self.events.add_withheld(
                    k,
                    kind,
                    target=t,
                    target_class=f.cls[t],
                    weapon=wh_weapon[mask],
                    supplier=self._weapon_supplier[wh_weapon[mask]],
                    rule=wh_rules[mask],
                    depth_km=np.round(f.depth[t], 1),
                    x_km=np.round(f.x[t], 1),
                    zone=f.primary_zone[t],
                    substitute=sub[mask],
                )
        return destroyed_ru

    def _cause_label(self, supplier: int, weapon: int, zone: int, rule: int) -> str:
        """How a decision names a kind of strike: who, with what, where, under which rule."""
        key = (supplier, weapon, zone, rule)
        label = self._cause_labels.get(key)
        if label is None:
            where = self.theater.zone_ids[zone] if zone >= 0 else "outside the named zones"
            label = (
                f"{self.actor_ids[supplier]} {self.weapon_ids[weapon]} strikes in {where} "
                f"under {self.rule_labels[rule]}"
            )
            self._cause_labels[key] = label
        return label

    def _strike_tasking(self) -> tuple[int, np.ndarray]:
        """Ukraine's strike tasking this step, scaled by its own rung.

        Returns:
            The ceiling on all strikes, and the capacity per weapon family
            (``combat.tasking_per_day`` times the step's days; unlimited where
            the scenario sets none).
        """
        ukr = self.actor[self.ukraine_id]
        mult = ukr.ladder.rung(ukr.rung).strike_multiplier
        family = np.floor(self._family_capacity * self.step_days * mult + 1e-9)
        return round(self.combat.max_strikes_per_step * mult), family

    def _escalation_decisions(self, k: int, day: float, harm: float, provocation: float) -> None:
        rus = self.actor[self.russia_id]
        others_top = max(
            (a.rung - a.spec.start_rung for a in self.actors if a is not rus), default=0
        )
        russia_above_start = max(0, rus.rung - rus.spec.start_rung)
        for actor in self.actors:
            prm = actor.params
            actor.add_pressure(prm.harm_weight * harm, f"harm to {self.theater.spec.target_city}")
            above = max(0, others_top) if actor is rus else russia_above_start
            actor.add_pressure(
                prm.adversary_rung_weight * above * self.step_days, "adversary's escalation"
            )
        rus.update_credibility(rus.ladder.rung(rus.rung).signal, provocation, self.step_days)
        draws = self.streams["decide"].random(len(self.actor_ids))
        for u, aid in zip(draws.tolist(), self.actor_ids, strict=True):
            decision = self.actor[aid].decide(u, day, self.step_days)
            if decision is not None:
                self._log_decision(k, day, decision)

    def _log_decision(self, k: int, day: float, d: Decision) -> None:
        rung = self.actor[d.actor].ladder.rung(d.to_rung)
        if d.to_rung > d.from_rung:
            if rung.nato_conflict and self.nato_conflict_day is None:
                self.nato_conflict_day = day
            if rung.nuclear_use and self.nuclear_use_day is None:
                self.nuclear_use_day = day
        if self.record_events:
            self.events.add(
                k,
                "decision",
                actor=d.actor,
                from_rung=d.from_rung,
                to_rung=d.to_rung,
                rung_name=rung.name,
                pressure=round(d.pressure, 3),
                threshold=d.threshold,
                chance=round(d.chance, 4),
                causes=[{"cause": c, "share": round(s, 3)} for c, s in d.causes],
            )

    def _policy_responses(self, k: int, day: float) -> None:
        draws = self.streams["policy"].random(len(self.suppliers))
        harm_rate = sum(self._harm_recent) / max(1, len(self._harm_recent)) / self.step_days
        rus_rung = self.actor[self.russia_id].rung
        changed = False
        # Every supplier judges its allies' stances as they stood at the start of this phase.
        levels = {a.actor_id: a.policy.level for a in self.suppliers}
        for u, actor in zip(draws.tolist(), self.suppliers, strict=True):
            others = [lvl for aid, lvl in levels.items() if aid != actor.actor_id]
            allies = sum(others) / len(others) if others else None
            change = actor.policy.adapt(day, harm_rate, allies, rus_rung, u)
            if change is not None:
                self._log_rule_change(k, change)
                changed = True
        if changed:
            self._rebuild_engine()

    def _apply_schedule(self, day: float, step: int) -> None:
        changed = False
        while (
            self._next_change < len(self._schedule)
            and self._schedule[self._next_change][1].day <= day + 1e-9
        ):
            _, change = self._schedule[self._next_change]
            self._next_change += 1
            self._log_rule_change(
                step, self.actor[change.supplier].policy.apply_scheduled(change, day)
            )
            changed = True
        if changed:
            self._rebuild_engine()

    def _log_rule_change(self, k: int, c: PolicyChange) -> None:
        if self.record_events:
            self.events.add(
                k,
                "rule_change",
                actor=c.supplier,
                change=c.kind,
                from_posture=c.from_posture,
                to_posture=c.to_posture,
                added=list(c.added),
                removed=list(c.removed),
                cause=c.cause,
            )

    def _resupply_and_recover(self, k: int) -> None:
        self.stock += self.resupply * self.step_days
        f = self.forces
        self._interceptors_used = (f.ru_ad.used, f.ua_ad.used)
        f.ru_ad.resupply_step(self.step_days)
        f.ua_ad.resupply_step(self.step_days)
        f.recover(self.combat.repair_per_day, k)

    # ------------------------------------------------------------------ rules
    def world(self) -> WorldState:
        """What rule conditions see now: each actor's rung."""
        return WorldState({a.actor_id: a.rung for a in self.actors})

    def active_rules(self) -> dict[str, list[Any]]:
        """The rules in force per supplier."""
        return {a.actor_id: a.policy.active_rules() for a in self.suppliers}

    def _rebuild_engine(self) -> None:
        self.engine = RuleEngine(
            self.active_rules(),
            self.spec.weapons,
            self.spec.target_classes,
            self.theater.zone_ids,
        )
        self._engine_to_column = np.array(
            [self._rule_column[label] for label in self.engine.labels], dtype=np.int64
        )

    def _all_rule_labels(self) -> list[str]:
        sc = self.spec
        labels: list[str] = []
        for sid, policy in sc.rules.items():
            for posture in policy.postures.values():
                labels += [r.id for r in posture.rules if r.id not in labels]
            for change in sc.schedule:
                if change.supplier == sid:
                    labels += [r.id for r in change.add_rules if r.id not in labels]
        suppliers = sorted({w.supplier for w in sc.weapons.values()} | set(sc.rules))
        labels += [f"{NO_PERMISSION}:{s}" for s in suppliers if s in sc.rules]
        labels += [f"{UNRESTRICTED}:{s}" for s in suppliers if s not in sc.rules]
        return [*labels, UKRAINIAN_TERRITORY]

    # ------------------------------------------------------------------ outputs
    def _init_counters(self) -> None:
        f = self.forces
        self._weapon_supplier = np.array(
            [self.actor_ids.index(self.spec.weapons[w].supplier) for w in self.weapon_ids],
            dtype=np.int64,
        )
        self._supplier_weight = np.array(
            [self.perception.supplier_weight.get(a, 1.0) for a in self.actor_ids]
        )
        self._class_weight = np.array(
            [self.perception.class_weight.get(c, 1.0) for c in f.class_ids]
        )
        self._count_names = {
            "strikes.supplier": self.actor_ids,
            "strikes_in_russia.supplier": self.actor_ids,
            "strikes.weapon": self.weapon_ids,
            "strikes_in_russia.weapon": self.weapon_ids,
            "strikes.class": f.class_ids,
            "strikes.zone": self.theater.zone_ids,
            "strikes.outcome": OUTCOME_LABELS,
            "withheld.rule": self.rule_labels,
        }
        self._counts = {k: np.zeros(len(v), dtype=np.int64) for k, v in self._count_names.items()}
        self._count_rows: list[np.ndarray] = []
        self._cause_labels: dict[tuple[int, int, int, int], str] = {}
        self._strikes_in_russia_now = 0
        self._constrained_now = 0
        self._perceived_now = 0.0
        self._row_fire_by_weapon = np.zeros(len(self.weapon_ids))
        ukr_used = sorted(set(f.opt_weapon.tolist()))
        self._stock_columns = ukr_used
        self._interceptors_used = (0, 0)
        ru_classes = np.unique(f.cls[f.side == SIDE_RUSSIA])
        self._depth_classes = [int(c) for c in ru_classes]

    def _series_columns(self) -> list[str]:
        cols = [
            "step",
            "day",
            "date",
            "fire_on_city",
            "harm",
            "harm_cumulative",
            "strikes",
            "strikes_in_russia",
            "withheld",
            "constrained",
            "losses.RUS",
            "losses.UKR",
            "alive.RUS",
            "alive.UKR",
            "forces_and_reserves.RUS",
            "forces_and_reserves.UKR",
            "restrikes_on_destroyed",
            "believed_destroyed_alive.RUS",
            "relocations.RUS",
            "pullbacks.RUS",
            "carriers_downed",
            "interceptors_used.RUS",
            "interceptors_used.UKR",
            "interceptors.RUS",
            "interceptors.UKR",
            "nato_conflict",
            "nuclear_use",
        ]
        for aid in self.actor_ids:
            cols += [f"rung.{aid}", f"pressure.{aid}"]
        for a in self.suppliers:
            cols += [f"posture.{a.actor_id}", f"posture_level.{a.actor_id}"]
        cols += [f"depth.RUS.{self.forces.class_ids[c]}" for c in self._depth_classes]
        return cols

    def _record(self, step: int, harm: float, fire: float, losses: tuple[int, int]) -> None:
        f = self.forces
        day = step * self.step_days
        row: dict[str, Any] = {
            "step": step,
            "day": day,
            "date": self.spec.start_date + dt.timedelta(days=day),
            "fire_on_city": fire,
            "harm": harm,
            "harm_cumulative": self.harm_total,
            "strikes": int(self._counts["strikes.supplier"].sum()),
            "strikes_in_russia": self._strikes_in_russia_now,
            "withheld": int(self._counts["withheld.rule"].sum()),
            "constrained": self._constrained_now,
            "losses.RUS": losses[0],
            "losses.UKR": losses[1],
            "alive.RUS": int((f.alive & (f.side == SIDE_RUSSIA)).sum()),
            "alive.UKR": int((f.alive & (f.side == SIDE_UKRAINE)).sum()),
            "forces_and_reserves.RUS": f.forces_and_reserves(SIDE_RUSSIA),
            "forces_and_reserves.UKR": f.forces_and_reserves(SIDE_UKRAINE),
            "restrikes_on_destroyed": int(
                self._counts["strikes.outcome"][Outcome.ALREADY_DESTROYED]
            ),
            "believed_destroyed_alive.RUS": int(
                (f.believed_destroyed & f.alive & (f.side == SIDE_RUSSIA)).sum()
            ),
            "relocations.RUS": f.moved_now,
            "pullbacks.RUS": f.pulled_back_now,
            "carriers_downed": f.carriers_downed_now,
            "interceptors_used.RUS": self._interceptors_used[0],
            "interceptors_used.UKR": self._interceptors_used[1],
            "interceptors.RUS": _finite_sum(f.ru_ad.interceptors),
            "interceptors.UKR": _finite_sum(f.ua_ad.interceptors),
            "nato_conflict": any(a.ladder.rung(a.rung).nato_conflict for a in self.actors),
            "nuclear_use": any(a.ladder.rung(a.rung).nuclear_use for a in self.actors),
        }
        for a in self.actors:
            row[f"rung.{a.actor_id}"] = a.rung
            row[f"pressure.{a.actor_id}"] = a.pressure
        for a in self.suppliers:
            row[f"posture.{a.actor_id}"] = a.policy.posture
            row[f"posture_level.{a.actor_id}"] = a.policy.level
        depth = f.mean_depth(SIDE_RUSSIA)
        for c in self._depth_classes:
            row[f"depth.RUS.{f.class_ids[c]}"] = float(depth[c])
        f.moved_now = f.pulled_back_now = f.carriers_downed_now = 0
        self._interceptors_used = (0, 0)
        self.datacollector.add_table_row("series", row)
        self._count_rows.append(
            np.concatenate(
                [*self._counts.values(), self._row_fire_by_weapon, self.stock[self._stock_columns]]
            )
        )
        for v in self._counts.values():
            v[:] = 0
        self._strikes_in_russia_now = 0
        self._constrained_now = 0
        self._perceived_now = 0.0

    def timeseries(self) -> pd.DataFrame:
        """One row per step: dates, rungs, pressures, strikes, withheld, fire, harm, losses, rules."""
        base = self.datacollector.get_table_dataframe("series")
        names = [f"{k}.{n}" for k, v in self._count_names.items() for n in v]
        names += [f"fire_on_city.weapon.{w}" for w in self.weapon_ids]
        names += [f"stock.{self.weapon_ids[w]}" for w in self._stock_columns]
        rows = np.vstack(self._count_rows)
        n_int = sum(len(v) for v in self._count_names.values())
        ints = pd.DataFrame(rows[:, :n_int].astype(np.int64), columns=names[:n_int])
        floats = pd.DataFrame(rows[:, n_int:], columns=names[n_int:])
        counts = pd.concat([ints, floats], axis=1)
        return pd.concat([base, counts], axis=1)


def _finite_sum(stock: np.ndarray) -> float:
    """Interceptors on hand (unlimited stocks are left out)."""
    return float(stock[np.isfinite(stock)].sum())
