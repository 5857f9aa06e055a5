"""A player's move, how it is checked and applied, and the scripted move file.

A :class:`Move` is what one seated actor does at one turn: an escalation
choice (``hold`` or the id of a response option the decision layer opens to it now)
and/or a change of its rules (a supplier only: ``posture``, ``add_rules``,
``remove_rules``, as in a scenario's ``schedule`` entry). :func:`apply_move`
checks the whole move first and applies it only when every part is valid,
so an invalid move changes nothing.

A move file (YAML, read safely with line numbers like a scenario file) lists
dated moves (``turn:`` or ``day:``) and conditional moves (``when:``, judged
on what the actor perceives at the start of a turn)::

    moves:
      - {actor: USA, turn: 3, rules: {posture: deep_strike}, note: widen after week 2}
      - {actor: USA, day: 60, rules: {remove_rules: [us-deep-military]}}
      - actor: USA
        when: {actor: RUS, rung_at_least: 4}     # Russia visibly climbs to rung 4
        rules: {posture: kharkiv_counterfire}
        note: step back if Russia escalates
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.model.control import MoveError, validate_rule_change
from escalation_sim.scenario.source import Locations, read_yaml_file


@dataclass(frozen=True, slots=True)
class Move:
    """One seated actor's move at one turn.

    Attributes:
        actor: The actor who moves.
        choice: An escalation choice id from ``model.choices(actor)``; ``None``: hold.
        rules: A rule change (``posture``, ``add_rules``, ``remove_rules``), or ``None``.
        note: Why, in the player's words (logged as the cause).
    """

    actor: str
    choice: str | None = None
    rules: Mapping[str, Any] | None = None
    note: str = ""

    def as_record(self) -> dict[str, Any]:
        """The move as plain data for the game record."""
        return {
            "actor": self.actor,
            "choice": self.choice,
            "rules": dict(self.rules) if self.rules is not None else None,
            "note": self.note,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Move:
        """The move written by :meth:`as_record`."""
        return cls(data["actor"], data.get("choice"), data.get("rules"), data.get("note", ""))


class InvalidMove(ValueError):
    """A move that was refused, with where it came from (turn, actor, file line).

    Attributes:
        turn: The turn of the game (1-based).
        actor: The actor whose move it was.
        problems: ``(field, message)`` pairs, the field dotted within the move.
        source: Where the move was written (``file:line``), when known.
    """

    def __init__(
        self, turn: int, actor: str, problems: list[tuple[str, str]], source: str = ""
    ) -> None:
        self.turn, self.actor, self.problems, self.source = turn, actor, problems, source
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem: ``[source: ]turn N, ACTOR: field: message``."""
        where = f"{self.source}: " if self.source else ""
        return [
            f"{where}turn {self.turn}, {self.actor}: {f + ': ' if f else ''}{m}"
            for f, m in self.problems
        ]


def check_move(model: Any, move: Move) -> Any:
    """Check every part of ``move`` against the model now; return the validated rule change.

    Raises:
        MoveError: With each problem's field inside the move (``choice``,
            ``rules.posture``, ``rules.add_rules.0``, ...).
    """
    problems: list[tuple[str, str]] = []
    if move.actor not in model.seated:
        problems.append(
            (
                "actor",
                f"{move.actor} is not seated in this game (seated: "
                f"{', '.join(sorted(model.seated)) or 'none'})",
            )
        )
        raise MoveError(problems)
    change = None
    if move.rules is not None:
        try:
            change = validate_rule_change(model, move.actor, move.rules)
        except MoveError as exc:
            problems += [(f"rules.{f}" if f else "rules", m) for f, m in exc.problems]
    if move.choice is not None:
        ids = [c.id for c in model.choices(move.actor)]
        if move.choice not in ids:
            problems.append(
                (
                    "choice",
                    f"{move.choice!r} is not available to {move.actor} now; "
                    f"expected one of: {', '.join(ids)}",
                )
            )
    if problems:
        raise MoveError(problems)
    return change


def apply_move(model: Any, move: Move) -> None:
    """Check ``move`` whole, then apply it: rules first, then the escalation choice.

    Raises:
        MoveError: Nothing was applied.
    """
    check_move(model, move)
    cause = move.note or "player's move"
    if move.rules is not None:
        model.change_rules(move.actor, move.rules, cause=cause)
    model.choose(move.actor, move.choice or "hold", cause=cause)


