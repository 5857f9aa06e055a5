"""Comparison figures: paired differences, rule sets over time, the trade-off."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

if TYPE_CHECKING:
    pass

from escalation_sim.plots._style import (
    GREY,
    LIGHT_GREY,
    _axis_label,
    _date_axis,
    _figure,
    _fmt,
    _message,
    _runs_phrase,
    _suptitle,
    _to_dates,
    better_direction,
    describe_outcome,
    label_colours,
    ladders_from_probability,
)
from escalation_sim.plots.ensemble import (
    _is_rung_series,
    _label_series_panel,
    _reached_rungs,
    _series_panels,
)


def paired_differences(
    comparison: pd.DataFrame,
    *,
    outcomes: Sequence[str] | None = None,
    order: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    city: str = "Kharkiv",
    ncols: int = 3,
    title: str | None = None,
) -> Figure:
    """Paired differences between rule sets on the same seeds, with confidence intervals.

    One panel per outcome (each in its own unit); in each, one row per rule set,
    named by its scenario name: the mean of (rule set − baseline) over paired
    runs, its confidence interval, and the two means it compares. A zero line
    marks "no difference"; the side of the axis that is better (less harm to
    the city, less escalation, more Russian losses; see :data:`BETTER`) is
    shaded and labelled.

    Args:
        comparison: Tidy table (``outcome``, ``baseline``, ``scenario``,
            ``mean_baseline``, ``mean_scenario``, ``mean_diff``, ``ci_low``,
            ``ci_high``, ``ci_level``, ``n``).
        outcomes: Outcomes to draw, in order (default: all in the table).
        order: Rule sets in order (default: as they appear).
        names: Readable name of each rule-set label (e.g. the scenario names of a
            comparison's ``metadata.json``); default: the labels themselves.
        city: Name of the target city, for labels.
        ncols: Panel columns.
        title: Override the title.

    Returns:
        The figure (one panel per outcome).
    """
    outcomes = (
        list(outcomes) if outcomes is not None else list(dict.fromkeys(comparison["outcome"]))
    )
    missing = [o for o in outcomes if o not in set(comparison["outcome"])]
    if missing:
        raise ValueError(f"outcomes not in the comparison table: {missing}")
    scenarios = list(order) if order is not None else list(dict.fromkeys(comparison["scenario"]))
    baselines = list(dict.fromkeys(comparison["baseline"]))
    colours = label_colours([*baselines, *[s for s in scenarios if s not in baselines]])
    nrows = math.ceil(len(outcomes) / ncols)
    ncols = min(ncols, len(outcomes))
    fig = _figure(5.0 * ncols + 1.5, (0.45 * len(scenarios) + 1.5) * nrows + 1.4)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    better: dict[int, str | None] = {}
    for ax, outcome in zip(axes, outcomes, strict=False):
        d = comparison[comparison["outcome"] == outcome].set_index("scenario")
        for i, sc_label in enumerate(scenarios):
            if sc_label not in d.index:
                continue
            row = d.loc[sc_label]
            ax.errorbar(
                row["mean_diff"],
                i,
                xerr=[[row["mean_diff"] - row["ci_low"]], [row["ci_high"] - row["mean_diff"]]],
                fmt="o",
                color=colours[sc_label],
                ms=6,
                capsize=3,
                lw=1.6,
            )
            ax.annotate(
                f"{_fmt(row['mean_baseline'])} → {_fmt(row['mean_scenario'])}",
                (row["mean_diff"], i),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
        ax.axvline(0, color=GREY, lw=1)
        text, unit = describe_outcome(outcome, city=city)
        ax.set_title(text[0].upper() + text[1:], loc="left", fontsize=9)
        better[id(ax)] = better_direction(outcome)
        ax.set_xlabel(
            f"difference vs baseline ({unit})" if unit else "difference vs baseline", fontsize=8
        )
        ax.set_ylim(-0.7, len(scenarios) - 0.3)
        ax.margins(x=0.25)
        span = d[["ci_low", "ci_high", "mean_diff"]].abs().to_numpy(dtype=float)
        if not np.isfinite(span).any() or np.nanmax(span) < 1e-9:
            ax.set_xlim(-1.0, 1.0)  # no difference at all: a readable axis around zero
        ax.grid(axis="x", alpha=0.25)
    readable = {lab: (names or {}).get(lab, lab) for lab in scenarios}
    axes[0].set_yticks(
        range(len(scenarios)), [textwrap.fill(readable[lab], 28) for lab in scenarios]
    )
    axes[0].invert_yaxis()  # the first rule set on top, as in the table
    for ax in axes[: len(outcomes)]:
        _mark_better_side(ax, better.get(id(ax)))
    for ax in axes:
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
    for ax in axes[::ncols]:
        ax.set_ylabel("rule set", fontsize=8)
    for ax in axes[len(outcomes) :]:
        ax.set_visible(False)
    n = comparison["n"].iloc[0] if len(comparison) else 0
    level = comparison["ci_level"].iloc[0] if len(comparison) else 0.95
    base = ", ".join((names or {}).get(b, b) for b in baselines)
    _suptitle(
        fig,
        title or f"Rule sets compared with {base} on the same seeds ({_runs_phrase(int(n))} each)",
        f"points: mean paired difference (rule set − baseline); bars: {level:.0%} confidence "
        "interval, not adjusted for multiple comparisons\ntext: baseline mean → rule-set mean; "
        "shaded: the better side (less harm to the city and less escalation, more Russian losses)",
    )
    return fig


def _mark_better_side(ax: Axes, direction: str | None) -> None:
    """Shade the half of a difference axis that is better, and say so in its corner."""
    if direction is None:
        ax.text(
            0.99,
            0.97,
            "no better direction",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color=GREY,
        )
        return
    lo, hi = ax.get_xlim()
    lower = direction == "lower"
    ax.axvspan(lo if lower else 0, 0 if lower else hi, color="#009E73", alpha=0.07, lw=0, zorder=0)
    ax.text(
        0.01 if lower else 0.99,
        0.97,
        "◀ better" if lower else "better ▶",
        transform=ax.transAxes,
        ha="left" if lower else "right",
        va="top",
        fontsize=7.5,
        color="#007A59",
    )
    ax.set_xlim(lo, hi)


def compare_fan(
    aggregates: Mapping[str, pd.DataFrame],
    *,
    series: Sequence[str] = ("rung.RUS",),
    ladders: Mapping[str, Sequence[str]] | None = None,
    n_runs: int | None = None,
    city: str = "Kharkiv",
    names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Rule sets side by side over time: median and 50 % band of each, one panel per series.

    Args:
        aggregates: Label to tidy ``aggregates`` table (as for :func:`fan_chart`).
        series: Series to draw.
        ladders: Rung names per actor, for rung series.
        n_runs: Runs per rule set, for the title.
        city: Name of the target city, for labels.
        names: Label to the rule set's name in the legend (its scenario's name;
            default: the label).
        title: Override the title.

    Returns:
        The figure (one panel per series).
    """
    labels = list(aggregates)
    colours = label_colours(labels)
    shown = {lab: (names or {}).get(lab, lab) for lab in labels}
    series = list(series)
    nrows, ncols = _series_panels(len(series), None)
    fig = _figure(7.5 * ncols + 1.5, 3.4 * nrows + 1.3)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, s in zip(axes, series, strict=False):
        is_rung = _is_rung_series(s)
        for lab, agg in aggregates.items():
            d = agg[agg["series"] == s].sort_values("step")
            if d.empty:
                continue
            dates = _to_dates(d["date"])
            step = "post" if is_rung else None
            ax.fill_between(
                dates, d["p25"], d["p75"], color=colours[lab], alpha=0.25, lw=0, step=step
            )
            ax.plot(dates, d["mean"], color=colours[lab], lw=1.0, ls="--")
            if is_rung:
                ax.step(dates, d["p50"], where="post", color=colours[lab], lw=2, label=shown[lab])
            else:
                ax.plot(dates, d["p50"], color=colours[lab], lw=2, label=shown[lab])
        _label_series_panel(ax, s, ladders, city)
        ax.set_xlabel("date")
        _date_axis(ax)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=colours[lab], lw=2, label=shown[lab]) for lab in labels]
    handles += [
        Line2D([], [], color=GREY, lw=1, ls="--", label="mean"),
        Patch(color=GREY, alpha=0.3, label="50 % band"),
    ]
    axes[0].legend(handles=handles, fontsize=7.5, frameon=False, loc="upper left")
    _suptitle(
        fig,
        title
        or f"Rule sets over time — {len(labels)} rule sets"
        + (f" ({_runs_phrase(n_runs)} each)" if n_runs else ""),
        "solid: median; shaded: middle 50 % of runs; dashed: mean",
    )
    return fig


