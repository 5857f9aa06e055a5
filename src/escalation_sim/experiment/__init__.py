"""Experiments: ensembles, paired comparisons of rule sets, and parameter sweeps.

Every experiment runs chunks of runs on an executor (this process, a local
process pool, or a Dask cluster), keeps finished chunks on disk so that an
interrupted experiment resumes where it stopped, and writes its outputs
atomically. Results do not depend on the executor, the number of workers or
interruptions: each run's seed comes from the experiment's root seed.

* :func:`ensemble`: one scenario, many seeds -> :class:`EnsembleResult`;
* :func:`compare`: rule sets on common seeds, paired differences -> :class:`ComparisonResult`;
* :func:`sweep`: a sweep file's design with replications -> :class:`SweepResult`;
* :func:`robustness`: declared conclusions checked across assumption sets drawn
  from the plausible ranges -> :class:`RobustnessResult`.

How an experiment runs (workers, Dask, chunk size, progress, output directory,
``force``, ``restart``) travels as one :class:`ExecutionOptions`; each function
also takes its fields as keywords. All three are designs on one core
(:mod:`escalation_sim.experiment.core`, which says how to add an experiment).

A script that uses a local pool (``jobs`` > 1) must guard its entry point with
``if __name__ == "__main__":`` (each worker imports the main module, as
under ``forkserver`` and ``spawn``); notebooks need nothing.
"""

from escalation_sim.experiment.compare import ComparisonResult, compare, paired_differences
from escalation_sim.experiment.core import Completed, Experiment, Plan
from escalation_sim.experiment.ensemble import EnsembleResult, ensemble
from escalation_sim.experiment.errors import (
    ExperimentError,
    ExperimentInterrupted,
    StaleWorkError,
)
from escalation_sim.experiment.options import ExecutionOptions
from escalation_sim.experiment.robustness import RobustnessResult, plan_robustness, robustness
from escalation_sim.experiment.seeds import run_seeds
from escalation_sim.experiment.sweep import SweepResult, load_sweep, sweep

__all__ = [
    "ComparisonResult",
    "Completed",
    "EnsembleResult",
    "ExecutionOptions",
    "Experiment",
    "ExperimentError",
    "ExperimentInterrupted",
    "Plan",
    "RobustnessResult",
    "StaleWorkError",
    "SweepResult",
    "compare",
    "ensemble",
    "load_sweep",
    "paired_differences",
    "plan_robustness",
    "robustness",
    "run_seeds",
    "sweep",
]
