"""Rule verdicts: the compiled kernel and the numpy code give the same verdict indices, bit for bit.

``RuleEngine.decide`` (:mod:`escalation_sim.model.rules`) has a numpy path
(the reference: the whole rules x strikes match matrix) and a kernel path
(:func:`escalation_sim.model.kernels.rules.decide_batch`: a loop to the first
matching rule). Here both decide the same batches: random rule sets and
strikes (the strategies of ``test_rules_properties``), raw batches with
extreme values, the batches real runs of every shipped scenario hand the
engine (forces x1 and x10), and edge cases: no rules, no strikes, every rule
conditional and off, zones none and all, infinite windows, depths at 0 and at
the band edges.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from test_rules_properties import (
    SUPPLIERS,
    WEAPONS,
    ZONE_IDS,
    Case,
    cases,
    engine_for,
    rule_sets,
    worlds,
)

from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.kernels import plan as plan_kernels
from escalation_sim.model.kernels import rules as rule_kernels
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.rules import RuleEngine, StrikeBatch, WorldState
from escalation_sim.scenario.schema import ConditionSpec, RuleSpec

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
MAY30 = ROOT / "scenarios/may30_kharkiv_counterfire.yaml"
TINY = np.nextafter(0.0, 1.0)

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


def both_paths(engine: RuleEngine, batch: StrikeBatch, world: WorldState | None) -> np.ndarray:
    """Decide ``batch`` on both paths, assert the answers are identical, return them."""
    assert kernels.enabled()
    compiled = engine.decide(batch, world)
    with kernels.disabled():
        reference = engine.decide(batch, world)
    assert compiled.dtype == reference.dtype == np.int64
    np.testing.assert_array_equal(compiled, reference, strict=True)
    return compiled


def raw_batch(weapon, target_class, depth, zone_bits, fired, preparing, attacks) -> StrikeBatch:
    return StrikeBatch(
        weapon=np.asarray(weapon, dtype=np.int64),
        target_class=np.asarray(target_class, dtype=np.int64),
        depth_km=np.asarray(depth, dtype=np.float64),
        zone_bits=np.asarray(zone_bits, dtype=np.int64),
        fired_hours_ago=np.asarray(fired, dtype=np.float64),
        preparing_attack=np.asarray(preparing, dtype=bool),
        attacks_ukraine=np.asarray(attacks, dtype=bool),
    )


def edges(engine: RuleEngine) -> list[float]:
    """Every depth bound of the engine's rules and its neighbours on either side."""
    out = [0.0, -0.0, TINY, -TINY, 1e308, -1e308, np.inf, -np.inf]
    for x in np.concatenate([engine._lo, engine._hi]):
        if np.isfinite(x):
            out += [float(x), float(np.nextafter(x, -np.inf)), float(np.nextafter(x, np.inf))]
    return out


# --- random rule sets and batches ---------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_same_verdicts_on_random_rule_sets_and_strikes(case: Case) -> None:
    rules, strikes, world = case
    engine = engine_for(rules)
    both_paths(engine, engine.batch(strikes), world)


@st.composite
def extreme_batches(draw: st.DrawFn) -> tuple[RuleEngine, StrikeBatch, WorldState]:
    """A random rule set and a raw batch whose values sit on the engine's edges or far out."""
    engine = engine_for(draw(rule_sets()))
    n = draw(st.integers(0, 40))
    windows = [float(w) for w in engine._window] + [0.0, 1e308, np.inf]
    hours = st.sampled_from(windows) | st.floats(0, 1e308, allow_nan=False) | st.just(np.inf)
    hours = hours | st.sampled_from([float(np.nextafter(w, np.inf)) for w in windows])
    n_zones = len(engine.zone_ids)
    bits = st.integers(0, (1 << n_zones) - 1) | st.sampled_from([0, -1, (1 << 62) | 1])
    batch = raw_batch(
        draw(st.lists(st.integers(0, len(engine.weapon_ids) - 1), min_size=n, max_size=n)),
        draw(st.lists(st.integers(0, len(engine.class_ids) - 1), min_size=n, max_size=n)),
        draw(st.lists(st.sampled_from(edges(engine)), min_size=n, max_size=n)),
        draw(st.lists(bits, min_size=n, max_size=n)),
        draw(st.lists(hours, min_size=n, max_size=n)),
        draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        draw(st.lists(st.booleans(), min_size=n, max_size=n)),
    )
    return engine, batch, draw(worlds)


