"""Detection and movement: the compiled kernels and the numpy code agree bit for bit, phase by phase.

Models of every shipped scenario (and one with ten times the forces) are run
some steps on several seeds; at each checkpoint the model is copied twice and
one phase is run on each copy, once by the numpy reference
(:func:`escalation_sim.model.kernels.disabled`) and once by the kernels
(:mod:`escalation_sim.model.kernels.detect`, :mod:`escalation_sim.model.kernels.movement`).
The phase's outputs, every array and scalar of the force layer and of both
sides' air defence, the coverage cache and the generators' states must then
be identical, floats compared by their bytes. Edge cases are set up by hand
on the copies: every Russian unit dead, every sensor dead or damaged, every
mobile unit leaving at once, several units in one cell, units moved onto zone
outlines and off the theater.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from escalation_sim import load_scenario
from escalation_sim.model import kernels, libm
from escalation_sim.model.forces import (
    LOST,
    MIN_RUSSIAN_DEPTH_KM,
    RESERVE,
    SIDE_RUSSIA,
    ForceLayer,
)
from escalation_sim.model.kernels import movement as kmove
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.movement import PullbackMemory
from escalation_sim.model.reserves import NONE_DUE, ReservePool
from escalation_sim.model.sensors import KINDS as SENSOR_KINDS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
MAY30 = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
CHECKPOINTS = (1, 7, 30)

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


# ---------------------------------------------------------------- comparing states


def _snapshot(model: EscalationModel) -> dict[str, Any]:
    """Every array and scalar of the force layer and its air defence, and the generators' states."""
    f = model.forces
    out: dict[str, Any] = {}
    for owner, obj in (("forces", f), ("ru_ad", f.ru_ad), ("ua_ad", f.ua_ad)):
        for name, value in vars(obj).items():
            if isinstance(value, np.ndarray):
                out[f"{owner}.{name}"] = value.copy()
            elif isinstance(value, bool | int | float | np.generic):
                out[f"{owner}.{name}"] = value
            elif isinstance(value, list) and all(isinstance(v, int | float) for v in value):
                out[f"{owner}.{name}"] = np.array(value)  # look-up lists kept beside arrays
    for owner, ad in (("ru_ad", f.ru_ad), ("ua_ad", f.ua_ad)):
        for k, v in enumerate((ad.pairs.source, ad.pairs.cell, ad.pairs.distance_km)):
            out[f"{owner}.pairs.{k}"] = v.copy()
    sensors = f.sensor_cover
    out["coverage.state"] = sensors.state.copy()
    out["coverage.cover"] = sensors.cover.copy()
    out["coverage.pair_x"] = sensors.pair_x.copy()
    out["reserves.pending"] = list(f.reserves._pending)
    out["reserves.next_arrival"] = f.reserves.next_arrival
    out["reserves.queue"] = {g: list(q) for g, q in f.reserves._queue.items()}
    out["reserves.drawn"] = f.reserves.drawn.copy()
    out["rf_csr_reset"] = f._rf_csr is None
    out["memory.deepest"] = model.memory._deepest.copy()
    for name in sorted(model.streams):
        out[f"stream.{name}"] = model.streams[name].bit_generator.state
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal, and for arrays the same dtype, shape and bytes (so ``-0.0 != 0.0``, ``nan == nan``)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    return type(a) is type(b) and a == b


def _assert_same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
    differ = [k for k in a if not _same(a[k], b[k])]
    assert not differ, f"state differs between numpy and the kernels: {differ}"


def _both_paths(
    model: EscalationModel, phase: Callable[[EscalationModel], Any]
) -> tuple[Any, dict[str, Any]]:
    """Run ``phase`` on two copies of the model, by numpy and by the kernels; assert they agree."""
    blob = pickle.dumps(model)
    ref, fast = pickle.loads(blob), pickle.loads(blob)
    with kernels.disabled():
        out_ref = phase(ref)
    out_fast = phase(fast)
    assert _same(out_ref, out_fast), f"outputs differ: {out_ref!r} != {out_fast!r}"
    _assert_same_state(_snapshot(ref), _snapshot(fast))
    return out_fast, _snapshot(fast)


