"""The rule engine: may this strike be made with this weapon, and which rule says so?

Semantics (the same for the single-strike and the batch path):

1. Only the rules of the weapon's supplier apply. A supplier with no policy in
   the scenario (Ukraine's own weapons by default) restricts nothing.
2. A prohibition beats a permission: the first matching ``forbid`` rule decides;
   otherwise the first matching ``allow`` rule decides.
3. With no matching rule, a strike on Russian territory (depth > 0) is
   forbidden ("no permission"), and a strike on Ukrainian territory, occupied
   areas included, is allowed.

A rule matches a strike when every criterion it sets holds: weapon, weapon
class (long range), target class, territory, zones, depth band, purpose and
conditions on the world state. Purposes: ``counter_fire`` needs evidence that
the target fired on Ukraine within the rule's window or is preparing to
attack; ``self_defense`` needs a military target used to attack Ukraine;
``any`` needs nothing.

:func:`authorize` is the readable reference; :class:`RuleEngine` compiles the
same rules into numpy masks and decides whole batches at once, which is what
the model uses every step. Tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from escalation_sim.model import kernels
from escalation_sim.model.kernels import rules as rule_kernels
from escalation_sim.scenario.schema import RuleSpec, WeaponSpec

UKRAINIAN_TERRITORY = "ukrainian-territory"
NO_PERMISSION = "no-permission"
UNRESTRICTED = "unrestricted"


@dataclass(frozen=True, slots=True)
class ProposedStrike:
    """A strike Ukraine proposes, with the evidence the rules may ask for.

    Attributes:
        weapon: Weapon id in the catalogue (its supplier's rules apply).
        target_class: The target's class (``artillery``, ``airbase``, ...).
        depth_km: Depth of the target into Russia; <= 0 is Ukrainian territory.
        zones: Names of the zones the target lies in.
        fired_hours_ago: Hours since the target last fired on Ukraine (``None``: never seen firing).
        preparing_attack: Evidence that the target is preparing to attack Ukraine.
        attacks_ukraine: The target is a military target used to attack Ukraine.
    """

    weapon: str
    target_class: str
    depth_km: float
    zones: tuple[str, ...] = ()
    fired_hours_ago: float | None = None
    preparing_attack: bool = False
    attacks_ukraine: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's answer: allowed or not, the deciding rule, and why in one line."""

    allowed: bool
    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class WorldState:
    """What rule conditions can see: each actor's current rung."""

    rungs: Mapping[str, int] = field(default_factory=dict)


def _purpose_met(rule: RuleSpec, s: ProposedStrike) -> bool:
    if rule.purpose == "any":
        return True
    if rule.purpose == "counter_fire":
        recent = (
            s.fired_hours_ago is not None and s.fired_hours_ago <= rule.counter_fire_window_hours
        )
        return recent or s.preparing_attack
    return s.attacks_ukraine


def _condition_met(rule: RuleSpec, world: WorldState) -> bool:
    cond = rule.condition
    if cond is None:
        return True
    rung = world.rungs.get(cond.actor, 0)
    if cond.rung_below is not None and not rung < cond.rung_below:
        return False
    return cond.rung_at_least is None or rung >= cond.rung_at_least


def _scope_matches(rule: RuleSpec, s: ProposedStrike, weapon: WeaponSpec) -> bool:
    """Everything but purpose and conditions."""
    if rule.weapons != "all" and s.weapon not in rule.weapons:
        return False
    if rule.long_range_only and not weapon.long_range:
        return False
    if rule.target_classes != "all" and s.target_class not in rule.target_classes:
        return False
    in_russia = s.depth_km > 0
    if rule.territory == "russia" and not in_russia:
        return False
    if rule.territory == "ukraine" and in_russia:
        return False
    if rule.zones is not None and not set(rule.zones).intersection(s.zones):
        return False
    if rule.min_depth_km is not None and s.depth_km < rule.min_depth_km:
        return False
    return rule.max_depth_km is None or s.depth_km <= rule.max_depth_km


def describe_rule(supplier: str, rule: RuleSpec) -> str:
    """A one-line, human-readable statement of a rule."""
    verb = "allows" if rule.effect == "allow" else "forbids"
    weapons = "all its weapons" if rule.weapons == "all" else ", ".join(rule.weapons)
    if rule.long_range_only:
        weapons = f"long-range {weapons}"
    classes = "any target" if rule.target_classes == "all" else ", ".join(rule.target_classes)
    where = {"russia": "inside Russia", "ukraine": "in Ukraine", "any": "anywhere"}[rule.territory]
    if rule.zones:
        where += f" in {', '.join(rule.zones)}"
    if rule.min_depth_km is not None:
        where += f" from {rule.min_depth_km:g} km deep"
    if rule.max_depth_km is not None:
        where += f" up to {rule.max_depth_km:g} km deep"
    purpose = {
        "any": "",
        "counter_fire": f" for counter-fire (fired within {rule.counter_fire_window_hours:g} h "
        "or preparing to attack)",
        "self_defense": " in self-defence (military targets used against Ukraine)",
    }[rule.purpose]
    return f"{supplier} rule {rule.id!r} {verb} {weapons} against {classes} {where}{purpose}"


def authorize(
    strike: ProposedStrike,
    rules: Mapping[str, Sequence[RuleSpec]],
    weapons: Mapping[str, WeaponSpec],
    world: WorldState | None = None,
) -> Verdict:
    """Decide one proposed strike (the reference implementation).

    Args:
        strike: The proposed strike and its evidence.
        rules: Active rules per supplier, in order. A supplier absent here is unrestricted.
        weapons: The weapons catalogue (gives each weapon's supplier and class).
        world: World state for rule conditions (rungs); none means every rung is 0.

    Returns:
        The verdict with the deciding rule id and a one-line reason.

    Raises:
        KeyError: The weapon is not in the catalogue.
    """
    world = world or WorldState()
    weapon = weapons[strike.weapon]
    supplier = weapon.supplier
    if supplier not in rules:
        return Verdict(
            True,
            f"{UNRESTRICTED}:{supplier}",
            f"allowed: {supplier} places no rules on its weapons",
        )
    active = [r for r in rules[supplier] if _condition_met(r, world)]
    near_miss: RuleSpec | None = None
    for effect in ("forbid", "allow"):
        for rule in active:
            if rule.effect != effect or not _scope_matches(rule, strike, weapon):
                continue
            if _purpose_met(rule, strike):
                word = "allowed" if effect == "allow" else "forbidden"
                return Verdict(
                    effect == "allow", rule.id, f"{word}: {describe_rule(supplier, rule)}"
                )
            if effect == "allow" and near_miss is None:
                near_miss = rule
    if strike.depth_km > 0:
        reason = f"forbidden: no {supplier} rule permits {strike.weapon} against {strike.target_class} here"
        if near_miss is not None:
            reason += f" ({near_miss.id!r} would, but its {near_miss.purpose} purpose is not met)"
        return Verdict(False, f"{NO_PERMISSION}:{supplier}", reason)
    return Verdict(True, UKRAINIAN_TERRITORY, "allowed: Ukrainian territory, no rule forbids it")


_PURPOSE_CODE = {"any": 0, "counter_fire": 1, "self_defense": 2}
_TERRITORY_CODE = {"any": 0, "russia": 1, "ukraine": 2}


@dataclass(frozen=True, slots=True)
class StrikeBatch:
    """Many proposed strikes as parallel arrays (indices into the engine's catalogues).

    Attributes:
        weapon: Weapon indices (``RuleEngine.weapon_ids``).
        target_class: Target-class indices (``RuleEngine.class_ids``).
        depth_km: Depth into Russia of each target.
        zone_bits: Bit ``i`` set when the target lies in zone ``RuleEngine.zone_ids[i]``.
        fired_hours_ago: Hours since each target last fired (``inf``: never).
        preparing_attack: Evidence of preparation, per target.
        attacks_ukraine: Military target used to attack Ukraine, per target.
    """

    weapon: np.ndarray
    target_class: np.ndarray
    depth_km: np.ndarray
    zone_bits: np.ndarray
    fired_hours_ago: np.ndarray
    preparing_attack: np.ndarray
    attacks_ukraine: np.ndarray


class RuleEngine:
    """The active rules compiled into masks, deciding batches of strikes at once.

    ``decide`` returns, for each strike, the index of the deciding entry in
    :attr:`labels`: the scenario's rules first, then one "no permission" entry
    per restricting supplier, one "unrestricted" entry per other supplier,
    and the Ukrainian-territory default.
    """

    def __init__(
        self,
        rules: Mapping[str, Sequence[RuleSpec]],
        weapons: Mapping[str, WeaponSpec],
        target_classes: Sequence[str],
        zones: Sequence[str],
    ) -> None:
        if len(zones) > 62:
            raise ValueError("the batch rule engine supports at most 62 zones")
        self.weapon_ids = list(weapons)
        self.class_ids = list(target_classes)
        self.zone_ids = list(zones)
        self.suppliers = sorted({w.supplier for w in weapons.values()} | set(rules))
        supplier_index = {s: i for i, s in enumerate(self.suppliers)}
        self.weapon_supplier = np.array(
            [supplier_index[w.supplier] for w in weapons.values()], dtype=np.int64
        )
        weapon_long = np.array([w.long_range for w in weapons.values()], dtype=bool)
        self.rules: list[tuple[str, RuleSpec]] = [
            (s, r) for s in rules for r in rules[s] if r.effect == "forbid"
        ] + [(s, r) for s in rules for r in rules[s] if r.effect == "allow"]
        n_rules = len(self.rules)
        self.labels: list[str] = [r.id for _, r in self.rules]
        self.reasons: list[str] = [
            f"{'allowed' if r.effect == 'allow' else 'forbidden'}: {describe_rule(s, r)}"
            for s, r in self.rules
        ]
        restricted = np.array([s in rules for s in self.suppliers], dtype=bool)
        self._default_index = np.empty(len(self.suppliers), dtype=np.int64)
        for i, s in enumerate(self.suppliers):
            self._default_index[i] = len(self.labels)
            if restricted[i]:
                self.labels.append(f"{NO_PERMISSION}:{s}")
                self.reasons.append(f"forbidden: no {s} rule permits this strike inside Russia")
            else:
                self.labels.append(f"{UNRESTRICTED}:{s}")
                self.reasons.append(f"allowed: {s} places no rules on its weapons")
        self.ukraine_index = len(self.labels)
        self.labels.append(UKRAINIAN_TERRITORY)
        self.reasons.append("allowed: Ukrainian territory, no rule forbids it")
        self._restricted = restricted
        self.allows = np.array(
            [r.effect == "allow" for _, r in self.rules] + [not x for x in restricted] + [True],
            dtype=bool,
        )
        # Compiled masks, one row per rule.
        wi = {w: i for i, w in enumerate(self.weapon_ids)}
        ci = {c: i for i, c in enumerate(self.class_ids)}
        zi = {z: i for i, z in enumerate(self.zone_ids)}
        self._wmask = np.zeros((n_rules, len(self.weapon_ids)), dtype=bool)
        self._cmask = np.zeros((n_rules, len(self.class_ids)), dtype=bool)
        self._zbits = np.zeros(n_rules, dtype=np.int64)
        self._has_zones = np.zeros(n_rules, dtype=bool)  # `zones: []` matches no strike
        self._terr = np.zeros(n_rules, dtype=np.int64)
        self._dmin = np.full(n_rules, -np.inf)
        self._dmax = np.full(n_rules, np.inf)
        self._purpose = np.zeros(n_rules, dtype=np.int64)
        self._window = np.zeros(n_rules)
        for k, (s, r) in enumerate(self.rules):
            own = self.weapon_supplier == supplier_index[s]
            if r.weapons == "all":
                self._wmask[k] = own
            else:
                for w in r.weapons:
                    self._wmask[k, wi[w]] = True
                self._wmask[k] &= own
            if r.long_range_only:
                self._wmask[k] &= weapon_long
            if r.target_classes == "all":
                self._cmask[k] = True
            else:
                for c in r.target_classes:
                    self._cmask[k, ci[c]] = True
            if r.zones is not None:
                self._has_zones[k] = True
                for z in r.zones:
                    self._zbits[k] |= 1 << zi[z]
            self._terr[k] = _TERRITORY_CODE[r.territory]
            if r.min_depth_km is not None:
                self._dmin[k] = r.min_depth_km
            if r.max_depth_km is not None:
                self._dmax[k] = r.max_depth_km
            self._purpose[k] = _PURPOSE_CODE[r.purpose]
            self._window[k] = r.counter_fire_window_hours

        # Weapon x class scope of each rule, flattened for a single look-up per strike.
        self._scope = (self._wmask[:, :, None] & self._cmask[:, None, :]).reshape(
            n_rules, len(self.weapon_ids) * len(self.class_ids)
        )
        # Territory folded into each rule's depth band: Russia is depth > 0, Ukraine <= 0.
        self._lo = np.where(
            self._terr == 1, np.maximum(self._dmin, np.nextafter(0.0, 1.0)), self._dmin
        )
        self._hi = np.where(self._terr == 2, np.minimum(self._dmax, 0.0), self._dmax)
        self._conditional = [r.condition is not None for _, r in self.rules]
        # The same per-rule columns, shaped (R, 1) once here rather than at every decision.
        self._any_conditional = any(self._conditional)
        self._lo_col = self._lo[:, None]
        self._hi_col = self._hi[:, None]
        self._zbits_col = self._zbits[:, None]
        self._no_zones_col = ~self._has_zones[:, None]
        self._window_col = self._window[:, None]
        self._any_purpose = (self._purpose == 0)[:, None]
        self._counter_fire_purpose = (self._purpose == 1)[:, None]
        self._defence_purpose = (self._purpose == 2)[:, None]
        # The same rules as the tables of the compiled path (kernels.rules.decide_batch).
        self._scope = np.ascontiguousarray(self._scope)
        self._rule_float = np.ascontiguousarray(np.stack([self._lo, self._hi, self._window]))
        self._rule_int = np.ascontiguousarray(
            np.stack([self._zbits, self._has_zones.astype(np.int64), self._purpose])
        )
        self._all_active = np.ones(n_rules, dtype=bool)
        self._fallback = rule_kernels.fallback_table(
            self.weapon_supplier, restricted, self._default_index, self.ukraine_index
        )

    def zone_bits(self, zones: Sequence[str]) -> int:
        """The bit mask for a set of zone names."""
        bits = 0
        for z in zones:
            bits |= 1 << self.zone_ids.index(z)
        return bits

    def batch(self, strikes: Sequence[ProposedStrike]) -> StrikeBatch:
        """Convert proposed strikes into a :class:`StrikeBatch` for :meth:`decide`."""
        wi = {w: i for i, w in enumerate(self.weapon_ids)}
        ci = {c: i for i, c in enumerate(self.class_ids)}
        return StrikeBatch(
            weapon=np.array([wi[s.weapon] for s in strikes], dtype=np.int64),
            target_class=np.array([ci[s.target_class] for s in strikes], dtype=np.int64),
            depth_km=np.array([s.depth_km for s in strikes], dtype=float),
            zone_bits=np.array([self.zone_bits(s.zones) for s in strikes], dtype=np.int64),
            fired_hours_ago=np.array(
                [np.inf if s.fired_hours_ago is None else s.fired_hours_ago for s in strikes]
            ),
            preparing_attack=np.array([s.preparing_attack for s in strikes], dtype=bool),
            attacks_ukraine=np.array([s.attacks_ukraine for s in strikes], dtype=bool),
        )

    def decide(self, b: StrikeBatch, world: WorldState | None = None) -> np.ndarray:
        """Index into :attr:`labels` of the deciding entry for each strike in the batch.

        With the compiled kernels on, :func:`~escalation_sim.model.kernels.rules.decide_batch`
        decides (a loop over strikes and rules, stopping at the first match);
        otherwise the numpy code below, the reference, does. Both return the
        same indices. Rule conditions are evaluated here, once per call, on
        either path.
        """
        world = world or WorldState()
        if kernels.enabled():
            return rule_kernels.decide_batch(
                b.weapon,
                b.target_class,
                b.depth_km,
                b.zone_bits,
                b.fired_hours_ago,
                b.preparing_attack,
                b.attacks_ukraine,
                *self.kernel_tables(world),
            )
        n = len(b.weapon)
        in_russia = b.depth_km > 0
        decided = np.full(n, -1, dtype=np.int64)
        if self.rules and n:
            # Every rule against every strike at once: an (R, N) match matrix; the
            # first matching rule (prohibitions come first) decides.
            m = self._scope[:, b.weapon * len(self.class_ids) + b.target_class]
            depth = b.depth_km[None, :]
            m &= (depth >= self._lo_col) & (depth <= self._hi_col)
            m &= self._no_zones_col | ((b.zone_bits[None, :] & self._zbits_col) != 0)
            counter_fire = (b.fired_hours_ago[None, :] <= self._window_col) | b.preparing_attack
            m &= (
                self._any_purpose
                | (self._counter_fire_purpose & counter_fire)
                | (self._defence_purpose & b.attacks_ukraine)
            )
            if self._any_conditional:
                active = [_condition_met(rule, world) for _, rule in self.rules]
                m &= np.array(active)[:, None]
            first = m.argmax(axis=0)
            decided = np.where(m[first, np.arange(n)], first, -1)
        open_ = decided < 0
        if open_.any():
            supplier = self.weapon_supplier[b.weapon]
            fallback = np.where(
                self._restricted[supplier] & in_russia,
                self._default_index[supplier],
                np.where(
                    self._restricted[supplier], self.ukraine_index, self._default_index[supplier]
                ),
            )
            decided[open_] = fallback[open_]
        return decided

    def kernel_tables(
        self, world: WorldState | None = None
    ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What :func:`~escalation_sim.model.kernels.rules.decide_batch` reads after a batch's columns.

        Returns:
            ``(scope, n_classes, rule_float, rule_int, active, fallback)``, with
            ``active`` each rule's condition evaluated on ``world`` (all true
            when no rule has a condition). Planning's kernel decides its batch
            with these (``kernels.plan.decide_and_assign``), as :meth:`decide` does.
        """
        active = self._all_active
        if self._any_conditional:
            world = world or WorldState()
            active = np.array([_condition_met(rule, world) for _, rule in self.rules], dtype=bool)
        return (
            self._scope,
            len(self.class_ids),
            self._rule_float,
            self._rule_int,
            active,
            self._fallback,
        )

    def verdicts(
        self, strikes: Sequence[ProposedStrike], world: WorldState | None = None
    ) -> list[Verdict]:
        """Decide a list of strikes and return full verdicts (convenience, slower)."""
        idx = self.decide(self.batch(strikes), world)
        return [Verdict(bool(self.allows[i]), self.labels[i], self.reasons[i]) for i in idx]
