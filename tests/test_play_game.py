"""Games from move files: the play and replay commands, the game record, invalid moves."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.play import Game, ScriptedPlayer, load_moves, replay_game
from escalation_sim.scenario import load_scenario

MAY30 = "scenarios/may30_kharkiv_counterfire.yaml"

MOVES = """\
description: the US widens after two weeks and steps back if Russia climbs to rung 4
moves:
  - {actor: USA, turn: 3, rules: {posture: deep_strike}, note: widen after two weeks of harm}
  - actor: USA
    when: {actor: RUS, rung_at_least: 4}
    rules: {posture: kharkiv_counterfire}
    note: step back if Russia escalates
  - {actor: USA, day: 120, rules: {posture: kharkiv_counterfire}, note: back to the May-30 rules}
  - {actor: RUS, turn: 4, choice: arm_third_parties, note: answer the deep strikes}
"""


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def full_game(tmp_path_factory) -> Path:
    """A full 180-day game of the May-30 scenario, USA and RUS from a move file."""
    d = tmp_path_factory.mktemp("game")
    (d / "moves.yaml").write_text(MOVES)
    r = invoke(
        "play", MAY30, "--as", "USA", "--as", "RUS", "--moves", str(d / "moves.yaml"),
        "--seed", "4", "--out", str(d / "out"), "--no-plot",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return d / "out"


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_full_game_from_a_move_file(full_game):
    for name in (
        "timeseries.csv",
        "events.jsonl",
        "summary.json",
        "metadata.json",
        "game.jsonl",
        "transcript.txt",
    ):
        assert (full_game / name).is_file(), name
    game = records(full_game / "game.jsonl")
    header, end = game[0], game[-1]
    assert header["type"] == "game" and header["seed"] == 4 and header["turn_days"] == 7
    assert header["seats"] == {"USA": "script", "RUS": "script"}
    assert len(header["scenario_hash"]) == 64
    assert end["type"] == "end" and end["steps"] == 180
    moves = [g for g in game if g["type"] == "move"]
    # 26 turns (180 days / 7, the last one shorter), two seats each, in actor order.
    assert len(moves) == 2 * 26
    assert [m["actor"] for m in moves[:2]] == ["RUS", "USA"]
    widen = next(m for m in moves if m["actor"] == "USA" and m["move"]["rules"])
    assert widen["turn"] == 3 and widen["step"] == 14
    assert widen["move"]["rules"] == {"posture": "deep_strike"}
    climb = next(m for m in moves if m["move"]["choice"] == "arm_third_parties")
    assert climb["actor"] == "RUS" and climb["turn"] == 4
    # The moves shaped the run: posture and rung change at the step after the move.
    ts = pd.read_csv(full_game / "timeseries.csv")
    assert ts.loc[14, "posture.USA"] == "kharkiv_counterfire"
    assert ts.loc[15, "posture.USA"] == "deep_strike"
    assert ts.loc[22, "rung.RUS"] == ts.loc[21, "rung.RUS"] + 1
    # Seated Russia acted only when its player did (holds are not acts).
    events = records(full_game / "events.jsonl")
    rus = [e for e in events if e["kind"] == "decision" and e["actor"] == "RUS"]
    assert {e["by"] for e in rus} == {"player"}  # holds are logged too
    assert [(e["step"], e["option"], e["cause"]) for e in rus if e["option"] != "hold"] == [
        (22, "arm_third_parties", "answer the deep strikes")
    ]


def test_replay_is_byte_identical(full_game, tmp_path):
    r = invoke(
        "replay", str(full_game / "game.jsonl"), "--out", str(tmp_path / "replay"), "--no-plot"
    )
    assert r.exit_code == 0, r.output
    assert "byte-identical" in r.output
    for name in ("timeseries.csv", "events.jsonl"):
        assert (tmp_path / "replay" / name).read_bytes() == (full_game / name).read_bytes(), name


def test_replay_detects_a_different_outcome(full_game, tmp_path):
    # Tamper with the record's digest: the replay must say it differs, with exit 1.
    lines = records(full_game / "game.jsonl")
    lines[-1]["events_sha256"] = "0" * 64
    bad = tmp_path / "game.jsonl"
    bad.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = CliRunner().invoke(main, ["replay", str(bad), "--out", str(tmp_path / "r"), "--no-plot"])
    assert r.exit_code == 1
    assert "differs from the recorded game in: events.jsonl" in r.output


def test_replay_refuses_a_record_whose_scenario_was_edited(full_game, tmp_path):
    lines = records(full_game / "game.jsonl")
    lines[0]["resolved_scenario"]["horizon_days"] = 90
    bad = tmp_path / "game.jsonl"
    bad.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = CliRunner().invoke(main, ["replay", str(bad), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2
    assert "scenario_hash: the recorded scenario does not match its hash" in r.output
    assert not (tmp_path / "r").exists()


def _play_usa_moves(tmp_path: Path, moves_text: str, days: int):
    """``play`` with the US from a move file of ``moves_text``: (move file, --out, result)."""
    moves, out = tmp_path / "moves.yaml", tmp_path / "out"
    moves.write_text(moves_text)
    args = ["play", MAY30, "--as", "USA", "--moves", str(moves), "--days", str(days)]
    return moves, out, CliRunner().invoke(main, [*args, "--out", str(out)])


def test_an_invalid_move_names_the_turn_and_field_and_writes_nothing(tmp_path):
    moves, out, r = _play_usa_moves(
        tmp_path,
        "moves:\n"
        "  - {actor: USA, turn: 2, rules: {posture: deep_strike}}\n"
        "  - {actor: USA, turn: 3, rules: {remove_rules: [us-kharkiv-counterfire]}}\n",
        30,
    )
    assert r.exit_code == 2
    assert (
        f"error: {moves}:3: turn 3, USA: rules.remove_rules.0: rule 'us-kharkiv-counterfire' "
        "is not in force for USA; in force: us-deep-military"
    ) in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_an_invalid_move_reports_every_problem_in_one_refusal(tmp_path):
    moves, out, r = _play_usa_moves(
        tmp_path,
        "moves:\n"
        "  - {actor: USA, turn: 2, choice: fly, rules: {posture: deep_strik, add_rules: [us-nothing]}}\n",
        21,
    )
    assert r.exit_code == 2
    errors = [line for line in r.output.splitlines() if line.startswith("error: ")]
    where = f"error: {moves}:2: turn 2, USA: "
    assert [e.removeprefix(where).split(":")[0] for e in errors] == [
        "rules.posture",
        "rules.add_rules.0",
        "choice",
    ], r.output
    assert "unknown posture 'deep_strik'; expected one of: " in errors[0]
    assert "rule 'us-nothing' is not in USA's catalogue" in errors[1]
    assert "Traceback" not in r.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "moves:\n  - {actor: USA, turn: 2}\n",
            ":2: moves.0: a move needs 'choice' and/or 'rules'",
        ),
        (
            "moves:\n  - {actor: USA, turn: 2, day: 3, choice: hold}\n",
            "exactly one of 'turn', 'day' or 'when'",
        ),
        (
            "moves:\n  - actor: USA\n    turn: 2\n    chioce: climb\n",
            ":4: moves.0.chioce: unknown field 'chioce'",
        ),
        (
            "moves:\n  - {actor: GBR, turn: 2, choice: climb}\n",
            ":2: moves.0.actor: GBR is not seated; add --as GBR",
        ),
        ("moves:\n  - {actor: ZZZ, turn: 2, choice: climb}\n", "unknown actor 'ZZZ'"),
        (
            "moves:\n  - {actor: USA, when: {harm_abov: 3}, choice: climb}\n",
            "moves.0.when.harm_abov: unknown field",
        ),
        ("moves: [\n", "not valid YAML"),
    ],
)
def test_move_file_errors_name_file_line_and_field(tmp_path, text, expected):
    moves = tmp_path / "moves.yaml"
    moves.write_text(text)
    r = CliRunner().invoke(
        main, ["play", MAY30, "--as", "USA", "--moves", str(moves), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2, r.output
    assert expected in r.output
    assert str(moves) in r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--as", "XYZ", "--moves", "m.yaml"], "unknown actor 'XYZ'"),
        (["--as", "USA:robot"], "player kind 'robot'"),
        (["--as", "USA:llm"], "needs --llm-command"),
        (["--as", "USA:script"], "needs --moves FILE"),
        (["--as", "USA", "--turn-days", "2.5"], "2.5 is not a positive multiple"),
        (["--as", "USA", "--turn-days", "nan"], "nan is not a positive multiple"),
        (["--as", "USA", "--turn-days", "inf"], "inf is not a positive multiple"),
        (["--as", "USA", "--seed", "-1"], "Invalid value for '--seed'"),
        (["--as", "USA", "--seed", str(2**63)], "Invalid value for '--seed'"),
    ],
)
def test_seat_errors(tmp_path, monkeypatch, args, expected):
    scenario = str(Path(MAY30).resolve())
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text("moves: []\n")
    r = CliRunner().invoke(main, ["play", scenario, *args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert expected in r.output
    assert not (tmp_path / "o").exists()


def test_conditional_moves_fire_on_what_the_actor_sees(tmp_path):
    # A US player that narrows when it sees harm to the city above a level.
    moves = tmp_path / "m.yaml"
    moves.write_text(
        "moves:\n  - {actor: USA, when: {harm_above: 1}, rules: {posture: deep_strike}, note: harm}\n"
    )
    sc = load_scenario(MAY30, ["horizon_days=35"])
    game = Game(
        sc, 2, {"USA": ScriptedPlayer(load_moves(moves, actors=list(sc.actors), seated=["USA"]))}
    )
    game.play()
    moves_ = [line for line in game.record.of_type("move") if line["move"]["rules"]]
    # Turn 1 starts with no harm seen; the first week's harm triggers it at turn 2, once.
    assert [m["turn"] for m in moves_] == [2]


def test_a_conditional_choice_waits_until_it_is_open(tmp_path):
    # Russia warns whenever the city is hit, as often as its options allow (a warning
    # has a cooldown): the game goes on, the warning made only on turns it is open.
    moves = tmp_path / "m.yaml"
    moves.write_text(
        "moves:\n  - {actor: RUS, when: {harm_above: 0}, choice: warning_statement, once: false}\n"
    )
    sc = load_scenario(MAY30, ["horizon_days=70"])
    player = ScriptedPlayer(load_moves(moves, actors=list(sc.actors), seated=["RUS"]))
    game = Game(sc, 1, {"RUS": player})
    game.play()
    made = [m["turn"] for m in game.record.of_type("move") if m["move"]["choice"]]
    assert made and 1 not in made  # nothing seen at turn 1
    events = [e for e in game.model.events.records() if e["kind"] == "decision"]
    acts = [e["option"] for e in events if e["actor"] == "RUS" and e["option"] != "hold"]
    assert acts == ["warning_statement"] * len(made)


def test_a_dated_choice_that_is_not_open_is_an_error(tmp_path):
    moves = tmp_path / "m.yaml"
    moves.write_text("moves:\n  - {actor: RUS, turn: 2, choice: nuclear_strike}\n")
    r = CliRunner().invoke(
        main,
        [
            "play",
            MAY30,
            "--as",
            "RUS",
            "--moves",
            str(moves),
            "--days",
            "21",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 2
    assert (
        f"error: {moves}:2: turn 2, RUS: choice: 'nuclear_strike' is not available to RUS now; expected one of: hold, "
        in r.output
    )
    assert not (tmp_path / "o").exists()


def test_replay_game_api_reproduces_the_game(full_game):
    _, result = replay_game(full_game / "game.jsonl")
    ts = result.timeseries
    recorded = pd.read_csv(full_game / "timeseries.csv")
    assert ts["rung.RUS"].tolist() == recorded["rung.RUS"].tolist()
    assert ts["posture.USA"].tolist() == recorded["posture.USA"].tolist()


def test_ctrl_c_mid_game_says_the_game_is_not_saved(tmp_path, monkeypatch):
    """Ctrl-C at a player's prompt stops the game with status 130 and says what was kept."""
    import importlib

    cli_play = importlib.import_module(
        "escalation_sim.cli.play"
    )  # the package's `play` is the command

    def interrupted(prompt: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_play, "_ask", interrupted)
    out = tmp_path / "game"
    r = CliRunner().invoke(
        main, ["play", MAY30, "--as", "USA", "--days", "14", "--out", str(out), "--no-plot"]
    )
    assert r.exit_code == 130, r.output
    assert "interrupted on turn 1" in r.output
    assert "the game was not saved" in r.output
    assert "Aborted!" not in r.output
    assert not out.exists()


