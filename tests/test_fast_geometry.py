"""The battlefield's precomputed geometry and vectorised look-ups equal the direct computation.

Each fast path of the hot loop (range queries over the cell grid, zone
membership, a firing unit's reach into Ukraine's occupied cells, air-defence
and sensor coverage, carriers' exposure) is checked here against a plain,
one-item-at-a-time computation written out in this file, on random inputs
that include the edge cases (sources outside the grid, radii of zero and
larger than the theater, points on zone borders). Equality is exact: the fast
paths must not change a single bit of any run.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario
from escalation_sim.model import kernels, libm
from escalation_sim.model import theater as theater_module
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.theater import Theater

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"


@pytest.fixture(scope="module")
def th() -> Theater:
    return Theater(load_scenario(MAY30).theater)


# ---------------------------------------------------------------- direct computations


def direct_cells_within(th: Theater, x, depth, radius):
    """One source at a time: its radius's bounding box on the grid, then the centres in range."""
    radius = np.broadcast_to(np.asarray(radius, dtype=float), np.shape(x))
    src, cells, dists = [], [], []
    for i in range(len(x)):
        r = float(radius[i])
        ix0 = max(0, int((x[i] - r - th.x0) // th.cell_km))
        ix1 = min(th.nx - 1, int((x[i] + r - th.x0) // th.cell_km))
        id0 = max(0, int((depth[i] - r - th.d0) // th.cell_km))
        id1 = min(th.nd - 1, int((depth[i] + r - th.d0) // th.cell_km))
        for ix in range(ix0, ix1 + 1):
            for idp in range(id0, id1 + 1):
                c = ix * th.nd + idp
                d = np.hypot(th.cell_x[c] - x[i], th.cell_depth[c] - depth[i])
                if d <= r:
                    src.append(i)
                    cells.append(c)
                    dists.append(d)
    return np.array(src, dtype=np.int64), np.array(cells, dtype=np.int64), np.array(dists)


def direct_inside(x: float, d: float, outline: np.ndarray) -> bool:
    """Even-odd ray casting for one point, edge by edge; a point on an edge is inside."""
    inside = False
    n = len(outline)
    for k in range(n):
        xa, da = outline[k]
        xb, db = outline[(k + 1) % n]
        if (da > d) != (db > d):
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = xa + (d - da) * (xb - xa) / (db - da)
            if x < x_at:
                inside = not inside
    for k in range(n):
        xa, da = outline[k]
        xb, db = outline[(k + 1) % n]
        cross = (xb - xa) * (d - da) - (db - da) * (x - xa)
        length = max(1.0, float(np.hypot(xb - xa, db - da)))
        if (
            abs(cross) <= 1e-9 * length
            and min(xa, xb) - 1e-9 <= x <= max(xa, xb) + 1e-9
            and min(da, db) - 1e-9 <= d <= max(da, db) + 1e-9
        ):
            return True
    return inside


def random_sources(th: Theater, n: int, seed: int):
    rng = np.random.default_rng(seed)
    # Some sources well outside the grid, some radii zero or wider than the theater.
    x = rng.uniform(th.x0 - 100, th.x1 + 100, n)
    d = rng.uniform(th.d0 - 100, th.d1 + 100, n)
    r = rng.choice([0.0, 5.0, 10.0, 28.0, 60.0, 120.0, 500.0, 2000.0], n)
    # Sources exactly on cell centres and corners: distances exactly at the radius.
    x[:5] = th.cell_x[[0, 7, 100, 500, 1000]]
    d[:5] = th.cell_depth[[0, 7, 100, 500, 1000]]
    r[:5] = th.cell_km
    x[5:8] = th.x0 + th.cell_km * np.array([3, 10, 20])
    d[5:8] = th.d0 + th.cell_km * np.array([4, 30, 22])
    return x, d, r


# ---------------------------------------------------------------- range queries


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cells_within_equals_the_cell_by_cell_search(th, seed):
    x, d, r = random_sources(th, 40, seed)
    got = th.cells_within(x, d, r)
    src, cells, dists = direct_cells_within(th, x, d, r)
    assert len(src) > 1000, "the check must cover many pairs"
    np.testing.assert_array_equal(got.source, src)
    np.testing.assert_array_equal(got.cell, cells)
    np.testing.assert_array_equal(got.distance_km, dists)
    assert got.source.dtype == np.int64 and got.cell.dtype == np.int64


def test_cells_within_in_bounded_passes_equals_one_pass(th, monkeypatch):
    x, d, r = random_sources(th, 30, 5)
    whole = th.cells_within(x, d, r)
    monkeypatch.setattr(theater_module, "_PASS_CANDIDATES", 997)
    parts = th.cells_within(x, d, r)
    for a, b in zip(
        (whole.source, whole.cell, whole.distance_km),
        (parts.source, parts.cell, parts.distance_km),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_cells_within_one_radius_for_all_and_no_sources(th):
    x, d, _ = random_sources(th, 12, 3)
    got = th.cells_within(x, d, 45.0)
    src, cells, dists = direct_cells_within(th, x, d, np.full(12, 45.0))
    np.testing.assert_array_equal(got.cell, cells)
    np.testing.assert_array_equal(got.source, src)
    np.testing.assert_array_equal(got.distance_km, dists)
    empty = th.cells_within(np.zeros(0), np.zeros(0), np.zeros(0))
    assert len(empty.source) == len(empty.cell) == len(empty.distance_km) == 0


@pytest.mark.parametrize("seed", [0, 4])
def test_cells_among_is_cells_within_kept_to_the_listed_cells(th, seed, monkeypatch):
    x, d, r = random_sources(th, 50, seed)
    listed = np.unique(np.random.default_rng(seed).integers(0, th.n_cells, 300))
    full = th.cells_within(x, d, r)
    keep = np.isin(full.cell, listed)
    for pass_size in (theater_module._PASS_CANDIDATES, 1000):
        monkeypatch.setattr(theater_module, "_PASS_CANDIDATES", pass_size)
        got = th.cells_among(x, d, r, listed)
        np.testing.assert_array_equal(got.source, full.source[keep])
        np.testing.assert_array_equal(got.cell, full.cell[keep])
        np.testing.assert_array_equal(got.distance_km, full.distance_km[keep])


def test_cell_of_clamps_like_the_grid(th):
    rng = np.random.default_rng(8)
    x = rng.uniform(th.x0 - 50, th.x1 + 50, 2000)
    d = rng.uniform(th.d0 - 50, th.d1 + 50, 2000)
    ix = np.array([min(th.nx - 1, max(0, int((v - th.x0) // th.cell_km))) for v in x])
    idp = np.array([min(th.nd - 1, max(0, int((v - th.d0) // th.cell_km))) for v in d])
    np.testing.assert_array_equal(th.cell_of(x, d), ix * th.nd + idp)


# ---------------------------------------------------------------- zones


def test_zone_bits_and_in_zone_equal_point_by_point_ray_casting(th):
    rng = np.random.default_rng(11)
    x = rng.uniform(th.x0, th.x1, 600)
    d = rng.uniform(th.d0, th.d1, 600)
    # Points on outlines: vertices and edge midpoints (the border, shared zone edges).
    outlines = [np.array(z.outline(), dtype=float) for z in th.spec.zones.values()]
    verts = np.concatenate(outlines)
    mids = np.concatenate([(o + np.roll(o, -1, axis=0)) / 2 for o in outlines])
    x = np.r_[x, verts[:, 0], mids[:, 0]]
    d = np.r_[d, verts[:, 1], mids[:, 1]]
    bits = th.zone_bits(x, d)
    expected = np.zeros(len(x), dtype=np.int64)
    for i, o in enumerate(outlines):
        member = np.array([direct_inside(a, b, o) for a, b in zip(x, d, strict=True)])
        np.testing.assert_array_equal(th.in_zone(th.zone_ids[i], x, d), member)
        expected |= member.astype(np.int64) << i
    np.testing.assert_array_equal(bits, expected)
    assert (bits > 0).sum() > 300 and len(np.unique(bits)) > 5


# ---------------------------------------------------------------- force layer


def test_firing_reach_equals_the_search_over_every_cell_after_moves():
    """A firing unit's targets: occupied Ukrainian cells in reach of its fire position."""
    m = EscalationModel(load_scenario(MAY30), seed=3, record_events=False)
    m.run_for(40)  # units have moved, carriers have pulled their release points back
    f = m.forces
    occupied = np.diff(f.ua_cell_ptr) > 0
    reach = f.w_range[f.rf_weapon]
    pairs = m.theater.cells_within(f.rf_fx, f.rf_fd, reach)
    keep = occupied[pairs.cell]
    expected_cells = pairs.cell[keep]
    expected_ptr = np.r_[0, np.cumsum(np.bincount(pairs.source[keep], minlength=len(f.rf)))]
    np.testing.assert_array_equal(f.rf_cand_ptr, expected_ptr)
    np.testing.assert_array_equal(f.rf_cand_cells, expected_cells)
    assert f.moved_now + f.pulled_back_now >= 0 and len(expected_cells) > 100
    city = np.hypot(f.rf_fx - m.theater.city_xy[0], f.rf_fd - m.theater.city_xy[1]) <= reach
    np.testing.assert_array_equal(f.rf_city_in_range, city)


def test_zone_raster_answers_most_points_and_equals_the_outline_test_everywhere(th):
    rng = np.random.default_rng(21)
    x = rng.uniform(th.x0 - 20, th.x1 + 20, 20000)
    d = rng.uniform(th.d0 - 20, th.d1 + 20, 20000)
    # And points within a few km of every outline, where the raster must step aside.
    outlines = [np.array(z.outline(), dtype=float) for z in th.spec.zones.values()]
    a = np.concatenate(outlines)
    b = np.concatenate([np.roll(o, -1, axis=0) for o in outlines])
    t = rng.uniform(0, 1, (40, len(a)))
    jitter = rng.normal(0, 1.5, (2, 40, len(a)))
    nx_ = (a[:, 0] + t * (b[:, 0] - a[:, 0]) + jitter[0]).ravel()
    nd_ = (a[:, 1] + t * (b[:, 1] - a[:, 1]) + jitter[1]).ravel()
    x, d = np.r_[x, nx_], np.r_[d, nd_]
    bits, ok = th.raster.look_up(x, d)
    reference = th._bits_by_outline(x, d)
    np.testing.assert_array_equal(bits[ok], reference[ok])
    np.testing.assert_array_equal(th.zone_bits(x, d), reference)
    assert ok[:20000].mean() > 0.8, "the raster answers for most of the theater"
    assert (~ok[20000:]).mean() > 0.5, "near outlines the outline test decides"


def test_zone_raster_is_shared_by_equal_theaters_and_rebuilt_for_a_changed_zone():
    sc = load_scenario(MAY30)
    a, b = Theater(sc.theater), Theater(sc.theater)
    assert a.raster is b.raster
    zone = next(iter(sc.theater.zones))
    spec = sc.theater.zones[zone]
    x0, x1, d0, d1 = spec.bounds()
    moved = spec.model_copy(update={"polygon": [(x0, d0), (x1 + 7.0, d0), (x1, d1), (x0, d1)]})
    zones = {**sc.theater.zones, zone: moved}
    c = Theater(sc.theater.model_copy(update={"zones": zones}))
    assert c.raster is not a.raster
    rng = np.random.default_rng(2)
    px, pd_ = rng.uniform(x0, x1 + 10, 3000), rng.uniform(d0, d1, 3000)
    np.testing.assert_array_equal(c.zone_bits(px, pd_), c._bits_by_outline(px, pd_))
    from escalation_sim.model import zonegrid

    assert zonegrid._cached.cache_info().maxsize == zonegrid.CACHED_THEATERS


# ---------------------------------------------------------------- air defence


def random_battlefield_state(f, rng):
    """Random strengths, losses and interceptor stocks (some batteries empty)."""
    f.strength[:] = rng.uniform(0.2, 1.0, f.n)
    f.alive[:] = rng.uniform(0, 1, f.n) > 0.2
    for ad in (f.ua_ad, f.ru_ad):
        ad.interceptors[:] = rng.choice([0.0, 0.5, 1.0, 3.0, np.inf], len(ad.units))
        ad._cache = None


def direct_cover(ad, strength, alive):
    """Per cell: one (unit, cell) pair at a time, its chance of missing logged, summed, undone."""
    state = strength[ad.units] * alive[ad.units] * (ad.interceptors >= 1.0)
    live = state[ad.pairs.source]
    p = ad.cover_p[ad.pairs.source]
    log_miss = libm.log1p(-np.minimum(p * live, 1.0 - 1e-12))
    return -libm.expm1(np.bincount(ad.pairs.cell, weights=log_miss, minlength=ad.th.n_cells))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_air_defence_cover_equals_the_pair_by_pair_sum(seed):
    m = EscalationModel(load_scenario(MAY30), seed=seed, record_events=False)
    f = m.forces
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(3):
        random_battlefield_state(f, rng)
        for ad in (f.ua_ad, f.ru_ad):
            got = ad.cover(f.strength, f.alive)
            expected = direct_cover(ad, f.strength, f.alive)
            np.testing.assert_array_equal(got, expected)
            cells = rng.integers(0, f.th.n_cells, 300)
            np.testing.assert_array_equal(ad.cover_at(cells, f.strength, f.alive), expected[cells])
            covered += int((got > 0).sum())
    assert covered > 500, "the states checked must cover a good part of the theater"


def direct_carrier_chance(ad, x, d, strength, alive):
    """The chance for one release point, battery by battery."""
    p = []
    for j, u in enumerate(ad.units):
        reach = np.hypot(ad._x[u] - x, ad._depth[u] - d) <= ad.aircraft_range_km[j]
        p.append(
            ad.aircraft_kill_prob[j] * reach * alive[u] * strength[u] * (ad.interceptors[j] >= 1.0)
        )
    p = np.array(p)
    if not (p > 0).any():
        return 0.0, -1
    return float(1.0 - np.prod(1.0 - p)), int(np.argmax(p))


@pytest.mark.parametrize("seed", [0, 1])
def test_carriers_downed_in_order_equal_one_carrier_at_a_time(seed):
    """All carriers' chances at once, recomputed when a battery runs dry, as if one by one."""
    sc = load_scenario(MAY30)
    m = EscalationModel(sc, seed=seed, record_events=False)
    f = m.forces
    ad = f.ua_ad
    rng = np.random.default_rng(seed)
    air = np.flatnonzero(f.rf_air)
    for _ in range(30):
        random_battlefield_state(f, rng)
        ad.aircraft_kill_prob[:] = rng.uniform(0.3, 1.0, len(ad.units))
        ad.interceptors[:] = rng.choice([1.0, 1.5, 2.0, np.inf], len(ad.units))
        # Release points spread around the city so that batteries' reaches differ.
        f.rf_fx[air] = f.th.city_xy[0] + rng.uniform(-120, 120, len(air))
        f.rf_fd[air] = rng.uniform(5, 150, len(air))
        carriers = np.r_[air, air]  # more carriers than missiles: batteries run dry
        u = rng.uniform(0, 0.6, len(f.rf))
        stock0, used0 = ad.interceptors.copy(), ad.used
        got = f._carriers_downed(carriers, u)
        got_stock, got_used = ad.interceptors.copy(), ad.used
        ad.interceptors[:], ad.used = stock0, used0
        expected = []
        for k in carriers.tolist():
            p_kill, by = direct_carrier_chance(ad, f.rf_fx[k], f.rf_fd[k], f.strength, f.alive)
            if p_kill > 0 and u[k] < 1.0 - (1.0 - p_kill) ** int(f.rf_salvoes[k]):
                expected.append(k)
                ad.interceptors[by] = max(0.0, ad.interceptors[by] - 1.0)
                ad.used += 1
        assert got == expected
        np.testing.assert_array_equal(got_stock, ad.interceptors)
        assert got_used == ad.used
        for k in air.tolist():
            assert ad.carrier_kill_chance(f.rf_fx[k], f.rf_fd[k], f.strength, f.alive) == (
                direct_carrier_chance(ad, f.rf_fx[k], f.rf_fd[k], f.strength, f.alive)
            )


def test_primary_zone_table_equals_the_lowest_set_bit(th):
    masks = np.arange(1 << len(th.zone_ids), dtype=np.int64)
    expected = np.array([(int(m) & -int(m)).bit_length() - 1 for m in masks])
    np.testing.assert_array_equal(th.primary_zones(masks), expected)
    np.testing.assert_array_equal(theater_module.lowest_bit(masks), expected)


def direct_engage(ad, cells, alive):
    """One engagement at a time with array operations: the unit with most missiles left."""
    for c in cells.tolist():
        src = ad.pairs.source[ad.pairs.cell == c]
        ok = alive[ad.units[src]] & (ad.interceptors[src] >= 1.0)
        if not ok.any():
            continue
        cand = src[ok]
        pick = cand[np.argmax(ad.interceptors[cand])]
        if np.isfinite(ad.interceptors[pick]):
            ad.interceptors[pick] -= 1.0
        ad.used += 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_engagements_spend_interceptors_as_one_at_a_time(seed):
    m = EscalationModel(load_scenario(MAY30), seed=seed, record_events=False)
    f = m.forces
    rng = np.random.default_rng(seed)
    engagements = 0
    for ad in (f.ua_ad, f.ru_ad):
        for _ in range(10):
            random_battlefield_state(f, rng)
            ad.interceptors[:] = rng.choice([0.0, 1.0, 2.0, 2.5, 4.0, np.inf], len(ad.units))
            covered = np.unique(ad.pairs.cell)
            cells = rng.choice(covered, 40)
            cells[:10] = cells[0]  # the same cell again and again: stocks run down evenly
            stock0, used0 = ad.interceptors.copy(), ad.used
            ad.engage(cells, f.alive)
            got, got_used = ad.interceptors.copy(), ad.used
            ad.interceptors[:], ad.used = stock0, used0
            direct_engage(ad, cells, f.alive)
            np.testing.assert_array_equal(got, ad.interceptors)
            assert got_used == ad.used
            engagements += got_used - used0
    assert engagements > 100, "the states checked must engage often"


def test_zone_rasters_kept_per_process_stay_bounded_whatever_the_theaters():
    """Thousands of runs over many theaters in one worker keep at most a few rasters."""
    from escalation_sim.model import zonegrid

    sc = load_scenario(MAY30)
    zone = next(iter(sc.theater.zones))
    spec = sc.theater.zones[zone]
    x0, x1, d0, d1 = spec.bounds()
    rasters = []
    for k in range(zonegrid.CACHED_THEATERS + 3):
        outline = [(x0, d0), (x1 + 1.0 + k, d0), (x1, d1), (x0, d1)]
        zones = {**sc.theater.zones, zone: spec.model_copy(update={"polygon": outline})}
        rasters.append(Theater(sc.theater.model_copy(update={"zones": zones})).raster)
        assert zonegrid._cached.cache_info().currsize <= zonegrid.CACHED_THEATERS
    assert len({id(r) for r in rasters}) == len(rasters), "each theater has its own raster"


@pytest.mark.parametrize("seed", [0, 5])
def test_a_shooters_target_cell_equals_the_pick_from_its_list_of_cells_in_reach(seed):
    """Read from the reach table's rows, the same cell as from the unit's list of cells."""
    m = EscalationModel(load_scenario(MAY30), seed=seed, record_events=False)
    m.run_for(25)
    f = m.forces
    rng = np.random.default_rng(seed)
    ptr, cells = f.rf_cand_ptr, f.rf_cand_cells
    n = np.diff(ptr)
    able = np.flatnonzero(n > 0)
    shooters = rng.choice(able, 200)
    u = rng.uniform(0, 1, 200)
    u[:3] = [0.0, np.nextafter(1.0, 0.0), 0.5]  # the first and last cell of a list
    expected = cells[ptr[shooters] + (u * n[shooters]).astype(np.int64)]
    np.testing.assert_array_equal(f._target_cells(shooters, u), expected)
    assert len(np.unique(expected)) > 10
    assert len(f._target_cells(np.zeros(0, dtype=np.int64), np.zeros(0))) == 0


# ---------------------------------------------------------------- planning


def test_launchers_in_range_kept_up_to_date_equal_counting_afresh():
    from escalation_sim.model.engagement import LaunchersInRange

    rng = np.random.default_rng(4)
    n_units, n_keys = 60, 40
    # Each launcher in a random set of keys (once per key), as launch pairs are.
    pair_l, pair_key = [], []
    for launcher in range(n_units):
        keys = rng.choice(n_keys, rng.integers(1, 12), replace=False)
        pair_l += [launcher] * len(keys)
        pair_key += keys.tolist()
    order = np.argsort(pair_key, kind="stable")
    pair_l, pair_key = np.array(pair_l)[order], np.array(pair_key)[order]
    shots = rng.integers(0, 4, n_units)
    kept = LaunchersInRange(pair_l, pair_key, n_keys, shots.copy())
    for _ in range(120):
        able = np.flatnonzero(kept.shots_left > 0)
        if len(able) == 0:
            break
        kept.spend(int(rng.choice(able)))
        afresh = np.bincount(
            pair_key, weights=(kept.shots_left[pair_l] > 0).astype(float), minlength=n_keys
        )
        np.testing.assert_array_equal(kept.counts, afresh)
    assert (kept.counts == 0).sum() > 5, "launchers must have run dry along the way"


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("seed", range(3))
def test_air_defence_pairs_updated_for_the_batteries_that_moved_equal_a_fresh_placing(
    seed, compiled
):
    # One battery, a few, every one; some moved out of the theater (no cells at all) and
    # back, some twice in a row: the pairs kept for the others must land where a fresh
    # placing puts them, bit for bit and with their dtypes, on either path.
    if compiled and not kernels.available():
        pytest.skip("numba is not installed")
    with contextlib.nullcontext() if compiled else kernels.disabled():
        _moves_against_fresh_placings(seed)


def _moves_against_fresh_placings(seed: int) -> None:
    m = EscalationModel(load_scenario(MAY30), seed=2 + seed, record_events=False)
    f = m.forces
    ad = f.ru_ad
    rng = np.random.default_rng(9 + seed)
    n = len(ad.units)
    without_cells = 0
    for size in (1, 3, n, 2, n // 2, 1, n):
        moving = rng.choice(ad.units, size, replace=False)
        far = rng.random(size) < 0.2
        depth = np.where(far, f.depth[moving] + 5.0e4, f.depth[moving] + rng.uniform(-20, 20, size))
        depth = np.where(f.depth[moving] > 1.0e4, f.depth[moving] - 5.0e4, depth)  # and back
        f.move_to(moving, f.x[moving] + rng.uniform(-15, 15, size), depth)
        f.russian_air_cover()  # brings the pairs up to date (moved batteries only)
        full = f.th.cells_within(f.x[ad.units], f.depth[ad.units], ad.range_km)
        order = np.argsort(full.cell, kind="stable")
        np.testing.assert_array_equal(ad.pairs.source, full.source[order], strict=True)
        np.testing.assert_array_equal(ad.pairs.cell, full.cell[order], strict=True)
        np.testing.assert_array_equal(ad.pairs.distance_km, full.distance_km[order], strict=True)
        np.testing.assert_array_equal(
            ad._ptr,
            np.r_[0, np.cumsum(np.bincount(full.cell, minlength=f.th.n_cells))],
            strict=True,
        )
        without_cells += int((np.bincount(full.source, minlength=n) == 0).sum())
    assert without_cells > 0
