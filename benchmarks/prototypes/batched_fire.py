"""Prototype (c): many replications per array pass, on the Russian-fire phase.

R runs of the default scenario (seeds 0..R-1) are built and stepped ``--warm-steps``
days with the current model, so their states differ; then one step of Russian fire
is made for all R from the same state, four ways, each checked equal per run to the
current phase:

* ``current``: R calls of ``ForceLayer.russian_fire``, one per run (what an
  ensemble does today);
* ``a_numba``: R calls of the compiled single-run kernel (``fire_numba.py``);
* ``c_numpy``: one numpy pass over all R runs: the runs' units, cells and weapon
  stocks laid end to end in flat arrays (unit ``r * n + i``, cell
  ``r * n_cells + c``, stock ``r * n_weapons + w``), so the phase is the same
  handful of array operations whatever R;
* ``c_numba``: one call of a compiled kernel that loops over the R runs;
* ``c_numba_draws``: the same kernel drawing each run's variates itself from the
  run's own generator (a numba typed list of the R generators).

Each run's variates still come from its own stream (R ``rng.random`` calls per
step; numba's ``Generator.random`` draws the same numbers as numpy's, checked
below, so a kernel could also draw them itself), and each run's air cover from
its own (cached) coverage: both are timed as part of the batched phases.

Left out, and what a real (c) core needs: the per-run static tables (unit
positions, cell lists, launch pairs) differ between seeds, so they become ragged
per-run arrays with offsets (built here, untimed, as set-up); every other phase
(detection, planning, decisions) must be batched the same way or its per-run
Python calls stay; Mesa's time control then steps the batch, not a run.

Usage::

    .venv/bin/python benchmarks/prototypes/batched_fire.py [--replications 1,10,100,1000]
        [--warm-steps 30] [--repeats 20] [--out benchmarks/results]

Output: ``<out>/batched_fire_<UTC timestamp>.csv``, one row per (R, variant):

    timestamp, python, mesa, numpy, machine, numba   as in every benchmark here
    replications   R
    variant        current, a_numba, c_numpy, c_numba; c_numba_draws (the kernel draws
                   each run's variates from its own generator); draws_cover: the runs'
                   own variates and air cover alone (the floor of c_numpy and c_numba);
                   cover: the air cover alone (the floor of c_numba_draws)
    us_per_run     median microseconds of the phase per run (the whole call / R), in the
                   process's CPU time (see ``benchlib.clock``)
    speedup        current's us_per_run over this variant's
    identical      every run's outcome and state equal the current phase's
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numba  # noqa: E402
import numpy as np  # noqa: E402
from benchlib import (  # noqa: E402
    BASE_FIELDS,
    DEFAULT_SCENARIO,
    RESULTS,
    base_row,
    now,
    pin_to_one_core,
    started,
    write_csv,
)
from fire_numba import NumbaFireForceLayer, fire_core  # noqa: E402
from numba import njit, typed  # noqa: E402

from escalation_sim import EscalationModel, load_scenario  # noqa: E402
from escalation_sim.model.forces import ForceLayer, ration  # noqa: E402

STATE = ("strength", "alive", "last_fired", "fired_at_city", "destroyed_now")
FIELDS = [*BASE_FIELDS, "numba", "replications", "variant", "us_per_run", "speedup", "identical"]


# ----------------------------------------------------------------------------- the batch
class Batch:
    """R runs' force layers laid end to end (static tables once, state per measurement)."""

    def __init__(self, layers: list[ForceLayer]) -> None:
        f0 = layers[0]
        self.R, self.n, self.n_rf = len(layers), f0.n, len(f0.rf)
        self.n_cells, self.n_w = f0.th.n_cells, len(f0.weapon_ids)
        R, n, n_rf, n_cells, n_w = self.R, self.n, self.n_rf, self.n_cells, self.n_w
        # Group structure (which units fire, with what) is the same in every run.
        self.rf, self.rf_weapon, self.rf_salvoes = f0.rf, f0.rf_weapon, f0.rf_salvoes
        self.rf_prob, self.rf_city_share = f0.rf_prob, f0.rf_city_share
        self.w_intercept, self.effect, self.cls, self.w_harm = (
            f0.w_intercept,
            f0.effect,
            f0.cls,
            f0.w_harm,
        )
        self.destroyed_below, self.city_cell = f0.destroyed_below, int(f0.th.city_cell)
        # Positions differ per run: per-run tables (numba) and flat global ones (numpy).
        self.city_in_range = np.stack([f.rf_city_in_range for f in layers])
        self.cand_ptr = np.stack([f.rf_cand_ptr for f in layers])
        self.cand_cells = [f.rf_cand_cells for f in layers]
        self.cand_off = np.r_[0, np.cumsum([len(c) for c in self.cand_cells])]
        self.cand_flat = np.concatenate(self.cand_cells)
        self.cell_ptr = np.stack([f.ua_cell_ptr for f in layers])
        self.members = np.stack([f.ua_cell_members for f in layers])
        r_rf = np.repeat(np.arange(R), n_rf)
        self.g_rf = r_rf * n + np.tile(self.rf, R)
        self.g_key = r_rf * n_w + np.tile(self.rf_weapon, R)  # stock slot of each shooter
        self.g_w = np.tile(self.rf_weapon, R)
        self.g_salvoes = np.tile(self.rf_salvoes, R)
        self.g_prob = np.tile(self.rf_prob, R)
        self.g_share = np.tile(self.rf_city_share, R)
        self.g_city_cell = r_rf * n_cells + self.city_cell
        self.g_cand_ptr = (self.cand_ptr[:, :-1] + self.cand_off[:-1, None]).ravel()
        self.g_cand_n = np.diff(self.cand_ptr, axis=1).ravel()
        self.g_cand_cells = self.cand_flat + np.repeat(
            np.arange(R) * n_cells, [len(c) for c in self.cand_cells]
        )
        self.g_cell_ptr = (
            self.cell_ptr[:, :-1] + np.arange(R)[:, None] * self.members.shape[1]
        ).ravel()
        self.g_cell_size = np.diff(self.cell_ptr, axis=1).ravel()
        self.g_members = (self.members + np.arange(R)[:, None] * n).ravel()
        self.g_cls = np.tile(self.cls, R)


