"""The public Python API: load a scenario, run it, write it (used by the CLI and notebooks).

It sits above every layer: it may call the model, results and plots, and
nothing below it imports it.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

from escalation_sim import results
from escalation_sim.model import EscalationModel, kernels
from escalation_sim.results import RunResult, result_from_model
from escalation_sim.scenario.loader import resolve_scenario
from escalation_sim.scenario.schema import Scenario

__all__ = ["resolve_scenario", "run", "write_run"]


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = 0,
    days: int | None = None,
    overrides: Sequence[str] = (),
    record_events: bool = True,
) -> RunResult:
    """Run one scenario once.

    Args:
        scenario: A :class:`Scenario` or the path of a scenario file.
        seed: Seed of the model's generator (``None``: drawn at random and recorded).
        days: Override the horizon (days).
        overrides: ``key.path=value`` overrides.
        record_events: Keep the event log.

    Returns:
        The run's time series, events, summary and metadata.
    """
    sc = resolve_scenario(scenario, days=days, overrides=overrides)
    kernels.compile_if_cold()  # a machine's first run: said, not a silent minute
    model = EscalationModel(sc, seed=seed, record_events=record_events)
    model.run()
    result = result_from_model(model)
    del model
    gc.collect(0)
    return result


def write_run(
    result: RunResult,
    out: Path,
    *,
    force: bool = False,
    plot: bool = True,
    inputs: Sequence[Path] = (),
) -> Path:
    """Write a run's outputs to ``out`` atomically; returns ``out``.

    Files: ``timeseries.csv`` and ``.parquet``, ``events.jsonl``, ``summary.json``,
    ``metadata.json`` (with the resolved scenario), ``scenario.resolved.yaml`` and,
    unless ``plot`` is false, ``escalation_curve.png``. ``force`` replaces only a
    directory this tool wrote, and ``out`` may not hold any of ``inputs``.
    """

    def draw(tmp: Path) -> None:
        from escalation_sim import plots

        fig = plots.escalation_curve(result)
        fig.savefig(tmp / results.CURVE_PNG, dpi=150, bbox_inches="tight")
        plots.close(fig)

    return results.write_run(result, out, force=force, extra=draw if plot else None, inputs=inputs)
