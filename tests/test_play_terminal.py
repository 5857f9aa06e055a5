"""Terminal play: the real command, driven through its standard input like a person at a prompt."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalation_sim.cli import main

MAY30 = "scenarios/may30_kharkiv_counterfire.yaml"
CLI = [sys.executable, "-m", "escalation_sim"]


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_a_person_plays_usa_at_the_terminal(tmp_path):
    typed = "\n".join(
        [
            # Turn 1: asks for help, mistypes a posture (refused at once), types it again.
            "help",
            "posture deep_strikes",
            "posture deep_strike",
            "note widen: Kharkiv is being shelled from across the border",
            "",
            # Turn 2: a public warning to Russia (a rung up) and a rule swapped.
            "diplomatic_warning",
            "remove us-deep-military",
            "add us-kharkiv-counterfire",
            "done",
            # Turn 3: the input ends: the turn goes on as a hold.
        ]
    )
    out = tmp_path / "game"
    done = subprocess.run(
        [*CLI, "play", MAY30, "--as", "USA", "--days", "21", "--out", str(out), "--no-plot"],
        input=typed + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    screen = done.stdout
    assert "Turn 1 - day 0 (2024-05-30) - you play USA" in screen
    assert "Your choices now:" in screen
    assert "diplomatic_warning  Public warning to Russia (to rung 1)" in screen
    assert "posture NAME" in screen  # the help text
    # The refusal comes right under the line typed at the prompt (input is not echoed here).
    assert (
        "USA turn 1>   refused, not taken: rules.posture: unknown posture "
        "'deep_strikes'; expected one of: no_strikes_in_russia, kharkiv_counterfire, deep_strike\n"
        "USA turn 1> "
    ) in screen
    assert "Turn 3 - day 14" in screen
    assert "wrote" in screen

    game = [json.loads(x) for x in (out / "game.jsonl").read_text().splitlines()]
    assert [g["type"] for g in game].count("refused") == 1
    moves = [g for g in game if g["type"] == "move"]
    assert [m["player"] for m in moves] == ["human"] * 3
    assert moves[0]["move"]["rules"] == {"posture": "deep_strike"}
    assert moves[0]["move"]["note"].startswith("widen: Kharkiv")
    assert moves[1]["move"] == {
        "actor": "USA",
        "choice": "diplomatic_warning",
        "rules": {"remove_rules": ["us-deep-military"], "add_rules": ["us-kharkiv-counterfire"]},
        "note": "human player",
    }
    assert moves[2]["move"]["choice"] is None

    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    changes = [e for e in events if e["kind"] == "rule_change"]
    assert [(c["step"], c["to_posture"]) for c in changes] == [
        (1, "deep_strike"),
        (8, "deep_strike"),
    ]
    assert changes[1]["removed"] == ["us-deep-military"]
    assert changes[1]["added"] == ["us-kharkiv-counterfire"]

    # The person's game replays bit for bit, without anyone at the keyboard.
    r = CliRunner().invoke(
        main, ["replay", str(out / "game.jsonl"), "--out", str(tmp_path / "r"), "--no-plot"]
    )
    assert r.exit_code == 0, r.output
    for name in ("timeseries.csv", "events.jsonl"):
        assert (tmp_path / "r" / name).read_bytes() == (out / name).read_bytes()


def test_no_keyboard_means_every_turn_holds(tmp_path):
    # CI has no standard input: a human seat must not hang, it holds.
    out = tmp_path / "g"
    done = subprocess.run(
        [*CLI, "play", MAY30, "--as", "RUS", "--days", "14", "--out", str(out), "--no-plot"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    moves = [json.loads(x) for x in (out / "game.jsonl").read_text().splitlines() if '"move"' in x]
    assert [m["move"]["choice"] for m in moves if m["type"] == "move"] == [None, None]
    assert Path(out / "transcript.txt").read_text().count("you play RUS") == 2


@pytest.fixture(scope="module")
def usa_view():
    from escalation_sim import load_scenario
    from escalation_sim.model.model import EscalationModel
    from escalation_sim.play import turn_view

    model = EscalationModel(load_scenario(MAY30), seed=0, seated=["USA"])
    return turn_view(model, "USA", 1, 7)


def _typed(view, lines):
    from escalation_sim.play.players import HumanPlayer

    typed, told = iter(lines), []
    player = HumanPlayer(lambda prompt: next(typed, None), told.append)
    return player.move(view), "\n".join(told)


def test_a_note_may_hold_an_apostrophe_or_a_quote(usa_view):
    move, _ = _typed(usa_view, ["note Russia's shelling goes on", "statement", ""])
    assert move.note == "Russia's shelling goes on"
    assert move.choice == "statement"


def test_an_unbalanced_quote_in_a_command_is_refused_not_a_crash(usa_view):
    move, told = _typed(usa_view, ['posture "deep_strike', "posture deep_strike", ""])
    assert "unbalanced quote" in told
    assert move.rules == {"posture": "deep_strike"}


def test_help_says_how_to_stop_a_game(usa_view):
    _, told = _typed(usa_view, ["help", ""])
    assert "Ctrl-D" in told and "saves the game" in told
    assert "Ctrl-C" in told and "without saving" in told


def _session(lines, check=None):
    """A terminal player fed ``lines``; what it showed and asked, in order."""
    from escalation_sim.play.players import HumanPlayer

    typed, screen = iter(lines), []

    def ask(prompt):
        screen.append(("ask", prompt))
        return next(typed, None)

    return HumanPlayer(ask, lambda text: screen.append(("tell", text)), check), screen


def test_a_refused_line_is_told_at_once_and_not_taken(usa_view):
    from escalation_sim import load_scenario
    from escalation_sim.model.model import EscalationModel
    from escalation_sim.play import check_move

    model = EscalationModel(load_scenario(MAY30), seed=0, seated=["USA"])
    player, screen = _session(
        ["statement", "posture deep_strik", "add us-nothing", "posture deep_strike", ""],
        lambda move: check_move(model, move),
    )
    move = player.move(usa_view)
    asked = [i for i, (what, _) in enumerate(screen) if what == "ask"]
    # Between one prompt and the next: what was wrong with the line just typed.
    between = ["\n".join(t for _, t in screen[a + 1 : b]) for a, b in itertools.pairwise(asked)]
    assert between[0] == ""
    assert between[1].startswith(
        "  refused, not taken: rules.posture: unknown posture 'deep_strik'"
    )
    assert between[2].startswith("  refused, not taken: rules.add_rules.0: rule 'us-nothing'")
    assert between[3] == ""
    # The lines refused left no trace; those taken before and after stand.
    assert (move.choice, move.rules) == ("statement", {"posture": "deep_strike"})


def test_a_move_refused_at_the_end_of_the_turn_is_shown_right_above_the_prompt(tmp_path):
    from escalation_sim import load_scenario
    from escalation_sim.play import Game

    player, screen = _session(["posture deep_strik", "add us-nothing", "", "posture deep_strike"])
    game = Game(load_scenario(MAY30, ["horizon_days=7"]), 0, {"USA": player})
    game.play()
    asked = [i for i, (what, _) in enumerate(screen) if what == "ask"]
    retry = screen[asked[2] + 1 : asked[3]]  # after the empty line that ended the first try
    text = [t for _, t in retry]
    assert not any("you play USA" in t for t in text)  # the briefing is not printed again
    assert text[-3:] == [
        "  rules.posture: unknown posture 'deep_strik'; expected one of: "
        "no_strikes_in_russia, kharkiv_counterfire, deep_strike",
        "  rules.add_rules.0: rule 'us-nothing' is not in USA's catalogue for this scenario "
        "(rules of its postures and scheduled changes); expected one of: "
        "us-no-long-range-in-russia, us-kharkiv-counterfire, us-deep-military",
        "Type your move again ('show': the briefing; 'help': the commands).",
    ]
    moves = game.record.of_type("move")
    assert [m["move"]["rules"] for m in moves] == [{"posture": "deep_strike"}]


def test_a_line_refused_in_a_game_is_kept_in_the_game_record():
    from escalation_sim import load_scenario
    from escalation_sim.play import Game

    player, _ = _session(["posture deep_strik", "posture deep_strike", ""])
    game = Game(load_scenario(MAY30, ["horizon_days=7"]), 0, {"USA": player})
    player.check = game.check
    game.play()
    refused = game.record.of_type("refused")
    assert [r["move"]["rules"] for r in refused] == [{"posture": "deep_strik"}]
    assert "rules.posture: unknown posture 'deep_strik'" in refused[0]["reason"]
    assert [m["move"]["rules"] for m in game.record.of_type("move")] == [{"posture": "deep_strike"}]


def test_help_says_lines_are_checked_only_when_they_are(usa_view):
    checked, _ = _session(["help", ""], lambda move: None)
    unchecked, _ = _session(["help", ""])
    for player, promised in ((checked, True), (unchecked, False)):
        screen: list = []
        player.tell = screen.append
        player.move(usa_view)
        assert ("is not taken, and you are told why at once" in "\n".join(screen)) is promised
