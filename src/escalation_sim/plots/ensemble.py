"""Ensemble figures: fan charts, probability of reaching each rung, survival curves."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
    pass

from escalation_sim.plots._style import (
    _date_axis,
    _figure,
    _message_figure,
    _rung_axis,
    _rung_style,
    _runs_phrase,
    _suptitle,
    _title_tail,
    _to_dates,
    actor_colour,
    describe_outcome,
    label_colours,
    ladders_from_probability,
    rung_colours,
)


def _series_panels(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or (2 if n > 3 else 1)
    return math.ceil(n / ncols), ncols


def _is_rung_series(series: str) -> bool:
    return series.startswith("rung.")


def _label_series_panel(
    ax: Axes, series: str, ladders: Mapping[str, Sequence[str]] | None, city: str
) -> None:
    """Title and y axis of one series panel: the actor's own rung names, or the outcome in words."""
    if _is_rung_series(series):
        actor = series.split(".", 1)[1]
        names = (ladders or {}).get(actor)
        if names:
            _rung_axis(ax, names, fontsize=7)
        else:
            ax.set_ylabel("rung")
        ax.set_title(f"{actor}: rung on its ladder", loc="left", fontsize=9)
    else:
        text, unit = describe_outcome(series, city=city)
        ax.set_ylabel(unit or series, fontsize=8)
        ax.set_title(text[0].upper() + text[1:], loc="left", fontsize=9)


def _default_rung_series(
    series: Sequence[str], ladders: Mapping[str, Sequence[str]] | None
) -> list[str]:
    rung = [s for s in series if _is_rung_series(s)]
    if ladders and "rung.RUS" in rung:
        rung.remove("rung.RUS")
        rung.insert(0, "rung.RUS")
    return rung


def fan_chart(
    aggregates: pd.DataFrame,
    *,
    series: Sequence[str] | None = None,
    ladders: Mapping[str, Sequence[str]] | None = None,
    scenario: str | None = None,
    n_runs: int | None = None,
    ncols: int | None = None,
    city: str = "Kharkiv",
    title: str | None = None,
) -> Figure:
    """Ensemble fan chart: median with 50 % and 90 % bands over time, one panel per series.

    Rung series (``rung.<actor>``) are drawn as steps on that actor's own ladder,
    rung names on the axis, in the actor's colour; other series as lines with
    their unit.

    Args:
        aggregates: Tidy table (``step``, ``day``, ``date``, ``series``, ``mean``,
            ``p5``, ``p25``, ``p50``, ``p75``, ``p95``).
        series: Series to draw (default: every ``rung.<actor>`` series, Russia first).
        ladders: Rung names per actor (see :func:`ladders_of`,
            :func:`ladders_from_probability`); without them rungs are numbered.
        scenario: Scenario name for the title.
        n_runs: Number of runs for the title.
        ncols: Panel columns (default: two when there are more than three panels).
        city: Name of the target city, for labels.
        title: Override the title.

    Returns:
        The figure (one panel per series).
    """
    available = list(dict.fromkeys(aggregates["series"]))
    series = (
        list(series)
        if series is not None
        else _default_rung_series(available, ladders or {"RUS": []})
    )
    missing = [s for s in series if s not in available]
    if missing:
        raise ValueError(f"series not in the aggregates table: {missing}; available: {available}")
    if not series:
        raise ValueError("no series to draw: pass series=[...] (e.g. 'rung.RUS', 'fire_on_city')")
    nrows, ncols = _series_panels(len(series), ncols)

    def rows_of(s: str) -> float:
        if _is_rung_series(s):
            names = (ladders or {}).get(s.split(".", 1)[1])
            return max(2.2, 0.28 * len(names)) if names else 2.4
        return 2.4

    heights = [max(rows_of(s) for s in series[r * ncols : (r + 1) * ncols]) for r in range(nrows)]
    fig = _figure(6.8 * ncols + (1.5 if ladders else 0), sum(heights) + 1.3)
    axes = np.atleast_1d(
        fig.subplots(
            nrows, ncols, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights}
        )
    ).ravel()
    below_start: list[str] = []
    for ax, s in zip(axes, series, strict=False):
        d = aggregates[aggregates["series"] == s].sort_values("step")
        if _is_rung_series(s):
            d = _whole_rungs(d)
            if (d["p5"] < d["p50"].iloc[0]).any():
                below_start.append(s.split(".", 1)[1])
        dates = _to_dates(d["date"])
        actor = s.split(".", 1)[1] if "." in s else None
        colour = (
            actor_colour(actor) if actor and (s.startswith(("rung.", "pressure."))) else "#000000"
        )
        step = "post" if _is_rung_series(s) else None
        ax.fill_between(
            dates, d["p5"], d["p95"], color=colour, alpha=0.14, lw=0, step=step, label="90 % band"
        )
        ax.fill_between(
            dates, d["p25"], d["p75"], color=colour, alpha=0.32, lw=0, step=step, label="50 % band"
        )
        if step:
            ax.step(dates, d["p50"], where="post", color=colour, lw=2, label="median")
        else:
            ax.plot(dates, d["p50"], color=colour, lw=2, label="median")
        ax.plot(dates, d["mean"], color=colour, lw=1, ls="--", label="mean")
        _label_series_panel(ax, s, ladders, city)
        _date_axis(ax)
        ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=2)
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(series) - ncols) : len(series)]:
        ax.set_xlabel("date")
        ax.xaxis.set_tick_params(labelbottom=True)
    rungs_only = all(_is_rung_series(s) for s in series)
    what = "Escalation fan chart" if rungs_only else "Fan chart"
    sub = "median, 50 % and 90 % of runs at each date; dashed: mean"
    if any(_is_rung_series(s) for s in series):
        sub += "; rung bands in whole rungs"
    if below_start:
        sub += (
            f"; {', '.join(below_start)}: some runs stepped below the starting rung (de-escalation)"
        )
    _suptitle(fig, title or what + _title_tail(scenario, n_runs), sub)
    return fig


