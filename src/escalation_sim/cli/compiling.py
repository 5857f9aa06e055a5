"""Compile the model's kernels before a command's first run, saying so, when none is compiled.

A machine's first run after ``pip install`` compiles every kernel (about a
minute; ``make venv`` does it at set-up). Without a word a user would take
that minute for a hang, and every pool worker would compile the same kernels
at once; compiled here first, in the command's own process, the workers load
them from the cache.
"""

from __future__ import annotations

import click


def compile_kernels_if_cold() -> None:
    """Compile every kernel now when the machine's cache holds none, with a note on stderr."""
    from escalation_sim.model import kernels

    if not kernels.cache_is_cold():
        return
    click.echo(
        "compiling the model's kernels for this machine: once, about a minute "
        f"(kept in {kernels.cache_dir()})...",
        err=True,
    )
    seconds = kernels.warm_up()
    click.echo(f"compiled in {seconds:.0f} s", err=True)
