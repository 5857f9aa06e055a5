"""The scenario schema: what a user writes, as pydantic models.

Every model here forbids unknown keys, so a misspelt field is an error rather
than a silently ignored setting. Defaults for the model's parameters live in
the package's ``data/defaults.yaml`` (each with its source or the word
"assumption"); a scenario file is merged over those defaults before it is
validated against these models. Cross-references between sections (a rule
naming a weapon, a force placed in a zone) are checked in
:mod:`escalation_sim.scenario.checks`.

Numbers are strict at the base of the schema (:class:`Spec`), so every field
added later inherits it: a float must be finite (no ``.inf`` or ``.nan``) and at
most :data:`~escalation_sim.scenario.bounds.MAX_MAGNITUDE` in size, a string
is never read as a number (``horizon_days: '10'`` is an error) and neither is a
boolean (``true`` is not 1). Counts and sizes have bounds of their own in
:mod:`escalation_sim.scenario.bounds`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from escalation_sim.scenario import bounds
from escalation_sim.scenario.frozen import READ_ONLY, FrozenDict, FrozenList

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Identifier = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
]
Count = Annotated[int, Field(ge=0, le=bounds.MAX_GROUP_UNITS)]
Shots = Annotated[int, Field(ge=0, le=bounds.MAX_SHOTS_PER_STEP)]


def _too_large(value: object) -> bool:
    """A number (or a number inside a list or mapping) beyond ``MAX_MAGNITUDE``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return abs(value) > bounds.MAX_MAGNITUDE
    if isinstance(value, dict):
        return any(_too_large(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_too_large(v) for v in value)
    return False


class Spec(BaseModel):
    """Base for every scenario section: unknown keys are errors, values are read-only.

    Numbers are strict (no strings or booleans read as numbers), finite and at
    most ``MAX_MAGNITUDE`` in absolute value, in every field of every section.

    Read-only all the way down: fields cannot be assigned, and every mapping
    and list in a section is a :class:`~escalation_sim.scenario.frozen.FrozenDict`
    or :class:`~escalation_sim.scenario.frozen.FrozenList` (what the model
    builds from a scenario is cached by the scenario object, so an edit in place
    would go unseen). Each refusal is a :class:`TypeError` that says how to make
    a changed, validated copy.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: a validated scenario is read-only (pydantic's own refusal names no way out)."""
        raise TypeError(f"cannot set {type(self).__name__}.{name}: {READ_ONLY}")

    def __delattr__(self, name: str) -> None:
        """Refuse, as for setting."""
        raise TypeError(f"cannot delete {type(self).__name__}.{name}: {READ_ONLY}")

    @field_validator("*", mode="after")
    @classmethod
    def _bounded_magnitude(cls, value: object) -> object:
        if _too_large(value):
            raise ValueError(
                f"numbers must lie within +-{bounds.MAX_MAGNITUDE:.0e} (a scenario's km, "
                "stocks and weights are far smaller)"
            )
        return value


class Interval(Spec):
    """A closed interval ``[min, max]`` in kilometres."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        return self


# --- actors -------------------------------------------------------------------------


class ActorSpec(Spec):
    """A state actor: belligerent, supplier, or both."""

    name: str
    role: Literal["belligerent", "supplier", "both"]
    side: Literal["ukraine", "russia", "west", "other"]
    start_rung: Annotated[int, Field(ge=0, le=bounds.MAX_ENTRIES)] = 0
    risk_tolerance: Probability = 0.5
    source: str = "assumption"


# --- weapons ------------------------------------------------------------------------


class WeaponSpec(Spec):
    """One weapon system in the catalogue."""

    name: str
    supplier: str
    mode: Literal["tube", "rocket", "ballistic", "cruise", "glide_bomb", "drone", "sam_surface"]
    range_km: Positive
    long_range: bool = False
    effect: FrozenDict[str, Probability] = Field(
        default_factory=FrozenDict,
        description="Damage to a target of each class per salvo, as a fraction of its strength.",
    )
    interception_chance: Probability = Field(
        description="Chance that a fully covering air defence intercepts one salvo."
    )
    stock: NonNegative = Field(description="Salvoes on hand at the start.")
    resupply_per_day: NonNegative = 0.0
    civilian_harm: NonNegative = Field(
        0.0, description="Harm-index units per salvo that lands on a city."
    )
    rounds_per_salvo: Annotated[int, Field(ge=1)] = Field(
        1, description="The unit of fire: rounds, rockets, missiles or bombs in one salvo."
    )
    salvo: str = Field("", description="What one salvo is, in words (e.g. '6 rounds').")
    speed_kmh: Positive = Field(
        3000.0, description="Mean speed over the flight (time of flight = distance / speed)."
    )
    tasking_hours: NonNegative = Field(
        0.5, description="Hours from a located track to launch (the sensor-to-shooter time)."
    )
    source: str


# --- theater ------------------------------------------------------------------------


class ZoneSpec(Spec):
    """A named area in the border-aligned frame (x along the border, depth into Russia).

    Either a rectangle (``x_km`` and ``depth_km``) or a polygon (``polygon``: a
    list of ``[x_km, depth_km]`` vertices, in order, at least three). Zones may
    overlap: a point belongs to every zone that contains it.
    """

    name: str
    territory: Literal["ukraine", "russia"]
    occupied: bool = False
    x_km: Interval | None = None
    depth_km: Interval | None = None
    polygon: FrozenList[Annotated[FrozenList[float], Field(min_length=2, max_length=2)]] | None = (
        Field(None, description="Outline as [x_km, depth_km] vertices (closed automatically).")
    )
    source: str = "assumption"

    @model_validator(mode="after")
    def _one_shape(self) -> ZoneSpec:
        rect = self.x_km is not None or self.depth_km is not None
        if self.polygon is not None and rect:
            raise ValueError("give either 'polygon' or 'x_km' and 'depth_km', not both")
        if self.polygon is None and (self.x_km is None or self.depth_km is None):
            raise ValueError(
                "a zone needs 'polygon' (a list of [x_km, depth_km]) or 'x_km' and 'depth_km'"
            )
        if self.polygon is not None and len(self.polygon) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices; got {len(self.polygon)}")
        return self

    @model_validator(mode="after")
    def _territory_matches_depth(self) -> ZoneSpec:
        _, _, d_lo, d_hi = self.bounds()
        if self.territory == "russia" and d_lo < 0:
            raise ValueError("a zone in Russia must lie at depth >= 0 (depth is km into Russia)")
        if self.territory == "ukraine" and d_hi > 0:
            raise ValueError("a zone in Ukraine must lie at depth <= 0 (negative depth)")
        return self

    def outline(self) -> list[tuple[float, float]]:
        """The zone's vertices (a rectangle's four corners, or the polygon)."""
        if self.polygon is not None:
            return [(float(x), float(d)) for x, d in self.polygon]
        assert self.x_km is not None and self.depth_km is not None
        x0, x1, d0, d1 = self.x_km.min, self.x_km.max, self.depth_km.min, self.depth_km.max
        return [(x0, d0), (x1, d0), (x1, d1), (x0, d1)]

    def bounds(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, depth_min, depth_max)`` of the zone."""
        xs, ds = zip(*self.outline(), strict=True)
        return min(xs), max(xs), min(ds), max(ds)


