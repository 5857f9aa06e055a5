"""Warnings about settings that can never change a run (validate exits 0; --strict makes them errors)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.scenario import load_scenario
from escalation_sim.scenario.lint import lint_scenario, reachable_postures
from escalation_sim.scenario.loader import load_scenario_located, scenario_warnings
from escalation_sim.scenario.reach import inside, unreachable_rules

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))

KURSK_AIR_DEFENCE = """\
name: May-30 plus US strikes on air defence in Kursk
extends: may30_kharkiv_counterfire
schedule:
  - day: 10
    supplier: USA
    add_rules:
      - {id: us-kursk-ad, effect: allow, target_classes: [air_defence], zones: [kursk_border], purpose: any}
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def warnings_of(path: Path) -> list[str]:
    sc, locs, _ = load_scenario_located(path)
    return [str(p) for p in scenario_warnings(sc, locs, str(path))]


def test_the_issue_example_warns_and_strict_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "kursk.yaml", KURSK_AIR_DEFENCE)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"ok: {path}" in result.stdout
    assert [ln for ln in result.stderr.splitlines() if not ln.startswith("note: ")] == [
        f"warning: {path}:7: schedule.0.add_rules.0.id: rule 'us-kursk-ad' can never apply: it "
        "allows strikes on air_defence in kursk_border, but no Russian unit of air_defence can "
        "stand in kursk_border"
    ]
    strict = CliRunner().invoke(main, ["validate", "--strict", str(path)])
    assert strict.exit_code == 2
    assert "error: " in strict.stderr and "us-kursk-ad" in strict.stderr
    assert "ok:" not in strict.stdout


def test_a_rule_that_can_apply_gives_no_warning(tmp_path: Path) -> None:
    text = KURSK_AIR_DEFENCE.replace(
        "air_defence], zones: [kursk_border]", "artillery], zones: [belgorod_border]"
    )
    assert warnings_of(write(tmp_path, "ok.yaml", text)) == []


def test_shipped_scenarios_give_no_warnings() -> None:
    result = CliRunner().invoke(main, ["validate", "--strict", *map(str, SHIPPED)])
    assert result.exit_code == 0, result.output
    # Only notes on the package defaults' rules they put in force (tests/test_rule_reach.py).
    assert all(line.startswith("note: ") for line in result.stderr.splitlines()), result.stderr


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (
            "{id: x, effect: allow, weapons: [ATACMS], long_range_only: true, zones: [belgorod_border]}",
            None,
        ),
        (
            "{id: x, effect: allow, target_classes: [energy], zones: [belgorod_border]}",
            "no Russian unit of energy",
        ),
        (
            "{id: x, effect: allow, weapons: [GMLRS], target_classes: [logistics], min_depth_km: 250}",
            "reaches",
        ),
        ("{id: x, effect: allow, weapons: [M777], target_classes: [airbase]}", "has an effect"),
        (
            "{id: x, effect: allow, target_classes: [command_post], purpose: counter_fire}",
            "that fires",
        ),
        (
            "{id: x, effect: forbid, target_classes: [artillery], min_depth_km: 300}",
            "no Russian unit of artillery",
        ),
    ],
)
def test_each_reason_a_rule_can_never_apply(tmp_path: Path, rule: str, reason: str | None) -> None:
    sc = load_scenario(
        "may30_kharkiv_counterfire", [f"schedule=[{{day: 1, supplier: USA, add_rules: [{rule}]}}]"]
    )
    found = unreachable_rules(sc, only=[("schedule", 0, "add_rules", 0)])
    if reason is None:
        assert found == []
    else:
        assert len(found) == 1 and reason in found[0][1], found


def test_a_weapon_no_launcher_carries(tmp_path: Path) -> None:
    # TAURUS is carried (stock 0), so drop it from the aircraft: then nothing carries it.
    sc = load_scenario(
        "may30_kharkiv_counterfire",
        [
            "forces.ua_strike_aircraft.weapons=[STORM_SHADOW, SCALP_EG]",
            "schedule=[{day: 1, supplier: DEU, add_rules: [{id: de-taurus, effect: allow, weapons: [TAURUS]}]}]",
        ],
    )
    (found,) = unreachable_rules(sc, only=[("schedule", 0, "add_rules", 0)])
    assert "no Ukrainian launcher carries TAURUS" in found[1]


