"""Ukraine's counter-fire choices: which target, which weapon, and may it?

For each candidate target (a Russian unit detected this step, or a known
fixed site on today's target list) Ukraine weighs every launch option (a
launcher group and one of its weapons) by reach, stock and expected effect.
Every option is put to the rule engine in one batch. Targets are served in
priority order (those seen firing on the city first) until the launchers'
shots, the stocks or the day's capacity of each weapon family (tube fire
missions, rocket launches, ATACMS, aircraft sorties, drone sorties) run out,
so a Western permission never takes a drone sortie's place:

* the best option overall is allowed: strike with it;
* the best option is forbidden: the opportunity is *withheld* by the rule
  that forbade it, and Ukraine falls back to its best allowed option if any;
* no option is allowed at all: the target is in *sanctuary*.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from escalation_sim.model import kernels
from escalation_sim.model.forces import NEVER, ForceLayer, StrikeOutcome
from escalation_sim.model.kernels import plan as plan_kernels
from escalation_sim.model.rules import RuleEngine, StrikeBatch, WorldState

#: Ukraine husbands scarce munitions: an option's value is scaled by stock / (stock + reserve).
STOCK_RESERVE = 10.0  # assumption
#: Targets seen firing within this window are served before others.
PRIORITY_WINDOW_HOURS = 72.0  # assumption: the counter-fire window of the May-30 reading


class Outcome(IntEnum):
    """What one strike did, as Ukraine's kill chain played out (codes in the strike report)."""

    DESTROYED = 0
    DAMAGED = 1
    INTERCEPTED = 2
    TARGET_MOVED = 3
    ALREADY_DESTROYED = 4

    @property
    def label(self) -> str:
        """The outcome's name in outputs (``destroyed``, ``target_moved``, ...)."""
        return self.name.lower()


#: Outcome names by code, for decoding the event log.
OUTCOME_LABELS = [o.label for o in Outcome]


@dataclass(slots=True)
class StrikeReport:
    """Every strike of one step, as parallel arrays (what the decision layer reads).

    Attributes:
        target: Unit index struck.
        launcher: Unit index of the launcher.
        supplier: Actor index of the weapon's supplier.
        weapon: Weapon index.
        target_class: Class index of the target.
        rule: Rule column (into the model's ``rule_labels``) that allowed it.
        depth_km: Depth of the target into Russia.
        zone: The target's primary zone index (-1: outside every zone).
        outcome: :class:`Outcome` code.
        x_km: Position of the target along the border.
    """

    target: np.ndarray
    launcher: np.ndarray
    supplier: np.ndarray
    weapon: np.ndarray
    target_class: np.ndarray
    rule: np.ndarray
    depth_km: np.ndarray
    zone: np.ndarray
    outcome: np.ndarray
    x_km: np.ndarray

    @classmethod
    def empty(cls) -> StrikeReport:
        """A step without strikes."""
        i, f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return cls(i, i, i, i, i, i, f, i, i, f)

    @property
    def in_russia(self) -> np.ndarray:
        """Strikes on Russian territory."""
        return self.depth_km > 0

    @property
    def destroyed(self) -> np.ndarray:
        """Strikes that destroyed their target."""
        return self.outcome == Outcome.DESTROYED

    def count(self, outcome: Outcome) -> int:
        """Number of strikes with this outcome."""
        return int((self.outcome == outcome).sum())


def outcome_codes(o: StrikeOutcome) -> np.ndarray:
    """Outcome codes of resolved strikes (an intercepted salvo counts as intercepted)."""
    code = np.full(len(o.damage), int(Outcome.DAMAGED), dtype=np.int64)
    code[o.destroyed] = Outcome.DESTROYED
    code[o.moved] = Outcome.TARGET_MOVED
    code[o.already_destroyed] = Outcome.ALREADY_DESTROYED
    code[o.intercepted] = Outcome.INTERCEPTED
    return code


