"""The player hooks on the model: seats, choices, choose, change_rules, observation."""

from __future__ import annotations

import pytest

from escalation_sim import load_scenario
from escalation_sim.model import EscalationModel
from escalation_sim.model.control import MoveError

SCENARIOS = "scenarios"


@pytest.fixture(scope="module")
def may30():
    return load_scenario(f"{SCENARIOS}/may30_kharkiv_counterfire.yaml", ["horizon_days=40"])


@pytest.fixture(scope="module")
def deep():
    return load_scenario(f"{SCENARIOS}/deep_strike.yaml", ["horizon_days=120"])


def test_unknown_seat_is_refused(may30):
    with pytest.raises(ValueError, match=r"seated: unknown actor.*XYZ"):
        EscalationModel(may30, seed=1, seated=["XYZ"])


def test_seated_actor_makes_no_automated_escalation_choice(deep):
    # Under deep-strike rules the model's Russia moves on its ladder in most runs;
    # seated, it stays where it starts unless its player moves.
    moved_free, moved_seated = 0, 0
    for seed in range(4):
        free = EscalationModel(deep, seed=seed)
        free.run()
        seated = EscalationModel(deep, seed=seed, seated=["RUS"])
        seated.run()
        moved_free += free.timeseries()["rung.RUS"].nunique() > 1
        moved_seated += seated.timeseries()["rung.RUS"].nunique() > 1
        assert not [
            e for e in seated.events.records() if e["kind"] == "decision" and e["actor"] == "RUS"
        ]
    assert moved_free >= 1, "the comparison needs runs where the model's Russia moves"
    assert moved_seated == 0


def test_seated_supplier_makes_no_automated_policy_change():
    sc = load_scenario(f"{SCENARIOS}/adaptive_policy.yaml", ["horizon_days=150"])
    changed_free = 0
    for seed in range(4):
        free = EscalationModel(sc, seed=seed)
        free.run()
        changed_free += free.timeseries()["posture.USA"].nunique() > 1
        seated = EscalationModel(sc, seed=seed, seated=["USA"])
        seated.run()
        assert seated.timeseries()["posture.USA"].nunique() == 1
    assert changed_free >= 1, "the comparison needs runs where the model's US adapts"


def test_choices_are_the_options_open_now(may30):
    m = EscalationModel(may30, seed=1, seated=["RUS"])
    opts = m.choices("RUS")
    assert opts[0].id == "hold"
    # Russia starts on its signalling rung: statements without a rung, and a way up.
    up = [c for c in opts if c.to_rung is not None and c.to_rung > m.actor["RUS"].rung]
    assert up, [c.id for c in opts]
    assert any(c.to_rung is None for c in opts[1:])
    assert all(c.label for c in opts)


def _up(m, actor):
    return next(
        c for c in m.choices(actor) if c.to_rung is not None and c.to_rung > m.actor[actor].rung
    )


def test_choose_applies_before_the_next_step_and_is_logged(may30):
    m = EscalationModel(may30, seed=1, seated=["RUS"])
    m.run_for(5)
    start = m.actor["RUS"].rung
    up = _up(m, "RUS")
    m.choose("RUS", up.id, cause="seminar team RUS: answer the strikes")
    m.run_for(3)
    ts = m.timeseries()
    assert ts.loc[5, "rung.RUS"] == start
    assert (ts.loc[6:, "rung.RUS"] == up.to_rung).all()
    (event,) = [e for e in m.events.records() if e["kind"] == "decision" and e["actor"] == "RUS"]
    assert event["step"] == 6
    assert event["option"] == up.id
    assert event["cause"] == "seminar team RUS: answer the strikes"
    assert (event["from_rung"], event["to_rung"]) == (start, up.to_rung)


def test_invalid_choice_names_the_valid_ids_and_changes_nothing(may30):
    m = EscalationModel(may30, seed=1, seated=["USA"])
    ids = [c.id for c in m.choices("USA")]
    with pytest.raises(
        MoveError, match=f"'descend' is not available to USA now; expected one of: {', '.join(ids)}"
    ):
        m.choose("USA", "descend", cause="x")
    with pytest.raises(ValueError, match="unknown actor 'XX'"):
        m.choose("XX", "hold", cause="x")
    assert m.actor["USA"].rung == 0
    assert not [e for e in m.events.other if e["kind"] == "decision"]


