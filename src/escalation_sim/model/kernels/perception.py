"""Kernel of Russia's perception of a step's strikes: which it notices, whom it blames, how much they weigh.

:func:`strikes_noticed` does in one compiled call what the array part of
``Perception.observe_step`` does in some thirty small numpy calls (the
reference, kept beside it behind :func:`escalation_sim.model.kernels.enabled`):

- the strikes inside Russia (``depth_km > 0``, in report order) that Russia
  notices (``u[target, 0] < report_prob``);
- the supplier it attributes each to: the true one, or, when
  ``u[target, 1] >= attribution_accuracy`` and the munition's family has
  several suppliers, the one of them the draw falls on;
- each strike's perceived weight before noise, multiplied in the numpy
  path's order: supplier weight x class weight x ``(1 + depth / depth_scale)``
  x long-range factor x destruction factor;
- the argument of its log-normal noise factor, ``noise * z[target] - 0.5 *
  noise * noise``. The factor itself is taken outside the kernel
  (:func:`escalation_sim.model.libm.exp`, the C library's ``exp``);
- the depth band it falls in (``Perception.band_index``: the first band whose
  upper edge is at or beyond its depth, else the one beyond the last), which
  names its depth precedent.

It fills two arrays the caller keeps (one of integers, one of floats) and
returns how many columns it filled: each array a compiled function hands back
would cost Python a box and an unpickled type, the dearest part of a call
this small.

The uniform and normal variates are drawn by numpy before the call, as in the
numpy path; the kernel only reads them.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model.kernels import kernel

#: Positions in the ``params`` array :func:`strikes_noticed` takes (fixed per model).
REPORT_PROB, ACCURACY, DEPTH_SCALE, DESTROYED_MULTIPLIER, NOISE, DESTROYED_CODE = range(6)
PARAMS_SIZE = 6
#: Rows of the integer output of :func:`strikes_noticed`, one column per noticed strike.
INT_ROWS = ("seen_supplier", "supplier", "weapon", "zone", "rule", "target_class", "band")
#: Rows of its float output.
FLOAT_ROWS = ("depth", "weight", "noise_arg")


@kernel
def strikes_noticed(
    depth_km: np.ndarray,
    target: np.ndarray,
    weapon: np.ndarray,
    supplier: np.ndarray,
    target_class: np.ndarray,
    outcome: np.ndarray,
    zone: np.ndarray,
    rule: np.ndarray,
    u: np.ndarray,
    z: np.ndarray,
    family_suppliers: np.ndarray,
    family_size: np.ndarray,
    supplier_weight: np.ndarray,
    class_weight: np.ndarray,
    long_factor: np.ndarray,
    band_edges: np.ndarray,
    params: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
) -> int:
    """The strikes inside Russia that Russia notices, with their attribution and weight.

    Args:
        depth_km: The step's strike report, one entry per strike (this and the
            next seven).
        target: Unit struck.
        weapon: Weapon index.
        supplier: True supplier's actor index.
        target_class: Class of the target.
        outcome: Outcome code.
        zone: Primary zone of the target (-1: none).
        rule: Rule column that allowed it.
        u: The step's uniform draws, ``(units, 2)``.
        z: The step's normal draws, one per unit.
        family_suppliers: Per weapon, the actor indices of its munition
            family's suppliers (padded with -1).
        family_size: Per weapon, how many suppliers its family has.
        supplier_weight: Perceived weight per supplier.
        class_weight: Perceived weight per target class.
        long_factor: Per weapon, the long-range multiplier (1 if not long-range).
        band_edges: Upper edges of the depth bands, in the scenario's order.
        params: Perception parameters, indexed by this module's constants.
        ints: Filled in: the rows of :data:`INT_ROWS`, at least as many columns
            as the report has strikes.
        floats: Filled in: the rows of :data:`FLOAT_ROWS` (their depths, their
            weights before noise, the argument of each one's noise factor),
            as many columns.

    Returns:
        How many strikes Russia noticed: the first that many columns of
        ``ints`` and ``floats``, in report order, are theirs.
    """
    report_prob, acc = params[REPORT_PROB], params[ACCURACY]
    depth_scale, destroyed_mult = params[DEPTH_SCALE], params[DESTROYED_MULTIPLIER]
    noise, destroyed_code = params[NOISE], params[DESTROYED_CODE]
    n_bands = len(band_edges)
    spread = 0.5 * noise * noise
    span = max(1.0 - acc, 1e-12)
    m = 0
    for i in range(len(depth_km)):
        t = target[i]
        if not (depth_km[i] > 0 and u[t, 0] < report_prob):
            continue
        w = weapon[i]
        seen = supplier[i]
        k = family_size[w]
        if u[t, 1] >= acc and k > 1:
            r = (u[t, 1] - acc) / span
            seen = family_suppliers[w, min(int(r * k), k - 1)]
        c = target_class[i]
        d = depth_km[i]
        ints[0, m] = seen
        ints[1, m] = supplier[i]
        ints[2, m] = w
        ints[3, m] = zone[i]
        ints[4, m] = rule[i]
        ints[5, m] = c
        band = 0  # the first edge at or beyond the depth (a NaN is beyond every edge)
        while band < n_bands and not d <= band_edges[band]:
            band += 1
        ints[6, m] = band
        floats[0, m] = d
        factor = destroyed_mult if outcome[i] == destroyed_code else 1.0
        floats[1, m] = (
            supplier_weight[seen] * class_weight[c] * (1.0 + d / depth_scale) * long_factor[w]
        ) * factor
        floats[2, m] = noise * z[t] - spread
        m += 1
    return m
