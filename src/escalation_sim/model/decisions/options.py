"""Response options: which an actor may choose now, and the choice handed to players.

An option is data (:class:`~escalation_sim.scenario.schema.OptionSpec`). Gates
make severity specific, not only costly: an option may require one of a list
of precedents to be salient (``requires_any``), may require the actor to
stand at or above a rung already (``min_rung``), and may climb more than one
rung only when one of its ``skip_on`` precedents is salient; ``cooldown_days``
keeps an actor from repeating an act within the news cycle. The gates apply
together: without ``skip_on``, an option opens only from the rung just below
its own, and a lower ``min_rung`` does nothing (``validate`` warns,
:func:`escalation_sim.scenario.lint.min_rung_problem`). The stand-down
option never takes an actor below its starting rung: the starting rung is
its standing policy, and the model explains departures from it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
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


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """An option open at one rung as far as the rung decides, with the gates still to check.

    Attributes:
        option: The option.
        act: True for an act (neither hold nor the stand-down): weighed only
            while it answers some perceived case.
        hold: True for the hold option (``kind`` hold), weighed as holding.
        answers: The case it answers (an act with ``answers`` 0 is never weighed).
        cost: The option's cost.
        risk: The option's risk.
        id: The option's id (what ``last_taken`` is keyed by).
        cooldown_days: Its cool-down (0: none).
        requires_any: Precedents of which one must be salient (empty: no such gate).
        skip_on: When it climbs more than one rung from here, the precedents of
            which one must be salient to skip (``None``: no skip from this rung).

    The precedent gates are sets for their membership test only (whether any
    of them is salient); nothing iterates them.
    """

    option: OptionSpec
    act: bool
    hold: bool
    answers: float
    cost: float
    risk: float
    id: str
    cooldown_days: float
    requires_any: frozenset[str]
    skip_on: frozenset[str] | None


def _entry_at(option: OptionSpec, rung: int, start_rung: int, top: int) -> MenuEntry | None:
    """``option``'s entry at ``rung``, or ``None`` when the rung alone closes it (as :func:`closed_by`)."""
    hold = option.kind == "hold"
    act = not hold and not option.descend
    base = (option, act, hold, option.answers, option.cost, option.risk, option.id)
    base += (option.cooldown_days,)
    if option.descend:  # the stand-down is gated by the cool-down and the starting rung only
        return MenuEntry(*base, frozenset(), None) if rung > start_rung else None
    if option.rung is not None and option.rung > top:
        return None
    if option.min_rung is not None and rung < option.min_rung:
        return None
    skip = None
    if option.rung is not None and option.rung > rung + 1:
        if not option.skip_on:
            return None
        skip = frozenset(option.skip_on)
    return MenuEntry(*base, frozenset(option.requires_any), skip)


