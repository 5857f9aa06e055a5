"""The ``play`` and ``replay`` commands: a wargame at the terminal or from a move file."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from escalation_sim.cli import EXIT_INPUT, EXIT_INTERRUPTED, reports_input_errors, set_option
from escalation_sim.cli.options import result_dir_options
from escalation_sim.cli.seeds import seed_option

SEAT_KINDS = ("human", "script", "llm")


def _parse_seats(
    seats: tuple[str, ...], moves: Path | None, llm_command: str | None
) -> dict[str, str]:
    """``ACTOR`` or ``ACTOR:KIND`` -> {actor: kind}; the default kind is script with --moves."""
    out: dict[str, str] = {}
    for seat in seats:
        actor, _, kind = seat.partition(":")
        kind = kind or ("script" if moves is not None else "human")
        if kind not in SEAT_KINDS:
            raise click.BadParameter(
                f"{seat!r}: player kind {kind!r}; expected one of: {', '.join(SEAT_KINDS)}",
                param_hint="--as",
            )
        if actor in out:
            raise click.BadParameter(f"{actor} is seated twice", param_hint="--as")
        out[actor] = kind
    if "script" in out.values() and moves is None:
        raise click.BadParameter("a 'script' seat needs --moves FILE", param_hint="--as")
    if "llm" in out.values() and not llm_command:
        raise click.BadParameter(
            "an 'llm' seat needs --llm-command 'CMD' (a command that reads the prompt on "
            "stdin and prints the answer)",
            param_hint="--as",
        )
    return out


def _ask(prompt: str) -> str | None:
    click.echo(prompt, nl=False)
    line = sys.stdin.readline()
    if line == "":
        click.echo("")
        return None
    return line.rstrip("\n")


def _replay_dir(record: Path) -> Path:
    """Where ``replay`` writes by default: ``results/<game>-replay``.

    ``<game>`` is the folder holding the record (``results/game/game.jsonl``
    gives ``results/game-replay``), or the record's own stem when it is not a
    ``game.jsonl`` in a folder.
    """
    from escalation_sim.play.record import GAME_JSONL

    folder = record.absolute().parent.name
    game = folder if record.name == GAME_JSONL and folder else record.stem
    return Path("results") / f"{game}-replay"


@click.command("play")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--as",
    "seats",
    multiple=True,
    required=True,
    metavar="ACTOR[:KIND]",
    help="Seat an actor (repeatable); KIND is human, script (from --moves) or llm "
    "[default: script with --moves, else human].",
)
@click.option(
    "--moves",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Move file (YAML).",
)
@click.option(
    "--turn-days",
    type=float,
    default=7,
    show_default=True,
    help="Days per turn (a multiple of the scenario's step).",
)
@seed_option("Seed of the model.")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Override the horizon (days)."
)
@set_option
@click.option(
    "--llm-command",
    default=None,
    metavar="CMD",
    help="For llm seats: a command that reads the prompt on stdin and prints a JSON move.",
)
@result_dir_options("game", "results/<scenario>-game-seed<N>")
@reports_input_errors
def play(
    scenario: Path,
    seats: tuple[str, ...],
    moves: Path | None,
    turn_days: float,
    seed: int,
    days: int | None,
    overrides: tuple[str, ...],
    llm_command: str | None,
    out: Path | None,
    force: bool,
    no_plot: bool,
) -> None:
    """Play SCENARIO as a wargame: seated actors move each turn, the model plays the rest.

    Each turn a seated actor sees its briefing (what it perceives, what it may
    choose) and moves: a person types commands, a move file supplies dated and
    conditional moves, an LLM answers in JSON. Writes the usual run outputs plus
    game.jsonl (replay it with `escalation-sim replay`) and transcript.txt.
    """
    from escalation_sim.cli.options import check_result_dir, output_errors
    from escalation_sim.errors import Problem, ScenarioError
    from escalation_sim.model import kernels
    from escalation_sim.play import (
        CommandClient,
        Game,
        HumanPlayer,
        InvalidMove,
        LLMPlayer,
        ScriptedPlayer,
        check_move,
        load_moves,
        write_game,
    )
    from escalation_sim.scenario.loader import resolve_scenario

    kinds = _parse_seats(seats, moves, llm_command)
    sc = resolve_scenario(scenario, days=days, overrides=overrides)
    unknown = [a for a in kinds if a not in sc.actors]
    if unknown:
        raise ScenarioError(
            [
                Problem(
                    "--as",
                    None,
                    "",
                    f"unknown actor {a!r}; expected one of: {', '.join(sc.actors)}",
                )
                for a in unknown
            ]
        )
    out = out or Path("results") / f"{scenario.stem}-game-seed{seed}"
    inputs = [p for p in (scenario, moves) if p is not None and p.exists()]
    check_result_dir(out, force=force, inputs=inputs)  # before the game, not after it
    script = None
    if moves is not None:
        scripted = [a for a, k in kinds.items() if k == "script"]
        script = load_moves(moves, actors=list(sc.actors), seated=scripted)
    kernels.compile_if_cold()  # before the first briefing, not inside a turn

    players: dict = {}
    game_ref: list[Game] = []

    def check(move):  # the LLM is told why a move would be refused
        check_move(game_ref[0].model, move)

    def record_llm(turn: int, actor: str, prompt: str, answer: str, outcome: str) -> None:
        game_ref[0].record.add(
            "llm", turn=turn, actor=actor, prompt=prompt, answer=answer, outcome=outcome
        )

    for actor, kind in kinds.items():
        if kind == "script":
            players[actor] = ScriptedPlayer(script)
        elif kind == "human":
            # Each typed line is checked as it is entered, against the game in progress.
            players[actor] = HumanPlayer(_ask, click.echo, lambda move: game_ref[0].check(move))
        else:
            client = CommandClient(shlex.split(llm_command or ""))
            players[actor] = LLMPlayer(client, check, record_llm)
    game = Game(sc, seed, players, turn_days)
    game_ref.append(game)
    click.echo(
        f"{sc.name}: seed {seed}, {sc.horizon_days} days in turns of {turn_days:g} days; "
        + ", ".join(f"{a} played by {k}" for a, k in kinds.items())
        + "; the model plays the others."
    )
    try:
        result = game.play()
    except InvalidMove as exc:
        for line in exc.lines():
            click.echo(f"error: {line}", err=True)
        click.echo("nothing was written", err=True)
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted on turn {game.turn}: the game was not saved (nothing was "
            "written); to stop early and keep the game, end the input (Ctrl-D) at a "
            "prompt: every turn left is then a hold",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    with output_errors():
        write_game(game, result, out, force=force, plot=not no_plot, inputs=inputs)
    click.echo("")
    click.echo(result.describe())
    click.echo(f"\nwrote {out}/ (game record: {out / 'game.jsonl'})")


@click.command("replay")
@click.argument("record", type=click.Path(path_type=Path))
@result_dir_options("replay", "results/<game>-replay, <game> the folder of RECORD")
@reports_input_errors
def replay(record: Path, out: Path | None, force: bool, no_plot: bool) -> None:
    """Replay a game from its RECORD (game.jsonl); check the outputs are byte-identical."""
    from escalation_sim.cli.options import check_result_dir, output_errors
    from escalation_sim.model import kernels
    from escalation_sim.play import InvalidMove, check_replay, replay_game, write_game

    out = out or _replay_dir(record)
    # The record is an input: a replay written over its game would lose the game.
    inputs = [record] if record.exists() else []
    check_result_dir(out, force=force, inputs=inputs)
    kernels.compile_if_cold()
    try:
        rep, result = replay_game(record)
    except InvalidMove as exc:
        for line in exc.lines():
            click.echo(f"error: {record}: recorded move refused: {line}", err=True)
        sys.exit(EXIT_INPUT)
    with output_errors():
        write_game(rep, result, out, force=force, plot=not no_plot, inputs=inputs)
    if not rep.expected:
        click.echo(f"wrote {out}/ (the record has no digests to compare with)")
        return
    wrong = check_replay(rep, out)
    if wrong:
        click.echo(
            f"error: the replay differs from the recorded game in: {', '.join(wrong)} "
            "(a different version of the model or its dependencies?)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"wrote {out}/: timeseries.csv and events.jsonl are byte-identical to the game's")