def _whole_rungs(d: pd.DataFrame) -> pd.DataFrame:
    """Percentiles of a rung series rounded to whole rungs.

    A run stands on a rung, never between two; interpolated percentiles (a 5th
    percentile of 1.95 when two runs in forty stepped down for a day) would draw
    bands through rungs no run stood on, and slivers below the start that are
    artefacts of the interpolation.
    """
    d = d.copy()
    for col in ("p5", "p25", "p50", "p75", "p95"):
        d[col] = np.round(d[col].to_numpy(dtype=float))
    return d


def _reached_rungs(prob: pd.DataFrame, actor: str) -> tuple[list[int], int]:
    """Rungs above the actor's start that some run reached, and the start rung."""
    d = prob[prob["actor"] == actor]
    first = d[d["step"] == d["step"].min()]
    start = int(first.loc[first["probability"] >= 1.0 - 1e-12, "rung"].max()) if len(first) else 0
    peak = d.groupby("rung")["probability"].max()
    reached = [int(k) for k, p in peak.items() if k > start and p > 0]
    return reached, start


def reach_probability(
    rung_probability: pd.DataFrame,
    *,
    actors: Sequence[str] | None = None,
    scenario: str | None = None,
    n_runs: int | None = None,
    title: str | None = None,
) -> Figure:
    """Probability of having reached each rung (or higher) by each day, per actor.

    One panel per actor that climbed above its starting rung in some run; one
    curve per rung reached, coloured low to high. Actors that never climbed are
    named under the title rather than drawn as empty panels.

    Args:
        rung_probability: Tidy table (``actor``, ``rung``, ``rung_name``, ``step``,
            ``day``, ``date``, ``probability``).
        actors: Actors to consider (default: all in the table, Russia first).
        scenario: Scenario name for the title.
        n_runs: Number of runs for the title.
        title: Override the title.

    Returns:
        The figure (one panel per actor that climbed).
    """
    ladders = ladders_from_probability(rung_probability)
    actors = list(actors) if actors is not None else list(ladders)
    if "RUS" in actors:
        actors.remove("RUS")
        actors.insert(0, "RUS")
    drawn = [a for a in actors if _reached_rungs(rung_probability, a)[0]]
    never = [a for a in actors if a not in drawn]
    head = title or "Probability of reaching each rung by each day" + _title_tail(scenario, n_runs)
    sub = "share of runs on that rung or higher by the date"
    if never:
        sub += f"; never climbed above their starting rung: {', '.join(never)}"
    if not drawn:
        return _message_figure("No actor climbed above its starting rung in any run.", head, sub)
    nrows, ncols = _series_panels(len(drawn), None)
    fig = _figure(7.2 * ncols, 2.9 * nrows + 1.2)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, actor in zip(axes, drawn, strict=False):
        reached, start = _reached_rungs(rung_probability, actor)
        names = ladders[actor]
        colours = rung_colours(reached)
        d = rung_probability[rung_probability["actor"] == actor]
        for k in reached:
            dk = d[d["rung"] == k].sort_values("step")
            ax.step(
                _to_dates(dk["date"]),
                dk["probability"],
                where="post",
                color=colours[k],
                ls=_rung_style(reached, k),
                lw=1.8,
                label=f"{k} {names[k]}",
            )
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{actor} (starts on {start} {names[start]})", loc="left", fontsize=9)
        ax.set_ylabel("share of runs", fontsize=8)
        ax.grid(alpha=0.25)
        ax.legend(
            fontsize=7, frameon=False, loc="upper left", title="rung or higher", title_fontsize=7
        )
        _date_axis(ax)
    for ax in axes[len(drawn) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(drawn) - ncols) : len(drawn)]:
        ax.set_xlabel("date")
        ax.xaxis.set_tick_params(labelbottom=True)
    _suptitle(fig, head, sub)
    return fig