def test_rule_change_takes_effect_on_the_next_step(may30):
    m = EscalationModel(may30, seed=3, seated=["USA"])
    m.run_for(10)
    m.change_rules("USA", {"posture": "deep_strike"}, cause="widen")
    m.run_for(20)
    ts = m.timeseries()
    assert (ts.loc[:10, "posture.USA"] == "kharkiv_counterfire").all()
    assert (ts.loc[11:, "posture.USA"] == "deep_strike").all()
    # The rules in force decide the strikes: ATACMS inside Russia only after the change.
    assert ts.loc[:10, "strikes_in_russia.weapon.ATACMS"].sum() == 0
    assert ts.loc[11:, "strikes_in_russia.weapon.ATACMS"].sum() > 0
    (event,) = [e for e in m.events.records() if e["kind"] == "rule_change"]
    assert event["step"] == 11 and event["change"] == "player" and event["cause"] == "widen"
    assert (event["from_posture"], event["to_posture"]) == ("kharkiv_counterfire", "deep_strike")


def test_add_and_remove_rules_from_the_catalogue(may30):
    m = EscalationModel(may30, seed=3, seated=["USA"])
    m.change_rules("USA", {"remove_rules": ["us-no-long-range-in-russia"]})
    assert [r.id for r in m.actor["USA"].policy.active_rules()] == ["us-kharkiv-counterfire"]
    m.change_rules("USA", {"add_rules": ["us-no-long-range-in-russia"]})
    assert "us-no-long-range-in-russia" in [r.id for r in m.actor["USA"].policy.active_rules()]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"posture": "deep_strikes"}, "posture", "unknown posture 'deep_strikes'; expected one of"),
        ({"postur": "deep_strike"}, "postur", "unknown field 'postur'; did you mean 'posture'?"),
        ({"add_rules": ["gb-anywhere"]}, "add_rules.0", "not in USA's catalogue"),
        ({"remove_rules": ["us-deep-military"]}, "remove_rules.0", "not in force for USA"),
        ({"remove_rules": ["nope"]}, "remove_rules.0", "unknown rule id 'nope' for USA"),
        (
            {
                "add_rules": [
                    {"id": "us-kharkiv-counterfire", "effect": "allow", "weapons": ["STORM_SHADOW"]}
                ]
            },
            "add_rules.0.weapons.0",
            "supplied by GBR, not USA",
        ),
        (
            {"add_rules": [{"id": "us-kharkiv-counterfire", "effect": "forbid", "weapons": "all"}]},
            "add_rules.0.effect",
            "may edit it but not change its effect",
        ),
        ({}, "", "needs 'posture', 'add_rules' or 'remove_rules'"),
        ({"day": 3, "posture": "deep_strike"}, "day", "set by the game"),
    ],
)
def test_invalid_rule_change_names_the_field_and_applies_nothing(may30, change, field, message):
    m = EscalationModel(may30, seed=3, seated=["USA"])
    before = [r.id for r in m.actor["USA"].policy.active_rules()]
    with pytest.raises(MoveError) as info:
        m.change_rules("USA", change)
    fields = [f for f, _ in info.value.problems]
    assert field in fields, info.value.problems
    assert message in str(info.value)
    assert [r.id for r in m.actor["USA"].policy.active_rules()] == before
    assert m.actor["USA"].policy.posture == "kharkiv_counterfire"
    assert not [e for e in m.events.other if e["kind"] == "rule_change"]


def test_only_suppliers_change_rules(may30):
    m = EscalationModel(may30, seed=3, seated=["RUS"])
    with pytest.raises(MoveError, match="RUS sets no rules"):
        m.change_rules("RUS", {"posture": "anything"})


def test_reading_a_window_leaves_the_history_whole(may30):
    # A read must not trim what the actor remembers: a week read first, then a month, gives the
    # month's counts, the same as a month read first in a twin model; the harm rate likewise.
    counts = {}
    for first in (7, None):
        m = EscalationModel(may30, seed=2)
        m.run_for(40)
        rus, usa = m.actor["RUS"], m.actor["USA"]
        if first is not None:
            rus.seen_strike_counts(first)
            usa.seen_harm_rate(first)
        counts[first] = (rus.seen_strike_counts(30), usa.seen_harm_rate(30))
        assert len(rus._strikes_seen) == len(usa._harm_seen) == 40 / m.step_days
        week = rus.seen_strike_counts(7)
    assert counts[7] == counts[None]
    assert sum(counts[None][0].values()) > sum(week.values())  # the month holds more than a week


