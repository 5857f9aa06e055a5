"""Russian fire: the compiled kernels and the numpy code agree exactly, phase by phase.

``ForceLayer.russian_fire`` has a numpy reference and a compiled path
(:mod:`escalation_sim.model.kernels.fire`). Here models of the shipped
scenarios are driven some days on several seeds; at a step the model is
copied twice, the fire phase runs once on each copy (numpy, then the
kernels), and the phase's outcome, every array of the force layer and of
both air defences, the stocks and the fire stream's state must be the same,
bit for bit. The edge cases are set up on the model before it is copied:
nobody fires, every firing unit or every Ukrainian battery dead, stocks and
interceptors running out within the step, carriers shot down until their
batteries are empty, many units in one cell, no firing unit or battery at
all. The smaller kernels (the ration, the damage, the reach of moved units,
the carriers shot down) are compared with their numpy counterparts on random
inputs, and the functions of the C library the kernels share with numpy
(``hypot``, ``pow``) and the cover table's ``expm1`` are checked element by
element.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.forces import LOST, FireOutcome, ForceLayer, ration
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")

if kernels.available():
    from escalation_sim.model.kernels import fire as fire_kernels


# ---------------------------------------------------------------------- helpers
def _scenario(name: str, scale: int = 1, drop=None):
    """A shipped scenario, forces multiplied by ``scale``, groups matching ``drop`` removed."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    forces = {}
    for g, spec in sc.forces.items():
        if drop is not None and drop(spec):
            forces[g] = spec.model_copy(update={"count": 0, "reserve": 0})
        else:
            forces[g] = spec.model_copy(update={"count": spec.count * scale})
    return sc.model_copy(update={"forces": forces})


def _driven(sc, seed: int, days: int) -> EscalationModel:
    m = EscalationModel(sc, seed=seed)
    m.run_for(days)
    return m


def _multiplier(m: EscalationModel) -> float:
    rus = m.actor[m.russia_id]
    return rus.ladder.rung(rus.rung).fire_multiplier


def _fire(m: EscalationModel, multiplier: float | None) -> FireOutcome:
    k = round(m.time)
    mult = _multiplier(m) if multiplier is None else multiplier
    return m.forces.russian_fire(k, mult, m.stock, m.streams["fire"])


def _both(m: EscalationModel, multiplier: float | None = None):
    """The fire phase on two copies of ``m``: (numpy outcome, copy), (kernel outcome, copy)."""
    ref, comp = copy.deepcopy(m), copy.deepcopy(m)
    with kernels.disabled():
        out_ref = _fire(ref, multiplier)
    out_comp = _fire(comp, multiplier)
    return (out_ref, ref), (out_comp, comp)


def _same_array(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    # Bit for bit: a NaN equals itself, 0.0 differs from -0.0.
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), f"{what} differs"


