"""Engagement planning: the compiled kernels and the numpy code make the same plan, bit for bit.

``plan_strikes`` (:mod:`escalation_sim.model.engagement`) has a numpy path
(the reference) and a kernel path (:mod:`escalation_sim.model.kernels.plan`).
Here the two are run on the same states: the arguments of real calls, taken
from runs of every shipped scenario on several seeds (and with ten times the
forces), and those states pushed to the edges: no candidate, every launcher
or every launcher of a group dead, shots, stocks and families' capacity
running out within the step, many targets in one cell, tight strike ceilings,
candidates in any order. Every field of the plan must be equal, with its dtype,
and planning must leave the force layer, the stocks and the capacities as it
found them on either path.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import escalation_sim.model.model as model_module
from escalation_sim import load_scenario
from escalation_sim.model import kernels
from escalation_sim.model.engagement import StrikePlan, plan_strikes
from escalation_sim.model.forces import NEVER, SIDE_UKRAINE
from escalation_sim.model.kernels import plan as plan_kernels
from escalation_sim.model.model import EscalationModel

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
MAY30 = ROOT / "scenarios/may30_kharkiv_counterfire.yaml"
FIELDS = StrikePlan.__slots__

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


def _scaled(sc, factor: int):
    forces = {
        g: spec.model_copy(update={"count": spec.count * factor}) for g, spec in sc.forces.items()
    }
    return sc.model_copy(update={"forces": forces})


def _captured(sc, seed: int, days: int, every: int) -> list[bytes]:
    """``plan_strikes``' arguments at every ``every``-th step with candidates, pickled."""
    states: list[bytes] = []
    real = model_module.plan_strikes

    def spy(*args):
        if len(args[3]) and args[6] % every == 0:
            states.append(pickle.dumps(args))
        return real(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model_module, "plan_strikes", spy)
        EscalationModel(sc, seed=seed).run_for(days)
    return states


def _arrays(args) -> dict[str, np.ndarray]:
    """Every array planning could touch: the force layer's, its air defences', the inputs."""
    forces, *_ = args
    out = {f"forces.{k}": v for k, v in vars(forces).items() if isinstance(v, np.ndarray)}
    for side in ("ru_ad", "ua_ad"):
        ad = getattr(forces, side)
        out |= {f"{side}.{k}": v for k, v in vars(ad).items() if isinstance(v, np.ndarray)}
    names = ("candidates", "preparing", "stock", "engine_weapon", "family_capacity")
    for name, v in zip(names, (args[3], args[4], args[5], args[8], args[9]), strict=True):
        if v is not None:
            out[name] = v
    return out


def assert_same_plan(ref: StrikePlan, got: StrikePlan) -> None:
    for name in FIELDS:
        a, b = getattr(ref, name), getattr(got, name)
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} against {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=name, strict=True)


