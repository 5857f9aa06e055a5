"""The theater map: border, zones, places, units, strikes and withheld strikes."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle

if TYPE_CHECKING:
    from escalation_sim.results import RunResult
    from escalation_sim.scenario.schema import Scenario

from escalation_sim.plots._style import GREY, LIGHT_GREY, _figure, _suptitle, actor_colour

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
    from escalation_sim.model.model import EscalationModel

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