def _same_value(a, b, what: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{what}: array against {type(b)}"
        _same_array(a, b, what)
    elif isinstance(a, tuple) and a and all(isinstance(x, np.ndarray) for x in a):
        assert isinstance(b, tuple) and len(a) == len(b), f"{what}: tuples differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_array(x, y, f"{what}[{i}]")
    elif isinstance(a, (bool, int, float, np.integer, np.floating)):
        assert type(a) is type(b), f"{what}: {type(a)} != {type(b)}"
        assert np.array(a).tobytes() == np.array(b).tobytes(), f"{what}: {a!r} != {b!r}"


# Caches only one path fills: numpy's log-miss table, the kernels' logs per unit and covers.
_ONE_PATH_ONLY = {"_cache", "_unit_log_miss", "_kept"}


def _assert_same_state(ref: EscalationModel, comp: EscalationModel) -> None:
    """Every array and number of the force layer and both air defences, stocks, the stream."""
    for name, obj_ref, obj_comp in (
        ("forces", ref.forces, comp.forces),
        ("ua_ad", ref.forces.ua_ad, comp.forces.ua_ad),
        ("ru_ad", ref.forces.ru_ad, comp.forces.ru_ad),
    ):
        for attr, value in vars(obj_ref).items():
            if attr not in _ONE_PATH_ONLY:
                _same_value(value, getattr(obj_comp, attr), f"{name}.{attr}")
    _same_array(ref.stock, comp.stock, "stock")
    assert ref.streams["fire"].bit_generator.state == comp.streams["fire"].bit_generator.state, (
        "the fire stream drew differently"
    )


def _assert_same_outcome(a: FireOutcome, b: FireOutcome) -> None:
    for field in dataclasses.fields(FireOutcome):
        _same_value(getattr(a, field.name), getattr(b, field.name), f"outcome.{field.name}")


def _check(
    m: EscalationModel, multiplier: float | None = None
) -> tuple[FireOutcome, EscalationModel]:
    (out_ref, ref), (out_comp, comp) = _both(m, multiplier)
    _assert_same_outcome(out_ref, out_comp)
    _assert_same_state(ref, comp)
    return out_ref, ref


# ---------------------------------------------------------------------- whole phase
@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("seed", [0, 5])
def test_fire_phase_is_the_same_on_many_states(name: str, seed: int) -> None:
    m = EscalationModel(_scenario(name), seed=seed)
    fired = hits = engaged = 0
    for _ in range(12):  # a state every five days over two months
        out, ref = _check(m)
        fired += len(out.fired)
        hits += out.hits_on_units
        engaged += ref.forces.ua_ad.used
        m.run_for(5)
    # The comparisons were not vacuous: units fired, hit and were engaged.
    assert fired > 0 and hits > 0 and engaged > 0


def test_fire_phase_is_the_same_with_many_units_per_cell() -> None:
    m = EscalationModel(_scenario("deep_strike", scale=10), seed=2)
    assert np.diff(m.forces.ua_cell_ptr).max() >= 5  # several Ukrainian units share a cell
    losses = 0
    for _ in range(8):
        out, _ = _check(m)
        losses += len(out.ukrainian_losses)
        m.run_for(4)
    assert losses > 0


def test_nothing_to_do_when_nobody_fires() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 1, 10)
    out, _ = _check(m, multiplier=0.0)
    assert len(out.fired) == 0 and out.hits_on_units == 0


def test_a_capped_chance_to_fire() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 1, 10)
    out, _ = _check(m, multiplier=50.0)  # every chance capped at one
    assert len(out.fired) > 0


def test_every_firing_unit_dead() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 3, 15)
    f = m.forces
    f.alive[f.rf] = False
    f.status[f.rf] = LOST
    f.strength[f.rf] = 0.0
    out, _ = _check(m)
    assert len(out.fired) == 0


def test_every_ukrainian_battery_dead_after_its_cover_was_kept() -> None:
    # The kernels keep the cover with the batteries' state: killing them must be noticed.
    m = _driven(_scenario("may30_kharkiv_counterfire"), 3, 15)
    f = m.forces
    units = f.ua_ad.units
    f.alive[units] = False
    f.status[units] = LOST
    f.strength[units] = 0.0
    f.w_intercept[:] = 0.9  # a cover kept by mistake would stop most salvoes
    out, ref = _check(m, multiplier=50.0)
    assert ref.forces.ua_ad.used == 0 and len(out.fired) > 0
    at_city = ref.forces._rf_of_unit[out.fired[out.at_city]]
    assert out.city_landed_by_weapon.sum() == ref.forces.rf_salvoes[at_city].sum() > 0


