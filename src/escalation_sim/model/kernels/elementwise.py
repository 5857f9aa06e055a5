"""Element-wise ``exp``, ``expm1`` and ``log1p`` compiled: the C library's results.

numba calls the C library (``libm``) for these functions, as Python's
:mod:`math` does, so this loop gives exactly what ``math.exp``,
``math.expm1`` and ``math.log1p`` give element by element (tested on a
hundred thousand values and the edge cases in ``tests/test_libm.py``), without
the Python loop. It serves :mod:`escalation_sim.model.libm`, which picks it
or the plain :mod:`math` loop.
"""

from __future__ import annotations

import math

import numpy as np

from escalation_sim.model.kernels import kernel

#: Which function :func:`apply_flat` applies.
EXP, EXPM1, LOG1P = 0, 1, 2


@kernel
def apply_flat(x: np.ndarray, which: int) -> np.ndarray:
    """``math.exp`` (``EXP``), ``math.expm1`` or ``math.log1p`` of each element of a 1-D float64 array.

    Where Python's ``math`` raises, the C library's value is given: ``inf`` on
    overflow, ``-inf`` for ``log1p(-1)`` and NaN below -1.
    """
    out = np.empty_like(x)
    for i in range(x.size):
        if which == EXP:
            out[i] = math.exp(x[i])
        elif which == EXPM1:
            out[i] = math.expm1(x[i])
        else:
            out[i] = math.log1p(x[i])
    return out
