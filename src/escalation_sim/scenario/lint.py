"""Warnings: parts of a valid scenario that can never change a run.

A scenario can be valid and still hold settings that do nothing: a rule that
no strike can ever meet (:mod:`escalation_sim.scenario.reach`), a posture that
is never in force, a condition that can never hold, a scheduled change that
changes nothing, an option's ``min_rung`` that another gate overrides. Runs are identical with or without them, which is seldom
what their author meant; ``validate`` prints them as warnings (exit status 0;
``--strict`` makes them errors).

Only what the user changed from the package defaults is warned about: a
finding whose rule, option, posture or scheduled change equals the defaults'
at the same place (:func:`same_as_defaults`) is the defaults' own, wherever
it was written. So a resolved scenario file, which writes every default out,
warns exactly as the file it was resolved from.
"""

from __future__ import annotations

from typing import Any

from escalation_sim.scenario.reach import (
    _Regions,
    rule_reach_problem,
    rule_reach_share,
    rules_with_paths,
    unreachable_rules,
)
from escalation_sim.scenario.schema import OptionSpec, RuleSpec, Scenario, SupplierPolicySpec

Finding = tuple[tuple[str | int, ...], str]

#: A rule in force whose targets stand within its weapons' reach in less than this share
#: of the places they can stand binds in few runs: ``validate`` notes it (a reporting
#: threshold, not a model parameter).
RARELY_SHARE = 0.05


def reachable_postures(policy: SupplierPolicySpec, scheduled: set[str]) -> set[str]:
    """Postures a supplier can ever have in force.

    The starting posture and those the schedule names, then, while adaptation
    may widen (narrow), every posture above (below) one of those in the order
    of ``level``: adaptation moves one posture at a time along that order.
    """
    order = sorted(policy.postures, key=lambda p: (policy.postures[p].level, p))
    reached = {p for p in {policy.posture, *scheduled} if p in policy.postures}
    if not reached:
        return reached
    positions = [order.index(p) for p in reached]
    if policy.adaptation.widen:
        reached |= set(order[min(positions) :])
    if policy.adaptation.narrow:
        reached |= set(order[: max(positions) + 1])
    return reached


def unused_postures(sc: Scenario) -> list[Finding]:
    """Postures that are never in force: not the start, never scheduled, out of adaptation's way."""
    out: list[Finding] = []
    for sid, policy in sc.rules.items():
        scheduled = {c.posture for c in sc.schedule if c.supplier == sid and c.posture}
        reached = reachable_postures(policy, scheduled)
        for name in policy.postures:
            if name not in reached:
                out.append(
                    (
                        ("rules", sid, "postures", name),
                        f"posture {name!r} is never in force: it is not {sid}'s starting posture "
                        f"({policy.posture!r}), no scheduled change switches to it, and "
                        f"adaptation cannot reach it (widen: {policy.adaptation.widen}, narrow: "
                        f"{policy.adaptation.narrow})",
                    )
                )
    return out


def never_true_conditions(sc: Scenario) -> list[Finding]:
    """Rule conditions no rung can satisfy (``rung_below: 0``, ``rung_at_least`` above the top)."""
    out: list[Finding] = []

    def check(rule: RuleSpec, path: tuple[str | int, ...]) -> None:
        cond = rule.condition
        if cond is None or cond.actor not in sc.actors:
            return
        top = len(sc.ladder_for(cond.actor).rungs) - 1
        if cond.rung_below is not None and cond.rung_below <= 0:
            out.append(
                (
                    (*path, "condition", "rung_below"),
                    f"rule {rule.id!r} never applies: no rung is below {cond.rung_below}",
                )
            )
        if cond.rung_at_least is not None and cond.rung_at_least > top:
            out.append(
                (
                    (*path, "condition", "rung_at_least"),
                    f"rule {rule.id!r} never applies: {cond.actor}'s ladder tops out at rung {top}",
                )
            )
        if (
            cond.rung_below is not None
            and cond.rung_at_least is not None
            and cond.rung_at_least >= cond.rung_below
        ):
            out.append(
                (
                    (*path, "condition"),
                    f"rule {rule.id!r} never applies: no rung is at least {cond.rung_at_least} "
                    f"and below {cond.rung_below}",
                )
            )

    for sid, policy in sc.rules.items():
        for pname, posture in policy.postures.items():
            for i, rule in enumerate(posture.rules):
                check(rule, ("rules", sid, "postures", pname, "rules", i))
    for i, change in enumerate(sc.schedule):
        for j, rule in enumerate(change.add_rules):
            check(rule, ("schedule", i, "add_rules", j))
    return out


