"""Fast paths equal the direct ones: the array-backed time series, the summary, the tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.api import resolve_scenario
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.recorder import SeriesTable

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))

#: What a value of each kind must be so that its array stores it unchanged.
KIND_TYPES = {
    "int": lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_),
    "float": lambda v: isinstance(v, float | np.floating),
    "bool": lambda v: isinstance(v, bool | np.bool_),
    "str": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, dt.date),
}


@pytest.mark.parametrize("name", SHIPPED)
def test_model_table_equals_a_datacollector_fed_the_same_rows(name, monkeypatch):
    """Every row the model records, fed to Mesa's DataCollector as a dict, gives the same frame.

    Also: every value has its column's declared kind, so no array casts it
    (an int column given a float would silently truncate it).
    """
    shadow: dict[int, mesa.DataCollector] = {}
    original = SeriesTable.add_row

    def add_row(self, values, block=None):
        for column, kind, value in zip(self.columns, self.kinds, values, strict=True):
            assert KIND_TYPES[kind](value), f"{column}: {value!r} is not {kind}"
        dc = shadow.setdefault(id(self), mesa.DataCollector(tables={"series": self.columns}))
        dc.add_table_row("series", dict(zip(self.columns, values, strict=True)))
        original(self, values, block)

    monkeypatch.setattr(SeriesTable, "add_row", add_row)
    sc = resolve_scenario(SCENARIOS / name, days=64)  # past every shipped schedule change
    m = EscalationModel(sc, seed=5, record_events=False)
    m.run()
    expected = shadow[id(m.datacollector)].get_table_dataframe("series")
    pd.testing.assert_frame_equal(m.datacollector.get_table_dataframe("series"), expected)
    assert m.datacollector.tables["series"] == shadow[id(m.datacollector)].tables["series"]
    assert len(expected) == sc.n_steps + 1


def test_table_grows_past_its_allocation_and_keeps_every_row():
    cols = [("step", "int"), ("x", "float"), ("flag", "bool"), ("name", "str"), ("d", "date")]
    table = SeriesTable(cols, rows=2, block_width=3)
    rows = [
        (k, k / 3, k % 2 == 0, f"n{k}", dt.date(2024, 5, 1) + dt.timedelta(days=k))
        for k in range(9)
    ]
    for k, row in enumerate(rows):
        table.add_row(row, np.full(3, float(k)))
    expected = pd.DataFrame({name: [r[i] for r in rows] for i, (name, _) in enumerate(cols)})
    pd.testing.assert_frame_equal(table.frame(), expected)
    assert table.block().tolist() == [[float(k)] * 3 for k in range(9)]
    assert list(table.column("x")) == [r[1] for r in rows]


def test_only_the_series_table_exists():
    table = SeriesTable([("step", "int")], rows=1)
    with pytest.raises(KeyError, match="series"):
        table.get_table_dataframe("other")
    with pytest.raises(ValueError, match="unknown column kind"):
        SeriesTable([("step", "complex")], rows=1)


def test_counter_views_share_one_buffer():
    """The per-category counters are views of one buffer, so a reset clears every one."""
    sc = with_overrides(load_scenario(SCENARIOS / "may30_kharkiv_counterfire.yaml"), ["horizon_days=5"])
    m = EscalationModel(sc, seed=0, record_events=False)
    for counts in m._counts.values():
        assert counts.base is m._count_buf
    m._counts["strikes.zone"][0] = 3
    assert m._count_buf.sum() == 3