class PlaceSpec(Spec):
    """A named point: a city, a town, a landmark for the map."""

    name: str
    kind: Literal["city", "town", "airbase", "landmark"] = "city"
    x_km: float
    depth_km: float
    population_k: NonNegative = 0.0
    source: str = "assumption"


class TheaterSpec(Spec):
    """Geography: a straightened border (depth 0) with zones and places on both sides."""

    description: str = ""
    x_extent_km: Interval
    depth_extent_km: Interval
    cell_km: Positive = 20.0
    target_city: str = Field(description="The place whose harm is tracked (Kharkiv by default).")
    zones: FrozenDict[Identifier, ZoneSpec]
    places: FrozenDict[Identifier, PlaceSpec]


# --- forces -------------------------------------------------------------------------


class SensorSpec(Spec):
    """A unit's sensing: counter-battery radar sees units that fire; ISR sees any unit."""

    kind: Literal["radar", "isr"]
    range_km: Positive
    detect_prob: Probability


class AirDefenceSpec(Spec):
    """A unit's air defence: it covers cells within range against incoming salvoes."""

    range_km: Positive
    coverage: Probability
    interceptors: NonNegative | None = Field(
        None, description="Engagements on hand at the start (none: unlimited)."
    )
    interceptor_resupply_per_day: NonNegative = 0.0
    aircraft_range_km: NonNegative = Field(
        0.0, description="Reach against aircraft (glide-bomb carriers at their release points)."
    )
    aircraft_kill_prob: Probability = Field(
        0.0,
        description="Chance per sortie in reach that it downs the carrier (uses one interceptor).",
    )


