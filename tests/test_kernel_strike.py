"""Strike resolution: the compiled kernel and the numpy code agree exactly, state by state.

Models of several scenarios and seeds are run and every call of
:meth:`ForceLayer.strike` is captured (a deep copy of the force layer, the
strike stream and the strikes). Each captured state is then resolved twice
from copies, once on the numpy path and once on the kernel path, and every
output and every array the phase touches is compared bit for bit. The same
is done for states pushed to the edges: no strike, every Russian battery
dead, interceptors running out within the step, several strikes on one
target, several targets in one cell, targets already destroyed or gone.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from test_kernels import _scaled  # the same scaling as the whole-run comparisons

from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.forces import (
    LOST,
    SIDE_RUSSIA,
    SIDE_UKRAINE,
    ForceLayer,
    StrikeOutcome,
)
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")

#: The arrays strike resolution reads and writes, per unit and per Russian battery.
UNIT_STATE = (
    "strength",
    "alive",
    "status",
    "destroyed_now",
    "believed_destroyed",
    "last_struck",
    "last_fired",
)


def _captured(sc, seed: int, days: int, every: int = 1) -> list[tuple]:
    """(force layer, stream, targets, weapons, launchers, step, cover) at each strike call of a run.

    ``cover`` is what planning handed over (``StrikePlan.cover``); both paths resolve with it.
    """
    states: list[tuple] = []
    original = ForceLayer.strike

    def capture(self, targets, weapons, launchers, rng, step=0, cover=None):
        if step % every == 0:
            states.append(copy.deepcopy((self, rng, targets, weapons, launchers, step, cover)))
        return original(self, targets, weapons, launchers, rng, step, cover=cover)

    ForceLayer.strike = capture
    try:
        m = EscalationModel(sc, seed=seed, record_events=False)
        m.run_for(days)
    finally:
        ForceLayer.strike = original
    return states


def _resolve(state: tuple, *, compiled: bool) -> tuple[ForceLayer, StrikeOutcome, dict]:
    forces, rng, targets, weapons, launchers, step, cover = copy.deepcopy(state)
    if compiled:
        out = forces.strike(targets, weapons, launchers, rng, step, cover=cover)
    else:
        with kernels.disabled():
            out = forces.strike(targets, weapons, launchers, rng, step, cover=cover)
    return forces, out, rng.bit_generator.state


def _assert_same(a: tuple, b: tuple) -> None:
    fa, oa, ra = a
    fb, ob, rb = b
    for name in StrikeOutcome.__slots__:
        x, y = getattr(oa, name), getattr(ob, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)
        if x.dtype.kind == "f":  # bit for bit, signed zeros and NaN payloads included
            np.testing.assert_array_equal(x.view(np.int64), y.view(np.int64), err_msg=name)
    for name in UNIT_STATE:
        x, y = getattr(fa, name), getattr(fb, name)
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)
    np.testing.assert_array_equal(
        fa.strength.view(np.int64), fb.strength.view(np.int64), err_msg="strength bits"
    )
    np.testing.assert_array_equal(fa.ru_ad.interceptors, fb.ru_ad.interceptors, strict=True)
    assert fa.ru_ad.used == fb.ru_ad.used
    assert ra == rb, "the two paths drew differently"


def _check(state: tuple) -> StrikeOutcome:
    numpy_side = _resolve(state, compiled=False)
    _assert_same(_resolve(state, compiled=True), numpy_side)
    return numpy_side[1]


CASES = [
    ("may30_kharkiv_counterfire", 0, 1),
    ("may30_kharkiv_counterfire", 5, 1),
    ("deep_strike", 2, 1),
    ("us_widening_schedule", 1, 1),
    ("adaptive_policy", 4, 1),
    ("pre_may30", 0, 1),
]


@pytest.fixture(scope="module")
def states() -> dict[tuple[str, int, int], list[tuple]]:
    out = {}
    for name, seed, factor in CASES:
        sc = _scaled(load_scenario(ROOT / f"scenarios/{name}.yaml"), factor)
        out[name, seed, factor] = _captured(sc, seed, 40)
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-s{c[1]}")
def test_every_step_of_a_run_resolves_the_same(states, case) -> None:
    captured = states[case]
    assert len(captured) == 40
    struck = 0
    for state in captured:
        struck += len(_check(state).damage)
        # The cover planning handed over resolves as the cover read afresh would.
        _assert_same(_resolve(state, compiled=True), _resolve((*state[:6], None), compiled=True))
    if case[0] != "pre_may30":  # pre-May-30 rules may forbid nearly every strike
        assert struck > 0


def test_ten_times_the_forces_resolve_the_same() -> None:
    sc = _scaled(load_scenario(ROOT / "scenarios/deep_strike.yaml"), 10)
    captured = _captured(sc, 3, 25, every=3)
    assert sum(len(_check(s).damage) for s in captured) > 20


def _busy_states(states) -> list[tuple]:
    """Captured states with at least three strikes, from every case."""
    return [s for v in states.values() for s in v if len(s[2]) >= 3]


def _edit(state: tuple, fn) -> tuple:
    state = copy.deepcopy(state)
    forces, rng, targets, weapons, launchers, step, _ = state
    targets, weapons, launchers = fn(forces, targets, weapons, launchers) or (
        targets,
        weapons,
        launchers,
    )
    # The edit changes the targets or the batteries: the cover is read afresh.
    return forces, rng, targets, weapons, launchers, step, None


def test_no_strike_resolves_the_same(states) -> None:
    state = next(iter(states.values()))[0]
    empty = np.zeros(0, dtype=np.int64)
    out = _check((*state[:2], empty, empty, empty, state[5], None))
    assert len(out.damage) == 0


def test_every_russian_battery_dead(states) -> None:
    def kill_batteries(f, *_):
        f.alive[f.ru_ad.units] = False
        f.strength[f.ru_ad.units] = 0.0
        f.status[f.ru_ad.units] = LOST

    for state in _busy_states(states)[:15]:
        out = _check(_edit(state, kill_batteries))
        assert not out.intercepted.any()


def test_interceptors_run_out_within_the_step(states) -> None:
    spent = 0
    for state in _busy_states(states)[:30]:
        forces = state[0]
        if len(forces.ru_ad.units) == 0:
            continue

        def few_left(f, targets, weapons, launchers):
            f.ru_ad.interceptors[:] = 1.0
            f.ru_ad.interceptors[::2] = 2.0
            # Every strike repeated: more engagements than interceptors in one cell.
            return np.repeat(targets, 3), np.repeat(weapons, 3), np.repeat(launchers, 3)

        edited = _edit(state, few_left)
        before = edited[0].ru_ad.interceptors.copy()
        _check(edited)
        after = _resolve(edited, compiled=True)[0].ru_ad.interceptors
        spent += int((before - after).sum())
        assert (after >= 0).all()
    assert spent > 0, "no case spent an interceptor: the edge is not exercised"


def test_several_strikes_on_one_target_and_several_targets_in_one_cell(states) -> None:
    for state in _busy_states(states)[:20]:

        def pile_up(f, targets, weapons, launchers):
            # The first target struck by every strike; then all targets moved into its cell.
            first = np.full_like(targets, targets[0])
            return np.r_[first, targets], np.r_[weapons, weapons], np.r_[launchers, launchers]

        _check(_edit(state, pile_up))

        def one_cell(f, targets, weapons, launchers):
            f.move_to(targets, np.full(len(targets), f.x[targets[0]]), f.depth[targets])
            return None

        _check(_edit(state, one_cell))


def test_targets_already_destroyed_or_gone(states) -> None:
    outcomes = {"already": 0, "moved": 0, "destroyed": 0}
    for state in _busy_states(states)[:25]:

        def mixed(f, targets, weapons, launchers):
            t = targets[::3]
            f.alive[t] = False
            f.status[t] = LOST
            f.strength[t] = 0.0
            f.leave_h[targets[1::3]] = 0.0  # gone before anything arrives
            f.strength[targets[2::3]] = f.destroyed_below + 1e-3  # one salvo finishes it
            return None

        out = _check(_edit(state, mixed))
        outcomes["already"] += int(out.already_destroyed.sum())
        outcomes["moved"] += int(out.moved.sum())
        outcomes["destroyed"] += int(out.destroyed.sum())
    assert all(v > 0 for v in outcomes.values()), outcomes


def test_random_strikes_on_random_states(states) -> None:
    # Strikes no plan would choose: any Russian unit, any weapon, any launcher, repeats.
    pick = np.random.default_rng(7)
    for state in [s for v in states.values() for s in v[::4]]:

        def anything(f, *_):
            russian = np.flatnonzero(f.side == SIDE_RUSSIA)
            k = int(pick.integers(1, 40))
            return (
                pick.choice(russian, k),
                pick.integers(0, len(f.weapon_ids), k),
                pick.choice(np.flatnonzero((f.side == SIDE_UKRAINE) & (f.unit_shots > 0)), k),
            )

        _check(_edit(state, anything))


def test_the_comparison_detects_a_difference(states) -> None:
    state = _busy_states(states)[0]
    forces, out, rng = _resolve(state, compiled=True)
    other = copy.deepcopy((forces, out, rng))
    first = state[2][0]
    other[0].strength[first] = np.nextafter(other[0].strength[first], 2.0)
    with pytest.raises(AssertionError):
        _assert_same((forces, out, rng), other)
    other = copy.deepcopy((forces, out, rng))
    other[1].miss_km[0] = np.nextafter(other[1].miss_km[0], np.inf)
    with pytest.raises(AssertionError):
        _assert_same((forces, out, rng), other)


# --- the caller's bookkeeping: EscalationModel._ukrainian_strikes, compiled and numpy


def _captured_models(sc, seed: int, days: int) -> list[tuple]:
    """(model, arguments) at each call of ``_ukrainian_strikes`` in a run with the event log on."""
    states: list[tuple] = []
    original = EscalationModel._ukrainian_strikes

    def capture(self, *args):
        states.append(copy.deepcopy((self, args)))
        return original(self, *args)

    EscalationModel._ukrainian_strikes = capture
    try:
        EscalationModel(sc, seed=seed, record_events=True).run_for(days)
    finally:
        EscalationModel._ukrainian_strikes = original
    return states


def _strikes_step(state: tuple, *, compiled: bool) -> tuple:
    model, args = copy.deepcopy(state)
    if compiled:
        destroyed = model._ukrainian_strikes(*args)
    else:
        with kernels.disabled():
            destroyed = model._ukrainian_strikes(*args)
    return model, destroyed


def _assert_same_bookkeeping(a: tuple, b: tuple) -> None:
    (ma, da), (mb, db) = a, b
    assert da == db
    ra, rb = ma.strike_report, mb.strike_report
    for name in ra.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name), err_msg=name)
        assert getattr(ra, name).dtype == getattr(rb, name).dtype, name
    np.testing.assert_array_equal(ma.stock, mb.stock, strict=True)
    np.testing.assert_array_equal(ma._count_buf, mb._count_buf, strict=True)
    np.testing.assert_array_equal(ma.memory._deepest, mb.memory._deepest, strict=True)
    assert ma._strikes_in_russia_now == mb._strikes_in_russia_now
    assert ma._constrained_now == mb._constrained_now
    assert ma.events.records() == mb.events.records()
    for name in UNIT_STATE:
        np.testing.assert_array_equal(getattr(ma.forces, name), getattr(mb.forces, name))
    streams_a = [ma.streams[k].bit_generator.state for k in sorted(ma.streams)]
    assert streams_a == [mb.streams[k].bit_generator.state for k in sorted(mb.streams)]


@pytest.mark.parametrize(
    "name, seed",
    [
        ("may30_kharkiv_counterfire", 2),
        ("deep_strike", 6),
        ("adaptive_policy", 1),
        ("pre_may30", 3),
    ],
)
def test_the_strike_bookkeeping_is_the_same_both_ways(name: str, seed: int) -> None:
    states = _captured_models(load_scenario(ROOT / f"scenarios/{name}.yaml"), seed, 30)
    strikes = withheld = 0
    for state in states:
        compiled = _strikes_step(state, compiled=True)
        _assert_same_bookkeeping(compiled, _strikes_step(state, compiled=False))
        strikes += len(compiled[0].strike_report.target)
        withheld += int(compiled[0]._counts["withheld.rule"].sum())
    assert strikes + withheld > 0
    if name == "pre_may30":  # the rules withhold what would strike inside Russia
        assert withheld > 0


def test_the_bookkeeping_comparison_detects_a_difference() -> None:
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    state = _captured_models(sc, 2, 12)[-1]
    a = _strikes_step(state, compiled=True)
    b = _strikes_step(state, compiled=True)
    _assert_same_bookkeeping(a, b)
    b[0].stock[0] = np.nextafter(b[0].stock[0], -np.inf)
    with pytest.raises(AssertionError):
        _assert_same_bookkeeping(a, b)
    b = _strikes_step(state, compiled=True)
    b[0]._count_buf[-1] += 1
    with pytest.raises(AssertionError):
        _assert_same_bookkeeping(a, b)


def test_one_compilation_of_each_kernel_serves_every_scenario() -> None:
    from escalation_sim.model.kernels import build, strike

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        for factor in (1, 10):
            EscalationModel(_scaled(load_scenario(path), factor), seed=1).run_for(12)
    compiled = {
        "resolve_strikes": strike.resolve_strikes,
        "strike_bookkeeping": strike.strike_bookkeeping,
        "cells_within": build.cells_within,
        "launch_tables": build.launch_tables,
        "kept_in_zone": build.kept_in_zone,  # the placement calls in_zone through it
    }
    for name, fn in compiled.items():
        assert len(fn.signatures) == 1, (name, fn.signatures)