def _models(paths=SCENARIOS, seeds=(0, 3)) -> Iterator[tuple[str, EscalationModel]]:
    """Models of each scenario and seed, at each of :data:`CHECKPOINTS` (advanced by the kernels)."""
    for path in paths:
        sc = load_scenario(path)
        for seed in seeds:
            m = EscalationModel(sc, seed=seed)
            done = 0
            for k in CHECKPOINTS:
                m.run_for(k - done)
                done = k
                yield f"{path.stem}/seed {seed}/day {k}", m


def _scaled(path: Path, factor: int):
    sc = load_scenario(path)
    forces = {g: s.model_copy(update={"count": s.count * factor}) for g, s in sc.forces.items()}
    return sc.model_copy(update={"forces": forces})


# ---------------------------------------------------------------- phases


def _detect(m: EscalationModel):
    k = round(m.time)
    return m.forces.detect(
        k,
        m.combat.preparation_evidence_prob,
        m.combat.fixed_target_attempt_prob,
        m.streams["detect"],
    )


def _detect_then_relocate(m: EscalationModel):
    """Detection draws the departures; relocation moves the units that left; then cells are read."""
    out = _detect(m)
    moved = m.forces.relocate(m.streams["move"])
    return out, moved, m.forces.cell.copy(), m.forces.zone_bits.copy()


def _pull_back(m: EscalationModel):
    return m.forces.pull_back(m.memory.threat_depth(), m.streams["move"])


def _pull_back_everywhere(m: EscalationModel):
    """A deep fast strike remembered in every zone: most mobile units that pull back must move."""
    threat = np.full(len(m.theater.zone_ids), 25.0)
    moved = m.forces.pull_back(threat, m.streams["move"])
    return moved, m.forces.primary_zone.copy(), m.forces.rf_city_in_range.copy()


def _recover(m: EscalationModel):
    """Units damaged and destroyed, then repair and replacements over the next weeks."""
    f, k = m.forces, round(m.time)
    live = np.flatnonzero(f.alive)
    f.apply_damage(live[::7], np.full(len(live[::7]), 0.4), k)
    f.apply_damage(live[3::11], np.full(len(live[3::11]), 2.0), k)
    arrived = [f.recover(m.combat.repair_per_day, k + j) for j in range(40)]
    return np.concatenate(arrived), f.cell.copy(), f.strength.copy()


PHASES = {
    "detect": _detect,
    "detect, relocate": _detect_then_relocate,
    "pull-back": _pull_back,
    "pull-back from a threat in every zone": _pull_back_everywhere,
    "recover": _recover,
}


@pytest.mark.parametrize("phase", list(PHASES), ids=list(PHASES))
def test_each_phase_gives_the_same_outputs_and_state_by_numpy_and_the_kernels(phase):
    """Every shipped scenario, two seeds, three checkpoints: outputs and state bit for bit."""
    fn = PHASES[phase]
    sizes = []
    for _label, m in _models():
        out, _ = _both_paths(m, fn)
        first = out[0] if isinstance(out, tuple) else out
        sizes.append(len(first[0]) if isinstance(first, tuple) else len(first))
    # The comparison had something to compare: some checkpoint found or moved units.
    assert max(sizes) > 0, f"{phase}: nothing happened at any checkpoint"


def test_phases_agree_with_ten_times_the_forces():
    """Many units per cell, per battery and per zone."""
    sc = _scaled(ROOT / "scenarios/deep_strike.yaml", 10)
    m = EscalationModel(sc, seed=4)
    for days in (2, 9):
        m.run_for(days)
        for fn in PHASES.values():
            _both_paths(m, fn)


def test_relocation_when_every_mobile_unit_leaves_at_once():
    """Every live unit that hops leaves this step: the largest move, many units per cell after it."""
    for _label, m in _models([MAY30], seeds=(5,)):
        m.forces.leave_h[:] = 0.5
        (_, moved, *_), _ = _both_paths(m, _detect_then_relocate_forced)
        assert len(moved) > 0


def _detect_then_relocate_forced(m: EscalationModel):
    out = _detect(m)
    m.forces.leave_h[m.forces.alive] = 0.5
    return out, m.forces.relocate(m.streams["move"]), m.forces.cell.copy()


