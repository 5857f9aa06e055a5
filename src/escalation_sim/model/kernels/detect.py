"""Compiled kernels for detection: the sensors' state, and what Ukraine's sensors find in a step.

Each kernel mirrors numpy code of ``ForceLayer.detect`` and ``ForceLayer._coverage``
(:mod:`escalation_sim.model.forces`, :mod:`escalation_sim.model.sensors`) and
gives the same numbers bit for bit. The step's variates are drawn by numpy
before the kernel runs. Of the two transcendental terms, the length of each
track's error vector is ``math.hypot`` here (the C library's, as ``np.hypot``
is: tests compare them on a million values), and the logarithm of the
departure delay's uniform is computed by numpy and passed in (numpy's
``log1p`` is its own vector code, not the C library's). A sensor kind's
coverage, when its sensors' state changed, is recomputed by the numpy code
(:meth:`~escalation_sim.model.sensors.SensorCover.recompute`: ``log1p``,
``bincount``, ``expm1``).

* :func:`sensors_changed`: the sensors' state (strength, zero when dead),
  taken in place, whether it changed, and then every pair's term.
* :func:`detect_units`: everything ``ForceLayer.detect`` does after its draws
  and the coverage: detections by radar and ISR, wrecks taken for live units,
  fixed sites on today's list, evidence of preparation, track errors and
  departure times (as :func:`~escalation_sim.model.movement.departure_hours`).
"""

from __future__ import annotations

import math

import numpy as np

from escalation_sim.model.kernels import kernel

#: Rows of the static per-unit flags that :func:`detect_units` takes (``ForceLayer``).
FIXED, RU_MILITARY, RU_MILITARY_MOBILE, RU_FIXED, RU_MOBILE, CAN_FIRE = range(6)
#: Rows of the static per-unit rates: shoot-and-scoot, displacement, mean delay (hours).
SCOOT, DISPLACE, LEAVE_HOURS = range(3)


@kernel
def sensors_changed(
    units: np.ndarray,
    strength: np.ndarray,
    alive: np.ndarray,
    state: np.ndarray,
    pair_sensor: np.ndarray,
    pair_p: np.ndarray,
    max_chance: float,
    pair_x: np.ndarray,
) -> bool:
    """Write ``strength[units] * alive[units]`` into ``state``; if it changed, each pair's term.

    As :meth:`~escalation_sim.model.sensors.SensorCover.update` up to the
    numpy ``log1p``: when some sensor's state differs from the one in
    ``state`` (a NaN there, none yet, always differs), every pair's
    ``-min(p * state, max_chance)`` is written into ``pair_x``.

    Returns:
        Whether the state changed (the cover must then be recomputed).
    """
    changed = False
    for j in range(len(units)):
        i = units[j]
        s = strength[i] * (1.0 if alive[i] else 0.0)
        if state[j] != s:
            state[j] = s
            changed = True
    if changed:
        for q in range(len(pair_p)):
            v = pair_p[q] * state[pair_sensor[q]]
            pair_x[q] = -(v if (v < max_chance or v != v) else max_chance)
    return changed


