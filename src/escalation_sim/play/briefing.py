"""A turn's briefing: what the seated actor perceives and may do, as readable text.

The briefing is built from the actor's observation (``model.observation``),
never from the model's internals, so a person, a move file's conditions and
an LLM all judge the game on the same view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from escalation_sim.model.control import Choice


@dataclass(frozen=True, slots=True)
class TurnView:
    """What a player is given at the start of a turn.

    Attributes:
        turn: Turn number (1-based).
        actor: The seated actor.
        day: Day of the game at the start of the turn.
        date: ISO date at the start of the turn.
        days: Days this turn covers.
        observation: The actor's observation (JSON-ready).
        choices: The escalation choices available now.
        supplier: Whether the actor sets rules (may send a rule change).
    """

    turn: int
    actor: str
    day: float
    date: str
    days: float
    observation: Mapping[str, Any]
    choices: Sequence[Choice]
    supplier: bool
    last_error: str = field(default="")


def _counts(d: Mapping[str, int], limit: int = 6) -> str:
    if not d:
        return "none"
    items = list(d.items())
    text = ", ".join(f"{k} {v}" for k, v in items[:limit])
    return text + (f", +{len(items) - limit} more" if len(items) > limit else "")


def briefing(view: TurnView) -> str:
    """The turn's briefing as a few paragraphs of plain text."""
    o = view.observation
    own = o["own"]
    lines = [
        f"Turn {view.turn} - day {view.day:g} ({view.date}) - you play {view.actor}; "
        f"this turn covers {view.days:g} days.",
        "",
        f"Your rung: {own['rung']} {own['rung_name']}; pressure {own['pressure']:.1f}"
        + (
            f" (next rung at about {own['next_threshold']:g})"
            if own["next_threshold"] is not None
            else " (top of the ladder)"
        ),
    ]
    if own["pressure_causes"]:
        causes = "; ".join(f"{c['cause']} ({c['share']:.0%})" for c in own["pressure_causes"])
        lines.append(f"  behind it: {causes}")
    lines.append(
        "Others' rungs: "
        + ", ".join(
            f"{a} {r['rung']} {r['name']}" for a, r in o["rungs"].items() if a != view.actor
        )
    )
    lines.append("Declared postures: " + ", ".join(f"{a} {p}" for a, p in o["postures"].items()))
    city = o["city"]
    if not o["window_days"]:
        lines += ["", "The game starts: nothing has happened yet."]
    else:
        lines += [
            "",
            f"Last {o['window_days']:g} days: {city['fire_landed']:g} salvoes landed on "
            f"{city['name']} (harm {city['harm']:g}; {city['harm_cumulative']:g} since the start).",
        ]
    if "strikes_inside_russia" in o:
        s = o["strikes_inside_russia"]
        lines.append(
            f"Strikes inside Russia you perceived: {s['total']} (attributed to: "
            f"{_counts(s['by_supplier'])}); your units lost: {o['own_losses']}."
        )
    if "own_weapons" in o:
        w = o["own_weapons"]
        lines.append(
            f"Strikes with your weapons: {w['strikes']} ({w['strikes_inside_russia']} inside "
            f"Russia); opportunities your rules withheld: {_counts(w['withheld_by_rule'])}."
        )
    if "strikes" in o:
        s = o["strikes"]
        lines.append(
            f"All strikes: {s['total']} ({s['inside_russia']} inside Russia; by supplier "
            f"{_counts(s['by_supplier'])}); withheld by rule: {_counts(s['withheld_by_rule'])}; "
            f"your units lost: {o['own_losses']}."
        )
    if view.supplier and "rules_in_force" in o:
        lines += ["", f"Your rules in force (posture {o['postures'][view.actor]}):"]
        lines += [f"  {r['effect']:<6} {r['id']}" for r in o["rules_in_force"]] or ["  (none)"]
        lines.append(
            "Postures you may switch to: "
            + ", ".join(f"{n} (level {p['level']})" for n, p in o["postures_available"].items())
        )
        lines.append("Rules you may add or remove: " + ", ".join(o["rule_catalogue"]))
    seen = o.get("perceived") or {}
    if seen.get("salient_precedents"):
        lines.append("Precedents you perceive: " + "; ".join(seen["salient_precedents"][-5:]))
    if seen.get("other_side_acts"):
        acts = [
            f"day {a['day']:g} {a['actor']} {a['option']}" for a in seen["other_side_acts"][-5:]
        ]
        lines.append("The other side's acts you have seen: " + "; ".join(acts))
    lines += ["", "Your choices now:"]
    width = max((len(c.id) for c in view.choices), default=4)
    lines += [
        f"  {c.id:<{width}}  {c.label}"
        + (f" (to rung {c.to_rung})" if c.to_rung is not None and c.to_rung != own["rung"] else "")
        for c in view.choices
    ]
    return "\n".join(lines)
