"""An LLM as a player, behind a small provider-agnostic adapter (off by default).

The adapter needs one thing of a provider: :class:`LLMClient.complete`, text
in, text out. :class:`CommandClient` runs any local command that reads the
prompt on standard input and prints the answer (a CLI for a hosted or a local
model); :class:`MockClient` returns canned answers and is what the tests use.
Nothing here is needed to run or test the model, and no network call is made
unless a user configures a command that makes one.

The prompt is the turn's briefing plus the answer format; the answer must be
one JSON object ``{"choice": ..., "rules": {...}, "note": ...}``. An answer
that cannot be read, or a move the game refuses, is sent back with the
reason, up to ``retries`` times; after that the player holds. Every prompt
and answer goes into the game record.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from escalation_sim.play.briefing import TurnView, briefing
from escalation_sim.play.moves import Move


class LLMClient(Protocol):
    """A text-completion provider."""

    def complete(self, prompt: str) -> str:
        """The model's answer to ``prompt``."""
        ...


@dataclass(slots=True)
class MockClient:
    """Canned answers, in turn (the last one repeats); records every prompt it saw."""

    answers: Sequence[str]
    prompts: list[str] = field(default_factory=list)

    def complete(self, prompt: str) -> str:
        """The next canned answer."""
        self.prompts.append(prompt)
        return self.answers[min(len(self.prompts) - 1, len(self.answers) - 1)]


@dataclass(slots=True)
class CommandClient:
    """Any command that reads a prompt on stdin and writes its answer on stdout.

    Args:
        command: The argv, e.g. ``["llm", "-m", "some-model"]``.
        timeout_s: Seconds before the call is abandoned (the player then holds).
    """

    command: Sequence[str]
    timeout_s: float = 120.0

    def complete(self, prompt: str) -> str:
        """Run the command once; its standard output is the answer."""
        done = subprocess.run(
            list(self.command),
            input=prompt,
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"LLM command {self.command[0]!r} exited {done.returncode}: {done.stderr.strip()[:200]}"
            )
        return done.stdout


ANSWER_FORMAT = """Answer with one JSON object and nothing else:
{"choice": "<one of the escalation choice ids above>",
 "rules": null or {"posture": "<posture>", "add_rules": ["<rule id>"], "remove_rules": ["<rule id>"]},
 "note": "<one sentence: why>"}
Only suppliers may send "rules"; leave out what you do not change."""


def prompt_for(view: TurnView, error: str = "") -> str:
    """The prompt for one turn: role, briefing, answer format (and the last refusal)."""
    parts = [
        f"You are playing {view.actor} in a seminar wargame of counter-fire and escalation "
        "around Kharkiv (2024). You see only what your state perceives.",
        "",
        briefing(view),
        "",
        ANSWER_FORMAT,
    ]
    if error:
        parts += ["", f"Your previous answer was refused: {error}. Answer again."]
    return "\n".join(parts)


def parse_answer(actor: str, text: str) -> Move:
    """Read the JSON move out of an answer (the first ``{...}`` block).

    Raises:
        ValueError: No JSON object, or fields of the wrong type.
    """
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if match is None:
        raise ValueError("no JSON object in the answer")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("the answer must be a JSON object")
    unknown = sorted(set(data) - {"choice", "rules", "note"})
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; expected choice, rules, note")
    choice, rules, note = data.get("choice"), data.get("rules"), data.get("note", "")
    if choice is not None and not isinstance(choice, str):
        raise ValueError("'choice' must be a string")
    if rules is not None and not isinstance(rules, dict):
        raise ValueError("'rules' must be an object or null")
    return Move(actor, choice, rules, str(note) or "LLM player")


@dataclass(slots=True)
class LLMPlayer:
    """Plays an actor by asking an LLM each turn.

    Args:
        client: The provider.
        check: Called with a candidate move; raises ``ValueError`` when the game
            would refuse it (so the LLM can be told why and asked again).
        record: Called with ``(turn, actor, prompt, answer, outcome)`` for the game record.
        retries: Extra attempts after a refused answer.
    """

    client: LLMClient
    check: Callable[[Move], None]
    record: Callable[[int, str, str, str, str], None]
    retries: int = 2
    kind: str = "llm"

    def move(self, view: TurnView) -> Move:
        """Ask, check, ask again with the reason; hold when every attempt is refused."""
        error = ""
        for _ in range(self.retries + 1):
            prompt = prompt_for(view, error)
            try:
                answer = self.client.complete(prompt)
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                self.record(view.turn, view.actor, prompt, "", f"provider failed: {exc}")
                break
            try:
                move = parse_answer(view.actor, answer)
                self.check(move)
            except ValueError as exc:
                error = str(exc)
                self.record(view.turn, view.actor, prompt, answer, f"refused: {error}")
                continue
            self.record(view.turn, view.actor, prompt, answer, "accepted")
            return move
        return Move(view.actor, None, None, "LLM player: no acceptable answer; holds")
