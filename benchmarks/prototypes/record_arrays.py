"""Prototype (b): per-step recording into preallocated arrays, the table built once at the end.

The current recorder builds a dict of some fifty entries per step (column
names formatted anew each time), hands it to Mesa's ``DataCollector`` table
(one list append per column), and concatenates the counters into a new array.
Here the storage is allocated once for the whole horizon, a step writes one
row of scalars (in the model's column order) and one row of counters, and
``timeseries()`` makes the same DataFrame (same columns, order, dtypes and
values) from the arrays.

It mirrors the model's own row (``EscalationModel._record``) value for value;
when the model's columns change, this prototype must follow (the equality check
in ``compare_prototypes.py`` says when it has not).

Left out: a production version would keep the ``DataCollector`` as the
documented table (the issue asks for it or an equivalent) by filling it from
the arrays at the end, and would not reach into the model's private counters
as this prototype does from outside.
"""

from __future__ import annotations

import datetime as dt
from types import MethodType

import numpy as np
import pandas as pd

from escalation_sim import EscalationModel
from escalation_sim.model.forces import SIDE_RUSSIA, SIDE_UKRAINE


class ArrayRecorder:
    """Per-step series and counters of one model, in arrays sized for the horizon."""

    def __init__(self, model: EscalationModel) -> None:
        m = self.model = model
        n = m.n_steps + 1
        self.columns = m._series_columns()
        # One row of scalars per step, in the model's column order; pandas later infers
        # each column's dtype from its values exactly as it does from the table's lists.
        self.rows = np.empty((n, len(self.columns)), dtype=object)
        width = sum(len(v) for v in m._count_names.values())
        width += len(m.weapon_ids) + len(m._stock_columns)
        self.counts = np.zeros((n, width))
        # Per actor, per rung: does standing there mean NATO conflict / nuclear use?
        self.nato = [
            np.array([r.nato_conflict for r in a.ladder.rungs], dtype=bool) for a in m.actors
        ]
        self.nuclear = [
            np.array([r.nuclear_use for r in a.ladder.rungs], dtype=bool) for a in m.actors
        ]
        self.rung_index = [{r.level: i for i, r in enumerate(a.ladder.rungs)} for a in m.actors]
        self.russian = m.forces.side == SIDE_RUSSIA
        self.ukrainian = m.forces.side == SIDE_UKRAINE
        self.counters = list(m._counts.values())

    @classmethod
    def attach(cls, model: EscalationModel) -> ArrayRecorder:
        """Take over a freshly built model's recording (its step-0 row is copied over)."""
        rec = cls(model)
        first = model.datacollector.tables["series"]
        rec.rows[0] = [first[c][0] for c in rec.columns]
        rec.counts[0] = model._count_rows[0]
        model._record = MethodType(_record, rec)
        model.timeseries = MethodType(_timeseries, rec)
        return rec


def _record(rec: ArrayRecorder, step: int, harm: float, fire: float, losses: tuple) -> None:
    m = rec.model
    f = m.forces
    c = m._counts
    actors = m.actors
    rungs = [a.rung for a in actors]
    where = [ix[r] for ix, r in zip(rec.rung_index, rungs, strict=True)]
    day = step * m.step_days
    per_actor = []
    for a in actors:
        per_actor += [a.rung, a.case]
    for a in actors:
        per_actor += [a.score_now, a.kahn_now, a.option_now]
        a.score_now, a.kahn_now, a.option_now = 0, 0, ""  # recorded once, as the model does
    rus = m.actor[m.russia_id]
    postures = []
    for a in m.suppliers:
        postures += [a.policy.posture, a.policy.level]
    rec.rows[step] = (
        step,
        day,
        m.spec.start_date + dt.timedelta(days=day),
        fire,
        harm,
        m.harm_total,
        int(c["strikes.supplier"].sum()),
        m._strikes_in_russia_now,
        int(c["withheld.rule"].sum()),
        m._constrained_now,
        losses[0],
        losses[1],
        int(np.count_nonzero(f.alive & rec.russian)),
        int(np.count_nonzero(f.alive & rec.ukrainian)),
        any(t[w] for t, w in zip(rec.nato, where, strict=True)),
        any(t[w] for t, w in zip(rec.nuclear, where, strict=True)),
        *per_actor,
        rus.credibility,
        rus.commitment,
        *postures,
    )
    np.concatenate(
        [*rec.counters, m._row_fire_by_weapon, m.stock[m._stock_columns]], out=rec.counts[step]
    )
    for v in rec.counters:
        v[:] = 0
    m._strikes_in_russia_now = 0
    m._constrained_now = 0


def _timeseries(rec: ArrayRecorder) -> pd.DataFrame:
    m = rec.model
    n = round(m.time) + 1
    base = pd.DataFrame({c: rec.rows[:n, j].tolist() for j, c in enumerate(rec.columns)})
    names = [f"{k}.{v}" for k, vs in m._count_names.items() for v in vs]
    names += [f"fire_on_city.weapon.{w}" for w in m.weapon_ids]
    names += [f"stock.{m.weapon_ids[w]}" for w in m._stock_columns]
    n_int = sum(len(v) for v in m._count_names.values())
    rows = rec.counts[:n]
    ints_frame = pd.DataFrame(rows[:, :n_int].astype(np.int64), columns=names[:n_int])
    floats_frame = pd.DataFrame(rows[:, n_int:], columns=names[n_int:])
    counts = pd.concat([ints_frame, floats_frame], axis=1)
    counts = counts.drop(columns=sorted(m._structural_zeros() & set(names)))
    return pd.concat([base, counts], axis=1)
