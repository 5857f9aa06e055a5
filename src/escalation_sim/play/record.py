"""The game record (``game.jsonl``): everything needed to replay a game bit for bit.

One JSON object per line, in the order things happened:

- ``{"type": "game", ...}`` first: format, scenario name and hash, the whole
  resolved scenario, seed, turn length, seats (actor -> player kind), versions;
- ``{"type": "move", "turn", "step", "day", "actor", "player", "move"}`` for
  every move applied (``step``: the model time it was applied at; it takes
  effect in the next step);
- ``{"type": "refused", ...}`` a move the game refused (a person may try again);
- ``{"type": "seat", "step", "actor", "seated"}`` and ``{"type": "rules", "step",
  "actor", "change", "cause"}``: from the browser app, an actor seated or handed
  back to the model, and a rule edit of a supplier the model plays;
- ``{"type": "llm", "turn", "actor", "prompt", "answer", "outcome"}`` every
  exchange with an LLM player;
- ``{"type": "end", "steps", "timeseries_sha256", "events_sha256"}`` last:
  digests of the written ``timeseries.csv`` and ``events.jsonl``, which a
  replay must reproduce.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.results import package_versions
from escalation_sim.scenario.loader import scenario_hash, scenario_to_dict
from escalation_sim.scenario.schema import Scenario

GAME_JSONL = "game.jsonl"
TRANSCRIPT_TXT = "transcript.txt"
FORMAT = 1


@dataclass(slots=True)
class GameRecord:
    """The lines of a game record, kept in memory until the game's outputs are written."""

    lines: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(
        cls, scenario: Scenario, seed: int, turn_days: float, seats: Mapping[str, str]
    ) -> GameRecord:
        """A record opened with its ``game`` header."""
        header = {
            "type": "game",
            "format": FORMAT,
            "scenario": scenario.name,
            "scenario_hash": scenario_hash(scenario),
            "seed": seed,
            "turn_days": turn_days,
            "seats": dict(seats),
            "versions": package_versions(),
            "resolved_scenario": scenario_to_dict(scenario),
        }
        return cls([header])

    @property
    def header(self) -> dict[str, Any]:
        """The ``game`` line."""
        return self.lines[0]

    def add(self, kind: str, **fields: Any) -> None:
        """Append one line of ``type`` ``kind``."""
        self.lines.append({"type": kind, **fields})

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Every line of one type, in order."""
        return [line for line in self.lines if line["type"] == kind]

    def close(self, steps: int, directory: Path) -> None:
        """Append the ``end`` line with the digests of the run files in ``directory``."""
        self.add(
            "end",
            steps=steps,
            timeseries_sha256=file_digest(directory / "timeseries.csv"),
            events_sha256=file_digest(directory / "events.jsonl"),
        )

    def write(self, path: Path) -> None:
        """Write the record as JSON lines."""
        with path.open("w", encoding="utf-8") as fh:
            for line in self.lines:
                fh.write(json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_record(path: str | Path) -> tuple[GameRecord, Scenario]:
    """Read a game record and the scenario it was played on.

    Raises:
        ScenarioError: The file is missing or not a game record, or its scenario
            does not match its recorded hash.
    """
    label = str(path)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(label, None, "", "file not found")]) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([Problem(label, None, "", f"cannot read file: {exc}")]) from None
    lines = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ScenarioError([Problem(label, n, "", f"not JSON: {exc.msg}")]) from None
        if not isinstance(line, dict) or "type" not in line:
            raise ScenarioError([Problem(label, n, "", "expected a JSON object with a 'type'")])
        lines.append(line)
    if not lines or lines[0]["type"] != "game":
        raise ScenarioError([Problem(label, 1, "", "not a game record: no 'game' line first")])
    header = lines[0]
    if header.get("format") != FORMAT:
        raise ScenarioError(
            [Problem(label, 1, "format", f"unsupported format {header.get('format')!r}")]
        )
    try:
        scenario = Scenario.model_validate(header["resolved_scenario"])
    except (KeyError, ValidationError) as exc:
        raise ScenarioError(
            [Problem(label, 1, "resolved_scenario", f"not a valid scenario: {exc}")]
        ) from None
    if scenario_hash(scenario) != header.get("scenario_hash"):
        raise ScenarioError(
            [Problem(label, 1, "scenario_hash", "the recorded scenario does not match its hash")]
        )
    return GameRecord(lines), scenario
