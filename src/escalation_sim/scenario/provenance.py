"""Where each default comes from: the parameter table of the package defaults.

Every value in ``data/defaults.yaml`` carries its source: a ``source:`` field on
the record it belongs to, or a comment on its line, or a comment on the line of
the record or section that holds it. This module reads the defaults with their
line numbers and resolves each value's source, so the parameter table in
``docs/ODD.md`` is generated from the data rather than copied by hand, and a
test can check that no default is left without a source.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from escalation_sim.scenario.source import parse_yaml_text

#: Sections whose values are model parameters (the rest is catalogue data with `source:` fields).
PARAMETER_SECTIONS = (
    "start_date",
    "horizon_days",
    "step_days",
    "combat",
    "decisions",
    "ladder",
    "ladders",
)

_UNITS = (
    ("_per_day", "per day"),
    ("_km", "km"),
    ("_days", "days"),
    ("_hours", "hours"),
    ("_prob", "probability"),
    ("_chance", "probability"),
    ("coverage", "probability"),
    ("decay", "fraction per day"),
    ("_rate", "chance per day"),
    ("_weight", "pressure units"),
    ("threshold", "pressure units"),
    ("multiplier", "factor"),
)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One default value with its unit, source and plausible range.

    ``range`` is the entry of ``data/assumption_ranges.yaml`` that covers the
    value (e.g. ``[0.1, 0.5]``, or ``x[0.6, 1.6] (log)`` for a factor), empty
    when it has none.
    """

    path: str
    value: Any
    unit: str
    source: str
    range: str = ""


def _unit(path: str) -> str:
    leaf = path.rsplit(".", 1)[-1]
    for suffix, unit in _UNITS:
        if suffix in leaf:
            return unit
    return ""


def _comment(line: str) -> str:
    # A '#' inside quotes is not a comment; the defaults never quote one, but be careful anyway.
    in_quote: str | None = None
    for i, ch in enumerate(line):
        if ch in "\"'":
            in_quote = None if in_quote == ch else (in_quote or ch)
        elif ch == "#" and in_quote is None:
            return line[i + 1 :].strip()
    return ""


def _defaults_text() -> str:
    return (
        resources.files("escalation_sim.scenario.data").joinpath("defaults.yaml").read_text("utf-8")
    )


