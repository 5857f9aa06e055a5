"""What a model's build takes from per-scenario caches, and that no two models share state.

The force layer's seed-independent set-up (weapons, groups, masks, launch
options) is built once per scenario in a process and copied into each model
(``model/forces.py``: ``_statics``, ``_own``), as is the scenario's hash in a run's
metadata (a validated scenario is read-only: ``tests/test_scenario_read_only.py``).
These tests
check that a model built from the cache is attribute for attribute the model
built with the cache empty, for every shipped scenario and several seeds, with
the kernels on and off; that a model's arrays are its own (no memory shared
with another model of the scenario, interleaved runs give each run's results
alone); that the cache is hit; and that the comparison used here sees a one-ulp
difference.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model import forces as forces_module
from escalation_sim.model import kernels
from escalation_sim.model.airdefence import AirDefence
from escalation_sim.model.forces import ForceLayer
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.reserves import ReservePool
from escalation_sim.model.theater import CellPairs, Theater
from escalation_sim.results import run_metadata
from escalation_sim.scenario.loader import scenario_hash

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
DEFAULT = ROOT / "scenarios/may30_kharkiv_counterfire.yaml"
#: Shared by design, not copied: the frozen scenario and the per-scenario theater.
SHARED = ("sc", "th", "combat")


def _differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two built values differ: arrays bit for bit (dtype and shape too), recursively."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return [where]
        if a.dtype != b.dtype or a.shape != b.shape:
            return [where]
        same = a.tobytes() == b.tobytes() if a.dtype != object else a.tolist() == b.tolist()
        return [] if same else [where]
    if isinstance(a, (AirDefence, ReservePool, CellPairs, ForceLayer)):
        if type(a) is not type(b):
            return [where]
        return _differences(_state(a), _state(b), where)
    if isinstance(a, dict):
        if not isinstance(b, dict) or list(a) != list(b):
            return [where]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return [where]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        return [] if np.float64(a).tobytes() == np.float64(b).tobytes() else [where]
    return [] if a == b and type(a) is type(b) else [where]


def _state(obj: Any) -> dict[str, Any]:
    """An object's attributes (slots or ``__dict__``), the shared ones by identity."""
    names = list(getattr(obj, "__dict__", {})) or list(getattr(obj, "__slots__", ()))
    return {n: id(getattr(obj, n)) if n in SHARED else getattr(obj, n) for n in sorted(names)}


def _arrays(obj: Any, seen: set[int] | None = None) -> list[np.ndarray]:
    """Every array an object of the force layer holds, however deep (shared parts left out)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        return [a for v in obj.values() for a in _arrays(v, seen)]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in _arrays(v, seen)]
    if isinstance(obj, (AirDefence, ReservePool, CellPairs, ForceLayer)):
        state = _state(obj)
        return [a for n, v in state.items() if n not in SHARED for a in _arrays(v, seen)]
    return []


def _built_cold(scenario: Any, seed: int) -> EscalationModel:
    forces_module._static_cache.clear()
    return EscalationModel(scenario, seed=seed, record_events=False)


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_force_layer_built_from_the_cache_is_the_one_built_without(path: Path, compiled: bool):
    sc = load_scenario(path)
    off = contextlib.nullcontext() if compiled else kernels.disabled()
    with off:
        for seed in (0, 1, 7):
            cold = _built_cold(sc, seed).forces
            warm = EscalationModel(sc, seed=seed, record_events=False).forces
            assert _differences(_state(cold), _state(warm)) == []
            assert len(forces_module._static_cache) == 1


def test_the_comparison_sees_a_one_ulp_difference_and_another_seed():
    sc = load_scenario(DEFAULT)
    a = _built_cold(sc, 0).forces
    b = EscalationModel(sc, seed=0, record_events=False).forces
    assert _differences(_state(a), _state(b)) == []
    b.w_range[0] = np.nextafter(b.w_range[0], np.inf)
    assert _differences(_state(a), _state(b)) == [".w_range"]
    b.ua_ad.cover_p[:1] = np.nextafter(b.ua_ad.cover_p[:1], 2.0)
    assert ".ua_ad.cover_p" in _differences(_state(a), _state(b))
    other = EscalationModel(sc, seed=1, record_events=False).forces
    found = _differences(_state(a), _state(other))
    assert ".x" in found and ".depth" in found and ".w_range" not in found


def test_the_seed_independent_set_up_is_built_once_per_scenario(monkeypatch):
    sc = load_scenario(DEFAULT)
    forces_module._static_cache.clear()
    builds = []
    original = ForceLayer._static_attributes

    def counted(self, *args):
        builds.append(args[0])
        return original(self, *args)

    monkeypatch.setattr(ForceLayer, "_static_attributes", counted)
    for seed in range(4):
        EscalationModel(sc, seed=seed, record_events=False)
    assert len(builds) == 1
    changed = with_overrides(sc, ["forces.ua_himars.count=3"])
    EscalationModel(changed, seed=0, record_events=False)
    assert len(builds) == 2  # another scenario object: its own set-up
    # A theater other than the shared one (a caller building a layer itself) gets its own.
    m = EscalationModel(sc, seed=0, record_events=False)
    own = Theater(sc.theater)
    ForceLayer(sc, own, np.random.default_rng(0), m.actor_ids, m.weapon_ids)
    assert len(builds) == 3


def test_no_array_of_one_model_is_another_models():
    sc = load_scenario(DEFAULT)
    a = EscalationModel(sc, seed=0, record_events=False)
    b = EscalationModel(sc, seed=0, record_events=False)
    arrays_a, arrays_b = _arrays(a.forces), _arrays(b.forces)
    assert len(arrays_a) > 100
    shared = [
        (i, j)
        for i, x in enumerate(arrays_a)
        for j, y in enumerate(arrays_b)
        if x.size and y.size and np.shares_memory(x, y)
    ]
    assert shared == []


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
def test_two_models_of_one_scenario_run_interleaved_give_each_runs_results_alone(compiled: bool):
    sc = with_overrides(load_scenario(DEFAULT), ["horizon_days=40"])
    off = contextlib.nullcontext() if compiled else kernels.disabled()
    with off:
        alone = {}
        for seed in (3, 4):
            m = EscalationModel(sc, seed=seed, record_events=False)
            m.run()
            alone[seed] = m.timeseries()
        a = EscalationModel(sc, seed=3, record_events=False)
        b = EscalationModel(sc, seed=4, record_events=False)
        for _ in range(sc.n_steps):  # a step of one, then a step of the other
            a.run_for(1)
            b.run_for(1)
        # One model's writes into its arrays must not reach a model built after it.
        a.forces.alive[:] = False
        a.forces.x[:] = 0.0
        c = EscalationModel(sc, seed=3, record_events=False)
        c.run()
    assert a.timeseries().equals(alone[3])
    assert b.timeseries().equals(alone[4])
    assert c.timeseries().equals(alone[3])


def test_the_metadata_hash_is_the_scenarios_and_follows_an_override():
    sc = load_scenario(DEFAULT)
    assert run_metadata(sc, 0)["scenario_hash"] == scenario_hash(sc)
    assert run_metadata(sc, 1)["scenario_hash"] == scenario_hash(sc)
    changed = with_overrides(sc, ["horizon_days=40"])
    assert run_metadata(changed, 0)["scenario_hash"] == scenario_hash(changed)
    assert scenario_hash(changed) != scenario_hash(sc)
