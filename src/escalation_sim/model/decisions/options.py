"""Response options: which an actor may choose now, and the choice handed to players.

An option is data (:class:`~escalation_sim.scenario.schema.OptionSpec`). Gates
make severity specific, not only costly: an option may require one of a list
of precedents to be salient (``requires_any``), may require the actor to
stand at or above a rung already (``min_rung``), and may climb more than one
rung only when one of its ``skip_on`` precedents is salient; ``cooldown_days``
keeps an actor from repeating an act within the news cycle. The stand-down
option never takes an actor below its starting rung: the starting rung is
its standing policy, and the model explains departures from it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from escalation_sim.scenario.schema import OptionSpec


@dataclass(frozen=True, slots=True)
class Choice:
    """An option an actor may choose now (what a player is shown).

    Attributes:
        id: What a move names (an option id; ``climb`` and ``descend`` are accepted too).
        kind: The option's kind (``hold``, ``statement``, ``exercise``, ...).
        label: One line for a menu.
        to_rung: The rung the actor climbs or descends to (``None``: no move).
        description: What the option means.
    """

    id: str
    kind: str
    label: str
    to_rung: int | None
    description: str


@dataclass(slots=True)
class Decision:
    """A choice of an option, with what drove it."""

    actor: str
    option: str
    label: str
    kind: str
    from_rung: int
    to_rung: int
    rivera: str
    score: int
    kahn: int | None
    pressure: float
    threshold: float
    chance: float
    utility: float
    model: str
    causes: list[tuple[str, float]]
    triggers: list[str]


def target_rung(option: OptionSpec, rung: int) -> int:
    """The rung an actor stands on after taking ``option`` from ``rung``."""
    if option.descend:
        return rung - 1
    if option.rung is not None and option.rung > rung:
        return option.rung
    return rung


def closed_by(
    option: OptionSpec,
    rung: int,
    start_rung: int,
    top: int,
    salient: Collection[str],
    days_since: Mapping[str, float] | None = None,
) -> tuple[str, float] | None:
    """The gate that closes ``option`` now, or ``None`` when it is open.

    Returns:
        ``(gate, value)``: ``cooldown`` (days since it was last taken),
        ``start`` (a stand-down at the starting rung), ``top`` (its rung is
        above the ladder), ``min_rung`` (the rung it needs), ``requires``
        (none of its precedents is salient) or ``skip`` (a rung more than one
        above, and none of its ``skip_on`` precedents is salient).
    """
    if days_since and option.cooldown_days:
        since = days_since.get(option.id, 1e9)
        if since < option.cooldown_days:
            return ("cooldown", since)
    if option.descend:
        return None if rung > start_rung else ("start", float(start_rung))
    if option.rung is not None and option.rung > top:
        return ("top", float(top))
    if option.min_rung is not None and rung < option.min_rung:
        return ("min_rung", float(option.min_rung))
    if option.requires_any and not any(k in salient for k in option.requires_any):
        return ("requires", 0.0)
    if option.rung is not None and option.rung > rung + 1:
        return None if any(k in salient for k in option.skip_on) else ("skip", 0.0)
    return None


def is_available(
    option: OptionSpec,
    rung: int,
    start_rung: int,
    top: int,
    salient: Collection[str],
    days_since: Mapping[str, float] | None = None,
) -> bool:
    """Whether an actor on ``rung`` may take ``option`` with these precedents salient.

    ``days_since`` maps an option id to the days since the actor last took it.
    """
    return closed_by(option, rung, start_rung, top, salient, days_since) is None


def describe_gate(option: OptionSpec, gate: tuple[str, float]) -> str:
    """A closed option's gate in words, for a briefing."""
    kind, value = gate
    match kind:
        case "cooldown":
            return f"taken {value:g} days ago; not again within {option.cooldown_days:g} days"
        case "start":
            return "you stand on your starting rung"
        case "top":
            return f"its rung is above your ladder's top ({value:g})"
        case "min_rung":
            return f"needs you at rung {value:g} or higher first"
        case "requires":
            return "needs one of these precedents salient: " + ", ".join(option.requires_any)
        case _:
            if not option.skip_on:
                return f"climbs to rung {option.rung}, more than one above yours (no precedent lets it skip a rung)"
            return (
                f"climbs to rung {option.rung}, more than one above yours: a skip needs one of "
                "these precedents salient: " + ", ".join(option.skip_on)
            )


def available(
    options: list[OptionSpec],
    rung: int,
    start_rung: int,
    top: int,
    salient: Collection[str],
    days_since: Mapping[str, float] | None = None,
) -> list[OptionSpec]:
    """The options open now, in catalogue order."""
    return [o for o in options if is_available(o, rung, start_rung, top, salient, days_since)]


def as_choice(option: OptionSpec, rung: int) -> Choice:
    """The player's view of an option."""
    to = target_rung(option, rung)
    return Choice(
        option.id, option.kind, option.label, to if to != rung else None, option.description
    )
