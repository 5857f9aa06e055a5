"""The rule sets against the article's words, case by case.

Each case is a strike the article (or the labelled reading of it in the
package defaults) clearly allows or forbids. Every case is decided by both
the reference ``authorize()`` and the compiled ``RuleEngine``; the two must
agree on the verdict and on the deciding rule, and the reason must be a
non-empty sentence that names that rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from escalation_sim import Scenario, load_scenario
from escalation_sim.model.rules import (
    NO_PERMISSION,
    UKRAINIAN_TERRITORY,
    UNRESTRICTED,
    ProposedStrike,
    RuleEngine,
    Verdict,
    WorldState,
    authorize,
)
from escalation_sim.scenario.schema import ConditionSpec, RuleSpec

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = "may30_kharkiv_counterfire.yaml"
PRE_MAY30 = "pre_may30.yaml"
DEEP_STRIKE = "deep_strike.yaml"

Rules = Mapping[str, Sequence[RuleSpec]]


@cache
def scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / name)


def active_rules(sc: Scenario) -> dict[str, list[RuleSpec]]:
    """Each supplier's rules in its posture in force at the start."""
    return {s: list(p.postures[p.posture].rules) for s, p in sc.rules.items()}


@cache
def engine_for(name: str) -> RuleEngine:
    sc = scenario(name)
    return RuleEngine(active_rules(sc), sc.weapons, sc.target_classes, list(sc.theater.zones))


def check_reason(v: Verdict, rules: Rules) -> None:
    """The reason is a non-empty sentence, consistent with the verdict, naming its rule."""
    assert v.reason.strip(), v
    assert v.reason.startswith("allowed" if v.allowed else "forbidden"), v
    kind, _, supplier = v.rule_id.partition(":")
    if kind == NO_PERMISSION:
        assert f"no {supplier} rule permits" in v.reason, v
    elif kind == UNRESTRICTED:
        assert f"{supplier} places no rules" in v.reason, v
    elif v.rule_id == UKRAINIAN_TERRITORY:
        assert "Ukrainian territory" in v.reason, v
    else:
        assert v.rule_id in {r.id for rs in rules.values() for r in rs}, v
        assert repr(v.rule_id) in v.reason, v


def decide_both(
    strike: ProposedStrike,
    rules: Rules,
    sc: Scenario,
    engine: RuleEngine,
    world: WorldState | None = None,
) -> Verdict:
    """Decide with authorize() and RuleEngine.verdicts(); assert they agree; return the former."""
    ref = authorize(strike, rules, sc.weapons, world)
    (fast,) = engine.verdicts([strike], world)
    assert (fast.allowed, fast.rule_id) == (ref.allowed, ref.rule_id), (strike, ref, fast)
    check_reason(ref, rules)
    check_reason(fast, rules)
    if fast.rule_id in {r.id for rs in rules.values() for r in rs}:
        assert fast.reason == ref.reason
    return ref


def decide_in(name: str, strike: ProposedStrike, world: WorldState | None = None) -> Verdict:
    sc = scenario(name)
    return decide_both(strike, active_rules(sc), sc, engine_for(name), world)


def hit(
    weapon: str,
    target_class: str,
    depth_km: float,
    zone: str,
    *,
    fired: float | None = None,
    preparing: bool = False,
    attacks: bool = True,
) -> ProposedStrike:
    """A strike on a target at ``depth_km`` in ``zone`` with the given evidence."""
    return ProposedStrike(
        weapon=weapon,
        target_class=target_class,
        depth_km=depth_km,
        zones=(zone,),
        fired_hours_ago=fired,
        preparing_attack=preparing,
        attacks_ukraine=attacks,
    )


@dataclass(frozen=True)
class Case:
    id: str
    strike: ProposedStrike
    allowed: bool
    rule_id: str
    reason_has: tuple[str, ...] = field(default=())


