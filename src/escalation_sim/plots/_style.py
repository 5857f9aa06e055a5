"""Shared style: palette, labels, ladders and small drawing helpers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
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
    "withheld": ("opportunities withheld as sanctuary", "opportunities"),
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


#: Which direction of an outcome is better, read as the project's users read it: from
#: the defence of the city and the avoidance of escalation. Outcomes not listed (e.g.
#: strikes inside Russia: more defence, more provocation) have no better direction.
BETTER: dict[str, str] = {
    "fire_on_city": "lower",
    "harm": "lower",
    "harm_cumulative": "lower",
    "withheld": "lower",
    "constrained": "lower",
    "losses.RUS": "higher",
    "losses.UKR": "lower",
    "alive.RUS": "lower",
    "alive.UKR": "higher",
    "nato_conflict": "lower",
    "nuclear_use": "lower",
    "peak_rung.<actor>": "lower",
    "final_rung.<actor>": "lower",
}


def better_direction(name: str) -> str | None:
    """``"lower"``, ``"higher"`` or ``None``: which way an outcome is better (see :data:`BETTER`)."""
    if name in BETTER:
        return BETTER[name]
    head = name.rpartition(".")[0]
    return BETTER.get(f"{head}.<actor>") if head else None


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


def _message_figure(text: str, head: str, sub: str | None = None) -> Figure:
    """A small figure that says, in words, why there is nothing to draw."""
    fig = _figure(10.0, 3.0)
    _message(fig.subplots(), text)
    _suptitle(fig, head, sub)
    return fig


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


def _id_pattern(ids: Sequence[str]) -> re.Pattern[str] | None:
    """A regex matching any of ``ids`` as a whole token (not inside a rule id like ``us-x-y``)."""
    if not ids:
        return None
    alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")


def readable_cause(text: str, scenario: Scenario) -> str:
    """A decision cause with the theater's zone and place ids replaced by their names.

    Rule ids are kept: they are what a reader looks up in the scenario file.

    Args:
        text: A cause as the event log records it, e.g.
            ``"USA GMLRS strikes in belgorod_border under us-kharkiv-counterfire"``.
        scenario: The run's scenario (for zone and place names).

    Returns:
        The same cause in words, e.g. ``"USA GMLRS strikes in Belgorod border area
        (opposite Kharkiv) under us-kharkiv-counterfire"``.
    """
    th = scenario.theater
    names = {z: spec.name for z, spec in th.zones.items()}
    names |= {p: spec.name for p, spec in th.places.items()}
    pattern = _id_pattern(list(names))
    return pattern.sub(lambda m: names[m.group(1)], text) if pattern else text


def posture_description(scenario: Scenario, supplier: str, posture: str) -> str:
    """A supplier's posture in words: its description, or its id in words when it has none."""
    policy = scenario.rules.get(supplier)
    spec = policy.postures.get(posture) if policy is not None else None
    if spec is not None and spec.description:
        return spec.description
    return posture.replace("_", " ")
