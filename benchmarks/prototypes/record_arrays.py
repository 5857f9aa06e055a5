"""Prototype (b): per-step recording into preallocated arrays, the table built once at the end.

The current recorder builds a dict of about thirty entries per step (column
names formatted anew each time), hands it to Mesa's ``DataCollector`` table,
and concatenates the counters into a new array. Here every column's storage is
allocated once for the whole horizon, a step writes one tuple of scalars per
dtype and one slice of counters, and ``timeseries()`` makes the same DataFrame
(same columns, order, dtypes and values) from the arrays.

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

INT_COLUMNS = {"step", "strikes", "strikes_in_russia", "withheld", "constrained"}
FLOAT_COLUMNS = {"day", "fire_on_city", "harm", "harm_cumulative"}


class ArrayRecorder:
    """Per-step series and counters of one model, in arrays sized for the horizon."""

    def __init__(self, model: EscalationModel) -> None:
        m = self.model = model
        n = m.n_steps + 1
        sup = [a.actor_id for a in m.suppliers]
        # The model's own column list, split by the type each column holds.
        columns = m._series_columns()
        self.int_cols = [
            c
            for c in columns
            if c in INT_COLUMNS or c.startswith(("losses.", "alive.", "rung.", "posture_level."))
        ]
        self.float_cols = [c for c in columns if c in FLOAT_COLUMNS or c.startswith("pressure.")]
        self.ints = np.zeros((n, len(self.int_cols)), dtype=np.int64)
        self.floats = np.zeros((n, len(self.float_cols)))
        self.flags = np.zeros((n, 2), dtype=bool)  # nato_conflict, nuclear_use
        self.postures = np.empty((n, len(sup)), dtype=object)
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
        for j, c in enumerate(rec.int_cols):
            rec.ints[0, j] = first[c][0]
        for j, c in enumerate(rec.float_cols):
            rec.floats[0, j] = first[c][0]
        rec.flags[0] = (first["nato_conflict"][0], first["nuclear_use"][0])
        rec.postures[0] = [first[f"posture.{a.actor_id}"][0] for a in model.suppliers]
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
    rec.ints[step] = (
        step,
        c["strikes.supplier"].sum(),
        m._strikes_in_russia_now,
        c["withheld.rule"].sum(),
        m._constrained_now,
        losses[0],
        losses[1],
        np.count_nonzero(f.alive & rec.russian),
        np.count_nonzero(f.alive & rec.ukrainian),
        *rungs,
        *[a.policy.level for a in m.suppliers],
    )
    rec.floats[step] = (
        step * m.step_days,
        fire,
        harm,
        m.harm_total,
        *[a.pressure for a in actors],
    )
    where = [ix[r] for ix, r in zip(rec.rung_index, rungs, strict=True)]
    rec.flags[step] = (
        any(t[w] for t, w in zip(rec.nato, where, strict=True)),
        any(t[w] for t, w in zip(rec.nuclear, where, strict=True)),
    )
    rec.postures[step] = [a.policy.posture for a in m.suppliers]
    np.concatenate(
        [*rec.counters, m._row_fire_by_weapon, m.stock[m._stock_columns]], out=rec.counts[step]
    )
    for v in rec.counters:
        v[:] = 0
    m._strikes_in_russia_now = 0
    m._constrained_now = 0
    m._perceived_now = 0.0


def _timeseries(rec: ArrayRecorder) -> pd.DataFrame:
    m = rec.model
    n = round(m.time) + 1
    cols: dict[str, object] = {}
    ints = dict(zip(rec.int_cols, rec.ints[:n].T, strict=True))
    floats = dict(zip(rec.float_cols, rec.floats[:n].T, strict=True))
    day = floats["day"]
    step_int = isinstance(m.step_days, int)
    for name in m._series_columns():
        if name in ints:
            cols[name] = ints[name]
        elif name in floats:
            cols[name] = day.astype(np.int64) if name == "day" and step_int else floats[name]
        elif name == "date":
            cols[name] = [m.spec.start_date + dt.timedelta(days=d) for d in day.tolist()]
        elif name in ("nato_conflict", "nuclear_use"):
            cols[name] = rec.flags[:n, 0 if name == "nato_conflict" else 1]
        else:
            k = [a.actor_id for a in m.suppliers].index(name.split(".", 1)[1])
            cols[name] = rec.postures[:n, k]
    base = pd.DataFrame(cols)
    names = [f"{k}.{v}" for k, vs in m._count_names.items() for v in vs]
    names += [f"fire_on_city.weapon.{w}" for w in m.weapon_ids]
    names += [f"stock.{m.weapon_ids[w]}" for w in m._stock_columns]
    n_int = sum(len(v) for v in m._count_names.values())
    rows = rec.counts[:n]
    ints_frame = pd.DataFrame(rows[:, :n_int].astype(np.int64), columns=names[:n_int])
    floats_frame = pd.DataFrame(rows[:, n_int:], columns=names[n_int:])
    return pd.concat([base, pd.concat([ints_frame, floats_frame], axis=1)], axis=1)
