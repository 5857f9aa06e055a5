"""The event log: every strike, withheld opportunity, decision and rule change, with its cause.

Strikes and withheld opportunities are stored per step as arrays (cheap in the
step loop) and turned into records only when asked for, so the log costs far
less than the simulation it records.
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

    def add_strikes(self, step: int, **arrays: np.ndarray) -> None:
        """Record this step's strikes (parallel arrays)."""
        if len(next(iter(arrays.values()))):
            self.strikes.append(_StepBlock(step, "strike", arrays))

    def add_withheld(self, step: int, kind: str, **arrays: np.ndarray) -> None:
        """Record this step's withheld (or constrained) opportunities (parallel arrays)."""
        if len(next(iter(arrays.values()))):
            self.withheld.append(_StepBlock(step, kind, arrays))

    def add(self, step: int, kind: str, **fields: Any) -> None:
        """Record a decision, a rule change or another discrete event."""
        self.other.append({"step": step, "kind": kind, **fields})

    def _day_date(self, step: int) -> tuple[float, str]:
        day = step * self.step_days
        return day, (self.start_date + dt.timedelta(days=day)).isoformat()

    def _decode_blocks(self, blocks: list[_StepBlock]) -> list[dict[str, Any]]:
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
                out.append(rec)
        return out

    def records(self) -> list[dict[str, Any]]:
        """All events as plain records, ordered by step (within a step: strikes, withheld, others)."""
        recs = self._decode_blocks(self.strikes) + self._decode_blocks(self.withheld)
        for ev in self.other:
            day, date = self._day_date(ev["step"])
            recs.append({"day": day, "date": date, **ev})
        order = {"rule_change": 0, "strike": 1, "constrained": 2, "withheld": 3, "decision": 4}
        recs.sort(key=lambda r: (r["step"], order.get(r["kind"], 5)))
        return recs