class FireSpec(Spec):
    """How often a firing unit fires and at what."""

    prob_per_step: Probability
    salvoes_per_step: Annotated[int, Field(ge=1, le=bounds.MAX_SHOTS_PER_STEP)] = 1
    city_share: Probability = Field(
        0.0, description="Share of its fire aimed at the target city when the city is in range."
    )
    release_depth_km: float | None = Field(
        None,
        description="Aircraft fly to the target city's axis and release their weapons at this "
        "depth (km into Russia) instead of firing from the unit's own position (glide-bomb "
        "sorties from airbases).",
    )


class ForceGroupSpec(Spec):
    """A group of identical units placed at random in a zone at set-up."""

    owner: str
    unit_type: str
    target_class: str
    count: Count
    zone: str
    depth_km: Interval | None = Field(
        None, description="Restrict placement to this depth band inside the zone."
    )
    x_km: Interval | None = Field(
        None, description="Restrict placement to this band along the border inside the zone."
    )
    weapons: FrozenList[str] = Field(default_factory=FrozenList)
    shots_per_step: Shots = 0
    fire: FireSpec | None = None
    sensor: SensorSpec | None = None
    air_defence: AirDefenceSpec | None = None
    fixed_site: bool = Field(
        False, description="Fixed sites are known to the other side without detection."
    )
    reserve: Annotated[int, Field(ge=0)] = Field(
        0, description="Units held back to replace losses (each replaces one loss, once)."
    )
    replacement_days: Positive | None = Field(
        None, description="Days from a loss to its replacement's arrival (default: combat's)."
    )
    launch_depth_km: float | None = Field(
        None,
        description="Air-launched weapons: the aircraft fly to this depth (negative: on the "
        "Ukrainian side) to release, and reach is measured from there.",
    )
    military: bool = Field(
        True, description="A military target used to attack the other side (false: civil sites)."
    )
    source: str = "assumption"


# --- rules --------------------------------------------------------------------------


class ConditionSpec(Spec):
    """Extra conditions on the world state for a rule to apply."""

    actor: str = "RUS"
    rung_below: Annotated[int, Field(ge=0)] | None = None
    rung_at_least: Annotated[int, Field(ge=0)] | None = None


class RuleSpec(Spec):
    """One authorization (``allow``) or prohibition (``forbid``) of a supplier."""

    id: Identifier
    effect: Literal["allow", "forbid"]
    weapons: FrozenList[str] | Literal["all"] = "all"
    target_classes: FrozenList[str] | Literal["all"] = "all"
    territory: Literal["russia", "ukraine", "any"] = "russia"
    zones: FrozenList[str] | None = None
    min_depth_km: NonNegative | None = None
    max_depth_km: NonNegative | None = None
    long_range_only: bool = False
    purpose: Literal["counter_fire", "self_defense", "any"] = "any"
    counter_fire_window_hours: Positive = 72.0
    condition: ConditionSpec | None = None
    note: str = ""

    @model_validator(mode="after")
    def _depths_ordered(self) -> RuleSpec:
        if (
            self.min_depth_km is not None
            and self.max_depth_km is not None
            and self.max_depth_km < self.min_depth_km
        ):
            raise ValueError("max_depth_km must be >= min_depth_km")
        return self


