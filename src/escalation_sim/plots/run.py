"""Figures of one run: the escalation curve and a day-by-day timeline."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from escalation_sim.model.decisions.options import is_available, target_rung

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
    _start_postures,
    _suptitle,
    _to_dates,
    actor_colour,
    posture_description,
    readable_cause,
)

#: Characters per line of the notes under the escalation curve (the figure is 12 in wide).
NOTE_WIDTH = 165


def _wrap(text: str, **kwargs: Any) -> list[str]:
    """Wrap a note at spaces only: rule ids such as ``us-kharkiv-counterfire`` stay whole."""
    return textwrap.wrap(text, NOTE_WIDTH, break_on_hyphens=False, break_long_words=False, **kwargs)


def _climb_lines(
    climbs: list[dict[str, Any]], changes: list[dict[str, Any]], result: RunResult
) -> list[tuple[str, str]]:
    """The numbered notes under the curve: (marker text, what happened and why), by date."""
    sc = result.scenario
    start = pd.Timestamp(sc.start_date)
    notes: list[tuple[float, str, str]] = []
    for i, ev in enumerate(climbs, start=1):
        aid = ev["actor"]
        when = start + pd.Timedelta(days=ev["day"])
        rung = sc.ladder_for(aid).rungs[int(ev["to_rung"])].name
        option = ev.get("option_label") or ev.get("option")
        what = f"{aid} climbs to {ev['to_rung']} {rung}" + (f" ({option})" if option else "")
        causes = ev.get("causes") or []
        why = "; ".join(f"{readable_cause(c['cause'], sc)} {c['share']:.0%}" for c in causes[:2])
        # The newest salient precedent is named before the volume behind it, and how many
        # were salient: several perceived on one day are in no order of importance.
        triggers = ev.get("triggers") or []
        if triggers:
            of = f" (of {len(triggers)} salient)" if len(triggers) > 1 else ""
            why = f"latest precedent: {triggers[-1]}{of}" + (f"; {why}" if why else "")
        why = why or ev.get("cause") or "no named cause"
        notes.append(
            (float(ev["day"]), str(i), f"{when:%d %b} (day {ev['day']:g}): {what}. Why: {why}")
        )
    for ev in changes:
        when = start + pd.Timedelta(days=ev["day"])
        sup = ev["actor"]
        what = {"widen": "widens", "narrow": "narrows"}.get(str(ev.get("change")), "changes")
        now = posture_description(sc, sup, str(ev.get("to_posture", "")))
        extra = [f"adds {', '.join(ev['added'])}" for _ in [0] if ev.get("added")]
        extra += [f"drops {', '.join(ev['removed'])}" for _ in [0] if ev.get("removed")]
        why = ev.get("cause") or ev.get("change") or ""
        text = f"{when:%d %b} (day {ev['day']:g}): {sup} {what} its rules: now \u201c{now}\u201d"
        text += "".join(f"; {e}" for e in extra) + (f". Why: {why}" if why else "")
        notes.append((float(ev["day"]), "┆", text))
    notes.sort(key=lambda n: n[0])
    return [(mark, text) for _, mark, text in notes]


def _option_summary(options: list[dict[str, Any]]) -> list[str]:
    """One line per actor: the options it took without changing rung, how often and when."""
    by_actor: dict[str, dict[str, list[float]]] = {}
    for ev in options:
        label = str(ev.get("option_label") or ev.get("option") or "option")
        by_actor.setdefault(ev["actor"], {}).setdefault(label, []).append(float(ev["day"]))
    lines = []
    for actor, taken in by_actor.items():
        parts = []
        for label, days in taken.items():
            when = f"day {days[0]:g}" if len(days) == 1 else f"days {days[0]:g}-{days[-1]:g}"
            parts.append(f"{label} ×{len(days)} ({when})")
        lines.append(f"{actor}: " + "; ".join(parts))
    return lines


def _answer_bars(sc: Any, actor: str, rung_now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where acting starts to pay under the cost-benefit model, per step of a run.

    An open option ``o`` is worth more than holding once the excess case
    ``case - T_now`` exceeds its cost plus the risk of the other side's answer
    (``decisions/models.py``). Per rung the actor stood on, this returns
    ``T_now`` + the least such bar over the options open without any
    precedent (gated options may open later), at baseline resolve (a higher
    perceived resolve raises the risk): first for acts that keep the rung,
    then for a climb to the next rung. NaN where no such option exists.
    """
    ladder = sc.ladder_for(actor)
    prm = sc.decisions.actors[actor]
    spec = sc.actors[actor]
    risk_scale = prm.deterrence_weight * 2.0 * (1.0 - spec.risk_tolerance)
    top = len(ladder.rungs) - 1
    act_bar, climb_bar = {}, {}
    for k in sorted(set(rung_now.tolist())):
        t_now = ladder.rungs[k].climb_threshold
        acts, climbs = [np.nan], [np.nan]
        for o in sc.options_for(actor):
            if o.kind == "hold" or not is_available(o, k, spec.start_rung, top, ()):
                continue
            price = o.cost + o.risk * risk_scale
            if o.descend or o.answers <= price:
                continue  # a stand-down, or never worth more than holding, however large the case
            (climbs if target_rung(o, k) > k else acts).append(t_now + price)
        act_bar[k], climb_bar[k] = np.nanmin(acts), np.nanmin(climbs)
    return (
        np.array([act_bar[k] for k in rung_now.tolist()]),
        np.array([climb_bar[k] for k in rung_now.tolist()]),
    )