def test_no_firing_unit_and_no_ukrainian_battery_at_all() -> None:
    sc = _scenario("may30_kharkiv_counterfire", drop=lambda g: g.fire is not None)
    m = _driven(sc, 0, 3)
    assert len(m.forces.rf) == 0
    out, _ = _check(m)
    assert len(out.fired) == 0
    sc = _scenario(
        "may30_kharkiv_counterfire", drop=lambda g: g.air_defence is not None and g.owner == "UKR"
    )
    m = _driven(sc, 0, 3)
    assert len(m.forces.ua_ad.units) == 0
    out, _ = _check(m)
    assert len(out.fired) > 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_stocks_running_out_within_the_step(seed: int) -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), seed, 8)
    rng = np.random.default_rng(seed)
    m.stock[:] = np.floor(rng.random(len(m.stock)) * 3.0) * m.forces.rf_salvoes.max() / 2
    ample = copy.deepcopy(m)
    ample.stock[:] = np.inf
    with kernels.disabled():
        unrationed = _fire(ample, 50.0)
    out, ref = _check(m, multiplier=50.0)
    # Some requests were refused, and stocks were spent down to what was left.
    assert len(out.fired) < len(unrationed.fired)
    assert (ref.stock >= 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interceptors_running_out_within_the_step(seed: int) -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), seed, 8)
    ad = m.forces.ua_ad
    ad.interceptors[:] = 1.0
    ad.cover_p = np.ones_like(ad.cover_p)  # every cell a battery reaches is covered
    ad.place(m.forces.x, m.forces.depth)
    _, ref = _check(m, multiplier=50.0)
    assert (ref.forces.ua_ad.interceptors < 1.0).any()


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_carriers_shot_down_until_their_batteries_are_empty(seed: int) -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), seed, 6)
    ad = m.forces.ua_ad
    ad.aircraft_range_km = np.full(len(ad.units), 1.0e4)
    ad.aircraft_kill_prob = np.linspace(0.3, 0.9, len(ad.units))
    ad.interceptors[:] = np.arange(len(ad.units)) % 2 + 1.0  # one or two missiles each
    _, ref = _check(m, multiplier=50.0)
    # Carriers were downed, a battery ran out, and the carriers moved their release back.
    assert ref.forces.carriers_downed_now > 0
    assert (ref.forces.ua_ad.interceptors < 1.0).any()
    assert not np.array_equal(ref.forces.rf_release, m.forces.rf_release, equal_nan=True)


def test_a_run_of_fire_phases_after_moves_and_losses() -> None:
    # One copy per path run on for a month: the reach of moved units, kept covers, losses.
    m = _driven(_scenario("deep_strike"), 4, 5)
    ref, comp = copy.deepcopy(m), copy.deepcopy(m)
    with kernels.disabled():
        ref.run_for(30)
    comp.run_for(30)
    _assert_same_state(ref, comp)


def test_the_comparison_detects_a_perturbation() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 0, 10)
    (out_ref, ref), (out_comp, comp) = _both(m)
    _assert_same_state(ref, comp)
    i = int(np.flatnonzero(comp.forces.strength > 0)[0])
    comp.forces.strength[i] = np.nextafter(comp.forces.strength[i], 2.0)  # one ulp
    with pytest.raises(AssertionError, match="strength"):
        _assert_same_state(ref, comp)
    comp.forces.strength[i] = ref.forces.strength[i]
    comp.forces.ua_ad.interceptors[0] -= 1.0
    with pytest.raises(AssertionError, match="interceptors"):
        _assert_same_state(ref, comp)
    out_comp.city_harm = np.nextafter(out_comp.city_harm, np.inf)
    with pytest.raises(AssertionError, match="city_harm"):
        _assert_same_outcome(out_ref, out_comp)


# ---------------------------------------------------------------------- smaller kernels
@pytest.mark.parametrize("seed", range(6))
def test_ration_kernel_equals_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n_w = int(rng.integers(1, 6))
        m = int(rng.integers(0, 30))
        weapon = rng.integers(0, n_w, m).astype(np.int64)
        whole = rng.random() < 0.5  # whole salvoes, or non-whole requests too
        amount = rng.integers(1, 5, m).astype(float) if whole else rng.random(m) * 3.0
        stock = np.floor(rng.random(n_w) * 2.0 * (amount.sum() / n_w + 1.0))
        if rng.random() < 0.2:
            stock[0] = np.inf
        _same_array(
            ration(weapon, amount, stock), fire_kernels.ration(weapon, amount, stock), "ration"
        )