class PostureSpec(Spec):
    """A named rule set of one supplier; ``level`` orders postures by permissiveness."""

    level: Annotated[int, Field(ge=0)]
    description: str = ""
    rules: FrozenList[RuleSpec] = Field(default_factory=FrozenList)


class AdaptationSpec(Spec):
    """A supplier's adaptive policy: widen under harm and allies' pressure, narrow under risk.

    Both directions read what happens in the run as the supplier perceives it:
    Russia's recent acts (their escalation scores, weighed by the credibility
    of its threats) hold widening back and, past ``narrow_at_threat``, narrow
    the rules; ``narrow_at_rung`` stays as a hard limit.
    """

    widen: bool = False
    narrow: bool = True
    harm_weight: NonNegative
    ally_weight: NonNegative
    widen_threshold: Positive
    narrow_at_rung: Annotated[int, Field(ge=0)]
    narrow_at_threat: Positive = Field(
        1e9,
        description="Perceived Russian threat (credibility x escalation score of its acts over "
        "the threat window) at which the supplier narrows its rules.",
    )
    restraint_weight: NonNegative = Field(
        0.0, description="Widening push lost per unit of perceived Russian threat."
    )
    threat_window_days: Annotated[float, Field(gt=0.0, le=120.0)] = Field(
        30.0,
        description="Days over which Russia's perceived acts count as its current threat "
        "(at most 120: how long the other side's acts are remembered).",
    )
    change_prob: Probability = Field(description="Chance per step of acting once triggered.")
    min_days_between_changes: Annotated[int, Field(ge=0)] = 14


class SupplierPolicySpec(Spec):
    """A supplier's rule sets (postures), the one in force at the start, and how it adapts."""

    posture: str
    postures: FrozenDict[Identifier, PostureSpec]
    adaptation: AdaptationSpec


class ScheduledChangeSpec(Spec):
    """A rule change on a given day: switch posture and/or add or remove rules."""

    day: Annotated[int, Field(ge=0)]
    supplier: str
    posture: str | None = None
    add_rules: FrozenList[RuleSpec] = Field(default_factory=FrozenList)
    remove_rules: FrozenList[str] = Field(default_factory=FrozenList)
    note: str = ""

    @model_validator(mode="after")
    def _does_something(self) -> ScheduledChangeSpec:
        if self.posture is None and not self.add_rules and not self.remove_rules:
            raise ValueError("a scheduled change needs 'posture', 'add_rules' or 'remove_rules'")
        return self


# --- ladder and decisions -----------------------------------------------------------


class RungSpec(Spec):
    """One rung of the escalation ladder."""

    level: Annotated[int, Field(ge=0)]
    id: Identifier
    name: str
    description: str = ""
    climb_threshold: NonNegative = Field(
        description="Escalation pressure at which climbing onto this rung becomes likely."
    )
    signal: bool = Field(False, description="A signalling rung (credibility builds while here).")
    nato_conflict: bool = Field(False, description="Reaching it means direct NATO-Russia conflict.")
    nuclear_use: bool = Field(False, description="Reaching it means nuclear use.")
    fire_multiplier: Positive = Field(1.0, description="Multiplier on the actor's own fire.")
    strike_multiplier: Positive = Field(
        1.0, description="Multiplier on the actor's daily strike tasking (Ukraine)."
    )


