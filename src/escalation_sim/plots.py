"""Figures: every function takes the project's results or DataFrames and returns a Figure.

Functions build their own :class:`matplotlib.figure.Figure` (never the pyplot
state machine), so they work headless, in scripts, in the test suite and in
notebooks alike, and two calls never draw on each other's axes. Save a figure
with ``fig.savefig(path)``; release it with :func:`close`.

Colours are fixed across figures: each actor has its own colour from the
Okabe-Ito colour-blind-safe palette (:func:`actor_colour`); rule sets being
compared get shades of the colour-blind-safe *cividis* map in the order given
(:func:`label_colours`), and rungs of a ladder get shades of *viridis*, low to
high (:func:`rung_colours`).

Inputs, by figure:

* one run (a :class:`~escalation_sim.results.RunResult`): :func:`escalation_curve`,
  :func:`run_timeline`, :func:`theater_map` (units from :func:`unit_table`),
  :func:`withheld_by_rule`;
* an ensemble's tables (``aggregates``, ``rung_probability`` and ``runs``):
  :func:`fan_chart`, :func:`reach_probability`, :func:`reach_heatmap`,
  :func:`survival_curves`, :func:`withheld_by_rule`;
* a comparison (``comparison`` and per-label tables): :func:`paired_differences`,
  :func:`compare_fan`, :func:`compare_reach`, :func:`survival_curves`,
  :func:`tradeoff`, :func:`withheld_by_rule`;
* a sweep (``experiments``, ``outcomes``, ``sensitivity``): :func:`sweep_outcomes`,
  :func:`sensitivity_bars`.

Rung names for the axes come from a scenario (:func:`ladders_of`) or from a
``rung_probability`` table (:func:`ladders_from_probability`). Every title
names the scenario (or the rule sets) and the number of runs; every time axis
shows dates; every axis carries its unit (:func:`describe_outcome`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle

if TYPE_CHECKING:
    from escalation_sim.results import RunResult
    from escalation_sim.scenario.schema import LadderSpec, Scenario

# --------------------------------------------------------------------------- palette

#: Okabe-Ito palette (colour-blind safe): blue, vermillion, reddish purple,
#: bluish green, orange, black, sky blue, yellow.
OKABE_ITO = ["#0072B2", "#D55E00", "#CC79A7", "#009E73", "#E69F00", "#000000", "#56B4E9", "#F0E442"]
#: The fixed colour of each actor of the default cast.
ACTOR_COLOURS: dict[str, str] = {
    "UKR": "#0072B2",
    "RUS": "#D55E00",
    "USA": "#CC79A7",
    "GBR": "#009E73",
    "FRA": "#E69F00",
    "DEU": "#000000",
}
#: Colours for actors beyond the default cast (Okabe-Ito's remaining shades, then greys).
SPARE_COLOURS = ["#56B4E9", "#F0E442", "#999999", "#882255", "#44AA99"]
#: The fixed marker of each actor of the default cast.
ACTOR_MARKERS: dict[str, str] = {
    "UKR": "o",
    "RUS": "s",
    "USA": "^",
    "GBR": "v",
    "FRA": "D",
    "DEU": "P",
}
#: Neutral colours for things that are not actors.
GREY = "#777777"
LIGHT_GREY = "#BBBBBB"

#: Readable names and units of outcomes and series (``<actor>`` stands for any actor id).
OUTCOMES: dict[str, tuple[str, str]] = {
    "fire_on_city": ("fire landing on {city}", "salvoes"),
    "harm": ("civilian-harm index", "index points"),
    "harm_cumulative": ("cumulative civilian-harm index", "index points"),
    "strikes": ("strikes", "strikes"),
    "strikes_in_russia": ("strikes inside Russia", "strikes"),
    "withheld": ("withheld opportunities (sanctuary)", "opportunities"),
    "constrained": ("strikes with a second-choice weapon", "strikes"),
    "losses.RUS": ("Russian units destroyed", "units"),
    "losses.UKR": ("Ukrainian units destroyed", "units"),
    "alive.RUS": ("Russian units in action", "units"),
    "alive.UKR": ("Ukrainian units in action", "units"),
    "nato_conflict_day": ("day of direct NATO-Russia conflict", "day"),
    "nuclear_use_day": ("day of nuclear use", "day"),
    "nato_conflict": ("direct NATO-Russia conflict", "share of runs"),
    "nuclear_use": ("nuclear use", "share of runs"),
    "rung.<actor>": ("rung of {actor}", "rung"),
    "pressure.<actor>": ("escalation pressure of {actor}", "index"),
    "peak_rung.<actor>": ("peak rung of {actor}", "rungs"),
    "final_rung.<actor>": ("final rung of {actor}", "rungs"),
    "first_day_rung.<actor>": ("first day on rung {rung} of {actor}", "day"),
    "strikes_in_russia.supplier.<actor>": ("strikes inside Russia with {actor} weapons", "strikes"),
    "strikes_in_russia.weapon.<actor>": ("strikes inside Russia with {actor}", "strikes"),
    "withheld.rule.<actor>": ("opportunities withheld by rule {actor}", "opportunities"),
}


def actor_colour(actor: str) -> str:
    """The fixed colour of an actor, the same in every figure.

    Args:
        actor: Actor id (``RUS``, ``UKR``, ``USA``, ...).

    Returns:
        A hex colour; actors beyond the default cast get a stable spare colour.
    """
    if actor in ACTOR_COLOURS:
        return ACTOR_COLOURS[actor]
    return SPARE_COLOURS[sum(map(ord, actor)) % len(SPARE_COLOURS)]


def label_colours(labels: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """Colours for rule sets (or any ordered labels): shades of cividis, in the order given.

    Args:
        labels: Labels in their order of permissiveness (or of listing).

    Returns:
        Label to RGBA colour.
    """
    cmap = colormaps["cividis"]
    n = len(labels)
    return {lab: cmap(0.72 * i / max(1, n - 1)) for i, lab in enumerate(labels)}


def rung_colours(levels: Sequence[int]) -> dict[int, tuple[float, ...]]:
    """Colours for the rungs drawn in one panel: viridis, dark (lowest) to light (highest).

    Args:
        levels: The rung levels to colour, in any order.

    Returns:
        Level to RGBA colour, spread evenly over the map so neighbours stay distinct.
    """
    cmap = colormaps["viridis"]
    ordered = sorted(levels)
    n = len(ordered)
    return {k: cmap(0.85 * i / max(1, n - 1)) for i, k in enumerate(ordered)}


#: Line styles cycled with rung colours (a second cue for readers who cannot tell colours apart).
RUNG_STYLES: list[Any] = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]


def _rung_style(levels: Sequence[int], level: int) -> Any:
    return RUNG_STYLES[sorted(levels).index(level) % len(RUNG_STYLES)]


def close(fig: Figure) -> None:
    """Release a figure's memory (for scripts that draw many)."""
    plt.close(fig)


