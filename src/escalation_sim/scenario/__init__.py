"""Scenario files: schema, loading with line-precise errors, defaults and overrides."""

from escalation_sim.scenario.loader import (
    load_scenario,
    scenario_from_dict,
    scenario_hash,
    scenario_to_dict,
    scenario_to_yaml,
    with_overrides,
)
from escalation_sim.scenario.schema import RuleSpec, Scenario

__all__ = [
    "RuleSpec",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_dict",
    "scenario_to_yaml",
    "with_overrides",
]