class LadderSpec(Spec):
    """An ordered escalation ladder (after Kahn)."""

    name: str
    source: str
    rungs: FrozenList[RungSpec]

    @model_validator(mode="after")
    def _ordered(self) -> LadderSpec:
        if not self.rungs:
            raise ValueError("a ladder needs at least one rung")
        levels = [r.level for r in self.rungs]
        if levels != list(range(len(levels))):
            raise ValueError(f"rung levels must be 0, 1, 2, ... in order; got {levels}")
        thresholds = [r.climb_threshold for r in self.rungs]
        if any(b < a for a, b in itertools.pairwise(thresholds)):
            raise ValueError(f"climb_threshold must not decrease up the ladder; got {thresholds}")
        return self


#: Categories of the escalation score of Rivera et al. (2024), "Escalation Risks from
#: Language Models in Military and Diplomatic Decision-Making".
RiveraCategory = Literal[
    "de_escalation",
    "status_quo",
    "posturing",
    "non_violent_escalation",
    "violent_escalation",
    "nuclear",
]
#: Salient precedents an actor perceives, apart from accumulated volume.
TriggerKind = Literal[
    "new_supplier",  # first strike inside Russia perceived as made with a supplier's weapons
    "first_weapon_class",  # first strike inside Russia with a class of munition, by supplier
    "new_depth_band",  # first strike by a supplier's weapons in a band of depth into Russia
    "new_target_class",  # first strike by a supplier's weapons on a class of target
    "strategic_asset",  # a strike on a strategic or early-warning asset
    "adversary_violent",  # the other side took a violent escalation option
    "adversary_nato_attack",  # the other side struck NATO territory or assets
    "adversary_nuclear_signal",  # the other side made a nuclear demonstration
    "adversary_nuclear_use",  # the other side used nuclear weapons
]
#: The decision models an actor can be given (see ``model/decisions/models.py``).
DecisionModelName = Literal["cost_benefit", "pressure"]


class PerceptionSpec(Spec):
    """What the actors perceive, how well, and how they weigh it.

    Russia perceives strikes inside Russia (weight = supplier x class x depth x
    range x destruction), its own losses and the precedents they set; every
    actor perceives harm to the target city and the other side's acts. Each
    observation is noisy, late and (for munitions several suppliers share)
    uncertainly attributed.
    """

    supplier_weight: FrozenDict[str, NonNegative]
    class_weight: FrozenDict[str, NonNegative]
    depth_scale_km: Positive
    long_range_multiplier: Positive
    destroyed_multiplier: Positive
    own_loss_weight: NonNegative
    report_prob: Probability = Field(
        1.0, description="Chance that a strike inside Russia is noticed and assessed at all."
    )
    noise_sd: NonNegative = Field(
        0.0, description="Log-normal spread of a perceived weight (0: perceived exactly)."
    )
    lag_days: Annotated[float, Field(ge=0.0, le=30.0)] = Field(
        0.0, description="Days between an event and its perception (assessment delay)."
    )
    attribution_accuracy: Probability = Field(
        1.0,
        description="Chance that a strike with a munition several suppliers share is attributed "
        "to the right supplier (otherwise to one of the family's suppliers at random).",
    )
    munition_family: FrozenDict[str, str] = Field(
        default_factory=FrozenDict,
        description="Weapon to the munition it fires, where weapons share one (GMLRS rockets "
        "from a HIMARS or a MARS II look alike on arrival); a weapon not listed is its own family.",
    )
    depth_bands_km: FrozenList[NonNegative] = Field(
        default_factory=FrozenList,
        description="Upper edges of the depth bands whose first use counts.",
    )
    strategic_classes: FrozenList[str] = Field(
        default_factory=FrozenList, description="Target classes that are strategic assets."
    )
    precedent_suppliers: FrozenList[str] = Field(
        default_factory=FrozenList,
        description="Suppliers whose strikes inside Russia set no precedent: the war as usual "
        "before the start (Ukraine's own drones).",
    )
    trigger_weight: FrozenDict[TriggerKind, NonNegative] = Field(
        default_factory=FrozenDict, description="Salience added by each kind of precedent."
    )
    salience_half_life_days: Positive = Field(
        7.0, description="Days for the salience of a precedent to halve."
    )
    habituation_days: Positive | None = Field(
        None,
        description="Time constant of the level an actor comes to expect of each flow (strikes "
        "by supplier, losses, harm); only the flow above it adds pressure. None: no habituation.",
    )
    smoothing_days: Positive = Field(
        7.0, description="Days over which a flow is smoothed before it is compared to expectation."
    )
    act_weight: NonNegative = Field(
        0.0,
        description="Pressure added per point of escalation score of an act of the other side.",
    )