def compare_reach(
    rung_probability: Mapping[str, pd.DataFrame],
    *,
    actor: str = "RUS",
    rungs: Sequence[int] | None = None,
    n_runs: int | None = None,
    title: str | None = None,
) -> Figure:
    """Probability of reaching each rung by each day, rule sets side by side.

    Args:
        rung_probability: Label to tidy ``rung_probability`` table.
        actor: Whose ladder.
        rungs: Rungs to draw (default: every rung above the start that some rule set reached).
        n_runs: Runs per rule set, for the title.
        title: Override the title.

    Returns:
        The figure (one panel per rung).
    """
    labels = list(rung_probability)
    colours = label_colours(labels)
    names: list[str] = []
    reached: set[int] = set()
    start = 0
    for prob in rung_probability.values():
        names = ladders_from_probability(prob[prob["actor"] == actor]).get(actor, names)
        r, start = _reached_rungs(prob, actor)
        reached |= set(r)
    rungs = list(rungs) if rungs is not None else sorted(reached)
    head = title or f"{actor}: probability of reaching each rung — {len(labels)} rule sets" + (
        f" ({_runs_phrase(n_runs)} each)" if n_runs else ""
    )
    if not rungs:
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, f"{actor} climbed above its starting rung in no run of any rule set.")
        _suptitle(fig, head)
        return fig
    nrows, ncols = _series_panels(len(rungs), None if len(rungs) > 1 else 1)
    fig = _figure(6.5 * ncols + 1.0, 3.0 * nrows + 1.3)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, k in zip(axes, rungs, strict=False):
        for lab, prob in rung_probability.items():
            d = prob[(prob["actor"] == actor) & (prob["rung"] == k)].sort_values("step")
            if d.empty:
                continue
            ax.step(
                _to_dates(d["date"]),
                d["probability"],
                where="post",
                color=colours[lab],
                lw=1.8,
                label=lab,
            )
        ax.set_title(
            f"{k} {names[k]} (or higher)" if k < len(names) else f"rung {k}", loc="left", fontsize=9
        )
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("share of runs", fontsize=8)
        ax.set_xlabel("date")
        ax.grid(alpha=0.25)
        _date_axis(ax)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[len(rungs) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8, frameon=False, loc="upper left", title="rule set", title_fontsize=8)
    _suptitle(fig, head, f"starting rung: {start} {names[start] if start < len(names) else ''}")
    return fig


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def tradeoff(
    runs: Mapping[str, pd.DataFrame],
    *,
    outcome: str = "fire_on_city",
    actor: str = "RUS",
    rungs: Sequence[int] | None = None,
    ladder: Sequence[str] | None = None,
    city: str = "Kharkiv",
    names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Defence against escalation risk: one point per rule set, one panel per rung.

    The horizontal axis is the share of runs in which the actor reached the
    rung (or higher) at some point (95 % Wilson interval); the vertical axis
    the mean of an outcome per run (95 % interval of the mean). Rule sets are
    joined in the order given, so a frontier of permissiveness reads left to
    right: how much defence of the city each step buys per unit of risk.

    Args:
        runs: Label to ``runs`` table (with ``peak_rung.<actor>`` and the outcome).
        outcome: The defence outcome (default: fire landing on the city, lower is better).
        actor: Whose escalation.
        rungs: Rungs whose risk to show (default: up to three lowest rungs above the
            start that some run reached).
        ladder: Rung names of the actor's ladder, for labels.
        city: Name of the target city, for labels.
        names: Label to the rule set's name beside its point (its scenario's name;
            default: the label).
        title: Override the title.

    Returns:
        The figure (one panel per rung).
    """
    labels = list(runs)
    shown = {lab: (names or {}).get(lab, lab) for lab in labels}
    peak = f"peak_rung.{actor}"
    for lab in labels:
        for col in (peak, outcome):
            if col not in runs[lab]:
                raise ValueError(f"the runs table of {lab!r} has no {col!r} column")
    if rungs is None:
        seen = sorted({int(v) for r in runs.values() for v in r[peak].dropna()})
        floor = min(int(r[peak].min()) for r in runs.values())
        rungs = [k for k in seen if k > floor][:3] or seen[-1:]
    colours = label_colours(labels)
    fig = _figure(5.2 * len(rungs) + 1.0, 4.8)
    axes = np.atleast_1d(fig.subplots(1, len(rungs), sharey=True, squeeze=False)).ravel()
    for ax, k in zip(axes, rungs, strict=False):
        xs, ys = [], []
        for lab in labels:
            r = runs[lab]
            reached = r[peak].to_numpy(dtype=float) >= k
            n = len(reached)
            x = float(reached.mean()) if n else math.nan
            lo, hi = _wilson(int(reached.sum()), n)
            vals = r[outcome].to_numpy(dtype=float)
            vals = vals[~np.isnan(vals)]
            y = float(vals.mean()) if len(vals) else math.nan
            half = 1.96 * vals.std(ddof=1) / math.sqrt(len(vals)) if len(vals) > 1 else 0.0
            ax.errorbar(
                x,
                y,
                # max(0, ...): at a share of 0 or 1 the Wilson bound can miss it by rounding.
                xerr=[[max(0.0, x - lo)], [max(0.0, hi - x)]],
                yerr=half,
                fmt="o",
                ms=8,
                color=colours[lab],
                capsize=3,
                label=shown[lab],
            )
            # Right of the point, or left of it in the right half, so a long name stays inside.
            right = not x > 0.5
            ax.annotate(
                shown[lab],
                (x, y),
                xytext=(7 if right else -7, 7),
                textcoords="offset points",
                ha="left" if right else "right",
                fontsize=8,
            )
            xs.append(x)
            ys.append(y)
        ax.plot(xs, ys, color=LIGHT_GREY, lw=1, ls="--", zorder=0)
        name = f"{k} {ladder[k]}" if ladder and k < len(ladder) else f"rung {k}"
        ax.set_title(f"Risk: {actor} reaches {name}", loc="left", fontsize=9)
        ax.set_xlabel(f"share of runs in which {actor} reached it or higher", fontsize=8)
        ax.set_xlim(-0.05, 1.05)
        ax.grid(alpha=0.25)
    axes[0].set_ylabel(f"{_axis_label(outcome, city)} per run, mean", fontsize=8)
    n_runs = sorted({len(r) for r in runs.values()})
    each = f" ({_runs_phrase(n_runs[0])} each)" if len(n_runs) == 1 else ""
    _suptitle(
        fig,
        title or f"What each rule set buys against what it risks — {len(labels)} rule sets{each}",
        "bars: 95 % intervals (Wilson for shares, normal for means); dashed: rule sets in the "
        "order given",
    )
    return fig


# --------------------------------------------------------------------------- sweeps