def idle_scheduled_changes(sc: Scenario) -> list[Finding]:
    """Parts of scheduled changes that change nothing when they come due.

    The schedule is replayed in the model's order (by day, then as listed).
    A posture switch counts as idle only when adaptation can never have moved
    the supplier in between (both ``widen`` and ``narrow`` off); adding a rule
    that is already in force unchanged, and removing one that is not in force,
    are idle whatever adaptation does (added rules outlive posture switches).
    """
    out: list[Finding] = []
    order = sorted(enumerate(sc.schedule), key=lambda ic: (ic[1].day, ic[0]))
    posture = {sid: p.posture for sid, p in sc.rules.items()}
    added: dict[str, dict[str, RuleSpec]] = {sid: {} for sid in sc.rules}
    removed: dict[str, set[str]] = {sid: set() for sid in sc.rules}
    for i, change in order:
        sid = change.supplier
        policy = sc.rules.get(sid)
        if policy is None or (change.posture is not None and change.posture not in policy.postures):
            continue  # an error, reported by the checks
        fixed = not (policy.adaptation.widen or policy.adaptation.narrow)
        in_force_posture = posture[sid]
        posture_rules = {
            r.id: r
            for r in policy.postures[in_force_posture].rules
            if r.id not in removed[sid] and fixed
        }
        p = ("schedule", i)
        idle: list[str] = []
        if change.posture is not None and change.posture == in_force_posture and fixed:
            idle.append(f"{sid} is already in posture {change.posture!r}")
        for j, rule in enumerate(change.add_rules):
            same = added[sid].get(rule.id) == rule or posture_rules.get(rule.id) == rule
            if same and rule.id not in removed[sid]:
                out.append(
                    (
                        (*p, "add_rules", j),
                        f"adds rule {rule.id!r}, already in force unchanged on day {change.day}",
                    )
                )
        for j, rid in enumerate(change.remove_rules):
            # Postures the supplier might be in now: the scheduled one, or any if it adapts.
            maybe = [in_force_posture] if fixed else list(policy.postures)
            in_a_posture = any(r.id == rid for m in maybe for r in policy.postures[m].rules)
            if rid in removed[sid] or (rid not in added[sid] and not in_a_posture):
                out.append(
                    (
                        (*p, "remove_rules", j),
                        f"removes rule {rid!r}, which is not in force on day {change.day}",
                    )
                )
        if idle:
            out.append(((*p, "posture"), f"changes nothing: {'; '.join(idle)}"))
        # Apply it as the model does (PolicyState.apply_scheduled).
        if change.posture is not None:
            posture[sid] = change.posture
        removed[sid] |= set(change.remove_rules)
        for rule in change.add_rules:
            removed[sid].discard(rule.id)
            added[sid][rule.id] = rule
    return out


def min_rung_problem(option: OptionSpec) -> str | None:
    """Why ``option.min_rung`` does not do what it says (open it from that rung), or ``None``.

    The gates apply together (``model/decisions/options.py``): an option that
    climbs more than one rung is closed unless one of its ``skip_on``
    precedents is salient, so an option without ``skip_on`` opens only from the
    rung just below its own, whatever a lower ``min_rung`` says; and the
    stand-down is gated by the starting rung alone.
    """
    m = option.min_rung
    if m is None:
        return None
    if option.descend:
        return (
            f"option {option.id!r}: min_rung {m} has no effect on a stand-down, which is "
            "gated by the cool-down and the starting rung only"
        )
    if option.rung is not None and not option.skip_on and m < option.rung - 1:
        return (
            f"option {option.id!r}: min_rung {m} has no effect: it climbs to rung "
            f"{option.rung} and has no skip_on, so it opens only from rung {option.rung - 1} "
            f"(a climb of one rung); set min_rung to {option.rung - 1}, or list in skip_on the "
            f"precedents that let it skip up from rung {m}"
        )
    return None