class OptionSpec(Spec):
    """One response option: what an actor may do, what it answers, what it costs and risks.

    An option tied to a rung moves the actor up to that rung when it stands
    lower (a climb); one without a rung (or at or below the actor's rung) is an
    act that changes no rung (a statement, an exercise). The stand-down option
    (``descend``) moves one rung down. Gates: ``requires_any`` (at least one of
    these precedents salient now), ``min_rung`` (the actor already stands at
    or above it) and ``cooldown_days`` (not again so soon); a rung more than
    one above the actor's is reachable only when one of ``skip_on`` is salient.
    """

    id: Identifier
    label: str
    kind: Literal[
        "hold",
        "statement",
        "exercise",
        "doctrine",
        "horizontal",
        "strikes",
        "demonstration",
        "nato_attack",
        "nuclear",
        "de_escalation",
        "warning",
        "counter_signal",
        "reinforcement",
        "alert",
        "direct_conflict",
        "appeal",
        "campaign",
    ]
    rung: Annotated[int, Field(ge=0)] | None = None
    descend: bool = False
    answers: NonNegative = Field(description="How large a case the act answers (pressure units).")
    cost: NonNegative = Field(description="Its political and material cost (pressure units).")
    risk: NonNegative = Field(
        0.0,
        description="Cost of the other side's likely answer at baseline resolve (pressure units).",
    )
    rivera: RiveraCategory
    kahn: Annotated[int, Field(ge=1, le=44)] | None = Field(
        None, description="The nearest rung of Kahn's 44-rung ladder (On Escalation, 1965)."
    )
    requires_any: FrozenList[TriggerKind] = Field(default_factory=FrozenList)
    min_rung: Annotated[int, Field(ge=0)] | None = None
    skip_on: FrozenList[TriggerKind] = Field(default_factory=FrozenList)
    threat: bool = Field(False, description="A threat: it stakes the credibility of the actor.")
    cooldown_days: NonNegative = Field(
        0.0, description="Days before the same actor may take this option again (news cycle)."
    )
    description: str = ""
    source: str = "assumption"


class DecisionSpec(Spec):
    """One actor's escalation decision parameters."""

    model: DecisionModelName = Field(
        "cost_benefit", description="Which decision model chooses this actor's options."
    )
    pressure_decay: Probability = Field(description="Fraction of pressure lost per day.")
    climb_rate: Probability = Field(description="Daily chance of climbing when pressure is high.")
    descend_rate: Probability = Field(
        description="Daily chance of descending when pressure is low."
    )
    steepness: Positive = Field(description="Width of the logistic around a threshold (fraction).")
    credibility_weight: NonNegative = Field(
        description="Added climb pressure per day spent on a signalling rung while strikes go on."
    )
    harm_weight: NonNegative = Field(description="Pressure per unit of harm to the target city.")
    adversary_rung_weight: NonNegative = Field(
        description="Pressure per day per rung that the adversary stands above its start."
    )
    temperature: Positive = Field(
        1.0, description="Decision noise of the cost-benefit model (pressure units)."
    )
    relief: Probability = Field(
        0.5, description="Share of the answered case an act relieves (pressure and salience)."
    )
    deterrence_weight: NonNegative = Field(
        1.0, description="How much each rung of the other side's resolve raises an option's risk."
    )
    upkeep: NonNegative = Field(
        0.3, description="Cost of standing on a raised rung, per pressure unit of its threshold."
    )
    commitment_share: Probability = Field(
        0.5,
        description="Balance of an ignored threat: the share that becomes commitment to act "
        "(audience costs); the rest is lost credibility (bluff discount).",
    )
    commitment_weight: NonNegative = Field(
        0.0,
        description="Commitment added per outstanding threat per unit of perceived provocation.",
    )
    bluff_rate: Probability = Field(
        0.0, description="Daily loss of credibility while threats are ignored (before the share)."
    )
    threat_half_life_days: Positive = Field(
        14.0, description="Days for an outstanding threat's stake to halve."
    )


