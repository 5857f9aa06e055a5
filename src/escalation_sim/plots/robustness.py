"""Robustness figure: how often each conclusion holds, and which assumptions it depends on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from escalation_sim.plots._style import GREY, _figure, _message, _short, _suptitle

#: Bar colours: the conclusion holds in at least its required share of sets, or not.
HOLDS_COLOUR = "#009E73"  # Okabe-Ito bluish green
FAILS_COLOUR = "#D55E00"  # Okabe-Ito vermillion
#: Diverging, colour-blind-safe map for rank correlations.
RHO_CMAP = "PuOr_r"


def _short_dimension(name: str) -> str:
    """A dimension's path without the section prefixes every reader knows."""
    for prefix in ("decisions.perception.", "decisions.actors.", "decisions.", "combat."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name.replace(".adaptation.", ".")


def top_dimensions(dependence: pd.DataFrame, top: int = 12) -> list[str]:
    """The assumptions with the largest rank correlation with any conclusion's effect."""
    if dependence.empty:
        return []
    strength = dependence.assign(a=dependence["spearman_rho"].abs()).groupby(
        "dimension", sort=False
    )["a"]
    return list(strength.max().dropna().sort_values(ascending=False).index[:top])


def robustness_shares(
    conclusions: pd.DataFrame,
    dependence: pd.DataFrame | None = None,
    *,
    top: int = 12,
    meta: Mapping[str, Any] | None = None,
) -> Figure:
    """Share of assumption sets in which each conclusion holds, and what it depends on.

    Left: one bar per conclusion, its share of sets with the Clopper-Pearson
    interval, the required share as a dashed line, and (a hollow diamond) the
    share judged by the point estimate alone. Right: Spearman's rank
    correlation between each of the ``top`` most influential assumptions and
    each conclusion's effect (positive: the conclusion holds more strongly
    towards the high end of that assumption's range).

    Args:
        conclusions: ``conclusions.csv`` of a robustness experiment.
        dependence: ``dependence.csv`` (omit for the left panel only).
        top: Assumptions shown on the right.
        meta: The experiment's metadata (for the title).

    Returns:
        The figure.
    """
    meta = meta or {}
    n = len(conclusions)
    dims = top_dimensions(dependence, top) if dependence is not None else []
    width = 13.5 if dims else 8.0
    fig = _figure(width, 1.2 + 0.48 * max(n, 3))
    if dims:
        ax, hx = fig.subplots(1, 2, width_ratios=[1.0, 0.18 + 0.085 * len(dims)])
    else:
        ax, hx = fig.subplots(1, 1), None
    samples = meta.get("samples", conclusions["sets"].max() if n else 0)
    runs = meta.get("runs")
    tail = f"{runs} common seeds per set, " if runs else ""
    _suptitle(
        fig,
        f"Conclusions across {samples} assumption sets (Latin hypercube over the plausible ranges)",
        f"{tail}baseline {meta.get('baseline', '')}; a conclusion holds in a set when its claim "
        "holds there (differences: the 95% interval excludes 0 on the claimed side)",
    )
    if n == 0:
        _message(ax, "no conclusion was judged")
        return fig
    y = np.arange(n)[::-1]
    share = conclusions["share"].to_numpy(dtype=float)
    lo = conclusions["share_ci_low"].to_numpy(dtype=float)
    hi = conclusions["share_ci_high"].to_numpy(dtype=float)
    colours = [HOLDS_COLOUR if r else FAILS_COLOUR for r in conclusions["robust"]]
    ax.barh(y, share, color=colours, alpha=0.85, height=0.6)
    ax.errorbar(
        share, y, xerr=[share - lo, hi - share], fmt="none", ecolor="black", capsize=3, lw=1
    )
    ax.scatter(
        conclusions["share_by_mean"],
        y,
        marker="D",
        facecolors="none",
        edgecolors="black",
        s=28,
        zorder=3,
    )
    for yi, r in zip(y, conclusions.itertuples(index=False), strict=True):
        ax.axvline(r.required_share, color=GREY, ls="--", lw=0.8, ymin=0, ymax=1)
        ax.text(1.05, yi, f"{r.holds}/{r.sets}", va="center", fontsize=8)
    ax.set_yticks(y, [_short(t, 80) for t in conclusions["text"]], fontsize=8.5)
    ax.set_xlim(0, 1.16)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.set_xlabel("share of assumption sets in which the conclusion holds")
    ax.grid(axis="x", alpha=0.25)
    fig.legend(
        handles=[
            Patch(color=HOLDS_COLOUR, label="holds in the required share of sets"),
            Patch(color=FAILS_COLOUR, label="does not"),
            Line2D([], [], color="black", lw=1, label="95% Clopper-Pearson interval"),
            Line2D(
                [], [], marker="D", ls="", mfc="none", mec="black", label="share by point estimate"
            ),
            Line2D([], [], color=GREY, ls="--", lw=0.8, label="required share"),
        ],
        loc="outside lower left",
        ncol=5,
        fontsize=7.5,
        frameon=False,
    )
    if hx is None or dependence is None:
        return fig
    ids = list(conclusions["conclusion"])
    grid = (
        dependence[dependence["dimension"].isin(dims)]
        .pivot_table(index="conclusion", columns="dimension", values="spearman_rho", dropna=False)
        .reindex(index=ids, columns=dims)
    )
    values = grid.to_numpy(dtype=float)
    image = hx.imshow(np.ma.masked_invalid(values), cmap=RHO_CMAP, vmin=-1, vmax=1, aspect="auto")
    hx.set_facecolor("#EEEEEE")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if np.isfinite(v) and abs(v) >= 0.3:
                hx.text(
                    j, i, f"{v:+.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if abs(v) > 0.65 else "black",
                )  # fmt: skip
    hx.set_yticks(range(len(ids)), [])
    hx.set_xticks(
        range(len(dims)), [_short(_short_dimension(d), 34) for d in dims], rotation=60,
        ha="right", fontsize=7,
    )  # fmt: skip
    hx.set_title(
        "which assumptions the verdict depends on\n(Spearman rank correlation with the effect; "
        "grey: no variation)",
        fontsize=8.5,
    )
    bar = fig.colorbar(image, ax=hx, shrink=0.8, pad=0.02)
    bar.set_label("rank correlation", fontsize=8)
    return fig