@settings(max_examples=300, deadline=None)
@given(case=extreme_batches())
def test_same_verdicts_on_extreme_values_and_band_edges(case) -> None:
    engine, batch, world = case
    both_paths(engine, batch, world)


# --- the batches of real runs ---------------------------------------------------------


def _scaled(sc, factor: int):
    forces = {
        g: spec.model_copy(update={"count": spec.count * factor}) for g, spec in sc.forces.items()
    }
    return sc.model_copy(update={"forces": forces})


def _captured(sc, seed: int, days: int) -> list[bytes]:
    """Every non-empty ``decide`` call of a run: (engine, batch, world), pickled.

    The run plans on the numpy path, which hands its batches to ``decide``; the
    kernel path decides the same batches inside planning's kernel
    (``kernels.plan.decide_and_assign``, whose plans ``test_kernel_plan`` compares).
    """
    calls: list[bytes] = []
    real = RuleEngine.decide

    def spy(self, b, world=None):
        if len(b.weapon):
            calls.append(pickle.dumps((self, b, world)))
        return real(self, b, world)

    with pytest.MonkeyPatch.context() as mp, kernels.disabled():
        mp.setattr(RuleEngine, "decide", spy)
        EscalationModel(sc, seed=seed).run_for(days)
    return calls


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_same_verdicts_on_the_batches_of_real_runs(path: Path) -> None:
    sc = load_scenario(path)
    calls = [c for seed in (0, 3) for c in _captured(sc, seed, 60)]
    assert calls, "the run proposed no strike: nothing was compared"
    for blob in calls:
        engine, batch, world = pickle.loads(blob)
        both_paths(engine, batch, world)


def test_same_verdicts_with_ten_times_the_forces() -> None:
    calls = _captured(_scaled(load_scenario(MAY30), 10), 1, 30)
    assert calls
    for blob in calls:
        engine, batch, world = pickle.loads(blob)
        both_paths(engine, batch, world)


def test_one_compilation_serves_every_shipped_scenario() -> None:
    # The model reaches its verdicts inside the planning kernel; the engine's own kernel
    # serves direct calls. Signatures are per process, and other tests in this worker may
    # have compiled others (random engines): what the runs below add is what counts.
    dispatchers = (plan_kernels.decide_and_assign, rule_kernels.decide_batch)
    before = [set(d.signatures) for d in dispatchers]
    for path in SCENARIOS:
        for factor in (1, 10):
            EscalationModel(_scaled(load_scenario(path), factor), seed=2).run_for(10)
    added = [set(d.signatures) - b for d, b in zip(dispatchers, before, strict=True)]
    assert plan_kernels.decide_and_assign.signatures, "the planning kernel was not called"
    assert all(len(a) <= 1 for a in added), added


# --- edge cases -----------------------------------------------------------------------


def _some_strikes(engine: RuleEngine, n: int = 60, seed: int = 0) -> StrikeBatch:
    """Strikes over every weapon and class, depths on the band edges, mixed evidence."""
    rng = np.random.default_rng(seed)
    return raw_batch(
        rng.integers(0, len(engine.weapon_ids), n),
        rng.integers(0, len(engine.class_ids), n),
        rng.choice(edges(engine), n),
        rng.integers(0, 1 << len(engine.zone_ids), n),
        rng.choice([0.0, 24.0, 72.0, 72.00000000000001, 500.0, np.inf], n),
        rng.random(n) < 0.5,
        rng.random(n) < 0.5,
    )


def test_no_rules_and_no_restricting_supplier() -> None:
    for rules in ({}, {s: [] for s in SUPPLIERS}):
        engine = engine_for(rules)
        verdicts = both_paths(engine, _some_strikes(engine), WorldState())
        assert len(verdicts) == 60


def test_no_strikes() -> None:
    engine = engine_for({"USA": [RuleSpec(id="a", effect="allow")]})
    empty = raw_batch([], [], [], [], [], [], [])
    assert both_paths(engine, empty, None).shape == (0,)
    assert both_paths(engine_for({}), empty, None).shape == (0,)