def describe_outcome(name: str, *, city: str = "Kharkiv") -> tuple[str, str]:
    """A readable name and the unit of an outcome or series column.

    Args:
        name: Column name, e.g. ``fire_on_city`` or ``peak_rung.RUS``.
        city: Name of the target city.

    Returns:
        ``(description, unit)``; unknown names come back as themselves with no unit.
    """
    if name in OUTCOMES:
        text, unit = OUTCOMES[name]
        return text.format(city=city), unit
    if name.endswith("_cumulative") and name.removesuffix("_cumulative") in OUTCOMES:
        text, unit = describe_outcome(name.removesuffix("_cumulative"), city=city)
        return f"{text}, cumulative", unit
    m = re.fullmatch(r"first_day_rung\.([^.]+)\.(\d+)", name)
    if m:
        text, unit = OUTCOMES["first_day_rung.<actor>"]
        return text.format(actor=m.group(1), rung=m.group(2)), unit
    head, _, actor = name.rpartition(".")
    key = f"{head}.<actor>"
    if head and key in OUTCOMES:
        text, unit = OUTCOMES[key]
        return text.format(actor=actor, city=city), unit
    return name, ""


def _axis_label(name: str, city: str = "Kharkiv") -> str:
    text, unit = describe_outcome(name, city=city)
    return f"{text} ({unit})" if unit else text


# --------------------------------------------------------------------------- helpers


def _figure(width: float, height: float) -> Figure:
    """A new figure outside pyplot's registry, laid out by constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def _to_dates(values: Any) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy()


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _suptitle(fig: Figure, title: str, subtitle: str | None = None) -> None:
    text = title if not subtitle else f"{title}\n{subtitle}"
    fig.suptitle(text, x=0.01, ha="left", fontsize=11)


def _runs_phrase(n: int | None) -> str:
    if n is None:
        return ""
    return "1 run" if n == 1 else f"{n:,} runs"


def _title_tail(scenario: str | None, n_runs: int | None) -> str:
    parts = [p for p in (scenario, _runs_phrase(n_runs)) if p]
    if not parts:
        return ""
    if len(parts) == 2:
        return f" — {parts[0]} ({parts[1]})"
    return f" — {parts[0]}"


def _russia(scenario: Scenario) -> str:
    return next(a for a, s in scenario.actors.items() if s.side == "russia")


def _city_name(scenario: Scenario) -> str:
    th = scenario.theater
    return th.places[th.target_city].name


_SIDE_ORDER = {"russia": 0, "west": 1, "ukraine": 2, "other": 3}


def ladders_of(scenario: Scenario) -> dict[str, list[str]]:
    """Each actor's rung names, lowest first (each actor climbs its own side's ladder).

    Args:
        scenario: A validated scenario.

    Returns:
        Actor id to rung names.
    """
    return {aid: [r.name for r in scenario.ladder_for(aid).rungs] for aid in scenario.actors}


def ladders_from_probability(rung_probability: pd.DataFrame) -> dict[str, list[str]]:
    """Each actor's rung names, read from a ``rung_probability`` table.

    Args:
        rung_probability: Tidy table with ``actor``, ``rung`` and ``rung_name`` columns.

    Returns:
        Actor id to rung names, lowest first.
    """
    out: dict[str, list[str]] = {}
    names = rung_probability[["actor", "rung", "rung_name"]].drop_duplicates()
    for actor, grp in names.groupby("actor", sort=False):
        grp = grp.sort_values("rung")
        out[str(actor)] = [str(n) for n in grp["rung_name"]]
    return out


def _ladder_groups(scenario: Scenario, actors: Sequence[str]) -> list[tuple[LadderSpec, list[str]]]:
    """Actors grouped by the ladder they climb: Russia's first, then the West's, then Ukraine's."""
    groups: dict[int, tuple[LadderSpec, list[str], int]] = {}
    for aid in actors:
        ladder = scenario.ladder_for(aid)
        key = id(ladder)
        if key not in groups:
            groups[key] = (ladder, [], _SIDE_ORDER.get(scenario.actors[aid].side, 3))
        groups[key][1].append(aid)
    ordered = sorted(groups.values(), key=lambda g: g[2])
    return [(ladder, members) for ladder, members, _ in ordered]


