"""Kernels of strike resolution: Ukrainian strikes met by Russian air defence, then damage.

:func:`resolve_strikes` is :meth:`escalation_sim.model.forces.ForceLayer.strike`
after its draws, in one compiled call: the interception chance of each salvo,
the Russian engagements it triggers (:meth:`AirDefence.engage
<escalation_sim.model.airdefence.AirDefence.engage>`, one interceptor from the
covering battery with the most left, ties to the first), the kill chain's
timing (tasking delay plus time of flight from the launch point), whether the
target had moved or was already destroyed, the damage, its application
(:meth:`ForceLayer.apply_damage
<escalation_sim.model.forces.ForceLayer.apply_damage>`, over every unit as the
numpy code does) and Ukraine's assessment.

What numpy computes differently from compiled code is computed by numpy and
passed in: the variates (drawn by the caller from the strike stream), the air
cover at each target's cell (``-expm1`` of the summed log-misses) and the
fall-off of damage with the track's location error (``exp``). The distance is
``math.hypot``, the C library's ``hypot``, which numpy's ``hypot`` also calls
(``tests/test_kernel_strike.py`` checks it). Everything else is ``+ - * /``
and comparisons, element by element in the numpy code's order; the in-place
updates happen in the order numpy makes them (``np.subtract.at`` in strike
order; a fancy-indexed ``|=`` reads every old value before any write, so of two
strikes on one target the last one's result is kept).

:func:`strike_bookkeeping` is the rest of ``EscalationModel._resolve_strikes``
(the numpy reference in ``model/model.py``): the stock debit, the strike
report's columns, the outcome codes (``engagement.outcome_codes``), the
step's counters and the fast strikes inside Russia that the pull-back memory
keeps; whole numbers and copies, but for the stock debit, a float minus a
whole count per weapon as numpy's ``stock - bincount``.

The engagement and the damage's application are the Russian-fire kernels'
forms of ``AirDefence.engage`` and ``ForceLayer.apply_damage``
(:mod:`escalation_sim.model.kernels.fire`): one of each serves both phases.
"""

from __future__ import annotations

import math

import numpy as np

from escalation_sim.model.kernels import kernel
from escalation_sim.model.kernels.fire import apply_damage, engage
from escalation_sim.model.kernels.movement import remember_depths