def _relocate_from_the_edges(m: EscalationModel):
    """Hopping units put at their home zone's ends, at the border and at their depth cap, then moved."""
    f = m.forces
    units = np.flatnonzero(f._hops & f.alive)
    q = np.arange(len(units)) % 4
    x = np.where(q == 0, f._home_x0[units] + 0.3, f._home_x1[units] - 0.3)
    cap = np.minimum(f.pullback_cap[units], 60.0)
    d = np.where(q < 2, 1.2, np.where(q == 2, cap - 0.2, cap + 0.5))
    f.move_to(units, x, d)
    f.leave_h[units] = 0.5
    moved = f.relocate(m.streams["move"])
    return moved, f.x.copy(), f.depth.copy(), f.cell.copy()


def test_relocation_at_the_ends_of_home_zones_the_border_and_the_depth_cap():
    """Hops mirrored at the border, clamped to the home zone's stretch and to the depth cap."""
    clamped = 0
    for _label, m in _models([MAY30, ROOT / "scenarios/deep_strike.yaml"], seeds=(0, 1)):
        (moved, x, d, _), _ = _both_paths(m, _relocate_from_the_edges)
        f = m.forces
        clamped += int(np.isin(x[moved], np.r_[f._home_x0[moved], f._home_x1[moved]]).sum())
        assert (d[moved] >= MIN_RUSSIAN_DEPTH_KM).all()
    assert clamped > 0  # the ends of home zones were reached


def test_phases_when_every_russian_unit_is_dead():
    """Only wrecks to see, nothing to move, no fire position to place."""
    for _label, m in _models([MAY30], seeds=(1,)):
        f = m.forces
        ru = f.side == SIDE_RUSSIA
        f.alive[ru] = False
        f.status[ru & (f.status != RESERVE)] = LOST
        f.strength[ru] = 0.0
        for fn in PHASES.values():
            _both_paths(m, fn)
        (cands, _), _ = _both_paths(m, _detect)
        assert np.all(f.status[cands] == LOST)  # a wreck Ukraine still believes alive, if any


def test_detection_when_sensors_are_damaged_or_dead():
    """The coverage cache misses (new sensor states) and is recomputed the same way."""
    for _label, m in _models([MAY30], seeds=(2,)):
        f = m.forces
        for idx in (f.radar_idx, f.isr_idx):
            f.strength[idx[::2]] *= 0.5
            f.alive[idx[1::3]] = False
        _both_paths(m, _detect)
        f.alive[f.radar_idx] = False
        f.alive[f.isr_idx] = False
        (cands, _), snap = _both_paths(m, _detect)
        assert not snap["coverage.cover"].any()
        assert f.fixed[cands].all()  # blind: only fixed sites on today's list are candidates


def test_nothing_to_do_still_draws_the_same():
    """No departures and no threat: nobody moves, and both paths draw their variates all the same."""
    for _label, m in _models([MAY30], seeds=(0,)):
        m.forces.leave_h[:] = np.inf
        moved, _ = _both_paths(m, lambda mm: mm.forces.relocate(mm.streams["move"]))
        assert len(moved) == 0 and moved.dtype == np.int64
        moved, _ = _both_paths(
            m,
            lambda mm: mm.forces.pull_back(np.zeros(len(mm.theater.zone_ids)), mm.streams["move"]),
        )
        assert len(moved) == 0 and moved.dtype == np.int64


def _move_onto(m: EscalationModel, units: np.ndarray, x: np.ndarray, d: np.ndarray):
    def phase(mm: EscalationModel):
        f = mm.forces
        f.move_to(units, x, d)
        return f.cell.copy(), f.fire_cell.copy(), f.zone_bits.copy(), f.primary_zone.copy()

    return _both_paths(m, phase)


