"""Who plays a seated actor: a person at a terminal or a move file.

Every player answers the same question once per turn: given a
:class:`~escalation_sim.play.briefing.TurnView` (what its actor perceives and
may choose), which :class:`~escalation_sim.play.moves.Move` does it make?
Actors that are not seated are played by the model's own decision layer. The
LLM player lives in :mod:`escalation_sim.play.llm`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from escalation_sim.play.briefing import TurnView, briefing
from escalation_sim.play.moves import Move, ScriptedMoves

#: Player kinds as written in a game record and on the command line.
PLAYER_KINDS = ("human", "script", "llm", "app", "replay")


class Player(Protocol):
    """Plays one seated actor."""

    kind: str

    def move(self, view: TurnView) -> Move:
        """The move for this turn."""
        ...


@dataclass(slots=True)
class ScriptedPlayer:
    """Plays an actor from a move file: dated moves at their turn, conditional moves when they fire.

    A conditional move whose choice is not open this turn waits. Several
    moves due at the same turn are merged in file order: the last
    choice wins, rule edits are combined (last posture wins; rules added and
    removed are concatenated). ``last_sources`` names the file lines behind
    the last move, for error messages.
    """

    moves: ScriptedMoves
    kind: str = "script"
    last_sources: list[str] = field(default_factory=list)

    def move(self, view: TurnView) -> Move:
        """The file's moves due for this actor at this turn (a hold when none)."""
        due = self.moves.due(
            view.actor,
            view.turn,
            view.day,
            view.day + view.days,
            view.observation,
            [c.id for c in view.choices],
        )
        self.last_sources = [self.moves.source(i) for i, _ in due]
        choice: str | None = None
        rules: dict[str, Any] | None = None
        notes = []
        for i, spec in due:
            self.moves.fired.add(i)
            choice = spec.choice if spec.choice is not None else choice
            if spec.rules is not None:
                rules = _merge_rules(rules, spec.rules)
            if spec.note:
                notes.append(spec.note)
        return Move(view.actor, choice, rules, "; ".join(notes) or "scripted move")


def _merge_rules(a: Mapping[str, Any] | None, b: Mapping[str, Any]) -> dict[str, Any]:
    if a is None:
        return dict(b)
    out = {**a, **{k: v for k, v in b.items() if k not in ("add_rules", "remove_rules")}}
    for key in ("add_rules", "remove_rules"):
        if key in a or key in b:
            out[key] = [*a.get(key, []), *b.get(key, [])]
    return out


HELP = """Commands (one per line; an empty line ends your turn):
  hold | <option id>                     your choice among the options listed (default: hold)
  posture NAME                           switch your rules to a named posture (suppliers)
  add RULE_ID  /  remove RULE_ID         add a rule from your catalogue / remove one in force
  note TEXT                              why (goes into the game record)
  show                                   the briefing again
  done                                   end your turn (same as an empty line)
  help                                   this text
To stop early: Ctrl-D (end of input) holds every turn left and saves the game;
Ctrl-C stops at once, without saving."""

#: Added to :data:`HELP` when each line is checked as it is typed.
HELP_CHECKED = "A line the game would refuse is not taken, and you are told why at once."


@dataclass(slots=True)
class HumanPlayer:
    """A person at a terminal: reads the briefing, types commands.

    With ``check``, each line that changes the move is checked at once against
    the game (the move typed so far plus that line): a line the game would
    refuse is not taken, and the person is told why right under it, before the
    next prompt. A move refused at the end of the turn (without ``check``) is
    typed again after the refusal, shown right above the prompt.

    Args:
        ask: Reads one line after showing a prompt (``None`` at end of input).
        tell: Shows text to the player.
        check: Raises ``ValueError`` (with ``problems``, ``(field, message)``
            pairs, as :class:`~escalation_sim.model.control.MoveError`) when the
            game would refuse a move now; ``None``: moves are checked at the end
            of the turn only.
    """

    ask: Callable[[str], str | None]
    tell: Callable[[str], None]
    check: Callable[[Move], None] | None = None
    kind: str = "human"

    def move(self, view: TurnView) -> Move:
        """Show the briefing, read commands until the player ends the turn."""
        if view.last_error:
            # Nothing has moved since the briefing: the refusal is what the person
            # needs to see, so it goes right above the prompt, not after a reprint.
            self.tell(f"\nYour move for turn {view.turn} was refused:")
            for line in view.last_error.splitlines():
                self.tell(f"  {line}")
            self.tell("Type your move again ('show': the briefing; 'help': the commands).")
        else:
            self.tell("")
            self.tell(briefing(view))
            self.tell("\nType 'help' for the commands; an empty line ends your turn.")
        choice: str | None = None
        rules: dict[str, Any] = {}
        note = ""
        ids = [c.id for c in view.choices]
        while True:
            line = self.ask(f"{view.actor} turn {view.turn}> ")
            if line is None:  # end of input: the turn ends as typed so far
                break
            head, _, rest = line.strip().partition(" ")
            if head == "note":  # free text, taken as typed: "Russia's" is no open quote
                note = rest.strip()
                continue
            try:
                words = shlex.split(line) if line.strip() else []
            except ValueError:
                self.tell(f"unbalanced quote in {line.strip()!r}; type the command again")
                continue
            if not words or words[0] == "done":
                break
            cmd, args = words[0], words[1:]
            if cmd == "help":
                self.tell(HELP if self.check is None else f"{HELP}\n{HELP_CHECKED}")
            elif cmd == "show":
                self.tell(briefing(view))
            elif cmd in ("posture", "add", "remove"):
                if not view.supplier:
                    self.tell(f"{view.actor} sets no rules; choose one of: {', '.join(ids)}")
                elif len(args) != 1:
                    self.tell(f"usage: {cmd} NAME")
                else:
                    edited = _with_edit(rules, cmd, args[0])
                    if self._taken(Move(view.actor, choice, edited)):
                        rules = edited
            elif cmd in ids and not args:
                if self._taken(Move(view.actor, cmd, rules or None)):
                    choice = cmd
            else:
                self.tell(f"unknown command {line.strip()!r}; choices: {', '.join(ids)}; 'help'")
        return Move(view.actor, choice, rules or None, note or "human player")

    def _taken(self, move: Move) -> bool:
        """Whether the game takes ``move`` now; if not, every problem is told at once."""
        if self.check is None:
            return True
        try:
            self.check(move)
        except ValueError as exc:
            problems = getattr(exc, "problems", None) or [("", str(exc))]
            for f, m in problems:
                self.tell(f"  refused, not taken: {f + ': ' if f else ''}{m}")
            return False
        return True


def _with_edit(rules: Mapping[str, Any], cmd: str, name: str) -> dict[str, Any]:
    """``rules`` with one typed edit: ``posture NAME``, ``add RULE`` or ``remove RULE``."""
    return _merge_rules(rules, {"posture": name} if cmd == "posture" else {f"{cmd}_rules": [name]})