# The May-30 rule set, rule by rule. Battery = an artillery battery 30 km inside Russia.
MAY30_CASES = [
    # --- USA: counter-fire in the Kharkiv region (belgorod_border), nothing long range.
    Case(
        "gmlrs-battery-belgorod-fired-24h",
        hit("GMLRS", "artillery", 30, "belgorod_border", fired=24),
        True,
        "us-kharkiv-counterfire",
    ),
    Case(
        "gmlrs-battery-belgorod-silent",
        hit("GMLRS", "artillery", 30, "belgorod_border", fired=None, preparing=False),
        False,
        "no-permission:USA",
        ("'us-kharkiv-counterfire' would", "counter_fire purpose is not met"),
    ),
    Case(
        "gmlrs-battery-belgorod-preparing",
        hit("GMLRS", "artillery", 30, "belgorod_border", preparing=True),
        True,
        "us-kharkiv-counterfire",
    ),
    Case(
        "gmlrs-battery-kursk-fired-24h",
        hit("GMLRS", "artillery", 30, "kursk_border", fired=24),
        False,
        "no-permission:USA",
    ),
    Case(
        "gmlrs-battery-kursk-preparing",
        hit("GMLRS", "artillery", 30, "kursk_border", preparing=True),
        False,
        "no-permission:USA",
    ),
    Case(
        "gmlrs-battery-fired-at-window-edge-72h",
        hit("GMLRS", "artillery", 30, "belgorod_border", fired=72),
        True,
        "us-kharkiv-counterfire",
    ),
    Case(
        "gmlrs-battery-fired-73h-ago",
        hit("GMLRS", "artillery", 30, "belgorod_border", fired=73),
        False,
        "no-permission:USA",
        ("counter_fire purpose is not met",),
    ),
    Case(
        "gmlrs-missile-base-belgorod-fired",
        hit("GMLRS", "missile_launcher", 50, "belgorod_border", fired=2),
        True,
        "us-kharkiv-counterfire",
    ),
    Case(
        "gmlrs-command-centre-belgorod-preparing",
        hit("GMLRS", "command_post", 40, "belgorod_border", preparing=True),
        True,
        "us-kharkiv-counterfire",
    ),
    Case(
        "m777-battery-belgorod-fired",
        hit("M777", "artillery", 10, "belgorod_border", fired=1),
        True,
        "us-kharkiv-counterfire",
    ),
    Case(
        "gmlrs-airbase-belgorod-fired",
        hit("GMLRS", "airbase", 30, "belgorod_border", fired=1, preparing=True),
        False,
        "no-permission:USA",
    ),
    Case(
        "gmlrs-energy-belgorod-fired",
        hit("GMLRS", "energy", 30, "belgorod_border", fired=1),
        False,
        "no-permission:USA",
    ),
    Case(
        "gmlrs-battery-voronezh-fired",
        hit("GMLRS", "artillery", 30, "voronezh_border", fired=1),
        False,
        "no-permission:USA",
    ),
    Case(
        "atacms-command-post-150km",
        hit("ATACMS", "command_post", 150, "deep_russia", fired=1, preparing=True),
        False,
        "us-no-long-range-in-russia",
    ),
    Case(
        "atacms-battery-belgorod-fired-prohibition-beats-permission",
        hit("ATACMS", "artillery", 30, "belgorod_border", fired=1),
        False,
        "us-no-long-range-in-russia",
    ),
    Case(
        "atacms-occupied-ukraine",
        hit("ATACMS", "command_post", -50, "occupied_east"),
        True,
        UKRAINIAN_TERRITORY,
    ),
    Case(
        "gmlrs-kharkiv-oblast-silent",
        hit("GMLRS", "artillery", -10, "kharkiv_oblast", attacks=False),
        True,
        UKRAINIAN_TERRITORY,
    ),
    # --- GBR: its long-range missiles anywhere in Russia; not energy (labelled assumption).
    Case(
        "storm-shadow-airbase-200km",
        hit("STORM_SHADOW", "airbase", 200, "deep_russia"),
        True,
        "gb-anywhere",
    ),
    Case(
        "storm-shadow-logistics-600km-no-evidence",
        hit("STORM_SHADOW", "logistics", 600, "deep_russia", attacks=False),
        True,
        "gb-anywhere",
    ),
    Case(
        "storm-shadow-energy-300km",
        hit("STORM_SHADOW", "energy", 300, "deep_russia"),
        False,
        "gb-no-civil-infrastructure",
    ),
    Case(
        "storm-shadow-energy-belgorod",
        hit("STORM_SHADOW", "energy", 20, "belgorod_border"),
        False,
        "gb-no-civil-infrastructure",
    ),
    # --- FRA: self-defence = military targets used to attack Ukraine (labelled assumption).
    Case(
        "scalp-command-post-150km-attacking",
        hit("SCALP_EG", "command_post", 150, "deep_russia", attacks=True),
        True,
        "fr-self-defense",
    ),
    Case(
        "scalp-command-post-150km-not-attacking",
        hit("SCALP_EG", "command_post", 150, "deep_russia", attacks=False),
        False,
        "no-permission:FRA",
        ("'fr-self-defense' would", "self_defense purpose is not met"),
    ),
    Case(
        "scalp-energy-300km",
        hit("SCALP_EG", "energy", 300, "deep_russia"),
        False,
        "fr-no-civil-infrastructure",
    ),
    Case(
        "scalp-radar-not-a-listed-class",
        hit("SCALP_EG", "radar", 40, "belgorod_border"),
        False,
        "no-permission:FRA",
    ),
    Case(
        "caesar-battery-kursk-attacking",
        hit("CAESAR", "artillery", 15, "kursk_border"),
        True,
        "fr-self-defense",
    ),
    # --- DEU: border-area counter-fire without long-range systems (labelled assumption).
    Case(
        "mars-battery-belgorod-fired",
        hit("MARS_II", "artillery", 30, "belgorod_border", fired=24),
        True,
        "de-border-self-defense",
    ),
    Case(
        "mars-battery-belgorod-silent",
        hit("MARS_II", "artillery", 30, "belgorod_border"),
        False,
        "no-permission:DEU",
        ("'de-border-self-defense' would", "counter_fire purpose is not met"),
    ),
    Case(
        "mars-battery-kursk-fired",
        hit("MARS_II", "artillery", 30, "kursk_border", fired=24),
        False,
        "no-permission:DEU",
    ),
    Case(
        "pzh2000-battery-belgorod-preparing",
        hit("PZH2000", "artillery", 8, "belgorod_border", preparing=True),
        True,
        "de-border-self-defense",
    ),
    *[
        Case(
            f"taurus-{cls}-{zone}-{depth}km",
            hit("TAURUS", cls, depth, zone, fired=1, preparing=True),
            False,
            "de-no-long-range",
        )
        for cls, zone, depth in [
            ("artillery", "belgorod_border", 30),
            ("command_post", "kursk_border", 60),
            ("logistics", "voronezh_border", 80),
            ("airbase", "deep_russia", 150),
            ("command_post", "deep_russia", 450),
        ]
    ],
    Case(
        "taurus-occupied-ukraine",
        hit("TAURUS", "command_post", -80, "occupied_east"),
        True,
        UKRAINIAN_TERRITORY,
    ),
    # --- Ukraine's own weapons: bound by no supplier's rules.
    Case(
        "ua-drone-energy-500km",
        hit("UA_LR_DRONE", "energy", 500, "deep_russia", attacks=False),
        True,
        "unrestricted:UKR",
    ),
    Case(
        "ua-artillery-battery-belgorod-silent",
        hit("UA_ARTILLERY", "artillery", 10, "belgorod_border"),
        True,
        "unrestricted:UKR",
    ),
]


