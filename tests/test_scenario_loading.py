"""Loading scenario files: shipped scenarios, extends, --set, round trips and precise errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.scenario import (
    Scenario,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
    scenario_to_yaml,
    with_overrides,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIO_DIR = REPO / "scenarios"
SHIPPED = sorted(SCENARIO_DIR.glob("*.yaml"))
DEFAULT_SCENARIO = SCENARIO_DIR / "may30_kharkiv_counterfire.yaml"


def write(directory: Path, name: str, text: str) -> Path:
    """Write a scenario file; the text is dedented so line numbers are the ones seen here."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path, overrides: tuple[str, ...] = ()) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    assert info.value.problems, "a ScenarioError must carry at least one problem"
    return info.value.problems


def single_problem(path: Path, overrides: tuple[str, ...] = ()) -> Problem:
    problems = problems_of(path, overrides)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


# --- shipped scenarios -------------------------------------------------------------


def test_shipped_scenarios_exist() -> None:
    names = {p.name for p in SHIPPED}
    assert "may30_kharkiv_counterfire.yaml" in names
    assert "pre_may30.yaml" in names
    assert len(SHIPPED) >= 5


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name and scenario.name != "default"
    assert scenario.n_steps == scenario.horizon_days
    # every supplier's starting posture exists (checked by the loader, asserted here too)
    for supplier, policy in scenario.rules.items():
        assert policy.posture in policy.postures, supplier


def test_default_scenario_has_the_may30_rules() -> None:
    sc = load_scenario(DEFAULT_SCENARIO)
    assert str(sc.start_date) == "2024-05-30"
    assert {s: p.posture for s, p in sc.rules.items()} == {
        "USA": "kharkiv_counterfire",
        "GBR": "anywhere",
        "FRA": "self_defense",
        "DEU": "border_self_defense",
    }
    us_rules = {r.id: r for r in sc.rules["USA"].postures["kharkiv_counterfire"].rules}
    assert us_rules["us-no-long-range-in-russia"].effect == "forbid"
    assert us_rules["us-no-long-range-in-russia"].weapons == ["ATACMS"]
    assert us_rules["us-kharkiv-counterfire"].purpose == "counter_fire"
    assert sc.actors["RUS"].start_rung == 2


def test_shipped_extends_chains() -> None:
    widening = load_scenario(SCENARIO_DIR / "us_widening_schedule.yaml")
    base = load_scenario(DEFAULT_SCENARIO)
    # inherited from may30 (the file it extends) ...
    assert widening.rules == base.rules
    assert widening.horizon_days == base.horizon_days
    # ... with its own name and schedule
    assert widening.name != base.name
    assert [(c.day, c.supplier, c.posture) for c in widening.schedule] == [
        (60, "USA", "deep_strike")
    ]

    adaptive = load_scenario(SCENARIO_DIR / "adaptive_policy.yaml")
    pre = load_scenario(SCENARIO_DIR / "pre_may30.yaml")
    assert adaptive.rules["USA"].posture == pre.rules["USA"].posture == "no_strikes_in_russia"
    assert adaptive.rules["GBR"].posture == "anywhere"
    assert pre.rules["GBR"].posture == "no_strikes_in_russia"
    # a nested mapping merges key by key: only `widen` changed in the adaptation block
    assert adaptive.rules["USA"].adaptation.widen is True
    assert pre.rules["USA"].adaptation.widen is False
    assert (
        adaptive.rules["USA"].adaptation.model_copy(update={"widen": False})
        == pre.rules["USA"].adaptation
    )


# --- extends, merging and deletion -------------------------------------------------