def c_numpy(b: Batch, u: np.ndarray, cover: np.ndarray, mult: np.ndarray, step: int, st: dict):
    """Russian fire for all R runs in one pass of numpy operations over flat arrays.

    ``u`` is (6, R * n_rf), ``cover`` (R * n_cells), ``mult`` (R,); ``st`` holds the
    flat state: ``stock`` (R * n_w) and the unit arrays (R * n).
    """
    R, n_rf = b.R, b.n_rf
    units = b.g_rf
    p = np.minimum(b.g_prob * st["strength"][units] * np.repeat(mult, n_rf), 1.0)
    wants = st["alive"][units] & (u[0] < p)
    at_city = wants & b.city_in_range.ravel() & (u[1] < b.g_share)
    at_front = wants & ~at_city & (b.g_cand_n > 0)
    firing = at_city | at_front
    granted = ration(b.g_key[firing], b.g_salvoes[firing], st["stock"])
    firing[np.flatnonzero(firing)[~granted]] = False
    at_city &= firing
    at_front &= firing
    np.subtract.at(st["stock"], b.g_key[firing], b.g_salvoes[firing])
    st["last_fired"][units[firing]] = step
    st["fired_at_city"][units] = at_city
    p_city = b.w_intercept[b.g_w[at_city]] * cover[b.g_city_cell[at_city]]
    landed = b.g_salvoes[at_city] * (u[2][at_city] >= p_city)
    city = np.bincount(b.g_key[at_city], weights=landed, minlength=R * b.n_w).reshape(R, b.n_w)
    shooters = np.flatnonzero(at_front)
    pick = b.g_cand_ptr[shooters] + (u[3][shooters] * b.g_cand_n[shooters]).astype(np.int64)
    cells = b.g_cand_cells[pick]
    lo = b.g_cell_ptr[cells]
    targets = b.g_members[lo + (u[4][shooters] * b.g_cell_size[cells]).astype(np.int64)]
    w_front = b.g_w[shooters]
    hit = st["alive"][targets] & (u[5][shooters] >= b.w_intercept[w_front] * cover[cells])
    targets, w_front = targets[hit], w_front[hit]
    damage = b.effect[w_front, b.g_cls[targets]] * b.g_salvoes[shooters][hit]
    lost = np.zeros(R * b.n, dtype=bool)
    if len(targets):
        strength, alive = st["strength"], st["alive"]
        np.subtract.at(strength, targets, damage)
        np.maximum(strength, 0.0, out=strength)
        lost = alive & (strength < b.destroyed_below)
        alive[lost] = False
        strength[lost] = 0.0
        st["destroyed_now"][lost] = True
    hits = np.bincount(targets // b.n, minlength=R)
    return firing.reshape(R, n_rf), at_city.reshape(R, n_rf), city, hits, lost.reshape(R, b.n)


@njit(cache=True)
def c_numba_kernel(  # one call for all R runs
    gens,
    draw,
    u,
    rf,
    rf_prob,
    rf_weapon,
    rf_salvoes,
    rf_share,
    city_in_range,
    cand_ptr,
    cand_flat,
    cand_off,
    cell_ptr,
    members,
    w_intercept,
    effect,
    cls,
    cover,
    city_cell,
    mult,
    step,
    destroyed_below,
    stock,
    strength,
    alive,
    last_fired,
    fired_at_city,
    destroyed_now,
    at_city,
    at_front,
    city,
    lost,
    hits,
):
    """Loop :func:`fire_core` over the runs, each on its own rows of the batch arrays.

    With ``draw``, each run's variates are drawn here from its own generator in
    ``gens`` (a typed list; numba's draws equal numpy's), into ``u``.
    """
    for r in range(stock.shape[0]):
        if draw:
            u[r] = gens[r].random((6, rf.shape[0]))
        hits[r] = fire_core(
            u[r],
            rf,
            rf_prob,
            rf_weapon,
            rf_salvoes,
            rf_share,
            city_in_range[r],
            cand_ptr[r],
            cand_flat[cand_off[r] : cand_off[r + 1]],
            cell_ptr[r],
            members[r],
            w_intercept,
            effect,
            cls,
            cover[r],
            city_cell,
            mult[r],
            step,
            destroyed_below,
            stock[r],
            strength[r],
            alive[r],
            last_fired[r],
            fired_at_city[r],
            destroyed_now[r],
            at_city[r],
            at_front[r],
            city[r],
            lost[r],
        )


# ----------------------------------------------------------------------------- measurement
def snapshot(models: list[EscalationModel]) -> list[dict]:
    """Each run's fire-relevant state: unit arrays, stock, fire stream, multiplier."""
    out = []
    for m in models:
        rus = m.actor[m.russia_id]
        out.append(
            {
                **{k: getattr(m.forces, k).copy() for k in STATE},
                "stock": m.stock.copy(),
                "rng": copy.deepcopy(m.streams["fire"]),
                "mult": rus.ladder.rung(rus.rung).fire_multiplier,
            }
        )
    return out


def restore(models: list[EscalationModel], snap: list[dict]) -> None:
    """Put every run back in its snapshot state (stream included)."""
    for m, s in zip(models, snap, strict=True):
        for k in STATE:
            getattr(m.forces, k)[:] = s[k]
        m.stock[:] = s["stock"]
        m.streams["fire"] = copy.deepcopy(s["rng"])


def measure(models: list[EscalationModel], step: int, repeats: int) -> list[dict]:
    """Time the four ways on the same state; check each against the current phase."""
    snap = snapshot(models)
    R = len(models)
    b = Batch([m.forces for m in models])
    mult = np.array([s["mult"] for s in snap], dtype=float)

    def current() -> list:
        return [
            m.forces.russian_fire(step, s["mult"], m.stock, m.streams["fire"])
            for m, s in zip(models, snap, strict=True)
        ]

    def a_numba() -> list:
        return [
            NumbaFireForceLayer.russian_fire(m.forces, step, s["mult"], m.stock, m.streams["fire"])
            for m, s in zip(models, snap, strict=True)
        ]

    def draws_and_cover() -> tuple[np.ndarray, np.ndarray]:
        u = np.stack([m.streams["fire"].random((6, b.n_rf)) for m in models])
        cover = np.stack([m.forces.ukrainian_air_cover() for m in models])
        return u, cover

    def flat_state() -> dict:
        return {
            **{k: np.concatenate([getattr(m.forces, k) for m in models]) for k in STATE},
            "stock": np.concatenate([m.stock for m in models]),
        }

    def run_c_numpy(st: dict) -> tuple:
        u, cover = draws_and_cover()
        u = u.transpose(1, 0, 2).reshape(6, R * b.n_rf)
        return c_numpy(b, u, cover.ravel(), mult, step, st)

    def covers() -> np.ndarray:
        return np.stack([m.forces.ukrainian_air_cover() for m in models])

    def run_c_numba(st: dict, gens: typed.List | None = None) -> tuple:
        if gens is None:
            u, cover = draws_and_cover()
        else:
            u, cover = np.empty((R, 6, b.n_rf)), covers()
        at_city = np.empty((R, b.n_rf), dtype=bool)
        at_front = np.empty((R, b.n_rf), dtype=bool)
        city = np.empty((R, b.n_w))
        lost = np.empty((R, b.n), dtype=bool)
        hits = np.empty(R, dtype=np.int64)
        c_numba_kernel(
            gens if gens is not None else typed.List([models[0].streams["fire"]]),
            gens is not None,
            u,
            b.rf,
            b.rf_prob,
            b.rf_weapon,
            b.rf_salvoes,
            b.rf_city_share,
            b.city_in_range,
            b.cand_ptr,
            b.cand_flat,
            b.cand_off,
            b.cell_ptr,
            b.members,
            b.w_intercept,
            b.effect,
            b.cls,
            cover,
            b.city_cell,
            mult,
            step,
            b.destroyed_below,
            st["stock"],
            st["strength"],
            st["alive"],
            st["last_fired"],
            st["fired_at_city"],
            st["destroyed_now"],
            at_city,
            at_front,
            city,
            lost,
            hits,
        )
        return at_city | at_front, at_city, city, hits, lost

    # Reference outcome and end state, per run.
    restore(models, snap)
    ref = current()
    ref_state = snapshot(models)

    def per_run_equal(out: tuple, st: dict) -> bool:
        firing, at_city, city, hits, lost = out
        ok = True
        for r, (o, s) in enumerate(zip(ref, ref_state, strict=True)):
            ok &= np.array_equal(b.rf[firing[r]], o.fired)
            ok &= np.array_equal(at_city[r][firing[r]], o.at_city)
            ok &= np.array_equal(city[r], o.city_landed_by_weapon)
            ok &= int(hits[r]) == o.hits_on_units
            ok &= np.array_equal(np.flatnonzero(lost[r]), o.ukrainian_losses)
            for k in (*STATE, "stock"):
                ok &= np.array_equal(st[k].reshape(R, -1)[r], s[k])
        return bool(ok)

    names = ("current", "a_numba", "c_numpy", "c_numba", "c_numba_draws", "draws_cover", "cover")
    results: dict[str, list[float]] = {k: [] for k in names}
    identical = dict.fromkeys(results, True)
    for rep in range(repeats + 1):  # the first round compiles and warms up
        for name in results:
            restore(models, snap)
            st = flat_state()
            if name in ("draws_cover", "cover"):
                # The per-run floor of a batched phase: each run's draws and air cover.
                t0 = now()
                draws_and_cover() if name == "draws_cover" else covers()
                elapsed = now() - t0
            elif name == "c_numba_draws":
                # The runs' own generators, handed to the kernel (the list is the batch's).
                gens = typed.List([m.streams["fire"] for m in models])
                st3 = {k: v.reshape(R, -1) for k, v in st.items()}
                t0 = now()
                out = run_c_numba(st3, gens)
                elapsed = now() - t0
                if rep == 0:
                    identical[name] = per_run_equal(out, st)
            elif name in ("c_numpy", "c_numba"):
                st3 = {k: v.reshape(R, -1) for k, v in st.items()}
                fn = run_c_numpy if name == "c_numpy" else run_c_numba
                arg = st if name == "c_numpy" else st3
                t0 = now()
                out = fn(arg)
                elapsed = now() - t0
                if rep == 0:
                    identical[name] = per_run_equal(out, st)
            else:
                fn = current if name == "current" else a_numba
                t0 = now()
                outs = fn()
                elapsed = now() - t0
                if rep == 0 and name == "a_numba":
                    identical[name] = all(
                        np.array_equal(o.fired, q.fired)
                        and np.array_equal(o.ukrainian_losses, q.ukrainian_losses)
                        and np.array_equal(o.city_landed_by_weapon, q.city_landed_by_weapon)
                        for o, q in zip(outs, ref, strict=True)
                    ) and all(
                        np.array_equal(getattr(m.forces, k), s[k])
                        for m, s in zip(models, ref_state, strict=True)
                        for k in STATE
                    )
            if rep > 0:
                results[name].append(elapsed / R * 1e6)
    restore(models, snap)
    fired = sum(len(o.fired) for o in ref)
    hits = sum(o.hits_on_units for o in ref)
    print(f"{R:>6} (the step measured: {fired} units fired, {hits} hits on units, over {R} runs)")
    return [
        {"variant": k, "us_per_run": statistics.median(v), "identical": identical[k]}
        for k, v in results.items()
    ]


def generator_matches() -> bool:
    """Whether numba's ``Generator.random`` draws numpy's numbers from the same state."""

    @njit
    def draw(g: np.random.Generator, n: int) -> np.ndarray:
        return g.random((6, n))

    a = np.random.default_rng(np.random.SeedSequence(7).spawn(2)[1])
    b = copy.deepcopy(a)
    return bool(np.array_equal(a.random((6, 50)), draw(b, 50)) and a.random() == b.random())


def main(argv: list[str] | None = None) -> int:
    """Measure every R, print the table, write the CSV."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replications", default="1,10,100,1000")
    p.add_argument("--warm-steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="R = 1, 10, 100; 5 repeats")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    sizes = [1, 10, 100] if args.quick else [int(x) for x in args.replications.split(",")]
    repeats = 5 if args.quick else args.repeats
    pinned = pin_to_one_core()
    start = started()
    base = {**base_row(start), "numba": numba.__version__}
    sc = load_scenario(DEFAULT_SCENARIO)
    print(
        f"batched_fire: Russian fire, {sc.name!r}, state after {args.warm_steps} steps; "
        f"numba {numba.__version__}; {pinned}"
    )
    print(f"numba Generator.random draws numpy's numbers: {generator_matches()}")
    models = [EscalationModel(sc, seed=s, record_events=False) for s in range(max(sizes))]
    for m in models:
        m.run_for(args.warm_steps)
    rows = []
    print(f"\n{'R':>6} {'variant':<9} {'us per run':>11} {'speedup':>8}  identical")
    for R in sizes:
        found = measure(models[:R], args.warm_steps + 1, repeats)
        ref = found[0]["us_per_run"]
        for r in found:
            r.update(base, replications=R, speedup=ref / r["us_per_run"])
            rows.append(r)
            print(
                f"{R:>6} {r['variant']:<9} {r['us_per_run']:>11.2f} {r['speedup']:>7.1f}x  "
                f"{r['identical']}"
            )
    path = write_csv(args.out, "batched_fire", start, FIELDS, rows)
    print(f"\nwritten: {path}")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
