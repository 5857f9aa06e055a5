"""escalation-sim: an agent-based model of counter-fire and escalation under weapons-use rules."""

from escalation_sim.api import run, write_run
from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.experiment import compare, ensemble, sweep
from escalation_sim.model import EscalationModel
from escalation_sim.results import RunResult, load_run
from escalation_sim.scenario import (
    Scenario,
    load_scenario,
    scenario_from_dict,
    scenario_to_yaml,
    with_overrides,
)

__version__ = "0.1.0"

__all__ = [
    "EscalationModel",
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "compare",
    "ensemble",
    "load_run",
    "load_scenario",
    "run",
    "scenario_from_dict",
    "scenario_to_yaml",
    "sweep",
    "with_overrides",
    "write_run",
]