def _rung_axis(ax: Axes, names: Sequence[str], *, fontsize: float = 7.5) -> None:
    ax.set_yticks(range(len(names)), [f"{i} {n}" for i, n in enumerate(names)], fontsize=fontsize)
    ax.set_ylim(-0.5, len(names) - 0.5)
    ax.set_ylabel("rung", fontsize=8)
    ax.grid(axis="y", alpha=0.25)


def _fmt(x: float) -> str:
    """A number as a person would write it in a figure (no scientific notation)."""
    if not np.isfinite(x):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2g}" if x else "0"


def _short(text: str, n: int = 58) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _start_postures(ts: pd.DataFrame) -> dict[str, str]:
    return {c.split(".", 1)[1]: str(ts[c].iloc[0]) for c in ts.columns if c.startswith("posture.")}


def _nonzero_columns(df: pd.DataFrame, prefix: str) -> list[str]:
    cols = [c for c in df.columns if c.startswith(prefix)]
    totals = {c: float(df[c].fillna(0).sum()) for c in cols}
    return [c for c in sorted(cols, key=lambda c: -totals[c]) if totals[c] > 0]


def _message(ax: Axes, text: str) -> None:
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10, color=GREY
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _legend_outside(ax: Axes, **kwargs: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
            **kwargs,
        )


# --------------------------------------------------------------------------- one run


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
                ax.plot(
                    [when],
                    [ev["to_rung"] + offset],
                    marker="^" if up else "v",
                    ms=7,
                    color=colour,
                    mec="white",
                    mew=0.8,
                    ls="none",
                    zorder=4,
                )
                if aid == russia and up and ev["to_rung"] > peak:
                    peak = ev["to_rung"]
                    causes = ev.get("causes") or []
                    why = (
                        f"{_short(causes[0]['cause'])} ({causes[0]['share']:.0%})"
                        if causes
                        else "no named cause"
                    )
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
    axp.set_title(f"{sc.actors[russia].name}'s escalation pressure", loc="left", fontsize=9)
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
CLASS_MARKERS: dict[str, str] = {
    "artillery": "s",
    "missile_launcher": "^",
    "airbase": "P",
    "command_post": "D",
    "air_defence": "h",
    "logistics": "p",
    "energy": "*",
    "radar": "1",
    "launcher": "d",
    "drone_site": "x",
}


_RING_STYLES: list[Any] = [(0, (4, 3)), (0, (1, 2)), (0, (6, 2, 1, 2))]


def unit_table(scenario: Scenario, seed: int = 0) -> pd.DataFrame:
    """Every unit's position and kind as placed at set-up for a scenario and seed.

    Units do not move during a run, so this is where they fought. Building the
    model costs a fraction of a run; nothing is stepped.

    Args:
        scenario: A validated scenario.
        seed: The run's seed (placement is random within each group's zone).

    Returns:
        One row per unit: ``label``, ``group``, ``owner``, ``side``, ``unit_type``,
        ``target_class``, ``x_km``, ``depth_km``.
    """
    from escalation_sim.model import EscalationModel

    model = EscalationModel(scenario, seed=seed, record_events=False)
    f = model.forces
    groups = [f.group_ids[g] for g in f.group.tolist()]
    owners = [model.actor_ids[o] for o in f.owner.tolist()]
    table = pd.DataFrame(
        {
            "label": f.labels,
            "group": groups,
            "owner": owners,
            "side": [scenario.actors[o].side for o in owners],
            "unit_type": [scenario.forces[g].unit_type for g in groups],
            "target_class": [f.class_ids[c] for c in f.cls.tolist()],
            "x_km": f.x.copy(),
            "depth_km": f.depth.copy(),
        }
    )
    del model
    return table


