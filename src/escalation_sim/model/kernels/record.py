"""Kernels of the per-step recording: the force layer's tallies for a row of the time series.

:func:`step_tallies` does in one compiled call what
``EscalationModel._record``'s numpy path does in some forty small numpy calls
(the reference, kept beside it behind :func:`escalation_sim.model.kernels.enabled`):

- live units per side (``(alive & side == s).sum()``), the Russian units
  Ukraine believes destroyed that are alive (``believed_destroyed & alive_ru``),
  and each side's forces and reserves
  (``ForceLayer.forces_and_reserves``: deployed at the start, or drawn from the
  reserves since). Integer counts: exact in any order;
- per target class, the mean depth of Russia's live units
  (``ForceLayer.mean_depth``): the depths summed in unit order, as
  ``np.bincount(weights=)`` sums them, over the count, NaN for a class
  with no live unit;
- each side's interceptors on hand, unlimited stocks left out
  (``stock[np.isfinite(stock)].sum()``), summed the way numpy sums
  (:func:`numpy_sum`);
- the totals the row reads from the step's counters (strikes, withheld
  opportunities, re-strikes on destroyed targets), and the row of the count
  block (``np.concatenate([counts, fire by weapon, stock[columns]])``), after
  which the counters are reset.

No random draws and no transcendental functions: only additions, comparisons
and one division per class, which numba and numpy round alike.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model.kernels import kernel

#: Positions in the ``layout`` array :func:`step_tallies` takes (fixed per model).
RUSSIA, UKRAINE, RESERVE, N_CLASSES = 0, 1, 2, 3
STRIKES_FROM, STRIKES_TO, WITHHELD_FROM, WITHHELD_TO, RESTRIKES_AT = 4, 5, 6, 7, 8
LAYOUT_SIZE = 9
#: Positions in the integer output of :func:`step_tallies`.
INT_FIELDS = (
    "alive_ru",
    "alive_ua",
    "forces_ru",
    "forces_ua",
    "believed_destroyed_alive_ru",
    "strikes",
    "withheld",
    "restrikes",
)


#: numpy's block: a run of at most this many terms is summed with eight running sums.
BLOCK = 128
#: Depth of the explicit stack of :func:`pairwise_sum` (halving 2**64 terms to blocks).
STACK = 64


@kernel
def block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """Sum a run of at most :data:`BLOCK` terms ``a[lo:lo + n]`` as numpy does.

    Below eight terms a plain loop; else eight running sums, combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the remainder.
    """
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    whole = n - n % 8
    while i < whole:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@kernel
def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """Sum ``a[lo:lo + n]`` (float64) by numpy's pairwise summation, term for term.

    Up to :data:`BLOCK` terms :func:`block_sum`; above, the two halves (the
    first a multiple of eight terms) are summed apart and added, as numpy's
    recursion does. The recursion is unrolled onto an explicit stack: numba's
    on-disk cache does not reload recursive functions safely.
    """
    if n <= BLOCK:
        return block_sum(a, lo, n)
    start = np.empty(STACK, dtype=np.int64)
    size = np.empty(STACK, dtype=np.int64)
    stage = np.empty(STACK, dtype=np.int64)  # 0: new, 1: left half pending, 2: right pending
    left = np.empty(STACK)
    sp = 0
    start[0], size[0], stage[0] = lo, n, 0
    while True:
        m = size[sp]
        if m > BLOCK:  # split: the left half first
            half = m // 2
            half -= half % 8
            stage[sp] = 1
            sp += 1
            start[sp], size[sp], stage[sp] = start[sp - 1], half, 0
            continue
        value = block_sum(a, start[sp], m)
        while True:  # hand the value up until a parent still needs its right half
            if sp == 0:
                return value
            sp -= 1
            if stage[sp] == 1:
                left[sp] = value
                stage[sp] = 2
                half = size[sp] // 2
                half -= half % 8
                sp += 1
                start[sp], size[sp], stage[sp] = start[sp - 1] + half, size[sp - 1] - half, 0
                break
            value = left[sp] + value


@kernel
def numpy_sum(a: np.ndarray) -> float:
    """``np.sum(a)`` of a one-dimensional float64 array, bit for bit (``0.0 +`` the pairwise sum)."""
    return 0.0 + pairwise_sum(a, 0, len(a))


@kernel
def finite_sum(stock: np.ndarray) -> float:
    """``float(stock[np.isfinite(stock)].sum())``: the finite entries, summed as numpy sums."""
    kept = np.empty(len(stock))
    n = 0
    for x in stock:
        if np.isfinite(x):
            kept[n] = x
            n += 1
    return 0.0 + pairwise_sum(kept, 0, n)


@kernel
def step_tallies(
    alive: np.ndarray,
    side: np.ndarray,
    status: np.ndarray,
    drawn: np.ndarray,
    believed: np.ndarray,
    cls: np.ndarray,
    depth: np.ndarray,
    ru_interceptors: np.ndarray,
    ua_interceptors: np.ndarray,
    counts: np.ndarray,
    fire_by_weapon: np.ndarray,
    stock: np.ndarray,
    stock_columns: np.ndarray,
    depth_classes: np.ndarray,
    layout: np.ndarray,
    ints_out: np.ndarray,
    floats_out: np.ndarray,
    block_out: np.ndarray,
) -> None:
    """One step's tallies for the time series; resets ``counts``.

    Args:
        alive: Per unit, alive now.
        side: Per unit, its side's code.
        status: Per unit, its status code (active, in reserve, lost).
        drawn: Per unit, sent from the reserves.
        believed: Per unit, believed destroyed by Ukraine.
        cls: Per unit, its target class.
        depth: Per unit, km into Russia.
        ru_interceptors: Interceptors on hand per Russian air-defence unit.
        ua_interceptors: Interceptors on hand per Ukrainian air-defence unit.
        counts: The step's counters, one buffer (set to zero on return).
        fire_by_weapon: Fire landed on the city this step, per weapon.
        stock: Ukraine's stock per weapon.
        stock_columns: The weapons whose stock the time series records.
        depth_classes: The target classes whose mean depth it records.
        layout: Codes and counter positions (indexed by this module's constants).
        ints_out: Written: the counts named by :data:`INT_FIELDS`, in that order.
        floats_out: Written: Russia's and Ukraine's interceptors on hand, then
            the mean depth of each of ``depth_classes``.
        block_out: Written: the count block's row (counts, fire by weapon, stocks).
    """
    ru, ua, reserve = layout[RUSSIA], layout[UKRAINE], layout[RESERVE]
    n_classes = layout[N_CLASSES]
    total = np.zeros(n_classes)
    count = np.zeros(n_classes, dtype=np.int64)
    alive_ru = alive_ua = forces_ru = forces_ua = believed_ru = 0
    for i in range(len(side)):
        s = side[i]
        if s == ru:
            if alive[i]:
                alive_ru += 1
                c = cls[i]
                total[c] += depth[i]
                count[c] += 1
                if believed[i]:
                    believed_ru += 1
            if drawn[i] or status[i] != reserve:
                forces_ru += 1
        elif s == ua:
            if alive[i]:
                alive_ua += 1
            if drawn[i] or status[i] != reserve:
                forces_ua += 1
    strikes = 0
    for i in range(layout[STRIKES_FROM], layout[STRIKES_TO]):
        strikes += counts[i]
    withheld = 0
    for i in range(layout[WITHHELD_FROM], layout[WITHHELD_TO]):
        withheld += counts[i]
    ints_out[0] = alive_ru
    ints_out[1] = alive_ua
    ints_out[2] = forces_ru
    ints_out[3] = forces_ua
    ints_out[4] = believed_ru
    ints_out[5] = strikes
    ints_out[6] = withheld
    ints_out[7] = counts[layout[RESTRIKES_AT]]
    floats_out[0] = finite_sum(ru_interceptors)
    floats_out[1] = finite_sum(ua_interceptors)
    for j in range(len(depth_classes)):
        c = depth_classes[j]
        floats_out[2 + j] = total[c] / count[c] if count[c] > 0 else np.nan
    k = 0
    for i in range(len(counts)):
        block_out[k] = counts[i]
        counts[i] = 0
        k += 1
    for i in range(len(fire_by_weapon)):
        block_out[k] = fire_by_weapon[i]
        k += 1
    for i in range(len(stock_columns)):
        block_out[k] = stock[stock_columns[i]]
        k += 1
