"""Compiled kernels for detection: sensor state, and what Ukraine's sensors find in a step.

Each kernel mirrors numpy code of ``ForceLayer.detect`` and ``ForceLayer._coverage``
(:mod:`escalation_sim.model.forces`) and gives the same numbers bit for bit.
The step's variates are drawn by numpy before the kernel runs, and the two
transcendental terms are computed by numpy and passed in: the length of each
track's error vector (``np.hypot`` of two normal variates) and the logarithm
of the departure delay's uniform (``np.log1p``, as
:func:`escalation_sim.model.movement.departure_hours` takes it). A sensor
kind's coverage, when its sensors' state changed, is recomputed by the numpy
code (``log1p``, ``bincount``, ``expm1``).

* :func:`sensor_state`: the sensors' state (strength, zero when dead) that
  keys the coverage cache, and whether it equals the cached one.
* :func:`detect_units`: everything ``ForceLayer.detect`` does after its draws
  and the coverage: detections by radar and ISR, wrecks taken for live units,
  fixed sites on today's list, evidence of preparation, track errors and
  departure times (as :func:`~escalation_sim.model.movement.departure_hours`).
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model.kernels import kernel


@kernel
def sensor_state(
    units: np.ndarray, strength: np.ndarray, alive: np.ndarray, cached: np.ndarray
) -> tuple[np.ndarray, bool]:
    """``strength[units] * alive[units]``, and whether it equals ``cached`` element for element."""
    state = np.empty(len(units))
    same = len(cached) == len(units)
    for j in range(len(units)):
        i = units[j]
        s = strength[i] * (1.0 if alive[i] else 0.0)
        state[j] = s
        if same and cached[j] != s:
            same = False
    return state, same


@kernel
def detect_units(
    step: int,
    u: np.ndarray,
    error_norm: np.ndarray,
    log_stay: np.ndarray,
    radar_cov: np.ndarray,
    isr_cov: np.ndarray,
    cell: np.ndarray,
    fire_cell: np.ndarray,
    last_fired: np.ndarray,
    alive: np.ndarray,
    status: np.ndarray,
    lost_code: int,
    fixed: np.ndarray,
    ru_military: np.ndarray,
    ru_military_mobile: np.ndarray,
    ru_fixed: np.ndarray,
    ru_mobile: np.ndarray,
    can_fire: np.ndarray,
    scoot_prob: np.ndarray,
    displace_prob: np.ndarray,
    leave_hours: np.ndarray,
    probs: np.ndarray,
    believed_destroyed: np.ndarray,
    last_seen_firing: np.ndarray,
    track_error_km: np.ndarray,
    leave_h: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of Ukrainian detection, unit by unit (as ``ForceLayer.detect`` after its draws).

    Args:
        step: The step.
        u: The step's uniforms, shape ``(5, n)``.
        error_norm: ``np.hypot`` of the step's two normal variates per unit.
        log_stay: ``np.log1p(-np.minimum(u[4], 1 - 1e-12))``.
        radar_cov: Radar coverage per cell.
        isr_cov: ISR coverage per cell.
        cell: Each unit's cell.
        fire_cell: Each unit's fire cell.
        last_fired: Step each unit last fired.
        alive: Units alive.
        status: Each unit's status.
        lost_code: The status of a unit lost for good (``LOST``).
        fixed: Fixed sites.
        ru_military: Russian military units.
        ru_military_mobile: Russian military units that are not fixed sites.
        ru_fixed: Russian fixed sites.
        ru_mobile: Russian units that are not fixed sites.
        can_fire: Firing units.
        scoot_prob: Per unit, chance of relocating after firing.
        displace_prob: Per unit, chance of displacing when detected.
        leave_hours: Per unit, mean delay before leaving.
        probs: ``[wreck_detect_factor, fixed_attempt_prob, preparation_prob,
            radar_error_km, isr_error_km]``.
        believed_destroyed: Updated in place (a unit seen firing is alive).
        last_seen_firing: Updated in place.
        track_error_km: Written in place.
        leave_h: Written in place (``inf``: the unit stays).

    Returns:
        The candidate targets (ascending) and, per candidate, whether ISR saw
        it preparing to attack.
    """
    wreck_factor, fixed_attempt_prob, preparation_prob = probs[0], probs[1], probs[2]
    radar_err, isr_err = probs[3], probs[4]
    n = len(alive)
    is_cand = np.zeros(n, dtype=np.bool_)
    is_prep = np.zeros(n, dtype=np.bool_)
    n_cand = 0
    for i in range(n):
        fired = last_fired[i] == step
        f = 1.0 if fired else 0.0
        isr_here = isr_cov[cell[i]]
        miss = (1.0 - radar_cov[fire_cell[i]] * f) * (1.0 - isr_here)
        live = ru_military[i] and alive[i] and u[0, i] < 1.0 - miss
        wreck = status[i] == lost_code and not believed_destroyed[i]
        wreck_seen = ru_military_mobile[i] and wreck and u[0, i] < isr_here * wreck_factor
        if live and fired:
            last_seen_firing[i] = step
            believed_destroyed[i] = False
        believed = believed_destroyed[i]
        seen = (live or wreck_seen) and not fixed[i] and not believed
        known = ru_fixed[i] and (alive[i] or wreck)
        listed = known and not believed and u[2, i] < fixed_attempt_prob
        if seen or listed:
            is_cand[i] = True
            n_cand += 1
        is_prep[i] = can_fire[i] and seen and alive[i] and not fired and u[1, i] < preparation_prob
        sigma = radar_err if fired else isr_err
        track_error_km[i] = 0.0 if fixed[i] else sigma * error_norm[i]
        d = 1.0 if live else 0.0
        go_prob = 1.0 - (1.0 - scoot_prob[i] * f) * (1.0 - displace_prob[i] * d)
        goes = ru_mobile[i] and alive[i] and u[3, i] < go_prob
        leave_h[i] = -leave_hours[i] * log_stay[i] if goes else np.inf
    candidates = np.empty(n_cand, dtype=np.int64)
    preparing = np.empty(n_cand, dtype=np.bool_)
    j = 0
    for i in range(n):
        if is_cand[i]:
            candidates[j] = i
            preparing[j] = is_prep[i]
            j += 1
    return candidates, preparing