def test_three_level_extends_chain_merges_and_replaces(tmp_path: Path) -> None:
    write(
        tmp_path,
        "grand.yaml",
        """
        name: Grandparent
        horizon_days: 100
        target_classes: [artillery, missile_launcher, command_post, air_defence, logistics,
                         energy, radar, launcher, drone_site, strategic, airbase]
        weapons:
          GMLRS: {stock: 111}
        """,
    )
    write(
        tmp_path,
        "sub/parent.yaml",
        """
        name: Parent
        extends: ../grand.yaml
        weapons:
          GMLRS: {resupply_per_day: 3}
        rules:
          USA: {posture: kharkiv_counterfire}
        """,
    )
    child = write(
        tmp_path,
        "sub/child.yaml",
        """
        name: Child
        extends: parent.yaml
        horizon_days: 50
        weapons:
          GMLRS:
            effect: {energy: null, airbase: 0.1}
        theater:
          places:
            voronezh: null
        """,
    )
    # 'extends' reaches up out of sub/ only when the caller allows the wider folder.
    with pytest.raises(ScenarioError, match="lies outside the scenario's folder"):
        load_scenario(child)
    sc = load_scenario(child, extends_root=tmp_path)
    assert sc.name == "Child"
    assert sc.horizon_days == 50  # the child overrides the grandparent
    assert sc.rules["USA"].posture == "kharkiv_counterfire"  # from the parent
    gmlrs = sc.weapons["GMLRS"]
    assert gmlrs.stock == 111  # grandparent
    assert gmlrs.resupply_per_day == 3  # parent
    assert gmlrs.range_km == 80  # package defaults, untouched by the chain
    assert "energy" not in gmlrs.effect  # null deletes a key
    assert gmlrs.effect["airbase"] == pytest.approx(0.1)
    assert gmlrs.effect["artillery"] == pytest.approx(0.55)  # mappings merge key by key
    assert "voronezh" not in sc.theater.places
    assert "kharkiv" in sc.theater.places
    # lists are replaced whole, not merged: the grandparent reordered the classes
    assert sc.target_classes[-1] == "airbase"
    assert len(sc.target_classes) == 11


