"""Properties of the rule engine over random rule sets, strikes and world states.

The rule sets are random ``RuleSpec`` lists over the default catalogue
(weapons, target classes, zones of the May-30 scenario). The oracle below,
:func:`covers`, is written from the semantics in the ``rules`` module
docstring, independently of the module's internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from escalation_sim import load_scenario
from escalation_sim.model.rules import ProposedStrike, RuleEngine, WorldState, authorize
from escalation_sim.scenario.schema import ConditionSpec, RuleSpec, WeaponSpec

SC = load_scenario(Path(__file__).resolve().parents[1] / "scenarios/may30_kharkiv_counterfire.yaml")
WEAPONS: Mapping[str, WeaponSpec] = SC.weapons
CLASSES = list(SC.target_classes)
ZONES = dict(SC.theater.zones)
ZONE_IDS = list(ZONES)
# Weapons Ukraine may propose to use (Russia's own weapons are never proposed).
STRIKE_WEAPONS = [w for w, spec in WEAPONS.items() if spec.supplier != "RUS"]
SUPPLIERS = sorted({WEAPONS[w].supplier for w in STRIKE_WEAPONS})  # DEU FRA GBR UKR USA
ACTORS = ["RUS", "UKR", "USA"]
# Depths where rule bands and zones have edges, so boundaries get drawn often.
DEPTH_MARKS = [0.0, 1.0, 30.0, 89.5, 90.0, 150.0, 300.0, 500.0]
HOUR_MARKS = [0.0, 24.0, 72.0, 168.0]

FAST = settings(max_examples=200, deadline=None)

Rules = Mapping[str, Sequence[RuleSpec]]
type Case = tuple[dict[str, list[RuleSpec]], list[ProposedStrike], WorldState]


# --- the oracle -----------------------------------------------------------------------


def condition_holds(rule: RuleSpec, world: WorldState) -> bool:
    c = rule.condition
    if c is None:
        return True
    rung = world.rungs.get(c.actor, 0)
    below_ok = c.rung_below is None or rung < c.rung_below
    at_least_ok = c.rung_at_least is None or rung >= c.rung_at_least
    return below_ok and at_least_ok


def covers(rule: RuleSpec, s: ProposedStrike, world: WorldState) -> bool:
    """Does ``rule`` (of the weapon's supplier) apply to strike ``s`` in ``world``?"""
    w = WEAPONS[s.weapon]
    checks = [
        condition_holds(rule, world),
        rule.weapons == "all" or s.weapon in rule.weapons,
        w.long_range or not rule.long_range_only,
        rule.target_classes == "all" or s.target_class in rule.target_classes,
        {"russia": s.depth_km > 0, "ukraine": s.depth_km <= 0, "any": True}[rule.territory],
        rule.zones is None or any(z in s.zones for z in rule.zones),
        rule.min_depth_km is None or rule.min_depth_km <= s.depth_km,
        rule.max_depth_km is None or s.depth_km <= rule.max_depth_km,
    ]
    if rule.purpose == "counter_fire":
        fired_recently = (
            s.fired_hours_ago is not None and s.fired_hours_ago <= rule.counter_fire_window_hours
        )
        checks.append(fired_recently or s.preparing_attack)
    elif rule.purpose == "self_defense":
        checks.append(s.attacks_ukraine)
    return all(checks)


def covering(rules: Rules, s: ProposedStrike, world: WorldState, effect: str) -> list[str]:
    """Ids of the rules of the weapon's supplier with ``effect`` that cover ``s``, in order."""
    own = rules.get(WEAPONS[s.weapon].supplier, [])
    return [r.id for r in own if r.effect == effect and covers(r, s, world)]


# --- strategies -----------------------------------------------------------------------


def depth_band(lo: float, hi: float) -> st.SearchStrategy[float]:
    marks = [d for d in DEPTH_MARKS if lo <= d <= hi] + [lo, hi]
    return st.one_of(
        st.sampled_from(marks), st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    )


def sometimes[T](draw: st.DrawFn, strategy: st.SearchStrategy[T], unset: T) -> T:
    """A criterion set one time in three, so that rules often overlap and cover strikes."""
    return draw(strategy) if draw(st.integers(0, 2)) == 2 else unset


@st.composite
def rule_specs(draw: st.DrawFn, supplier: str, rule_id: str) -> RuleSpec:
    own = [w for w, spec in WEAPONS.items() if spec.supplier == supplier]
    territory = draw(st.sampled_from(["russia", "any", "ukraine"]))
    zone_pool = [z for z, spec in ZONES.items() if territory in ("any", spec.territory)]
    lo = sometimes(draw, depth_band(0.0, 700.0), None)
    hi = sometimes(draw, depth_band(0.0, 700.0), None)
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    condition = sometimes(
        draw,
        st.builds(
            ConditionSpec,
            actor=st.sampled_from(ACTORS),
            rung_below=st.none() | st.integers(0, 9),
            rung_at_least=st.none() | st.integers(0, 9),
        ),
        None,
    )
    return RuleSpec(
        id=rule_id,
        effect=draw(st.sampled_from(["allow", "forbid"])),
        weapons=sometimes(draw, st.lists(st.sampled_from(own), unique=True), "all"),
        target_classes=sometimes(
            draw, st.lists(st.sampled_from(CLASSES), unique=True, max_size=6), "all"
        ),
        territory=territory,
        # None: anywhere; [] (allowed by the schema): in no zone at all.
        zones=sometimes(draw, st.lists(st.sampled_from(zone_pool), unique=True, max_size=3), None),
        min_depth_km=lo,
        max_depth_km=hi,
        long_range_only=sometimes(draw, st.just(True), False),
        purpose=draw(st.sampled_from(["any", "counter_fire", "self_defense"])),
        counter_fire_window_hours=draw(
            st.sampled_from([72.0, 24.0, 1.0])
            | st.floats(0.5, 400, allow_nan=False, allow_infinity=False)
        ),
        condition=condition,
    )


@st.composite
def mirrored(draw: st.DrawFn, rule: RuleSpec, rule_id: str) -> RuleSpec:
    """A rule of the opposite effect over (a loosening of) ``rule``'s scope: rules that overlap."""
    update: dict[str, object] = {
        "id": rule_id,
        "effect": "forbid" if rule.effect == "allow" else "allow",
    }
    for name, unset in [
        ("weapons", "all"),
        ("target_classes", "all"),
        ("zones", None),
        ("min_depth_km", None),
        ("max_depth_km", None),
        ("purpose", "any"),
        ("condition", None),
    ]:
        if draw(st.booleans()):
            update[name] = unset
    return RuleSpec.model_validate({**rule.model_dump(), **update})


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, list[RuleSpec]]:
    """Some suppliers restricted (possibly by an empty list), the others absent."""
    out: dict[str, list[RuleSpec]] = {}
    for supplier in draw(st.lists(st.sampled_from(SUPPLIERS), unique=True, min_size=1)):
        tag = supplier.lower()
        n = draw(st.integers(0, 5))
        rules = [draw(rule_specs(supplier, f"{tag}-r{i}")) for i in range(n)]
        for j in range(draw(st.integers(0, 2)) if rules else 0):
            mirror = draw(mirrored(draw(st.sampled_from(rules)), f"{tag}-m{j}"))
            rules.insert(draw(st.integers(0, len(rules))), mirror)
        out[supplier] = rules
    return out