def test_every_rule_conditional_and_off() -> None:
    off = ConditionSpec(actor="RUS", rung_below=0)  # rung < 0 never holds
    rules = {
        s: [RuleSpec(id=f"{s.lower()}-{e}", effect=e, condition=off) for e in ("forbid", "allow")]
        for s in SUPPLIERS
    }
    engine = engine_for(rules)
    verdicts = both_paths(engine, _some_strikes(engine), WorldState({"RUS": 3}))
    assert (verdicts >= len(engine.rules)).all()  # only fallbacks decide


def test_zones_none_empty_and_all() -> None:
    for zones in (None, [], list(ZONE_IDS)):
        rules = {
            "USA": [
                RuleSpec(id="f", effect="forbid", zones=zones, min_depth_km=100.0),
                RuleSpec(id="a", effect="allow", territory="any", zones=zones),
            ]
        }
        engine = engine_for(rules)
        both_paths(engine, _some_strikes(engine, 200, seed=1), None)


def test_infinite_and_largest_windows() -> None:
    # The schema asks for a finite window; the engine must still agree on an infinite one.
    base = RuleSpec(id="cf", effect="allow", purpose="counter_fire")
    for window in (np.inf, 1e308, 5e-324):
        rules = {"USA": [base.model_copy(update={"counter_fire_window_hours": window})]}
        engine = engine_for(rules)
        both_paths(engine, _some_strikes(engine, 200, seed=2), None)


def test_depths_at_zero_and_at_the_band_edges() -> None:
    rules = {
        "USA": [
            RuleSpec(id="deep", effect="forbid", min_depth_km=90.0, max_depth_km=300.0),
            RuleSpec(id="ua", effect="allow", territory="ukraine", max_depth_km=0.0),
            RuleSpec(id="border", effect="allow", max_depth_km=90.0, purpose="self_defense"),
            RuleSpec(
                id="zero", effect="allow", territory="any", min_depth_km=0.0, max_depth_km=0.0
            ),
        ]
    }
    engine = engine_for(rules)
    usa = [i for i, w in enumerate(engine.weapon_ids) if WEAPONS[w].supplier == "USA"]
    depths = edges(engine)
    n = len(depths)
    batch = raw_batch([usa[0]] * n, [0] * n, depths, [0] * n, [np.inf] * n, [False] * n, [True] * n)
    verdicts = both_paths(engine, batch, None)
    labels = [engine.labels[i] for i in verdicts]
    assert labels[depths.index(90.0)] == "deep"
    assert labels[depths.index(float(np.nextafter(90.0, 0.0)))] == "border"
    assert labels[depths.index(TINY)] == "border"
    assert labels[depths.index(0.0)] == "ua"


def test_the_comparison_detects_a_perturbation() -> None:
    rules = {"USA": [RuleSpec(id="edge", effect="allow", max_depth_km=90.0)]}
    engine = engine_for(rules)
    usa = next(i for i, w in enumerate(engine.weapon_ids) if WEAPONS[w].supplier == "USA")
    batch = raw_batch([usa], [0], [90.0], [0], [np.inf], [False], [True])
    both_paths(engine, batch, None)
    # The kernel's band shifted by one ulp (the numpy path's is not): the edge strike flips.
    engine._rule_float = engine._rule_float.copy()
    engine._rule_float[rule_kernels.RULE_HI, 0] = np.nextafter(90.0, 0.0)
    with pytest.raises(AssertionError):
        both_paths(engine, batch, None)


def test_an_index_outside_the_catalogue_is_refused_by_the_kernel() -> None:
    engine = engine_for({"USA": [RuleSpec(id="a", effect="allow")]})
    n_w, n_c = len(engine.weapon_ids), len(engine.class_ids)
    for weapon, cls in ((n_w, 0), (-1, 0), (0, n_c), (0, -1)):
        batch = raw_batch(
            [0, weapon], [0, cls], [10.0] * 2, [0] * 2, [np.inf] * 2, [False] * 2, [True] * 2
        )
        with pytest.raises(IndexError, match="outside the catalogue"):
            engine.decide(batch)