@pytest.mark.parametrize("seed", range(4))
def test_apply_damage_kernel_equals_numpy(seed: int) -> None:
    m = EscalationModel(_scenario("may30_kharkiv_counterfire"), seed=seed)
    rng = np.random.default_rng(seed)
    destroyed = 0
    for _ in range(30):
        f = m.forces
        targets = rng.integers(0, f.n, int(rng.integers(0, 12))).astype(np.int64)  # repeats too
        damage = rng.random(len(targets)) * 0.8
        ref, comp = copy.deepcopy(f), copy.deepcopy(f)
        with kernels.disabled():
            a = ref.apply_damage(targets, damage, 1)
        b = comp.apply_damage(targets, damage, 1)
        _same_array(a, b, "destroyed")
        for attr in ("strength", "alive", "status", "destroyed_now"):
            _same_array(getattr(ref, attr), getattr(comp, attr), attr)
        destroyed += len(a)
        m.forces = comp
    assert destroyed > 0


def test_sync_reach_kernel_equals_numpy() -> None:
    m = EscalationModel(_scenario("may30_kharkiv_counterfire"), seed=0)
    rng = np.random.default_rng(7)
    for _ in range(20):
        f = m.forces
        k = np.unique(rng.integers(0, len(f.rf), int(rng.integers(1, 10))))
        units = f.rf[k]
        f.move_to(
            units,
            f.x[units] + rng.normal(0, 15, len(k)),
            f.depth[units] + rng.normal(0, 15, len(k)),
        )
        ref, comp = copy.deepcopy(f), copy.deepcopy(f)
        with kernels.disabled():
            ref._sync_reach()
        comp._sync_reach()
        for attr in (
            "_rf_reach",
            "_rf_city_in_range",
            "_rf_n_cand",
            "_rf_has_cand",
            "_reach_moved",
        ):
            _same_array(getattr(ref, attr), getattr(comp, attr), attr)
        assert ref._any_reach_moved == comp._any_reach_moved is False
        m.forces = comp


def _carriers_downed_both_ways(f, rng: np.random.Generator, share: float) -> int:
    """One carrier phase on the numpy code and on the kernel, compared; the carriers downed."""
    ad = f.ua_ad
    salvoes = rng.integers(1, 40, len(f.rf)).astype(np.int64)
    f.rf_salvoes = salvoes
    carriers = np.flatnonzero(rng.random(len(f.rf)) < share).astype(np.int64)
    u = rng.random(len(f.rf))
    ref = copy.deepcopy(f)
    with np.errstate(invalid="ignore"):  # NaN strengths or kill chances, where a test sets them
        downed = ref._carriers_downed(carriers, u)
    interceptors = ad.interceptors.copy()
    got, used = fire_kernels._carriers_downed(
        carriers, u, salvoes, f.rf_fx, f.rf_fd, ad.units, ad.aircraft_kill_prob,
        ad.aircraft_range_km, interceptors, f.x, f.depth, f.strength, f.alive,
    )  # fmt: skip
    _same_array(np.array(downed, dtype=np.int64), got, "carriers downed")
    _same_array(ref.ua_ad.interceptors, interceptors, "interceptors")
    assert used == ref.ua_ad.used - ad.used
    return len(got)


@pytest.mark.parametrize("seed", range(4))
def test_carriers_downed_kernel_equals_numpy(seed: int) -> None:
    # Random air defences against the carriers: chances, who fires, batteries running out.
    m = _driven(_scenario("may30_kharkiv_counterfire"), seed, 3)
    rng = np.random.default_rng(seed)
    ad = m.forces.ua_ad
    downed_total = 0
    for _ in range(40):
        ad.aircraft_range_km = rng.random(len(ad.units)) * 400.0
        ad.aircraft_kill_prob = rng.random(len(ad.units))
        ad.interceptors[:] = rng.integers(0, 3, len(ad.units)).astype(float)
        downed_total += _carriers_downed_both_ways(m.forces, rng, 0.5)
    assert downed_total > 0


