"""Figures of one run: the escalation curve and a day-by-day timeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from escalation_sim.results import RunResult

from escalation_sim.plots._style import (
    GREY,
    LIGHT_GREY,
    _city_name,
    _date_axis,
    _figure,
    _ladder_groups,
    _legend_outside,
    _nonzero_columns,
    _rung_axis,
    _russia,
    _short,
    _start_postures,
    _suptitle,
    _to_dates,
    actor_colour,
)


def escalation_curve(
    result: RunResult, *, actors: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """Each actor's rung over time as steps, with the run's key events marked.

    One panel per ladder (Russia's, the Western suppliers', Ukraine's: each
    actor climbs its own side's ladder, named on the axis), then Russia's
    escalation pressure against the threshold of its next rung, then the
    cumulative strikes inside Russia by supplier. Rule changes are dashed
    vertical lines across all panels; every move on a ladder is a marker
    (▲ climb, ▼ descent); each new peak of Russia's is labelled with the main
    cause of its pressure; each supplier's first strike inside Russia is a dot.

    Args:
        result: One run.
        actors: Actors to draw (default: all).
        title: Override the title.

    Returns:
        The figure (``2 + number of ladders`` panels sharing a date axis).
    """
    ts = result.timeseries
    sc = result.scenario
    actors = list(actors or sc.actors)
    russia = _russia(sc)
    groups = _ladder_groups(sc, actors)
    dates = _to_dates(ts["date"])
    start = pd.Timestamp(sc.start_date)
    heights = [max(1.3, 0.32 * len(ladder.rungs)) for ladder, _ in groups] + [1.4, 1.4]
    fig = _figure(12.0, sum(heights) + 1.6)
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    decisions = [e for e in result.events if e["kind"] == "decision"]
    changes: dict[float, list[dict[str, Any]]] = {}
    for ev in result.events:
        if ev["kind"] == "rule_change":
            changes.setdefault(float(ev["day"]), []).append(ev)

    for ax, (ladder, members) in zip(axes, groups, strict=False):
        names = [r.name for r in ladder.rungs]
        n = len(members)
        for i, aid in enumerate(members):
            offset = (i - (n - 1) / 2) * 0.08
            colour = actor_colour(aid)
            ax.step(
                dates,
                ts[f"rung.{aid}"] + offset,
                where="post",
                color=colour,
                lw=2.2 if aid == russia else 1.6,
                label=f"{sc.actors[aid].name} ({aid})",
            )
            peak = int(ts[f"rung.{aid}"].iloc[0])
            for ev in decisions:
                if ev["actor"] != aid:
                    continue
                when = start + pd.Timedelta(days=ev["day"])
                up = ev["to_rung"] > ev["from_rung"]
                moved = ev["to_rung"] != ev["from_rung"]
                ax.plot(
                    [when],
                    [ev["to_rung"] + offset],
                    marker=("^" if up else "v") if moved else "o",
                    ms=7 if moved else 3.5,
                    color=colour,
                    mec="white",
                    mew=0.8,
                    ls="none",
                    zorder=4,
                )
                if aid == russia and up and ev["to_rung"] > peak:
                    peak = ev["to_rung"]
                    causes = ev.get("causes") or []
                    triggers = ev.get("triggers") or []
                    why = (
                        _short(triggers[-1])
                        if triggers
                        else f"{_short(causes[0]['cause'])} ({causes[0]['share']:.0%})"
                        if causes
                        else "no named cause"
                    )
                    if ev.get("option_label"):
                        why = f"{_short(ev['option_label'], 40)} after {_short(why, 50)}"
                    late = ev["day"] > 0.62 * float(ts["day"].iloc[-1])
                    ax.annotate(
                        f"day {ev['day']:g}: {why}",
                        (when, ev["to_rung"] + offset),
                        xytext=(-8 if late else 8, 7),
                        textcoords="offset points",
                        ha="right" if late else "left",
                        fontsize=7,
                        color=colour,
                        bbox={
                            "boxstyle": "round,pad=0.2",
                            "fc": "white",
                            "ec": "none",
                            "alpha": 0.8,
                        },
                    )
        _rung_axis(ax, names)
        ax.set_title(f"{ladder.name}: {', '.join(members)}", loc="left", fontsize=9)
        handles = ax.get_legend_handles_labels()[0]
        handles += [
            Line2D([], [], marker="^", color=GREY, ls="none", label="climb"),
            Line2D([], [], marker="v", color=GREY, ls="none", label="descent"),
            Line2D([], [], marker="o", ms=3.5, color=GREY, ls="none", label="act, no move"),
        ]
        if changes and ax is axes[0]:
            handles.append(
                Line2D([], [], ls="--", color=GREY, label="rule change\n(supplier's colour)")
            )
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )

    # Russia's pressure against the next rung's threshold.
    axp = axes[len(groups)]
    rladder = sc.ladder_for(russia)
    rung_now = ts[f"rung.{russia}"].astype(int)
    top = len(rladder.rungs) - 1
    thresholds = [rladder.rungs[k + 1].climb_threshold if k < top else np.nan for k in rung_now]
    axp.plot(
        dates,
        ts[f"pressure.{russia}"],
        color=actor_colour(russia),
        lw=1.5,
        label=f"{russia} escalation pressure",
    )
    axp.step(
        dates,
        thresholds,
        where="post",
        color=GREY,
        ls=":",
        lw=1.3,
        label="threshold of its next rung",
    )
    axp.set_ylabel("pressure (index)", fontsize=8)
    axp.set_ylim(bottom=0)
    axp.set_title(
        f"{sc.actors[russia].name}'s escalation pressure, and each side's cumulative "
        "escalation score (Rivera et al. 2024)",
        loc="left",
        fontsize=9,
    )
    score_cols = [f"score.{a}" for a in actors if f"score.{a}" in ts]
    if score_cols:
        axq = axp.twinx()
        west = [c for c in score_cols if sc.actors[c.split(".", 1)[1]].side == "west"]
        lines = [(f"score.{russia}", [f"score.{russia}"], actor_colour(russia), russia)]
        if west:
            lines.append(("west", west, GREY, "suppliers (sum)"))
        for _, cols, colour, name in lines:
            cols = [c for c in cols if c in ts]
            if cols:
                cum = ts[cols].sum(axis=1).cumsum()
                axq.step(
                    dates,
                    cum,
                    where="post",
                    color=colour,
                    lw=1.1,
                    ls="-.",
                    label=f"{name}: cumulative score",
                )
        axq.set_ylabel("score (cumulative)", fontsize=8)
        axq.set_ylim(bottom=0)
        axq.tick_params(labelsize=7)
        h1, l1 = axp.get_legend_handles_labels()
        h2, l2 = axq.get_legend_handles_labels()
        axp.legend(
            h1 + h2,
            l1 + l2,
            loc="upper left",
            bbox_to_anchor=(1.06, 1.0),
            fontsize=8,
            frameon=False,
        )
    else:
        _legend_outside(axp)

    # Cumulative strikes inside Russia by supplier, first strikes marked.
    axs = axes[-1]
    cols = _nonzero_columns(ts, "strikes_in_russia.supplier.")
    firsts = result.summary.get("first_strike_in_russia_day", {})
    for col in cols:
        sup = col.rsplit(".", 1)[1]
        cum = ts[col].cumsum()
        axs.step(dates, cum, where="post", color=actor_colour(sup), lw=1.6, label=sup)
        if sup in firsts:
            when = start + pd.Timedelta(days=firsts[sup])
            axs.plot([when], [0], marker="o", ms=6, color=actor_colour(sup), mec="white", zorder=4)
    if cols:
        first_text = ", ".join(
            f"{s} day {d:g}" for s, d in sorted(firsts.items(), key=lambda kv: kv[1])
        )
        axs.text(
            0.01,
            0.95,
            f"first strike inside Russia (●): {first_text}",
            transform=axs.transAxes,
            fontsize=7,
            va="top",
        )
        axs.set_ylim(0, max(float(ts[c].sum()) for c in cols) * 1.3)
    else:
        axs.text(
            0.01, 0.8, "no strike inside Russia in this run", transform=axs.transAxes, fontsize=8
        )
    axs.set_ylabel("strikes (cumulative)", fontsize=8)
    axs.set_title("Strikes inside Russia by supplier of the weapon", loc="left", fontsize=9)
    _legend_outside(axs, ncols=1)
    axs.set_xlabel("date")
    _date_axis(axs)

    for day, evs in changes.items():
        when = start + pd.Timedelta(days=day)
        for ax in axes:
            for ev in evs:
                ax.axvline(when, color=actor_colour(ev["actor"]), ls="--", lw=1.0, alpha=0.8)
        label = " · ".join(f"{ev['actor']} → {ev['to_posture']}" for ev in evs)
        axes[0].annotate(
            label,
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-2, -3),
            textcoords="offset points",
            rotation=90,
            fontsize=7,
            ha="right",
            va="top",
            color=actor_colour(evs[0]["actor"]),
        )

    postures = _start_postures(ts)
    rules = ", ".join(f"{s} {p}" for s, p in postures.items())
    _suptitle(
        fig,
        title or f"Escalation curve — {sc.name} (1 run, seed {result.seed})",
        f"{len(ts) - 1} steps from {sc.start_date:%d %b %Y}; rules at start: {rules}",
    )
    return fig


def run_timeline(result: RunResult, *, title: str | None = None) -> Figure:
    """What happened each day of one run: fire on the city, strikes, sanctuary, forces.

    Panels (sharing a date axis): salvoes landing on the target city per day
    with a 7-day mean; strikes inside Russia per day, stacked by supplier;
    withheld and second-choice strikes per day; units in action per side.

    Args:
        result: One run.
        title: Override the title.

    Returns:
        The figure (four panels).
    """
    ts = result.timeseries
    sc = result.scenario
    city = _city_name(sc)
    dates = _to_dates(ts["date"])
    width = 0.8 * sc.step_days
    fig = _figure(11.5, 9.0)
    ax_fire, ax_str, ax_wh, ax_units = fig.subplots(4, 1, sharex=True)

    ax_fire.bar(dates, ts["fire_on_city"], width=width, color=LIGHT_GREY, label="salvoes per day")
    ax_fire.plot(
        dates,
        ts["fire_on_city"].rolling(7, min_periods=1).mean(),
        color=actor_colour(_russia(sc)),
        lw=1.8,
        label="7-day mean",
    )
    ax_fire.set_ylabel("salvoes / day", fontsize=8)
    ax_fire.set_title(
        f"Russian fire landing on {city} (harm index over the run: "
        f"{float(ts['harm_cumulative'].iloc[-1]):.0f})",
        loc="left",
        fontsize=9,
    )
    _legend_outside(ax_fire)

    cols = _nonzero_columns(ts, "strikes_in_russia.supplier.")
    bottom = np.zeros(len(ts))
    for col in cols:
        sup = col.rsplit(".", 1)[1]
        ax_str.bar(
            dates, ts[col], width=width, bottom=bottom, color=actor_colour(sup), label=sup, lw=0
        )
        bottom += ts[col].to_numpy()
    if not cols:
        ax_str.text(0.01, 0.8, "no strike inside Russia", transform=ax_str.transAxes, fontsize=8)
    ax_str.set_ylabel("strikes / day", fontsize=8)
    ax_str.set_title("Strikes inside Russia, by supplier of the weapon", loc="left", fontsize=9)
    _legend_outside(ax_str)

    ax_wh.step(dates, ts["withheld"], where="mid", color="#000000", lw=1.4, label="withheld")
    ax_wh.step(
        dates,
        ts["constrained"],
        where="mid",
        color=GREY,
        lw=1.2,
        ls="--",
        label="second-choice weapon",
    )
    ax_wh.set_ylabel("opportunities / day", fontsize=8)
    ax_wh.set_title(
        "Opportunities the rules forbade: withheld (no allowed weapon, the sanctuary) "
        "or struck with a second-choice weapon",
        loc="left",
        fontsize=9,
    )
    _legend_outside(ax_wh)

    ax_units.step(dates, ts["alive.RUS"], where="post", color=actor_colour("RUS"), label="Russia")
    ax_units.step(dates, ts["alive.UKR"], where="post", color=actor_colour("UKR"), label="Ukraine")
    ax_units.set_ylabel("units", fontsize=8)
    ax_units.set_title(
        "Units in action (destroyed units are replaced over time)", loc="left", fontsize=9
    )
    ax_units.set_xlabel("date")
    _legend_outside(ax_units)
    _date_axis(ax_units)
    _suptitle(fig, title or f"Run timeline — {sc.name} (1 run, seed {result.seed})")
    return fig


#: Marker per target class on the map.
