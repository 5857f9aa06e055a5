"""Parameter sweeps, by concern.

* :mod:`.spec`: the sweep file's format, loading and validation (file, line, field);
* :mod:`.designs`: the designs (grid, lhs, sobol, morris): sizes and sampling;
* :mod:`.sensitivity`: sensitivity indices through SALib;
* :mod:`.experiment`: the experiment on the shared core, and its result.
"""

from escalation_sim.experiment.sweep.designs import (
    METHODS,
    Design,
    GridDesign,
    LhsDesign,
    MorrisDesign,
    Parameter,
    ParameterSpec,
    SobolDesign,
)
from escalation_sim.experiment.sweep.experiment import SweepResult, sweep
from escalation_sim.experiment.sweep.sensitivity import sensitivity_indices
from escalation_sim.experiment.sweep.spec import (
    ResolvedSweep,
    SweepSpec,
    apply_values,
    default_sweep_outcomes,
    expected_points,
    load_sweep,
)

__all__ = [
    "METHODS",
    "Design",
    "GridDesign",
    "LhsDesign",
    "MorrisDesign",
    "Parameter",
    "ParameterSpec",
    "ResolvedSweep",
    "SobolDesign",
    "SweepResult",
    "SweepSpec",
    "apply_values",
    "default_sweep_outcomes",
    "expected_points",
    "load_sweep",
    "sensitivity_indices",
    "sweep",
]