@dataclass(slots=True)
class StrikePlan:
    """Strikes chosen this step, and the opportunities withheld by the rules.

    Each array has one entry per strike (``target``, ``option``, ``rule``) or per
    withheld opportunity (``withheld_*``); ``rule`` entries index
    ``RuleEngine.labels``.
    """

    target: np.ndarray
    option: np.ndarray
    rule: np.ndarray
    withheld_target: np.ndarray
    withheld_option: np.ndarray
    withheld_rule: np.ndarray
    withheld_substituted: np.ndarray  # option used instead, -1 if none (sanctuary)
    launcher: np.ndarray  # unit index of the launcher that fires each strike
    #: Per strike, Russian air cover at the target's cell as planning read it (None: not
    #: read). Nothing changes the cover between planning and resolution, so resolution
    #: takes it from here instead of reading it again (``ForceLayer.strike``'s ``cover``).
    cover: np.ndarray | None = None


class LaunchersInRange:
    """Per (cell, option) key, how many launchers in range still have a shot.

    Counted once per step, then kept up to date as shots are spent: when a
    launcher's last shot goes, each key it is in loses one. A launcher holds
    one pair per key, so the counts stay whole numbers, exactly what counting
    afresh would give.

    Args:
        pair_l: Launcher of each (launcher, key) pair.
        pair_key: Key of each pair.
        n_keys: Number of keys.
        shots_left: Shots left per unit (spent in place).
    """

    def __init__(
        self, pair_l: np.ndarray, pair_key: np.ndarray, n_keys: int, shots_left: np.ndarray
    ) -> None:
        self.pair_l, self.pair_key, self.shots_left = pair_l, pair_key, shots_left
        has_shot = (shots_left[pair_l] > 0).astype(float)
        self.counts = np.bincount(pair_key, weights=has_shot, minlength=n_keys)

    def spend(self, launcher: int) -> None:
        """One shot of ``launcher`` spent."""
        self.shots_left[launcher] -= 1
        if self.shots_left[launcher] == 0:
            self.counts[self.pair_key[self.pair_l == launcher]] -= 1.0