class OptionMenu:
    """An actor's options tabled by rung: the gates the rung decides, applied once per rung.

    Of :func:`closed_by`'s gates, the rung alone decides the starting rung
    (stand-down), the ladder's top, ``min_rung`` and whether a skip is needed;
    those are applied once per rung of the ladder, when the actor first
    stands there (most actors visit few rungs). What changes from step to
    step (cool-downs, salient precedents) is checked by :meth:`open` for the
    options left. ``open`` gives what :func:`available` gives, in the same
    (catalogue) order.

    Args:
        options: The actor's options, hold first.
        start_rung: The actor's starting rung.
        top: Its ladder's top rung.
    """

    def __init__(self, options: list[OptionSpec], start_rung: int, top: int) -> None:
        self.options = options
        self.start_rung = start_rung
        self.top = top
        #: Per rung of the ladder, its entries once worked out (``None`` until then).
        self._at: list[tuple[MenuEntry, ...] | None] = [None] * (top + 1)
        #: Per rung, :meth:`holds_only` once worked out (``None`` until then).
        self._hold_only: list[bool | None] = [None] * (top + 1)
        #: Per rung, once worked out: for ``acts`` false and true, the entries ``open``
        #: checks and whether any of them has a precedent gate (``None`` until then).
        self._checked: list[tuple[_Checked, _Checked] | None] = [None] * (top + 1)

    def entries(self, rung: int) -> tuple[MenuEntry, ...]:
        """The entries of the options the rung leaves open, in catalogue order."""
        if 0 <= rung <= self.top:
            at = self._at[rung]
            if at is None:
                at = self._at[rung] = self._entries(rung)
            return at
        return self._entries(rung)  # off the ladder (a caller's error): worked out, not kept

    def holds_only(self, rung: int) -> bool:
        """Whether, with every act left out, hold alone is open at ``rung`` whatever else holds.

        True when the rung leaves no stand-down open and the hold option has no
        gate of its own (cool-down, precedents): then ``open(..., acts=False)``
        is ``[hold]`` on any day, with any precedents salient.
        """
        if not 0 <= rung <= self.top:
            return False  # off the ladder (a caller's error): left to open() to work out
        known = self._hold_only[rung]
        if known is None:
            rest = [e for e in self.entries(rung) if not e.act]
            known = self._hold_only[rung] = (
                len(rest) == 1
                and rest[0].option.kind == "hold"
                and not rest[0].cooldown_days
                and not rest[0].requires_any
                and not rest[0].skip_on
            )
        return known

    def _entries(self, rung: int) -> tuple[MenuEntry, ...]:
        return tuple(
            e
            for o in self.options
            if (e := _entry_at(o, rung, self.start_rung, self.top)) is not None
        )

    def open(
        self,
        rung: int,
        salient: Callable[[], Collection[str]],
        last_taken: Mapping[str, float],
        now: float,
        acts: bool = True,
    ) -> list[OptionSpec]:
        """The options open now, in catalogue order (what :func:`available` gives).

        Args:
            rung: The actor's rung.
            salient: Gives the kinds of precedent salient now (called at most
                once, and only when an open option is gated on them).
            last_taken: Day each option was last taken.
            now: Today (days), for the cool-downs.
            acts: ``False`` leaves out every act (keeping hold and the
                stand-down): for a caller that weighs no act now.
        """
        return [e.option for e in self.open_entries(rung, salient, last_taken, now, acts)]

    def open_entries(
        self,
        rung: int,
        salient: Callable[[], Collection[str]],
        last_taken: Mapping[str, float],
        now: float,
        acts: bool = True,
    ) -> list[MenuEntry]:
        """The entries of the options open now, in catalogue order (see :meth:`open`).

        With ``acts`` true, an act that answers nothing (``answers`` not
        positive) is open as the gates decide; a caller that weighs only
        motivated acts skips it by its entry's ``answers``. ``salient`` is
        called once when one of the entries left at the rung (with or without
        the acts) has a precedent gate, else not at all.
        """
        if 0 <= rung <= self.top:
            checked = self._checked[rung]
            if checked is None:
                checked = self._checked[rung] = self._to_check(rung)
        else:  # off the ladder (a caller's error): worked out, not kept
            checked = self._to_check(rung)
        entries, gated = checked[1 if acts else 0]
        kinds = salient() if gated else ()
        # Open: not cooling down (1e9 days since, if never taken), and for each
        # precedent gate it has, one of its precedents salient (none is, if none at all).
        return [
            e
            for e in entries
            if not (
                e.cooldown_days
                and last_taken
                and (now - last_taken[e.id] if e.id in last_taken else 1e9) < e.cooldown_days
            )
            and not (e.requires_any and (not kinds or e.requires_any.isdisjoint(kinds)))
            and not (e.skip_on and (not kinds or e.skip_on.isdisjoint(kinds)))
        ]

    def _to_check(self, rung: int) -> tuple[_Checked, _Checked]:
        """For ``acts`` false and true: the rung's entries to check, and whether any is gated."""
        every = self.entries(rung)
        out = []
        for entries in (tuple(e for e in every if not e.act), every):
            gated = any(e.requires_any or e.skip_on for e in entries)
            out.append((entries, gated))
        return out[0], out[1]


#: The entries :meth:`OptionMenu.open_entries` checks at a rung, and whether any has a
#: precedent gate (then it asks for the salient precedents).
_Checked = tuple[tuple[MenuEntry, ...], bool]


def as_choice(option: OptionSpec, rung: int) -> Choice:
    """The player's view of an option."""
    to = target_rung(option, rung)
    return Choice(
        option.id, option.kind, option.label, to if to != rung else None, option.description
    )
