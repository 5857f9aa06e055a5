"""A game: turns of several days, seated players, a record that replays it.

A turn covers ``turn_days`` days (default 7). At the start of each turn every
seated actor is shown its briefing (what it perceives, what it may choose) and
makes a move; moves are simultaneous (all judged on the same state, each
checked whole, then applied in the scenario's actor order), then the model runs the turn's steps with the other actors played by
the model's decision layer. Everything lands in the game record, which
:func:`replay_game` plays back to the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from escalation_sim import results
from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.model.control import MoveError, seat
from escalation_sim.model.model import EscalationModel
from escalation_sim.play.briefing import TurnView, briefing
from escalation_sim.play.moves import InvalidMove, Move, apply_move, check_move
from escalation_sim.play.players import Player
from escalation_sim.play.record import (
    GAME_JSONL,
    TRANSCRIPT_TXT,
    GameRecord,
    file_digest,
    read_record,
)
from escalation_sim.scenario.schema import Scenario

#: Default length of a turn in days (a week: the rhythm of a seminar game).
DEFAULT_TURN_DAYS = 7
#: Times a person may retry a refused move before the turn goes on with a hold.
HUMAN_RETRIES = 5


def steps_per_turn(scenario: Scenario, turn_days: float) -> int:
    """Model steps in one turn.

    Raises:
        ScenarioError: ``turn_days`` is not a positive multiple of the step.
    """
    steps = turn_days / scenario.step_days
    # nan and inf are refused first: round() cannot take them.
    if (
        not math.isfinite(steps)
        or turn_days <= 0
        or abs(steps - round(steps)) > 1e-9
        or round(steps) < 1
    ):
        raise ScenarioError(
            [
                Problem(
                    "--turn-days",
                    None,
                    "",
                    f"{turn_days:g} is not a positive multiple of the scenario's step "
                    f"({scenario.step_days:g} days)",
                )
            ]
        )
    return round(steps)


def turn_view(
    model: EscalationModel, actor: str, turn: int, turn_days: float, error: str = ""
) -> TurnView:
    """What ``actor``'s player is shown at the start of a turn of ``turn_days`` days."""
    k = round(model.time)
    day = k * model.step_days
    steps = round(turn_days / model.step_days)
    return TurnView(
        turn=turn,
        actor=actor,
        day=day,
        date=(model.spec.start_date + dt.timedelta(days=day)).isoformat(),
        days=min(steps, model.n_steps - k) * model.step_days,
        observation=model.observation(actor, window_days=turn_days),
        choices=model.choices(actor),
        supplier=model.actor[actor].is_supplier,
        last_error=error,
    )


@dataclass
class Game:
    """A game in progress.

    Args:
        scenario: The scenario played.
        seed: Seed of the model.
        players: Seated actors and who plays each.
        turn_days: Days per turn.
    """

    scenario: Scenario
    seed: int
    players: Mapping[str, Player]
    turn_days: float = DEFAULT_TURN_DAYS
    turn: int = 1
    record: GameRecord = field(init=False)
    transcript: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.steps = steps_per_turn(self.scenario, self.turn_days)
        self.model = EscalationModel(self.scenario, seed=self.seed, seated=list(self.players))
        self.record = GameRecord.start(
            self.scenario,
            self.seed,
            self.turn_days,
            {a: p.kind for a, p in self.players.items()},
        )
        # Seats in the scenario's actor order, whatever order they were given in.
        self.order = [a for a in self.model.actor_ids if a in self.players]

    @property
    def over(self) -> bool:
        """True when the horizon is reached."""
        return round(self.model.time) >= self.model.n_steps

    def view(self, actor: str, error: str = "") -> TurnView:
        """What ``actor``'s player is shown now."""
        return turn_view(self.model, actor, self.turn, self.turn_days, error)

    def check(self, move: Move) -> None:
        """Check a move being typed against the game now; a refusal goes into the record.

        For a person's :class:`~escalation_sim.play.players.HumanPlayer`, which
        checks each line as it is typed (the state it is judged on is the turn's:
        no move is applied before every seat has moved).

        Raises:
            MoveError: With every problem of the move; nothing was applied.
        """
        try:
            check_move(self.model, move)
        except MoveError as exc:
            self._refused(move, InvalidMove(self.turn, move.actor, exc.problems))
            raise

    def _refused(self, move: Move, refused: InvalidMove) -> None:
        self.record.add(
            "refused",
            turn=self.turn,
            actor=move.actor,
            move=move.as_record(),
            reason="; ".join(refused.lines()),
        )

    def _move_of(self, actor: str, player: Player, view: TurnView) -> Move:
        """Ask ``player`` for a move until it is valid (a person may retry; others may not)."""
        for _ in range(HUMAN_RETRIES + 1):
            self.transcript += [briefing(view), ""]
            move = player.move(view)
            try:
                check_move(self.model, move)
                return move
            except MoveError as exc:
                source = ", ".join(getattr(player, "last_sources", []))
                refused = InvalidMove(self.turn, actor, exc.problems, source)
                if player.kind != "human":
                    raise refused from None
                self._refused(move, refused)
                # One problem a line, field first: the person sees each under the other.
                error = "\n".join(f"{f}: {m}" if f else m for f, m in exc.problems)
                view = dataclasses.replace(view, last_error=error)
        return Move(actor, None, None, "no valid move: holds")

    def play_turn(self) -> None:
        """Every seated player moves, then the turn's days are simulated.

        Moves are simultaneous: every seat is briefed on the same state and
        every move is checked against it before any is applied (in actor order).
        """
        m = self.model
        k = round(m.time)
        views = {actor: self.view(actor) for actor in self.order}
        moves = [(a, self._move_of(a, self.players[a], views[a])) for a in self.order]
        for actor, move in moves:
            apply_move(m, move)
            self.record.add(
                "move",
                turn=self.turn,
                step=k,
                day=k * m.step_days,
                actor=actor,
                player=self.players[actor].kind,
                move=move.as_record(),
            )
            self.transcript += [
                f"-> {actor} ({self.players[actor].kind}) moves: {_describe(move)}",
                "",
            ]
        m.run_for(min(self.steps, m.n_steps - k))
        self.turn += 1

    def play(self) -> results.RunResult:
        """Play every remaining turn; return the run's outputs."""
        while not self.over:
            self.play_turn()
        return self.result()

    def result(self) -> results.RunResult:
        """The run's outputs so far, with the game's seats in the metadata."""
        return results.result_from_model(
            self.model,
            game={"seats": self.record.header["seats"], "turn_days": self.turn_days},
        )


