"""The public Python API: load a scenario, run it, get a result (used by the CLI and notebooks)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

from escalation_sim.model import EscalationModel
from escalation_sim.results import RunResult, run_metadata, summarize
from escalation_sim.scenario.loader import load_scenario, with_overrides
from escalation_sim.scenario.schema import Scenario


def resolve_scenario(
    scenario: Scenario | str | Path, *, days: int | None = None, overrides: Sequence[str] = ()
) -> Scenario:
    """A validated scenario from a file path or a Scenario, with overrides and a horizon.

    Raises:
        ScenarioError: The file or an override is invalid.
    """
    extra = list(overrides) + ([f"horizon_days={days}"] if days is not None else [])
    if isinstance(scenario, Scenario):
        return with_overrides(scenario, extra) if extra else scenario
    return load_scenario(scenario, extra)


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
    model = EscalationModel(sc, seed=seed, record_events=record_events)
    model.run()
    ts = model.timeseries()
    events = model.events.records() if record_events else []
    summary = summarize(ts, events, sc, model.seed, model.nato_conflict_day, model.nuclear_use_day)
    result = RunResult(
        scenario=sc,
        seed=model.seed,
        timeseries=ts,
        events=events,
        summary=summary,
        metadata=run_metadata(sc, model.seed),
        ladder=[r.name for r in sc.ladder.rungs],
    )
    del model
    gc.collect(0)
    return result