def _draw_theater(
    ax: Axes, scenario: Scenario, view: tuple[float, float, float, float], km_per_char: float
) -> None:
    """Zones, the border and the places, clipped to ``view`` = (x0, x1, d0, d1).

    ``km_per_char`` is the width of one character of a zone label in km at
    this panel's scale, used to wrap labels inside their zone.
    """
    th = scenario.theater
    x0, x1, d0, d1 = view
    for zone in th.zones.values():
        fill = actor_colour("UKR") if zone.territory == "ukraine" else actor_colour("RUS")
        rect = Rectangle(
            (zone.x_km.min, zone.depth_km.min),
            zone.x_km.max - zone.x_km.min,
            zone.depth_km.max - zone.depth_km.min,
            facecolor=fill,
            alpha=0.07,
            edgecolor="none",
            hatch="//" if zone.occupied else None,
        )
        ax.add_patch(rect)
        ax.add_patch(
            Rectangle(
                (zone.x_km.min, zone.depth_km.min),
                zone.x_km.max - zone.x_km.min,
                zone.depth_km.max - zone.depth_km.min,
                fill=False,
                edgecolor=LIGHT_GREY,
                lw=0.7,
            )
        )
        # The zone's name at the top-left of its visible part.
        vx0, vx1 = max(zone.x_km.min, x0), min(zone.x_km.max, x1)
        vd0, vd1 = max(zone.depth_km.min, d0), min(zone.depth_km.max, d1)
        chars = int(0.85 * (vx1 - vx0) / km_per_char)
        if chars >= max(map(len, zone.name.split())) and vd1 - vd0 > 0.05 * (d1 - d0):
            ax.text(
                vx0 + 0.01 * (x1 - x0),
                vd1 - 0.01 * (d1 - d0),
                textwrap.fill(zone.name, chars),
                fontsize=7,
                color=GREY,
                va="top",
                ha="left",
                clip_on=True,
                style="italic",
            )
    ax.axhline(0.0, color="#000000", lw=1.8, zorder=1)
    if km_per_char < 4:
        ax.text(
            x1 - 0.01 * (x1 - x0),
            0.008 * (d1 - d0),
            "border ▲ Russia / ▼ Ukraine",
            fontsize=7,
            ha="right",
            va="bottom",
        )
    for pid, place in th.places.items():
        if not (x0 <= place.x_km <= x1 and d0 <= place.depth_km <= d1):
            continue
        target = pid == th.target_city
        ax.plot(
            place.x_km,
            place.depth_km,
            marker="*" if target else "o",
            ms=15 if target else 4,
            color="#000000" if target else "#444444",
            mfc="#F0E442" if target else "#444444",
            ls="none",
            zorder=6,
        )
        ax.annotate(
            place.name,
            (place.x_km, place.depth_km),
            xytext=(7, -3),
            textcoords="offset points",
            fontsize=9 if target else 7.5,
            fontweight="bold" if target else "normal",
            zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(d0, d1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("km along the border")
    ax.set_ylabel("depth into Russia (km; negative = Ukraine)")


def theater_map(
    result: RunResult,
    *,
    units: pd.DataFrame | None = None,
    rings: Sequence[str] | None = None,
    zoom: tuple[float, float, float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """The theater of one run: border, zones, places, units, strikes and withheld strikes.

    Left: the whole theater. Right: a close-up of the target city and the
    border area opposite it. Units are drawn where they were placed (colour by
    side, marker by target class); each target struck is a dot in the colour of
    the weapon's supplier (size grows with the number of strikes); each target
    the rules kept out of reach is a black ✕ (withheld: no allowed weapon) or a
    grey + (struck with a second-choice weapon). Dashed circles show the reach
    of chosen weapons from the mean position of the launchers that carry them.

    Args:
        result: One run.
        units: The unit table (default: rebuilt with :func:`unit_table` from the
            run's scenario and seed).
        rings: Weapons whose reach to draw (default: ``GMLRS`` and ``ATACMS`` when present).
        zoom: The close-up's ``(x_min, x_max, depth_min, depth_max)`` in km
            (default: 60 km around the target city and 100 km into Russia).
        title: Override the title.

    Returns:
        The figure (two panels).
    """
    sc = result.scenario
    th = sc.theater
    units = unit_table(sc, result.seed) if units is None else units
    pos = units.set_index("label")[["x_km", "depth_km"]]
    ev = result.events_frame()
    city = th.places[th.target_city]
    full = (th.x_extent_km.min, th.x_extent_km.max, th.depth_extent_km.min, th.depth_extent_km.max)
    zoom = zoom or (city.x_km - 100, city.x_km + 160, min(city.depth_km - 40, -70.0), 100.0)
    full_aspect = (full[1] - full[0]) / (full[3] - full[2])
    zoom_aspect = (zoom[1] - zoom[0]) / (zoom[3] - zoom[2])
    zoom_w = 8.4
    zoom_h = zoom_w / zoom_aspect
    height = zoom_h + 2.2
    full_w = full_aspect * height
    fig = _figure(full_w + zoom_w + 0.9, height + 1.3)
    grid = fig.add_gridspec(2, 2, width_ratios=[full_w, zoom_w], height_ratios=[zoom_h, 2.2])
    ax_full = fig.add_subplot(grid[:, 0])
    ax_zoom = fig.add_subplot(grid[0, 1])
    ax_legend = fig.add_subplot(grid[1, 1])
    ax_legend.axis("off")
    rings = (
        list(rings) if rings is not None else [w for w in ("GMLRS", "ATACMS") if w in sc.weapons]
    )

    strikes = ev[ev["kind"] == "strike"] if len(ev) else ev
    withheld = ev[ev["kind"] == "withheld"] if len(ev) else ev
    constrained = ev[ev["kind"] == "constrained"] if len(ev) else ev
    cast = list(sc.actors)
    suppliers = sorted(
        set(strikes["supplier"]) if len(strikes) else set(),
        key=lambda a: cast.index(a) if a in cast else len(cast),
    )

    for ax, view in ((ax_full, full), (ax_zoom, zoom)):
        km_per_inch = (view[1] - view[0]) / (full_w if ax is ax_full else zoom_w)
        _draw_theater(ax, sc, view, km_per_char=km_per_inch * 7 * 0.6 / 72)
        scale = 1.0 if ax is ax_zoom else 0.55
        for (side, cls), grp in units.groupby(["side", "target_class"], sort=True):
            ax.scatter(
                grp["x_km"],
                grp["depth_km"],
                s=22 * scale,
                marker=CLASS_MARKERS.get(str(cls), "o"),
                c=actor_colour("RUS") if side == "russia" else actor_colour("UKR"),
                alpha=0.55,
                linewidths=0.8,
                zorder=2,
            )
        for i, sup in enumerate(suppliers):
            counts = strikes[strikes["supplier"] == sup].groupby("target").size()
            xy = pos.reindex(counts.index)
            jitter = (i - (len(suppliers) - 1) / 2) * (1.2 if ax is ax_zoom else 3.0)
            ax.scatter(
                xy["x_km"] + jitter,
                xy["depth_km"],
                s=(10 + 7 * np.sqrt(counts.to_numpy()) ** 2 / 2) * scale,
                c=actor_colour(sup),
                alpha=0.75,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
            )
        for frame, marker, colour in ((withheld, "X", "#000000"), (constrained, "P", GREY)):
            if len(frame):
                counts = frame.groupby("target").size()
                xy = pos.reindex(counts.index)
                ax.scatter(
                    xy["x_km"],
                    xy["depth_km"] - (2.5 if ax is ax_zoom else 6),
                    s=(14 + 3 * counts.to_numpy()).clip(max=200) * scale,
                    marker=marker,
                    c=colour,
                    alpha=0.8,
                    linewidths=0,
                    zorder=4,
                )
        for k, wid in enumerate(rings):
            carriers = [g for g, spec in sc.forces.items() if wid in spec.weapons]
            launchers = units[units["group"].isin(carriers)]
            if launchers.empty:
                continue
            cx, cy = float(launchers["x_km"].mean()), float(launchers["depth_km"].mean())
            radius = sc.weapons[wid].range_km
            ax.add_patch(
                Circle(
                    (cx, cy),
                    radius,
                    fill=False,
                    ls=_RING_STYLES[k % len(_RING_STYLES)],
                    lw=1.0,
                    edgecolor=actor_colour(sc.weapons[wid].supplier),
                    zorder=1,
                )
            )
    ax_full.set_title("Whole theater", loc="left", fontsize=9)
    ax_zoom.set_title(f"{city.name} and the border area opposite", loc="left", fontsize=9)
    zx0, zx1, zd0, zd1 = zoom
    ax_full.add_patch(
        Rectangle((zx0, zd0), zx1 - zx0, zd1 - zd0, fill=False, edgecolor="#000000", lw=0.8, ls=":")
    )

    handles: list[Any] = [
        Line2D(
            [],
            [],
            marker="o",
            ls="none",
            color=actor_colour(s),
            mec="white",
            ms=8,
            label=f"target struck with {s} weapons",
        )
        for s in suppliers
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="X",
            ls="none",
            color="#000000",
            ms=8,
            label=f"withheld: no allowed weapon ({len(withheld)})",
        ),
        Line2D(
            [],
            [],
            marker="P",
            ls="none",
            color=GREY,
            ms=8,
            label=f"second-choice weapon ({len(constrained)})",
        ),
        Patch(facecolor=actor_colour("RUS"), alpha=0.5, label="Russian unit"),
        Patch(facecolor=actor_colour("UKR"), alpha=0.5, label="Ukrainian unit"),
    ]
    handles += [
        Line2D(
            [],
            [],
            marker=CLASS_MARKERS.get(c, "o"),
            ls="none",
            color=GREY,
            ms=6,
            label=c.replace("_", " "),
        )
        for c in sorted(units["target_class"].unique())
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="*",
            ls="none",
            mfc="#F0E442",
            color="#000000",
            ms=12,
            label=f"{city.name} (target city)",
        )
    ]
    for k, wid in enumerate(rings):
        handles.append(
            Line2D(
                [],
                [],
                ls=_RING_STYLES[k % len(_RING_STYLES)],
                color=actor_colour(sc.weapons[wid].supplier),
                label=f"{wid} reach from its launchers ({sc.weapons[wid].range_km:g} km)",
            )
        )
    ax_legend.legend(handles=handles, loc="upper left", ncols=3, fontsize=7.5, frameon=False)
    _suptitle(
        fig,
        title or f"Theater map — {sc.name} (1 run, seed {result.seed})",
        f"{len(strikes)} strikes, {len(withheld)} withheld and {len(constrained)} second-choice "
        f"opportunities over {result.summary.get('days', 0):g} days; positions schematic "
        "(straightened border)",
    )
    return fig


# --------------------------------------------------------------------------- sanctuary


def _rule_supplier(rule: str, scenario: Scenario | None) -> str | None:
    if ":" in rule:
        return rule.split(":", 1)[1]
    if scenario is not None:
        for sid, policy in scenario.rules.items():
            for posture in policy.postures.values():
                if any(r.id == rule for r in posture.rules):
                    return sid
        for change in scenario.schedule:
            if any(r.id == rule for r in change.add_rules):
                return change.supplier
    return None


def withheld_by_rule(
    source: RunResult | pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    scenario: Scenario | None = None,
    title: str | None = None,
    scenario_name: str | None = None,
) -> Figure:
    """Strike opportunities the rules forbade (the "sanctuary"), by the rule that decided.

    * One run: per deciding rule, the opportunities withheld (no allowed weapon)
      and those struck with a second-choice weapon, with the forbidden weapons
      named; beside it, the depth of each forbidden opportunity.
    * An ensemble's ``runs`` table: mean withheld opportunities per run by rule,
      with the 5-95 % range across runs.
    * A mapping of label to ``runs`` table (a comparison): the same, one bar per label.

    Bars take the colour of the supplier whose rule decided (or of the label).

    Args:
        source: A :class:`RunResult`, a ``runs`` table, or ``{label: runs table}``.
        scenario: Used to name the supplier of each rule in a ``runs`` table.
        title: Override the title.
        scenario_name: Scenario name for the title of a ``runs`` table.

    Returns:
        The figure (two panels for one run, one otherwise).
    """
    from escalation_sim.results import RunResult

    if isinstance(source, RunResult):
        return _withheld_run(source, title)
    if isinstance(source, pd.DataFrame):
        return _withheld_runs({"": source}, scenario, title, scenario_name)
    return _withheld_runs(dict(source), scenario, title, scenario_name)


def _withheld_run(result: RunResult, title: str | None) -> Figure:
    sc = result.scenario
    ev = result.events_frame()
    forbidden = ev[ev["kind"].isin(["withheld", "constrained"])] if len(ev) else ev
    head = (
        title
        or f"Sanctuary: strike opportunities forbidden, by deciding rule — {sc.name} (1 run, seed {result.seed})"
    )
    if forbidden.empty:
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, "No strike opportunity was forbidden by a rule in this run.")
        _suptitle(fig, head)
        return fig
    counts = forbidden.groupby(["rule", "kind"]).size().unstack(fill_value=0)
    for kind in ("withheld", "constrained"):
        if kind not in counts:
            counts[kind] = 0
    counts = counts.loc[counts.sum(axis=1).sort_values().index]
    rules = list(counts.index)
    fig = _figure(13.0, 1.6 + 0.55 * len(rules) + 1.0)
    ax, ax_d = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1.25, 1]})
    y = np.arange(len(rules))
    rng = np.random.default_rng(0)
    for i, rule in enumerate(rules):
        sup = forbidden.loc[forbidden["rule"] == rule, "supplier"].mode().iloc[0]
        colour = actor_colour(str(sup))
        wh, co = int(counts.loc[rule, "withheld"]), int(counts.loc[rule, "constrained"])
        ax.barh(i, wh, color=colour, height=0.6)
        ax.barh(i, co, left=wh, color=colour, alpha=0.35, hatch="///", edgecolor=colour, height=0.6)
        sub = forbidden[forbidden["rule"] == rule]
        weapons = ", ".join(sub["weapon"].value_counts().index[:3])
        ax.annotate(
            f"{wh} withheld + {co} second-choice ({weapons})",
            (wh + co, i),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
        )
        for kind, colour_k, dy in (("withheld", "#000000", -0.12), ("constrained", GREY, 0.12)):
            d = sub.loc[sub["kind"] == kind, "depth_km"].to_numpy(dtype=float)
            if len(d):
                jitter = rng.uniform(-0.1, 0.1, len(d))
                ax_d.scatter(
                    d, i + dy + jitter, s=9, c=colour_k, alpha=0.5, linewidths=0, marker="o"
                )
    ax.set_yticks(y, rules, fontsize=8)
    ax.set_xlim(0, counts.sum(axis=1).max() * 1.7)
    ax.set_xlabel("opportunities (count)")
    ax.set_ylabel("deciding rule")
    ax.set_title(
        "Withheld (solid) + struck with a second-choice weapon (hatched); forbidden weapons in brackets",
        loc="left",
        fontsize=8.5,
    )
    ax_d.axvline(0, color="#000000", lw=1)
    ax_d.set_xlabel("depth of the target (km into Russia; negative = Ukraine)")
    ax_d.set_title("Where the forbidden opportunities lay", loc="left", fontsize=8.5)
    ax_d.legend(
        handles=[
            Line2D([], [], marker="o", ls="none", color="#000000", label="withheld"),
            Line2D([], [], marker="o", ls="none", color=GREY, label="second-choice weapon"),
        ],
        loc="lower right",
        fontsize=8,
        frameon=True,
    )
    _suptitle(fig, head)
    return fig


