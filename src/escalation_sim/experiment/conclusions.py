"""Conclusions checked across assumption sets: declared as data, judged per set, shared out.

A conclusion is a claim about the model's outputs that a user would write in
a briefing: "deep strike raises Russia's peak rung against the pre-May-30
rules", "nuclear use stays rare under May-30". It is data (the package's
``data/conclusions.yaml``, or a user's file): the scenario (and baseline)
labels, an outcome, and a direction or a bound. The robustness experiment
judges it in every assumption set and reports the share of sets in which it
holds, with an exact binomial (Clopper-Pearson) interval, and which
assumptions its verdict depends on.

Everything here is a pure function of tables: the per-set paired differences
(``robustness.csv``), the per-set levels (``levels.csv``) and the assumption
sets (``assumption_sets.csv``).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.scenario.source import Locations, parse_yaml_text, read_yaml_file

PACKAGE_FILE = "conclusions.yaml"
#: Columns of ``conclusions.csv``.
CONCLUSION_COLUMNS = [
    "conclusion",
    "text",
    "kind",
    "scenario",
    "baseline",
    "outcome",
    "claim",
    "criterion",
    "sets",
    "holds",
    "share",
    "share_ci_low",
    "share_ci_high",
    "share_ci_level",
    "share_by_mean",
    "required_share",
    "robust",
    "mean_effect",
    "min_effect",
    "max_effect",
]
#: Columns of ``dependence.csv``.
DEPENDENCE_COLUMNS = [
    "conclusion",
    "dimension",
    "spearman_rho",
    "p_value",
    "share_low_half",
    "share_high_half",
    "split",
]


class Conclusion(BaseModel):
    """One declared conclusion.

    Attributes:
        id: Short name (a column-safe identifier).
        text: The claim as a reader would say it.
        kind: ``difference`` (scenario - baseline on common seeds) or ``level``.
        scenario: The scenario's label.
        baseline: The baseline's label (differences only).
        outcome: A column of ``runs.parquet``.
        direction: ``increase`` or ``decrease`` (differences).
        at_most: Upper bound on the scenario's mean outcome (levels).
        at_least: Lower bound on it (levels).
        criterion: ``ci`` (the interval lies on the stated side) or ``mean``
            (the point estimate does).
        required_share: Share of assumption sets in which it must hold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")]
    text: str
    kind: Literal["difference", "level"] = "difference"
    scenario: str
    baseline: str | None = None
    outcome: str
    direction: Literal["increase", "decrease"] | None = None
    at_most: float | None = None
    at_least: float | None = None
    criterion: Literal["ci", "mean"] | None = None
    required_share: Annotated[float, Field(gt=0, le=1)] = 0.9

    @model_validator(mode="after")
    def _consistent(self) -> Conclusion:
        if self.kind == "difference":
            if self.baseline is None or self.direction is None:
                raise ValueError("a difference needs a baseline and a direction")
            if self.at_most is not None or self.at_least is not None:
                raise ValueError("at_most / at_least belong to kind: level")
        else:
            if self.at_most is None and self.at_least is None:
                raise ValueError("a level needs at_most and/or at_least")
            if self.baseline is not None or self.direction is not None:
                raise ValueError("baseline / direction belong to kind: difference")
        return self

    @property
    def judged_by(self) -> str:
        """The criterion in use (levels default to ``mean``, differences to ``ci``)."""
        return self.criterion or ("ci" if self.kind == "difference" else "mean")

    @property
    def labels(self) -> tuple[str, ...]:
        """The scenario labels it needs."""
        return (self.baseline, self.scenario) if self.baseline else (self.scenario,)

    def claim(self) -> str:
        """What must hold, as text: ``diff > 0``, ``mean <= 0.05``."""
        if self.kind == "difference":
            return "diff > 0" if self.direction == "increase" else "diff < 0"
        parts = []
        if self.at_least is not None:
            parts.append(f"mean >= {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"mean <= {self.at_most:g}")
        return " and ".join(parts)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conclusions: list[Conclusion]


def _line(locs: Locations, loc: Sequence[Any]) -> int | None:
    for depth in range(len(loc), 0, -1):
        hit = locs.get(tuple(loc[:depth]))
        if hit is not None:
            return hit[1]
    return None


def parse_conclusions(data: Any, locs: Locations, label: str) -> list[Conclusion]:
    """Validate conclusion data (``{conclusions: [...]}``).

    Raises:
        ScenarioError: With the file, line and field of every problem.
    """
    if not isinstance(data, dict):
        raise ScenarioError([Problem(label, 1, "", "expected a mapping with a 'conclusions' list")])
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(label, _line(locs, loc), ".".join(map(str, loc)), msg))
        raise ScenarioError(problems) from None
    ids = [c.id for c in parsed.conclusions]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ScenarioError(
            [Problem(label, None, "conclusions", f"duplicate conclusion id(s): {', '.join(dup)}")]
        )
    return parsed.conclusions


