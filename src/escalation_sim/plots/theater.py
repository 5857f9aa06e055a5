"""The theater map: polygon zones, the border, places, units, strikes and withheld strikes."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Polygon, Rectangle
from matplotlib.path import Path as MplPath

if TYPE_CHECKING:
    from escalation_sim.results import RunResult
    from escalation_sim.scenario.schema import Scenario

from escalation_sim.plots._style import GREY, LIGHT_GREY, _figure, _suptitle, actor_colour

#: Unit markers by target class, in four families so the legend stays short: firing
#: units (square), air defence (hexagon), sensors and drone units (triangle), fixed
#: sites (diamond). No marker doubles as an event marker (struck: filled circle;
#: withheld: black cross; second choice: open circle).
CLASS_MARKERS: dict[str, str] = {
    "artillery": "s",
    "missile_launcher": "s",
    "launcher": "s",
    "air_defence": "h",
    "radar": "v",
    "drone_site": "v",
    "airbase": "D",
    "command_post": "D",
    "logistics": "D",
    "energy": "D",
    "strategic": "D",
}
_FAMILIES = {
    "s": "firing unit (battery, launcher)",
    "h": "air defence",
    "v": "sensor or drone unit",
    "D": "fixed site (airbase, command post, depot, energy)",
}

_RING_STYLES: list[Any] = [(0, (4, 3)), (0, (1, 2)), (0, (6, 2, 1, 2))]


def unit_table(scenario: Scenario, seed: int = 0) -> pd.DataFrame:
    """Every deployed unit's position and kind as placed at set-up for a scenario and seed.

    Units held in reserve are left out; mobile units move during a run, so
    this is where they started (strikes are drawn where they landed, from the
    event log). Building the model costs a fraction of a run; nothing is stepped.

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
    deployed = np.flatnonzero(f.alive)
    groups = [f.group_ids[g] for g in f.group[deployed].tolist()]
    owners = [model.actor_ids[o] for o in f.owner[deployed].tolist()]
    table = pd.DataFrame(
        {
            "label": [f.labels[i] for i in deployed.tolist()],
            "group": groups,
            "owner": owners,
            "side": [scenario.actors[o].side for o in owners],
            "unit_type": [scenario.forces[g].unit_type for g in groups],
            "target_class": [f.class_ids[c] for c in f.cls[deployed].tolist()],
            "x_km": f.x[deployed].copy(),
            "depth_km": f.depth[deployed].copy(),
        }
    )
    del model
    return table


def _label_point(
    outline: list[tuple[float, float]], territory: str, view: tuple[float, float, float, float]
) -> tuple[float, float] | None:
    """Where a zone's name goes: inside its visible part, on the side away from the border.

    Units crowd the border, so a Russian zone is labelled near its far (deep)
    edge and a Ukrainian zone near its rear edge, in the middle of its width.
    """
    x0, x1, d0, d1 = view
    poly = MplPath(outline)
    xs = np.linspace(x0, x1, 41)[1:-1]
    ds = np.linspace(d0, d1, 41)[1:-1]
    gx, gd = np.meshgrid(xs, ds)
    pts = np.c_[gx.ravel(), gd.ravel()]
    inside = poly.contains_points(pts)
    if inside.sum() < 6:
        return None
    pts = pts[inside]
    depth = pts[:, 1]
    far = np.quantile(depth, 0.85) if territory == "russia" else np.quantile(depth, 0.15)
    row = pts[np.abs(depth - far) <= (d1 - d0) / 40.0 + 1e-9]
    return float(np.median(row[:, 0])), float(far)