def test_positions_synced_on_zone_outlines_off_the_theater_and_in_one_cell():
    """Moved units' cells and zones: raster answers, ray casting near outlines, clamping off the grid."""
    m = EscalationModel(load_scenario(MAY30), seed=3)
    m.run_for(4)
    f, th = m.forces, m.theater
    ru = np.flatnonzero((f.side == SIDE_RUSSIA) & f.alive)
    rng = np.random.default_rng(11)
    # Outline vertices and edge midpoints of every zone: the raster leaves these to ray casting.
    vertices = np.concatenate([o for o in th._outlines])
    mids = np.concatenate([(o + np.roll(o, -1, axis=0)) / 2 for o in th._outlines])
    points = np.concatenate([vertices, mids])
    _, ok = th.raster.look_up(points[:, 0], points[:, 1])
    assert not ok.all()  # the fallback is exercised
    for start in range(0, len(points), len(ru)):
        chunk = points[start : start + len(ru)]
        units = ru[: len(chunk)]
        _move_onto(m, units, chunk[:, 0], chunk[:, 1])
    # Off the theater on every side, and several units in one cell.
    far = np.array([th.x0 - 50.0, th.x1 + 50.0, th.x0 + 1.0, th.x1 - 1.0])
    deep = np.array([th.d0 - 30.0, th.d1 + 30.0, th.d1 + 200.0, th.d0 - 1.0])
    _move_onto(m, ru[:4], far, deep)
    same_x = np.full(len(ru), float(rng.uniform(th.x0, th.x1)))
    same_d = np.full(len(ru), 12.345)
    (cells, *_), _ = _move_onto(m, ru, same_x, same_d)
    assert len(np.unique(cells[ru])) == 1
    # Then the phases on units stacked in one cell.
    for fn in PHASES.values():
        _both_paths(m, fn)


def _move_firing_units(m: EscalationModel, seed: int):
    """Half the firing units moved, carriers' release points moved back; then their reach read."""
    f = m.forces
    r = np.random.default_rng(seed)
    movers = f.rf[r.random(len(f.rf)) < 0.5]
    carriers = np.flatnonzero(f.rf_air)
    f.rf_release[carriers] += r.uniform(0, 20, len(carriers))
    f._place_fire(carriers)
    f.move_to(movers, f.x[movers] + r.uniform(-20, 20, len(movers)), f.depth[movers] + 5.0)
    return (
        f.rf_city_in_range.copy(),
        f.rf_cand_ptr.copy(),
        f.rf_cand_cells.copy(),
        f.fire_cell.copy(),
    )


def test_firing_units_reach_synced_after_moves_and_carriers_release_points():
    """Targets in reach of moved firing units (and of carriers moved back) by both paths."""
    for seed, (_label, m) in enumerate(
        _models([MAY30, ROOT / "scenarios/deep_strike.yaml"], seeds=(6,))
    ):
        (in_range, ptr, _, _), _ = _both_paths(m, lambda mm, s=seed: _move_firing_units(mm, s))
        assert ptr[-1] > 0 and in_range.any()


def _move_russian_batteries(m: EscalationModel, seed: int):
    """Mobile Russian air-defence batteries moved; their cover read, then engagements spent."""
    f = m.forces
    r = np.random.default_rng(seed)
    ad = f.ru_ad
    mobile = ad.units[~f.fixed[ad.units]]
    movers = mobile[r.random(len(mobile)) < 0.6]
    f.move_to(movers, f.x[movers] + r.uniform(-15, 15, len(movers)), f.depth[movers] + 4.0)
    cover = f.russian_air_cover()
    cells = np.flatnonzero(cover > 0)
    ad.engage(r.choice(cells, size=min(12, len(cells))), f.alive)
    return cover, ad.interceptors.copy(), ad._ptr.copy(), np.array(ad._source_list)


def test_russian_air_defence_pairs_after_batteries_move_and_engage():
    """Batteries' cells re-placed and re-sorted by cell (a counting sort in the kernel path)."""
    for seed, (_label, m) in enumerate(_models([MAY30], seeds=(2, 8))):
        (cover, *_), _ = _both_paths(m, lambda mm, s=seed: _move_russian_batteries(mm, s))
        assert cover.any()


def test_pairs_by_cell_is_a_stable_sort_by_cell():
    """The counting sort against ``argsort(kind="stable")``, with many pairs per cell and empty input."""
    rng = np.random.default_rng(5)
    for n, n_cells in ((0, 7), (1, 1), (500, 13), (5000, 900)):
        cell = rng.integers(0, n_cells, n).astype(np.int64)
        source = rng.integers(0, 40, n).astype(np.int64)
        dist = rng.random(n)
        s, c, d, ptr = kmove.pairs_by_cell(source, cell, dist, n_cells)
        order = np.argsort(cell, kind="stable")
        for got, want in ((s, source[order]), (c, cell[order]), (d, dist[order])):
            assert got.tobytes() == want.tobytes()
        want_ptr = np.r_[0, np.cumsum(np.bincount(cell, minlength=n_cells))]
        assert ptr.dtype == want_ptr.dtype and np.array_equal(ptr, want_ptr)