def load_conclusions(path: str | Path | None = None) -> tuple[list[Conclusion], str]:
    """Read a conclusions file (``None``: the package's own list) and its text.

    Raises:
        ScenarioError: With the file, line and field of every problem.
    """
    if path is None:
        label = f"package {PACKAGE_FILE}"
        text = (
            resources.files("escalation_sim.experiment.data")
            .joinpath(PACKAGE_FILE)
            .read_text("utf-8")
        )
        data, locs = parse_yaml_text(text, label)
    else:
        label = str(path)
        data, locs = read_yaml_file(path, label)
        text = Path(path).read_text("utf-8")
    return parse_conclusions(data, locs, label), text


def pairs_needed(conclusions: Sequence[Conclusion], labels: Sequence[str]) -> list[tuple[str, str]]:
    """``(baseline, scenario)`` pairs to compare: each against the first, then the conclusions'."""
    pairs = [(labels[0], lb) for lb in labels[1:]]
    for c in conclusions:
        if c.kind == "difference":
            pair = (str(c.baseline), c.scenario)
            if pair not in pairs:
                pairs.append(pair)
    return pairs


def _holds(c: Conclusion, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, by: str) -> np.ndarray:
    """Per set: whether the conclusion holds, by criterion ``by`` (NaN stays False)."""
    with np.errstate(invalid="ignore"):
        if c.kind == "difference":
            if by == "ci":
                return lo > 0 if c.direction == "increase" else hi < 0
            return mean > 0 if c.direction == "increase" else mean < 0
        ok = np.ones(len(mean), dtype=bool)
        upper, lower = (hi, lo) if by == "ci" else (mean, mean)
        if c.at_most is not None:
            ok &= upper <= c.at_most
        if c.at_least is not None:
            ok &= lower >= c.at_least
        return ok


def _effect(c: Conclusion, mean: np.ndarray) -> np.ndarray:
    """Per set, a number that grows the more the conclusion holds (for rank correlations)."""
    if c.kind == "difference":
        return mean if c.direction == "increase" else -mean
    if c.at_most is not None:
        return c.at_most - mean
    return mean - float(c.at_least)  # type: ignore[arg-type]


def per_set(c: Conclusion, robustness: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """The conclusion judged in each set: ``set, mean, ci_low, ci_high, holds, holds_by_mean, effect``."""
    if c.kind == "difference":
        rows = robustness[
            (robustness["baseline"] == c.baseline)
            & (robustness["scenario"] == c.scenario)
            & (robustness["outcome"] == c.outcome)
        ]
        mean_col = "mean_diff"
    else:
        rows = levels[(levels["scenario"] == c.scenario) & (levels["outcome"] == c.outcome)]
        mean_col = "mean"
    rows = rows.sort_values("set")
    mean = rows[mean_col].to_numpy(dtype=float)
    lo = rows["ci_low"].to_numpy(dtype=float)
    hi = rows["ci_high"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "set": rows["set"].to_numpy(),
            "mean": mean,
            "ci_low": lo,
            "ci_high": hi,
            "holds": _holds(c, mean, lo, hi, c.judged_by),
            "holds_by_mean": _holds(c, mean, lo, hi, "mean"),
            "effect": _effect(c, mean),
        }
    )