@pytest.mark.parametrize("seed", range(3))
def test_carriers_downed_equals_numpy_with_non_finite_values(seed: int) -> None:
    # The kernel works each carrier's chance out when its turn comes, where the numpy
    # code recounts the later carriers a battery reached when it runs out: the two agree
    # only if a battery out of reach weighs the same whether it has missiles or not,
    # NaN and infinite factors included. Few missiles per battery make batteries run
    # out often; a few NaN or infinite strengths and kill chances, in reach and out,
    # test the claim where it is most fragile.
    m = _driven(_scenario("may30_kharkiv_counterfire"), seed, 3)
    rng = np.random.default_rng(100 + seed)
    f = m.forces
    ad = f.ua_ad
    n_ad = len(ad.units)
    downed_total = spoiled = 0
    for trial in range(40):
        ad.aircraft_range_km = rng.random(n_ad) * 300.0
        kill = rng.random(n_ad)
        strength = f.strength.copy()
        if trial % 2:
            kill[rng.integers(0, n_ad)] = rng.choice([np.nan, np.inf])
            strength[ad.units[rng.integers(0, n_ad)]] = rng.choice([np.nan, np.inf, -0.5])
        ad.aircraft_kill_prob = kill
        f.strength = strength
        ad.interceptors[:] = rng.integers(0, 2, n_ad).astype(float) + (rng.random(n_ad) < 0.3)
        downed_total += _carriers_downed_both_ways(f, rng, 0.6)
        spoiled += not np.isfinite(kill).all() or not np.isfinite(strength[ad.units]).all()
    assert downed_total > 0 and spoiled > 0


def test_carrier_kill_chance_kernel_equals_numpy() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 0, 3)
    f = m.forces
    ad = f.ua_ad
    rng = np.random.default_rng(3)
    ad.aircraft_range_km = np.full(len(ad.units), 150.0)
    ad.aircraft_kill_prob = rng.random(len(ad.units))
    x = rng.normal(f.th.city_xy[0], 80.0, 500)
    d = rng.normal(f.th.city_xy[1] + 40.0, 60.0, 500)
    chance, by = ad.carrier_kill_chances(x, d, f.strength, f.alive)
    reached = 0
    for j in range(len(x)):
        c, b = fire_kernels.carrier_kill_chance(
            x[j], d[j], ad.units, ad.aircraft_kill_prob, ad.aircraft_range_km,
            ad.interceptors, f.x, f.depth, f.strength, f.alive,
        )  # fmt: skip
        assert np.float64(c).tobytes() == chance[j].tobytes() and b == by[j]
        reached += b >= 0
    assert 0 < reached < len(x)


# ---------------------------------------------------------------------- shared arithmetic
def test_compiled_sorties_survive_equals_pythons_float_power() -> None:
    # The carriers' chance over their sorties is Python's (1 - p) ** int(n) in the numpy code.
    rng = np.random.default_rng(0)
    p = np.r_[rng.random(100_000), rng.random(1000) * 1e-9, 1.0 - rng.random(1000) * 1e-9]
    n = rng.integers(1, 200, len(p))
    bad = [
        (a, b)
        for a, b in zip(p.tolist(), n.tolist(), strict=True)
        if fire_kernels.sorties_survive(a, b) != (1.0 - a) ** int(b)
    ]
    assert not bad


def test_an_integer_power_would_be_caught() -> None:
    # The check above can fail: numba's x ** n with an integer n differs from Python's.
    import numba

    int_power = numba.njit(lambda p, n: (1.0 - p) ** n)
    rng = np.random.default_rng(0)
    p = rng.random(100_000)
    n = rng.integers(2, 200, len(p))
    assert any(
        int_power(a, b) != (1.0 - a) ** int(b) for a, b in zip(p.tolist(), n.tolist(), strict=True)
    )


def test_compiled_hypot_equals_numpys() -> None:
    import numba

    @numba.njit
    def hypot(a, b):
        out = np.empty(len(a))
        for i in range(len(a)):
            out[i] = math.hypot(a[i], b[i])
        return out

    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 200.0, 1_000_000)
    b = rng.normal(0.0, 200.0, 1_000_000)
    _same_array(np.hypot(a, b), hypot(a, b), "hypot")


