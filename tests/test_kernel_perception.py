"""The perception kernel equals the numpy path in every column it hands back, depth band included.

``tests/test_kernel_record.py`` compares the suppliers, weapon, zone, rule,
class, depth and weight of the noticed strikes through runs and on synthetic
reports; here every column is compared, with depths on, just past and far
beyond the band edges (the depth band names a precedent), under band settings
of every shape, and the comparison is shown to catch a one-ulp difference.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from test_kernel_record import (  # strikes of every weapon, targets repeated; both paths
    _bits,
    _noticed_both,
    _synthetic_report,
)

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.engagement import StrikeReport
from escalation_sim.model.kernels import perception as perception_kernels
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
DEEP = ROOT / "scenarios/deep_strike.yaml"


def _assert_same(a, b) -> None:
    assert (a is None) == (b is None)
    if a is None:
        return
    (cols_a, w_a), (cols_b, w_b) = a, b
    assert len(cols_a) == len(cols_b) == 8
    for i in (0, 1, 2, 3, 4, 5, 7):  # suppliers (seen, true), weapon, zone, rule, class, band
        assert cols_a[i] == cols_b[i], i
        assert all(type(v) is int for v in cols_b[i]), i
    np.testing.assert_array_equal(_bits(cols_a[6]), _bits(cols_b[6]))  # depths
    np.testing.assert_array_equal(_bits(w_a), _bits(w_b))  # perceived weights


def _edge_report(m: EscalationModel, edges: list[float], n: int, seed: int) -> StrikeReport:
    """``n`` strikes inside Russia, their depths on, just before and just past each band edge."""
    rng = np.random.default_rng(seed)
    near = [0.0, 1e-12, 5e-324, 1e6, math.inf]
    for e in edges:
        near += [e, math.nextafter(e, math.inf), math.nextafter(e, -math.inf)]
    depth = np.array([near[i % len(near)] for i in range(n)])
    depth = np.where(rng.random(n) < 0.3, rng.uniform(0.0, 400.0, n), depth)
    return dataclasses.replace(_synthetic_report(m, n, seed), depth_km=depth)


@pytest.mark.parametrize(
    "bands", [None, [], [50.0], [10.0, 30.0, 90.0, 300.0], [0.5, 1.0]], ids=str
)
def test_every_column_matches_numpy_at_the_band_edges(bands) -> None:
    overrides = ["decisions.perception.report_prob=0.9"]
    if bands is not None:
        overrides.append(f"decisions.perception.depth_bands_km={bands}")
    m = EscalationModel(with_overrides(load_scenario(DEEP), overrides), seed=0)
    p = m.decisions.perception
    edges = list(p._bands)
    seen_bands: set[int] = set()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        u, z = rng.random((p.n_units, 2)), rng.standard_normal(p.n_units)
        a, b = _noticed_both(p, _edge_report(m, edges, [1, 9, 60][seed % 3], seed), u, z)
        _assert_same(a, b)
        if a is not None:
            seen_bands.update(a[0][7])
            assert a[0][7] == [p.band_index(d) for d in a[0][6]]
    assert seen_bands == set(range(len(edges) + 1))  # every band was reached


def test_the_comparison_detects_a_one_ulp_band_edge() -> None:
    m = EscalationModel(load_scenario(DEEP), seed=0)
    p = m.decisions.perception
    edge = p._bands[0]
    report = _edge_report(m, [edge], 40, 1)
    report.depth_km[:] = edge  # every strike exactly on the first edge: in the first band
    u = np.zeros((p.n_units, 2))  # every strike noticed, none misattributed
    z = np.zeros(p.n_units)
    a = p._noticed_numpy(report, u, z)
    p._band_edges = np.nextafter(p._band_edges, -np.inf)  # the edges one ulp shallower
    b = p._noticed_compiled(report, u, z)
    assert set(a[0][7]) == {0} and set(b[0][7]) == {1}
    with pytest.raises(AssertionError):
        _assert_same(a, b)


def test_one_compilation_serves_every_band_setting() -> None:
    for bands in ([], [50.0], [10.0, 30.0, 90.0]):
        sc = with_overrides(load_scenario(DEEP), [f"decisions.perception.depth_bands_km={bands}"])
        EscalationModel(sc, seed=1, record_events=False).run_for(10)
    assert len(perception_kernels.strikes_noticed.signatures) == 1


def test_the_kernels_noise_factor_is_the_c_librarys_exp() -> None:
    # The kernel multiplies each weight by numba's math.exp of the noise argument; the
    # numpy path by libm.exp (math.exp element by element). Checked on many noticed strikes
    # against math.exp directly, on values where numpy's own exp would differ.
    m = EscalationModel(load_scenario(DEEP), seed=0)
    p = m.decisions.perception
    noise = p.spec.noise_sd
    assert noise > 0
    report = _edge_report(m, list(p._bands), 3000, 4)
    rng = np.random.default_rng(4)
    u = np.zeros((p.n_units, 2))  # every strike noticed, none misattributed
    z = rng.standard_normal(p.n_units)
    cols, noisy = p._noticed_compiled(report, u, z)
    p._kernel_params = p._kernel_params.copy()
    p._kernel_params[perception_kernels.NOISE] = 0.0
    _, plain = p._noticed_compiled(report, u, z)
    noticed = np.flatnonzero(report.depth_km > 0)
    args = [noise * v - 0.5 * noise * noise for v in z[report.target[noticed]].tolist()]
    expected = [w * math.exp(a) for w, a in zip(plain.tolist(), args, strict=True)]
    np.testing.assert_array_equal(_bits(noisy), _bits(expected))
    numpy_factor = plain * np.exp(np.array(args))
    assert len(cols[0]) == len(noticed) > 1000
    assert (_bits(numpy_factor) != _bits(expected)).any() or not _numpy_exp_differs()


def _numpy_exp_differs() -> bool:
    """Whether numpy's exp differs from the C library's on this machine (its vector code)."""
    x = np.random.default_rng(0).normal(0.0, 0.5, 5000)
    return any(e != math.exp(v) for e, v in zip(np.exp(x).tolist(), x.tolist(), strict=True))


def test_the_output_arrays_grow_for_a_long_report_and_keep_their_types() -> None:
    m = EscalationModel(load_scenario(DEEP), seed=0)
    p = m.decisions.perception
    rng = np.random.default_rng(2)
    u, z = rng.random((p.n_units, 2)), rng.standard_normal(p.n_units)
    before = p._noticed_ints.shape[1]
    for n in (before + 1, 3 * before, 5, 1):  # longer than the arrays, then short again
        a, b = _noticed_both(p, _edge_report(m, list(p._bands), n, n), u, z)
        _assert_same(a, b)
        assert p._noticed_ints.shape[1] >= 3 * before or n == before + 1
    assert (p._noticed_ints.dtype, p._noticed_floats.dtype) == (np.int64, np.float64)
    assert p._noticed_ints.flags.c_contiguous and p._noticed_floats.flags.c_contiguous