def _bar_line(ax: Any, dates: Any, bar: Any, ls: str, label: str) -> None:
    """A grey step line: a bar the decision model compares the case with."""
    ax.step(dates, bar, where="post", color=GREY, ls=ls, lw=1.3, label=label)


def _russia_case_panel(
    axp: Any,
    ts: pd.DataFrame,
    sc: Any,
    russia: str,
    dates: Any,
    chosen: Sequence[tuple[pd.Timestamp, float]] = (),
) -> None:
    """Russia's case for answering against what its decision model weighs it by.

    ``cost_benefit``: the case, the part its standing rung already answers
    (shaded above it: the excess an act could answer) and the bars where the
    cheapest act and the cheapest climb start to pay. ``pressure``: pressure
    against the threshold of the next rung, as that model decides. Either way,
    ``chosen`` (date, case) marks the case at each moment Russia chose an
    option: the time series records it at the end of the day, after the option
    relieved part of it, so on the day of a climb the line alone stays below
    the bar the case had passed.
    """
    ladder = sc.ladder_for(russia)
    rung_now = ts[f"rung.{russia}"].to_numpy().astype(int)
    case = ts[f"pressure.{russia}"].to_numpy(dtype=float)
    colour = actor_colour(russia)
    if sc.decisions.actors[russia].model == "cost_benefit":
        answered = np.array([ladder.rungs[k].climb_threshold for k in rung_now.tolist()])
        act_bar, climb_bar = _answer_bars(sc, russia, rung_now)
        axp.plot(dates, case, color=colour, lw=1.5, label=f"{russia} case for answering")
        axp.step(dates, answered, where="post", color=GREY, lw=1.0, label="answered by its rung")
        axp.fill_between(
            dates,
            answered,
            case,
            where=case > answered,
            step=None,
            color=colour,
            alpha=0.18,
            lw=0,
            label="excess case an act could answer",
        )
        for bar, ls, what in ((act_bar, "--", "act"), (climb_bar, ":", "climb")):
            _bar_line(axp, dates, bar, ls, f"cheapest {what} pays\n(cost + risk, open options)")
        axp.set_ylabel("case (pressure units)", fontsize=8)
        _mark_chosen(axp, chosen, colour, f"{russia} case", "\n(before the option relieved it)")
        return
    top = len(ladder.rungs) - 1
    thresholds = [ladder.rungs[k + 1].climb_threshold if k < top else np.nan for k in rung_now]
    axp.plot(dates, case, color=colour, lw=1.5, label=f"{russia} escalation pressure")
    _bar_line(axp, dates, thresholds, ":", "threshold of its next rung")
    axp.set_ylabel("pressure (index)", fontsize=8)
    _mark_chosen(axp, chosen, colour, f"{russia} pressure", "")


