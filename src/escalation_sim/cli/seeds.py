"""The ``--seed`` option every command shares: one rule for what a seed may be.

The rule itself is :func:`escalation_sim.experiment.seeds.check_seed` (an
integer from 0 to 2**63 - 1); this module turns it into a click option whose
bad values are usage errors (exit 2, one line, no traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _check(ctx: click.Context, param: click.Parameter, value: Any) -> int | None:
    if value is None or ctx.resilient_parsing:  # a quiet parse checks nothing, imports nothing
        return value
    from escalation_sim.experiment.seeds import check_seed

    try:
        return check_seed(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("the seed "), ctx, param) from None


def seed_option(help_text: str, *, default: int = 0) -> Callable[[Any], Any]:
    """A ``--seed`` option taking an integer from 0 to 2**63 - 1.

    Args:
        help_text: What the seed seeds.
        default: The default seed.
    """
    return click.option(
        "--seed",
        type=int,
        default=default,
        show_default=True,
        callback=_check,
        help=help_text,
    )