@pytest.mark.parametrize("case", MAY30_CASES, ids=lambda c: c.id)
def test_may30_rule_set(case: Case) -> None:
    v = decide_in(MAY30, case.strike)
    assert v.allowed is case.allowed, v
    assert v.rule_id == case.rule_id, v
    for words in case.reason_has:
        assert words in v.reason, v


def test_may30_cases_exercise_every_rule() -> None:
    """Each active May-30 rule decides at least one case above."""
    deciding = {c.rule_id for c in MAY30_CASES}
    ids = {r.id for rs in active_rules(scenario(MAY30)).values() for r in rs}
    assert ids <= deciding, ids - deciding


def test_may30_engine_batch_matches_one_by_one() -> None:
    """The same cases decided in one batch give the same verdicts."""
    engine = engine_for(MAY30)
    batch = engine.verdicts([c.strike for c in MAY30_CASES])
    assert [(v.allowed, v.rule_id) for v in batch] == [(c.allowed, c.rule_id) for c in MAY30_CASES]


# --- Pre-May-30: no Western weapon inside Russia -------------------------------------

RUSSIAN_POINTS = [
    ("belgorod_border", 1),
    ("belgorod_border", 30),
    ("kursk_border", 30),
    ("voronezh_border", 89),
    ("deep_russia", 90),
    ("deep_russia", 150),
    ("deep_russia", 300),
    ("deep_russia", 650),
]
UKRAINIAN_POINTS = [
    ("kharkiv_oblast", 0),
    ("kharkiv_oblast", -10),
    ("sumy_oblast", -30),
    ("occupied_east", -50),
    ("occupied_east", -180),
]


