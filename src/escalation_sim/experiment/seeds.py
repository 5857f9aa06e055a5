"""Seeds of the runs of an experiment, derived from one root seed.

Run ``i`` of an experiment with root seed ``R`` is seeded with::

    numpy.random.SeedSequence(R).spawn(N)[i].generate_state(1, numpy.uint64)[0] >> 1

a 63-bit integer (so it fits a signed 64-bit column), passed to
:class:`~escalation_sim.model.EscalationModel`. ``SeedSequence.spawn`` gives
statistically independent children, and child ``i`` does not depend on ``N``:
the first 100 runs of a 1,000-run ensemble are the runs of a 100-run one.
"""

from __future__ import annotations

import numpy as np

#: How a run's seed is derived (recorded in every experiment's metadata).
SEED_DERIVATION = (
    "seed[i] = numpy.random.SeedSequence(root_seed).spawn(n)[i]"
    ".generate_state(1, dtype=numpy.uint64)[0] >> 1"
)


def check_root_seed(root: int) -> int:
    """The root seed as an int.

    Raises:
        ValueError: It is negative or not an integer.
    """
    if isinstance(root, bool) or not isinstance(root, int | np.integer) or root < 0:
        raise ValueError(f"the root seed must be a non-negative integer, got {root!r}")
    return int(root)


def run_seeds(root: int, n: int) -> list[int]:
    """The seeds of runs ``0 .. n-1`` of an experiment with root seed ``root``.

    Args:
        root: The experiment's root seed (non-negative).
        n: Number of runs.

    Returns:
        ``n`` integers in ``[0, 2**63)``.
    """
    children = np.random.SeedSequence(check_root_seed(root)).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