def reach_heatmap(
    rung_probability: pd.DataFrame,
    *,
    actor: str = "RUS",
    scenario: str | None = None,
    n_runs: int | None = None,
    title: str | None = None,
) -> Figure:
    """Heatmap of the share of runs on each rung or higher, by date, for one actor.

    Only rungs that carry information are drawn: a rung every run stood on (or
    above) from the start is always 100 %, a rung no run reached always 0 %;
    the subtitle names both instead of spending rows on them.

    Args:
        rung_probability: Tidy table (``actor``, ``rung``, ``rung_name``, ``step``,
            ``day``, ``date``, ``probability``).
        actor: The actor whose ladder to show.
        scenario: Scenario name for the title.
        n_runs: Number of runs for the title.
        title: Override the title.

    Returns:
        The figure (one panel and a colour bar).
    """
    d = rung_probability[rung_probability["actor"] == actor]
    if d.empty:
        raise ValueError(f"no rows for actor {actor!r} in the rung_probability table")
    names = ladders_from_probability(d)[actor]
    grid = d.pivot_table(index="rung", columns="step", values="probability").sort_index()
    grid = grid.reindex(range(len(names))).fillna(0.0)
    certain = [int(k) for k in grid.index if (grid.loc[k] >= 1.0 - 1e-12).all()]
    never = [int(k) for k in grid.index if (grid.loc[k] <= 1e-12).all()]
    shown = [int(k) for k in grid.index if k not in certain and k not in never]
    head = title or f"{actor}: probability of reaching each rung by each day" + _title_tail(
        scenario, n_runs
    )
    notes = []
    if certain:
        top = max(certain)
        notes.append(f"every run stands on {top} {names[top]} or higher throughout")
    if never:
        low = min(never)
        notes.append(f"no run reached {low} {names[low]} or higher")
    sub = "; ".join(notes) or None
    if not shown:
        return _message_figure(f"{actor} never left its starting rung in any run.", head, sub)
    dates = pd.to_datetime(d.drop_duplicates("step").sort_values("step")["date"])
    step_len = dates.diff().median() if len(dates) > 1 else pd.Timedelta(days=1)
    edges = mdates.date2num([*list(dates - step_len / 2), dates.iloc[-1] + step_len / 2])
    fig = _figure(12.0, 1.9 + 0.42 * len(shown))
    ax = fig.subplots()
    mesh = ax.pcolormesh(
        edges,
        np.arange(len(shown) + 1) - 0.5,
        grid.loc[shown].to_numpy(),
        cmap="cividis",
        vmin=0.0,
        vmax=1.0,
        shading="flat",
    )
    ax.xaxis_date()
    ax.set_yticks(range(len(shown)), [f"{k} {names[k]}" for k in shown], fontsize=8)
    ax.set_ylim(-0.5, len(shown) - 0.5)
    ax.set_ylabel("rung (or higher)", fontsize=8)
    ax.grid(False)
    ax.set_xlabel("date")
    _date_axis(ax)
    bar = fig.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label("share of runs on this rung or higher")
    _suptitle(fig, head, sub)
    return fig


