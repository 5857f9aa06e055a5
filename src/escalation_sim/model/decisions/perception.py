"""Perception: what each actor observes of the run, noisy, late and uncertainly attributed.

Decisions never read the force layer's truth. Each step the model hands this
module the day's strike report (``engagement.StrikeReport``: every strike as
parallel arrays, with its outcome), the
losses Russia suffered, the harm done to the target city and the acts the
actors chose; the module turns them into per-actor :class:`Observation` s
that arrive ``lag_days`` later:

- Russia notices a strike inside Russia with chance ``report_prob``; a
  munition several suppliers share (GMLRS rockets from a HIMARS or a MARS II)
  is attributed to the right supplier with chance ``attribution_accuracy``,
  otherwise to one of the family's suppliers at random; its perceived weight is
  supplier x class x depth x range x destruction, times log-normal noise.
- The first strike that a supplier's weapons make inside Russia, the first of
  each munition family, depth band and target class, and any strike on a
  strategic asset are *precedents* (:class:`Trigger`), salient apart from
  volume; a scenario lists the suppliers whose strikes set none (the war as
  usual before the start). A precedent whose weight (``trigger_weight`` x
  the supplier's weight) is zero is seen but not salient: it adds nothing to
  the case and opens no option gated on it.
- Every actor perceives the harm to the city (noisy) and the other side's
  acts (its choices, a step late at the earliest).

Random numbers come from the model's ``perceive`` stream in blocks of a fixed
size per step (one row per unit, one value per actor), so two rule sets run on
the same seed see the same noise for the same unit and day, and no other
stream's draws move.

The work done every step is kept to what the step holds: a step without
strikes calls no kernel, a strike's name and a settled precedent are looked up,
not worked out again, and actors who perceive nothing share one empty
observation instead of getting one made each.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from escalation_sim.model import kernels, libm
from escalation_sim.model.decisions.scales import RIVERA_SCORE
from escalation_sim.model.engagement import Outcome, StrikeReport
from escalation_sim.model.kernels import perception as perception_kernels
from escalation_sim.scenario.schema import OptionSpec, PerceptionSpec, RungSpec


@dataclass(frozen=True, slots=True)
class Trigger:
    """A salient precedent as an actor perceived it."""

    kind: str
    label: str
    weight: float


@dataclass(frozen=True, slots=True)
class PerceivedAct:
    """An act of another actor, as perceived."""

    actor: str
    option: str
    label: str
    rivera: str
    rung: int
    step: int

    @property
    def score(self) -> int:
        """Its Rivera et al. (2024) escalation score."""
        return RIVERA_SCORE[self.rivera]


@dataclass(slots=True)
class Observation:
    """What one actor perceives arriving in one step.

    An observation is filled while it waits to arrive; once delivered it is
    read, never changed (the actors who perceive nothing in a step share one
    empty observation).

    Attributes:
        flows: Perceived amount per channel (``strikes:<supplier>``, ``losses``,
            ``harm``), in pressure units before the actor's own weights.
        counts: Perceived strikes per ``strikes:<supplier>`` channel.
        causes: Per channel, the amount by cause label (who, with what, where,
            under which rule: the analyst's trace of the perceived strikes).
        triggers: Precedents perceived this step.
        acts: Acts of the other side perceived this step.
        provocation: Total perceived weight of strikes inside Russia this step.
        harm: Perceived harm to the target city this step.
    """

    flows: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    causes: dict[str, dict[str, float]] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    acts: list[PerceivedAct] = field(default_factory=list)
    provocation: float = 0.0
    harm: float = 0.0

    def add(self, channel: str, cause: str, amount: float) -> None:
        """Add an amount to a channel under a cause label."""
        # flows.get(channel, 0.0) + amount, and the same per cause, without a call each.
        flows, causes = self.flows, self.causes
        if channel in flows:
            flows[channel] += amount
        else:
            flows[channel] = 0.0 + amount
        if channel in causes:
            by_cause = causes[channel]
        else:
            by_cause = causes[channel] = {}
        if cause in by_cause:
            by_cause[cause] += amount
        else:
            by_cause[cause] = 0.0 + amount

    def merge(self, other: Observation) -> None:
        """Fold another observation (arriving in the same step) into this one."""
        for channel, by_cause in other.causes.items():
            for cause, amount in by_cause.items():
                self.add(channel, cause, amount)
        for channel, n in other.counts.items():
            self.counts[channel] = self.counts.get(channel, 0) + n
        self.triggers += other.triggers
        self.acts += other.acts
        self.provocation += other.provocation
        self.harm += other.harm


class Perception:
    """Turns the run's events into each actor's lagged, noisy observations.

    Args:
        spec: The perception parameters.
        actor_ids: Actor ids in scenario order.
        russia_id: Russia's actor id.
        weapon_ids: Weapon ids in catalogue order.
        weapon_supplier: Actor index of each weapon's supplier.
        weapon_long: Long-range flag of each weapon.
        class_ids: Target-class ids.
        zone_ids: Zone ids.
        n_units: Number of force units (rows of the per-step noise block).
        step_days: Days per step.
        rng: The model's ``perceive`` stream.
    """

    def __init__(
        self,
        spec: PerceptionSpec,
        *,
        actor_ids: list[str],
        russia_id: str,
        weapon_ids: list[str],
        weapon_supplier: np.ndarray,
        weapon_long: np.ndarray,
        class_ids: list[str],
        zone_ids: list[str],
        n_units: int,
        step_days: float,
        rng: np.random.Generator,
    ) -> None:
        self.spec = spec
        self.actor_ids = actor_ids
        self.russia_id = russia_id
        self.weapon_ids = weapon_ids
        self.class_ids = class_ids
        self.zone_ids = zone_ids
        self.n_units = n_units
        self.rng = rng
        self.lag_steps = round(spec.lag_days / step_days)
        self._weapon_supplier = weapon_supplier
        self._weapon_long = weapon_long
        self._supplier_weight = np.array([spec.supplier_weight.get(a, 1.0) for a in actor_ids])
        self._class_weight = np.array([spec.class_weight.get(c, 1.0) for c in class_ids])
        # Munition families: weapons sharing one are indistinguishable on arrival.
        self.family = [spec.munition_family.get(w, w) for w in weapon_ids]
        members: dict[str, list[int]] = defaultdict(list)
        for w, fam in enumerate(self.family):
            s = int(weapon_supplier[w])
            if s not in members[fam]:
                members[fam].append(s)
        self._family_suppliers = [np.array(members[fam], dtype=np.int64) for fam in self.family]
        # The same as one table for the compiled path: per weapon, its family's suppliers
        # (padded with -1) and how many there are.
        self._family_size = np.array([len(f) for f in self._family_suppliers], dtype=np.int64)
        self._family_table = np.full(
            (len(weapon_ids), max(1, int(self._family_size.max(initial=0)))), -1, np.int64
        )
        for w, fam_suppliers in enumerate(self._family_suppliers):
            self._family_table[w, : len(fam_suppliers)] = fam_suppliers
        self._bands = list(spec.depth_bands_km)
        self._band_labels = self._labels_of_bands(self._bands)
        self._band_edges = np.array(self._bands, dtype=np.float64)
        self._strategic = [c in spec.strategic_classes for c in class_ids]
        self._precedent = [a in spec.precedent_suppliers for a in actor_ids]
        # Fixed per model: each weapon's long-range factor, each supplier's channel name,
        # and the actors other than Russia who perceive the harm to the city.
        self._long_factor = np.where(weapon_long, spec.long_range_multiplier, 1.0)
        self._kernel_params = np.zeros(perception_kernels.PARAMS_SIZE)
        self._kernel_params[perception_kernels.REPORT_PROB] = spec.report_prob
        self._kernel_params[perception_kernels.ACCURACY] = spec.attribution_accuracy
        self._kernel_params[perception_kernels.DEPTH_SCALE] = spec.depth_scale_km
        self._kernel_params[perception_kernels.DESTROYED_MULTIPLIER] = spec.destroyed_multiplier
        self._kernel_params[perception_kernels.NOISE] = spec.noise_sd
        self._kernel_params[perception_kernels.DESTROYED_CODE] = Outcome.DESTROYED
        self._channel = [f"strikes:{a}" for a in actor_ids]
        self._harm_seers = [(i, a) for i, a in enumerate(actor_ids) if a != russia_id]
        self._n_actors = len(actor_ids)
        #: Precedents already perceived (a dict: insertion-ordered, never a set).
        self.seen: dict[tuple[str, ...], int] = {}
        self._pending: dict[int, dict[str, Observation]] = defaultdict(dict)
        #: What an actor who perceives nothing in a step receives (read, never changed).
        self._nothing = Observation()
        #: Each noticed strike's cause label, by (seen supplier, supplier, weapon, zone,
        #: rule), for the ``cause_label`` it was named with (fixed per run).
        self._labels: dict[tuple[int, int, int, int, int], str] = {}
        self._labels_of: object = None
        #: (supplier, weapon, class, band) of strikes whose every precedent is in
        #: :attr:`seen` already, so a strike like them sets none (``seen`` only grows).
        #: Strikes on strategic assets are never settled: each depth is its own precedent.
        self._settled: dict[tuple[int, int, int, int], int] = {}
        #: The harm seers with their weights, for the ``harm_weights`` last given.
        self._harm_weights: dict[str, float] | None = None
        self._harm_plan: list[tuple[int, str, float]] = []
        #: What the compiled path fills in, a column per strike (grown as reports grow).
        self._noticed_ints = np.zeros((len(perception_kernels.INT_ROWS), 0), dtype=np.int64)
        self._noticed_floats = np.zeros((len(perception_kernels.FLOAT_ROWS), 0))
        self._grow_noticed(64)

    # ------------------------------------------------------------------ inputs
    def band_index(self, depth: float) -> int:
        """The depth band a depth falls in: the first whose upper edge is at or beyond it.

        ``len(depth_bands_km)`` (the band beyond the last edge) when none is; a NaN
        depth falls beyond every edge.
        """
        for i, hi in enumerate(self._bands):
            if depth <= hi:
                return i
        return len(self._bands)

    def band_label(self, depth: float) -> str:
        """The depth band a depth falls in, e.g. ``30-90 km``."""
        return self._band_labels[self.band_index(depth)]

    @staticmethod
    def _labels_of_bands(bands: list[float]) -> list[str]:
        """Each band's label (``0-30 km``, ...), then the one beyond the last (``beyond 90 km``)."""
        labels, lo = [], 0.0
        for hi in bands:
            labels.append(f"{lo:g}-{hi:g} km")
            lo = hi
        return [*labels, f"beyond {lo:g} km"]

    def observe_step(
        self,
        step: int,
        report: StrikeReport,
        russian_units_destroyed: int,
        harm: float,
        cause_label,
        harm_weights: dict[str, float],
    ) -> None:
        """Perceive one step's strikes inside Russia, Russia's losses and the harm to the city.

        Args:
            step: The step the events happened in.
            report: The step's strikes.
            russian_units_destroyed: Russian units destroyed this step (Russia knows its losses).
            harm: Harm done to the target city this step.
            cause_label: ``(supplier, weapon, zone, rule) -> str``, the analyst's name of a strike.
            harm_weights: Each actor's pressure per unit of perceived harm.
        """
        p = self.spec
        # Fixed-size draws per step (common random numbers across rule sets), drawn
        # whatever the step holds.
        u = self.rng.random((self.n_units, 2))
        z = self.rng.standard_normal(self.n_units)
        z_harm = self.rng.standard_normal(self._n_actors)
        if not report.depth_km.size:
            noticed = None  # no strike, none noticed: what either path gives, without a call
        elif kernels.enabled():
            noticed = self._noticed_compiled(report, u, z)
        else:
            noticed = self._noticed_numpy(report, u, z)
        if noticed is None and not russian_units_destroyed and not harm > 0:
            return  # nothing perceived: every actor receives the empty observation
        pending = self._pending[step + self.lag_steps]
        if noticed is not None or russian_units_destroyed:
            rus_id = self.russia_id
            if rus_id in pending:
                rus = pending[rus_id]
            else:
                rus = pending[rus_id] = Observation()
            if noticed is not None:
                self._add_noticed(rus, noticed, cause_label)
            if russian_units_destroyed:
                rus.add(
                    "losses",
                    "losses to Ukrainian strikes",
                    p.own_loss_weight * russian_units_destroyed,
                )
        if harm > 0:
            noise = p.noise_sd
            spread = 0.5 * noise * noise
            z_list = z_harm.tolist()
            if harm_weights != self._harm_weights:  # the same every step of a run
                self._harm_weights = dict(harm_weights)
                self._harm_plan = [
                    (i, aid, harm_weights.get(aid, 0.0)) for i, aid in self._harm_seers
                ]
            for i, aid, weight in self._harm_plan:
                seen_harm = harm * math.exp(noise * z_list[i] - spread)
                if aid in pending:
                    obs = pending[aid]
                    obs.harm += seen_harm
                    if weight > 0:
                        obs.add("harm", "harm to the city", weight * seen_harm)
                elif weight > 0:
                    # A new observation holds what Observation().add would put in it.
                    amount = 0.0 + weight * seen_harm
                    pending[aid] = Observation(
                        flows={"harm": amount},
                        causes={"harm": {"harm to the city": amount}},
                        harm=0.0 + seen_harm,
                    )
                else:
                    pending[aid] = Observation(harm=0.0 + seen_harm)

    def _add_noticed(
        self, rus: Observation, noticed: tuple[list[list], np.ndarray], cause_label
    ) -> None:
        """Add the noticed strikes to Russia's observation: flows, counts, causes, precedents."""
        columns, weights = noticed
        rus.provocation += float(np.add.reduce(weights))  # weights.sum(), one call
        if cause_label is not self._labels_of:  # the labels are those of one namer
            self._labels, self._labels_of = {}, cause_label
        labels, settled, strategic = self._labels, self._settled, self._strategic
        channels, precedent = self._channel, self._precedent
        counts = rus.counts
        rows = zip(*columns, weights.tolist(), strict=True)
        for seen, true, weapon, zone, rule, c, d, band, weight in rows:
            key = (seen, true, weapon, zone, rule)
            if key in labels:
                label = labels[key]
            else:
                label = cause_label(true, weapon, zone, rule)
                if seen != true:
                    label += f" (attributed to {self.actor_ids[seen]})"
                labels[key] = label
            channel = channels[seen]
            rus.add(channel, label, weight)
            if channel in counts:
                counts[channel] += 1
            else:
                counts[channel] = 1
            if not precedent[seen]:
                case = (seen, weapon, c, band)
                if case not in settled:
                    self._precedents(rus, seen, weapon, c, d, band)
                    if not strategic[c]:
                        settled[case] = 1

    def _noticed_numpy(
        self, report: StrikeReport, u: np.ndarray, z: np.ndarray
    ) -> tuple[list[list], np.ndarray] | None:
        """The strikes inside Russia that Russia notices, by numpy (the reference).

        Returns:
            ``None`` when it notices none; else, per noticed strike in report
            order, the columns (attributed supplier, true supplier, weapon, zone,
            rule, target class, depth, depth band) as lists, and the perceived
            weights.
        """
        p = self.spec
        inside = (report.depth_km > 0).nonzero()[0]
        if len(inside):
            t = report.target[inside]
            noticed = u[t, 0] < p.report_prob
            inside, t = inside[noticed], t[noticed]
        if not len(inside):
            return None
        w = report.weapon[inside]
        true_sup = report.supplier[inside]
        seen_sup = true_sup.copy()
        acc = p.attribution_accuracy
        for j in (u[t, 1] >= acc).nonzero()[0].tolist():
            fam = self._family_suppliers[int(w[j])]
            if len(fam) > 1:
                r = (u[t[j], 1] - acc) / max(1.0 - acc, 1e-12)
                seen_sup[j] = fam[min(int(r * len(fam)), len(fam) - 1)]
        cls = report.target_class[inside]
        depth = report.depth_km[inside]
        weights = (
            self._supplier_weight[seen_sup]
            * self._class_weight[cls]
            * (1.0 + depth / p.depth_scale_km)
            * self._long_factor[w]
            * np.where(report.destroyed[inside], p.destroyed_multiplier, 1.0)
        )
        noise = p.noise_sd
        if noise > 0:
            weights = weights * libm.exp(noise * z[t] - 0.5 * noise * noise)
        depths = depth.tolist()
        columns = [
            seen_sup.tolist(),
            true_sup.tolist(),
            w.tolist(),
            report.zone[inside].tolist(),
            report.rule[inside].tolist(),
            cls.tolist(),
            depths,
            [self.band_index(d) for d in depths],
        ]
        return columns, weights

    def _noticed_compiled(
        self, report: StrikeReport, u: np.ndarray, z: np.ndarray
    ) -> tuple[list[list], np.ndarray] | None:
        """What :meth:`_noticed_numpy` gives, in one compiled call and ``libm.exp``.

        See :func:`.kernels.perception.strikes_noticed`.
        """
        if report.depth_km.size > self._noticed_ints.shape[1]:  # room for every strike
            self._grow_noticed(report.depth_km.size)
        ints, floats = self._noticed_ints, self._noticed_floats
        m = perception_kernels.strikes_noticed(
            report.depth_km,
            report.target,
            report.weapon,
            report.supplier,
            report.target_class,
            report.outcome,
            report.zone,
            report.rule,
            u,
            z,
            self._family_table,
            self._family_size,
            self._supplier_weight,
            self._class_weight,
            self._long_factor,
            self._band_edges,
            self._kernel_params,
            ints,
            floats,
        )
        if not m:
            return None
        floats = floats[:, :m]
        # A new array either way: the buffer is refilled on the next call.
        weights = floats[1] * libm.exp(floats[2]) if self.spec.noise_sd > 0 else floats[1].copy()
        seen, true, weapon, zone, rule, cls, band = ints[:, :m].tolist()
        return [seen, true, weapon, zone, rule, cls, floats[0].tolist(), band], weights

    def _grow_noticed(self, strikes: int) -> None:
        """Room in the compiled path's output arrays for a report of ``strikes`` strikes."""
        columns = max(strikes, 2 * self._noticed_ints.shape[1])
        rows_int, rows_float = len(perception_kernels.INT_ROWS), len(perception_kernels.FLOAT_ROWS)
        self._noticed_ints = np.zeros((rows_int, columns), dtype=np.int64)
        self._noticed_floats = np.zeros((rows_float, columns), dtype=np.float64)

    def _precedents(
        self, obs: Observation, s: int, weapon: int, cls: int, depth: float, band: int
    ) -> None:
        """Add the precedents a strike sets that are not in :attr:`seen` yet (``band``: its depth's)."""
        sup = self.actor_ids[s]
        cname = self.class_ids[cls]
        keys = [
            ("new_supplier", sup),
            ("first_weapon_class", sup, self.family[weapon]),
            ("new_depth_band", sup, self._band_labels[band]),
            ("new_target_class", sup, cname),
        ]
        if self._strategic[cls]:
            keys.append(("strategic_asset", sup, cname, f"{depth:.0f}"))
        seen = self.seen
        for key in keys:
            if key in seen:
                continue
            seen[key] = 1
            weight = self.spec.trigger_weight.get(key[0], 0.0) * float(self._supplier_weight[s])  # type: ignore[call-overload]
            if weight > 0:  # a precedent that weighs nothing is not salient: it opens no gate
                obs.triggers.append(Trigger(key[0], _precedent_label(key), weight))

    def observe_act(
        self,
        step: int,
        actor: str,
        option: OptionSpec,
        rung: int,
        rung_spec: RungSpec,
        audience: list[str],
    ) -> None:
        """Others perceive an actor's act, one step later at the earliest.

        Args:
            step: Step of the act.
            actor: Who acted.
            option: What it chose.
            rung: The rung it stands on after the act.
            rung_spec: That rung (its flags name the precedents the act sets).
            audience: The actors who perceive it (the other side).
        """
        act = PerceivedAct(actor, option.id, option.label, option.rivera, rung, step)
        kinds: list[str] = []
        if option.rivera in ("violent_escalation", "nuclear"):
            kinds.append("adversary_violent")
        if rung_spec.nato_conflict and option.rung == rung:
            kinds.append("adversary_nato_attack")
        if option.kind == "nuclear" and rung_spec.nuclear_use:
            kinds.append("adversary_nuclear_use")
        elif option.kind == "nuclear":
            kinds.append("adversary_nuclear_signal")
        at = step + max(1, self.lag_steps)
        pending = self._pending[at]
        for aid in audience:
            if aid in pending:  # no observation made and thrown away when one waits
                obs = pending[aid]
            else:
                obs = pending[aid] = Observation()
            obs.acts.append(act)
            for kind in kinds:
                weight = self.spec.trigger_weight.get(kind, 0.0)  # type: ignore[call-overload]
                if weight > 0:
                    obs.triggers.append(Trigger(kind, f"{actor}: {option.label}", weight))

    # ------------------------------------------------------------------ output
    def deliver(self, step: int) -> dict[str, Observation]:
        """The observations arriving at ``step`` (every actor has one, possibly empty).

        The empty one is shared by every actor who perceives nothing: delivered
        observations are read, never changed.
        """
        arrived = self._pending.pop(step, None)
        nothing = self._nothing
        if not arrived:
            return dict.fromkeys(self.actor_ids, nothing)
        # A test and an index, not arrived.get: no call per actor.
        return {aid: arrived[aid] if aid in arrived else nothing for aid in self.actor_ids}  # noqa: SIM401


def _precedent_label(key: tuple[str, ...]) -> str:
    """How a precedent is named, from its key (worked out only when the precedent is new)."""
    match key:
        case ("new_supplier", sup):
            return f"first strike inside Russia with {sup} weapons"
        case ("first_weapon_class", sup, fam):
            return f"first {fam} strike inside Russia ({sup})"
        case ("new_depth_band", sup, band):
            return f"first {sup} strike {band} deep"
        case ("new_target_class", sup, cname):
            return f"first {sup} strike on {cname}"
        case ("strategic_asset", sup, cname, _):
            return f"{sup} strike on {cname}"
    raise ValueError(f"unknown precedent {key!r}")  # pragma: no cover - keys are made above
