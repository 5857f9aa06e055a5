"""The compiled kernels and the numpy code give the same runs, bit for bit.

Every hot phase has a numba kernel and the numpy reference it replaces
(:mod:`escalation_sim.model.kernels`). Whole runs of every shipped scenario,
with the event log on, are compared here with the kernels on and off: the time
series, the event log and the generators' final states must match exactly. A
run with ten times the forces checks the paths where several units share a
cell, a battery or a target. Phase-level tests beside each kernel compare the
two paths on many states.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


def _scaled(sc, factor: int):
    """The scenario with every force group's count multiplied (as benchmarks/bench_model.py)."""
    forces = {
        g: spec.model_copy(update={"count": spec.count * factor}) for g, spec in sc.forces.items()
    }
    return sc.model_copy(update={"forces": forces})


def _fingerprint(model: EscalationModel) -> tuple[str, str, list]:
    series = model.timeseries().to_csv(index=False)
    events = "\n".join(json.dumps(r, sort_keys=True, default=str) for r in model.events.records())
    streams = [model.streams[k].bit_generator.state for k in sorted(model.streams)]
    return series, events, streams


def _run(sc, seed: int, days: int, *, compiled: bool) -> tuple[str, str, list]:
    if compiled:
        m = EscalationModel(sc, seed=seed, record_events=True)
        m.run_for(days)
        return _fingerprint(m)
    with kernels.disabled():
        m = EscalationModel(sc, seed=seed, record_events=True)
        m.run_for(days)
        return _fingerprint(m)


def _assert_same(a, b) -> None:
    assert a[0] == b[0], "time series differ between the kernels and numpy"
    assert a[1] == b[1], "event logs differ between the kernels and numpy"
    assert a[2] == b[2], "the generators drew a different number of variates"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", [0, 3])
def test_kernels_and_numpy_give_the_same_run(path: Path, seed: int) -> None:
    sc = load_scenario(path)
    _assert_same(_run(sc, seed, 90, compiled=True), _run(sc, seed, 90, compiled=False))


def test_kernels_and_numpy_agree_with_ten_times_the_forces() -> None:
    sc = _scaled(load_scenario(ROOT / "scenarios/deep_strike.yaml"), 10)
    _assert_same(_run(sc, 1, 45, compiled=True), _run(sc, 1, 45, compiled=False))


def test_disabled_switches_the_numpy_path_on_and_back() -> None:
    before = kernels.enabled()
    with kernels.disabled():
        assert not kernels.enabled()
    assert kernels.enabled() == before


def test_a_run_differs_when_the_seed_does() -> None:
    # The comparison above can fail: two different seeds give different fingerprints.
    sc = load_scenario(ROOT / "scenarios/may30_kharkiv_counterfire.yaml")
    assert _run(sc, 0, 30, compiled=False)[0] != _run(sc, 1, 30, compiled=False)[0]


def _raised_from(cause: BaseException, layers: int) -> BaseException:
    exc = cause
    for _ in range(layers):
        try:
            raise SystemError("returned a result with an exception set") from exc
        except SystemError as err:
            exc = err
    return exc


def test_ctrl_c_inside_a_kernel_is_recognised_as_ctrl_c() -> None:
    # Python reports a signal handled on a kernel's return as a SystemError caused by the
    # KeyboardInterrupt, one per layer of numba's calls it passed through.
    assert kernels.is_interrupt(KeyboardInterrupt())
    for layers in (1, 2, 3):
        assert kernels.is_interrupt(_raised_from(KeyboardInterrupt(), layers))
    assert not kernels.is_interrupt(_raised_from(ValueError("a real error"), 2))
    assert not kernels.is_interrupt(SystemError("no cause"))


def test_the_cache_folder_follows_every_kernel_source(tmp_path: Path) -> None:
    # numba notices a change only in the file a cached kernel is written in, not in the
    # kernels it calls from other files: the folder is named after all the sources.
    src = Path(kernels.__file__).parent
    for path in src.glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    before = kernels.source_digest(tmp_path)
    assert before == kernels.source_digest(src)
    fire = tmp_path / "fire.py"
    fire.write_text(fire.read_text() + "\n# an edit\n")
    assert kernels.source_digest(tmp_path) != before
    assert kernels.cache_dir().name == f"kernels-{before}"


def test_every_kernel_is_cached_in_the_folder_of_these_sources() -> None:
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    folder = str(kernels.cache_dir())
    found = 0
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__:
                assert value._cache._cache_path.startswith(folder), value
                found += 1
    assert found >= 20