def location(zone: str, lo: float | None = None, hi: float | None = None) -> st.SearchStrategy:
    """A depth in ``zone`` (within ``[lo, hi]`` when that band meets the zone)."""
    _, _, d_min, d_max = ZONES[zone].bounds()  # polygon or rectangle: its depth extent
    a, b = (
        max(d_min, lo if lo is not None else -np.inf),
        min(d_max, hi if hi is not None else np.inf),
    )
    return depth_band(a, b) if a <= b else depth_band(d_min, d_max)


@st.composite
def strikes(draw: st.DrawFn) -> ProposedStrike:
    zone = draw(st.sampled_from(ZONE_IDS))
    return ProposedStrike(
        weapon=draw(st.sampled_from(STRIKE_WEAPONS)),
        target_class=draw(st.sampled_from(CLASSES)),
        depth_km=draw(location(zone)),
        # Mostly the zone the point lies in; sometimes the zone is unknown.
        zones=draw(st.sampled_from([(zone,), (zone,), (zone,), ()])),
        fired_hours_ago=draw(
            st.none()
            | st.sampled_from(HOUR_MARKS)
            | st.floats(0, 500, allow_nan=False, allow_infinity=False)
        ),
        preparing_attack=draw(st.booleans()),
        attacks_ukraine=draw(st.booleans()),
    )