@kernel
def resolve_strikes(
    targets: np.ndarray,
    weapons: np.ndarray,
    launchers: np.ndarray,
    cells: np.ndarray,
    cover: np.ndarray,
    on_track: np.ndarray,
    u: np.ndarray,
    w_intercept: np.ndarray,
    w_tasking: np.ndarray,
    w_speed: np.ndarray,
    effect: np.ndarray,
    cls: np.ndarray,
    x: np.ndarray,
    depth: np.ndarray,
    launch_x: np.ndarray,
    launch_depth: np.ndarray,
    leave_h: np.ndarray,
    hop_km: np.ndarray,
    track_error_km: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    status: np.ndarray,
    destroyed_now: np.ndarray,
    believed_destroyed: np.ndarray,
    last_struck: np.ndarray,
    last_fired: np.ndarray,
    ad_units: np.ndarray,
    ad_interceptors: np.ndarray,
    ad_source: np.ndarray,
    ad_ptr: np.ndarray,
    damage_spread: float,
    destroyed_below: float,
    destroyed_seen_prob: float,
    damaged_called_prob: float,
    step: int,
    lost: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``ForceLayer.strike`` after the draws; updates the unit and battery arrays in place.

    Args:
        targets: Per strike, the unit struck.
        weapons: Per strike, the weapon.
        launchers: Per strike, the launching unit.
        cells: Per strike, the target's cell.
        cover: Per strike, Russian air cover at that cell (numpy's, before any engagement).
        on_track: Per strike, ``exp(-0.5 (track error / footprint)^2)`` (numpy's).
        u: The step's ``(3, units)`` variates of the strike stream.
        w_intercept: Per weapon, its interception chance.
        w_tasking: Per weapon, the tasking delay (hours).
        w_speed: Per weapon, its speed (km/h).
        effect: ``(weapons, classes)`` strength removed by one salvo.
        cls: Per unit, its target class.
        x: Per unit, x (km).
        depth: Per unit, depth (km).
        launch_x: Per unit, the x it launches from.
        launch_depth: Per unit, the depth it launches from.
        leave_h: Per unit, hours into the step at which it leaves its position.
        hop_km: Per unit, how far it moves when it leaves.
        track_error_km: Per unit, the location error of Ukraine's track.
        strength: Per unit, strength (updated).
        alive: Per unit, alive (updated).
        status: Per unit, status code (updated).
        destroyed_now: Per unit, destroyed this step (updated).
        believed_destroyed: Per unit, Ukraine's belief (updated).
        last_struck: Per unit, the last step a strike landed on it (updated).
        last_fired: Per unit, the last step it fired (updated for the launchers).
        ad_units: Unit index of each Russian air-defence battery.
        ad_interceptors: Per battery, interceptors left (updated).
        ad_source: Batteries covering each cell, cell after cell.
        ad_ptr: Per cell, where its batteries start in ``ad_source``.
        damage_spread: Relative spread of damage around the weapon's effect.
        destroyed_below: Strength under which a unit is destroyed.
        destroyed_seen_prob: Chance a destroyed target is assessed as destroyed.
        damaged_called_prob: Chance a damaged target is wrongly called destroyed.
        step: The step.
        lost: The status code of a destroyed unit.

    Returns:
        ``(3, strikes)`` floats: damage, miss distance, arrival hours; ``(5, strikes)``
        flags: intercepted, destroyed, moved, already destroyed (and not intercepted),
        believed destroyed; and the number of Russian engagements made. (Two arrays,
        not eight: each array handed back to Python costs about a microsecond.)
    """
    m = len(targets)
    floats = np.empty((3, m))
    damage, miss_km, arrival = floats[0], floats[1], floats[2]
    flags = np.empty((5, m), dtype=np.bool_)
    intercepted, destroyed, moved = flags[0], flags[1], flags[2]
    already_not_intercepted, believed = flags[3], flags[4]
    already = np.empty(m, dtype=np.bool_)
    lands = np.empty(m, dtype=np.bool_)
    # Engagements, strike by strike, with the batteries' state before any damage.
    live = np.empty(len(ad_units), dtype=np.bool_)
    for b in range(len(ad_units)):
        live[b] = alive[ad_units[b]]
    used = 0
    for j in range(m):
        p_int = w_intercept[weapons[j]] * cover[j]
        if p_int > 0.0:
            used += engage(cells[j], live, ad_interceptors, ad_source, ad_ptr)
        t = targets[j]
        w = weapons[j]
        lo = launchers[j]
        intercepted[j] = u[0, t] < p_int
        already[j] = status[t] == lost
        dist = math.hypot(launch_x[lo] - x[t], launch_depth[lo] - depth[t])
        arrival[j] = w_tasking[w] + dist / w_speed[w]
        moved[j] = not intercepted[j] and not already[j] and leave_h[t] < arrival[j]
        miss_km[j] = hop_km[t] if moved[j] else track_error_km[t]
        spread = 1.0 + damage_spread * (2.0 * u[1, t] - 1.0)
        lands[j] = not intercepted[j] and not already[j] and not moved[j]
        damage[j] = effect[w, cls[t]] * spread * on_track[j] if lands[j] else 0.0
    apply_damage(targets, damage, strength, alive, status, destroyed_now, destroyed_below, lost)
    was_believed = np.empty(m, dtype=np.bool_)
    for j in range(m):
        t = targets[j]
        destroyed[j] = destroyed_now[t] and lands[j]
        if destroyed[j] or already[j]:
            believed[j] = u[2, t] < destroyed_seen_prob
        else:
            believed[j] = lands[j] and damage[j] > 0.0 and u[2, t] < damaged_called_prob
        was_believed[j] = believed_destroyed[t]
    for j in range(m):
        t = targets[j]
        believed_destroyed[t] = was_believed[j] or believed[j]
        if lands[j]:
            last_struck[t] = step
        already_not_intercepted[j] = already[j] and not intercepted[j]
    for j in range(m):
        last_fired[launchers[j]] = step
    return floats, flags, used


#: The model's counters that :func:`strike_bookkeeping` adds to, in the order of its offsets.
STRIKE_COUNTERS = (
    "strikes.supplier",
    "strikes_in_russia.supplier",
    "strikes.weapon",
    "strikes_in_russia.weapon",
    "strikes.class",
    "strikes.zone",
    "strikes.outcome",
    "withheld.rule",
    "constrained.rule",
)


@kernel
def strike_bookkeeping(
    target: np.ndarray,
    weapon: np.ndarray,
    rule: np.ndarray,
    withheld_rule: np.ndarray,
    withheld_substituted: np.ndarray,
    intercepted: np.ndarray,
    destroyed: np.ndarray,
    moved: np.ndarray,
    already_destroyed: np.ndarray,
    arrival_hours: np.ndarray,
    primary_zone: np.ndarray,
    x: np.ndarray,
    depth: np.ndarray,
    cls: np.ndarray,
    home_zone: np.ndarray,
    engine_to_column: np.ndarray,
    weapon_supplier: np.ndarray,
    stock: np.ndarray,
    count_buf: np.ndarray,
    count_offset: np.ndarray,
    fast_hours: float,
    memory: np.ndarray,
    memory_row: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """``EscalationModel._ukrainian_strikes`` after the strikes are resolved, in one call.

    Debits the stocks (one salvo a strike, subtracted per weapon as numpy's
    ``stock - bincount``), builds the strike report's columns, codes each
    outcome as ``engagement.outcome_codes`` does (intercepted over already
    destroyed over moved over destroyed over damaged), adds the step's
    counters into their buffer (whole numbers: any order gives the same
    sums) and writes the fast strikes inside Russia into Russia's pull-back
    memory (``PullbackMemory.remember``'s kernel, called from here: its
    columns never travel through Python).

    Args:
        target: Per strike, the unit struck.
        weapon: Per strike, the weapon.
        rule: Per strike, the deciding rule (engine index).
        withheld_rule: Per withheld opportunity, the rule (engine index).
        withheld_substituted: Per withheld opportunity, the option used instead (-1: none).
        intercepted: Per strike, whether it was intercepted.
        destroyed: Per strike, whether it destroyed its target.
        moved: Per strike, whether the target had moved.
        already_destroyed: Per strike, whether the target was destroyed before.
        arrival_hours: Per strike, tasking delay plus time of flight.
        primary_zone: Per unit, its first zone (-1: none).
        x: Per unit, x (km).
        depth: Per unit, depth (km).
        cls: Per unit, target class.
        home_zone: Per unit, its home zone.
        engine_to_column: Engine rule index to the model's rule column.
        weapon_supplier: Per weapon, the supplier's actor index.
        stock: Per weapon, salvoes on hand (debited in place).
        count_buf: The counters' buffer (added to in place).
        count_offset: Offsets in ``count_buf`` of the counters of
            :data:`STRIKE_COUNTERS`, in that order.
        fast_hours: The fast kill chain's ceiling (hours).
        memory: Russia's pull-back memory, (remembered steps, zones) (updated).
        memory_row: This step's row of ``memory``.

    Returns:
        ``(5, strikes)`` integers: supplier, target class, rule column, zone,
        outcome code; ``(2, strikes)`` floats: depth, x; per withheld
        opportunity its rule column; strikes inside Russia, opportunities
        constrained (a substitute used), targets destroyed.
    """
    m = len(target)
    per_weapon = np.zeros(len(stock), dtype=np.int64)
    for j in range(m):
        per_weapon[weapon[j]] += 1
    for w in range(len(stock)):
        stock[w] = stock[w] - per_weapon[w]
    ints = np.empty((5, m), dtype=np.int64)
    floats = np.empty((2, m))
    n_russia = n_destroyed = n_fast = 0
    for j in range(m):
        t = target[j]
        supplier = weapon_supplier[weapon[j]]
        zone = primary_zone[t]
        if intercepted[j]:
            code = 2  # Outcome.INTERCEPTED
        elif already_destroyed[j]:
            code = 4  # Outcome.ALREADY_DESTROYED
        elif moved[j]:
            code = 3  # Outcome.TARGET_MOVED
        elif destroyed[j]:
            code = 0  # Outcome.DESTROYED
        else:
            code = 1  # Outcome.DAMAGED
        ints[0, j] = supplier
        ints[1, j] = cls[t]
        ints[2, j] = engine_to_column[rule[j]]
        ints[3, j] = zone
        ints[4, j] = code
        floats[0, j] = depth[t]
        floats[1, j] = x[t]
        count_buf[count_offset[0] + supplier] += 1
        count_buf[count_offset[2] + weapon[j]] += 1
        count_buf[count_offset[4] + cls[t]] += 1
        if zone >= 0:
            count_buf[count_offset[5] + zone] += 1
        count_buf[count_offset[6] + code] += 1
        if destroyed[j]:
            n_destroyed += 1
        if depth[t] > 0:
            n_russia += 1
            count_buf[count_offset[1] + supplier] += 1
            count_buf[count_offset[3] + weapon[j]] += 1
            if arrival_hours[j] <= fast_hours:
                n_fast += 1
    fast_zone = np.empty(n_fast, dtype=np.int64)
    fast_depth = np.empty(n_fast)
    k = 0
    for j in range(m):
        t = target[j]
        if depth[t] > 0 and arrival_hours[j] <= fast_hours:
            fast_zone[k] = home_zone[t]
            fast_depth[k] = depth[t]
            k += 1
    remember_depths(memory, memory_row, fast_zone, fast_depth)
    n_withheld = len(withheld_rule)
    withheld_column = np.empty(n_withheld, dtype=np.int64)
    n_constrained = 0
    for j in range(n_withheld):
        column = engine_to_column[withheld_rule[j]]
        withheld_column[j] = column
        if withheld_substituted[j] < 0:
            count_buf[count_offset[7] + column] += 1
        else:
            count_buf[count_offset[8] + column] += 1
            n_constrained += 1
    return (
        ints,
        floats,
        withheld_column,
        n_russia,
        n_constrained,
        n_destroyed,
    )
