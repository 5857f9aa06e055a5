"""The step's glue: work done once at set-up, or skipped where provably idle, equals the old work.

Three short cuts of ``EscalationModel``'s strike phase are checked against
the work they replace, on the states of real runs of every shipped scenario
(several seeds) and on edge cases, and each check is shown to fail when the
two differ:

* Ukraine's strike tasking is worked out once per rung at set-up
  (``_tasking_by_rung``), not every step;
* planning hands resolution the Russian air cover it read at the targets'
  cells (``StrikePlan.cover``) instead of resolution reading it again;
* a step with nothing struck and nothing withheld skips the bookkeeping
  kernel (``_nothing_struck`` in place of ``_book_strikes``);
* the world state is read from the actors' list, not the agent set's iterator;
* the table's text and date values are kept as a tuple a row.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model import kernels
from escalation_sim.model.engagement import StrikeReport
from escalation_sim.model.forces import FAMILIES, ForceLayer
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _bits_equal(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} against {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} against {b.shape}"
    if a.dtype.kind == "f":  # bit for bit: signed zeros and NaN payloads included
        np.testing.assert_array_equal(a.view(np.int64), b.view(np.int64), err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


# ------------------------------------------------------------------ tasking per rung


def _tasking_as_before(m: EscalationModel) -> tuple[int, np.ndarray]:
    """The tasking as it was worked out every step before it was tabled."""
    ukr = m.actor[m.ukraine_id]
    mult = ukr.ladder.rung(ukr.rung).strike_multiplier
    capacity = np.array([m.combat.tasking_per_day.get(fam, np.inf) for fam in FAMILIES])
    family = np.floor(capacity * m.step_days * mult + 1e-9)
    return round(m.combat.max_strikes_per_step * mult), family


def _assert_same_tasking(a: tuple[int, np.ndarray], b: tuple[int, np.ndarray]) -> None:
    assert a[0] == b[0] and type(a[0]) is type(b[0])
    _bits_equal(a[1], b[1], "family capacity")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("step_days", [1.0, 0.5, 3.0, 7.0])
def test_tasking_per_rung_equals_the_tasking_worked_out_each_step(path, step_days) -> None:
    sc = with_overrides(load_scenario(path), [f"step_days={step_days}"])
    m = EscalationModel(sc, seed=0, record_events=False)
    ukr = m.actor[m.ukraine_id]
    for level in range(len(ukr.ladder.rungs)):
        ukr.rung = level
        _assert_same_tasking(m._strike_tasking(), _tasking_as_before(m))


def test_the_tasking_comparison_detects_a_difference() -> None:
    m = EscalationModel(load_scenario(SCENARIOS[0]), seed=0, record_events=False)
    max_strikes, family = _tasking_as_before(m)
    other = family.copy()
    finite = np.flatnonzero(np.isfinite(other))
    other[finite[0]] = np.nextafter(other[finite[0]], np.inf)
    with pytest.raises(AssertionError):
        _assert_same_tasking((max_strikes, family), (max_strikes, other))
    with pytest.raises(AssertionError):
        _assert_same_tasking((max_strikes, family), (max_strikes + 1, family))


def test_planning_never_spends_the_tabled_capacity() -> None:
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    m = EscalationModel(sc, seed=2, record_events=False)
    before = [(n, fam.copy()) for n, fam in m._tasking_by_rung]
    m.run_for(30)
    assert int(m.timeseries()["strikes"].sum()) > 0
    for (n, fam), (n_after, fam_after) in zip(before, m._tasking_by_rung, strict=True):
        assert n == n_after
        _bits_equal(fam, fam_after, "tabled capacity after 30 steps")


# ------------------------------------------------------------------ the planned cover


def _planned_covers(sc, seed: int, days: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(cover planning handed over, cover read afresh at the targets' cells) at each strike."""
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    original = ForceLayer.strike

    def spy(self, targets, weapons, launchers, rng, step=0, cover=None):
        if cover is not None:
            seen.append((cover.copy(), self.russian_air_cover_at(self.cell[targets])))
        return original(self, targets, weapons, launchers, rng, step, cover=cover)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ForceLayer, "strike", spy)
        EscalationModel(sc, seed=seed, record_events=False).run_for(days)
    return seen


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_planned_cover_is_the_cover_at_the_targets_when_struck(path, compiled) -> None:
    if compiled and not kernels.available():
        pytest.skip("numba is not installed")
    sc = load_scenario(path)
    pairs = []
    for seed in (0, 3):
        if compiled:
            pairs += _planned_covers(sc, seed, 40)
        else:
            with kernels.disabled():
                pairs += _planned_covers(sc, seed, 40)
    assert len(pairs) > 0
    assert sum(len(p) for p, _ in pairs) > 0
    for planned, afresh in pairs:
        _bits_equal(planned, afresh, "planned cover")
    # The scenarios' Russian air defence covers some targets: the check compares real values.
    assert any((p > 0).any() for p, _ in pairs) or path.stem == "pre_may30"