def test_within_radius_decides_as_numpys_hypot() -> None:
    # The reach test skips hypot away from the edge: the answers must be numpy's, edge included.
    rng = np.random.default_rng(5)
    n = 40_000
    dx = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-3, 4, n)
    dy = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-3, 4, n)
    edge = np.hypot(dx, dy)
    radius = np.concatenate(
        [
            edge * (1.0 + rng.integers(-8, 9, n) * 2.0**-52),  # a few ulps either side
            np.nextafter(edge, 0.0),
            np.nextafter(edge, np.inf),
            edge,
            edge * (1.0 + rng.normal(0.0, 1e-9, n)),  # about the width of the fast test
            edge * rng.random(n) * 2.0,
        ]
    )
    dx, dy = np.tile(dx, 6), np.tile(dy, 6)
    extremes = [1e-300, 1e-160, 1e160, 1e300, 0.0, np.inf, np.nan]
    for a in extremes:
        for b in extremes:
            for r in extremes:
                dx, dy, radius = np.r_[dx, a, -a], np.r_[dy, b, b], np.r_[radius, r, r]
    expected = np.hypot(dx, dy) <= radius
    got = np.array(
        [fire_kernels.within_radius(a, b, r) for a, b, r in zip(dx, dy, radius, strict=True)]
    )
    _same_array(expected, got, "within radius")
    assert 0.2 < expected.mean() < 0.8  # both answers, many of them at the edge


def test_pairwise_sum_kernel_equals_numpys_sum() -> None:
    # The city's harm is a numpy sum over the weapons (pairwise from eight terms on).
    rng = np.random.default_rng(4)
    for n in [*range(0, 300), 500, 1000, 4096]:
        for _ in range(10):
            a = rng.normal(size=n) * 10.0 ** rng.integers(-5, 6, n)
            assert fire_kernels.pairwise_sum(a).hex() == float(a.sum()).hex(), n
    assert fire_kernels.pairwise_sum(np.array([-0.0])).hex() == float(np.array([-0.0]).sum()).hex()
    # A plain loop would not do: it differs from numpy's order on some sums.
    a = rng.normal(size=(200, 64)) * 10.0 ** rng.integers(-5, 6, (200, 64))
    assert any(sum(row.tolist()) != row.sum() for row in a)


def test_kept_cover_equals_cover_at_element_by_element() -> None:
    # The kernels read the cover of every cell fire can land on, worked out once; numpy works
    # out the cells the step's shots land on (repeated, in shot order): the same numbers.
    # (That libm.expm1 gives an element what it gives it in any array: tests/test_libm.py.)
    rng = np.random.default_rng(2)
    for name in SHIPPED[:2]:
        m = _driven(_scenario(name, scale=3), 0, 20)
        f = m.forces
        cells = np.r_[f.th.city_cell, f._ua_cells].astype(np.int64)
        kept = f.ua_ad.keep_cover(f.strength, f.alive, cells)
        assert kept.cells is cells and kept.n >= 1
        cover = kept.covers[(kept.next - 1) % len(kept.covers)]
        for _ in range(20):
            pos = np.r_[0, rng.integers(1, len(cells), int(rng.integers(0, 40)))]
            _same_array(f.ua_ad.cover_at(cells[pos], f.strength, f.alive), cover[pos], "cover")
            with kernels.disabled():  # numpy's table of every cell
                _same_array(f.ua_ad.cover_at(cells[pos], f.strength, f.alive), cover[pos], "np")


def test_each_kernel_compiled_once() -> None:
    # Type-stable: every scenario and state runs on one compiled signature per kernel.
    for name in SHIPPED[:2]:
        m = _driven(_scenario(name, scale=2), 1, 5)  # the fire phase
        f = m.forces
        f.move_to(f.rf[:3], f.x[f.rf[:3]] + 5.0, f.depth[f.rf[:3]])
        assert f.rf_city_in_range.dtype == np.bool_  # the reach, read outside the phase
        f.apply_damage(f.rf[:2], np.array([0.1, 0.2]))  # the damage, called by the method
    for fn in (
        fire_kernels.russian_fire,
        fire_kernels.sync_reach,
        fire_kernels.apply_damage,
    ):
        assert len(fn.signatures) == 1, fn.__name__