class DecisionsSpec(Spec):
    """Escalation decisions: perception and each actor's parameters."""

    perception: PerceptionSpec
    actors: FrozenDict[str, DecisionSpec]


class MobilitySpec(Spec):
    """How units of one target class move: shoot-and-scoot, displacement, pull-back."""

    scoot_prob: Probability = Field(0.0, description="Chance a unit relocates after it fires.")
    displace_prob: Probability = Field(
        0.0,
        description="Chance a unit displaces when it is detected (it sees the drone, the radar).",
    )
    leave_hours: Positive = Field(
        1.0, description="Mean hours from firing or detection to leaving the position."
    )
    hop_km: NonNegative = Field(0.0, description="Distance of one relocation.")
    pullback: bool = Field(
        False, description="Moves out of reach of the strikes Russia has seen in its area."
    )
    max_depth_km: float | None = Field(
        None, description="Deepest position it takes when pulling back (its mission's limit)."
    )
    source: str = "assumption"


class KillChainSpec(Spec):
    """From a located track to a strike: location error, and how a miss follows from it."""

    radar_error_km: NonNegative = Field(description="Location error (1 sigma) of a radar track.")
    isr_error_km: NonNegative = Field(description="Location error (1 sigma) of an ISR track.")
    target_footprint_km: Positive = Field(
        description="Spread of a unit's position: a salvo aimed this far off keeps ~60 % effect."
    )


class DamageAssessmentSpec(Spec):
    """What Ukraine believes its strikes did (battle damage assessment)."""

    destroyed_seen_prob: Probability = Field(
        description="Chance that Ukraine recognises a destroyed target as destroyed."
    )
    damaged_called_destroyed_prob: Probability = Field(
        description="Chance that Ukraine takes a damaged, surviving target for destroyed."
    )
    wreck_detect_factor: Probability = Field(
        description="Sensors see a destroyed unit believed alive (wreck, decoy) at this share of the live chance."
    )


class PullbackSpec(Spec):
    """Russia's adaptation: moving units out of reach of the strikes it has seen."""

    memory_days: Positive = Field(description="Strikes older than this are forgotten.")
    margin_km: NonNegative = Field(description="Distance kept beyond the deepest strike seen.")
    response_prob: Probability = Field(description="Daily chance a threatened unit moves back.")
    min_reach_km: NonNegative = Field(
        description="A firing unit pulls back no deeper than its weapon's range minus this."
    )
    release_pullback_km: NonNegative = Field(
        description="Glide-bomb release points move this much deeper after a carrier is lost."
    )
    carrier_loss_strength: Probability = Field(
        description="Strength an airbase loses with one carrier shot down."
    )
    airbase_tempo_after_strike: Probability = Field(
        description="Sortie rate kept by an airbase struck within the memory (aircraft dispersed)."
    )


class ReconSpec(Spec):
    """Russia's reconnaissance for its fire on Ukrainian positions."""

    detect_prob: Probability = Field(description="Daily chance a Ukrainian unit in reach is found.")
    after_fire_prob: Probability = Field(
        description="Chance a Ukrainian unit that fired the day before is found (unless it scooted)."
    )


