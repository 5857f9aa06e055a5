"""Compile the model's kernels before a command's first run, saying so, when none is compiled.

A machine's first run after ``pip install`` compiles every kernel (about a
minute; ``make venv`` does it at set-up). Without a word a user would take
that minute for a hang (see :func:`escalation_sim.model.kernels.compile_if_cold`).
"""

from __future__ import annotations

import click


def compile_kernels_if_cold() -> None:
    """Compile every kernel now when this machine has not, with a note on standard error."""
    from escalation_sim.model import kernels

    kernels.compile_if_cold(lambda message: click.echo(message, err=True))
