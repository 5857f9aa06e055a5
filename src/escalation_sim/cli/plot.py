"""The ``plot`` command: draw every figure a results directory supports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

#: The formats ``plots.directory`` writes, spelt out here so that building the
#: command (for ``--help``) does not import matplotlib; a test checks they agree.
FORMATS = ("png", "svg", "pdf")

#: What a results directory of each kind holds, in words (``plots.directory.DRAWERS``'
#: kinds; a test checks that every kind has its phrase).
HOLDS = {
    "run": "a run",
    "ensemble": "an ensemble",
    "compare": "a comparison",
    "sweep": "a sweep",
    "robustness": "a robustness check",
}


@click.command("plot")
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="png",
    show_default=True,
    help="Figure file format.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Folder for the figures [default: RESULTS_DIR itself].",
)
@click.option("--main-only", is_flag=True, help="Draw only the main figure of the results.")
def plot(results_dir: Path, fmt: str, out: Path | None, main_only: bool) -> None:
    """Draw every figure the outputs in RESULTS_DIR support (run, ensemble, compare, sweep, robustness)."""
    from escalation_sim.plots.directory import ResultsDirError, draw_figures, result_kind

    try:
        kind = result_kind(results_dir)
        paths = draw_figures(results_dir, fmt=fmt, out=out, main_only=main_only)
    except ResultsDirError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{results_dir} holds {HOLDS.get(kind, kind)}; wrote:")
    for path in paths:
        click.echo(f"  {path}")
