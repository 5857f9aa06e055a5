"""The recording kernels give what the numpy reference gives, bit for bit, on many states.

``EscalationModel._record`` takes the force layer's tallies for a row of the
time series either from one compiled call (:mod:`escalation_sim.model.kernels.record`)
or from numpy (``_tallies_numpy``). Models of every shipped scenario are run
some steps on a few seeds, copied, and each copy records once by either path:
the tallies, the row written to the table and the counters' reset must match
exactly (floats compared as bit patterns, so a NaN or a last-place difference
counts). Edge cases: the first row (nothing happened yet), every Russian unit
dead, unlimited and exhausted interceptors, no air defence at all, ten times the
forces (several units in one cell), and the pairwise sum numpy uses against
``np.sum`` itself.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.forces import SIDE_RUSSIA
from escalation_sim.model.kernels import perception as perception_kernels
from escalation_sim.model.kernels import record as record_kernels
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


def _bits(values) -> np.ndarray:
    """Values as float64 bit patterns (NaN and -0.0 compared exactly)."""
    return np.asarray(values, dtype=np.float64).view(np.int64)


def _assert_tallies_equal(a, b) -> None:
    ints_a, icpt_a, depth_a, block_a = a
    ints_b, icpt_b, depth_b, block_b = b
    assert ints_a == ints_b
    assert all(type(x) is int for x in ints_a + ints_b)
    np.testing.assert_array_equal(_bits(icpt_a), _bits(icpt_b))
    np.testing.assert_array_equal(_bits(depth_a), _bits(depth_b))
    np.testing.assert_array_equal(_bits(block_a), _bits(block_b))


def _both_paths(model: EscalationModel):
    """The tallies by numpy and by the kernel, each from its own copy of ``model``."""
    by_numpy, by_kernel = copy.deepcopy(model), copy.deepcopy(model)
    with kernels.disabled():
        a = by_numpy._tallies_numpy()
    b = by_kernel._tallies_compiled()
    # Both reset the step's counters.
    assert not by_numpy._count_buf.any() and not by_kernel._count_buf.any()
    return a, b


def _record_both(model: EscalationModel, k: int):
    """Each path's copy records one row; the tables' last rows and blocks."""
    out = []
    for compiled in (False, True):
        m = copy.deepcopy(model)
        if compiled:
            m._record(k, 1.5, 2.25, (3, 4))
        else:
            with kernels.disabled():
                m._record(k, 1.5, 2.25, (3, 4))
        out.append((m.datacollector.to_dict(), m.datacollector.block().copy(), m))
    return out


def _states(path: Path, seed: int, steps=(0, 7, 33)):
    """The model of ``path`` at each of ``steps`` (before the step's row is recorded)."""
    m = EscalationModel(load_scenario(path), seed=seed, record_events=False)
    done = 0
    for k in steps:
        if k > done:
            m.run_for(k - done)
        done = k
        yield m


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", [0, 5])
def test_tallies_match_numpy_through_runs(path: Path, seed: int) -> None:
    for m in _states(path, seed):
        # A step's counters as the strikes phase left them (the row resets them).
        m._count_buf[:] = np.arange(len(m._count_buf)) % 3
        _assert_tallies_equal(*_both_paths(m))


@pytest.mark.parametrize("path", SCENARIOS[:3], ids=lambda p: p.stem)
def test_a_recorded_row_matches_numpy(path: Path) -> None:
    for m in _states(path, 2, steps=(0, 12)):
        k = round(m.time) + 1
        (cols_a, block_a, ma), (cols_b, block_b, mb) = _record_both(m, k)
        assert list(cols_a) == list(cols_b)
        for name in cols_a:
            a, b = cols_a[name], cols_b[name]
            if isinstance(a, np.ndarray) and a.dtype == np.float64:
                np.testing.assert_array_equal(_bits(a), _bits(b), err_msg=name)
            else:
                assert list(a) == list(b), name
        np.testing.assert_array_equal(_bits(block_a), _bits(block_b))
        assert not ma._count_buf.any() and not mb._count_buf.any()


def test_every_russian_unit_dead() -> None:
    m = next(_states(ROOT / "scenarios/may30_kharkiv_counterfire.yaml", 1, steps=(20,)))
    f = m.forces
    f.alive[f.side == SIDE_RUSSIA] = False
    a, b = _both_paths(m)
    _assert_tallies_equal(a, b)
    assert a[0][0] == 0 and np.isnan(a[2]).all()  # no live Russian unit: no mean depth


def test_unlimited_exhausted_and_absent_interceptors() -> None:
    m = next(_states(ROOT / "scenarios/deep_strike.yaml", 3, steps=(15,)))
    f = m.forces
    ru = f.ru_ad.interceptors
    ru[::2] = np.inf  # unlimited stocks are left out of the sum
    ru[1::4] = 0.0
    f.ua_ad.interceptors[:] = np.inf
    a, b = _both_paths(m)
    _assert_tallies_equal(a, b)
    assert a[1][1] == 0.0
    f.ru_ad.interceptors = np.zeros(0)
    f.ua_ad.interceptors = np.zeros(0)
    _assert_tallies_equal(*_both_paths(m))


def test_ten_times_the_forces() -> None:
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    forces = {g: s.model_copy(update={"count": s.count * 10}) for g, s in sc.forces.items()}
    m = EscalationModel(sc.model_copy(update={"forces": forces}), seed=4, record_events=False)
    m.run_for(10)
    # Fractional stocks over more than one block of numpy's pairwise sum.
    ad = m.forces.ru_ad
    ad.interceptors += np.linspace(0.1, 0.9, len(ad.interceptors))
    assert len(ad.interceptors) > 8  # more than numpy's eight running sums
    _assert_tallies_equal(*_both_paths(m))
    ad.interceptors = np.tile(ad.interceptors, 4)  # more than one block of its pairwise sum
    assert len(ad.interceptors) > record_kernels.BLOCK
    _assert_tallies_equal(*_both_paths(m))


def test_the_comparison_detects_a_perturbation() -> None:
    m = next(_states(ROOT / "scenarios/may30_kharkiv_counterfire.yaml", 0, steps=(9,)))
    a = copy.deepcopy(m)._tallies_numpy()
    f = m.forces
    live_ru = np.flatnonzero(f.alive & (f.side == SIDE_RUSSIA))
    f.depth[live_ru[0]] += 1e-6  # one unit a millimetre deeper
    b = copy.deepcopy(m)._tallies_compiled()
    with pytest.raises(AssertionError):
        _assert_tallies_equal(a, b)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_numpy_sum_is_numpys_sum(scale: float) -> None:
    rng = np.random.default_rng(11)
    sizes = [*range(0, 300), 1000, 1023, 1024, 4099, 20_000]
    for n in sizes:
        a = (rng.random(n) - 0.3) * scale * 10 ** rng.uniform(-4, 4, n)
        assert record_kernels.numpy_sum(a) == np.sum(a), n
        a[rng.random(n) < 0.2] = np.inf
        expected = float(a[np.isfinite(a)].sum())
        assert record_kernels.finite_sum(a) == expected, n
    # And it is not a plain loop: the two differ on some arrays.
    a = rng.random(1000) * 10 ** rng.uniform(-8, 8, 1000)
    assert any(record_kernels.numpy_sum(a[:n]) != _loop_sum(a[:n]) for n in range(9, 1000, 7))


def _loop_sum(a: np.ndarray) -> float:
    total = 0.0
    for x in a.tolist():
        total += x
    return total


# ---------------------------------------------------------------- perception of strikes


def _assert_noticed_equal(a, b) -> None:
    assert (a is None) == (b is None)
    if a is None:
        return
    cols_a, w_a = a
    cols_b, w_b = b
    assert cols_a[:6] == cols_b[:6]  # suppliers (seen, true), weapon, zone, rule, class
    np.testing.assert_array_equal(_bits(cols_a[6]), _bits(cols_b[6]))  # depths
    np.testing.assert_array_equal(_bits(w_a), _bits(w_b))  # perceived weights


def _noticed_both(perception, report, u, z):
    with kernels.disabled():
        a = perception._noticed_numpy(report, u, z)
    return a, perception._noticed_compiled(report, u, z)


def _draws(perception, seed: int):
    rng = np.random.default_rng(seed)
    return rng.random((perception.n_units, 2)), rng.standard_normal(perception.n_units)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_noticed_strikes_match_numpy_through_runs(path: Path) -> None:
    m = EscalationModel(load_scenario(path), seed=6, record_events=False)
    seen_some = 0
    for k in range(40):
        m.step()
        perception = m.decisions.perception
        for draw_seed in (k, 1000 + k):
            a, b = _noticed_both(perception, m.strike_report, *_draws(perception, draw_seed))
            _assert_noticed_equal(a, b)
            seen_some += a is not None
    if "pre_may30" not in path.stem:  # strikes inside Russia happen: the comparison saw some
        assert seen_some > 0


def _synthetic_report(m: EscalationModel, n: int, seed: int):
    """``n`` strikes inside Russia (and some outside), several on the same target, every weapon."""
    from escalation_sim.model.engagement import StrikeReport

    rng = np.random.default_rng(seed)
    f = m.forces
    targets = rng.choice(np.flatnonzero(f.side == SIDE_RUSSIA), size=n)  # repeats: one cell, many
    weapon = rng.integers(0, len(m.weapon_ids), n)
    depth = np.where(rng.random(n) < 0.8, rng.uniform(0.1, 400.0, n), -rng.uniform(0, 50, n))
    return StrikeReport(
        target=targets,
        launcher=np.zeros(n, dtype=np.int64),
        supplier=m._weapon_supplier[weapon],
        weapon=weapon,
        target_class=f.cls[targets],
        rule=rng.integers(0, len(m.rule_labels), n),
        depth_km=depth,
        zone=rng.integers(-1, len(m.theater.zone_ids), n),
        outcome=rng.integers(0, 5, n),
        x_km=np.zeros(n),
    )


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["decisions.perception.noise_sd=0"],  # no noise factor at all
        ["decisions.perception.attribution_accuracy=0.1"],  # most shared munitions misattributed
        ["decisions.perception.attribution_accuracy=1"],  # none
        ["decisions.perception.report_prob=0"],  # nothing noticed
    ],
    ids=["defaults", "no-noise", "poor-attribution", "exact-attribution", "unnoticed"],
)
def test_noticed_strikes_match_numpy_on_synthetic_reports(overrides: list[str]) -> None:
    from escalation_sim import with_overrides
    from escalation_sim.model.engagement import StrikeReport

    sc = with_overrides(load_scenario(ROOT / "scenarios/deep_strike.yaml"), overrides)
    m = EscalationModel(sc, seed=0, record_events=False)
    perception = m.decisions.perception
    assert (perception._family_size > 1).any()  # some munition has several suppliers
    for seed in range(30):
        u, z = _draws(perception, seed)
        report = _synthetic_report(m, [1, 7, 40, 300][seed % 4], seed)
        a, b = _noticed_both(perception, report, u, z)
        _assert_noticed_equal(a, b)
        if "report_prob=0" in " ".join(overrides):
            assert a is None
    # Nothing struck at all.
    u, z = _draws(perception, 99)
    assert _noticed_both(perception, StrikeReport.empty(), u, z) == (None, None)