@st.composite
def aimed_strikes(draw: st.DrawFn, rules: Rules) -> ProposedStrike:
    """A strike inside the scope of one of the rules (as far as a point can be), else random."""
    pairs = [(s, r) for s, rs in rules.items() for r in rs]
    if not pairs:
        return draw(strikes())
    supplier, rule = draw(st.sampled_from(pairs))
    own = [w for w in STRIKE_WEAPONS if WEAPONS[w].supplier == supplier]
    fits = [
        w
        for w in own
        if (rule.weapons == "all" or w in rule.weapons)
        and (WEAPONS[w].long_range or not rule.long_range_only)
    ]
    classes = CLASSES if rule.target_classes == "all" else rule.target_classes
    zones = [
        z
        for z in (ZONE_IDS if rule.zones is None else rule.zones)
        if rule.territory in ("any", ZONES[z].territory)
    ]
    zone = draw(st.sampled_from(zones or ZONE_IDS))
    window = rule.counter_fire_window_hours
    return ProposedStrike(
        weapon=draw(st.sampled_from(fits or own)),
        target_class=draw(st.sampled_from(classes or CLASSES)),
        depth_km=draw(location(zone, rule.min_depth_km, rule.max_depth_km)),
        zones=(zone,),
        fired_hours_ago=draw(
            st.none() | st.sampled_from([0.0, window]) | st.floats(0, window * 1.2)
        ),
        preparing_attack=draw(st.booleans()),
        attacks_ukraine=draw(st.booleans() | st.just(True)),
    )


worlds = st.builds(WorldState, st.dictionaries(st.sampled_from(ACTORS), st.integers(0, 9)))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A random rule set, a batch of strikes (random or aimed at its rules), a world state."""
    rules = draw(rule_sets())
    batch = draw(st.lists(strikes() | aimed_strikes(rules), min_size=1, max_size=25))
    return rules, batch, draw(worlds)


def engine_for(rules: Rules) -> RuleEngine:
    return RuleEngine(rules, WEAPONS, CLASSES, ZONE_IDS)


# --- properties -----------------------------------------------------------------------


@FAST
@given(case=cases())
def test_a_prohibition_always_wins(case: Case) -> None:
    """(a) A strike covered by a forbid rule of its supplier is never allowed, by either path."""
    rules, batch, world = case
    fast = engine_for(rules).verdicts(batch, world)
    for s, v_fast in zip(batch, fast, strict=True):
        forbids = covering(rules, s, world, "forbid")
        if not forbids:
            continue
        v_ref = authorize(s, rules, WEAPONS, world)
        for v in (v_ref, v_fast):
            assert not v.allowed, (s, v)
            assert v.rule_id == forbids[0], (s, v, forbids)


@FAST
@given(case=cases())
def test_b_no_permission_no_strike_in_russia(case: Case) -> None:
    """(b) Inside Russia a restricted supplier's weapon needs a covering allow rule."""
    rules, batch, world = case
    fast = engine_for(rules).verdicts(batch, world)
    for s, v_fast in zip(batch, fast, strict=True):
        supplier = WEAPONS[s.weapon].supplier
        v_ref = authorize(s, rules, WEAPONS, world)
        for v in (v_ref, v_fast):
            if supplier not in rules:
                assert v.allowed and v.rule_id == f"unrestricted:{supplier}", (s, v)
                continue
            if s.depth_km <= 0 or not v.allowed:
                continue
            # Allowed inside Russia: by an allow rule that covers it, and no forbid rule.
            allows = covering(rules, s, world, "allow")
            assert allows, (s, v)
            assert v.rule_id == allows[0], (s, v, allows)
            assert not covering(rules, s, world, "forbid"), (s, v)
        if supplier in rules and s.depth_km > 0 and not covering(rules, s, world, "allow"):
            assert not v_ref.allowed and not v_fast.allowed, (s, v_ref, v_fast)