def test_pull_back_memory_remembers_and_recalls_the_same_by_both_paths():
    """Strikes remembered step after step (none, several in one zone, more steps than memory)."""
    rng = np.random.default_rng(9)
    mems = [PullbackMemory(6, 4), PullbackMemory(6, 4)]
    for step in range(15):
        n = int(rng.integers(0, 5))
        zone = rng.integers(0, 3, n).astype(np.int64)  # zones repeat
        depth = rng.uniform(0, 80, n)
        out = []
        for mem, compiled in zip(mems, (False, True), strict=True):
            if compiled:
                mem.remember(step, zone, depth)
                out.append(mem.threat_depth())
            else:
                with kernels.disabled():
                    mem.remember(step, zone, depth)
                    out.append(mem.threat_depth())
        assert out[0].tobytes() == out[1].tobytes()
        assert mems[0]._deepest.tobytes() == mems[1]._deepest.tobytes()
    assert out[1].any()


# ---------------------------------------------------------------- the arithmetic the kernels rely on


def test_cell_index_equals_cell_of_on_boundaries_and_random_points():
    """Numba's float floor division gives numpy's cells, at exact cell edges and beyond the grid."""
    th = EscalationModel(load_scenario(MAY30), seed=0).theater
    rng = np.random.default_rng(0)
    # Exact cell edges (and the floats just below them) along each axis, paired with random values.
    edges_x = th.x0 + th.cell_km * np.arange(-3, th.nx + 3)
    edges_d = th.d0 + th.cell_km * np.arange(-3, th.nd + 3)
    on_x = np.concatenate([edges_x, np.nextafter(edges_x, -np.inf)])
    on_d = np.concatenate([edges_d, np.nextafter(edges_d, -np.inf)])
    x = np.concatenate(
        [rng.uniform(th.x0 - 20, th.x1 + 20, 20000), on_x, rng.uniform(th.x0, th.x1, len(on_d))]
    )
    d = np.concatenate(
        [rng.uniform(th.d0 - 20, th.d1 + 20, 20000), rng.uniform(th.d0, th.d1, len(on_x)), on_d]
    )
    want = th.cell_of(x, d)
    got = np.array(
        [
            kmove.cell_index(float(a), float(b), th.x0, th.d0, th.cell_km, th.nx, th.nd)
            for a, b in zip(x, d, strict=True)
        ]
    )
    np.testing.assert_array_equal(got, want)


def test_zone_bits_kernel_equals_the_theaters_zone_bits():
    """The raster and ray-casting kernel against :meth:`Theater.zone_bits`, point by point."""
    th = EscalationModel(load_scenario(MAY30), seed=0).theater
    rng = np.random.default_rng(1)
    vertices = np.concatenate(th._outlines)
    x = np.concatenate([rng.uniform(th.x0 - 10, th.x1 + 10, 5000), vertices[:, 0]])
    d = np.concatenate([rng.uniform(th.d0 - 10, th.d1 + 10, 5000), vertices[:, 1]])
    want = th.zone_bits(x, d)
    _, _, rf, ri, rb, ra, edges, owner, n_zones, _ = th.lookup_arrays()
    counts, on_edge = np.zeros(n_zones, np.int64), np.zeros(n_zones, bool)
    got = np.array(
        [
            kmove.zone_bits_at(float(a), float(b), rf, ri, rb, ra, edges, owner, counts, on_edge)
            for a, b in zip(x, d, strict=True)
        ]
    )
    np.testing.assert_array_equal(got, want)


_ONE_COMPILATION = """
import json, sys
from pathlib import Path
from escalation_sim import load_scenario
from escalation_sim.model.kernels import detect, movement
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.movement import PullbackMemory
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    sc = load_scenario(path)
    for factor in (1, 10):
        forces = {g: s.model_copy(update={"count": s.count * factor}) for g, s in sc.forces.items()}
        EscalationModel(sc.model_copy(update={"forces": forces}), seed=1).run_for(25)
kernels = {**vars(detect), **vars(movement)}
print(json.dumps({k: len(v.signatures) for k, v in kernels.items() if hasattr(v, "signatures")}))
"""


