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
6. perception and decisions (``model/decisions``): each actor takes in what
   it perceives (noisy, late, uncertainly attributed: strikes inside Russia,
   the precedents they set, losses, harm to the city, the other side's acts)
   and chooses among its response options by its decision model;
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
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from escalation_sim.model import control, kernels
from escalation_sim.model.agents import ForceUnit, StateActor, decay_actors
from escalation_sim.model.decisions import Decision, DecisionLayer
from escalation_sim.model.engagement import (
    OUTCOME_LABELS,
    Outcome,
    StrikePlan,
    StrikeReport,
    outcome_codes,
    plan_strikes,
)
from escalation_sim.model.events import EventLog
from escalation_sim.model.forces import (
    FAMILIES,
    RESERVE,
    SIDE_RUSSIA,
    SIDE_UKRAINE,
    ForceLayer,
    StrikeOutcome,
)
from escalation_sim.model.kernels import record as record_kernels
from escalation_sim.model.kernels import strike as strike_kernels
from escalation_sim.model.ladder import Ladder
from escalation_sim.model.movement import FAST_KILL_CHAIN_HOURS, PullbackMemory
from escalation_sim.model.policy import PolicyChange, PolicyState
from escalation_sim.model.recorder import SeriesTable
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
#: ``perceive`` and ``move`` come last so that adding them left the earlier streams' draws unchanged.
STREAMS = ("setup", "fire", "detect", "strike", "decide", "policy", "recover", "perceive", "move")
#: Days of harm averaged when suppliers judge the harm to the city.
HARM_WINDOW_DAYS = 7  # assumption


class EscalationModel(mesa.Model):
    """The escalation model for one scenario and seed.

    Args:
        scenario: A validated scenario (see :func:`escalation_sim.load_scenario`).
        seed: Seed of the model's generator; the same scenario and seed give
            identical results. ``None`` draws one (recorded in :attr:`seed`).
        record_events: Keep the event log (ensembles can switch it off).
        seated: Actors played from outside the model (see :mod:`.control`): they
            make no automated escalation choice and no automated policy change.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        record_events: bool = True,
        seated: Sequence[str] = (),
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
        self.theater = Theater.shared(scenario.theater)  # one per scenario in a process
        self.ladders = {aid: Ladder(scenario.ladder_for(aid)) for aid in self.actor_ids}
        self.combat = scenario.combat
        self.russia_id = next(a for a, s in scenario.actors.items() if s.side == "russia")
        unknown = [a for a in seated if a not in scenario.actors]
        if unknown:
            raise ValueError(
                f"seated: unknown actor(s) {', '.join(unknown)}; expected any of: "
                f"{', '.join(self.actor_ids)}"
            )
        self.seated = frozenset(seated)
        self.ukraine_id = next(a for a, s in scenario.actors.items() if s.side == "ukraine")

        # State actors (one agent each), with suppliers' rules in force.
        for aid, spec in scenario.actors.items():
            policy_spec = scenario.rules.get(aid)
            policy = PolicyState(aid, policy_spec, policy_spec.posture) if policy_spec else None
            StateActor(self, aid, spec, scenario.decisions.actors[aid], policy, self.ladders[aid])
        self.actors = self.agents_by_type[StateActor]
        self.actor = {a.actor_id: a for a in self.actors}
        self.suppliers = [self.actor[a] for a in self.actor_ids if self.actor[a].is_supplier]
        #: The actors as a list in the scenario's order (the time series' column order).
        self._actor_list = [self.actor[a] for a in self.actor_ids]

        # Forces: arrays in the force layer, a light agent per unit for inspection.
        self.forces = ForceLayer(
            scenario, self.theater, self.streams["setup"], self.actor_ids, self.weapon_ids
        )
        for i in range(self.forces.n):  # as create_agents, without the AgentSet it returns
            ForceUnit(self, i)
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
        # Ukraine's tasking depends only on its rung: worked out once per rung, not every step.
        self._tasking_by_rung = [
            self._tasking_at(rung.strike_multiplier) for rung in self.ladders[self.ukraine_id].rungs
        ]
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
        self.decisions = DecisionLayer(self, self._cause_label)
        # The time series: Mesa's DataCollector table interface, kept in preallocated arrays.
        self.datacollector = SeriesTable(
            self._series_columns(),
            self.n_steps + 1,
            len(self._count_buf) + len(self.weapon_ids) + len(self._stock_columns),
        )
        self.harm_total = 0.0
        self.nato_conflict_day: float | None = None
        self.nuclear_use_day: float | None = None
        self._apply_schedule(day=0.0, step=0)
        self._record(step=0, harm=0.0, fire=0.0, losses=(0, 0))
        #: Set by start_step while Mesa starts this run's step: the phases then wait.
        self._phases_deferred = False
        self._pending_phases: Iterator[None] | None = None

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One step: the schedule of the model brief, in order (:meth:`phases`)."""
        phases = self.phases()
        if self._phases_deferred:  # a RunBatch runs them, in turn with its other runs
            self._pending_phases = phases
            return
        for _ in phases:
            pass

    def start_step(self) -> Iterator[None]:
        """Start one step with Mesa's own time control and hand back its phases, not yet run.

        Mesa advances the clock, counts the step and fires the step event as for
        :meth:`step`; the schedule's phases are then left to the caller
        (:class:`~escalation_sim.model.batch.RunBatch`), which runs them all.
        """
        self._phases_deferred = True
        try:
            self.run_for(1)
        finally:
            self._phases_deferred = False
        phases, self._pending_phases = self._pending_phases, None
        assert phases is not None  # Mesa fires the step event once per unit of time
        return phases

    def phases(self) -> Iterator[None]:
        """The step's schedule, pausing between its phases: what :meth:`step` runs.

        Each ``yield`` lies between two phases. :class:`~escalation_sim.model.batch.RunBatch`
        runs one phase of every run in a batch before the next phase of any, so
        each phase's code is run several times while the processor still holds
        it; a single run goes straight through. Either way every phase runs in
        this order on this run's state alone, so the results are the same.
        """
        k = round(self.time)
        day = k * self.step_days
        decay_actors(self._actor_list, self.step_days)  # one loop, no call per actor
        self._apply_schedule(day, k)
        yield
        fire = self._russian_fire(k)
        yield
        self.forces.pull_back(self.memory.threat_depth(), self.streams["move"])
        yield
        candidates, preparing = self.forces.detect(
            k,
            self.combat.preparation_evidence_prob,
            self.combat.fixed_target_attempt_prob,
            self.streams["detect"],
        )
        yield
        ru_losses = self._ukrainian_strikes(k, candidates, preparing, fire.city_harm)
        yield
        self.forces.relocate(self.streams["move"])
        yield
        self.decisions.decide(k, day)
        yield
        self._policy_responses(k, day)
        self._resupply_and_recover(k)
        yield
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
        self._row_fire_by_weapon = fire.city_landed_by_weapon
        return fire

    def _ukrainian_strikes(
        self, k: int, candidates: np.ndarray, preparing: np.ndarray, harm: float
    ) -> int:
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
        resolve = self._resolve_strikes_compiled if kernels.enabled() else self._resolve_strikes
        report, outcome, wh_rules, destroyed_ru = resolve(k, plan, weapons)

        # What the actors perceive of it is the decision layer's business.
        self.decisions.perceive(k, report, destroyed_ru, harm)

        if self.record_events:
            sanctuary = plan.withheld_substituted < 0
            self._log_strikes(k, plan, report, outcome, wh_rules, sanctuary)
        return destroyed_ru

    def _resolve_strikes(
        self, k: int, plan: StrikePlan, weapons: np.ndarray
    ) -> tuple[StrikeReport, StrikeOutcome, np.ndarray, int]:
        """Resolve the planned strikes; debit stocks; report, count and remember them.

        Returns:
            The strike report, the strikes' outcome, the withheld opportunities'
            rule columns and the number of targets destroyed.
        """
        f = self.forces
        # One salvo a strike: whole numbers, so one subtraction per weapon is exact.
        self.stock -= np.bincount(weapons, minlength=len(self.stock))
        zone = f.primary_zone[plan.target]
        x_km = f.x[plan.target].copy()
        depth_km = f.depth[plan.target].copy()
        outcome = f.strike(
            plan.target, weapons, plan.launcher, self.streams["strike"], k, cover=plan.cover
        )
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
        wh_rules = (
            self._engine_to_column[plan.withheld_rule]
            if len(plan.withheld_rule)
            else plan.withheld_rule
        )
        sanctuary = plan.withheld_substituted < 0
        self._count(
            ("strikes.supplier", supplier),
            ("strikes_in_russia.supplier", supplier[in_russia]),
            ("strikes.weapon", weapons),
            ("strikes_in_russia.weapon", weapons[in_russia]),
            ("strikes.class", f.cls[plan.target]),
            ("strikes.zone", zone[zone >= 0]),
            ("strikes.outcome", report.outcome),
            ("withheld.rule", wh_rules[sanctuary]),
            ("constrained.rule", wh_rules[~sanctuary]),
        )
        self._constrained_now = int((~sanctuary).sum())
        return report, outcome, wh_rules, int(outcome.destroyed.sum())

    def _resolve_strikes_compiled(
        self, k: int, plan: StrikePlan, weapons: np.ndarray
    ) -> tuple[StrikeReport, StrikeOutcome, np.ndarray, int]:
        """:meth:`_resolve_strikes` in two kernels.

        The strikes are resolved (:meth:`ForceLayer.strike`, a kernel when kernels
        are on), then one kernel debits the stocks, builds the report's columns and
        the outcome codes, adds the counters and writes the fast strikes into
        Russia's memory (:func:`escalation_sim.model.kernels.strike.strike_bookkeeping`).
        A step with nothing struck and nothing withheld (about a third of the
        default scenario's) needs no bookkeeping kernel: :meth:`_nothing_struck`.

        Returns:
            The strike report, the strikes' outcome, the withheld opportunities'
            rule columns and the number of targets destroyed.
        """
        f = self.forces
        outcome = f.strike(
            plan.target, weapons, plan.launcher, self.streams["strike"], k, cover=plan.cover
        )
        if len(plan.target) == 0 and len(plan.withheld_rule) == 0:
            return self._nothing_struck(k, plan, weapons, outcome)
        return self._book_strikes(k, plan, weapons, outcome)

    def _book_strikes(
        self, k: int, plan: StrikePlan, weapons: np.ndarray, outcome: StrikeOutcome
    ) -> tuple[StrikeReport, StrikeOutcome, np.ndarray, int]:
        """The bookkeeping of resolved strikes, in one kernel (see :meth:`_resolve_strikes_compiled`)."""
        f = self.forces
        memory, memory_row = self.memory.kernel_row(k)
        ints, floats, wh_rules, n_russia, n_constrained, n_destroyed = (
            strike_kernels.strike_bookkeeping(
                plan.target,
                weapons,
                plan.rule,
                plan.withheld_rule,
                plan.withheld_substituted,
                outcome.intercepted,
                outcome.destroyed,
                outcome.moved,
                outcome.already_destroyed,
                outcome.arrival_hours,
                f.primary_zone,
                f.x,
                f.depth,
                f.cls,
                f.home_zone,
                self._engine_to_column,
                self._weapon_supplier,
                self.stock,
                self._count_buf,
                self._strike_count_offsets,
                FAST_KILL_CHAIN_HOURS,
                memory,
                memory_row,
            )
        )
        supplier, target_class, rules, zone, codes = ints
        depth_km, x_km = floats
        report = StrikeReport(
            target=plan.target,
            launcher=plan.launcher,
            supplier=supplier,
            weapon=weapons,
            target_class=target_class,
            rule=rules,
            depth_km=depth_km,
            zone=zone,
            outcome=codes,
            x_km=x_km,
        )
        self.strike_report = report
        self._strikes_in_russia_now = n_russia
        self._constrained_now = n_constrained
        return report, outcome, wh_rules, n_destroyed

    def _nothing_struck(
        self, k: int, plan: StrikePlan, weapons: np.ndarray, outcome: StrikeOutcome
    ) -> tuple[StrikeReport, StrikeOutcome, np.ndarray, int]:
        """What :func:`.kernels.strike.strike_bookkeeping` gives for a plan without strikes or withheld opportunities.

        Its loops then run zero times: no stock is debited (``stock - 0`` is
        ``stock`` bit for bit), no counter moves, every column is empty, and
        Russia's memory gets this step's row of no fast strikes. So the kernel
        is not called (``tests/test_fast_glue.py`` checks the equality).
        """
        ints, floats = self._no_strike_ints, self._no_strike_floats
        # In field order: target, launcher, supplier, weapon, class, rule, depth, zone, outcome, x.
        report = StrikeReport(
            plan.target, plan.launcher, ints, weapons, ints, ints, floats, ints, ints, floats
        )
        self.strike_report = report
        self._strikes_in_russia_now = 0
        self._constrained_now = 0
        self.memory.remember(k, ints, floats)
        return report, outcome, ints, 0

    def _log_strikes(
        self,
        k: int,
        plan: StrikePlan,
        report: StrikeReport,
        outcome: StrikeOutcome,
        wh_rules: np.ndarray,
        sanctuary: np.ndarray,
    ) -> None:
        """The event log's records of this step's strikes and withheld opportunities."""
        f = self.forces
        supplier, weapons, rules = report.supplier, report.weapon, report.rule
        depth_km, x_km, zone = report.depth_km, report.x_km, report.zone
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
        sub = np.where(plan.withheld_substituted >= 0, f.opt_weapon[plan.withheld_substituted], -1)
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

    @property
    def _counts(self) -> dict[str, np.ndarray]:
        """Each counter as a view of its slice of the one buffer.

        Taken when read, not kept: a pickled or deep-copied model restores each
        stored view as an array of its own, which the buffer's updates would no
        longer reach.
        """
        buf, offset = self._count_buf, self._count_offset
        return {k: buf[offset[k] : offset[k] + len(v)] for k, v in self._count_names.items()}

    def _count(self, *counts: tuple[str, np.ndarray]) -> None:
        """Add one to counter ``name`` at each of ``indices``, for every (name, indices).

        The counters are slices of one buffer, so one ``bincount`` over the indices
        shifted to their counter's offset adds them all (nine ``np.add.at`` calls
        before, each with a ufunc's set-up cost). Integer counts: the same sums.
        """
        offset = self._count_offset
        flat = np.concatenate([indices + offset[name] for name, indices in counts])
        self._count_buf += np.bincount(
            flat.astype(np.intp, copy=False), minlength=len(self._count_buf)
        )

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
        return self._tasking_by_rung[self.actor[self.ukraine_id].rung]

    def _tasking_at(self, mult: float) -> tuple[int, np.ndarray]:
        """The strike tasking at a rung's strike multiplier (see :meth:`_strike_tasking`).

        The family capacities it returns are shared by every step at that rung:
        planning spends a copy (``engagement._family_left``), never these.
        """
        family = np.floor(self._family_capacity * self.step_days * mult + 1e-9)
        return round(self.combat.max_strikes_per_step * mult), family

    def _log_decision(self, k: int, day: float, d: Decision, **extra: Any) -> None:
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
                option=d.option,
                option_label=d.label,
                option_kind=d.kind,
                from_rung=d.from_rung,
                to_rung=d.to_rung,
                rung_name=rung.name,
                rivera=d.rivera,
                score=d.score,
                kahn=d.kahn,
                decision_model=d.model,
                pressure=round(d.pressure, 3),
                threshold=d.threshold,
                chance=round(d.chance, 4),
                utility=round(d.utility, 3),
                triggers=list(d.triggers),
                causes=[{"cause": c, "share": round(s, 3)} for c, s in d.causes],
                **extra,
            )

    def _policy_responses(self, k: int, day: float) -> None:
        draws = self.streams["policy"].random(len(self.suppliers))
        changed = False
        levels: list[int] = []
        total = 0
        seated = self.seated
        for i, (u, actor) in enumerate(zip(draws.tolist(), self.suppliers, strict=True)):
            if actor.actor_id in seated:  # a player changes rules (control.change_rules)
                continue
            policy = actor.policy
            window = policy.spec.adaptation.threat_window_days
            if not policy.may_change(day, u):
                # What the supplier perceives is not worked out: adapt would return None.
                # Reading the threat also forgets the acts older than the window (the
                # actor's memory that observation() shows): that alone is kept, when due.
                acts = actor.seen_acts
                if acts and day - acts[0][0] > window:
                    self.decisions.threat_seen_by(actor, day, window)
                continue
            if not levels:
                # Every supplier judges its allies' stances as they stood at the start of
                # this phase (none has changed yet: changes come only below).
                levels = [s.policy.level for s in self.suppliers]
                total = sum(levels)
            # Levels are whole numbers: the others' sum is the total less its own, exactly.
            n_others = len(levels) - 1
            allies = (total - levels[i]) / n_others if n_others else None
            # What the supplier perceives: the harm it has seen, Russia's rung and acts.
            harm_rate = actor.seen_harm_rate(HARM_WINDOW_DAYS)
            rus_rung = actor.seen_rungs.get(self.russia_id, self.actor[self.russia_id].rung)
            threat = self.decisions.threat_seen_by(actor, day, window)
            change = policy.adapt(day, harm_rate, allies, rus_rung, u, threat=threat)
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

    # ------------------------------------------------------------------ players
    def choices(self, actor_id: str) -> list[control.Choice]:
        """What ``actor_id`` may choose now (see :func:`.control.choices`)."""
        return control.choices(self, actor_id)

    def choose(self, actor_id: str, choice_id: str, *, cause: str) -> control.Choice:
        """Apply a player's choice for ``actor_id`` (see :func:`.control.choose`)."""
        return control.choose(self, actor_id, choice_id, cause=cause)

    def change_rules(
        self, supplier: str, change: Mapping[str, Any], *, cause: str = "player's move"
    ) -> None:
        """Apply a supplier's rule change now (see :func:`.control.change_rules`)."""
        control.change_rules(self, supplier, change, cause=cause)

    def observation(self, actor_id: str, **kwargs: Any) -> dict[str, Any]:
        """What ``actor_id`` perceives now (see :func:`.control.observation`)."""
        return control.observation(self, actor_id, **kwargs)

    # ------------------------------------------------------------------ rules
    def world(self) -> WorldState:
        """What rule conditions see now: each actor's rung."""
        # The actors in the scenario's order, as the agent set lists them, without its iterator.
        return WorldState({a.actor_id: a.rung for a in self._actor_list})

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
        self._count_names = {
            "strikes.supplier": self.actor_ids,
            "strikes_in_russia.supplier": self.actor_ids,
            "strikes.weapon": self.weapon_ids,
            "strikes_in_russia.weapon": self.weapon_ids,
            "strikes.class": f.class_ids,
            "strikes.zone": self.theater.zone_ids,
            "strikes.outcome": OUTCOME_LABELS,
            "withheld.rule": self.rule_labels,
            "constrained.rule": self.rule_labels,
        }
        # One buffer for every counter (each a view of its slice): a step's counts are
        # recorded and reset as one array.
        sizes = [len(v) for v in self._count_names.values()]
        self._count_buf = np.zeros(sum(sizes), dtype=np.int64)
        ends = np.cumsum(sizes).tolist()
        self._count_offset = {
            k: end - size for k, size, end in zip(self._count_names, sizes, ends, strict=True)
        }
        # The empty columns of a step without strikes (zero-length: nothing can write to them).
        self._no_strike_ints = np.zeros(0, dtype=np.int64)
        self._no_strike_floats = np.zeros(0)
        self._strike_count_offsets = np.array(
            [self._count_offset[name] for name in strike_kernels.STRIKE_COUNTERS], dtype=np.int64
        )
        self._cause_labels: dict[tuple[int, int, int, int], str] = {}
        self._block_layout: list[tuple[int, str, bool]] | None = None
        self._strikes_in_russia_now = 0
        self._constrained_now = 0
        self._row_fire_by_weapon = np.zeros(len(self.weapon_ids))
        ukr_used = sorted(set(f.opt_weapon.tolist()))
        self._stock_columns = ukr_used
        self._interceptors_used = (0, 0)
        ru_classes = np.unique(f.cls[f.side == SIDE_RUSSIA])
        self._depth_classes = [int(c) for c in ru_classes]
        self._init_tally_layout()

    def _init_tally_layout(self) -> None:
        """The compiled tallies' fixed inputs and reused outputs (see :meth:`_tallies_compiled`)."""
        offset, names = self._count_offset, self._count_names
        layout = np.zeros(record_kernels.LAYOUT_SIZE, dtype=np.int64)
        layout[record_kernels.RUSSIA] = SIDE_RUSSIA
        layout[record_kernels.UKRAINE] = SIDE_UKRAINE
        layout[record_kernels.RESERVE] = RESERVE
        layout[record_kernels.N_CLASSES] = len(self.forces.class_ids)
        for name, lo, hi in (
            ("strikes.supplier", record_kernels.STRIKES_FROM, record_kernels.STRIKES_TO),
            ("withheld.rule", record_kernels.WITHHELD_FROM, record_kernels.WITHHELD_TO),
        ):
            layout[lo] = offset[name]
            layout[hi] = offset[name] + len(names[name])
        layout[record_kernels.RESTRIKES_AT] = offset["strikes.outcome"] + Outcome.ALREADY_DESTROYED
        self._tally_layout = layout
        self._tally_stock_columns = np.array(self._stock_columns, dtype=np.int64)
        self._tally_depth_classes = np.array(self._depth_classes, dtype=np.int64)
        width = len(self._count_buf) + len(self.weapon_ids) + len(self._stock_columns)
        self._tally_out = (
            np.zeros(len(record_kernels.INT_FIELDS), dtype=np.int64),
            np.zeros(2 + len(self._depth_classes)),
            np.zeros(width),
        )

    def _series_columns(self) -> list[tuple[str, str]]:
        """The time series' own columns in output order, each with its value kind."""
        cols = [("step", "int"), ("day", "float"), ("date", "date")]
        cols += [(c, "float") for c in ("fire_on_city", "harm", "harm_cumulative")]
        cols += [
            (c, "int")
            for c in (
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
            )
        ]
        cols += [("interceptors.RUS", "float"), ("interceptors.UKR", "float")]
        cols += [("nato_conflict", "bool"), ("nuclear_use", "bool")]
        for aid in self.actor_ids:
            cols += [(f"rung.{aid}", "int"), (f"pressure.{aid}", "float")]
        for aid in self.actor_ids:
            cols += [(f"score.{aid}", "int"), (f"kahn.{aid}", "int"), (f"option.{aid}", "str")]
        cols += [(f"credibility.{self.russia_id}", "float")]
        cols += [(f"commitment.{self.russia_id}", "float")]
        for a in self.suppliers:
            cols += [(f"posture.{a.actor_id}", "str"), (f"posture_level.{a.actor_id}", "int")]
        cols += [(f"depth.RUS.{self.forces.class_ids[c]}", "float") for c in self._depth_classes]
        return cols

    def _record(self, step: int, harm: float, fire: float, losses: tuple[int, int]) -> None:
        """Append this step's row: the values in the order of :meth:`_series_columns`."""
        f = self.forces
        day = step * self.step_days
        tally = self._tallies_compiled if kernels.enabled() else self._tallies_numpy
        ints, (interceptors_ru, interceptors_ua), depth, block = tally()
        alive_ru, alive_ua, forces_ru, forces_ua, believed, strikes, withheld, restrikes = ints
        actors = self._actor_list
        nato = nuclear = False
        for a in actors:
            ladder, rung = a.ladder, a.rung
            nato = nato or ladder.nato_conflict[rung]
            nuclear = nuclear or ladder.nuclear_use[rung]
        row: list[Any] = [
            step,
            day,
            self.spec.start_date + dt.timedelta(days=day),
            fire,
            harm,
            self.harm_total,
            strikes,
            self._strikes_in_russia_now,
            withheld,
            self._constrained_now,
            losses[0],
            losses[1],
            alive_ru,
            alive_ua,
            forces_ru,
            forces_ua,
            restrikes,
            believed,
            f.moved_now,
            f.pulled_back_now,
            f.carriers_downed_now,
            self._interceptors_used[0],
            self._interceptors_used[1],
            interceptors_ru,
            interceptors_ua,
            nato,
            nuclear,
        ]
        for a in actors:
            row += (a.rung, a.case)
        for a in actors:
            row += (a.score_now, a.kahn_now, a.option_now)
            a.score_now, a.kahn_now, a.option_now = 0, 0, ""  # an act is recorded once
        rus = self.actor[self.russia_id]
        row += (rus.credibility, rus.commitment)
        for a in self.suppliers:
            row += (a.policy.posture, a.policy.level)
        row += depth
        f.moved_now = f.pulled_back_now = f.carriers_downed_now = 0
        self._interceptors_used = (0, 0)
        self.datacollector.add_row(row, block)
        self._strikes_in_russia_now = 0
        self._constrained_now = 0

    def _tallies_numpy(self) -> tuple[list[int], list[float], list[float], np.ndarray]:
        """The row's force-layer tallies and count block, by numpy (the reference); resets the counters.

        Returns:
            The counts of :data:`.kernels.record.INT_FIELDS` in order; the
            interceptors on hand (Russia, Ukraine); the mean depth of each
            recorded class of Russia's live units; the count block's row.
        """
        f = self.forces
        counts = self._counts
        alive_ru = f.alive & (f.side == SIDE_RUSSIA)
        ints = [
            int(alive_ru.sum()),
            int((f.alive & (f.side == SIDE_UKRAINE)).sum()),
            f.forces_and_reserves(SIDE_RUSSIA),
            f.forces_and_reserves(SIDE_UKRAINE),
            int((f.believed_destroyed & alive_ru).sum()),
            int(counts["strikes.supplier"].sum()),
            int(counts["withheld.rule"].sum()),
            int(counts["strikes.outcome"][Outcome.ALREADY_DESTROYED]),
        ]
        interceptors = [_finite_sum(f.ru_ad.interceptors), _finite_sum(f.ua_ad.interceptors)]
        depth = f.mean_depth(SIDE_RUSSIA)[self._depth_classes].tolist()
        block = np.concatenate(
            [self._count_buf, self._row_fire_by_weapon, self.stock[self._stock_columns]]
        )
        self._count_buf[:] = 0
        return ints, interceptors, depth, block

    def _tallies_compiled(self) -> tuple[list[int], list[float], list[float], np.ndarray]:
        """What :meth:`_tallies_numpy` gives, in one compiled call (:func:`.kernels.record.step_tallies`)."""
        f = self.forces
        ints, floats, block = self._tally_out
        record_kernels.step_tallies(
            f.alive,
            f.side,
            f.status,
            f.reserves.drawn,
            f.believed_destroyed,
            f.cls,
            f.depth,
            f.ru_ad.interceptors,
            f.ua_ad.interceptors,
            self._count_buf,
            # Whole salvoes (int64) after a step of fire, zeros (float64) before the first:
            # one type for the kernel, the same values.
            self._row_fire_by_weapon.astype(np.float64, copy=False),
            self.stock,
            self._tally_stock_columns,
            self._tally_depth_classes,
            self._tally_layout,
            ints,
            floats,
            block,
        )
        values = floats.tolist()
        return ints.tolist(), values[:2], values[2:], block

    def timeseries(self) -> pd.DataFrame:
        """One row per step: dates, rungs, pressures, strikes, withheld, fire, harm, losses, rules."""
        return pd.DataFrame(self.series())

    def series(self) -> dict[str, np.ndarray | list[Any]]:
        """The columns of :meth:`timeseries`, in its order, without building a DataFrame.

        Integer, float and boolean columns are numpy arrays; ``date``, ``option.*``
        and ``posture.*`` are lists. Ensembles reduce these directly.
        """
        out = self.datacollector.to_dict()
        block = self.datacollector.block()
        for i, name, is_int in self._block_columns():
            out[name] = block[:, i].astype(np.int64) if is_int else block[:, i].copy()
        return out

    def _block_columns(self) -> list[tuple[int, str, bool]]:
        """The count block's output columns: (position, name, integer?), structural zeros left out.

        Fixed by the scenario, so worked out once per model.
        """
        if self._block_layout is None:
            names = [f"{k}.{n}" for k, v in self._count_names.items() for n in v]
            names += [f"fire_on_city.weapon.{w}" for w in self.weapon_ids]
            names += [f"stock.{self.weapon_ids[w]}" for w in self._stock_columns]
            zero = self._structural_zeros()
            n_int = len(self._count_buf)
            self._block_layout = [
                (i, name, i < n_int) for i, name in enumerate(names) if name not in zero
            ]
        return self._block_layout

    def _structural_zeros(self) -> set[str]:
        """Count columns that no run of this scenario can make non-zero (left out of the outputs).

        A permission never forbids, so an ``allow`` rule, ``unrestricted:<s>`` and
        ``ukrainian-territory`` withhold nothing; Ukraine strikes only with the
        weapons of its launch options; only Russian firing units' weapons land on
        the city.
        """
        sc = self.spec
        effects: dict[str, set[str]] = {}
        for policy in sc.rules.values():
            for posture in policy.postures.values():
                for r in posture.rules:
                    effects.setdefault(r.id, set()).add(r.effect)
        for change in sc.schedule:
            for r in change.add_rules:
                effects.setdefault(r.id, set()).add(r.effect)
        never_forbid = [
            label
            for label in self.rule_labels
            if label == UKRAINIAN_TERRITORY
            or label.startswith(f"{UNRESTRICTED}:")
            or effects.get(label) == {"allow"}
        ]
        zero = {
            f"{k}.{label}" for k in ("withheld.rule", "constrained.rule") for label in never_forbid
        }
        striking = {self.weapon_ids[w] for w in self.forces.opt_weapon.tolist()}
        suppliers = {sc.weapons[w].supplier for w in striking}
        for k in ("strikes.weapon", "strikes_in_russia.weapon"):
            zero |= {f"{k}.{w}" for w in self.weapon_ids if w not in striking}
        for k in ("strikes.supplier", "strikes_in_russia.supplier"):
            zero |= {f"{k}.{a}" for a in self.actor_ids if a not in suppliers}
        firing = {self.weapon_ids[w] for w in self.forces.rf_weapon.tolist()}
        zero |= {f"fire_on_city.weapon.{w}" for w in self.weapon_ids if w not in firing}
        return zero


def _finite_sum(stock: np.ndarray) -> float:
    """Interceptors on hand (unlimited stocks are left out)."""
    return float(stock[np.isfinite(stock)].sum())