@kernel
def detect_units(
    step: int,
    u: np.ndarray,
    z: np.ndarray,
    log_stay: np.ndarray,
    cover: np.ndarray,
    slot_of_cell: np.ndarray,
    cell: np.ndarray,
    fire_cell: np.ndarray,
    last_fired: np.ndarray,
    alive: np.ndarray,
    status: np.ndarray,
    lost_code: int,
    flags: np.ndarray,
    rates: np.ndarray,
    wreck_factor: float,
    fixed_attempt_prob: float,
    preparation_prob: float,
    radar_err: float,
    isr_err: float,
    believed_destroyed: np.ndarray,
    last_seen_firing: np.ndarray,
    track_error_km: np.ndarray,
    leave_h: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of Ukrainian detection, unit by unit (as ``ForceLayer.detect`` after its draws).

    Args:
        step: The step.
        u: The step's uniforms, shape ``(5, n)``.
        z: The step's normal variates, shape ``(2, n)``: each track's error vector.
        log_stay: ``np.log1p(-np.minimum(u[4], 1 - 1e-12))``.
        cover: Both sensor kinds' coverage per slot (:class:`~escalation_sim.model.sensors.SensorCover`).
        slot_of_cell: Per kind (row 0 radar, row 1 ISR) and cell, its slot in ``cover``.
        cell: Each unit's cell.
        fire_cell: Each unit's fire cell.
        last_fired: Step each unit last fired.
        alive: Units alive.
        status: Each unit's status.
        lost_code: The status of a unit lost for good (``LOST``).
        flags: Per unit, fixed at set-up: rows :data:`FIXED` (fixed sites),
            :data:`RU_MILITARY`, :data:`RU_MILITARY_MOBILE` (not fixed),
            :data:`RU_FIXED`, :data:`RU_MOBILE` (Russian, not fixed),
            :data:`CAN_FIRE` (firing units).
        rates: Per unit, fixed at set-up: rows :data:`SCOOT` (chance of
            relocating after firing), :data:`DISPLACE` (of displacing when
            detected), :data:`LEAVE_HOURS` (mean delay before leaving).
        wreck_factor: A wreck's chance of being taken for a live unit, as a share.
        fixed_attempt_prob: A fixed site's chance of being on today's list.
        preparation_prob: Chance that ISR sees a unit it finds preparing to attack.
        radar_err: Radar track error (km, one sigma).
        isr_err: ISR track error (km, one sigma).
        believed_destroyed: Updated in place (a unit seen firing is alive).
        last_seen_firing: Updated in place.
        track_error_km: Written in place.
        leave_h: Written in place (``inf``: the unit stays).

    Returns:
        The candidate targets (ascending) and, per candidate, whether ISR saw
        it preparing to attack.
    """
    n = len(alive)
    is_cand = np.zeros(n, dtype=np.bool_)
    is_prep = np.zeros(n, dtype=np.bool_)
    n_cand = 0
    for i in range(n):
        fired = last_fired[i] == step
        f = 1.0 if fired else 0.0
        fixed = flags[FIXED, i]
        isr_here = cover[slot_of_cell[1, cell[i]]]
        miss = (1.0 - cover[slot_of_cell[0, fire_cell[i]]] * f) * (1.0 - isr_here)
        live = flags[RU_MILITARY, i] and alive[i] and u[0, i] < 1.0 - miss
        wreck = status[i] == lost_code and not believed_destroyed[i]
        wreck_seen = flags[RU_MILITARY_MOBILE, i] and wreck and u[0, i] < isr_here * wreck_factor
        if live and fired:
            last_seen_firing[i] = step
            believed_destroyed[i] = False
        believed = believed_destroyed[i]
        seen = (live or wreck_seen) and not fixed and not believed
        known = flags[RU_FIXED, i] and (alive[i] or wreck)
        listed = known and not believed and u[2, i] < fixed_attempt_prob
        if seen or listed:
            is_cand[i] = True
            n_cand += 1
        is_prep[i] = (
            flags[CAN_FIRE, i] and seen and alive[i] and not fired and u[1, i] < preparation_prob
        )
        sigma = radar_err if fired else isr_err
        track_error_km[i] = 0.0 if fixed else sigma * math.hypot(z[0, i], z[1, i])
        d = 1.0 if live else 0.0
        go_prob = 1.0 - (1.0 - rates[SCOOT, i] * f) * (1.0 - rates[DISPLACE, i] * d)
        goes = flags[RU_MOBILE, i] and alive[i] and u[3, i] < go_prob
        leave_h[i] = -rates[LEAVE_HOURS, i] * log_stay[i] if goes else np.inf
    candidates = np.empty(n_cand, dtype=np.int64)
    preparing = np.empty(n_cand, dtype=np.bool_)
    j = 0
    for i in range(n):
        if is_cand[i]:
            candidates[j] = i
            preparing[j] = is_prep[i]
            j += 1
    return candidates, preparing