def _draw_theater(
    ax: Axes, scenario: Scenario, view: tuple[float, float, float, float], km_per_char: float
) -> None:
    """Zones (polygons), the border and the places, clipped to ``view`` = (x0, x1, d0, d1).

    ``km_per_char`` is the width of one character of a zone label in km at
    this panel's scale, used to wrap labels inside their zone. Labels and
    places are drawn above the unit markers, on a white ground.
    """
    th = scenario.theater
    x0, x1, d0, d1 = view
    for zone in th.zones.values():
        outline = zone.outline()
        fill = actor_colour("UKR") if zone.territory == "ukraine" else actor_colour("RUS")
        ax.add_patch(
            Polygon(
                outline,
                closed=True,
                facecolor=fill,
                alpha=0.06,
                edgecolor="none",
                hatch="//" if zone.occupied else None,
            )
        )
        ax.add_patch(
            Polygon(outline, closed=True, fill=False, edgecolor=LIGHT_GREY, lw=0.7, zorder=1)
        )
        where = _label_point(outline, zone.territory, view)
        if where is None:
            continue
        zx0, zx1, _, _ = zone.bounds()
        chars = int(0.8 * (min(zx1, x1) - max(zx0, x0)) / km_per_char)
        if chars < max(map(len, zone.name.split())):
            continue
        ax.text(
            *where,
            textwrap.fill(zone.name, chars),
            fontsize=7,
            color=GREY,
            va="center",
            ha="center",
            clip_on=True,
            style="italic",
            zorder=7,
            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    ax.axhline(0.0, color="#000000", lw=1.8, zorder=5)
    ax.text(
        x1 - 0.01 * (x1 - x0),
        0.01 * (d1 - d0),
        "state border (straightened) ▲ Russia",
        fontsize=7,
        ha="right",
        va="bottom",
        zorder=7,
        bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75},
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
            zorder=8,
        )
        ax.annotate(
            place.name,
            (place.x_km, place.depth_km),
            xytext=(7, -3),
            textcoords="offset points",
            fontsize=9 if target else 7.5,
            fontweight="bold" if target else "normal",
            zorder=8,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(d0, d1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("km along the border")
    ax.set_ylabel("depth into Russia (km; negative = Ukraine)")


def _where(frame: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Mean position and count per target: from the events' positions, else the unit table."""
    if {"x_km", "depth_km"} <= set(frame.columns):
        return frame.groupby("target").agg(
            x_km=("x_km", "mean"), depth_km=("depth_km", "mean"), n=("step", "size")
        )
    counts = frame.groupby("target").size().rename("n")
    pos = units.set_index("label")[["x_km", "depth_km"]].reindex(counts.index)
    return pos.assign(n=counts)


def theater_map(
    result: RunResult,
    *,
    units: pd.DataFrame | None = None,
    rings: Sequence[str] | None = None,
    zoom: tuple[float, float, float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """The theater of one run: zones, border, places, units, strikes and withheld strikes.

    Left: the whole theater. Right: a close-up of the target city and the
    border area opposite it. Zones are the scenario's polygons (simplified
    oblast outlines by default) and the border is the heavy line. Units are
    drawn where they started (colour by side, marker by kind); each target
    struck is a filled dot where the strikes landed, in the colour of the
    weapon's supplier (size grows with the number of strikes); each target the
    rules kept out of reach is a black cross (withheld: no allowed weapon) or
    an open circle (struck with a second-choice weapon). Dashed circles show
    the reach of chosen weapons from the mean launch point of their launchers.

    Args:
        result: One run.
        units: The unit table (default: rebuilt with :func:`unit_table` from the
            run's scenario and seed).
        rings: Weapons whose reach to draw (default: ``GMLRS`` and ``ATACMS`` when present).
        zoom: The close-up's ``(x_min, x_max, depth_min, depth_max)`` in km
            (default: 100 km west to 160 km east of the target city, 100 km into Russia).
        title: Override the title.

    Returns:
        The figure (two panels).
    """
    sc = result.scenario
    th = sc.theater
    units = unit_table(sc, result.seed) if units is None else units
    ev = result.events_frame()
    city = th.places[th.target_city]
    full = (th.x_extent_km.min, th.x_extent_km.max, th.depth_extent_km.min, th.depth_extent_km.max)
    zoom = zoom or (city.x_km - 100, city.x_km + 160, min(city.depth_km - 40, -70.0), 100.0)
    full_aspect = (full[1] - full[0]) / (full[3] - full[2])
    zoom_aspect = (zoom[1] - zoom[0]) / (zoom[3] - zoom[2])
    zoom_w = 8.4
    zoom_h = zoom_w / zoom_aspect
    height = zoom_h + 2.0
    full_w = full_aspect * height
    fig = _figure(full_w + zoom_w + 0.9, height + 1.3)
    grid = fig.add_gridspec(2, 2, width_ratios=[full_w, zoom_w], height_ratios=[zoom_h, 2.0])
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
    launch = {
        g: spec.launch_depth_km for g, spec in sc.forces.items() if spec.launch_depth_km is not None
    }

    for ax, view in ((ax_full, full), (ax_zoom, zoom)):
        km_per_inch = (view[1] - view[0]) / (full_w if ax is ax_full else zoom_w)
        _draw_theater(ax, sc, view, km_per_char=km_per_inch * 7 * 0.6 / 72)
        scale = 1.0 if ax is ax_zoom else 0.55
        for (side, cls), grp in units.groupby(["side", "target_class"], sort=True):
            ax.scatter(
                grp["x_km"],
                grp["depth_km"],
                s=20 * scale,
                marker=CLASS_MARKERS.get(str(cls), "o"),
                c=actor_colour("RUS") if side == "russia" else actor_colour("UKR"),
                alpha=0.45,
                linewidths=0,
                zorder=2,
            )
        for i, sup in enumerate(suppliers):
            xy = _where(strikes[strikes["supplier"] == sup], units)
            jitter = (i - (len(suppliers) - 1) / 2) * (1.2 if ax is ax_zoom else 3.0)
            ax.scatter(
                xy["x_km"] + jitter,
                xy["depth_km"],
                s=(10 + 3.5 * xy["n"].to_numpy()).clip(max=160) * scale,
                c=actor_colour(sup),
                alpha=0.8,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
            )
        for frame, style in (
            (withheld, {"marker": "X", "c": "#000000", "linewidths": 0}),
            (
                constrained,
                {"marker": "o", "facecolors": "none", "edgecolors": GREY, "linewidths": 1.0},
            ),
        ):
            if len(frame):
                xy = _where(frame, units)
                ax.scatter(
                    xy["x_km"],
                    xy["depth_km"] - (2.5 if ax is ax_zoom else 6),
                    s=(14 + 3 * xy["n"].to_numpy()).clip(max=200) * scale,
                    alpha=0.85,
                    zorder=4,
                    **style,
                )
        for k, wid in enumerate(rings):
            carriers = [g for g, spec in sc.forces.items() if wid in spec.weapons]
            launchers = units[units["group"].isin(carriers)]
            if launchers.empty:
                continue
            depth = launchers["group"].map(launch).fillna(launchers["depth_km"])
            cx, cy = float(launchers["x_km"].mean()), float(depth.mean())
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

    events: list[Any] = [
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
    events += [
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
            marker="o",
            ls="none",
            mfc="none",
            mec=GREY,
            ms=8,
            label=f"second-choice weapon ({len(constrained)})",
        ),
        Line2D(
            [],
            [],
            marker="*",
            ls="none",
            mfc="#F0E442",
            color="#000000",
            ms=12,
            label=f"{city.name} (target city)",
        ),
    ]
    for k, wid in enumerate(rings):
        events.append(
            Line2D(
                [],
                [],
                ls=_RING_STYLES[k % len(_RING_STYLES)],
                color=actor_colour(sc.weapons[wid].supplier),
                label=f"{wid} reach from its launchers ({sc.weapons[wid].range_km:g} km)",
            )
        )
    present = {CLASS_MARKERS.get(c, "o") for c in units["target_class"].unique()}
    kinds: list[Any] = [
        Line2D([], [], marker=m, ls="none", color=GREY, ms=6, label=label)
        for m, label in _FAMILIES.items()
        if m in present
    ]
    kinds += [
        Patch(facecolor=actor_colour("RUS"), alpha=0.5, label="Russian"),
        Patch(facecolor=actor_colour("UKR"), alpha=0.5, label="Ukrainian"),
    ]
    # The units' key is an extra artist; the events' key is the panel's legend proper.
    key = ax_legend.legend(
        handles=kinds,
        loc="upper right",
        ncols=1,
        fontsize=7.5,
        frameon=False,
        title="Units (where they started)",
        title_fontsize=8,
        alignment="left",
    )
    ax_legend.add_artist(key)
    ax_legend.legend(
        handles=events,
        loc="upper left",
        ncols=2,
        fontsize=7.5,
        frameon=False,
        title="What happened",
        title_fontsize=8,
        alignment="left",
    )
    _suptitle(
        fig,
        title or f"Theater map — {sc.name} (1 run, seed {result.seed})",
        f"{len(strikes)} strikes, {len(withheld)} withheld and {len(constrained)} second-choice "
        f"opportunities over {result.summary.get('days', 0):g} days; oblast outlines simplified, "
        "border straightened",
    )
    return fig


# --------------------------------------------------------------------------- sanctuary