def test_unused_postures_conditions_and_idle_changes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "idle.yaml",
        """\
        name: Idle settings
        extends: may30_kharkiv_counterfire
        rules:
          USA:
            postures:
              never_used: {level: 9, rules: []}
        schedule:
          - {day: 5, supplier: USA, remove_rules: [us-later]}
          - day: 6
            supplier: USA
            add_rules: [{id: us-later, effect: allow, zones: [belgorod_border], condition: {actor: RUS, rung_below: 0}}]
          - day: 7
            supplier: USA
            add_rules: [{id: us-later, effect: allow, zones: [belgorod_border], condition: {actor: RUS, rung_below: 0}}]
        """,
    )
    found = "\n".join(warnings_of(path))
    assert "posture 'never_used' is never in force" in found
    assert (
        "idle.yaml:8: schedule.0.remove_rules.0: removes rule 'us-later', which is not in force on day 5"
        in found
    )
    assert (
        "schedule.2.add_rules.0: adds rule 'us-later', already in force unchanged on day 7" in found
    )
    assert "rule 'us-later' never applies: no rung is below 0" in found


def test_a_posture_switch_to_the_current_one_is_idle_only_without_adaptation() -> None:
    switch = "schedule=[{day: 3, supplier: USA, posture: kharkiv_counterfire}]"
    adaptive = load_scenario("may30_kharkiv_counterfire", [switch])
    assert not any("changes nothing" in m for _, m in lint_scenario(adaptive))  # narrow may act
    fixed = load_scenario(
        "may30_kharkiv_counterfire", [switch, "rules.USA.adaptation.narrow=false"]
    )
    assert any("already in posture 'kharkiv_counterfire'" in m for _, m in lint_scenario(fixed))


def test_adaptation_reaches_postures_along_their_levels() -> None:
    sc = load_scenario("may30_kharkiv_counterfire")
    policy = sc.rules["USA"]
    order = sorted(policy.postures, key=lambda p: policy.postures[p].level)
    start = order.index(policy.posture)
    reached = reachable_postures(policy, set())
    assert reached == set(order[: start + 1])  # narrow only (the default): downwards
    wide = policy.model_copy(
        update={"adaptation": policy.adaptation.model_copy(update={"widen": True})}
    )
    assert reachable_postures(wide, set()) == set(order)


def test_zone_membership_follows_the_outline() -> None:
    triangle = np.array([(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)])
    x = np.array([1.0, 4.0, 6.0, -1.0])
    d = np.array([1.0, 4.0, 6.0, 1.0])
    assert inside(triangle, x, d).tolist() == [True, True, False, False]


def test_readme_warning_example_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ cat kursk.yaml\n", 1)[1].split("```", 1)[0]
    text, shown = block.split("$ escalation-sim validate kursk.yaml\n")
    (tmp_path / "kursk.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "kursk.yaml"])
    assert result.exit_code == 0
    assert result.stderr + result.stdout == shown


def test_a_rule_replaced_in_one_change_is_in_force_afterwards(tmp_path: Path) -> None:
    # One change that removes a rule id and adds a rule under it replaces the rule (as the
    # model applies it: removals first): neither half is idle, and the id stays in force.
    rule = "{{id: us-x, effect: allow, zones: [{zone}]}}"
    path = write(
        tmp_path,
        "replace.yaml",
        f"""\
        name: Replace a rule in one change
        extends: may30_kharkiv_counterfire
        schedule:
          - {{day: 4, supplier: USA, add_rules: [{rule.format(zone="belgorod_border")}]}}
          - day: 6
            supplier: USA
            remove_rules: [us-x]
            add_rules: [{rule.format(zone="kursk_border")}]
          - day: 7
            supplier: USA
            remove_rules: [us-x]
            add_rules: [{rule.format(zone="kursk_border")}]
          - {{day: 8, supplier: USA, remove_rules: [us-x]}}
          - {{day: 9, supplier: USA, remove_rules: [us-x]}}
        """,
    )
    found = [m for m in warnings_of(path) if "us-x" in m]
    assert not any("schedule.1." in m for m in found), found
    # Re-adding the very rule in force, even after removing it in the same change, is idle.
    assert any(
        "schedule.2.add_rules.0: adds rule 'us-x', already in force unchanged on day 7" in m
        for m in found
    ), found
    assert not any("schedule.3." in m for m in found), found  # in force until day 8
    assert any(
        "schedule.4.remove_rules.0: removes rule 'us-x', which is not in force on day 9" in m
        for m in found
    ), found