def plan_strikes(
    forces: ForceLayer,
    engine: RuleEngine,
    world: WorldState,
    candidates: np.ndarray,
    preparing: np.ndarray,
    stock: np.ndarray,
    step: int,
    max_strikes: int,
    engine_weapon: np.ndarray,
    family_capacity: np.ndarray | None = None,
) -> StrikePlan:
    """Choose this step's strikes.

    Each launcher has ``shots_per_step`` shots; a strike takes one shot from a
    launcher of the chosen option's group that is within the weapon's range
    of the target and still has one, and one salvo from the weapon's stock.

    With the compiled kernels on (:func:`escalation_sim.model.kernels.enabled`)
    the plan is made by :mod:`escalation_sim.model.kernels.plan`; the numpy code
    here is the reference, and the two give the same plan bit for bit.

    Args:
        forces: The force layer (positions, classes, evidence, launch pairs).
        engine: The rule engine for the rules in force.
        world: World state for rule conditions.
        candidates: Unit indices of candidate targets.
        preparing: Per candidate, evidence of preparation to attack.
        stock: Salvoes on hand per weapon (not modified here).
        step: Current step (for the age of firing evidence).
        max_strikes: Ceiling on all of Ukraine's strikes this step.
        engine_weapon: Map from the force layer's weapon index to the engine's.
        family_capacity: Strikes left this step per weapon family (index of
            :data:`~escalation_sim.model.forces.FAMILIES`); none: unlimited.
    """
    n_opt = len(forces.opt_group)
    if len(candidates) == 0 or n_opt == 0 or max_strikes == 0:
        return _empty_plan()
    f = forces
    if kernels.enabled():
        return _plan_compiled(
            f,
            engine,
            world,
            candidates,
            preparing,
            stock,
            step,
            max_strikes,
            engine_weapon,
            _family_left(f, family_capacity),
        )
    seen_hours = (step - f.last_seen_firing[candidates]) * 24.0 * f.step_days
    fired_recently = seen_hours <= PRIORITY_WINDOW_HOURS
    priority = 2 * f.fired_at_city[candidates] + fired_recently
    order = np.lexsort((candidates, -priority))
    cand = candidates[order]
    prep = preparing[order]
    cells = f.cell[cand]

    # Launchers in range of each candidate's cell, per option, with their shots.
    # Pairs are per distinct cell (not per candidate) and grouped by (cell, option),
    # so the work grows with launchers near the targets, not with their product.
    # np.unique's answer (sorted distinct cells, each candidate's place among them) without
    # its overhead: a step has a handful of candidates.
    ucells = np.array(sorted(set(cells.tolist())), dtype=np.int64)
    local = ucells.searchsorted(cells)
    n_local = len(ucells)
    pair_l, pair_o, pair_c = f.launch_pairs(ucells)
    pair_key = pair_c * n_opt + pair_o
    by_key = pair_key.argsort(kind="stable")
    pair_l, pair_key = pair_l[by_key], pair_key[by_key]
    key_ptr = pair_key.searchsorted(np.arange(n_local * n_opt + 1))
    shots_left = f.unit_shots * f.alive

    launchers = LaunchersInRange(pair_l, pair_key, n_local * n_opt, shots_left)

    def capacity() -> np.ndarray:
        # Launchers of each option with a shot left, per candidate (C, O).
        return launchers.counts.reshape(n_local, n_opt)[local]

    w = f.opt_weapon
    fam = f.opt_family
    fam_left = _family_left(f, family_capacity)
    effect = f.opt_effect[:, f.cls[cand]].T  # (C, O)
    ru_cover = f.russian_air_cover_at(cells)
    p_int = ru_cover[:, None] * f.opt_intercept  # np.outer's products, without its wrapper
    stock_w = stock[w]
    value = effect * (1.0 - p_int) * (stock_w / (stock_w + STOCK_RESERVE))
    feasible = (capacity() > 0) & (effect > 0) & (stock_w >= 1.0) & (fam_left[fam] >= 1.0)

    rows, cols = feasible.nonzero()
    target = cand[rows]
    last_seen = f.last_seen_firing[target]
    hours = np.where(last_seen > NEVER, (step - last_seen) * 24.0 * f.step_days, np.inf)
    batch = StrikeBatch(
        weapon=engine_weapon[w[cols]],
        target_class=f.cls[target],
        depth_km=f.depth[target],
        zone_bits=f.zone_bits[target],
        fired_hours_ago=hours,
        preparing_attack=prep[rows],
        attacks_ukraine=f.military[target],
    )
    decided = engine.decide(batch, world)
    verdict = np.full(feasible.shape, -1, dtype=np.int64)
    verdict[rows, cols] = decided
    allowed = np.zeros(feasible.shape, dtype=bool)
    allowed[rows, cols] = engine.allows[decided]

    stock_left = stock.copy()
    score_any = np.where(feasible, value, -np.inf)
    score_ok = np.where(feasible & allowed, value, -np.inf)
    in_russia = (f.depth[cand] > 0).tolist()
    opt_weapon = f.opt_weapon_list
    usable = feasible.copy()

    def best_from(start: int) -> tuple[list[int], list[bool], list[int], list[bool]]:
        # Best option per remaining candidate, overall and among allowed ones.
        sa = np.where(usable[start:], score_any[start:], -np.inf)
        so = np.where(usable[start:], score_ok[start:], -np.inf)
        ba, bo = sa.argmax(axis=1), so.argmax(axis=1)
        idx = np.arange(len(ba))
        return (
            ba.tolist(),
            (sa[idx, ba] > -np.inf).tolist(),
            bo.tolist(),
            (so[idx, bo] > -np.inf).tolist(),
        )

    out_t, out_o, out_r, out_l, out_c = [], [], [], [], []
    wh_t, wh_o, wh_r, wh_s = [], [], [], []
    start = 0
    best_any, has_any, best_ok, has_ok = best_from(0)
    for c in range(len(cand)):
        if len(out_t) >= max_strikes:
            break
        k = c - start
        if not has_any[k]:
            continue
        if not allowed[c, best_any[k]] and in_russia[c]:
            wh_t.append(cand[c])
            wh_o.append(best_any[k])
            wh_r.append(verdict[c, best_any[k]])
            wh_s.append(best_ok[k] if has_ok[k] else -1)
        if not has_ok[k]:
            continue
        o = best_ok[k]
        key = int(local[c]) * n_opt + o
        in_range = pair_l[key_ptr[key] : key_ptr[key + 1]]
        launcher = int(in_range[shots_left[in_range] > 0][0])
        out_t.append(cand[c])
        out_o.append(o)
        out_r.append(verdict[c, o])
        out_l.append(launcher)
        out_c.append(c)
        launchers.spend(launcher)
        stock_left[opt_weapon[o]] -= 1.0
        fam_left[fam[o]] -= 1.0
        if shots_left[launcher] == 0 or stock_left[opt_weapon[o]] < 1.0 or fam_left[fam[o]] < 1.0:
            # A launcher, a weapon or a family's capacity ran dry: re-rank those still waiting.
            usable = feasible & (capacity() > 0) & (stock_left[w] >= 1.0) & (fam_left[fam] >= 1.0)
            start = c + 1
            if start < len(cand):
                best_any, has_any, best_ok, has_ok = best_from(start)

    def arr(x: list[int]) -> np.ndarray:
        return np.array(x, dtype=np.int64)

    return StrikePlan(
        arr(out_t),
        arr(out_o),
        arr(out_r),
        arr(wh_t),
        arr(wh_o),
        arr(wh_r),
        arr(wh_s),
        arr(out_l),
        ru_cover[arr(out_c)],
    )


