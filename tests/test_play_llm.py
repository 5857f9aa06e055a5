"""The LLM adapter: provider-agnostic, tested with a mock and with a local command (no network)."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.play import Game, LLMPlayer, MockClient, check_move
from escalation_sim.play.llm import parse_answer
from escalation_sim.scenario import load_scenario

MAY30 = "scenarios/may30_kharkiv_counterfire.yaml"


def test_parse_answer():
    move = parse_answer(
        "RUS", 'Sure.\n{"choice": "arm_third_parties", "note": "answer the strikes"}\n'
    )
    assert (move.actor, move.choice, move.rules, move.note) == (
        "RUS",
        "arm_third_parties",
        None,
        "answer the strikes",
    )
    with pytest.raises(ValueError, match="no JSON object"):
        parse_answer("RUS", "I would climb.")
    with pytest.raises(ValueError, match="unknown field"):
        parse_answer("RUS", '{"choise": "climb"}')
    with pytest.raises(ValueError, match="'rules' must be an object"):
        parse_answer("USA", '{"rules": "deep_strike"}')


def test_llm_player_is_told_why_and_asked_again():
    sc = load_scenario(MAY30, ["horizon_days=21"])
    client = MockClient(
        [
            "I think Russia should escalate.",  # no JSON
            '{"choice": "fly"}',  # not a choice
            '{"choice": "arm_third_parties", "note": "the strikes must be answered"}',
            '{"choice": "hold", "note": "wait"}',
        ]
    )
    games: list[Game] = []

    def record(turn, actor, prompt, answer, outcome):
        games[0].record.add(
            "llm", turn=turn, actor=actor, prompt=prompt, answer=answer, outcome=outcome
        )

    player = LLMPlayer(client, lambda m: check_move(games[0].model, m), record)
    games.append(Game(sc, 5, {"RUS": player}))
    games[0].play()
    llm = games[0].record.of_type("llm")
    assert [(x["turn"], x["outcome"].split(":")[0]) for x in llm] == [
        (1, "refused"),
        (1, "refused"),
        (1, "accepted"),
        (2, "accepted"),
        (3, "accepted"),
    ]
    assert "no JSON object" in llm[0]["outcome"]
    assert "'fly' is not available to RUS now" in llm[1]["outcome"]
    # The refusal is fed back; the prompt is the player's briefing and the answer format.
    assert "Your previous answer was refused: choice: 'fly' is not available" in client.prompts[2]
    assert "you play RUS" in client.prompts[0] and '"choice"' in client.prompts[0]
    moves = games[0].record.of_type("move")
    assert [m["move"]["choice"] for m in moves] == ["arm_third_parties", "hold", "hold"]
    assert games[0].model.timeseries()["rung.RUS"].iloc[-1] == sc.actors["RUS"].start_rung + 1


def test_llm_player_holds_when_every_answer_is_refused():
    sc = load_scenario(MAY30, ["horizon_days=7"])
    client = MockClient(["nonsense"])
    games: list[Game] = []
    player = LLMPlayer(client, lambda m: check_move(games[0].model, m), lambda *a: None, retries=1)
    games.append(Game(sc, 5, {"RUS": player}))
    games[0].play()
    assert len(client.prompts) == 2
    (move,) = games[0].record.of_type("move")
    assert move["move"]["choice"] is None and "no acceptable answer" in move["move"]["note"]


def test_llm_seat_from_the_command_line_records_prompts_and_replays_without_it(tmp_path):
    # Any command that reads the prompt on stdin and prints an answer is a provider.
    fake = tmp_path / "fake_llm.py"
    fake.write_text(
        "import sys, json\n"
        "prompt = sys.stdin.read()\n"
        "choice = 'arm_third_parties' if 'Turn 2 ' in prompt else 'hold'\n"
        "print(json.dumps({'choice': choice, 'note': 'canned'}))\n"
    )
    out = tmp_path / "g"
    command = f"{sys.executable} {fake}"
    r = CliRunner().invoke(
        main,
        [
            "play",
            MAY30,
            "--as",
            "RUS:llm",
            "--llm-command",
            command,
            "--days",
            "21",
            "--out",
            str(out),
            "--no-plot",
        ],
    )
    assert r.exit_code == 0, r.output
    game = [json.loads(x) for x in (out / "game.jsonl").read_text().splitlines()]
    llm = [g for g in game if g["type"] == "llm"]
    assert len(llm) == 3 and all(x["outcome"] == "accepted" for x in llm)
    assert "you play RUS" in llm[0]["prompt"]
    assert json.loads(llm[1]["answer"]) == {"choice": "arm_third_parties", "note": "canned"}
    assert game[0]["seats"] == {"RUS": "llm"}
    # The replay needs no LLM: the moves are in the record.
    r = CliRunner().invoke(
        main, ["replay", str(out / "game.jsonl"), "--out", str(tmp_path / "r"), "--no-plot"]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r" / "events.jsonl").read_bytes() == (out / "events.jsonl").read_bytes()


def test_a_failing_provider_means_a_hold(tmp_path):
    out = tmp_path / "g"
    r = CliRunner().invoke(
        main,
        [
            "play",
            MAY30,
            "--as",
            "RUS:llm",
            "--llm-command",
            f"{sys.executable} -c 'import sys; sys.exit(3)'",
            "--days",
            "7",
            "--out",
            str(out),
            "--no-plot",
        ],
    )
    assert r.exit_code == 0, r.output
    game = [json.loads(x) for x in (out / "game.jsonl").read_text().splitlines()]
    (llm,) = [g for g in game if g["type"] == "llm"]
    assert llm["outcome"].startswith("provider failed: LLM command")