def _describe(move: Move) -> str:
    parts = [move.choice or "hold"]
    if move.rules:
        parts.append("rules " + ", ".join(f"{k}={v}" for k, v in move.rules.items()))
    if move.note:
        parts.append(f"({move.note})")
    return " ".join(parts)


def write_game(
    game: Game | Replay,
    result: results.RunResult,
    out: Path,
    *,
    force: bool = False,
    plot: bool = True,
    inputs: Sequence[Path] = (),
) -> Path:
    """Write the run's outputs, the game record and the transcript to ``out`` atomically.

    ``out`` may hold none of ``inputs`` (the files the game was read from), even with ``force``.
    """

    def extra(tmp: Path) -> None:
        record = GameRecord(list(game.record.lines))  # a game may be saved again later
        record.close(round(game.model.time), tmp)
        record.write(tmp / GAME_JSONL)
        (tmp / TRANSCRIPT_TXT).write_text("\n".join(game.transcript) + "\n", encoding="utf-8")
        if plot:
            from escalation_sim import plots

            fig = plots.escalation_curve(result)
            fig.savefig(tmp / results.CURVE_PNG, dpi=150, bbox_inches="tight")
            plots.close(fig)

    path = results.write_run(result, out, force=force, extra=extra, inputs=inputs)
    gc.collect(0)
    return path


@dataclass
class Replay:
    """A game played back from its record, and the digests the record expects.

    Attributes:
        model: The replayed model, at the end of the recorded game.
        record: The replay's own record (same header and moves, player ``replay``).
        expected: ``timeseries_sha256`` / ``events_sha256`` of the recorded game.
        transcript: Lines of the replay's transcript (the moves, step by step).
    """

    model: EscalationModel
    record: GameRecord
    expected: Mapping[str, str]
    transcript: list[str] = field(default_factory=list)


def replay_game(path: str | Path) -> tuple[Replay, results.RunResult]:
    """Play a game back from its record: same scenario, seed and seats, each move at its step.

    Moves (and, from the browser app, seat changes and rule edits) are applied before the step
    after the one they were recorded at, in the recorded order, exactly as in
    the game; the model then steps to the recorded end.

    Raises:
        ScenarioError: The record cannot be read.
        InvalidMove: A recorded move no longer applies (the model changed since).
    """
    record, scenario = read_record(path)
    header = record.header
    model = EscalationModel(scenario, seed=header["seed"], seated=list(header["seats"]))
    mine = GameRecord([{**header, "replay_of": str(path)}])
    replay = Replay(model, mine, {})
    actions: dict[int, list[dict]] = {}
    for line in record.lines[1:]:
        if line["type"] in ("move", "seat", "rules"):
            actions.setdefault(int(line["step"]), []).append(line)
        elif line["type"] == "llm":
            mine.lines.append(line)
    end = (record.of_type("end") or [{}])[-1]
    last = int(end.get("steps", model.n_steps))
    for k in range(last + 1):
        for line in actions.get(k, []):
            if line["type"] == "seat":
                seat(model, line["actor"], line["seated"])
            elif line["type"] == "rules":
                model.change_rules(line["actor"], line["change"], cause=line["cause"])
            else:
                move = Move.from_record(line["move"])
                try:
                    apply_move(model, move)
                except MoveError as exc:
                    raise InvalidMove(line.get("turn", 0), move.actor, exc.problems) from None
                replay.transcript.append(f"step {k}: {move.actor} moves: {_describe(move)}")
            mine.lines.append({**line, "player": line.get("player", "replay")})
        if k < last:
            model.step()
    replay.expected = {k: end[k] for k in ("timeseries_sha256", "events_sha256") if k in end}
    return replay, results.result_from_model(model, game={"replay_of": str(path)})


def check_replay(replay: Replay, out: Path) -> list[str]:
    """Compare a written replay's files with the record's digests; the mismatches (empty: identical)."""
    wrong = []
    for key, name in (("timeseries_sha256", "timeseries.csv"), ("events_sha256", "events.jsonl")):
        if key in replay.expected and file_digest(out / name) != replay.expected[key]:
            wrong.append(name)
    return wrong