def test_the_cover_comparison_detects_a_one_ulp_difference() -> None:
    pairs = _planned_covers(load_scenario(SCENARIOS[0]), 0, 20)
    planned, afresh = next((p, a) for p, a in pairs if len(p))
    other = planned.copy()
    other[0] = np.nextafter(other[0], 2.0)
    with pytest.raises(AssertionError):
        _bits_equal(other, afresh, "planned cover")


# ------------------------------------------------------------------ nothing struck


def _strike_steps(sc, seed: int, days: int) -> list[tuple]:
    """(model, step, plan, weapons, outcome) at each resolution with kernels on, deep-copied."""
    states: list[tuple] = []
    original = EscalationModel._resolve_strikes_compiled

    def capture(self, k, plan, weapons):
        # Resolve once to get the outcome, then keep the model as the bookkeeping finds it.
        before = copy.deepcopy((self, plan, weapons))
        out = original(self, k, plan, weapons)
        model, plan_c, weapons_c = before
        outcome = model.forces.strike(
            plan_c.target,
            weapons_c,
            plan_c.launcher,
            model.streams["strike"],
            k,
            cover=plan_c.cover,
        )
        states.append((model, k, plan_c, weapons_c, outcome))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(EscalationModel, "_resolve_strikes_compiled", capture)
        EscalationModel(sc, seed=seed, record_events=False).run_for(days)
    return states


def _book(state: tuple, *, skip: bool) -> tuple:
    model, k, plan, weapons, outcome = copy.deepcopy(state)
    book = model._nothing_struck if skip else model._book_strikes
    report, out, wh_rules, destroyed = book(k, plan, weapons, outcome)
    return model, report, out, wh_rules, destroyed


def _assert_same_books(a: tuple, b: tuple) -> None:
    ma, ra, oa, wa, da = a
    mb, rb, ob, wb, db = b
    assert da == db and type(da) is type(db)
    for name in StrikeReport.__slots__:
        _bits_equal(getattr(ra, name), getattr(rb, name), f"report.{name}")
        _bits_equal(getattr(ma.strike_report, name), getattr(ra, name), f"strike_report.{name}")
    _bits_equal(wa, wb, "withheld rule columns")
    assert oa is not None and ob is not None
    _bits_equal(ma.stock, mb.stock, "stock")
    _bits_equal(ma._count_buf, mb._count_buf, "counters")
    _bits_equal(ma.memory._deepest, mb.memory._deepest, "pull-back memory")
    assert ma._strikes_in_russia_now == mb._strikes_in_russia_now
    assert ma._constrained_now == mb._constrained_now


@pytest.mark.skipif(not kernels.available(), reason="numba is not installed")
def test_a_step_with_nothing_struck_books_what_the_kernel_books() -> None:
    empty = 0
    for path, seed in ((path, seed) for path in SCENARIOS for seed in (0, 4)):
        for state in _strike_steps(load_scenario(path), seed, 30):
            _, _, plan, _, _ = state
            if len(plan.target) or len(plan.withheld_rule):
                continue
            empty += 1
            # A memory row left from an earlier cycle: the skip must clear it as the kernel does.
            state[0].memory._deepest[state[1] % state[0].memory.memory_steps] = 3.5
            _assert_same_books(_book(state, skip=True), _book(state, skip=False))
    assert empty > 0, "no step without strikes: the check compared nothing"


