"""The model build: the compiled pair tables and the numpy code agree exactly.

:func:`escalation_sim.model.kernels.build.cells_within` replaces the numpy
pass of :meth:`Theater.cells_within` when kernels are on. It is compared
with it on random sources (inside and outside the theater, radii from zero
to beyond the theater, radii equal to a cell centre's distance, so that the
boundary test decides), and whole force layers built with the kernels on and
off are compared array by array, for every shipped scenario, several seeds
and ten times the forces.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from test_kernels import _scaled  # the same scaling as the whole-run comparisons

from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.theater import CellPairs, Theater

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


def _same_pairs(th: Theater, x, d, r, *, distances: bool = True) -> int:
    got = th.cells_within(x, d, r, distances=distances)
    with kernels.disabled():
        want = th.cells_within(x, d, r, distances=distances)
    for name in ("source", "cell", "distance_km"):
        a, b = getattr(got, name), getattr(want, name)
        np.testing.assert_array_equal(a, b, err_msg=name, strict=True)
    np.testing.assert_array_equal(got.distance_km.view(np.int64), want.distance_km.view(np.int64))
    return len(got.cell)


@pytest.fixture(scope="module")
def theater() -> Theater:
    return Theater(load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml").theater)


def test_random_sources_give_the_same_pairs(theater: Theater) -> None:
    g = np.random.default_rng(3)
    total = 0
    for n in (0, 1, 2, 7, 40, 300):
        x = g.uniform(theater.x0 - 50, theater.x1 + 50, n)
        d = g.uniform(theater.d0 - 50, theater.d1 + 50, n)
        r = g.choice([0.0, 0.5, 5.0, 12.3, 60.0, 300.0, 2000.0], n)
        total += _same_pairs(theater, x, d, r)
        _same_pairs(theater, x, d, r, distances=False)
        if n:
            _same_pairs(theater, x, d, float(r[0]))  # one radius for all
    assert total > 1000


def test_radii_on_a_cell_centre_give_the_same_pairs(theater: Theater) -> None:
    # Radii exactly at (and one unit in the last place around) a cell centre's distance:
    # the squared-distance shortcut must leave those to hypot.
    g = np.random.default_rng(8)
    cells = g.integers(0, theater.n_cells, 200)
    x = g.uniform(theater.x0, theater.x1, 200)
    d = g.uniform(theater.d0, theater.d1, 200)
    r = np.hypot(theater.cell_x[cells] - x, theater.cell_depth[cells] - d)
    for radius in (r, np.nextafter(r, 0.0), np.nextafter(r, np.inf)):
        _same_pairs(theater, x, d, radius)
    got = theater.cells_within(x, d, r)
    on_edge = got.cell[got.distance_km == r[got.source]]
    assert len(on_edge) >= 150, "the radii did not fall on cell centres"


def _layer_state(forces) -> dict:
    """Every array, list and number of a force layer and its air defence, by name."""
    out = {}
    for owner, prefix in ((forces, ""), (forces.ua_ad, "ua_ad."), (forces.ru_ad, "ru_ad.")):
        for name in dir(owner):
            if name.startswith("__") or name in (
                "th",
                "sc",
                "combat",
                "reserves",
                "ua_ad",
                "ru_ad",
            ):
                continue
            try:
                value = object.__getattribute__(owner, name)
            except AttributeError:
                continue
            if callable(value):
                continue
            out[prefix + name] = value
    for side in ("ua_ad", "ru_ad"):
        pairs = getattr(forces, side).pairs
        for field in ("source", "cell", "distance_km"):
            out[f"{side}.pairs.{field}"] = getattr(pairs, field)
    return out


def _assert_same_layer(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=name, strict=True)
            if x.dtype.kind == "f":
                np.testing.assert_array_equal(x.view(np.int64), y.view(np.int64), err_msg=name)
        elif isinstance(x, list) and x and isinstance(x[0], tuple):  # per-unit (cells, distances)
            assert len(x) == len(y), name
            for (c1, d1), (c2, d2) in zip(x, y, strict=True):
                np.testing.assert_array_equal(c1, c2, err_msg=name, strict=True)
                np.testing.assert_array_equal(d1, d2, err_msg=name, strict=True)
        elif isinstance(x, CellPairs):
            for field in ("source", "cell", "distance_km"):
                np.testing.assert_array_equal(
                    getattr(x, field), getattr(y, field), err_msg=f"{name}.{field}", strict=True
                )
        elif isinstance(x, dict | tuple) or x is None:
            continue  # caches of derived values
        else:
            assert x == y, name


def _built(sc, seed: int, *, compiled: bool) -> dict:
    with contextlib.nullcontext() if compiled else kernels.disabled():
        forces = EscalationModel(sc, seed=seed, record_events=False).forces
        # What is brought up to date when first read (the paths may read it at other times).
        forces._sync()
        forces._sync_reach()
        return _layer_state(forces)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_force_layers_build_the_same(path: Path) -> None:
    sc = load_scenario(path)
    for seed in (0, 7):
        _assert_same_layer(_built(sc, seed, compiled=True), _built(sc, seed, compiled=False))


def test_ten_times_the_forces_build_the_same() -> None:
    sc = _scaled(load_scenario(ROOT / "scenarios/deep_strike.yaml"), 10)
    _assert_same_layer(_built(sc, 2, compiled=True), _built(sc, 2, compiled=False))


def test_the_layer_comparison_detects_a_difference() -> None:
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    a = _built(sc, 0, compiled=True)
    assert len(a) > 100 and len(a["_reach_key"]) > 1000
    b = _built(sc, 0, compiled=True)
    b["_reach_key"] = b["_reach_key"].copy()
    b["_reach_key"][-1] += 1
    with pytest.raises(AssertionError):
        _assert_same_layer(a, b)
    with pytest.raises(AssertionError):
        _assert_same_layer(a, _built(sc, 1, compiled=True))


def test_models_of_one_scenario_share_its_theater_and_only_theirs() -> None:
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    a = EscalationModel(sc, seed=0, record_events=False)
    b = EscalationModel(sc, seed=1, record_events=False)
    assert a.theater is b.theater
    other = sc.model_copy(update={"theater": sc.theater.model_copy(update={"cell_km": 5.0})})
    c = EscalationModel(other, seed=0, record_events=False)
    assert c.theater is not a.theater and c.theater.cell_km == 5.0
    # A theater built afresh and the shared one give the same model.
    fresh = Theater(sc.theater)
    np.testing.assert_array_equal(fresh.cell_x, a.theater.cell_x)
    again = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")  # new spec objects
    d = EscalationModel(again, seed=0, record_events=False)
    assert d.theater is not a.theater
    d.run_for(20)
    a.run_for(20)
    assert d.timeseries().equals(a.timeseries())


def _without(sc, drop) -> object:
    """The scenario with the force groups ``drop(spec)`` selects removed or silenced."""
    forces = {}
    for gid, spec in sc.forces.items():
        changed = drop(spec)
        if changed is not None:
            forces[gid] = changed
    return sc.model_copy(update={"forces": forces})


VARIANTS = {
    "no launch option": lambda g: (
        g.model_copy(update={"shots_per_step": 0}) if g.owner == "UKR" else g
    ),
    "no Russian air defence": lambda g: None if g.owner == "RUS" and g.air_defence else g,
    "no sensor": lambda g: None if g.sensor is not None else g,
}


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_forces_without_a_kind_build_and_run_the_same(variant: str) -> None:
    sc = _without(load_scenario(ROOT / "scenarios/deep_strike.yaml"), VARIANTS[variant])
    f = EscalationModel(sc, seed=4, record_events=False).forces
    emptied = {
        "no launch option": len(f.opt_group),
        "no Russian air defence": len(f.ru_ad.units),
        "no sensor": len(f.radar_idx) + len(f.isr_idx),
    }
    assert emptied[variant] == 0
    _assert_same_layer(_built(sc, 4, compiled=True), _built(sc, 4, compiled=False))
    series = []
    for compiled in (True, False):
        with kernels.disabled() if not compiled else contextlib.nullcontext():
            m = EscalationModel(sc, seed=4, record_events=True)
            m.run_for(15)
            series.append((m.timeseries().to_csv(index=False), m.events.records()))
    assert series[0] == series[1]


def test_placement_membership_is_the_same_as_in_zone(theater: Theater) -> None:
    from escalation_sim.model.kernels import build

    g = np.random.default_rng(12)
    _, _, rf, ri, bits, answers, edges, owner, n_zones, _ = theater.lookup_arrays()
    near = 0
    for i, zone in enumerate(theater.zone_ids):
        outline = np.asarray(theater.spec.zones[zone].outline(), dtype=float)
        # Points anywhere, and points on and next to the outline's vertices and edges.
        t = g.random(400)
        a = outline[g.integers(0, len(outline), 400)]
        b = np.roll(outline, -1, axis=0)[g.integers(0, len(outline), 400)]
        on = a + t[:, None] * (b - a)
        jitter = g.choice([0.0, 1e-12, 1e-6, 0.3], (400, 2)) * g.choice([-1, 1], (400, 2))
        x = np.r_[g.uniform(theater.x0 - 20, theater.x1 + 20, 400), on[:, 0] + jitter[:, 0]]
        d = np.r_[g.uniform(theater.d0 - 20, theater.d1 + 20, 400), on[:, 1] + jitter[:, 1]]
        got = build.in_zone(x, d, i, rf, ri, bits, answers, edges, owner, n_zones)
        want = theater.in_zone(zone, x, d)
        np.testing.assert_array_equal(got, want, err_msg=zone)
        near += int((~theater.raster.look_up(x, d)[1]).sum())
    assert near > 1000, "too few points were left to ray casting"


def test_the_points_kept_are_those_in_zone_in_their_order(theater: Theater) -> None:
    from escalation_sim.model.kernels import build

    g = np.random.default_rng(13)
    _, _, rf, ri, bits, answers, edges, owner, n_zones, _ = theater.lookup_arrays()
    kept = 0
    for i, zone in enumerate(theater.zone_ids):
        for n in (0, 1, 16, 500):
            x = g.uniform(theater.x0 - 20, theater.x1 + 20, n)
            d = g.uniform(theater.d0 - 20, theater.d1 + 20, n)
            gx, gd = build.kept_in_zone(x, d, i, rf, ri, bits, answers, edges, owner, n_zones)
            keep = theater.in_zone(zone, x, d)
            np.testing.assert_array_equal(gx.view(np.int64), x[keep].view(np.int64), strict=True)
            np.testing.assert_array_equal(gd.view(np.int64), d[keep].view(np.int64), strict=True)
            kept += len(gx)
    assert kept > 100


@pytest.mark.parametrize("band", [None, (0.0, 30.0), (-5.0, 5.0)])
def test_placement_draws_the_same_points_and_leaves_the_generator_alike(theater, band) -> None:
    """Kernels on and off: the same points, bit for bit, and the same generator state after."""
    for zone in theater.zone_ids:
        for count in (1, 7, 60):
            draws = []
            for off in (contextlib.nullcontext(), kernels.disabled()):
                rng = np.random.default_rng(21)
                with off:
                    try:
                        x, d = theater.sample_in_zone(zone, count, rng, x_band=band)
                    except ValueError as exc:  # a band that misses the zone: the same error
                        draws.append((str(exc), rng.random()))
                        continue
                draws.append((x.tobytes(), d.tobytes(), rng.random()))
            assert draws[0] == draws[1], (zone, count)


def test_the_placement_comparison_sees_a_one_ulp_difference(theater: Theater) -> None:
    x, d = theater.sample_in_zone(theater.zone_ids[0], 5, np.random.default_rng(21))
    with kernels.disabled():
        y, e = theater.sample_in_zone(theater.zone_ids[0], 5, np.random.default_rng(21))
    assert x.tobytes() == y.tobytes() and d.tobytes() == e.tobytes()
    y[2] = np.nextafter(y[2], np.inf)
    assert x.tobytes() != y.tobytes()
