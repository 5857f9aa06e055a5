"""The event log: every strike, withheld opportunity, decision and rule change, with its cause.

Strikes and withheld opportunities are stored per step as arrays (cheap in the
step loop) and turned into records only when asked for, so the log costs far
less than the simulation it records.

Records come out in the order things happened: by step, and within a step in
the order the model recorded them (its schedule: scheduled rule changes,
strikes, second-choice strikes and withheld opportunities, decisions, then the
suppliers' adaptive rule changes), so a log replayed line by line never shows
a strike under rules that were only adopted after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(slots=True)
class _StepBlock:
    step: int
    kind: str
    arrays: dict[str, np.ndarray]
    seq: int


@dataclass(slots=True)
class EventLog:
    """Events of one run, in the order they happened."""

    start_date: dt.date
    step_days: float
    strikes: list[_StepBlock] = field(default_factory=list)
    withheld: list[_StepBlock] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)
    #: How to turn stored indices back into names: set by the model.
    decode: dict[str, list[str]] = field(default_factory=dict)
    #: Position of each entry of ``other`` in the order of recording.
    other_seq: list[int] = field(default_factory=list)
    _next: int = 0

    def _seq(self) -> int:
        self._next += 1
        return self._next

    def add_strikes(self, step: int, **arrays: np.ndarray) -> None:
        """Record this step's strikes (parallel arrays)."""
        if len(next(iter(arrays.values()))):
            self.strikes.append(_StepBlock(step, "strike", arrays, self._seq()))

    def add_withheld(self, step: int, kind: str, **arrays: np.ndarray) -> None:
        """Record this step's withheld (or constrained) opportunities (parallel arrays)."""
        if len(next(iter(arrays.values()))):
            self.withheld.append(_StepBlock(step, kind, arrays, self._seq()))

    def add(self, step: int, kind: str, **fields: Any) -> None:
        """Record a decision, a rule change or another discrete event."""
        self.other.append({"step": step, "kind": kind, **fields})
        self.other_seq.append(self._seq())

    def _day_date(self, step: int) -> tuple[float, str]:
        day = step * self.step_days
        return day, (self.start_date + dt.timedelta(days=day)).isoformat()

    def _decode_blocks(self, blocks: list[_StepBlock]) -> list[tuple[int, int, dict[str, Any]]]:
        out = []
        for block in blocks:
            day, date = self._day_date(block.step)
            cols = {k: v.tolist() for k, v in block.arrays.items()}
            n = len(next(iter(cols.values())))
            for i in range(n):
                rec: dict[str, Any] = {
                    "step": block.step,
                    "day": day,
                    "date": date,
                    "kind": block.kind,
                }
                for k, values in cols.items():
                    v = values[i]
                    table = self.decode.get(k)
                    rec[k] = (
                        table[v]
                        if table is not None and v >= 0
                        else (None if table is not None else v)
                    )
                out.append((block.seq, i, rec))
        return out

    def records(self) -> list[dict[str, Any]]:
        """All events as plain records, in the order they happened (see the module docstring)."""
        keyed = self._decode_blocks(self.strikes) + self._decode_blocks(self.withheld)
        for seq, ev in zip(self.other_seq, self.other, strict=True):
            day, date = self._day_date(ev["step"])
            keyed.append((seq, 0, {"day": day, "date": date, **ev}))
        keyed.sort(key=lambda item: (item[2]["step"], item[0], item[1]))
        return [rec for _, _, rec in keyed]