def _withheld_runs(
    runs_by_label: dict[str, pd.DataFrame],
    scenario: Scenario | None,
    title: str | None,
    scenario_name: str | None,
) -> Figure:
    labels = list(runs_by_label)
    cols: list[str] = []
    for runs in runs_by_label.values():
        cols += [c for c in _nonzero_columns(runs, "withheld.rule.") if c not in cols]
    n_runs = {lab: len(r) for lab, r in runs_by_label.items()}
    single = labels == [""]
    if single:
        name = scenario_name or (
            str(runs_by_label[""]["scenario"].iloc[0]) if "scenario" in runs_by_label[""] else None
        )
        head = title or "Sanctuary: withheld opportunities per run, by deciding rule" + _title_tail(
            name, n_runs[""]
        )
    else:
        sizes = sorted(set(n_runs.values()))
        n = sizes[0] if len(sizes) == 1 else None
        head = title or "Sanctuary: withheld opportunities per run, by deciding rule — " + (
            f"{len(labels)} rule sets" + (f" ({_runs_phrase(n)} each)" if n else "")
        )
    if not cols:
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, "No opportunity was withheld by a rule in any run.")
        _suptitle(fig, head)
        return fig
    means = {
        lab: [float(r[c].mean()) if c in r else 0.0 for c in cols]
        for lab, r in runs_by_label.items()
    }
    order = np.argsort([sum(means[lab][j] for lab in labels) for j in range(len(cols))])
    cols = [cols[j] for j in order]
    rules = [c.removeprefix("withheld.rule.") for c in cols]
    fig = _figure(11.0, 1.8 + (0.35 * len(labels) + 0.25) * len(rules))
    ax = fig.subplots()
    colours = label_colours(labels)
    height = 0.8 / len(labels)
    for k, (lab, runs) in enumerate(runs_by_label.items()):
        for i, col in enumerate(cols):
            y = i - (k - (len(labels) - 1) / 2) * height
            vals = runs[col].to_numpy(dtype=float) if col in runs else np.zeros(len(runs))
            mean = float(vals.mean()) if len(vals) else 0.0
            lo, hi = np.percentile(vals, [5, 95]) if len(vals) else (0.0, 0.0)
            if single:
                supplier = _rule_supplier(rules[i], scenario)
                colour = actor_colour(supplier) if supplier else GREY
            else:
                colour = colours[lab]
            ax.barh(
                y,
                mean,
                height=height * 0.9,
                color=colour,
                label=lab if i == 0 and not single else None,
            )
            ax.plot([lo, hi], [y, y], color="#000000", lw=0.9, marker="|", ms=6)
            ax.annotate(
                _fmt(mean),
                (max(mean, hi), y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
            )
    ax.set_yticks(range(len(rules)), rules, fontsize=8)
    ax.set_xlabel("withheld opportunities per run (mean; whiskers: 5-95 % of runs)")
    ax.set_ylabel("deciding rule")
    ax.set_xlim(left=0)
    if not single:
        ax.legend(fontsize=8, frameon=False, loc="lower right", title="rule set", title_fontsize=8)
    _suptitle(fig, head)
    return fig


# --------------------------------------------------------------------------- ensembles


def _series_panels(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or (2 if n > 3 else 1)
    return math.ceil(n / ncols), ncols


def _is_rung_series(series: str) -> bool:
    return series.startswith("rung.")


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
    for ax, s in zip(axes, series, strict=False):
        d = aggregates[aggregates["series"] == s].sort_values("step")
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
        if _is_rung_series(s):
            names = (ladders or {}).get(actor or "")
            if names:
                _rung_axis(ax, names, fontsize=7)
            else:
                ax.set_ylabel("rung")
            ax.set_title(f"{actor}: rung on its ladder", loc="left", fontsize=9)
        else:
            text, unit = describe_outcome(s, city=city)
            ax.set_ylabel(unit or s, fontsize=8)
            ax.set_title(text[0].upper() + text[1:], loc="left", fontsize=9)
        _date_axis(ax)
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(series) - ncols) : len(series)]:
        ax.set_xlabel("date")
        ax.xaxis.set_tick_params(labelbottom=True)
    axes[0].legend(fontsize=7.5, frameon=False, loc="upper left", ncols=2)
    what = "Escalation fan chart" if all(_is_rung_series(s) for s in series) else "Fan chart"
    _suptitle(
        fig,
        title or what + _title_tail(scenario, n_runs),
        "median, 50 % and 90 % of runs at each date; dashed: mean",
    )
    return fig


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
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, "No actor climbed above its starting rung in any run.")
        _suptitle(fig, head, sub)
        return fig
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
    dates = pd.to_datetime(d.drop_duplicates("step").sort_values("step")["date"])
    step_len = dates.diff().median() if len(dates) > 1 else pd.Timedelta(days=1)
    edges = mdates.date2num([*list(dates - step_len / 2), dates.iloc[-1] + step_len / 2])
    fig = _figure(12.0, 1.5 + 0.36 * len(names))
    ax = fig.subplots()
    mesh = ax.pcolormesh(
        edges,
        np.arange(len(names) + 1) - 0.5,
        grid.reindex(range(len(names))).fillna(0.0).to_numpy(),
        cmap="cividis",
        vmin=0.0,
        vmax=1.0,
        shading="flat",
    )
    ax.xaxis_date()
    _rung_axis(ax, names)
    ax.grid(False)
    ax.set_xlabel("date")
    _date_axis(ax)
    bar = fig.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label("share of runs on this rung or higher")
    _suptitle(
        fig,
        title
        or f"{actor}: probability of reaching each rung by each day"
        + _title_tail(scenario, n_runs),
    )
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
    title: str | None = None,
) -> Figure:
    """Time-to-threshold survival: the share of runs that have not yet reached a rung, by day.

    From the ``first_day_rung.<actor>.<k>`` columns of a ``runs`` table (NaN:
    never reached; such runs count as surviving to the horizon). Shaded: a
    pointwise 95 % Wilson interval.

    * One ``runs`` table: one panel, one curve per rung.
    * ``{label: runs table}`` (a comparison): one panel per rung, one curve per label.

    Args:
        runs: A ``runs`` table or a mapping of label to ``runs`` table.
        actor: Whose ladder.
        rungs: Rungs to draw (default: every rung some run reached after day 0).
        ladder: Rung names of the actor's ladder, for labels.
        horizon_days: Last day of the runs (default: the latest first day seen).
        start_date: Date of day 0; with it the time axis shows dates.
        scenario: Scenario name for the title.
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
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, f"{actor} climbed no rung after the start in any run.")
        _suptitle(fig, head, sub)
        return fig
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
        nrows, ncols = _series_panels(len(rungs), None if len(rungs) > 1 else 1)
        fig = _figure(6.5 * ncols, 3.2 * nrows + 1.3)
        axes = list(np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel())
        colours = label_colours(list(by_label))
        for ax, k in zip(axes, rungs, strict=False):
            for lab, r in by_label.items():
                col = f"{prefix}{k}"
                vals = r[col].to_numpy(dtype=float) if col in r else np.full(len(r), np.nan)
                s, lo, hi = _survival(vals, days)
                ax.fill_between(x, lo, hi, step="post", color=colours[lab], alpha=0.15, lw=0)
                ax.step(x, s, where="post", color=colours[lab], lw=1.8, label=lab)
            ax.set_title(name_of(k), loc="left", fontsize=9)
        for ax in axes[len(rungs) :]:
            ax.set_visible(False)
        axes[0].legend(
            fontsize=8, frameon=False, loc="lower left", title="rule set", title_fontsize=8
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


def paired_differences(
    comparison: pd.DataFrame,
    *,
    outcomes: Sequence[str] | None = None,
    order: Sequence[str] | None = None,
    city: str = "Kharkiv",
    ncols: int = 3,
    title: str | None = None,
) -> Figure:
    """Paired differences between rule sets on the same seeds, with confidence intervals.

    One panel per outcome (each in its own unit); in each, one row per rule set:
    the mean of (rule set − baseline) over paired runs, its confidence interval,
    and the two means it compares. A zero line marks "no difference".

    Args:
        comparison: Tidy table (``outcome``, ``baseline``, ``scenario``,
            ``mean_baseline``, ``mean_scenario``, ``mean_diff``, ``ci_low``,
            ``ci_high``, ``ci_level``, ``n``).
        outcomes: Outcomes to draw, in order (default: all in the table).
        order: Rule sets in order (default: as they appear).
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
        ax.set_xlabel(
            f"difference vs baseline ({unit})" if unit else "difference vs baseline", fontsize=8
        )
        ax.set_ylim(-0.7, len(scenarios) - 0.3)
        ax.margins(x=0.25)
        span = d[["ci_low", "ci_high", "mean_diff"]].abs().to_numpy(dtype=float)
        if not np.isfinite(span).any() or np.nanmax(span) < 1e-9:
            ax.set_xlim(-1.0, 1.0)  # no difference at all: a readable axis around zero
        ax.grid(axis="x", alpha=0.25)
    axes[0].set_yticks(range(len(scenarios)), scenarios)
    axes[0].invert_yaxis()  # the first rule set on top, as in the table
    for ax in axes:
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
    for ax in axes[::ncols]:
        ax.set_ylabel("rule set", fontsize=8)
    for ax in axes[len(outcomes) :]:
        ax.set_visible(False)
    n = comparison["n"].iloc[0] if len(comparison) else 0
    level = comparison["ci_level"].iloc[0] if len(comparison) else 0.95
    base = ", ".join(baselines)
    _suptitle(
        fig,
        title or f"Rule sets compared with {base} on the same seeds ({_runs_phrase(int(n))} each)",
        f"points: mean paired difference (rule set − baseline); bars: {level:.0%} confidence "
        "interval; text: baseline mean → rule-set mean",
    )
    return fig