def default_parameters() -> list[Parameter]:
    """Every scalar default in the parameter sections, with its resolved source."""
    text = _defaults_text()
    lines = text.splitlines()
    data, locs = parse_yaml_text(text, "defaults")
    ranges = default_ranges()
    out: list[Parameter] = []

    def source_for(path: tuple[str | int, ...], node_chain: list[Any]) -> str:
        for depth in range(len(path), 0, -1):
            prefix = path[:depth]
            holder = node_chain[depth - 1] if depth - 1 < len(node_chain) else None
            if isinstance(holder, dict) and isinstance(holder.get("source"), str):
                return holder["source"]
            line = locs.get(prefix, ("", None))[1]
            if line is not None:
                comment = _comment(lines[line - 1])
                if comment:
                    return comment
        return ""

    def walk(node: Any, path: tuple[str | int, ...], chain: list[Any]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("source", "description", "name", "note", "id"):
                    continue
                walk(v, (*path, k), [*chain, node])
        elif isinstance(node, list):
            if all(not isinstance(v, dict | list) for v in node):
                return  # lists of names (weapons, zones, classes) are choices, not parameters
            for i, v in enumerate(node):
                walk(v, (*path, i), [*chain, node])
        else:
            dotted = ".".join(str(p) for p in path)
            out.append(
                Parameter(
                    dotted,
                    node,
                    _unit(dotted),
                    source_for(path, [*chain[1:], node]),
                    ranges.get(dotted, ""),
                )
            )

    for key in PARAMETER_SECTIONS:
        if key in data:
            walk(data[key], (key,), [data])
    # Rule sets are policy, documented with their notes; their adaptation settings are parameters.
    for supplier, policy in data.get("rules", {}).items():
        chain = [data, data["rules"], policy]
        walk(policy["adaptation"], ("rules", supplier, "adaptation"), chain)
    return out


def default_ranges() -> dict[str, str]:
    """The plausible range of each default that has one, by dotted path, as text."""
    from escalation_sim.scenario.ranges import default_scenario_data, load_ranges, ranges_by_path

    owners = ranges_by_path(load_ranges(), default_scenario_data())
    return {
        path: spec.describe() + (" shared" if spec.shared else "") for path, spec in owners.items()
    }


def markdown_table(params: list[Parameter] | None = None) -> str:
    """The parameter table as Markdown (value, unit, plausible range, source)."""
    params = default_parameters() if params is None else params
    rows = ["| parameter | value | unit | range | source |", "|---|---|---|---|---|"]
    for p in params:
        value = str(p.value).replace("|", "\\|")
        rows.append(
            f"| `{p.path}` | {value} | {p.unit} | {p.range} | {p.source.replace('|', '/')} |"
        )
    return "\n".join(rows)


def catalogue_tables() -> str:
    """Markdown tables of the default weapons catalogue and forces, with sources."""
    from escalation_sim.scenario.loader import scenario_from_dict

    sc = scenario_from_dict({})
    rows = [
        "| weapon | supplier | mode | range (km) | long range | stock (salvoes) | resupply (per day) | interception chance | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for wid, w in sc.weapons.items():
        rows.append(
            f"| `{wid}` {w.name} | {w.supplier} | {w.mode} | {w.range_km:g} | {'yes' if w.long_range else 'no'} "
            f"| {w.stock:g} | {w.resupply_per_day:g} | {w.interception_chance:g} | {w.source} |"
        )
    rows += [
        "",
        "| force group | owner | unit type | target class | count | zone | depth band (km) | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for gid, g in sc.forces.items():
        band = f"{g.depth_km.min:g} to {g.depth_km.max:g}" if g.depth_km else "whole zone"
        rows.append(
            f"| `{gid}` | {g.owner} | {g.unit_type} | {g.target_class} | {g.count} | {g.zone} | {band} | {g.source} |"
        )
    return "\n".join(rows)


def odd_tables() -> str:
    """Everything generated into docs/ODD.md: parameters, then catalogues."""
    return (
        "### Parameters\n\n"
        + markdown_table()
        + "\n\n### Weapons and forces\n\n"
        + catalogue_tables()
        + "\n"
    )


def _plain_table(title: str, headers: list[str], rows: list[list[str]]) -> str:
    """A titled, column-aligned plain-text table (the last column is left unpadded)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells[:-1], widths[:-1], strict=True)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([title, line(headers), *(line(r) for r in rows)])


def _band(interval: Any) -> str:
    return "" if interval is None else f"{interval.min:g} to {interval.max:g}"


def catalogue_text() -> str:
    """The default actors, weapons, forces and theater as plain-text tables, with sources."""
    from escalation_sim.scenario.loader import scenario_from_dict

    sc = scenario_from_dict({})
    tables = [
        _plain_table(
            "Actors",
            ["actor", "name", "role", "side", "start rung", "risk tolerance", "source"],
            [
                [aid, a.name, a.role, a.side, str(a.start_rung), f"{a.risk_tolerance:g}", a.source]
                for aid, a in sc.actors.items()
            ],
        ),
        _plain_table(
            "Weapons",
            [
                *("weapon", "supplier", "mode", "range km", "long range", "stock"),
                *("resupply/day", "interception", "civilian harm", "source"),
            ],
            [
                [
                    wid,
                    w.supplier,
                    w.mode,
                    f"{w.range_km:g}",
                    "yes" if w.long_range else "no",
                    f"{w.stock:g}",
                    f"{w.resupply_per_day:g}",
                    f"{w.interception_chance:g}",
                    f"{w.civilian_harm:g}",
                    w.source,
                ]
                for wid, w in sc.weapons.items()
            ],
        ),
        _plain_table(
            "Forces",
            [
                *("force group", "owner", "unit type", "target class", "count", "zone"),
                *("depth km", "weapons", "source"),
            ],
            [
                [
                    gid,
                    g.owner,
                    g.unit_type,
                    g.target_class,
                    str(g.count),
                    g.zone,
                    _band(g.depth_km) or "whole zone",
                    ", ".join(g.weapons) or "-",
                    g.source,
                ]
                for gid, g in sc.forces.items()
            ],
        ),
    ]
    th = sc.theater
    tables.append(
        _plain_table(
            f"Theater: {th.description or 'zones'} (cell {th.cell_km:g} km; target city "
            f"{th.target_city})",
            ["zone", "name", "territory", "x km", "depth km"],
            [
                [
                    zid,
                    z.name,
                    z.territory + (" (occupied)" if getattr(z, "occupied", False) else ""),
                    _band(getattr(z, "x_km", None)),
                    _band(getattr(z, "depth_km", None)),
                ]
                for zid, z in th.zones.items()
            ],
        )
    )
    tables.append(
        _plain_table(
            "Places",
            ["place", "name", "kind", "x km", "depth km", "population (k)", "source"],
            [
                [
                    pid,
                    p.name,
                    p.kind,
                    f"{p.x_km:g}",
                    f"{p.depth_km:g}",
                    f"{p.population_k:g}",
                    p.source,
                ]
                for pid, p in th.places.items()
            ],
        )
    )
    return "\n\n".join(tables) + "\n"