@FAST
@given(case=cases())
def test_c_reference_and_engine_agree(case: Case) -> None:
    """(c) authorize() and RuleEngine agree on every strike (and on the oracle's verdict)."""
    rules, batch, world = case
    fast = engine_for(rules).verdicts(batch, world)
    for s, v_fast in zip(batch, fast, strict=True):
        v_ref = authorize(s, rules, WEAPONS, world)
        assert (v_fast.allowed, v_fast.rule_id) == (v_ref.allowed, v_ref.rule_id), (s, v_ref)
        assert v_ref.reason and v_fast.reason
        # The full semantics, from the oracle.
        supplier = WEAPONS[s.weapon].supplier
        forbids = covering(rules, s, world, "forbid")
        allows = covering(rules, s, world, "allow")
        if supplier not in rules:
            expected = (True, f"unrestricted:{supplier}")
        elif forbids:
            expected = (False, forbids[0])
        elif allows:
            expected = (True, allows[0])
        elif s.depth_km > 0:
            expected = (False, f"no-permission:{supplier}")
        else:
            expected = (True, "ukrainian-territory")
        assert (v_ref.allowed, v_ref.rule_id) == expected, (s, v_ref)


@FAST
@given(case=cases(), data=st.data())
def test_d_decide_is_deterministic_and_order_free(case: Case, data: st.DataObject) -> None:
    """(d) Same batch, same answer; reordering the batch reorders the answers, nothing else."""
    rules, batch, world = case
    engine = engine_for(rules)
    b = engine.batch(batch)
    first = engine.decide(b, world)
    assert first.shape == (len(batch),)
    np.testing.assert_array_equal(engine.decide(b, world), first)
    np.testing.assert_array_equal(
        engine_for(rules).decide(engine_for(rules).batch(batch), world), first
    )
    perm = data.draw(st.permutations(range(len(batch))))
    shuffled = engine.decide(engine.batch([batch[i] for i in perm]), world)
    np.testing.assert_array_equal(shuffled, first[list(perm)])
    alone = [int(engine.decide(engine.batch([s]), world)[0]) for s in batch]
    assert alone == first.tolist()


# --- regressions ----------------------------------------------------------------------


def test_empty_zone_list_matches_no_strike():
    """``zones: []`` names no zone, so the rule covers nothing (the engine once read it as 'any')."""
    rules = {"USA": [RuleSpec(id="us-nowhere", effect="allow", zones=[])]}
    s = ProposedStrike("GMLRS", "artillery", 30.0, ("belgorod_border",), fired_hours_ago=1.0)
    (v_fast,) = engine_for(rules).verdicts([s])
    v_ref = authorize(s, rules, WEAPONS)
    assert (v_ref.allowed, v_ref.rule_id) == (False, "no-permission:USA")
    assert (v_fast.allowed, v_fast.rule_id) == (False, "no-permission:USA")