def test_noticed_comparison_detects_a_perturbation() -> None:
    m = EscalationModel(load_scenario(ROOT / "scenarios/deep_strike.yaml"), seed=0)
    perception = m.decisions.perception
    report = _synthetic_report(m, 50, 3)
    u, z = _draws(perception, 3)
    a = perception._noticed_numpy(report, u, z)
    perception._class_weight = perception._class_weight * (1 + 1e-15)  # one part in 10**15
    b = perception._noticed_compiled(report, u, z)
    with pytest.raises(AssertionError):
        _assert_noticed_equal(a, b)


def test_one_compilation_serves_every_scenario() -> None:
    # Type-stable calls: every shipped scenario (and ten times the forces) calls each
    # kernel with the same argument types, so each has one compiled version.
    for path in SCENARIOS:
        EscalationModel(load_scenario(path), seed=1, record_events=False).run_for(15)
    sc = load_scenario(ROOT / "scenarios/deep_strike.yaml")
    forces = {g: s.model_copy(update={"count": s.count * 10}) for g, s in sc.forces.items()}
    EscalationModel(sc.model_copy(update={"forces": forces}), seed=1).run_for(5)
    assert len(record_kernels.step_tallies.signatures) == 1
    assert len(perception_kernels.strikes_noticed.signatures) == 1
