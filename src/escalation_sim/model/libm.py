"""Element-wise ``exp``, ``expm1`` and ``log1p`` whose bits do not depend on numpy's vector code.

numpy computes ``np.exp``, ``np.log``, ``np.expm1``, ``np.log1p`` and
``np.power`` on float64 with its own vector code where the CPU has AVX-512,
and with the C library (``libm``) elsewhere; the two differ in the last bit
for a few per cent of values (on the development machine ``np.exp`` differed
from ``math.exp`` in 4.7% of 200,000 values, and in none once numpy's AVX-512
code was switched off with ``NPY_DISABLE_CPU_FEATURES``). One ulp moves a
chance across a uniform draw now and then, so a run's results depended on
whether the machine had AVX-512: a laptop, a cloud worker of another
generation or a Dask cluster of mixed machines gave other numbers for the same
scenario and seed. The model takes these functions from here instead: the C
library's results whatever numpy dispatches to, compiled (numba's loops call
the C library, :mod:`.kernels.elementwise`) or, on the numpy path, through
:mod:`math` element by element.

What is left: the C library's own last bits. glibc picks an FMA build of
``exp``, ``expm1`` and ``log1p`` where the CPU has FMA (every x86-64 CPU since
2013, every 64-bit ARM one): with FMA hidden (``GLIBC_TUNABLES=glibc.cpu.hwcaps=
-AVX2,-FMA``) 654 of a million ``exp`` values moved by one ulp and 5 of 120
full-horizon runs changed. Other C libraries (macOS, musl, Windows) may round
differently too. So runs are the same on machines with the same C library and
FMA, whatever their vector units; run metadata records both (``machine``). Only
a fixed implementation of these functions in the project would remove this. Python's own ``math`` and ``**`` on floats
already call the C library. ``np.hypot``, ``np.sqrt``, ``np.sin`` and
``np.cos`` give the same bits with and without numpy's vector code (checked in
``tests/test_libm.py``), so they stay numpy's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from escalation_sim.model import kernels
from escalation_sim.model.kernels import elementwise


def _exp(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:  # the C library gives inf (numba's loop does)
        return math.inf


#: What the C library's ``log1p`` gives below -1: a NaN with its sign bit set.
_NAN_BELOW = math.copysign(math.nan, -1.0)


def _log1p(v: float) -> float:
    if v > -1.0 or v != v:  # NaN passes through
        return math.log1p(v)
    return -math.inf if v == -1.0 else _NAN_BELOW


def _expm1(v: float) -> float:
    try:
        return math.expm1(v)
    except OverflowError:
        return math.inf


def _apply(x: np.ndarray | float, which: int, scalar: Callable[[float], float]) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(a).reshape(-1)
    if kernels.enabled():
        out = elementwise.apply_flat(flat, which)
    else:
        out = np.fromiter(map(scalar, flat.tolist()), dtype=np.float64, count=flat.size)
    return out.reshape(a.shape)


def exp(x: np.ndarray | float) -> np.ndarray:
    """``e ** x`` element-wise, as the C library computes it (``inf`` on overflow)."""
    return _apply(x, elementwise.EXP, _exp)


def expm1(x: np.ndarray | float) -> np.ndarray:
    """``e ** x - 1`` element-wise, as the C library computes it."""
    return _apply(x, elementwise.EXPM1, _expm1)


def log1p(x: np.ndarray | float) -> np.ndarray:
    """``log(1 + x)`` element-wise, as the C library computes it (``-inf`` at -1, NaN below)."""
    return _apply(x, elementwise.LOG1P, _log1p)


__all__ = ["exp", "expm1", "log1p"]