def test_observation_is_the_actors_view(may30):
    m = EscalationModel(may30, seed=2)
    m.run_for(14)
    rus, usa, ukr = m.observation("RUS"), m.observation("USA"), m.observation("UKR")
    # Public to all: rungs, declared postures, harm to the city.
    for o in (rus, usa, ukr):
        assert set(o["rungs"]) == set(m.actor_ids)
        assert o["postures"]["USA"] == "kharkiv_counterfire"
    # Russia sees strikes inside Russia (who launched them only through its perception),
    # not the suppliers' rule texts or withheld strikes.
    assert "strikes_inside_russia" in rus and "rules_in_force" not in rus
    # Its count is what it perceived (late, noisy), attributed as it perceived them.
    assert set(rus["strikes_inside_russia"]) == {"total", "by_supplier"}
    assert "salient_precedents" in rus["perceived"]
    assert "withheld_by_rule" not in str(rus)
    # A supplier sees its own weapons and rules, not Russia's losses or others' weapons.
    assert "own_weapons" in usa and "strikes_inside_russia" not in usa and "own_losses" not in usa
    assert [r["id"] for r in usa["rules_in_force"]] == [
        "us-no-long-range-in-russia",
        "us-kharkiv-counterfire",
    ]
    # The window is the last week.
    ts = m.timeseries()
    # Russia's count is its perception (lagged, noisy), not the record; a supplier's own
    # strikes are its own operations' record.
    assert (
        sum(rus["strikes_inside_russia"]["by_supplier"].values())
        == rus["strikes_inside_russia"]["total"]
    )
    assert usa["own_weapons"]["strikes"] == int(ts["strikes.supplier.USA"].iloc[-7:].sum())
    assert rus["window_days"] == 7


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # A catalogue miss (checked before the scenario) beside an unknown posture (a
        # cross-reference of the scenario): both, in the order the move wrote them.
        (
            {"posture": "deep_strik", "add_rules": ["us-nothing"]},
            [("posture", "unknown posture 'deep_strik'"), ("add_rules.0", "'us-nothing'")],
        ),
        # A schema problem (an unknown field) hides no cross-reference problem.
        (
            {"bogus": 1, "posture": "deep_strik", "remove_rules": ["zzz"]},
            [
                ("bogus", "unknown field 'bogus'"),
                ("posture", "unknown posture 'deep_strik'"),
                ("remove_rules.0", "unknown rule id 'zzz'"),
            ],
        ),
        # Items set aside keep their own indices: the third rule is named as the third.
        (
            {
                "add_rules": [
                    "us-nothing",
                    {"id": "us-kharkiv-counterfire", "effect": "allow", "zz": 1},
                    {"id": "us-deep-military", "effect": "allow", "weapons": ["STORM_SHADOW"]},
                ]
            },
            [
                ("add_rules.0", "'us-nothing'"),
                ("add_rules.1.zz", "unknown field 'zz'"),
                ("add_rules.2.weapons.0", "supplied by GBR, not USA"),
            ],
        ),
        # Only what was refused is reported: no "needs 'posture' ..." once the bad rule is out.
        ({"add_rules": ["us-nothing"]}, [("add_rules.0", "'us-nothing'")]),
    ],
)
def test_a_rule_change_reports_every_problem_at_once(may30, change, expected):
    m = EscalationModel(may30, seed=3, seated=["USA"])
    with pytest.raises(MoveError) as info:
        m.change_rules("USA", change)
    problems = info.value.problems
    assert [f for f, _ in problems] == [f for f, _ in expected], problems
    for (_, message), (_, part) in zip(problems, expected, strict=True):
        assert part in message
    assert not [e for e in m.events.other if e["kind"] == "rule_change"]


def test_a_move_reports_its_rule_and_choice_problems_together(may30):
    from escalation_sim.play.moves import Move, check_move

    m = EscalationModel(may30, seed=3, seated=["USA"])
    move = Move("USA", "fly", {"posture": "deep_strik", "add_rules": ["us-nothing"]})
    with pytest.raises(MoveError) as info:
        check_move(m, move)
    assert [f for f, _ in info.value.problems] == ["rules.posture", "rules.add_rules.0", "choice"]


def test_an_unknown_field_in_a_move_offers_only_the_fields_a_player_writes(may30):
    m = EscalationModel(may30, seed=3, seated=["USA"])
    with pytest.raises(MoveError) as info:
        m.change_rules("USA", {"postur": "deep_strike"})
    [(field, message)] = info.value.problems
    assert field == "postur"
    assert "did you mean 'posture'?" in message
    offered = message.split("expected one of: ", 1)[1].split(", ")
    assert offered == ["posture", "add_rules", "remove_rules", "note"]
