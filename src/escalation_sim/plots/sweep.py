"""Sweep figures: outcomes against parameters and sensitivity indices."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from escalation_sim.scenario.schema import Scenario

from escalation_sim.plots._style import (
    GREY,
    _axis_label,
    _figure,
    _message,
    _suptitle,
    _title_tail,
    describe_outcome,
    label_colours,
)


def unit_of(outcome: str) -> str:
    """The unit of an outcome column (see :func:`describe_outcome`)."""
    return describe_outcome(outcome)[1]


#: Readable names and units of the scenario fields a sweep varies most, by the
#: path's last part (``weapons.ATACMS.range_km`` -> "ATACMS range (km)").
FIELDS: dict[str, tuple[str, str]] = {
    "range_km": ("range", "km"),
    "max_depth_km": ("maximum depth into Russia", "km"),
    "min_depth_km": ("minimum depth into Russia", "km"),
    "risk_tolerance": ("risk tolerance", "0-1"),
    "start_rung": ("starting rung", "rung"),
    "stock": ("stock", "salvoes"),
    "resupply_per_day": ("resupply", "salvoes/day"),
    "interception_chance": ("interception chance", "0-1"),
    "count": ("units", "units"),
    "counter_fire_window_hours": ("counter-fire window", "hours"),
    "posture": ("posture in force", ""),
    "horizon_days": ("horizon", "days"),
    "climb_threshold": ("climb threshold", "pressure"),
    "level": ("level", ""),
}


def describe_parameter(path: str, scenario: Scenario | None = None) -> str:
    """A swept parameter's dotted path in words, with its unit.

    ``weapons.ATACMS.range_km`` -> ``ATACMS range (km)``;
    ``rules.USA.postures.deep_strike.rules.0.max_depth_km`` -> ``USA rule
    us-deep-military: maximum depth into Russia (km)`` (the rule's id, when the
    scenario is given; its position otherwise); ``actors.RUS.risk_tolerance`` ->
    ``RUS risk tolerance (0-1)``. Unknown paths come back with their parts joined
    by spaces.

    Args:
        path: A dotted path into the resolved scenario, as ``--set`` takes it.
        scenario: The sweep's base scenario, to name rules by id.

    Returns:
        The label.
    """
    parts = path.split(".")
    field = parts[-1]
    text, unit = FIELDS.get(field, (field.replace("_", " "), ""))
    owner = ""
    if parts[0] in ("weapons", "actors", "forces") and len(parts) >= 3:
        owner = parts[1]
    elif parts[0] == "rules" and len(parts) >= 2:
        owner = parts[1]
        if "rules" in parts[2:] and len(parts) >= 6 and parts[4] == "rules":
            rule = f"rule {int(parts[5]) + 1} of posture {parts[3]}"
            if scenario is not None:
                with contextlib.suppress(KeyError, IndexError, ValueError):
                    spec = scenario.rules[parts[1]].postures[parts[3]].rules[int(parts[5])]
                    rule = f"rule {spec.id}"
            owner = f"{parts[1]} {rule}:"
    elif len(parts) > 1:
        owner = " ".join(p.replace("_", " ") for p in parts[:-1])
    label = f"{owner} {text}".strip()
    return f"{label} ({unit})" if unit else label


def _parameter_columns(experiments: pd.DataFrame) -> list[str]:
    return [c for c in experiments.columns if c not in ("point", "replication", "seed")]


def _sweep_groups(
    x_raw: pd.Series, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], list[str] | None]:
    """Positions of runs, centres and groups of outcomes along one parameter.

    Returns ``(x, jitter, centres, groups, categories)``; categories are the tick
    labels of a non-numeric parameter (``None`` for a numeric one).
    """
    numeric = pd.to_numeric(x_raw, errors="coerce")
    if numeric.notna().all():
        x = numeric.to_numpy(dtype=float)
        values = np.unique(x)
        spread = (values.max() - values.min()) if len(values) > 1 else 1.0
        if len(values) <= 25:
            groups = [y[x == v] for v in values]
            return x, rng.uniform(-0.012, 0.012, len(x)) * spread, values, groups, None
        edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)))
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        bins = [b for b in range(len(edges) - 1) if (idx == b).any()]
        centres = np.array([x[idx == b].mean() for b in bins])
        return x, np.zeros(len(x)), centres, [y[idx == b] for b in bins], None
    cats = list(dict.fromkeys(x_raw.astype(str)))
    x = x_raw.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
    groups = [y[x == i] for i in range(len(cats))]
    return x, rng.uniform(-0.08, 0.08, len(x)), np.arange(len(cats), dtype=float), groups, cats


def sweep_outcomes(
    experiments: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    outcome: str | Sequence[str],
    parameters: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    outcome_labels: Mapping[str, str] | None = None,
    by: str | None = None,
    scenario: str | None = None,
    city: str = "Kharkiv",
    title: str | None = None,
    base: Scenario | None = None,
) -> Figure:
    """Outcomes against each varied parameter: one panel per (outcome, parameter).

    Each run is a faint dot; the line is the mean at each parameter value with
    a 95 % confidence band of that mean (for a sampled design with many distinct
    values, the mean within ten quantile bins of the parameter). Parameters with
    text values (e.g. a posture) are drawn as categories.

    Args:
        experiments: ``point``, ``replication``, ``seed`` and one column per parameter.
        outcomes: ``point``, ``replication`` and outcome columns.
        outcome: Outcome column(s) to draw (one row of panels each).
        parameters: Parameters to draw (default: all varied ones).
        labels: Axis labels for parameters (default: :func:`describe_parameter`).
        outcome_labels: Axis labels for outcomes (default: the outcome's description
            and unit, e.g. for a column you derived yourself).
        by: A parameter (of a grid) whose values get a line each instead of a
            panel, to show how two parameters interact.
        scenario: Scenario name for the title.
        city: Name of the target city, for labels.
        title: Override the title.
        base: The sweep's base scenario, to name the rules a parameter path points into.

    Returns:
        The figure (outcomes × parameters panels). Rung outcomes get whole-number
        ticks; shares (0/1 outcomes) and their bands stay within [0, 1].
    """
    outs = [outcome] if isinstance(outcome, str) else list(outcome)
    params = list(parameters) if parameters is not None else _parameter_columns(experiments)
    if by is not None:
        if by not in experiments.columns:
            raise ValueError(f"by={by!r} is not a column of the experiments table")
        if experiments[by].nunique() > 8:
            raise ValueError(
                f"by={by!r} takes {experiments[by].nunique()} values; a line each needs at "
                "most 8 (use it with a grid design)"
            )
        params = [p for p in params if p != by]
    missing = [o for o in outs if o not in outcomes.columns]
    if missing:
        raise ValueError(f"outcomes not in the outcomes table: {missing}")
    if not params:
        raise ValueError("the experiments table has no parameter columns")
    df = experiments.merge(outcomes, on=["point", "replication"], suffixes=("", "_outcome"))
    if by is None:
        by_groups: list[tuple[Any, pd.DataFrame]] = [(None, df)]
        by_colours: dict[Any, Any] = {}
    else:
        by_groups = [(v, part) for v, part in df.groupby(by, sort=True)]
        by_colours = dict(
            zip(
                [v for v, _ in by_groups],
                label_colours([str(v) for v, _ in by_groups]).values(),
                strict=True,
            )
        )
    if not outs:
        # Nothing varied (e.g. a few days' sweep): say so rather than draw no panels.
        fig = _figure(10.0, 3.0)
        _message(fig.subplots(), "No outcome varied across the sweep: nothing to draw.")
        _suptitle(
            fig, title or "Outcomes against the swept parameters" + _title_tail(scenario, None), ""
        )
        return fig
    nrows, ncols = len(outs), len(params)
    fig = _figure(max(8.5, 4.6 * ncols + 0.5), 3.0 * nrows + 1.8)
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    rng = np.random.default_rng(0)
    for r, out in enumerate(outs):
        for c, p in enumerate(params):
            ax = axes[r, c]
            for value, part in by_groups:
                colour = by_colours.get(value, "#0072B2")
                y_all = pd.to_numeric(part[out], errors="coerce").to_numpy(dtype=float)
                ok = ~np.isnan(y_all)
                x, jitter, centres, groups, cats = _sweep_groups(
                    part.loc[ok, p].reset_index(drop=True), y_all[ok], rng
                )
                ax.scatter(x + jitter, y_all[ok], s=8, color=GREY, alpha=0.3, linewidths=0)
                means = np.array([g.mean() for g in groups])
                half = np.array(
                    [
                        1.96 * g.std(ddof=1) / math.sqrt(len(g)) if len(g) > 1 else 0.0
                        for g in groups
                    ]
                )
                low, high = means - half, means + half
                if unit_of(out) == "share of runs":  # a share's interval cannot leave [0, 1]
                    low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
                ax.fill_between(centres, low, high, color=colour, alpha=0.2, lw=0)
                ax.plot(centres, means, color=colour, lw=2, marker="o", ms=4)
            if cats is not None:
                ax.set_xticks(range(len(cats)), cats, fontsize=8)
            ax.set_xlabel((labels or {}).get(p) or describe_parameter(p, base), fontsize=8)
            ax.grid(alpha=0.25)
            if unit_of(out) in ("rungs", "rung"):
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            elif unit_of(out) == "share of runs":
                ax.set_ylim(-0.03, 1.03)
            if c == 0:
                ax.set_ylabel((outcome_labels or {}).get(out) or _axis_label(out, city), fontsize=8)
    handles: list[Any] = [
        Line2D([], [], marker="o", ls="none", color=GREY, alpha=0.5, ms=4, label="one run")
    ]
    if by is None:
        handles += [
            Line2D([], [], color="#0072B2", lw=2, marker="o", ms=4, label="mean"),
            Patch(color="#0072B2", alpha=0.2, label="95 % CI of the mean"),
        ]
    else:
        name = (labels or {}).get(by, by)
        handles += [
            Line2D([], [], color=c, lw=2, marker="o", ms=4, label=f"mean, {name} = {v}")
            for v, c in by_colours.items()
        ]
        handles.append(Patch(color=GREY, alpha=0.3, label="95 % CI of the mean"))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 2 if ncols == 1 else 4),
        fontsize=8,
        frameon=False,
    )
    n_points = experiments["point"].nunique()
    n_reps = experiments["replication"].nunique()
    _suptitle(
        fig,
        title or "Sweep: outcomes against each parameter" + _title_tail(scenario, len(experiments)),
        f"{n_points} parameter points × {n_reps} replications",
    )
    return fig


def sensitivity_bars(
    sensitivity: pd.DataFrame,
    *,
    outcome: str | Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    scenario: str | None = None,
    n_runs: int | None = None,
    city: str = "Kharkiv",
    title: str | None = None,
    base: Scenario | None = None,
) -> Figure:
    """Sensitivity indices as bars: one panel per outcome, grouped by parameter.

    First-order and total indices (or Morris's) of each parameter side by side,
    with SALib's bootstrap interval as whiskers. Second-order rows (``S2``) are left out;
    outcomes whose indices are all zero or missing (an outcome that never
    varied) are named under the title instead of drawn as empty panels.

    Args:
        sensitivity: ``parameter``, ``outcome``, ``method``, ``index``, ``value``,
            ``conf`` (and optionally ``parameter_2``).
        outcome: Outcome(s) to draw (default: all in the table).
        labels: Display names for parameters (default: :func:`describe_parameter`).
        scenario: Scenario name for the title.
        n_runs: Number of runs behind the indices, for the title.
        city: Name of the target city, for labels.
        title: Override the title.
        base: The sweep's base scenario, to name the rules a parameter path points into.

    Returns:
        The figure (one panel per outcome that varied).
    """
    table = sensitivity[sensitivity["index"] != "S2"]
    if "parameter_2" in table:
        table = table[table["parameter_2"].fillna("").astype(str) == ""]
    outs = (
        list(dict.fromkeys(table["outcome"]))
        if outcome is None
        else ([outcome] if isinstance(outcome, str) else list(outcome))
    )
    if not outs:
        raise ValueError("the sensitivity table is empty")
    flat = [
        o
        for o in outs
        if not table.loc[table["outcome"] == o, "value"].fillna(0).to_numpy(dtype=float).any()
    ]
    drawn = [o for o in outs if o not in flat]
    params = list(dict.fromkeys(table["parameter"]))
    indices = list(dict.fromkeys(table["index"]))
    methods = list(dict.fromkeys(table["method"]))
    palette = ["#56B4E9", "#E69F00", "#009E73", "#CC79A7"]
    colours = {ix: palette[i % len(palette)] for i, ix in enumerate(indices)}
    head = title or "Sensitivity of outcomes to the swept parameters" + _title_tail(
        scenario, n_runs
    )
    from escalation_sim.experiment.sweep.sensitivity import CONF_LEVEL  # what made the table

    sub = (
        f"method: {', '.join(methods)}; whiskers: SALib's {100 * CONF_LEVEL:g} % bootstrap "
        "interval of each index"
    )
    if flat:
        sub += f"; no variation (not drawn): {', '.join(flat)}"
    if not drawn:
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, "No outcome varied across the sweep: every index is zero.")
        _suptitle(fig, head, sub)
        return fig
    ncols = min(2, len(drawn))
    nrows = math.ceil(len(drawn) / ncols)
    fig = _figure(
        6.0 * ncols + 2.5, (0.45 * len(params) * max(1, len(indices) / 2) + 1.4) * nrows + 1.2
    )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    height = 0.8 / max(1, len(indices))
    top_first = np.arange(len(params))[::-1]
    for ax, out in zip(axes, drawn, strict=False):
        d = table[table["outcome"] == out]
        for j, ix in enumerate(indices):
            dj = d[d["index"] == ix].set_index("parameter").reindex(params)
            y = top_first - (j - (len(indices) - 1) / 2) * height
            conf = dj["conf"].fillna(0).to_numpy(dtype=float) if "conf" in dj else None
            ax.barh(
                y,
                dj["value"].fillna(0).to_numpy(dtype=float),
                height=height * 0.9,
                xerr=conf,
                color=colours[ix],
                error_kw={"lw": 0.9, "capsize": 2},
                label=ix,
            )
        ax.axvline(0, color=GREY, lw=0.8)
        text = _axis_label(out, city)
        ax.set_title(text[0].upper() + text[1:], loc="left", fontsize=9)
        ax.set_xlabel("sensitivity index", fontsize=8)
        ax.grid(axis="x", alpha=0.25)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(
        top_first, [(labels or {}).get(p) or describe_parameter(p, base) for p in params]
    )
    for ax in axes[::ncols]:
        ax.set_ylabel("parameter", fontsize=8)
    axes[0].legend(fontsize=8, frameon=False, loc="best", title="index", title_fontsize=8)
    for ax in axes[len(drawn) :]:
        ax.set_visible(False)
    _suptitle(fig, head, sub)
    return fig
