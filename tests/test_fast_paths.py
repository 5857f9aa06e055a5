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
    sc = with_overrides(
        load_scenario(SCENARIOS / "may30_kharkiv_counterfire.yaml"), ["horizon_days=5"]
    )
    m = EscalationModel(sc, seed=0, record_events=False)
    for counts in m._counts.values():
        assert counts.base is m._count_buf
    m._counts["strikes.zone"][0] = 3
    assert m._count_buf.sum() == 3


def _old_timeseries(m: EscalationModel) -> pd.DataFrame:
    """The time series as the model built it before the array table: concat, then drop."""
    base = m.datacollector.get_table_dataframe("series")
    names = [f"{k}.{n}" for k, v in m._count_names.items() for n in v]
    names += [f"fire_on_city.weapon.{w}" for w in m.weapon_ids]
    names += [f"stock.{m.weapon_ids[w]}" for w in m._stock_columns]
    rows = m.datacollector.block()
    n_int = sum(len(v) for v in m._count_names.values())
    ints = pd.DataFrame(rows[:, :n_int].astype(np.int64), columns=names[:n_int])
    floats = pd.DataFrame(rows[:, n_int:], columns=names[n_int:])
    counts = pd.concat([ints, floats], axis=1)
    counts = counts.drop(columns=sorted(m._structural_zeros() & set(names)))
    return pd.concat([base, counts], axis=1)


def _old_summary_parts(ts: pd.DataFrame, sc) -> dict:
    """The summary's time-series figures read through pandas, as before the numpy columns."""

    def columns(prefix):
        totals = {c[len(prefix) :]: int(ts[c].sum()) for c in ts.columns if c.startswith(prefix)}
        return {k: v for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])) if v}

    peak = {}
    for aid in sc.actors:
        series = ts[f"rung.{aid}"]
        top = int(series.max())
        first = ts.loc[series.idxmax(), "day"] if top > int(series.iloc[0]) else 0.0
        peak[aid] = {"rung": top, "day": float(first)}
    switches = []
    for sid in sc.rules:
        col = f"posture.{sid}"
        before = ts[col].shift()
        for _, row in ts.loc[(ts[col] != before) & before.notna()].iterrows():
            switches.append((float(row["day"]), sid, str(before[row.name]), str(row[col])))
    return {
        "peak": peak,
        "by_supplier": columns("strikes_in_russia.supplier."),
        "by_weapon": columns("strikes_in_russia.weapon."),
        "by_rule": columns("withheld.rule."),
        "outcomes": columns("strikes.outcome."),
        "fire_on_city": float(ts["fire_on_city"].sum()),
        "switches": sorted(switches),
    }


@pytest.mark.parametrize("name", SHIPPED)
def test_timeseries_summary_and_outcomes_equal_the_pandas_paths(name):
    """The one-dict time series, numpy summary and array outcomes equal the pandas versions."""
    from escalation_sim.experiment.outcomes import run_outcomes, series_names, step_series
    from escalation_sim.results import summarize

    sc = resolve_scenario(SCENARIOS / name, days=64)
    m = EscalationModel(sc, seed=2, record_events=False)
    m.run()
    ts = m.timeseries()
    pd.testing.assert_frame_equal(ts, _old_timeseries(m))

    summary = summarize(ts, [], sc, 2, None, None)
    old = _old_summary_parts(ts, sc)
    assert {a: {"rung": p["rung"], "day": p["day"]} for a, p in summary["peak_rung"].items()} == (
        old["peak"]
    )
    assert summary["strikes_in_russia"]["by_supplier"] == old["by_supplier"]
    assert summary["strikes_in_russia"]["by_weapon"] == old["by_weapon"]
    assert summary["withheld"]["by_rule"] == old["by_rule"]
    assert summary["strike_outcomes"] == old["outcomes"]
    assert summary["fire_on_city"] == old["fire_on_city"]
    switches = [
        (c["day"], c["actor"], c["from_posture"], c["to_posture"]) for c in summary["rule_changes"]
    ]
    assert sorted(switches) == old["switches"]

    ladders = {aid: len(sc.ladder_for(aid).rungs) for aid in sc.actors}
    columns = m.series()
    assert list(columns) == list(ts.columns)
    from_frame = run_outcomes(ts, ladders, None, 12.0)
    from_arrays = run_outcomes(columns, ladders, None, 12.0)
    assert list(from_frame) == list(from_arrays)
    for key, value in from_frame.items():
        other = from_arrays[key]
        assert type(value) is type(other), key
        assert value == other or (np.isnan(value) and np.isnan(other)), key
    names = series_names(list(ts.columns), list(sc.actors))
    assert names == series_names(list(columns), list(sc.actors))
    for key, values in step_series(ts, names).items():
        np.testing.assert_array_equal(values, step_series(columns, names)[key])
        assert values.dtype == step_series(columns, names)[key].dtype


def test_table_with_one_column_of_a_kind_and_none_of_others_pickles():
    import pickle

    table = SeriesTable([("step", "int"), ("x", "float"), ("y", "float")], rows=1)
    table.add_row((1, 0.5, 2.5))
    table.add_row((2, 1.5, 3.5))
    copy = pickle.loads(pickle.dumps(table))
    pd.testing.assert_frame_equal(
        copy.frame(), pd.DataFrame({"step": [1, 2], "x": [0.5, 1.5], "y": [2.5, 3.5]})
    )


def test_one_bincount_adds_what_np_add_at_adds_per_counter():
    """``_count`` over the shared buffer equals ``np.add.at`` on each counter alone."""
    sc = resolve_scenario(SCENARIOS / "may30_kharkiv_counterfire.yaml", days=5)
    m = EscalationModel(sc, seed=0, record_events=False)
    rng = np.random.default_rng(3)
    for _ in range(20):
        m._count_buf[:] = 0
        pairs = []
        expected = {name: np.zeros(len(v), dtype=np.int64) for name, v in m._counts.items()}
        for name, counter in m._counts.items():
            size = int(rng.integers(0, 12))  # empty index arrays too
            indices = rng.integers(0, len(counter), size)
            pairs.append((name, indices))
            np.add.at(expected[name], indices, 1)
        m._count(*pairs)
        for name, counter in m._counts.items():
            np.testing.assert_array_equal(counter, expected[name])