def compare_fan(
    aggregates: Mapping[str, pd.DataFrame],
    *,
    series: Sequence[str] = ("rung.RUS",),
    ladders: Mapping[str, Sequence[str]] | None = None,
    n_runs: int | None = None,
    city: str = "Kharkiv",
    title: str | None = None,
) -> Figure:
    """Rule sets side by side over time: median and 50 % band of each, one panel per series.

    Args:
        aggregates: Label to tidy ``aggregates`` table (as for :func:`fan_chart`).
        series: Series to draw.
        ladders: Rung names per actor, for rung series.
        n_runs: Runs per rule set, for the title.
        city: Name of the target city, for labels.
        title: Override the title.

    Returns:
        The figure (one panel per series).
    """
    labels = list(aggregates)
    colours = label_colours(labels)
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
                ax.step(dates, d["p50"], where="post", color=colours[lab], lw=2, label=lab)
            else:
                ax.plot(dates, d["p50"], color=colours[lab], lw=2, label=lab)
        if is_rung:
            actor = s.split(".", 1)[1]
            names = (ladders or {}).get(actor)
            if names:
                _rung_axis(ax, names, fontsize=7)
            else:
                ax.set_ylabel("rung")
            ax.set_title(f"{actor}: rung on its ladder", loc="left", fontsize=9)
        else:
            text, unit = describe_outcome(s, city=city)
            ax.set_ylabel(unit or s, fontsize=8)
            ax.set_title(text[0].upper() + text[1:], loc="left", fontsize=9)
        ax.set_xlabel("date")
        _date_axis(ax)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=colours[lab], lw=2, label=lab) for lab in labels]
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
        title: Override the title.

    Returns:
        The figure (one panel per rung).
    """
    labels = list(runs)
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
                xerr=[[x - lo], [hi - x]],
                yerr=half,
                fmt="o",
                ms=8,
                color=colours[lab],
                capsize=3,
                label=lab,
            )
            ax.annotate(lab, (x, y), xytext=(7, 7), textcoords="offset points", fontsize=8)
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
        labels: Axis labels for parameters (default: the parameter path itself).
        outcome_labels: Axis labels for outcomes (default: the outcome's description
            and unit, e.g. for a column you derived yourself).
        by: A parameter (of a grid) whose values get a line each instead of a
            panel, to show how two parameters interact.
        scenario: Scenario name for the title.
        city: Name of the target city, for labels.
        title: Override the title.

    Returns:
        The figure (outcomes × parameters panels).
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
                ax.fill_between(centres, means - half, means + half, color=colour, alpha=0.2, lw=0)
                ax.plot(centres, means, color=colour, lw=2, marker="o", ms=4)
            if cats is not None:
                ax.set_xticks(range(len(cats)), cats, fontsize=8)
            ax.set_xlabel((labels or {}).get(p, p), fontsize=8)
            ax.grid(alpha=0.25)
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
) -> Figure:
    """Sensitivity indices as bars: one panel per outcome, grouped by parameter.

    First-order and total indices (or Morris's) of each parameter side by side,
    with their confidence as whiskers. Second-order rows (``S2``) are left out;
    outcomes whose indices are all zero or missing (an outcome that never
    varied) are named under the title instead of drawn as empty panels.

    Args:
        sensitivity: ``parameter``, ``outcome``, ``method``, ``index``, ``value``,
            ``conf`` (and optionally ``parameter_2``).
        outcome: Outcome(s) to draw (default: all in the table).
        labels: Display names for parameters (default: the parameter path itself).
        scenario: Scenario name for the title.
        n_runs: Number of runs behind the indices, for the title.
        city: Name of the target city, for labels.
        title: Override the title.

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
    sub = f"method: {', '.join(methods)}; whiskers: confidence of each index"
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
    axes[0].set_yticks(top_first, [(labels or {}).get(p, p) for p in params])
    for ax in axes[::ncols]:
        ax.set_ylabel("parameter", fontsize=8)
    axes[0].legend(fontsize=8, frameon=False, loc="best", title="index", title_fontsize=8)
    for ax in axes[len(drawn) :]:
        ax.set_visible(False)
    _suptitle(fig, head, sub)
    return fig