def test_one_compilation_of_each_kernel_serves_every_scenario():
    """Every argument keeps its type whatever the scenario: no kernel is compiled twice."""
    done = subprocess.run(
        [sys.executable, "-c", _ONE_COMPILATION, str(ROOT / "scenarios")],
        capture_output=True,
        text=True,
        check=True,
    )
    signatures = json.loads(done.stdout.strip().splitlines()[-1])
    used = {k: n for k, n in signatures.items() if n > 0}
    assert {
        "detect_units",
        "sensors_changed",
        "sync_positions",
        "relocate_units",
        "repair",
    } <= used.keys()
    assert all(n == 1 for n in used.values()), used


# ---------------------------------------------------------------- shortcuts equal what they replace


def _cover_of_every_cell(f: ForceLayer, kind: str) -> np.ndarray:
    """A kind's coverage computed on every cell of the theater (the computation before slots)."""
    sensors = f.sensor_cover
    source, cell, p = sensors.pairs(kind)
    state = f.strength[sensors.units] * f.alive[sensors.units]
    log_miss = libm.log1p(-np.minimum(p * state[source], 1.0 - 1e-12))
    return -libm.expm1(np.bincount(cell, weights=log_miss, minlength=f.th.n_cells))


def test_coverage_on_slots_equals_the_coverage_of_every_cell():
    """Kept on the cells sensors reach, coverage is the per-cell computation's, bit for bit.

    Real states (every scenario, two seeds, three checkpoints) and random ones
    (sensors damaged to any strength, some lost, all lost), by both paths.
    """
    rng = np.random.default_rng(3)
    compared = 0
    for _label, m in _models():
        f = pickle.loads(pickle.dumps(m)).forces
        units = f.sensor_cover.units
        for trial in range(4):
            if trial:
                f.strength[units] = rng.random(len(units)) * (trial < 3)
                f.alive[units] = rng.random(len(units)) < (0.8 if trial < 3 else 0.0)
            for compiled in (False, True):
                if compiled:
                    f._coverage()
                else:
                    with kernels.disabled():
                        f._coverage()
                for kind in SENSOR_KINDS:
                    want = _cover_of_every_cell(f, kind)
                    assert _same(f.sensor_cover.of_cells(kind), want), (kind, trial, compiled)
                    compared += int(np.count_nonzero(want))
    assert compared > 0
    # The comparison sees a change of one ulp in one cell's coverage.
    got = f.sensor_cover.of_cells("isr")
    cell = int(np.flatnonzero(got)[0]) if got.any() else 0
    got[cell] = np.nextafter(got[cell], 1.0)
    assert not _same(got, _cover_of_every_cell(f, "isr"))


def _sensors_changed(f: ForceLayer) -> bool:
    return f._sensors_changed()


def test_sensors_changed_answers_whether_any_sensors_state_changed():
    """True exactly when a sensor's strength or life changed (or there was no state yet)."""
    m = EscalationModel(load_scenario(MAY30), seed=0)
    m.run_for(2)
    f = m.forces
    s = f.sensor_cover
    live = f.alive[s.units]  # a lost sensor's state stays zero whatever its strength
    radar, isr = s.units[(s.kind == 0) & live], s.units[(s.kind == 1) & live]
    assert len(radar) > 1 and len(isr) > 1
    f._coverage()
    assert not _sensors_changed(f)
    for units in ([radar[0]], [isr[-1]], [radar[-1], isr[0]]):
        f.strength[units] = f.strength[units] * 0.5 + 0.01
        x_before = s.pair_x.copy()
        assert _sensors_changed(f)
        assert not _sensors_changed(f)
        assert not np.array_equal(s.pair_x, x_before)  # the changed sensors' pairs' terms
    f.strength[s.units[~live]] = 0.5  # lost sensors: no change
    assert not _sensors_changed(f)
    f.alive[isr[1]] = False
    assert _sensors_changed(f)
    s.state[:] = np.nan  # no state yet
    assert _sensors_changed(f)


