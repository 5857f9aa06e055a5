"""Sensitivity indices of a sweep's outcomes, through SALib, with their intervals and warnings.

Indices are computed on the mean outcome over each design point's
replications: Sobol' (S1, ST, and S2 with ``second_order``), Morris elementary
effects (mu, mu_star, sigma) and, for Latin hypercubes, RBD-FAST first-order
indices. A grid gets no indices.

Nothing is clipped or hidden. Every index comes with SALib's bootstrap
confidence interval (``conf`` is its half-width; ``ci_low``/``ci_high`` the
bounds, at :data:`CONF_LEVEL`), and what would make an index unreadable is
said in a warning rather than smoothed over:

* a design below the usual minimum size for its method (:data:`MIN_SIZE`);
* replication noise: a stochastic model's run-to-run variation that the
  point means still carry is counted by every method as parameter effect; its
  share of the variance of the point means is estimated from the replications
  (or, with one replication, said to be unknown);
* impossible values beyond their intervals (``S1 > ST``, ``ST > 1``, an index
  below 0): flagged in the table's ``flag`` column and in a warning, left as
  SALib computed them.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
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

#: Confidence level of SALib's bootstrap intervals (its default ``conf_level``).
CONF_LEVEL = 0.95
#: Smallest design, per method, below which the indices get a warning: (size, what, why).
MIN_SIZE: dict[str, tuple[int, str, str]] = {
    # Rule of thumb: Saltelli-scheme estimates are commonly run with N of 500-1,000 base
    # samples or more (Saltelli et al. 2010, Comput. Phys. Commun. 181:259-270); below
    # that the bootstrap intervals are rarely narrow enough to tell S1 from ST.
    "sobol": (512, "base samples", "Saltelli et al. 2010 run N of 500-1,000 or more"),
    # r = 10 to 20 trajectories is the usual advice for Morris screening (Saltelli et al.
    # 2008, Global Sensitivity Analysis: The Primer, ch. 3; Campolongo et al. 2007).
    "morris": (10, "trajectories", "r = 10 to 20 is the usual advice"),
    # RBD-FAST with M = 10 harmonics, the value SALib and Tarantola et al. (2006) use;
    # this module lowers M below 44 points (M = N/4 - 1), which biases the indices.
    "rbd_fast": (44, "points", "fewer points force fewer than 10 harmonics"),
}
#: The indices of each method (first-order ones of Sobol' only: S2 is optional).
INDICES = {"sobol": ("S1", "ST"), "morris": ("mu", "mu_star", "sigma"), "rbd_fast": ("S1",)}
#: Share of the variance of the point means that replication noise may take unremarked.
NOISE_SHARE_WARNING = 0.2
#: Columns of ``sensitivity.parquet``.
COLUMNS = [
    "parameter",
    "parameter_2",
    "outcome",
    "method",
    "index",
    "value",
    "conf",
    "ci_low",
    "ci_high",
    "flag",
]


@dataclass
class Sensitivity:
    """A sweep's sensitivity analysis.

    Attributes:
        table: Tidy indices (columns :data:`COLUMNS`), ``None`` for a grid.
        notes: Why an outcome has no indices, by outcome (``"*"``: all of them).
        warnings: What makes the indices less than they look, one sentence each.
    """

    table: pd.DataFrame | None
    notes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Estimate:
    """One index of one outcome as SALib returns it.

    Attributes:
        index: ``S1``, ``ST``, ``S2``, ``mu``, ``mu_star`` or ``sigma``.
        values: One value per parameter (a matrix of pairs for ``S2``).
        conf: Half-widths of the intervals, aligned with ``values`` (``None``: none).
        pairwise: ``values`` is a parameter x parameter matrix.
    """

    index: str
    values: Any
    conf: Any = None
    pairwise: bool = False


def _method(design: Any) -> str:
    return {SobolDesign: "sobol", MorrisDesign: "morris", LhsDesign: "rbd_fast"}[type(design)]


def _design_size(design: Any, points: int) -> int:
    match design:
        case SobolDesign():
            return design.samples
        case MorrisDesign():
            return design.trajectories
    return points


def size_warning(design: Any, points: int) -> str | None:
    """The warning for a design too small for its indices, or ``None``."""
    method = _method(design)
    minimum, what, why = MIN_SIZE[method]
    size = _design_size(design, points)
    if size >= minimum:
        return None
    return (
        f"{method} indices from {size} {what}: at least {minimum} are needed for stable "
        f"indices ({why}); read them, and their intervals, as a rough ranking at best"
    )


def noise_share(values: pd.DataFrame, outcome: str, *, common_seeds: bool = False) -> float | None:
    """Share of the variance of the point means that is replication noise (estimated).

    Each point mean carries the run-to-run noise divided by the replications.
    With independent seeds that noise is the within-point variance; with common
    seeds (replication ``r`` has the same seed at every point) the part shared
    by all points cancels between them, and what remains is the point x seed
    interaction, the residual of a two-way layout.

    Args:
        values: One row per run: ``point``, ``replication`` and ``outcome``.
        outcome: The outcome column.
        common_seeds: Replication ``r`` runs on the same seed at every point.

    Returns:
        The share (above 1 when the parameters explain less than the noise), or
        ``None`` with one replication per point or no variation at all.
    """
    table = values.pivot_table(index="point", columns="replication", values=outcome)
    y = table.to_numpy(dtype=float)
    points, reps = y.shape
    if reps < 2 or points < 2 or np.isnan(y).any():
        return None
    means = y.mean(axis=1)
    between = float(means.var(ddof=1))
    if common_seeds:
        resid = y - means[:, None] - y.mean(axis=0)[None, :] + y.mean()
        noise = float((resid**2).sum()) / ((points - 1) * (reps - 1)) / reps
    else:
        noise = float(y.var(axis=1, ddof=1).mean()) / reps
    if between <= 0:
        return None if noise == 0 else float("inf")
    return noise / between


def _flags(
    method: str, index: str, value: float, conf: float | None, s1: tuple[float, float] | None
) -> str:
    """Why a value is impossible beyond its interval ("" when it is not)."""
    half = 0.0 if conf is None or np.isnan(conf) else conf
    found = []
    if method in ("sobol", "rbd_fast") and index in ("S1", "ST"):
        if value - half > 1:
            found.append(f"{index} > 1")
        if value + half < 0:
            found.append(f"{index} < 0")
    if method == "sobol" and index == "ST" and s1 is not None:
        s1_value, s1_half = s1
        if s1_value - s1_half > value + half:
            found.append("S1 > ST")
    return "; ".join(found)


def _analyse(
    design: Any, problem: dict[str, Any], X: np.ndarray, Y: np.ndarray, seed: int
) -> list[Estimate]:
    """SALib's analysis of one outcome: each index's values and interval half-widths."""
    out: list[Estimate] = []
    match design:
        case SobolDesign():
            from SALib.analyze import sobol

            # SALib's Sobol' analysis treats an integer seed of 0 as no seed at all (and
            # draws its bootstrap from numpy's global state); a Generator is always used.
            si = sobol.analyze(
                problem,
                Y,
                calc_second_order=design.second_order,
                seed=np.random.default_rng(seed),
                conf_level=CONF_LEVEL,
            )
            out += [
                Estimate("S1", si["S1"], si["S1_conf"]),
                Estimate("ST", si["ST"], si["ST_conf"]),
            ]
            if design.second_order:
                out.append(Estimate("S2", si["S2"], si["S2_conf"], pairwise=True))
        case MorrisDesign():
            from SALib.analyze import morris

            si = morris.analyze(
                problem, X, Y, num_levels=design.levels, seed=seed, conf_level=CONF_LEVEL
            )
            out += [
                Estimate("mu", si["mu"]),
                Estimate("mu_star", si["mu_star"], si["mu_star_conf"]),
                Estimate("sigma", si["sigma"]),
            ]
        case LhsDesign():
            from SALib.analyze import rbd_fast

            # RBD-FAST's harmonics M must stay well below the points (its bootstrap uses
            # half of them): M = 10 from 44 points up.
            harmonics = min(10, len(Y) // 4 - 1)
            if harmonics < 1:
                raise _Skip("RBD-FAST needs a Latin hypercube of 8 points or more")
            si = rbd_fast.analyze(problem, X, Y, M=harmonics, seed=seed, conf_level=CONF_LEVEL)
            out.append(Estimate("S1", si["S1"], si["S1_conf"]))
    return out


class _Skip(Exception):
    """An outcome that cannot be analysed (the message says why)."""


def _rows(
    outcome: str, method: str, names: Sequence[str], results: list[Estimate]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    first: dict[str, tuple[float, float]] = {}

    def row(p1: str, p2: str, index: str, value: float, conf: float | None) -> dict[str, Any]:
        half = np.nan if conf is None else conf
        return {
            "parameter": p1,
            "parameter_2": p2,
            "outcome": outcome,
            "method": method,
            "index": index,
            "value": value,
            "conf": conf,
            "ci_low": value - half,
            "ci_high": value + half,
            "flag": "",
        }

    for est in results:
        index, values, confs = est.index, est.values, est.conf
        if est.pairwise:
            for i, j in itertools.combinations(range(len(names)), 2):
                c = float(np.asarray(confs)[i, j])
                rows.append(row(names[i], names[j], index, float(np.asarray(values)[i, j]), c))
            continue
        for i, name in enumerate(names):
            value = float(np.asarray(values)[i])
            conf = None if confs is None else float(np.asarray(confs)[i])
            if index == "S1":
                first[name] = (value, 0.0 if conf is None or np.isnan(conf) else conf)
            r = row(name, "", index, value, conf)
            r["flag"] = _flags(method, index, value, conf, first.get(name))
            rows.append(r)
    return rows


def sensitivity_indices(sw: ResolvedSweep, runs: pd.DataFrame) -> Sensitivity:
    """SALib indices of each chosen outcome, on the mean over each point's replications.

    Args:
        sw: The sweep.
        runs: One row per run: ``point``, ``replication`` and the chosen outcomes.

    Returns:
        The indices with their intervals and flags, notes on outcomes that have
        none, and warnings on what makes the indices unreliable.
    """
    d = sw.spec.design
    if isinstance(d, GridDesign):
        return Sensitivity(
            None, {"*": "a grid design gives no sensitivity indices; use sobol, morris or lhs"}
        )
    method = _method(d)
    problem = sw.design.problem
    names = problem["names"]
    seed = design_seed(sw.spec)
    means = runs.groupby("point", sort=True)[sw.outcomes].mean().reset_index(drop=True)
    result = Sensitivity(None)
    found = size_warning(d, sw.design.points)
    if found:
        result.warnings.append(found)
    if sw.spec.replications < 2:
        result.warnings.append(
            "one replication per point: the run-to-run noise of this stochastic model is "
            "counted as parameter effect by every index, and its share cannot be estimated; "
            "use 2 or more replications"
        )
    rows: list[dict[str, Any]] = []
    noisy: list[str] = []
    for outcome in sw.outcomes:
        Y = means[outcome].to_numpy(dtype=float)
        if np.isnan(Y).any():
            result.notes[outcome] = "missing values at some points"
            continue
        if np.ptp(Y) == 0:
            # Rows without values (not zeros), so tables and figures can still name it.
            result.notes[outcome] = "it never varied across the design: no indices"
            blank = [Estimate(i, np.full(len(names), np.nan)) for i in INDICES[method]]
            rows += [{**r, "flag": "never varied"} for r in _rows(outcome, method, names, blank)]
            continue
        share = noise_share(runs, outcome, common_seeds=sw.spec.seeds == "common")
        if share is not None and share > NOISE_SHARE_WARNING:
            noisy.append(f"{outcome} {share:.0%}" if share < 10 else f"{outcome} >999%")
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                results = _analyse(d, problem, sw.design.X, Y, seed)
        except _Skip as exc:
            result.notes[outcome] = str(exc)
            continue
        except (ValueError, ZeroDivisionError, IndexError, np.linalg.LinAlgError) as exc:
            result.notes[outcome] = f"SALib could not analyse it: {exc}"
            continue
        rows += _rows(outcome, method, names, results)
    if noisy:
        result.warnings.append(
            "replication noise is a large share of the variance of the point means "
            f"({', '.join(noisy)}): the indices count it as parameter effect; "
            "use more replications per point"
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    flagged = table[~table["flag"].isin(["", "never varied"])]
    for outcome, part in flagged.groupby("outcome", sort=False):
        shown = ", ".join(f"{r.parameter} ({r.flag})" for r in part.itertuples())
        result.warnings.append(
            f"{outcome}: impossible values beyond their {CONF_LEVEL:.0%} intervals, "
            f"left as computed: {shown}; the sample is too small or too noisy for these indices"
        )
    result.table = table
    return result


def format_index(value: float, low: float, high: float) -> str:
    """An index with its interval, for text (``0.53 [0.21, 0.85]``)."""
    if np.isnan(low) or np.isnan(high):
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"