def test_ctrl_c_in_any_command_exits_130_without_click_abort(tmp_path, monkeypatch):
    """Outside the experiments (which keep their runs), Ctrl-C exits 130 with one line."""
    import escalation_sim.api as api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "run", interrupted)
    out = tmp_path / "r"
    r = CliRunner().invoke(main, ["run", MAY30, "--days", "3", "--out", str(out)])
    assert r.exit_code == 130, r.output
    assert r.output.strip().endswith("interrupted")
    assert "Aborted!" not in r.output
    assert not out.exists()


def _short_game(out: Path) -> None:
    """A two-week game with Russia seated and no one at the keyboard (every turn holds)."""
    r = invoke(
        "play", MAY30, "--as", "RUS", "--days", "14", "--out", str(out), "--no-plot", input=""
    )
    assert r.exit_code == 0, r.output


def test_replay_writes_beside_the_other_results_by_default_and_never_over_its_game(
    tmp_path, monkeypatch
):
    _short_game(tmp_path / "g")
    monkeypatch.chdir(tmp_path)  # the default is under results/ of the working folder
    record = tmp_path / "g" / "game.jsonl"
    kept = record.read_bytes()

    r = CliRunner().invoke(main, ["replay", str(record), "--no-plot"])
    assert r.exit_code == 0, r.output
    assert "wrote results/g-replay/: timeseries.csv and events.jsonl are byte-identical" in (
        r.output
    )
    assert (tmp_path / "results" / "g-replay" / "timeseries.csv").read_bytes() == (
        tmp_path / "g" / "timeseries.csv"
    ).read_bytes()
    # A second replay replaces it only when asked, as run and play do.
    again = CliRunner().invoke(main, ["replay", str(record), "--no-plot"])
    assert again.exit_code == 2
    assert "error: results/g-replay exists; choose another --out or pass --force" in again.output
    # Not even --force writes a replay over the game it replays.
    over = CliRunner().invoke(
        main, ["replay", str(record), "--out", str(tmp_path / "g"), "--force", "--no-plot"]
    )
    assert over.exit_code == 2
    assert "an input of this command" in over.output and "Traceback" not in over.output
    assert record.read_bytes() == kept


def test_play_refuses_before_the_game_an_out_it_may_not_replace(tmp_path):
    _short_game(tmp_path / "g")
    moves = tmp_path / "g" / "moves.yaml"  # a move file kept in an earlier game's folder
    moves.write_text("moves:\n  - {actor: RUS, turn: 1, choice: hold}\n")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a game")
    cases = [
        (["--as", "RUS", "--moves", str(moves), "--out", str(tmp_path / "g")], "input"),
        (["--as", "RUS", "--out", str(foreign)], "is not an output directory of escalation-sim"),
    ]
    for args, expected in cases:
        r = CliRunner().invoke(main, ["play", MAY30, "--days", "14", *args, "--force"], input="")
        assert r.exit_code == 2, r.output
        assert expected in r.output and "Traceback" not in r.output
        assert "you play RUS" not in r.output  # refused before a turn is played
    assert moves.exists() and (foreign / "notes.txt").exists()
