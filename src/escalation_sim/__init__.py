"""escalation-sim: an agent-based model of counter-fire and escalation under weapons-use rules.

The public names below are loaded on first use (PEP 562), so that importing
the package, and with it the ``escalation-sim`` command's ``--help``, does not
pay for Mesa, pandas and matplotlib until a run needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "run": "escalation_sim.api",
    "write_run": "escalation_sim.api",
    "Problem": "escalation_sim.errors",
    "ScenarioError": "escalation_sim.errors",
    "compare": "escalation_sim.experiment",
    "ensemble": "escalation_sim.experiment",
    "robustness": "escalation_sim.experiment",
    "sweep": "escalation_sim.experiment",
    "EscalationModel": "escalation_sim.model",
    "RunResult": "escalation_sim.results",
    "load_run": "escalation_sim.results",
    "Scenario": "escalation_sim.scenario",
    "load_scenario": "escalation_sim.scenario",
    "scenario_from_dict": "escalation_sim.scenario",
    "scenario_to_yaml": "escalation_sim.scenario",
    "with_overrides": "escalation_sim.scenario",
}

if TYPE_CHECKING:
    from escalation_sim.api import run, write_run
    from escalation_sim.errors import Problem, ScenarioError
    from escalation_sim.experiment import compare, ensemble, robustness, sweep
    from escalation_sim.model import EscalationModel
    from escalation_sim.results import RunResult, load_run
    from escalation_sim.scenario import (
        Scenario,
        load_scenario,
        scenario_from_dict,
        scenario_to_yaml,
        with_overrides,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'escalation_sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
    "robustness",
    "run",
    "scenario_from_dict",
    "scenario_to_yaml",
    "sweep",
    "with_overrides",
    "write_run",
]