def _survival(first_day: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of runs not yet on a rung by each day, with a pointwise 95 % Wilson interval."""
    n = len(first_day)
    reached = np.where(np.isnan(first_day), np.inf, first_day)
    surv = (reached[None, :] > days[:, None]).mean(axis=1)
    z = 1.96
    centre = (surv + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(surv * (1 - surv) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return surv, np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def survival_curves(
    runs: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    actor: str = "RUS",
    rungs: Sequence[int] | None = None,
    ladder: Sequence[str] | None = None,
    horizon_days: float | None = None,
    start_date: dt.date | str | None = None,
    scenario: str | None = None,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Time-to-threshold survival: the share of runs that have not yet reached a rung, by day.

    From the ``first_day_rung.<actor>.<k>`` columns of a ``runs`` table (NaN:
    never reached; such runs count as surviving to the horizon). Shaded: a
    pointwise 95 % Wilson interval.

    * One ``runs`` table: one panel, one curve per rung.
    * ``{label: runs table}`` (a comparison): one panel per rung side by side, one
      curve per label; each label's 95 % interval is drawn as two thin lines of its
      colour (overlapping shaded bands of several rule sets would mix into mud).

    Args:
        runs: A ``runs`` table or a mapping of label to ``runs`` table.
        actor: Whose ladder.
        rungs: Rungs to draw (default: every rung some run reached after day 0).
        ladder: Rung names of the actor's ladder, for labels.
        horizon_days: Last day of the runs (default: the latest first day seen).
        start_date: Date of day 0; with it the time axis shows dates.
        scenario: Scenario name for the title.
        names: Readable name of each label, for the legend (default: the labels).
        title: Override the title.

    Returns:
        The figure.
    """
    by_label = {"": runs} if isinstance(runs, pd.DataFrame) else dict(runs)
    prefix = f"first_day_rung.{actor}."
    cols = sorted(
        {c for r in by_label.values() for c in r.columns if c.startswith(prefix)},
        key=lambda c: int(c.rsplit(".", 1)[1]),
    )
    if not cols:
        raise ValueError(f"the runs table has no {prefix}<k> columns")

    def reached_after_start(c: str) -> bool:
        return any(((r[c] > 0) & r[c].notna()).any() for r in by_label.values() if c in r)

    if rungs is None:
        rungs = [int(c.rsplit(".", 1)[1]) for c in cols if reached_after_start(c)]
    horizon = horizon_days
    if horizon is None:
        seen = [
            float(r[c].max())
            for r in by_label.values()
            for c in cols
            if c in r and r[c].notna().any()
        ]
        horizon = max(seen) if seen else 1.0
    days = np.arange(0.0, float(horizon) + 1.0)
    x: Any = days
    if start_date is not None:
        x = (pd.Timestamp(start_date) + pd.to_timedelta(days, unit="D")).to_numpy()
    name_of = (lambda k: f"{k} {ladder[k]}") if ladder else (lambda k: f"rung {k}")
    single = list(by_label) == [""]
    n_runs = {lab: len(r) for lab, r in by_label.items()}
    if single:
        head = title or f"{actor}: time to reach each rung" + _title_tail(scenario, n_runs[""])
    else:
        sizes = sorted(set(n_runs.values()))
        each = f" ({_runs_phrase(sizes[0])} each)" if len(sizes) == 1 else ""
        head = title or f"{actor}: time to reach each rung — {len(by_label)} rule sets{each}"
    sub = "share of runs not yet on the rung (or higher) by each date; shaded: 95 % interval"
    if not rungs:
        return _message_figure(f"{actor} climbed no rung after the start in any run.", head, sub)
    if single:
        fig = _figure(11.0, 4.8)
        axes = [fig.subplots()]
        runs_df = by_label[""]
        colours = rung_colours(rungs)
        for k in rungs:
            s, lo, hi = _survival(runs_df[f"{prefix}{k}"].to_numpy(dtype=float), days)
            axes[0].fill_between(x, lo, hi, step="post", color=colours[k], alpha=0.15, lw=0)
            axes[0].step(
                x,
                s,
                where="post",
                color=colours[k],
                ls=_rung_style(rungs, k),
                lw=1.8,
                label=name_of(k),
            )
        axes[0].legend(
            fontsize=8, frameon=False, loc="lower left", title="rung (or higher)", title_fontsize=8
        )
    else:
        ncols = min(3, len(rungs))
        nrows = math.ceil(len(rungs) / ncols)
        fig = _figure(5.2 * ncols + 0.5, 3.6 * nrows + 1.6)
        axes = list(
            np.atleast_1d(
                fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
            ).ravel()
        )
        colours = label_colours(list(by_label))
        for ax, k in zip(axes, rungs, strict=False):
            for lab, r in by_label.items():
                col = f"{prefix}{k}"
                vals = r[col].to_numpy(dtype=float) if col in r else np.full(len(r), np.nan)
                s, lo, hi = _survival(vals, days)
                for bound in (lo, hi):
                    ax.step(x, bound, where="post", color=colours[lab], lw=0.7, ls=":")
                ax.step(
                    x,
                    s,
                    where="post",
                    color=colours[lab],
                    lw=2.0,
                    label=(names or {}).get(lab, lab),
                )
            ax.set_title(name_of(k), loc="left", fontsize=9)
        for ax in axes[len(rungs) :]:
            ax.set_visible(False)
        fig.legend(
            *axes[0].get_legend_handles_labels(),
            loc="outside lower center",
            ncols=min(3, len(by_label)),
            fontsize=8,
            frameon=False,
            title="rule set",
            title_fontsize=8,
        )
        sub = (
            "share of runs not yet on the rung (or higher) by each date; dotted: 95 % interval "
            "of each rule set"
        )
        axes = axes[: len(rungs)]
    for ax in axes:
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("share of runs not yet there", fontsize=8)
        ax.grid(alpha=0.25)
        if start_date is not None:
            _date_axis(ax)
            ax.set_xlabel("date")
        else:
            ax.set_xlabel("day of the run")
        ax.xaxis.set_tick_params(labelbottom=True)
    _suptitle(fig, head, sub)
    return fig


# --------------------------------------------------------------------------- comparisons