# --------------------------------------------------------------------------- move files


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WhenSpec(_Spec):
    """When a conditional move fires, judged on the mover's own observation."""

    actor: str | None = Field(None, description="Whose rung is watched (with rung_*).")
    rung_at_least: Annotated[int, Field(ge=0)] | None = None
    rung_below: Annotated[int, Field(ge=0)] | None = None
    harm_above: Annotated[float, Field(ge=0)] | None = Field(
        None, description="Harm to the target city over the last turn above this."
    )
    strikes_inside_russia_above: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Strikes inside Russia over the last turn (Russia's view) above this."
    )
    from_turn: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _complete(self) -> WhenSpec:
        rung = self.rung_at_least is not None or self.rung_below is not None
        if rung and self.actor is None:
            raise ValueError("rung_at_least / rung_below need 'actor' (whose rung)")
        if not (
            rung or self.harm_above is not None or self.strikes_inside_russia_above is not None
        ):
            raise ValueError(
                "a condition needs rung_at_least, rung_below, harm_above or "
                "strikes_inside_russia_above"
            )
        return self

    def holds(self, observation: Mapping[str, Any], turn: int) -> bool:
        """Whether the condition holds on this observation at this turn."""
        if turn < self.from_turn:
            return False
        if self.actor is not None:
            seen = observation["rungs"].get(self.actor)
            if seen is None:
                return False
            if self.rung_at_least is not None and seen["rung"] < self.rung_at_least:
                return False
            if self.rung_below is not None and seen["rung"] >= self.rung_below:
                return False
        if self.harm_above is not None and observation["city"]["harm"] <= self.harm_above:
            return False
        if self.strikes_inside_russia_above is not None:
            seen_strikes = observation.get("strikes_inside_russia", {}).get("total")
            if seen_strikes is None or seen_strikes <= self.strikes_inside_russia_above:
                return False
        return True


class MoveSpec(_Spec):
    """One entry of a move file."""

    actor: str
    turn: Annotated[int, Field(ge=1)] | None = None
    day: Annotated[float, Field(ge=0)] | None = None
    when: WhenSpec | None = None
    once: bool = Field(True, description="A conditional move fires at most once.")
    choice: str | None = None
    rules: dict[str, Any] | None = None
    note: str = ""

    @model_validator(mode="after")
    def _timed(self) -> MoveSpec:
        if sum(x is not None for x in (self.turn, self.day, self.when)) != 1:
            raise ValueError("a move needs exactly one of 'turn', 'day' or 'when'")
        if self.choice is None and self.rules is None:
            raise ValueError("a move needs 'choice' and/or 'rules'")
        return self


class MovesFileSpec(_Spec):
    """A scripted player's move file."""

    description: str = ""
    moves: list[MoveSpec] = Field(default_factory=list)


@dataclass(slots=True)
class ScriptedMoves:
    """The moves of a move file, with the line each was written on."""

    label: str
    specs: list[MoveSpec]
    lines: list[int | None]
    fired: set[int] = field(default_factory=set)

    def actors(self) -> list[str]:
        """Actors the file moves, in first-mention order."""
        return list(dict.fromkeys(s.actor for s in self.specs))

    def source(self, index: int) -> str:
        """``file:line`` of move ``index``."""
        line = self.lines[index]
        return f"{self.label}:{line}" if line else self.label

    def due(
        self,
        actor: str,
        turn: int,
        start_day: float,
        end_day: float,
        observation: Mapping[str, Any],
        open_choices: Sequence[str] = (),
    ) -> list[tuple[int, MoveSpec]]:
        """Moves of ``actor`` due at the turn covering days ``[start_day, end_day)``.

        A conditional move waits while its choice is not open to the actor
        (an option's gate or cooldown); a dated move is due at its turn
        whatever, and is refused with a clear error if it cannot be made.
        """
        out = []
        for i, spec in enumerate(self.specs):
            if spec.actor != actor or (i in self.fired and spec.once):
                continue
            if spec.turn is not None:
                hit = spec.turn == turn
            elif spec.day is not None:
                hit = start_day <= spec.day < end_day
            else:
                assert spec.when is not None
                hit = spec.when.holds(observation, turn) and (
                    spec.choice is None or spec.choice in open_choices
                )
            if hit:
                out.append((i, spec))
        return out


def _problems(exc: ValidationError, locs: Locations, label: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        path = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        key: tuple[str | int, ...] = tuple(path)
        while key and key not in locs:
            key = key[:-1]
        line = locs.get(key, (label, None))[1]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {path[-1]!r}"
        out.append(Problem(label, line, ".".join(str(p) for p in path), msg))
    return out


def load_moves(path: str | Path, *, actors: Sequence[str], seated: Sequence[str]) -> ScriptedMoves:
    """Read and check a move file against the game's cast and seats.

    Raises:
        ScenarioError: File, line, field and expectation of every problem.
    """
    label = str(path)
    data, locs = read_yaml_file(path, label)
    if data is None:
        data = {}
    if isinstance(data, list):  # a bare list of moves
        data = {"moves": data}
        locs = {("moves", *k): v for k, v in locs.items()}
    try:
        spec = MovesFileSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, locs, label)) from None
    problems = []
    for i, move in enumerate(spec.moves):
        line = locs.get(("moves", i, "actor"), locs.get(("moves", i), (label, None)))[1]
        if move.actor not in actors:
            problems.append(
                Problem(
                    label,
                    line,
                    f"moves.{i}.actor",
                    f"unknown actor {move.actor!r}; expected one of: {', '.join(actors)}",
                )
            )
        elif move.actor not in seated:
            problems.append(
                Problem(
                    label,
                    line,
                    f"moves.{i}.actor",
                    f"{move.actor} is not seated; add --as {move.actor} to play it from this file",
                )
            )
    if problems:
        raise ScenarioError(problems)
    lines = [locs.get(("moves", i), (label, None))[1] for i in range(len(spec.moves))]
    return ScriptedMoves(label, spec.moves, lines)
