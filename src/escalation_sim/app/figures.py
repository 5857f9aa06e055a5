"""The explorer's live figures: the theater as it stands, and every actor's escalation curve.

Drawn with matplotlib's object API (no pyplot state), so each browser session
draws its own figures safely from the server's threads.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from escalation_sim.model.forces import ACTIVE, LOST, SIDE_RUSSIA
from escalation_sim.model.model import EscalationModel
from escalation_sim.plots._style import GREY, _ladder_groups, actor_colour
from escalation_sim.plots.theater import CLASS_MARKERS, _draw_theater

#: Days of strikes and withheld strikes the map shows (the last turn's worth).
MAP_WINDOW_DAYS = 7


def _recent(blocks, since: int) -> dict[str, np.ndarray]:
    """Concatenate the event arrays of the blocks from step ``since`` on."""
    chosen = [b.arrays for b in blocks if b.step >= since]
    if not chosen:
        return {}
    return {k: np.concatenate([c[k] for c in chosen]) for k in chosen[0]}


def theater_figure(model: EscalationModel) -> Figure:
    """The border area opposite the target city: units now, strikes and withheld strikes of the last week.

    Deployed units are drawn solid, destroyed ones faint where they were lost;
    units still held in reserve are left out until they arrive.
    """
    sc = model.spec
    th = sc.theater
    city = th.places[th.target_city]
    view = (city.x_km - 100, city.x_km + 160, min(city.depth_km - 40, -70.0), 100.0)
    fig = Figure(figsize=(6.6, 3.7), layout="constrained")
    ax = fig.add_subplot()
    _draw_theater(ax, sc, view, km_per_char=(view[1] - view[0]) / 6.0 * 7 * 0.6 / 72)
    f = model.forces
    for side_is_russia in (True, False):
        side = (f.side == SIDE_RUSSIA) == side_is_russia
        for c, cls in enumerate(f.class_ids):
            # Units still held in reserve are not on the map yet; the lost stay faint where they died.
            for status, alpha in ((ACTIVE, 0.75), (LOST, 0.18)):
                mask = side & (f.cls == c) & (f.status == status)
                if mask.any():
                    ax.scatter(
                        f.x[mask],
                        f.depth[mask],
                        s=24,
                        marker=CLASS_MARKERS.get(cls, "o"),
                        c=actor_colour("RUS" if side_is_russia else "UKR"),
                        alpha=alpha,
                        linewidths=0.8,
                        zorder=2,
                    )
    since = round(model.time) - round(MAP_WINDOW_DAYS / model.step_days) + 1
    strikes = _recent(model.events.strikes, since)
    handles = [
        Line2D([], [], marker="s", ls="none", color=actor_colour("RUS"), label="Russian unit"),
        Line2D([], [], marker="s", ls="none", color=actor_colour("UKR"), label="Ukrainian unit"),
        Line2D([], [], marker="s", ls="none", color=GREY, alpha=0.3, label="destroyed (faint)"),
    ]
    if strikes:
        for s in np.unique(strikes["supplier"]).tolist():
            hit = strikes["target"][strikes["supplier"] == s]
            ax.scatter(
                f.x[hit],
                f.depth[hit],
                s=60,
                c=actor_colour(model.actor_ids[s]),
                edgecolors="white",
                linewidths=0.6,
                alpha=0.85,
                zorder=3,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="none",
                    color=actor_colour(model.actor_ids[s]),
                    label=f"struck with {model.actor_ids[s]} weapons",
                )
            )
    withheld = [b for b in model.events.withheld if b.kind == "withheld"]
    held = _recent(withheld, since)
    if held:
        t = held["target"]
        ax.scatter(f.x[t], f.depth[t] - 2.5, s=40, marker="X", c="#000000", zorder=4)
        handles.append(
            Line2D([], [], marker="X", ls="none", color="#000000", label="withheld by the rules")
        )
    # A figure legend "outside" is laid out by the constrained layout, so it is never cut off.
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False)
    day = round(model.time) * model.step_days
    ax.set_title(
        f"Day {day:g}: units now; strikes and withheld strikes of the last {MAP_WINDOW_DAYS} days",
        loc="left",
        fontsize=9,
    )
    return fig


def curves_figure(model: EscalationModel) -> Figure:
    """Every actor's rung by day, one panel per ladder, and the fire landing on the city by day.

    Each actor climbs its own side's ladder (``Scenario.ladder_for``), so each
    ladder gets its own panel named with its own rungs (Russia's, the Western
    suppliers', Ukraine's); the legend gives each actor's rung now, by name.
    A panel shows its ladder up to a rung above the highest reached (at least
    four rungs), so the lines stay readable while nobody climbs far.
    """
    ts = model.datacollector.get_table_dataframe("series")
    groups = _ladder_groups(model.spec, model.actor_ids)
    shown = [
        min(len(ladder.rungs), max(4, int(ts[[f"rung.{a}" for a in members]].max().max()) + 2))
        for ladder, members in groups
    ]
    fig = Figure(figsize=(6.6, 1.2 + 0.22 * sum(shown)), layout="constrained")
    axes = fig.subplots(
        len(groups) + 1, 1, sharex=True, height_ratios=[*(max(1.2, n) for n in shown), 1.6]
    )
    for ax, (ladder, members), n_shown in zip(axes, groups, shown, strict=False):
        names = [r.name for r in ladder.rungs]
        for k, aid in enumerate(members):
            offset = (k - (len(members) - 1) / 2) * 0.06  # keep equal rungs visible
            now = int(ts[f"rung.{aid}"].iloc[-1])
            ax.step(
                ts["day"],
                ts[f"rung.{aid}"] + offset,
                where="post",
                color=actor_colour(aid),
                lw=2 if aid == model.russia_id else 1.4,
                label=f"{aid}: {now} {names[now]}",
            )
        ax.set_yticks(range(n_shown), [f"{i} {n}" for i, n in enumerate(names[:n_shown])])
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylim(-0.5, n_shown - 0.5)
        ax.legend(
            loc="upper left",
            ncols=1 if len(members) == 1 else 2,
            fontsize=6.5,
            frameon=False,
        )
        ax.grid(axis="y", color="#eeeeee")
        ax.set_ylabel(f"{model.spec.actors[members[0]].side.capitalize()}'s\nladder", fontsize=8)
    axes[0].set_title(
        f"Escalation by day — {model.spec.name}, seed {model.seed}",
        loc="left",
        fontsize=9,
    )
    bottom = axes[-1]
    bottom.bar(ts["day"], ts["fire_on_city"], width=model.step_days, color=GREY)
    bottom.set_ylabel("salvoes on\nthe city", fontsize=8)
    bottom.set_xlabel("day")
    bottom.set_xlim(0, max(model.spec.horizon_days, 1))
    return fig