def test_fire_outcome_of_the_kernels_keeps_the_numpy_types() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 0, 5)
    out = _fire(m, None)
    assert isinstance(out.city_harm, float)
    assert isinstance(out.hits_on_units, int)
    assert out.fired.dtype == np.int64 and out.ukrainian_losses.dtype == np.int64
    assert out.at_city.dtype == np.bool_


def test_the_numpy_path_calls_no_fire_kernel() -> None:
    # The numpy path never touches a kernel: it runs with numba's kernels replaced by traps.
    m = _driven(_scenario("may30_kharkiv_counterfire"), 0, 5)

    def trap(*_a, **_k):
        raise AssertionError("a kernel ran on the numpy path")

    saved = {n: getattr(fire_kernels, n) for n in ("russian_fire", "sync_reach", "apply_damage")}
    try:
        for n in saved:
            setattr(fire_kernels, n, trap)
        with kernels.disabled():
            _fire(m, 50.0)
            m.run_for(2)
    finally:
        for n, fn in saved.items():
            setattr(fire_kernels, n, fn)
    assert isinstance(m.forces, ForceLayer)


def test_a_battery_of_nan_strength_neither_hangs_nor_splits_the_paths() -> None:
    # The kernel hands back when the batteries' state differs from the cover's; a NaN
    # strength never equals itself, which once sent the phase round for ever. Both the
    # kernel and the kept cover now count a NaN kept as the same state.
    def run() -> tuple[str, list]:
        m = EscalationModel(_scenario("deep_strike"), seed=1, record_events=True)
        m.run_for(5)
        m.forces.strength[m.forces.ua_ad.units[0]] = np.nan
        m.run_for(5)
        return m.timeseries().to_csv(index=False), m.events.records()

    compiled = run()
    with kernels.disabled():
        reference = run()
    assert compiled[0] == reference[0]
    assert compiled[1] == reference[1]


# ---------------------------------------------------------------------- kept air cover
def _random_battery_states(f: ForceLayer, ad, rng: np.random.Generator) -> None:
    """Damage, kill and empty some of the side's batteries at random (in place)."""
    units = ad.units
    f.strength[units] = np.where(rng.random(len(units)) < 0.5, rng.random(len(units)), 1.0)
    f.alive[units] = rng.random(len(units)) < 0.8
    ad.interceptors[:] = rng.choice([0.0, 0.5, 1.0, 3.0, np.inf], len(units))


@pytest.mark.parametrize("name", SHIPPED[:2])
def test_compiled_cover_at_equals_numpys_on_many_states(name: str) -> None:
    # The kernel sums each cell's kept per-battery logs; numpy bins every pair over the grid.
    rng = np.random.default_rng(11)
    m = _driven(_scenario(name, scale=2), 2, 10)
    f = m.forces
    for ad in (f.ua_ad, f.ru_ad):
        covered = np.unique(ad.pairs.cell)
        for trial in range(60):
            if trial % 3:  # a new state two times in three; else the kept one again
                _random_battery_states(f, ad, rng)
            cells = np.r_[
                rng.choice(covered, int(rng.integers(0, 30))),
                rng.integers(0, f.th.n_cells, int(rng.integers(0, 10))),
            ].astype(np.int64)
            got = ad.cover_at(cells, f.strength, f.alive)
            with kernels.disabled():
                ad._cache = None
                expected = ad.cover_at(cells, f.strength, f.alive)
            _same_array(expected, got, f"{name} cover at {len(cells)} cells, trial {trial}")
        assert ad._unit_log_miss is not None