def western_weapons(sc: Scenario) -> list[str]:
    return [w for w, spec in sc.weapons.items() if spec.supplier in sc.rules]


def test_pre_may30_has_western_weapons_to_check() -> None:
    sc = scenario(PRE_MAY30)
    assert set(sc.rules) == {"USA", "GBR", "FRA", "DEU"}
    assert {"GMLRS", "ATACMS", "STORM_SHADOW", "SCALP_EG", "MARS_II", "TAURUS"} <= set(
        western_weapons(sc)
    )


@pytest.mark.parametrize(("zone", "depth"), RUSSIAN_POINTS)
def test_pre_may30_every_western_weapon_forbidden_in_russia(zone: str, depth: float) -> None:
    sc = scenario(PRE_MAY30)
    for weapon in western_weapons(sc):
        supplier = sc.weapons[weapon].supplier
        for cls in sc.target_classes:
            # All the evidence any purpose could ask for: still forbidden.
            s = hit(weapon, cls, depth, zone, fired=1, preparing=True, attacks=True)
            v = decide_in(PRE_MAY30, s)
            assert not v.allowed, v
            assert v.rule_id == f"no-permission:{supplier}", v


@pytest.mark.parametrize(("zone", "depth"), UKRAINIAN_POINTS)
def test_pre_may30_every_western_weapon_allowed_on_ukrainian_territory(
    zone: str, depth: float
) -> None:
    sc = scenario(PRE_MAY30)
    for weapon in western_weapons(sc):
        for cls in sc.target_classes:
            v = decide_in(PRE_MAY30, hit(weapon, cls, depth, zone, attacks=False))
            assert v.allowed, v
            assert v.rule_id == UKRAINIAN_TERRITORY, v


def test_pre_may30_ukrainian_drone_still_unrestricted() -> None:
    v = decide_in(PRE_MAY30, hit("UA_LR_DRONE", "airbase", 300, "deep_russia"))
    assert v.allowed
    assert v.rule_id == "unrestricted:UKR"


# --- Deep strike comparison ------------------------------------------------------------