def share_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial (Clopper-Pearson) interval of a share ``k / n``."""
    from scipy import stats

    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def conclusions_table(
    conclusions: Sequence[Conclusion],
    robustness: pd.DataFrame,
    levels: pd.DataFrame,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per conclusion: the share of assumption sets in which it holds, with its interval."""
    rows = []
    for c in conclusions:
        judged = per_set(c, robustness, levels)
        n, k = len(judged), int(judged["holds"].sum())
        lo, hi = share_interval(k, n, level)
        share = k / n if n else math.nan
        effect = judged["effect"].to_numpy(dtype=float)
        rows.append(
            {
                "conclusion": c.id,
                "text": c.text,
                "kind": c.kind,
                "scenario": c.scenario,
                "baseline": c.baseline or "",
                "outcome": c.outcome,
                "claim": c.claim(),
                "criterion": c.judged_by,
                "sets": n,
                "holds": k,
                "share": share,
                "share_ci_low": lo,
                "share_ci_high": hi,
                "share_ci_level": level,
                "share_by_mean": float(judged["holds_by_mean"].mean()) if n else math.nan,
                "required_share": c.required_share,
                "robust": bool(n and share >= c.required_share),
                "mean_effect": float(np.nanmean(effect)) if n else math.nan,
                "min_effect": float(np.nanmin(effect)) if n else math.nan,
                "max_effect": float(np.nanmax(effect)) if n else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=CONCLUSION_COLUMNS)


def dependence_table(
    conclusions: Sequence[Conclusion],
    robustness: pd.DataFrame,
    levels: pd.DataFrame,
    unit: pd.DataFrame,
) -> pd.DataFrame:
    """Which assumptions each conclusion's verdict depends on.

    For every conclusion and assumption dimension: Spearman's rank correlation
    between the dimension's position in its range and the conclusion's effect
    (positive: the conclusion holds more strongly towards the high end), and
    the share of sets in which it holds with the dimension in the low half of
    its range against the high half (``split`` = high - low).

    Args:
        conclusions: The conclusions.
        robustness: Per-set paired differences.
        levels: Per-set levels.
        unit: ``set`` and each dimension's position in [0, 1] of its range.
    """
    from scipy import stats

    dims = [c for c in unit.columns if c != "set"]
    rows = []
    for c in conclusions:
        judged = per_set(c, robustness, levels).merge(unit, on="set")
        if len(judged) < 3:
            continue
        effect = judged["effect"].to_numpy(dtype=float)
        holds = judged["holds"].to_numpy(dtype=bool)
        for d in dims:
            u = judged[d].to_numpy(dtype=float)
            if np.ptp(effect) == 0 or np.ptp(u) == 0:
                rho, p = math.nan, math.nan
            else:
                res = stats.spearmanr(u, effect)
                rho, p = float(res.statistic), float(res.pvalue)
            low, high = holds[u < 0.5], holds[u >= 0.5]
            s_low = float(low.mean()) if len(low) else math.nan
            s_high = float(high.mean()) if len(high) else math.nan
            rows.append(
                {
                    "conclusion": c.id,
                    "dimension": d,
                    "spearman_rho": rho,
                    "p_value": p,
                    "share_low_half": s_low,
                    "share_high_half": s_high,
                    "split": s_high - s_low,
                }
            )
    return pd.DataFrame(rows, columns=DEPENDENCE_COLUMNS)


#: Width of the conclusion column of the printout; longer texts wrap onto more lines.
_TEXT_WIDTH = 60


def format_conclusions(table: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The conclusions table as text (what the command prints and saves)."""
    level = float(table["share_ci_level"].iloc[0]) if len(table) else 0.95
    lines = [
        f"Robustness over {meta['samples']} assumption sets (Latin hypercube over "
        f"{meta['dimensions']} sampled assumptions), {meta['runs']} common seeds per set "
        f"(root seed {meta['root_seed']})",
        f"share = assumption sets in which the conclusion holds; {100 * level:g}% "
        "Clopper-Pearson interval; * at or above the required share",
        "",
        f"  {'conclusion':<62}{'holds':>9}{'share':>8}   interval      by mean",
    ]
    for r in table.itertuples(index=False):
        mark = "*" if r.robust else " "
        # Wrapped, never cut: the numbers stand on the first line, the rest of the text below it.
        first, *rest = textwrap.wrap(str(r.text), _TEXT_WIDTH, break_on_hyphens=False) or [""]
        lines.append(
            f"{mark} {first:<62}{r.holds:>4}/{r.sets:<4}{100 * r.share:>6.0f}%   "
            f"[{100 * r.share_ci_low:3.0f}, {100 * r.share_ci_high:3.0f}]%   "
            f"{100 * r.share_by_mean:5.0f}%"
        )
        lines += [f"  {more}" for more in rest]
        lines.append(f"    ({r.claim}, {r.criterion}; required {100 * r.required_share:g}%)")
    held = meta.get("held_at_defaults") or []
    if held:
        lines += [
            "",
            f"{len(held)} ranges held at their defaults: no decision model of these scenarios "
            "reads them (metadata.json, held_at_defaults, says why for each):",
            "  " + ", ".join(dict.fromkeys(h.get("parameter", h["dimension"]) for h in held)),
        ]
    return "\n".join(lines)