def _mark_chosen(
    axp: Any, chosen: Sequence[tuple[pd.Timestamp, float]], colour: str, what: str, why: str
) -> None:
    """Open dots: the case (or pressure) at each moment the actor chose an option."""
    if not chosen:
        return
    when, value = zip(*chosen, strict=True)
    axp.plot(
        list(when),
        list(value),
        ls="none",
        marker="o",
        ms=3.5,
        mfc="white",
        mec=colour,
        zorder=5,
        label=f"{what} when it chose an option{why}",
    )


def escalation_curve(
    result: RunResult, *, actors: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """Each actor's rung over time as steps, every climb numbered and explained.

    One panel per ladder (Russia's, the Western suppliers', Ukraine's: each
    actor climbs its own side's ladder, named on the axis; actors sharing a
    ladder are drawn slightly apart so that lines on the same rung stay
    visible), then what Russia's decision model weighs (``cost_benefit``: its
    case for answering, the part its standing rung already answers and where
    the cheapest open act and climb start to pay; ``pressure``: its pressure
    against the threshold of its next rung), then the cumulative strikes inside Russia by supplier. Every
    climb is a numbered ▲ (descents an unnumbered ▼); the notes under the
    panels say, for each number, who climbed to which rung and the two largest
    causes of its pressure, in full. Rule changes are dashed vertical lines,
    explained in the same notes; the rules in force at the start are listed
    in words (the postures' descriptions, not their ids).

    Args:
        result: One run.
        actors: Actors to draw (default: all).
        title: Override the title.

    Returns:
        The figure (``2 + number of ladders`` panels sharing a date axis, and the notes).
    """
    ts = result.timeseries
    sc = result.scenario
    actors = list(actors or sc.actors)
    russia = _russia(sc)
    groups = _ladder_groups(sc, actors)
    dates = _to_dates(ts["date"])
    start = pd.Timestamp(sc.start_date)
    # Moves on a ladder (a decision can also be an option taken without changing rung).
    decisions = [
        e
        for e in result.events
        if e["kind"] == "decision" and e["actor"] in actors and e["to_rung"] != e["from_rung"]
    ]
    climbs = [e for e in decisions if e["to_rung"] > e["from_rung"]]
    options = [
        e
        for e in result.events
        if e["kind"] == "decision" and e["actor"] in actors and e["to_rung"] == e["from_rung"]
    ]
    changes = [e for e in result.events if e["kind"] == "rule_change"]
    notes = _climb_lines(climbs, changes, result)
    option_lines = [
        wrapped
        for text in _option_summary(options)
        for wrapped in _wrap(text, initial_indent="  ", subsequent_indent="    ")
    ]
    postures = _start_postures(ts)
    start_rules = [f"{s}: {posture_description(sc, s, p)}" for s, p in postures.items()]
    note_lines = [
        *(
            f"{mark:>3}  {wrapped}" if k == 0 else f"     {wrapped}"
            for mark, text in notes
            for k, wrapped in enumerate(_wrap(text))
        ),
    ]
    rule_lines = [
        line
        for text in start_rules
        for line in _wrap(text, initial_indent="  ", subsequent_indent="    ")
    ]
    text_rows = len(note_lines) + len(rule_lines) + 3 + (len(option_lines) + 2) * bool(options)
    heights = [max(1.3, 0.32 * len(ladder.rungs)) for ladder, _ in groups] + [1.4, 1.4]
    notes_height = 0.16 * text_rows + 0.2
    fig = _figure(12.0, sum(heights) + notes_height + 1.4)
    axes = fig.subplots(
        len(heights) + 1, 1, gridspec_kw={"height_ratios": [*heights, notes_height]}
    )
    ax_notes = axes[-1]
    axes = axes[:-1]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    number = {id(ev): i for i, ev in enumerate(climbs, start=1)}

    for ax, (ladder, members) in zip(axes, groups, strict=False):
        names = [r.name for r in ladder.rungs]
        n = len(members)
        # Actors on one ladder often stand on the same rung: spread them so each line shows.
        spacing = min(0.14, 0.5 / max(1, n - 1))
        for i, aid in enumerate(members):
            offset = (i - (n - 1) / 2) * spacing
            colour = actor_colour(aid)
            ax.step(
                dates,
                ts[f"rung.{aid}"] + offset,
                where="post",
                color=colour,
                lw=2.2 if aid == russia else 1.7,
                label=f"{sc.actors[aid].name} ({aid})",
            )
            for ev in decisions:
                if ev["actor"] != aid:
                    continue
                when = start + pd.Timedelta(days=ev["day"])
                up = ev["to_rung"] > ev["from_rung"]
                y = ev["to_rung"] + offset
                ax.plot(
                    [when],
                    [y],
                    marker="^" if up else "v",
                    ms=7,
                    color=colour,
                    mec="white",
                    mew=0.8,
                    ls="none",
                    zorder=4,
                )
                if up:
                    ax.annotate(
                        str(number[id(ev)]),
                        (when, y),
                        # Spread by actor, so that climbs on the same day do not cover each other.
                        xytext=((i - (n - 1) / 2) * 7, 6),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        fontweight="bold",
                        color=colour,
                        bbox={
                            "boxstyle": "round,pad=0.1",
                            "fc": "white",
                            "ec": "none",
                            "alpha": 0.8,
                        },
                        zorder=5,
                    )
            for ev in options:
                if ev["actor"] == aid:
                    when = start + pd.Timedelta(days=ev["day"])
                    ax.plot(
                        [when],
                        [ev["to_rung"] + offset],
                        marker="D",
                        ms=4,
                        color=colour,
                        mec="white",
                        mew=0.5,
                        ls="none",
                        zorder=4,
                    )
        _rung_axis(ax, names)
        ax.set_title(f"{ladder.name}: {', '.join(members)}", loc="left", fontsize=9)
        handles = ax.get_legend_handles_labels()[0]
        handles += [
            Line2D([], [], marker="^", color=GREY, ls="none", label="climb (number: see notes)"),
            Line2D([], [], marker="v", color=GREY, ls="none", label="descent"),
        ]
        if any(ev["actor"] in members for ev in options):
            handles.append(
                Line2D([], [], marker="D", ms=4, color=GREY, ls="none", label="act, no move")
            )
        if changes and ax is axes[0]:
            handles.append(
                Line2D([], [], ls="--", color=GREY, label="rule change\n(supplier's colour)")
            )
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
        ax.tick_params(labelbottom=False)

    axp = axes[len(groups)]
    chosen = [
        (start + pd.Timedelta(days=e["day"]), float(e["pressure"]))
        for e in result.events
        if e["kind"] == "decision" and e["actor"] == russia and e.get("pressure") is not None
    ]
    _russia_case_panel(axp, ts, sc, russia, dates, chosen)
    axp.set_ylim(bottom=0)
    what = (
        "case for answering against what answering costs"
        if sc.decisions.actors[russia].model == "cost_benefit"
        else "escalation pressure against the threshold of its next rung"
    )
    axp.set_title(
        f"{sc.actors[russia].name}'s {what}, and each side's cumulative "
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
    axp.tick_params(labelbottom=False)

    # Cumulative strikes inside Russia by supplier, first strikes marked.
    axs = axes[-1]
    cols = _nonzero_columns(ts, "strikes_in_russia.supplier.")
    firsts = result.summary.get("first_strike_in_russia_day", {})
    for col in cols:
        sup = col.rsplit(".", 1)[1]
        axs.step(dates, ts[col].cumsum(), where="post", color=actor_colour(sup), lw=1.6, label=sup)
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
    axs.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axs.set_ylabel("strikes (cumulative)", fontsize=8)
    axs.set_title("Strikes inside Russia by supplier of the weapon", loc="left", fontsize=9)
    _legend_outside(axs, ncols=1)
    axs.set_xlabel("date")
    _date_axis(axs)

    for ev in changes:
        when = start + pd.Timedelta(days=ev["day"])
        for ax in axes:
            ax.axvline(when, color=actor_colour(ev["actor"]), ls="--", lw=1.0, alpha=0.8)
        axes[0].annotate(
            f"{ev['actor']} rules",
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-2, -3),
            textcoords="offset points",
            rotation=90,
            fontsize=7,
            ha="right",
            va="top",
            color=actor_colour(ev["actor"]),
        )

    # The notes: every climb and rule change in words, then the rules at the start.
    ax_notes.axis("off")
    lines = ["Climbs (numbers on the curves) and rule changes (dashed lines), with their causes:"]
    lines += note_lines or ["  no actor climbed in this run"]
    if options:
        lines += [
            "",
            "Acts without a move: options taken without changing rung (◆ on the curves):",
            *option_lines,
        ]
    lines += ["", "Rules in force at the start:", *rule_lines]
    ax_notes.text(
        0.0,
        1.0,
        "\n".join(lines),
        transform=ax_notes.transAxes,
        va="top",
        ha="left",
        fontsize=7.5,
        family="DejaVu Sans",
        linespacing=1.35,
    )
    days = float(ts["day"].iloc[-1])
    _suptitle(
        fig,
        title or f"Escalation curve — {sc.name} (1 run, seed {result.seed})",
        f"{days:g} days from {sc.start_date:%d %b %Y}",
    )
    return fig


def run_timeline(result: RunResult, *, title: str | None = None) -> Figure:
    """What happened each day of one run: fire on the city, strikes, sanctuary, forces.

    Panels (sharing a date axis): salvoes landing on the target city per day
    with a trailing 7-day mean; strikes inside Russia per day, stacked by
    supplier; withheld and second-choice strikes per day; units in action per
    side. Day 0 is the starting state, not a day of fighting, so the per-day
    panels start on day 1 (a mean that began on day 0's zero would dip
    artificially). Counts have whole-number ticks.

    Args:
        result: One run.
        title: Override the title.

    Returns:
        The figure (four panels).
    """
    ts = result.timeseries
    sc = result.scenario
    city = _city_name(sc)
    all_dates = _to_dates(ts["date"])
    days = ts[ts["step"] > 0] if "step" in ts else ts.iloc[1:]  # day 0: the starting state
    dates = _to_dates(days["date"])
    width = 0.8 * sc.step_days
    fig = _figure(11.5, 9.0)
    ax_fire, ax_str, ax_wh, ax_units = fig.subplots(4, 1, sharex=True)

    ax_fire.bar(dates, days["fire_on_city"], width=width, color=LIGHT_GREY, label="salvoes per day")
    ax_fire.plot(
        dates,
        days["fire_on_city"].rolling(7, min_periods=1).mean(),
        color=actor_colour(_russia(sc)),
        lw=1.8,
        label="7-day mean (trailing)",
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
    bottom = np.zeros(len(days))
    for col in cols:
        sup = col.rsplit(".", 1)[1]
        ax_str.bar(
            dates, days[col], width=width, bottom=bottom, color=actor_colour(sup), label=sup, lw=0
        )
        bottom += days[col].to_numpy()
    if not cols:
        ax_str.text(0.01, 0.8, "no strike inside Russia", transform=ax_str.transAxes, fontsize=8)
    ax_str.set_ylabel("strikes / day", fontsize=8)
    ax_str.set_title("Strikes inside Russia, by supplier of the weapon", loc="left", fontsize=9)
    _legend_outside(ax_str)

    ax_wh.step(dates, days["withheld"], where="mid", color="#000000", lw=1.4, label="withheld")
    ax_wh.step(
        dates,
        days["constrained"],
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

    ax_units.step(
        all_dates, ts["alive.RUS"], where="post", color=actor_colour("RUS"), label="Russia"
    )
    ax_units.step(
        all_dates, ts["alive.UKR"], where="post", color=actor_colour("UKR"), label="Ukraine"
    )
    for ax in (ax_fire, ax_str, ax_wh, ax_units):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
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
