"""Sensitivity indices of a sweep's outcomes, through SALib.

Indices are computed on the mean outcome over each design point's
replications: Sobol' (S1, ST, and S2 with ``second_order``), Morris elementary
effects (mu, mu_star, sigma) and, for Latin hypercubes, RBD-FAST first-order
indices. A grid gets no indices.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from escalation_sim.experiment.sweep.designs import (
    GridDesign,
    LhsDesign,
    MorrisDesign,
    SobolDesign,
)
from escalation_sim.experiment.sweep.spec import ResolvedSweep, design_seed


def sensitivity_indices(
    sw: ResolvedSweep, point_means: pd.DataFrame
) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """SALib indices of each chosen outcome (mean over replications per point).

    Returns:
        Tidy table ``parameter, parameter_2, outcome, method, index, value, conf``
        (``None`` for a grid), and a note for each outcome that could not be analysed.
    """
    d = sw.spec.design
    if isinstance(d, GridDesign):
        return None, {"*": "a grid design gives no sensitivity indices; use sobol, morris or lhs"}
    problem = sw.design.problem
    names = problem["names"]
    seed = design_seed(sw.spec)
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}

    def add(outcome: str, method: str, index: str, values: Any, conf: Any = None) -> None:
        for i, name in enumerate(names):
            c = None if conf is None else float(np.asarray(conf)[i])
            rows.append(
                {
                    "parameter": name,
                    "parameter_2": "",
                    "outcome": outcome,
                    "method": method,
                    "index": index,
                    "value": float(np.asarray(values)[i]),
                    "conf": c,
                }
            )

    for outcome in sw.outcomes:
        Y = point_means[outcome].to_numpy(dtype=float)
        if np.isnan(Y).any():
            notes[outcome] = "missing values at some points"
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                match d:
                    case SobolDesign():
                        from SALib.analyze import sobol

                        si = sobol.analyze(problem, Y, calc_second_order=d.second_order, seed=seed)
                        add(outcome, "sobol", "S1", si["S1"], si["S1_conf"])
                        add(outcome, "sobol", "ST", si["ST"], si["ST_conf"])
                        if d.second_order:
                            for i, j in itertools.combinations(range(len(names)), 2):
                                rows.append(
                                    {
                                        "parameter": names[i],
                                        "parameter_2": names[j],
                                        "outcome": outcome,
                                        "method": "sobol",
                                        "index": "S2",
                                        "value": float(si["S2"][i, j]),
                                        "conf": float(si["S2_conf"][i, j]),
                                    }
                                )
                    case MorrisDesign():
                        from SALib.analyze import morris

                        si = morris.analyze(problem, sw.design.X, Y, num_levels=d.levels, seed=seed)
                        add(outcome, "morris", "mu", si["mu"])
                        add(outcome, "morris", "mu_star", si["mu_star"], si["mu_star_conf"])
                        add(outcome, "morris", "sigma", si["sigma"])
                    case LhsDesign():
                        from SALib.analyze import rbd_fast

                        # RBD-FAST's harmonics M must stay well below the points (its
                        # bootstrap uses half of them): M = 10 from 44 points up.
                        harmonics = min(10, len(Y) // 4 - 1)
                        if harmonics < 1:
                            notes[outcome] = "RBD-FAST needs a Latin hypercube of 8 points or more"
                            continue
                        si = rbd_fast.analyze(problem, sw.design.X, Y, M=harmonics, seed=seed)
                        add(outcome, "rbd_fast", "S1", si["S1"], si["S1_conf"])
        except (ValueError, ZeroDivisionError, IndexError, np.linalg.LinAlgError) as exc:
            notes[outcome] = f"SALib could not analyse it: {exc}"
    columns = ["parameter", "parameter_2", "outcome", "method", "index", "value", "conf"]
    return pd.DataFrame(rows, columns=columns), notes