@pytest.mark.parametrize(
    ("strike", "allowed", "rule_id"),
    [
        (hit("ATACMS", "command_post", 150, "deep_russia"), True, "us-deep-military"),
        (hit("ATACMS", "airbase", 300, "deep_russia"), True, "us-deep-military"),
        (hit("ATACMS", "command_post", 301, "deep_russia"), False, "no-permission:USA"),
        (hit("ATACMS", "energy", 150, "deep_russia"), False, "no-permission:USA"),
        (
            hit("ATACMS", "command_post", 150, "deep_russia", attacks=False),
            False,
            "no-permission:USA",
        ),
        (hit("TAURUS", "command_post", 400, "deep_russia"), True, "de-deep-military"),
    ],
    ids=[
        "atacms-cp-150",
        "atacms-airbase-300",
        "atacms-301",
        "atacms-energy",
        "not-attacking",
        "taurus",
    ],
)
def test_deep_strike(strike: ProposedStrike, allowed: bool, rule_id: str) -> None:
    v = decide_in(DEEP_STRIKE, strike)
    assert v.allowed is allowed, v
    assert v.rule_id == rule_id, v


# --- Conditions on the world state -------------------------------------------------------

BATTERY = hit("GMLRS", "artillery", 30, "belgorod_border", fired=24)


def conditional_rules() -> dict[str, list[RuleSpec]]:
    """US counter-fire only while Russia is below rung 4; all US fire stops from USA rung 3."""
    return {
        "USA": [
            RuleSpec(
                id="us-halt-if-us-escalates",
                effect="forbid",
                territory="any",
                condition=ConditionSpec(actor="USA", rung_at_least=3),
            ),
            RuleSpec(
                id="us-counterfire-while-calm",
                effect="allow",
                target_classes=["artillery"],
                zones=["belgorod_border"],
                purpose="counter_fire",
                condition=ConditionSpec(actor="RUS", rung_below=4),
            ),
        ]
    }


@pytest.mark.parametrize(
    ("rungs", "strike", "allowed", "rule_id"),
    [
        ({}, BATTERY, True, "us-counterfire-while-calm"),
        ({"RUS": 3}, BATTERY, True, "us-counterfire-while-calm"),
        ({"RUS": 4}, BATTERY, False, "no-permission:USA"),
        ({"RUS": 9}, BATTERY, False, "no-permission:USA"),
        ({"RUS": 0, "USA": 2}, BATTERY, True, "us-counterfire-while-calm"),
        ({"RUS": 0, "USA": 3}, BATTERY, False, "us-halt-if-us-escalates"),
        (
            {"USA": 3},
            hit("GMLRS", "artillery", -20, "kharkiv_oblast"),
            False,
            "us-halt-if-us-escalates",
        ),
        ({"USA": 2}, hit("GMLRS", "artillery", -20, "kharkiv_oblast"), True, UKRAINIAN_TERRITORY),
        (
            {"RUS": 5, "USA": 5},
            hit("UA_LR_DRONE", "energy", 400, "deep_russia"),
            True,
            "unrestricted:UKR",
        ),
    ],
)
def test_rule_conditions(
    rungs: dict[str, int], strike: ProposedStrike, allowed: bool, rule_id: str
) -> None:
    sc = scenario(MAY30)
    rules = conditional_rules()
    engine = RuleEngine(rules, sc.weapons, sc.target_classes, list(sc.theater.zones))
    v = decide_both(strike, rules, sc, engine, WorldState(rungs))
    assert v.allowed is allowed, v
    assert v.rule_id == rule_id, v


def test_condition_default_world_is_rung_zero() -> None:
    sc = scenario(MAY30)
    rules = {
        "USA": [
            RuleSpec(
                id="us-only-once-escalated",
                effect="allow",
                condition=ConditionSpec(rung_at_least=1),
            )
        ]
    }
    engine = RuleEngine(rules, sc.weapons, sc.target_classes, list(sc.theater.zones))
    s = hit("ATACMS", "command_post", 150, "deep_russia")
    assert decide_both(s, rules, sc, engine, None).rule_id == "no-permission:USA"
    assert decide_both(s, rules, sc, engine, WorldState({"RUS": 1})).rule_id == (
        "us-only-once-escalated"
    )