@pytest.mark.skipif(not kernels.available(), reason="numba is not installed")
def test_the_books_comparison_detects_a_difference() -> None:
    states = _strike_steps(load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml"), 0, 60)
    state = next(s for s in states if not len(s[2].target) and not len(s[2].withheld_rule))
    a = _book(state, skip=True)
    b = _book(state, skip=False)
    _assert_same_books(a, b)
    b[0].stock[0] = np.nextafter(b[0].stock[0], -np.inf)
    with pytest.raises(AssertionError):
        _assert_same_books(a, b)
    b = _book(state, skip=False)
    b[0].memory._deepest[0, 0] += 1.0
    with pytest.raises(AssertionError):
        _assert_same_books(a, b)
    b = _book(state, skip=False)
    b[0]._strikes_in_russia_now = 1
    with pytest.raises(AssertionError):
        _assert_same_books(a, b)


@pytest.mark.skipif(not kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("name", ["may30_kharkiv_counterfire", "pre_may30"])
def test_whole_runs_are_the_same_without_the_skip(name, monkeypatch) -> None:
    sc = with_overrides(load_scenario(ROOT / f"scenarios/{name}.yaml"), ["horizon_days=40"])
    fast = EscalationModel(sc, seed=7)
    fast.run()
    monkeypatch.setattr(
        EscalationModel,
        "_nothing_struck",
        lambda self, k, plan, weapons, outcome: self._book_strikes(k, plan, weapons, outcome),
    )
    slow = EscalationModel(sc, seed=7)
    slow.run()
    assert fast.timeseries().equals(slow.timeseries())
    assert fast.events.records() == slow.events.records()


# ------------------------------------------------------------------ the world state


def test_the_world_state_lists_every_actors_rung_in_the_agent_sets_order() -> None:
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    m = EscalationModel(sc, seed=1, record_events=False)
    g = np.random.default_rng(2)
    for _ in range(5):
        for a in m.actors:
            a.rung = int(g.integers(0, len(a.ladder.rungs)))
        world = m.world()
        expected = {a.actor_id: a.rung for a in m.actors}  # the agent set, as before
        assert list(world.rungs.items()) == list(expected.items())


# ------------------------------------------------------------------ the table's text columns


@pytest.mark.parametrize(
    "kinds",
    [
        ["int", "str", "float", "date", "str", "bool"],  # several text and date columns
        ["int", "str", "float"],  # one
        ["int", "float", "bool"],  # none
        ["str"],  # nothing else
    ],
)
def test_text_columns_kept_as_row_tuples_read_as_lists_of_their_values(kinds) -> None:
    import datetime as dt
    import pickle

    from escalation_sim.model.recorder import SeriesTable

    g = np.random.default_rng(3)
    columns = [(f"c{i}", kind) for i, kind in enumerate(kinds)]
    table = SeriesTable(columns, rows=2)  # grows past its allocation
    expected: dict[str, list] = {name: [] for name, _ in columns}

    def value(kind: str):
        return {
            "int": lambda: int(g.integers(-5, 5)),
            "float": lambda: float(g.normal()),
            "bool": lambda: bool(g.random() < 0.5),
            "str": lambda: str(g.choice(["", "ally", "escalate"])),
            "date": lambda: dt.date(2024, 5, 30) + dt.timedelta(days=int(g.integers(0, 9))),
        }[kind]()

    empty = table.to_dict()
    assert list(empty) == [name for name, _ in columns]
    assert all(len(v) == 0 for v in empty.values())
    for n in range(1, 12):
        row = [value(kind) for _, kind in columns]
        table.add_row(row)
        for (name, _), v in zip(columns, row, strict=True):
            expected[name].append(v)
        for name, _ in columns:  # read mid-run, as the app does
            got = table.column(name)
            assert (got if isinstance(got, list) else got.tolist()) == expected[name]
        assert n == table.n
    data = pickle.loads(pickle.dumps(table)).to_dict()
    for name, kind in columns:
        got = data[name]
        if kind in ("str", "date"):
            assert type(got) is list and got == expected[name]
        else:
            assert got.tolist() == expected[name]
    # The reading follows each row's own values: a row of other values reads as those.
    text = [i for i, (_, kind) in enumerate(columns) if kind == "str"]
    if not text:
        return
    row = [value(kind) for _, kind in columns]
    row[text[0]] = "a value no other row has"
    table.add_row(row)
    assert table.column(columns[text[0]][0])[-1] == "a value no other row has"
    assert table.to_dict()[columns[text[0]][0]][:-1] == expected[columns[text[0]][0]]