def test_a_list_in_a_scenario_replaces_the_default_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: One US rule
        rules:
          USA:
            posture: kharkiv_counterfire
            postures:
              kharkiv_counterfire:
                level: 1
                rules:
                  - {id: us-only, effect: allow, zones: [belgorod_border]}
        """,
    )
    sc = load_scenario(path)
    rules = sc.rules["USA"].postures["kharkiv_counterfire"].rules
    assert [r.id for r in rules] == ["us-only"]
    # the other postures of the USA come from the defaults
    assert "deep_strike" in sc.rules["USA"].postures


def test_error_in_a_parent_file_names_the_parent(tmp_path: Path) -> None:
    parent = write(
        tmp_path,
        "parent.yaml",
        """
        name: Parent
        horizon_days: 90
        weapons:
          GMLRS:
            range_km: -3
        """,
    )
    child = write(tmp_path, "child.yaml", "name: Child\nextends: parent.yaml\n")
    p = single_problem(child)
    assert Path(p.file) == parent
    assert p.line == 5
    assert p.path == "weapons.GMLRS.range_km"
    assert "greater than 0" in p.message


# --- --set overrides ---------------------------------------------------------------


def test_set_overrides_change_values() -> None:
    sc = load_scenario(
        SCENARIO_DIR / "us_widening_schedule.yaml",
        [
            "horizon_days=90",
            "schedule.0.day=30",
            "rules.USA.posture=deep_strike",
            "weapons.ATACMS.stock=7.5",
            "decisions.actors.RUS.climb_rate=0.2",
        ],
    )
    assert sc.horizon_days == 90
    assert sc.schedule[0].day == 30
    assert sc.schedule[0].posture == "deep_strike"  # the rest of the list item is kept
    assert sc.rules["USA"].posture == "deep_strike"
    assert sc.weapons["ATACMS"].stock == pytest.approx(7.5)
    assert sc.decisions.actors["RUS"].climb_rate == pytest.approx(0.2)


def test_set_value_is_read_as_yaml() -> None:
    sc = load_scenario(
        DEFAULT_SCENARIO,
        ["schedule=[{day: 5, supplier: USA, posture: deep_strike}]", "description=two words"],
    )
    assert len(sc.schedule) == 1
    assert sc.schedule[0].day == 5
    assert sc.description == "two words"


def test_set_overrides_on_dicts_and_scenarios() -> None:
    sc = scenario_from_dict({"name": "From a dict"}, ["horizon_days=30"])
    assert sc.horizon_days == 30
    again = with_overrides(sc, ["rules.USA.posture=kharkiv_counterfire", "schedule=[]"])
    assert again.rules["USA"].posture == "kharkiv_counterfire"
    assert sc.rules["USA"].posture == "no_strikes_in_russia"  # the original is untouched
    assert scenario_hash(again) != scenario_hash(sc)


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("horizon_days", "expected KEY.PATH=VALUE"),
        ("=5", "expected KEY.PATH=VALUE"),
        ("rules..USA=x", "expected KEY.PATH=VALUE"),
        ("schedule.9.day=3", "no item 9: the list has 1 item(s)"),
        ("schedule.x=3", "this is a list: expected an item number (0..0), got 'x'"),
        ("schedule.1=3", "no item 1: the list has 1 item(s)"),
        ("rules.USA.postures.no_strikes_in_russia.rules.0.id=x", "the list is empty"),
        ("name.first=x", "cannot go inside this value (a str, not a mapping or list)"),
        ("horizon_days.x.y=1", "cannot go inside this value (a int"),
        ("weapons.0=1", "this is a mapping: expected a key name, got 0"),
    ],
)
def test_bad_set_syntax_is_a_clear_error(assignment: str, expected: str) -> None:
    p = single_problem(SCENARIO_DIR / "us_widening_schedule.yaml", (assignment,))
    assert p.file == "--set"
    assert p.line is None
    assert expected in p.message
    assert str(p).startswith("--set: ")


def test_set_creating_a_new_entry_is_blamed_for_what_it_lacks() -> None:
    problems = problems_of(DEFAULT_SCENARIO, ("weapons.NEW_GUN.range_km=4",))
    missing = {p.path for p in problems}
    assert "weapons.NEW_GUN.supplier" in missing
    assert all(p.file == "--set weapons.NEW_GUN.range_km" for p in problems)


def test_set_value_of_the_wrong_type_names_the_override() -> None:
    p = single_problem(DEFAULT_SCENARIO, ("horizon_days=lots",))
    assert p.file == "--set horizon_days"
    assert p.line is None
    assert p.path == "horizon_days"
    assert "valid integer" in p.message
    assert "'lots'" in p.message


def test_set_value_that_is_not_yaml() -> None:
    p = single_problem(DEFAULT_SCENARIO, ("horizon_days=[1,",))
    assert p.file == "--set horizon_days"
    assert "not valid YAML" in p.message


def test_set_that_breaks_a_cross_reference() -> None:
    p = single_problem(
        DEFAULT_SCENARIO, ("schedule=[{day: 500, supplier: USA, posture: deep_strike}]",)
    )
    assert p.file == "--set schedule"
    assert p.path == "schedule.0.day"
    assert "outside the horizon" in p.message


# --- round trip --------------------------------------------------------------------


def _round_trip(sc: Scenario, directory: Path) -> Scenario:
    out = directory / "resolved.yaml"
    out.write_text(scenario_to_yaml(sc), encoding="utf-8")
    return load_scenario(out)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_round_trip_of_shipped_scenarios(path: Path, tmp_path: Path) -> None:
    sc = load_scenario(path)
    again = _round_trip(sc, tmp_path)
    assert again == sc
    assert scenario_hash(again) == scenario_hash(sc)
    assert "extends" not in (tmp_path / "resolved.yaml").read_text(encoding="utf-8")


def test_round_trip_keeps_deleted_defaults_deleted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "deletes.yaml",
        """
        name: Deletes things
        weapons:
          GMLRS:
            effect: {energy: null}
        theater:
          places:
            voronezh: null
        """,
    )
    sc = load_scenario(path)
    assert "voronezh" not in sc.theater.places
    again = _round_trip(sc, tmp_path)
    assert "voronezh" not in again.theater.places
    assert "energy" not in again.weapons["GMLRS"].effect
    assert again == sc
    assert scenario_hash(again) == scenario_hash(sc)


def test_hash_is_stable_and_tracks_content() -> None:
    a = load_scenario(DEFAULT_SCENARIO)
    b = load_scenario(DEFAULT_SCENARIO)
    assert scenario_hash(a) == scenario_hash(b)
    assert len(scenario_hash(a)) == 64
    c = load_scenario(DEFAULT_SCENARIO, ["weapons.GMLRS.stock=401"])
    assert scenario_hash(c) != scenario_hash(a)


# --- errors: one precise problem each ----------------------------------------------

# (id, file text, line, dotted path, fragments the message must contain)
ERROR_CASES = [
    (
        "misspelt-top-level-key",
        """
        name: Test
        start_date: 2024-05-30
        horizn_days: 90
        """,
        3,
        "horizn_days",
        ["unknown field 'horizn_days'", "did you mean 'horizon_days'?", "expected one of"],
    ),
    (
        "misspelt-nested-key",
        """
        name: Test
        weapons:
          GMLRS:
            rnge_km: 70
        """,
        4,
        "weapons.GMLRS.rnge_km",
        ["unknown field 'rnge_km'", "did you mean 'range_km'?"],
    ),
    (
        "misspelt-rule-key",
        """
        name: Test
        rules:
          USA:
            postures:
              kharkiv_counterfire:
                level: 1
                rules:
                  - id: us-x
                    effect: allow
                    target_clases: [artillery]
        """,
        10,
        "rules.USA.postures.kharkiv_counterfire.rules.0.target_clases",
        ["did you mean 'target_classes'?"],
    ),
    (
        "wrong-type",
        """
        name: Test
        start_date: 2024-05-30
        horizon_days: ninety
        """,
        3,
        "horizon_days",
        ["valid integer", "'ninety'"],
    ),
    (
        "wrong-type-nested",
        """
        name: Test
        weapons:
          ATACMS: {stock: plenty}
        """,
        3,
        "weapons.ATACMS.stock",
        ["valid number", "'plenty'"],
    ),
    (
        "wrong-literal",
        """
        name: Test
        rules:
          USA:
            postures:
              kharkiv_counterfire:
                level: 1
                rules:
                  - {id: us-x, effect: permit}
        """,
        8,
        "rules.USA.postures.kharkiv_counterfire.rules.0.effect",
        ["'allow' or 'forbid'", "'permit'"],
    ),
    (
        "unknown-weapon-in-rule",
        """
        name: Test
        rules:
          USA:
            postures:
              kharkiv_counterfire:
                level: 1
                rules:
                  - id: us-x
                    effect: allow
                    weapons: [GMLRS, HIMARSX]
        """,
        10,
        "rules.USA.postures.kharkiv_counterfire.rules.0.weapons.1",
        ["unknown weapon 'HIMARSX'", "expected one of", "GMLRS"],
    ),
    (
        "unknown-zone",
        """
        name: Test
        rules:
          USA:
            postures:
              kharkiv_counterfire:
                level: 1
                rules:
                  - id: us-x
                    effect: allow
                    zones:
                      - belgorod_boarder
        """,
        11,
        "rules.USA.postures.kharkiv_counterfire.rules.0.zones.0",
        ["unknown zone 'belgorod_boarder'", "belgorod_border"],
    ),
    (
        "unknown-zone-of-a-force",
        """
        name: Test
        forces:
          ru_artillery_belgorod:
            zone: belgorod
        """,
        4,
        "forces.ru_artillery_belgorod.zone",
        ["unknown zone 'belgorod'", "belgorod_border"],
    ),
    (
        "weapon-of-another-supplier",
        """
        name: Test
        rules:
          USA:
            postures:
              kharkiv_counterfire:
                level: 1
                rules:
                  - id: us-x
                    effect: allow
                    weapons: [GMLRS, STORM_SHADOW]
        """,
        10,
        "rules.USA.postures.kharkiv_counterfire.rules.0.weapons.1",
        ["'STORM_SHADOW' is supplied by GBR, not USA"],
    ),
    (
        "weapon-of-another-supplier-in-scheduled-rule",
        """
        name: Test
        schedule:
          - day: 10
            supplier: DEU
            add_rules:
              - {id: de-x, effect: allow, weapons: [ATACMS]}
        """,
        6,
        "schedule.0.add_rules.0.weapons.0",
        ["'ATACMS' is supplied by USA, not DEU"],
    ),
    (
        "zero-range",
        """
        name: Test
        weapons:
          GMLRS:
            range_km: 0
        """,
        4,
        "weapons.GMLRS.range_km",
        ["greater than 0", "(got 0)"],
    ),
    (
        "negative-range",
        """
        name: Test
        weapons:
          M777: {range_km: -30}
        """,
        3,
        "weapons.M777.range_km",
        ["greater than 0", "(got -30)"],
    ),
    (
        "scheduled-day-outside-horizon",
        """
        name: Test
        horizon_days: 90
        schedule:
          - day: 120
            supplier: USA
            posture: deep_strike
        """,
        4,
        "schedule.0.day",
        ["day 120 is outside the horizon (0..90)"],
    ),
    (
        "duplicate-rule-id-in-posture",
        """
        name: Test
        rules:
          GBR:
            postures:
              anywhere:
                level: 2
                rules:
                  - id: gb-anywhere
                    effect: allow
                  - id: gb-anywhere
                    effect: forbid
                    target_classes: [energy]
        """,
        10,
        "rules.GBR.postures.anywhere.rules.1.id",
        ["duplicate rule id 'gb-anywhere'"],
    ),
    (
        "duplicate-rule-id-across-suppliers",
        """
        name: Test
        rules:
          GBR:
            postures:
              anywhere:
                level: 2
                rules:
                  - id: us-kharkiv-counterfire
                    effect: allow
        """,
        8,
        "rules.GBR.postures.anywhere.rules.0.id",
        ["'us-kharkiv-counterfire' is already used by USA", "unique"],
    ),
    (
        "unordered-ladder-levels",
        """
        name: Test
        ladder:
          name: Small
          source: assumption
          rungs:
            - {level: 0, id: a, name: A, climb_threshold: 0}
            - {level: 2, id: b, name: B, climb_threshold: 5}
        """,
        2,
        "ladder",
        ["rung levels must be 0, 1, 2, ... in order", "got [0, 2]"],
    ),
    (
        "unordered-ladder-thresholds",
        """
        name: Test
        actors:
          RUS: {start_rung: 0}
        ladder:
          name: Small
          source: assumption
          rungs:
            - {level: 0, id: a, name: A, climb_threshold: 0}
            - {level: 1, id: b, name: B, climb_threshold: 5}
            - {level: 2, id: c, name: C, climb_threshold: 3}
        """,
        4,
        "ladder",
        ["climb_threshold must not decrease", "got [0.0, 5.0, 3.0]"],
    ),
    (
        "missing-required-field",
        """
        name: Test
        weapons:
          NEW_GUN:
            name: A new gun
            supplier: USA
            mode: tube
            range_km: 20
            stock: 10
            source: assumption
        """,
        3,
        "weapons.NEW_GUN.interception_chance",
        ["required field is missing"],
    ),
    (
        "probability-above-one",
        """
        name: Test
        actors:
          USA: {risk_tolerance: 1.5}
        """,
        3,
        "actors.USA.risk_tolerance",
        ["less than or equal to 1", "1.5"],
    ),
    (
        "duplicate-yaml-key",
        """
        name: Test
        horizon_days: 90
        horizon_days: 100
        """,
        3,
        "horizon_days",
        ["duplicate key"],
    ),
    (
        "duplicate-yaml-key-nested",
        """
        name: Test
        weapons:
          GMLRS:
            stock: 1
            range_km: 70
            stock: 2
        """,
        6,
        "weapons.GMLRS.stock",
        ["duplicate key"],
    ),
    (
        "invalid-yaml-unclosed-flow-mapping",
        """
        name: Test
        rules:
          USA: {posture: x
        horizon_days: 3
        """,
        4,
        "",
        ["not valid YAML", "flow mapping started at line 3"],
    ),
    (
        "invalid-yaml-indentation",
        """
        name: Test
        horizon_days: 3
          start_date: 2024-01-01
        """,
        3,
        "",
        ["not valid YAML", "mapping values are not allowed here"],
    ),
    (
        "invalid-yaml-tab",
        "name: Test\nrules:\n\tUSA: {}\n",
        3,
        "",
        ["not valid YAML", "'\\t'"],
    ),
    (
        "invalid-date",
        """
        name: Test
        start_date: 2024-13-45
        """,
        2,
        "start_date",
        ["cannot read '2024-13-45'", "month must be in 1..12"],
    ),
    (
        "python-tag-is-never-executed",
        """
        name: !!python/object/apply:os.system "echo hi"
        """,
        1,
        "",
        ["unreadable value", "python/object/apply:os.system"],
    ),
    (
        "recursive-alias",
        """
        name: Test
        target_classes: &classes [artillery, *classes]
        """,
        2,
        "target_classes.1",
        ["recursive"],
    ),
    (
        "top-level-list",
        """
        - name: Test
        - horizon_days: 90
        """,
        1,
        "",
        ["expected a mapping of scenario fields at the top level"],
    ),
    (
        "top-level-scalar",
        """
        just a sentence
        """,
        1,
        "",
        ["expected a mapping of scenario fields at the top level"],
    ),
    (
        "extends-not-a-path",
        """
        name: Test
        extends: [a.yaml]
        """,
        2,
        "extends",
        ["expected a path to another scenario file"],
    ),
    (
        "extends-missing-file",
        """
        name: Test
        horizon_days: 30
        extends: nowhere.yaml
        """,
        3,
        "extends",
        ["file nowhere.yaml not found"],
    ),
    (
        "extends-a-directory",
        """
        name: Test
        extends: .
        """,
        2,
        "extends",
        ["'.' is not a scenario file"],
    ),
    (
        "extends-unusable-name",
        """
        name: Test
        extends: "a\\0b.yaml"
        """,
        2,
        "extends",
        ["unusable file name", "null byte"],
    ),
    (
        "extends-itself",
        """
        name: Test
        extends: bad.yaml
        """,
        2,
        "extends",
        ["circular 'extends'"],
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "fragments"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_names_file_line_field_and_expectation(
    tmp_path: Path, text: str, line: int, field: str, fragments: list[str]
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    p = single_problem(path)
    assert p.file == str(path)
    assert p.line == line
    assert p.path == field
    for fragment in fragments:
        assert fragment in p.message, p.message
    # the rendered form is what the command line prints
    where = f"{path}:{line}:"
    assert str(p) == (f"{where} {field}: {p.message}" if field else f"{where} {p.message}")


def test_error_file_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "bad.yaml", "name: Test\nhorizon_days: 1\nhorizon_days: 2\n")
    monkeypatch.chdir(tmp_path)
    p = single_problem(Path("bad.yaml"))
    assert p.file == "bad.yaml"
    assert p.line == 3


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    p = single_problem(path)
    assert p.file == str(path)
    assert p.line is None
    assert p.path == ""
    assert "empty" in p.message
    assert "expected a scenario mapping" in p.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no_such_scenario.yaml"
    p = single_problem(path)
    assert p.file == str(path)
    assert p.line is None
    assert p.message == "file not found"


def test_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00name: \x80\x81")
    p = single_problem(path)
    assert p.file == str(path)
    assert "cannot read file" in p.message


def test_circular_extends_through_two_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "name: A\nextends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "name: B\n\nextends: a.yaml\n")
    p = single_problem(a)
    # the cycle closes in b.yaml, on its `extends` line
    assert Path(p.file) == b
    assert p.line == 3
    assert p.path == "extends"
    assert "circular 'extends' through a.yaml" in p.message


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        """
        name: Test
        horizon_days: 30
        schedule:
          - {day: 40, supplier: USA, posture: deep_strike}
          - {day: 10, supplier: FRA, posture: nowhere}
        """,
    )
    problems = problems_of(path)
    found = {(p.line, p.path) for p in problems}
    assert (4, "schedule.0.day") in found
    assert (5, "schedule.1.posture") in found
    assert all(p.file == str(path) for p in problems)


def test_scenario_from_dict_blames_the_dict_not_the_defaults() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"name": "x", "weapons": {"GMLRS": {"range_km": -1}}}, label="mine")
    (p,) = info.value.problems
    assert p.file == "mine"
    assert p.line is None
    assert p.path == "weapons.GMLRS.range_km"


def test_scenario_from_dict_rejects_a_non_mapping() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(["name", "x"])  # type: ignore[arg-type]
    assert "expected a mapping" in info.value.problems[0].message


def test_error_in_the_defaults_is_located_in_the_defaults(tmp_path: Path) -> None:
    # Dropping a zone that default forces are placed in: the problem lies where it is used.
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: Test
        theater:
          zones:
            kursk_border: null
        """,
    )
    problems = problems_of(path)
    hits = [p for p in problems if p.path == "forces.ru_artillery_kursk.zone"]
    assert len(hits) == 1
    assert "package defaults" in hits[0].file
    assert isinstance(hits[0].line, int) and hits[0].line > 0
    assert "unknown zone 'kursk_border'" in hits[0].message