def test_compiled_cos_sin_and_hypot_equal_numpys():
    """Relocation takes its cosines and sines, detection its track errors' lengths, in the kernels.

    ``math.cos``, ``math.sin`` and ``math.hypot`` in numba are the C library's;
    numpy's must give the same on a million directions ``u * 2 * pi`` (as
    relocation draws them) and a million pairs of standard normal variates (as
    detection does); else the kernels would move units and place tracks
    elsewhere than the numpy code.
    """
    import math

    import numba

    @numba.njit
    def compiled(u, z):
        c, s, h = np.empty(len(u)), np.empty(len(u)), np.empty(len(u))
        for i in range(len(u)):
            a = u[i] * 2.0 * math.pi
            c[i], s[i] = math.cos(a), math.sin(a)
            h[i] = math.hypot(z[0, i], z[1, i])
        return c, s, h

    rng = np.random.default_rng(21)
    u = np.r_[rng.random(1_000_000), 0.0, 0.25, 0.5, 0.75, np.nextafter(1.0, 0.0)]
    z = rng.standard_normal((2, len(u)))
    angle = u * 2.0 * np.pi
    c, s, h = compiled(u, z)
    for got, want, name in ((c, np.cos(angle), "cos"), (s, np.sin(angle), "sin")):
        assert got.tobytes() == want.tobytes(), name
    assert h.tobytes() == np.hypot(z[0], z[1]).tobytes(), "hypot"


def test_reserves_skip_only_steps_when_nothing_is_due():
    """A step before :attr:`ReservePool.next_arrival` has no arrival: same as scanning every step.

    Two pools fed the same losses over many steps, one scanning its pending
    list at every step (its shortcut disabled): the same arrivals, steps and
    order, and ``next_arrival`` is always the earliest pending arrival.
    """
    rng = np.random.default_rng(4)
    for trial in range(20):
        n_groups = int(rng.integers(1, 5))
        group = rng.integers(0, n_groups, 60).astype(np.int64)
        in_reserve = rng.random(60) < 0.5
        delays = ReservePool.delays(list(rng.uniform(0.5, 9.0, n_groups)), 1.0)
        fast, scan = ReservePool(group, in_reserve, delays), ReservePool(group, in_reserve, delays)
        arrived = 0
        for step in range(60):
            lost = np.flatnonzero(~in_reserve & (rng.random(60) < 0.03))
            for pool in (fast, scan):
                pool.send(step, lost)
            scan.next_arrival = -1  # always scan
            got, want = fast.arriving(step), scan.arriving(step)
            assert got.dtype == want.dtype and np.array_equal(got, want), (trial, step)
            assert fast._pending == scan._pending
            assert fast.next_arrival == min((s for s, _ in fast._pending), default=NONE_DUE)
            arrived += len(got)
        assert fast.left() == scan.left()
    assert arrived > 0


# ---------------------------------------------------------------- the comparison can fail


def test_the_comparison_detects_a_one_bit_change():
    """A state that differs in one bit of one float, or one flag, is reported."""
    m = EscalationModel(load_scenario(MAY30), seed=0)
    m.run_for(3)
    a = _snapshot(m)
    b = copy.deepcopy(a)
    _assert_same_state(a, b)
    b["forces.track_error_km"][0] = np.nextafter(b["forces.track_error_km"][0], np.inf)
    with pytest.raises(AssertionError, match="track_error_km"):
        _assert_same_state(a, b)
    c = copy.deepcopy(a)
    c["forces._any_moved"] = not c["forces._any_moved"]
    with pytest.raises(AssertionError, match="_any_moved"):
        _assert_same_state(a, c)
    d = copy.deepcopy(a)
    d["forces.x"][0] = -0.0 if d["forces.x"][0] == 0.0 else d["forces.x"][0]
    d["forces.depth"] = d["forces.depth"].astype(np.float32)
    with pytest.raises(AssertionError, match="depth"):
        _assert_same_state(a, d)


def test_a_phase_that_differs_between_the_paths_is_caught(monkeypatch):
    """If the kernel path computed anything else, ``_both_paths`` would fail."""
    m = EscalationModel(load_scenario(MAY30), seed=0)
    m.run_for(5)
    real = ForceLayer.detect

    def skewed(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        if kernels.enabled():
            self.leave_h[np.isfinite(self.leave_h)] *= 1.0 + 1e-15
            self.leave_h[0] = 1.0
        return out

    monkeypatch.setattr(ForceLayer, "detect", skewed)
    with pytest.raises(AssertionError, match="leave_h"):
        _both_paths(m, _detect)
