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
        last_error: Why the player's last move this turn was refused (one problem
            a line, ``field: message``); empty when it was not.
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


def _chance(p: float) -> str:
    """A daily chance as a short percentage (``<0.1%`` below a thousandth, ``-`` for none)."""
    if p <= 0:
        return "-"
    return "<0.1%" if p < 0.001 else f"{p:.1%}"


def _causes(own: Mapping[str, Any]) -> list[str]:
    if not own["pressure_causes"]:
        return []
    causes = "; ".join(f"{c['cause']} ({c['share']:.0%})" for c in own["pressure_causes"])
    return [f"  behind your pressure: {causes}"]


def _pressure_lines(own: Mapping[str, Any], weighing: Mapping[str, Any]) -> list[str]:
    """The ``pressure`` model's view: pressure against the next rung's threshold."""
    line = f"Your rung: {own['rung']} {own['rung_name']}; pressure {own['pressure']:.1f}" + (
        f" (next rung at about {own['next_threshold']:g})"
        if own["next_threshold"] is not None
        else " (top of the ladder)"
    )
    lines = [line, *_causes(own)]
    if weighing:
        lines.append(
            f"  your decision model (pressure): chance of a climb {_chance(weighing['climb_chance_per_day'])} "
            f"a day, of a stand-down {_chance(weighing['descend_chance_per_day'])}"
        )
    return lines


def _cost_benefit_lines(own: Mapping[str, Any], w: Mapping[str, Any]) -> list[str]:
    """The ``cost_benefit`` model's view: the case, and each open option's terms."""
    lines = [
        f"Your rung: {own['rung']} {own['rung_name']}. Your decision model (cost_benefit) weighs "
        "what answering gains against its cost and the risk of the other side's answer.",
        f"Your case for answering: {w['case']:.1f} (pressure {w['pressure']:.1f}, precedents "
        f"{w['salience']:.1f}, commitment {w['commitment']:.1f}); your standing rung answers "
        f"{w['standing_threshold']:g} of it, so {w['excess_case']:.1f} is unanswered.",
        *_causes(own),
        f"The other side's resolve as you perceive it: {w['resolve']:g} "
        f"{'rung' if w['resolve'] == 1 else 'rungs'} above its start "
        "(it raises the risk of every risky option).",
        "",
        "Options open now (utility = gain - cost - risk; the chance is the model's own, a day):",
    ]
    rows = w["options"]
    width = max((len(r["id"]) for r in rows), default=4)
    lines.append(
        f"  {'option':<{width}}  {'gain':>7} {'cost':>7} {'risk':>7} {'utility':>8}  chance"
    )
    for r in rows:
        cost = r["cost"] + r["forgone"]
        note = "" if r["weighed"] else "  (answers nothing you perceive)"
        lines.append(
            f"  {r['id']:<{width}}  {r['gain']:>7.1f} {cost:>7.1f} {r['risk']:>7.1f} "
            f"{r['utility']:>8.1f}  {_chance(r['chance_per_day']):>6}{note}"
        )
    if any(r["forgone"] for r in rows):
        lines.append("  (a stand-down's cost includes the case its rung still answers)")
    closed = w.get("closed") or []
    if closed:
        lines.append("Closed now:")
        lines += [f"  {c['id']}: {c['why']}" for c in closed]
    return lines


def briefing(view: TurnView) -> str:
    """The turn's briefing as a few paragraphs of plain text.

    What the actor's own decision model weighs, from the perceived view: for
    ``cost_benefit`` the case (and what the standing rung already answers),
    the other side's perceived resolve, each open option's gain, cost, risk,
    utility and the model's daily chance of it, and the gates that close the
    rest; for ``pressure``, pressure against the next rung's threshold.
    """
    o = view.observation
    own = o["own"]
    weighing = (o.get("perceived") or {}).get("weighing") or {}
    lines = [
        f"Turn {view.turn} - day {view.day:g} ({view.date}) - you play {view.actor}; "
        f"this turn covers {view.days:g} days.",
        "",
    ]
    if weighing.get("model") == "cost_benefit":
        lines += _cost_benefit_lines(own, weighing)
    else:
        lines += _pressure_lines(own, weighing)
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