def test_kept_logs_of_another_state_are_not_used() -> None:
    # The comparison can fail: a state one ulp away is a new state, a log one ulp away shows.
    m = _driven(_scenario("may30_kharkiv_counterfire"), 0, 5)
    f = m.forces
    ad = f.ru_ad
    ad.cover_at(np.zeros(1, dtype=np.int64), f.strength, f.alive)
    state, log_miss = ad._unit_log_miss
    b = int(np.flatnonzero(log_miss < 0)[0])  # a battery that covers something
    cells = np.unique(ad.pairs.cell[ad.pairs.source == b]).astype(np.int64)
    before = ad._log_miss_at(cells, f.strength, f.alive)
    now, sums = np.full(len(state), -1.0), np.full(len(cells), 7.0)
    args = (ad.units, f.strength, f.alive, ad.interceptors)
    same = fire_kernels.cover_sums(
        True, cells, *args, state, log_miss, ad.pairs.source, ad.cell_ptr, now, sums
    )
    assert same
    _same_array(ad._state(f.strength, f.alive), now, "the kernel's state of the batteries")
    nudged = state.copy()
    nudged[0] = np.nextafter(nudged[0], -np.inf)
    sums[:] = 7.0
    same = fire_kernels.cover_sums(
        True, cells, *args, nudged, log_miss, ad.pairs.source, ad.cell_ptr, now, sums
    )
    assert not same and (sums == 7.0).all()  # nothing summed from another state's logs
    # Kept logs one ulp off would change the sums the cover is made of: the bitwise
    # comparison with numpy above would see them.
    off = log_miss.copy()
    off[b] = np.nextafter(off[b], -np.inf)
    ad._unit_log_miss = (state, off)
    assert ad._log_miss_at(cells, f.strength, f.alive).tobytes() != before.tobytes()


def test_kept_row_finds_the_state_and_only_it() -> None:
    m = _driven(_scenario("may30_kharkiv_counterfire"), 1, 5)
    f = m.forces
    ad = f.ua_ad
    kept = ad.kept_covers(np.r_[f.th.city_cell, f._ua_cells].astype(np.int64))
    now = ad._state(f.strength, f.alive)
    kept.states[:] = 0.5
    kept.states[3] = now
    args = (ad.units, f.strength, f.alive, ad.interceptors, kept.states)
    assert fire_kernels.kept_row(*args, 8) == 3
    assert fire_kernels.kept_row(*args, 3) == -1  # only the filled rows count
    kept.states[3, -1] = np.nextafter(now[-1], np.inf)
    assert fire_kernels.kept_row(*args, 8) == -1
    f.strength[ad.units[0]] = np.nan  # a NaN kept is the same state as a NaN now
    kept.states[5] = ad._state(f.strength, f.alive)
    assert fire_kernels.kept_row(*args, 8) == 5


@pytest.mark.parametrize("seed", [0, 1])
def test_kept_covers_recur_and_turn_over_with_the_same_results(seed: int) -> None:
    # Batteries that run out and are resupplied, then damaged to new states every few steps:
    # states recur (kept covers reused) and more than KEPT_COVERS appear (the oldest go).
    from escalation_sim.model import airdefence

    def run(compiled: bool):
        m = _driven(_scenario("may30_kharkiv_counterfire"), seed, 3)
        f = m.forces
        ad = f.ua_ad
        added = []
        keep = ad.keep_cover
        ad.keep_cover = lambda *a: added.append(1) or keep(*a)  # type: ignore[method-assign]
        rng = np.random.default_rng(seed)
        outs = []
        for step in range(40):
            if step % 2:
                ad.interceptors[:] = np.where(ad.interceptors >= 1.0, 0.0, 2.0)
            if step % 7 == 0:
                f.strength[ad.units] = rng.choice([0.25, 0.5, 1.0], len(ad.units))
            k = round(m.time)
            outs.append(f.russian_fire(k, 3.0, m.stock, m.streams["fire"]))
            m.run_for(1)
        return m, outs, len(added)

    comp, out_comp, refreshes = run(True)
    with kernels.disabled():
        ref, out_ref, _ = run(False)
    for a, b in zip(out_ref, out_comp, strict=True):
        _assert_same_outcome(a, b)
    _assert_same_state(ref, comp)
    assert comp.timeseries().equals(ref.timeseries())
    assert 0 < refreshes < 2 * 40, refreshes  # two fire phases a step: kept covers found again
    assert comp.forces.ua_ad._kept.n == airdefence.KEPT_COVERS  # and turned over
