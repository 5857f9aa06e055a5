"""Terminal play: the real command, driven through its standard input like a person at a prompt."""

from __future__ import annotations

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
            # Turn 1: asks for help, mistypes a posture, ends the turn: refused, tries again.
            "help",
            "posture deep_strikes",
            "",
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
    assert (
        "Your last move was refused: turn 1, USA: rules.posture: unknown posture "
        "'deep_strikes'; expected one of: no_strikes_in_russia, kharkiv_counterfire, deep_strike"
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
