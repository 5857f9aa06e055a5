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


@dataclass(slots=True)
class HumanPlayer:
    """A person at a terminal: reads the briefing, types commands.

    Args:
        ask: Reads one line after showing a prompt (``None`` at end of input).
        tell: Shows text to the player.
    """

    ask: Callable[[str], str | None]
    tell: Callable[[str], None]
    kind: str = "human"

    def move(self, view: TurnView) -> Move:
        """Show the briefing, read commands until the player ends the turn."""
        self.tell("")
        self.tell(briefing(view))
        if view.last_error:
            self.tell(f"\nYour last move was refused: {view.last_error}\nTry again.")
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
                self.tell(HELP)
            elif cmd == "show":
                self.tell(briefing(view))
            elif cmd in ("posture", "add", "remove"):
                if not view.supplier:
                    self.tell(f"{view.actor} sets no rules; choose one of: {', '.join(ids)}")
                elif len(args) != 1:
                    self.tell(f"usage: {cmd} NAME")
                elif cmd == "posture":
                    rules["posture"] = args[0]
                else:
                    rules.setdefault(f"{cmd}_rules", []).append(args[0])
            elif cmd in ids and not args:
                choice = cmd
            else:
                self.tell(f"unknown command {line.strip()!r}; choices: {', '.join(ids)}; 'help'")
        return Move(view.actor, choice, rules or None, note or "human player")
