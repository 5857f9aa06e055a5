"""Figures. Every function takes the project's results or DataFrames and returns a Figure.

No function touches global pyplot state beyond creating its own figure, so
they work headless, in scripts and in notebooks alike. Colours per actor are
fixed across figures and drawn from the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from escalation_sim.results import RunResult

#: Okabe-Ito palette (colour-blind safe).
OKABE_ITO = ["#0072B2", "#D55E00", "#CC79A7", "#009E73", "#E69F00", "#000000", "#56B4E9", "#F0E442"]
ACTOR_COLOURS: dict[str, str] = {
    "UKR": "#0072B2",
    "RUS": "#D55E00",
    "USA": "#CC79A7",
    "GBR": "#009E73",
    "FRA": "#E69F00",
    "DEU": "#000000",
}
ACTOR_MARKERS: dict[str, str] = {
    "UKR": "o",
    "RUS": "s",
    "USA": "^",
    "GBR": "v",
    "FRA": "D",
    "DEU": "P",
}


def actor_colour(actor: str) -> str:
    """The fixed colour of an actor (actors beyond the default cast get the spare colours)."""
    if actor in ACTOR_COLOURS:
        return ACTOR_COLOURS[actor]
    spare = ["#56B4E9", "#F0E442", "#999999", "#882255", "#44AA99"]
    return spare[sum(map(ord, actor)) % len(spare)]


def close(fig: Figure) -> None:
    """Release a figure's memory (for scripts that draw many)."""
    plt.close(fig)


def _dates(ts: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(ts["date"])


def _date_axis(ax: Any) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def escalation_curve(result: RunResult, *, actors: list[str] | None = None) -> Figure:
    """Each actor's rung over time as steps, with key events marked.

    Top panel: rungs (named on the axis) per actor; rule changes as vertical
    lines, the first strike inside Russia by each supplier as a marker, each
    climb by Russia labelled. Bottom panel: Russia's escalation pressure against
    the threshold of the next rung, and strikes inside Russia per day.
    """
    ts = result.timeseries
    sc = result.scenario
    rungs = [r.name for r in sc.ladder.rungs]
    actors = actors or list(sc.actors)
    russia = next(a for a, s in sc.actors.items() if s.side == "russia")
    dates = _dates(ts)
    fig, (ax, ax2) = plt.subplots(
        2,
        1,
        figsize=(11, 7.5),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1.3]},
        layout="constrained",
    )
    n = len(actors)
    for i, aid in enumerate(actors):
        offset = (i - (n - 1) / 2) * 0.07
        ax.step(
            dates,
            ts[f"rung.{aid}"] + offset,
            where="post",
            color=actor_colour(aid),
            lw=2.2 if aid == russia else 1.5,
            label=f"{sc.actors[aid].name} ({aid})",
            marker=ACTOR_MARKERS.get(aid),
            markevery=[0],
            ms=5,
        )
    ax.set_yticks(range(len(rungs)), [f"{i}  {name}" for i, name in enumerate(rungs)])
    ax.set_ylim(-0.5, len(rungs) - 0.5)
    ax.set_ylabel("rung on the escalation ladder")
    ax.grid(axis="y", alpha=0.3)

    start = pd.Timestamp(sc.start_date)
    for ev in result.events:
        when = start + pd.Timedelta(days=ev["day"])
        if ev["kind"] == "rule_change":
            ax.axvline(when, color=actor_colour(ev["actor"]), ls="--", lw=1, alpha=0.8)
            ax.annotate(
                f"{ev['actor']}: {ev['to_posture']}",
                (when, len(rungs) - 0.7),
                rotation=90,
                fontsize=7,
                ha="right",
                va="top",
                color=actor_colour(ev["actor"]),
            )
        elif ev["kind"] == "decision" and ev["actor"] == russia and ev["to_rung"] > ev["from_rung"]:
            ax.annotate(
                f"day {ev['day']:g}: {ev['rung_name']}",
                (when, ev["to_rung"]),
                xytext=(4, 6),
                textcoords="offset points",
                fontsize=7,
                color=actor_colour(russia),
            )
    for supplier, day in result.summary.get("first_strike_in_russia_day", {}).items():
        when = start + pd.Timedelta(days=day)
        ax.plot([when], [-0.35], marker="^", ms=8, color=actor_colour(supplier), ls="none")
        ax.annotate(
            f"first {supplier} strike in Russia",
            (when, -0.35),
            xytext=(5, 2),
            textcoords="offset points",
            fontsize=7,
            color=actor_colour(supplier),
        )
    ax.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    ax.set_title(
        f"Escalation curve — {sc.name} (1 run, seed {result.seed})", loc="left", fontsize=11
    )

    pressure = ts[f"pressure.{russia}"]
    rung_now = ts[f"rung.{russia}"].astype(int)
    thresholds = [sc.ladder.rungs[min(k + 1, len(rungs) - 1)].climb_threshold for k in rung_now]
    ax2.plot(
        dates, pressure, color=actor_colour(russia), lw=1.5, label=f"{russia} escalation pressure"
    )
    ax2.step(
        dates,
        thresholds,
        where="post",
        color="#999999",
        ls=":",
        lw=1.2,
        label="threshold of next rung",
    )
    ax2.set_ylabel("pressure")
    ax3 = ax2.twinx()
    ax3.bar(
        dates,
        ts["strikes_in_russia"],
        width=0.8,
        color="#56B4E9",
        alpha=0.6,
        label="strikes inside Russia",
    )
    ax3.set_ylabel("strikes / day")
    handles = ax2.get_legend_handles_labels()[0] + ax3.get_legend_handles_labels()[0]
    ax2.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncols=3)
    ax2.set_xlabel("date")
    _date_axis(ax2)
    return fig