def idle_option_gates(sc: Scenario) -> list[Finding]:
    """Options whose ``min_rung`` another gate overrides (see :func:`min_rung_problem`)."""
    out: list[Finding] = []
    for side, options in sc.options.items():
        for i, option in enumerate(options):
            why = min_rung_problem(option)
            if why is not None:
                out.append((("options", side, i, "min_rung"), why))
    return out


def rules_in_force(sc: Scenario) -> list[tuple[str, RuleSpec, tuple[str | int, ...]]]:
    """``(supplier, rule, path)`` of every rule that can be in force.

    That is, a rule of a posture that can be in force (:func:`reachable_postures`)
    or one a scheduled change adds.
    """
    reached = {
        sid: reachable_postures(
            policy, {c.posture for c in sc.schedule if c.supplier == sid and c.posture}
        )
        for sid, policy in sc.rules.items()
    }
    return [
        (supplier, rule, path)
        for supplier, rule, path in rules_with_paths(sc)
        if path[0] == "schedule" or path[3] in reached[supplier]
    ]


def rule_notes(sc: Scenario) -> list[Finding]:
    """Rules in force that can never bind, or bind only at the edge of their weapons' reach.

    Unlike the warnings, these cover the package defaults' rules too: a
    scenario that puts a supplier in a default posture makes its rules part of
    the scenario, and an analyst reading its outputs should know which of them
    cannot (or can hardly) act. "Hardly": less than :data:`RARELY_SHARE` of
    the places their targets can stand lies within reach
    (:func:`~escalation_sim.scenario.reach.rule_reach_share`).
    """
    out: list[Finding] = []
    regions = _Regions(sc)
    for supplier, rule, path in rules_in_force(sc):
        why = rule_reach_problem(sc, supplier, rule, regions)
        if why is not None:
            out.append(
                ((*path, "id"), f"rule {rule.id!r} ({supplier}, in force) can never apply: {why}")
            )
            continue
        found = rule_reach_share(sc, supplier, rule, regions)
        if found is not None and found.share < RARELY_SHARE:
            out.append(
                (
                    (*path, "id"),
                    f"rule {rule.id!r} ({supplier}, in force) can hardly bind: at most about "
                    f"{found.share:.1%} of where its targets ({', '.join(found.groups)}) can "
                    f"stand is within reach of {', '.join(found.weapons)} from its launch points",
                )
            )
    return out


def lint_scenario(sc: Scenario) -> list[Finding]:
    """Every warning for a valid scenario: ``(path, message)`` pairs (the loader adds lines)."""
    return [
        *unreachable_rules(sc),
        *never_true_conditions(sc),
        *unused_postures(sc),
        *idle_scheduled_changes(sc),
        *idle_option_gates(sc),
    ]


_MISSING = object()


def finding_unit(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The part of the scenario a finding is about.

    That is the list item (rule, option, scheduled change) holding the finding's
    field, or the whole path (a posture) when no list item does.
    """
    for k in range(len(path) - 1, -1, -1):
        if isinstance(path[k], int):
            return path[: k + 1]
    return path


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        in_dict = isinstance(data, dict) and key in data
        in_list = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (in_dict or in_list):
            return _MISSING
        data = data[key]
    return data


def same_as_defaults(
    scenario: dict[str, Any], defaults: dict[str, Any], path: tuple[str | int, ...]
) -> bool:
    """Whether a finding's part of the scenario equals the package defaults' at the same place.

    Args:
        scenario: The scenario as plain data (``scenario_to_dict``).
        defaults: The package defaults, validated, as plain data.
        path: The finding's field path.
    """
    unit = finding_unit(path)
    here = _value_at(scenario, unit)
    return here is not _MISSING and here == _value_at(defaults, unit)