#: The columns of a plan without strikes or withheld opportunities (zero-length: nothing
#: can be written to them, so every empty plan shares them).
_NONE, _NO_COVER = np.zeros(0, dtype=np.int64), np.zeros(0)


def _empty_plan() -> StrikePlan:
    """A plan without strikes or withheld opportunities."""
    e = _NONE
    return StrikePlan(e, e, e, e, e, e, e, e, _NO_COVER)


def _family_left(f: ForceLayer, family_capacity: np.ndarray | None) -> np.ndarray:
    """Strikes left this step per weapon family, a fresh array planning spends (none: unlimited)."""
    if family_capacity is None:
        return np.full(int(f.w_family.max(initial=0)) + 1, np.inf)
    return np.array(family_capacity, dtype=float)  # always a copy


def _plan_compiled(
    f: ForceLayer,
    engine: RuleEngine,
    world: WorldState,
    candidates: np.ndarray,
    preparing: np.ndarray,
    stock: np.ndarray,
    step: int,
    max_strikes: int,
    engine_weapon: np.ndarray,
    fam_left: np.ndarray,
) -> StrikePlan:
    """:func:`plan_strikes` by the compiled kernels of :mod:`escalation_sim.model.kernels.plan`.

    The same plan as the numpy code, bit for bit. Between the two kernels, numpy
    reads the air cover at the candidates' cells (an ``expm1``, rounded by numpy's
    own code); the second kernel decides the batch on the rule engine's tables
    (``RuleEngine.kernel_tables``: the rule conditions evaluated in Python, as
    ``RuleEngine.decide`` does) and assigns the strikes.
    """
    state, cells, b_int, b_float, b_bool = plan_kernels.plan_options(
        candidates,
        preparing,
        int(step),
        float(f.step_days),
        PRIORITY_WINDOW_HOURS,
        NEVER,
        f.last_seen_firing,
        f.fired_at_city,
        f.cell,
        f._lg_ptr,
        f._lp_src,
        f.alive,
        f.unit_shots,
        f.opt_weapon,
        f.opt_family,
        f.opt_effect,
        f.cls,
        f.depth,
        f.zone_bits,
        f.military,
        stock,
        fam_left,
        engine_weapon,
    )
    if b_int.shape[1] == 0:  # no feasible option: nothing to strike or withhold
        return _empty_plan()
    cover = f.russian_air_cover_at(cells)
    strikes, withheld = plan_kernels.decide_and_assign(
        state,
        f._lp_src,
        b_int,
        b_float,
        b_bool,
        *engine.kernel_tables(world),
        engine.allows,
        cover,
        stock,
        fam_left,
        f.opt_weapon,
        f.opt_family,
        f.opt_effect,
        f.opt_intercept,
        f.cls,
        STOCK_RESERVE,
        int(max_strikes),
    )
    target, option, rule, launcher, at = strikes
    return StrikePlan(target, option, rule, *withheld, launcher, cover[at])
