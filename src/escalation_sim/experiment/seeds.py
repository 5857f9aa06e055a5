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

from escalation_sim.experiment.errors import ExperimentInputError

#: How a run's seed is derived (recorded in every experiment's metadata).
SEED_DERIVATION = (
    "seed[i] = numpy.random.SeedSequence(root_seed).spawn(n)[i]"
    ".generate_state(1, dtype=numpy.uint64)[0] >> 1"
)


#: Largest seed any command takes: seeds are stored in signed 64-bit columns.
SEED_MAX = 2**63 - 1


def check_seed(value: object, what: str = "seed") -> int:
    """A seed as an int: every command and function checks seeds with this one rule.

    Raises:
        ExperimentInputError: It is not an integer in ``[0, 2**63 - 1]`` (a ``ValueError``).
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ExperimentInputError(
            f"the {what} must be an integer from 0 to {SEED_MAX}, got {value!r}"
        )
    if not 0 <= value <= SEED_MAX:
        raise ExperimentInputError(
            f"the {what} must be an integer from 0 to {SEED_MAX}, got {value}"
        )
    return int(value)


def check_root_seed(root: int) -> int:
    """The root seed of an experiment as an int (see :func:`check_seed`).

    Raises:
        ExperimentInputError: It is not an integer in ``[0, 2**63 - 1]`` (a ``ValueError``).
    """
    return check_seed(root, "root seed")


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