class CombatSpec(Spec):
    """Combat parameters shared by both sides."""

    destroyed_below: Probability = Field(description="A unit is destroyed below this strength.")
    damage_spread: Probability = Field(description="Relative spread of damage around the effect.")
    repair_per_day: NonNegative = Field(description="Strength regained per day by a damaged unit.")
    replacement_days: Positive = Field(
        description="Default days from a loss to its replacement's arrival from the reserve."
    )
    preparation_evidence_prob: Probability = Field(
        description="Chance that ISR sees a detected, silent firing unit preparing to attack."
    )
    fixed_target_attempt_prob: Probability = Field(
        description="Daily chance that Ukraine puts each known fixed site on its target list."
    )
    max_strikes_per_step: Annotated[int, Field(ge=0, le=bounds.MAX_STRIKES_PER_RUN)] = Field(
        description="Ceiling on all of Ukraine's strikes in a step (on top of the family capacities)."
    )
    tasking_per_day: FrozenDict[
        Literal["tube", "rocket", "ballistic", "cruise", "glide_bomb", "drone", "sam_surface"],
        NonNegative,
    ] = Field(
        default_factory=FrozenDict,
        description="Ukraine's strike capacity per weapon family per day (missing: unlimited).",
    )
    movement: FrozenDict[str, MobilitySpec] = Field(
        default_factory=FrozenDict,
        description="Mobility per target class (missing: the class stays put).",
    )
    killchain: KillChainSpec
    damage_assessment: DamageAssessmentSpec
    pullback: PullbackSpec
    recon: ReconSpec


# --- the scenario -------------------------------------------------------------------


class Scenario(Spec):
    """A complete, validated scenario: package defaults merged with a scenario file."""

    name: str
    description: str = ""
    start_date: Annotated[
        dt.date,
        # Lax for dates alone: a resolved scenario written as JSON holds them as text.
        Field(strict=False, ge=bounds.MIN_DATE, le=bounds.MAX_DATE),
    ]
    horizon_days: Annotated[int, Field(gt=0, le=3650)]
    step_days: Annotated[float, Field(ge=bounds.MIN_STEP_DAYS, le=30.0)] = 1.0
    target_classes: FrozenList[Identifier]
    actors: FrozenDict[Identifier, ActorSpec]
    weapons: FrozenDict[Identifier, WeaponSpec]
    theater: TheaterSpec
    forces: FrozenDict[Identifier, ForceGroupSpec]
    rules: FrozenDict[str, SupplierPolicySpec]
    schedule: FrozenList[ScheduledChangeSpec] = Field(default_factory=FrozenList)
    ladder: LadderSpec = Field(
        description="The default ladder (Russia's, and any side without its own)."
    )
    ladders: FrozenDict[Literal["ukraine", "russia", "west", "other"], LadderSpec] = Field(
        default_factory=FrozenDict,
        description="Ladders of their own for some sides, keyed by side.",
    )
    decisions: DecisionsSpec
    options: FrozenDict[Literal["ukraine", "russia", "west", "other"], FrozenList[OptionSpec]] = (
        Field(
            default_factory=FrozenDict,
            description="Response options per side (a catalogue, like the weapons); a side "
            "without its own uses Russia's.",
        )
    )
    combat: CombatSpec

    def ladder_for(self, actor_id: str) -> LadderSpec:
        """The ladder an actor climbs: its side's own, or the default."""
        return self.ladders.get(self.actors[actor_id].side, self.ladder)

    def options_for(self, actor_id: str) -> FrozenList[OptionSpec]:
        """The response options of an actor's side (Russia's for a side without its own)."""
        opts = self.options
        return opts.get(self.actors[actor_id].side, opts.get("russia", []))

    @property
    def n_steps(self) -> int:
        """Number of model steps in the horizon."""
        return max(1, round(self.horizon_days / self.step_days))