def assert_same_state(ref: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
    assert ref.keys() == got.keys()
    for name in ref:
        a, b = ref[name], got[name]
        assert a.dtype == b.dtype, name
        # Bitwise: floats compared as their bytes (nan and -0.0 included).
        assert a.shape == b.shape and a.tobytes() == b.tobytes(), name


def plan_both_ways(blob: bytes) -> StrikePlan:
    """Plan on two copies of one state, numpy and kernels; check plans and states agree."""
    untouched = pickle.loads(blob)
    ref_args, got_args = pickle.loads(blob), pickle.loads(blob)
    with kernels.disabled():
        ref = plan_strikes(*ref_args)
    assert kernels.enabled()
    got = plan_strikes(*got_args)
    assert_same_plan(ref, got)
    # Planning spends nothing: the state is the one it was given, on either path (positions'
    # lazily derived cells and zones brought up to date, as planning reads them).
    untouched[0].cell  # noqa: B018
    assert_same_state(_arrays(ref_args), _arrays(got_args))
    assert_same_state(_arrays(untouched), _arrays(ref_args))
    return ref


# ------------------------------------------------------------------ real states


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_same_plans_on_the_states_of_real_runs(path: Path) -> None:
    sc = load_scenario(path)
    strikes = withheld = 0
    for seed in (0, 5):
        for blob in _captured(sc, seed, 75, every=3):
            plan = plan_both_ways(blob)
            strikes += len(plan.target)
            withheld += len(plan.withheld_target)
    assert strikes > 20, "the runs must plan strikes for the comparison to mean something"
    if path.stem != "deep_strike":  # its rules withhold little
        assert withheld > 0


def test_same_plans_with_ten_times_the_forces() -> None:
    sc = _scaled(load_scenario(ROOT / "scenarios/deep_strike.yaml"), 10)
    blobs = _captured(sc, 2, 24, every=4)
    assert len(blobs) >= 4
    for blob in blobs:
        plan_both_ways(blob)


# ------------------------------------------------------------------ states at the edges


@pytest.fixture(scope="module")
def base_states() -> list[bytes]:
    """States from two scenarios with different rules (the May-30 reading; before it)."""
    out = []
    for name in ("may30_kharkiv_counterfire", "pre_may30"):
        out += _captured(load_scenario(ROOT / f"scenarios/{name}.yaml"), 1, 60, every=6)[:6]
    return out


def _edit(blob: bytes, fn) -> bytes:
    """The state with ``fn(args) -> args`` applied (before both paths copy it)."""
    return pickle.dumps(tuple(fn(list(pickle.loads(blob)))))


def _launchers(f) -> np.ndarray:
    return np.flatnonzero((f.side == SIDE_UKRAINE) & (f.unit_shots > 0))


def test_no_candidate_and_no_strike_allowed_give_empty_plans(base_states) -> None:
    for blob in base_states[:3]:
        none = _edit(blob, lambda a: [*a[:3], a[3][:0], a[4][:0], *a[5:]])
        assert len(plan_both_ways(none).target) == 0
        zero = _edit(blob, lambda a: [*a[:7], 0, *a[8:]])
        assert len(plan_both_ways(zero).target) == 0


def test_every_launcher_dead_or_every_launcher_of_a_group_dead(base_states) -> None:
    def kill_all(a):
        a[0].alive[_launchers(a[0])] = False
        return a

    def kill_group(group):
        def edit(a):
            f = a[0]
            f.alive[(f.group == group) & f.alive] = False
            return a

        return edit

    for blob in base_states:
        assert len(plan_both_ways(_edit(blob, kill_all)).target) == 0
        f = pickle.loads(blob)[0]
        for group in np.unique(f.group[_launchers(f)]).tolist():
            plan_both_ways(_edit(blob, kill_group(group)))


def test_shots_stocks_and_capacity_running_out_within_the_step(base_states) -> None:
    """One shot per launcher, a salvo or two per weapon, one strike per family: re-ranking."""
    ran_dry = {"shots": 0, "stock": 0, "capacity": 0}

    def scarce(kind):
        def edit(a):
            f = a[0]
            if kind == "shots":
                f.unit_shots[_launchers(f)] = 1
            elif kind == "stock":
                a[5] = np.minimum(a[5], np.arange(len(a[5])) % 3)
            else:
                a[9] = np.minimum(a[9], 1.0)
            a[7] = 10_000
            return a

        return edit

    for blob in base_states:
        for kind in ran_dry:
            state = _edit(blob, scarce(kind))
            plan = plan_both_ways(state)
            args = pickle.loads(state)
            f = args[0]
            weapon = f.opt_weapon[plan.option]
            if kind == "shots":  # a launcher spent its only shot with candidates still waiting
                dry = len(plan.target) >= 2
            elif kind == "stock":
                used = np.bincount(weapon, minlength=len(args[5]))
                dry = bool(((used > 0) & (args[5] - used < 1.0)).any())
            else:
                used = np.bincount(f.w_family[weapon], minlength=len(args[9]))
                dry = bool(((used > 0) & (used >= args[9])).any())
            ran_dry[kind] += dry
    assert min(ran_dry.values()) >= 3, ran_dry


def test_many_targets_in_one_cell_and_candidates_in_any_order(base_states) -> None:
    rng = np.random.default_rng(11)
    for blob in base_states:

        def crowd(a):
            f, cands = a[0], a[3]
            k = cands[: max(2, len(cands) // 2)]
            f.move_to(k, np.full(len(k), f.x[k[0]]), np.full(len(k), f.depth[k[0]]))
            order = rng.permutation(len(cands))
            a[3], a[4] = cands[order], a[4][order]
            return a

        plan_both_ways(_edit(blob, crowd))


def test_random_states(base_states) -> None:
    """Shots, stocks, capacity, evidence, ceilings and deaths drawn at random, many times."""
    rng = np.random.default_rng(2024)
    strikes = withheld = 0
    for trial in range(120):
        blob = base_states[trial % len(base_states)]

        def shake(a):
            f, step = a[0], a[6]
            launchers = _launchers(f)
            f.unit_shots[launchers] = rng.integers(0, 4, len(launchers))
            f.alive[launchers] &= rng.random(len(launchers)) < 0.8
            russian = np.flatnonzero(f.side != SIDE_UKRAINE)
            n = int(rng.integers(1, min(40, len(russian)) + 1))
            cands = rng.choice(russian, n, replace=False)
            a[3], a[4] = cands, rng.random(n) < 0.3
            f.fired_at_city[cands] = rng.random(n) < 0.3
            seen = step - rng.integers(0, 8, n)
            f.last_seen_firing[cands] = np.where(rng.random(n) < 0.3, NEVER, seen)
            a[5] = np.floor(rng.random(len(a[5])) * 5) + rng.choice([0.0, 0.5], len(a[5]))
            fam = rng.integers(0, 4, len(a[9])).astype(float)
            a[9] = np.where(rng.random(len(fam)) < 0.3, np.inf, fam)
            a[7] = int(rng.integers(0, n + 3))
            return a

        plan = plan_both_ways(_edit(blob, shake))
        strikes += len(plan.target)
        withheld += len(plan.withheld_target)
    assert strikes > 100 and withheld > 10
    # One compilation serves every state (the kernels are type-stable).
    assert len(plan_kernels.plan_options.signatures) == 1
    assert len(plan_kernels.decide_and_assign.signatures) == 1


def test_the_comparison_detects_a_different_plan(base_states) -> None:
    blob = next(b for b in base_states if len(plan_both_ways(b).target) > 1)
    full = plan_strikes(*pickle.loads(blob))
    fewer = list(pickle.loads(blob))
    fewer[7] = len(full.target) - 1  # one strike fewer
    with pytest.raises(AssertionError):
        assert_same_plan(full, plan_strikes(*fewer))
    touched = _arrays(pickle.loads(blob))
    changed = dict(touched, stock=touched["stock"] + 1e-12)
    with pytest.raises(AssertionError):
        assert_same_state(touched, changed)


def test_each_cell_and_options_launchers_lie_in_one_range_in_their_order(base_states) -> None:
    # Planning reads a (cell, option)'s launchers as a range of the launch pairs
    # (``_lg_ptr``): each range must hold exactly the pairs of that cell and option, in
    # the order the reach pairs list them (the order numpy's stable grouping keeps), and
    # the per-cell pointer must bound the same pairs.
    f = pickle.loads(base_states[0])[0]
    n_cells, n_opt = f.th.n_cells, len(f.opt_group)
    assert len(f._lg_ptr) == n_cells * n_opt + 1 and len(f._lp_ptr) == n_cells + 1
    option, cell = np.divmod(f._reach_key, n_cells)
    filled = 0
    for c in np.unique(cell):
        assert f._lp_ptr[c] == f._lg_ptr[c * n_opt]
        assert f._lp_ptr[c + 1] == f._lg_ptr[(c + 1) * n_opt]
        for o in range(n_opt):
            g = c * n_opt + o
            lo, hi = f._lg_ptr[g], f._lg_ptr[g + 1]
            want = f._reach_src[(cell == c) & (option == o)]
            np.testing.assert_array_equal(f._lp_src[lo:hi], want, strict=True)
            assert (f._lp_opt[lo:hi] == o).all()
            filled += hi > lo + 1
    assert filled > 0  # ranges of several launchers, whose order is tested
    assert f._lg_ptr[-1] == len(f._lp_src) == len(f._reach_src)


def test_the_kernels_stable_sort_equals_numpys() -> None:
    rng = np.random.default_rng(8)
    for n in (0, 1, 2, 3, 7, 8, 9, 16, 17, 100, 1000):
        for high in (2, 5, 10**6):  # many ties, some, none
            keys = rng.integers(0, high, n)
            np.testing.assert_array_equal(
                plan_kernels._stable_argsort(keys), np.argsort(keys, kind="stable"), strict=True
            )
