"""Why did the last climb happen? Its triggers, and the strikes and rules behind it.

Plain functions over a model's event log, used by the explorer's panel and
testable without a browser.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from escalation_sim.model.model import EscalationModel

#: Days of strikes before a climb that the explanation counts.
LOOKBACK_DAYS = 7


def last_climb(model: EscalationModel) -> dict[str, Any] | None:
    """The most recent upward move on any ladder, explained; ``None`` when nobody has climbed.

    Returns:
        ``actor``, ``step``, ``day``, ``from``/``to`` rung numbers and names,
        ``by`` (``model`` or ``player``), ``pressure`` (the case for answering),
        ``threshold`` (the option's cost under ``cost_benefit``, the rung's
        threshold under ``pressure``), ``chance``, ``decision_model``,
        ``option`` (its label), ``utility``,
        ``causes`` (the largest contributions to the actor's pressure) and, for
        Russia, ``strikes``: the strikes inside Russia in the week before, by
        supplier, weapon and deciding rule.
    """
    climbs = [
        e for e in model.events.other if e["kind"] == "decision" and e["to_rung"] > e["from_rung"]
    ]
    if not climbs:
        return None
    e = climbs[-1]
    ladder = model.actor[e["actor"]].ladder
    out: dict[str, Any] = {
        "actor": e["actor"],
        "step": e["step"],
        "day": e["step"] * model.step_days,
        "from": e["from_rung"],
        "from_name": ladder.rung(e["from_rung"]).name,
        "to": e["to_rung"],
        "to_name": ladder.rung(e["to_rung"]).name,
        "by": "player" if e.get("by") == "player" else "model",
        "player_cause": e.get("cause"),
        "pressure": e["pressure"],
        "threshold": e["threshold"],
        "chance": e["chance"],
        "decision_model": e.get("decision_model", "cost_benefit"),
        "option": e.get("option_label") or e.get("option"),
        "utility": e.get("utility"),
        "causes": e["causes"],
    }
    if e["actor"] == model.russia_id:
        since = e["step"] - round(LOOKBACK_DAYS / model.step_days) + 1
        by_supplier: Counter[str] = Counter()
        by_weapon: Counter[str] = Counter()
        by_rule: Counter[str] = Counter()
        for block in model.events.strikes:
            if not since <= block.step <= e["step"]:
                continue
            a = block.arrays
            inside = a["depth_km"] > 0
            by_supplier.update(model.actor_ids[i] for i in a["supplier"][inside].tolist())
            by_weapon.update(model.weapon_ids[i] for i in a["weapon"][inside].tolist())
            by_rule.update(model.rule_labels[i] for i in a["rule"][inside].tolist())
        out["strikes"] = {
            "days": LOOKBACK_DAYS,
            "total": sum(by_supplier.values()),
            "by_supplier": dict(by_supplier.most_common()),
            "by_weapon": dict(by_weapon.most_common()),
            "by_rule": dict(by_rule.most_common()),
        }
    return out


def _decision_line(info: dict[str, Any]) -> str:
    """What the decision model weighed, in its own terms (``decisions/models.py``)."""
    if info["decision_model"] == "pressure":
        return (
            f"Pressure {info['pressure']:.1f} against a threshold of {info['threshold']:g}; "
            f"chance of climbing that day {info['chance']:.1%}."
        )
    return (
        f"Case for answering {info['pressure']:.1f}; {info['option']} costs "
        f"{info['threshold']:g} and was worth {info['utility']:g} against holding; "
        f"chance of choosing it that day {info['chance']:.1%}."
    )


def climb_text(info: dict[str, Any] | None) -> str:
    """The explanation as lines of text for the panel (``**bold**`` marks names)."""
    if info is None:
        return "No actor has climbed a rung yet in this run."
    who = "its player" if info["by"] == "player" else "the model's decision rule"
    lines = [
        f"**{info['actor']}** climbed from rung {info['from']} ({info['from_name']}) to "
        f"rung {info['to']} (**{info['to_name']}**) on day {info['day']:g}, chosen by {who}.",
    ]
    if info["by"] == "player":
        lines.append(f"Player's reason: {info['player_cause']}")
    else:
        lines.append(_decision_line(info))
    if info["causes"]:
        lines += ["What built the pressure:"]
        lines += [f"- {c['cause']} ({c['share']:.0%})" for c in info["causes"]]
    s = info.get("strikes")
    if s and s["total"]:

        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in d.items())

        lines += [
            f"Strikes inside Russia in the {s['days']} days before: {s['total']}",
            f"- by supplier: {fmt(s['by_supplier'])}",
            f"- by weapon: {fmt(s['by_weapon'])}",
            f"- under rule: {fmt(s['by_rule'])}",
        ]
    return "\n".join(lines)
