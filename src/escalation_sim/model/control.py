"""Player hooks: what a seated actor may choose, how a choice is applied, what it sees.

A *seated* actor is played from outside the model (a person, a move file, an
LLM): it makes no automated escalation choice and no automated policy
adaptation, while perception, pressure and every other process still run.
Between steps a front end asks :func:`choices` what the actor may do now,
applies one with :func:`choose` (escalation) or :func:`change_rules` (a
supplier's rules), and shows the player :func:`observation`.

Every hook validates before it touches the model: a bad choice or rule change
raises :class:`MoveError` (a ``ValueError``) naming the field and what was
expected, and nothing is applied. A change is logged like the model's own
(``decision`` and ``rule_change`` events), with the step at which it takes
effect (the next step) and the player's stated cause.

The choices are the actor's open response options (``model/decisions``:
statements, exercises, horizontal measures, strikes, ...), hold first, each a
:class:`Choice` record; ``climb`` and ``descend`` are accepted as names for the
first open option onto the next rung and for standing down one rung, so move
files written against bare ladder moves keep working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.model.decisions.models import Verdict
from escalation_sim.model.decisions.options import Choice
from escalation_sim.scenario.loader import scenario_to_dict, validate_data
from escalation_sim.scenario.schema import RuleSpec, ScheduledChangeSpec

if TYPE_CHECKING:
    from escalation_sim.model.model import EscalationModel

#: Steps summarised by an observation when no window is given (one week of days).
OBSERVATION_WINDOW_DAYS = 7


class MoveError(ValueError):
    """A player's move that cannot be applied; nothing was changed.

    Attributes:
        problems: Each ``(field, message)`` found, ``field`` dotted within the move.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in self.problems))


def _actor(model: EscalationModel, actor_id: str):
    if actor_id not in model.actor:
        raise MoveError(
            [
                (
                    "actor",
                    f"unknown actor {actor_id!r}; expected one of: {', '.join(model.actor_ids)}",
                )
            ]
        )
    return model.actor[actor_id]


def seat(model: EscalationModel, actor_id: str, seated: bool = True) -> None:
    """Seat ``actor_id`` (a player decides for it from now on) or hand it back to the model.

    Raises:
        MoveError: Unknown actor.
    """
    _actor(model, actor_id)
    model.seated = model.seated | {actor_id} if seated else model.seated - {actor_id}


def choices(model: EscalationModel, actor_id: str) -> list[Choice]:
    """What ``actor_id`` may choose now: its open response options, hold first."""
    _actor(model, actor_id)
    return model.decisions.choices(actor_id)


def choose(model: EscalationModel, actor_id: str, choice_id: str, *, cause: str) -> Choice:
    """Apply one of :func:`choices` for ``actor_id`` as the decision layer would; log it.

    A hold changes nothing and is logged too (a player's decision not to move
    is part of the game). The move takes effect before the next step.

    Raises:
        MoveError: Unknown actor or a choice that is not available now (the
            message names the valid ids). Nothing is applied.
    """
    actor = _actor(model, actor_id)
    option = model.decisions.resolve_choice(actor_id, choice_id)
    if option is None:
        valid = [c.id for c in model.decisions.choices(actor_id)]
        raise MoveError(
            [
                (
                    "choice",
                    f"{choice_id!r} is not available to {actor_id} now; "
                    f"expected one of: {', '.join(valid)}",
                )
            ]
        )
    step = round(model.time) + 1
    day = step * model.step_days
    choice = next(c for c in model.decisions.choices(actor_id) if c.id == option.id)
    model.decisions.apply(
        step,
        day,
        actor,
        Verdict(option, 1.0, 0.0, option.cost),
        choice=choice_id,
        by="player",
        cause=cause,
    )
    return choice


def rule_catalogue(model: EscalationModel, supplier: str) -> dict[str, RuleSpec]:
    """Every rule ``supplier`` could put in force in this run (its postures' and scheduled rules)."""
    policy = model.spec.rules.get(supplier)
    if policy is None:
        return {}
    found: dict[str, RuleSpec] = {}
    for posture in policy.postures.values():
        for rule in posture.rules:
            found.setdefault(rule.id, rule)
    for change in model.spec.schedule:
        if change.supplier == supplier:
            for rule in change.add_rules:
                found.setdefault(rule.id, rule)
    return found


#: The fields the game sets on a move's scheduled change; a player may not write them.
_SET_BY_GAME = ("day", "supplier")


def _as_change_data(
    model: EscalationModel, supplier: str, change: ScheduledChangeSpec | Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A plain mapping of the edit, with rule ids from the catalogue expanded to rules.

    Returns:
        The mapping and the problems found in it against the catalogue and the
        rules in force (the scenario's own checks come after, on the rest).
    """
    if isinstance(change, ScheduledChangeSpec):
        data = change.model_dump(mode="json", exclude={"day", "supplier"})
    elif isinstance(change, Mapping):
        data = dict(change)
    else:
        raise MoveError(
            [("", f"expected a mapping of posture/add_rules/remove_rules, got {change!r}")]
        )
    catalogue = rule_catalogue(model, supplier)
    problems: list[tuple[str, str]] = []
    for key in _SET_BY_GAME:
        if key in data:
            problems.append((key, "set by the game (a move applies now, to its own actor)"))
    add = data.get("add_rules", [])
    if isinstance(add, list):
        expanded = []
        for i, item in enumerate(add):
            rid = (
                item
                if isinstance(item, str)
                else item.get("id")
                if isinstance(item, Mapping)
                else None
            )
            if isinstance(rid, str) and rid not in catalogue:
                problems.append(
                    (
                        f"add_rules.{i}",
                        f"rule {rid!r} is not in {supplier}'s catalogue for this scenario "
                        "(rules of its postures and scheduled changes); expected one of: "
                        f"{', '.join(catalogue) or '(none)'}",
                    )
                )
            elif (
                isinstance(rid, str)
                and isinstance(item, Mapping)
                and "effect" in item
                and item["effect"] != catalogue[rid].effect
            ):
                # The outputs leave out the by-rule columns of rules that can only allow;
                # a rule flipped to forbid would withhold strikes no column counts.
                problems.append(
                    (
                        f"add_rules.{i}.effect",
                        f"rule {rid!r} is a {catalogue[rid].effect!r} rule in {supplier}'s "
                        f"catalogue; a move may edit it but not change its effect "
                        f"(got {item['effect']!r})",
                    )
                )
            expanded.append(
                catalogue[item].model_dump(mode="json")
                if isinstance(item, str) and item in catalogue
                else item
            )
        data["add_rules"] = expanded
    remove = data.get("remove_rules", [])
    if isinstance(remove, list):
        in_force = [r.id for r in model.actor[supplier].policy.active_rules()]
        for i, rid in enumerate(remove):
            if isinstance(rid, str) and rid not in in_force and rid in catalogue:
                problems.append(
                    (
                        f"remove_rules.{i}",
                        f"rule {rid!r} is not in force for {supplier}; in force: "
                        f"{', '.join(in_force) or '(none)'}",
                    )
                )
    return data, problems


def validate_rule_change(
    model: EscalationModel, supplier: str, change: ScheduledChangeSpec | Mapping[str, Any]
) -> ScheduledChangeSpec:
    """Check a supplier's rule change exactly as a scheduled change in the scenario file.

    The edit is appended to the scenario's schedule for today and the whole
    scenario re-validated (schema, then cross-references), so a move is held
    to the same standard as a scenario edit. Added rules must come from the
    supplier's catalogue in this scenario (a rule id, or a rule with such an
    id and the same effect), so that every verdict in the run has its column
    in the outputs.

    Raises:
        MoveError: Each problem with its field inside the change. Nothing is applied.
    """
    actor = _actor(model, supplier)
    if actor.policy is None:
        raise MoveError(
            [
                (
                    "actor",
                    f"{supplier} sets no rules in this scenario; suppliers with rules: "
                    f"{', '.join(a.actor_id for a in model.suppliers)}",
                )
            ]
        )
    data, problems = _as_change_data(model, supplier, change)
    order = list(data)
    # Each list item keeps its index in the move, so a problem found after an
    # earlier item was set aside still names the item the player wrote.
    written = {k: list(range(len(v))) for k, v in data.items() if isinstance(v, list)}
    data = _set_aside(data, written, [f for f, _ in problems])
    day = int(round(model.time) * model.step_days)
    scenario = scenario_to_dict(model.spec)
    index = len(scenario["schedule"])
    prefix = f"schedule.{index}"
    checked = None
    # The scenario is checked in stages (schema, then cross-references) and a stage
    # that fails hides the next. The parts already refused are set aside and the
    # rest checked again, so one refusal names every problem of the move.
    while not problems or any(data.get(k) for k in ("posture", "add_rules", "remove_rules")):
        entry = {**data, "day": day, "supplier": supplier}
        scenario["schedule"] = [*scenario["schedule"][:index], entry]
        try:
            checked = validate_data(scenario, {}, "move")
            break
        except ScenarioError as exc:
            found = [_as_written(f, written) for f in _move_problems(exc.problems, prefix)]
        problems += found
        rest = _set_aside(data, written, [f for f, _ in found])
        if rest == data:  # nothing left to set aside: the change as a whole is wrong
            break
        data = rest
    if problems:
        raise MoveError(sorted(problems, key=lambda p: _field_order(p[0], order)))
    assert checked is not None
    return checked.schedule[index]


def _move_problems(problems: list[Problem], prefix: str) -> list[tuple[str, str]]:
    # A scheduled change's field list, as the scenario check words it, offers the fields
    # the game sets; a move is offered only those a player may write.
    fields = list(ScheduledChangeSpec.model_fields)
    offered = f"expected one of: {', '.join(fields)}"
    allowed = f"expected one of: {', '.join(f for f in fields if f not in _SET_BY_GAME)}"
    out = []
    for p in problems:
        path = p.path
        if path == prefix:
            path = ""
        elif path.startswith(prefix + "."):
            path = path[len(prefix) + 1 :]
        out.append((path, p.message.replace(offered, allowed)))
    return out


def _as_written(problem: tuple[str, str], written: Mapping[str, list[int]]) -> tuple[str, str]:
    """``problem`` with a list item's index as the player wrote it (before items were set aside)."""
    key, _, rest = problem[0].partition(".")
    head, _, tail = rest.partition(".")
    if key in written and head.isdigit() and int(head) < len(written[key]):
        return (
            ".".join([key, str(written[key][int(head)]), *([tail] if tail else [])]),
            problem[1],
        )
    return problem


def _set_aside(
    data: Mapping[str, Any], written: dict[str, list[int]], fields: list[str]
) -> dict[str, Any]:
    """``data`` without the keys and list items (named as written) that ``fields`` point into.

    ``written`` is updated to the written index of each item left.
    """
    out = dict(data)
    for f in fields:
        key, _, rest = f.partition(".")
        head = rest.partition(".")[0]
        if key not in out:
            continue
        if key in written and head.isdigit() and int(head) in written[key]:
            at = written[key].index(int(head))
            out[key] = [*out[key][:at], *out[key][at + 1 :]]
            written[key] = [*written[key][:at], *written[key][at + 1 :]]
        elif key not in written or not head:
            del out[key]
    return out


def _field_order(path: str, order: list[str]) -> tuple[int, int]:
    """Sort key: problems in the order of the move's own fields, list items by index."""
    key, _, rest = path.partition(".")
    head = rest.partition(".")[0]
    return (order.index(key) if key in order else len(order), int(head) if head.isdigit() else -1)


def change_rules(
    model: EscalationModel,
    supplier: str,
    change: ScheduledChangeSpec | Mapping[str, Any],
    *,
    cause: str = "player's move",
) -> None:
    """Apply a supplier's rule change now (posture, add_rules, remove_rules); log a ``rule_change``.

    Raises:
        MoveError: The change is invalid (see :func:`validate_rule_change`); nothing is applied.
    """
    spec = validate_rule_change(model, supplier, change)
    step = round(model.time) + 1
    applied = model.actor[supplier].policy.apply_scheduled(spec, step * model.step_days)
    model._log_rule_change(step, dataclasses.replace(applied, kind="player", cause=cause))
    model._rebuild_engine()


def _window(ts: Any, steps: int) -> Any:
    return ts.iloc[max(1, len(ts) - steps) :] if len(ts) > 1 else ts.iloc[0:0]


def _nonzero(row: Any, prefix: str) -> dict[str, int]:
    cols = [c for c in row.index if c.startswith(prefix)]
    vals = {c[len(prefix) :]: int(row[c]) for c in cols}
    return {k: v for k, v in sorted(vals.items(), key=lambda kv: (-kv[1], kv[0])) if v}


def observation(
    model: EscalationModel, actor_id: str, *, window_days: float = OBSERVATION_WINDOW_DAYS
) -> dict[str, Any]:
    """What ``actor_id`` perceives now, summarised over the last ``window_days``.

    Every actor sees the public picture: its own side's rungs, the other
    side's rungs as it last perceived them (late), the suppliers' declared
    postures, harm to the target city. Russia sees the strikes inside Russia
    it perceived, by the supplier it attributed them to (noisy, late,
    uncertainly attributed: the decision layer's view) and its own losses; a
    supplier sees its own weapons' strikes and the opportunities its rules
    withheld; Ukraine sees every strike and every withheld opportunity (its
    own operations). ``perceived`` is what the actor's decision model works
    from: its case, the precedents still salient, the other side's acts.

    Returns:
        A JSON-ready mapping (see the keys for the sections).
    """
    actor = _actor(model, actor_id)
    ts = model.timeseries()
    steps = max(1, round(window_days / model.step_days))
    recent = _window(ts, steps)
    total = recent.sum(numeric_only=True)
    k = round(model.time)
    day = k * model.step_days
    own_ladder = actor.ladder
    rule_owner = {
        rid: a.actor_id for a in model.suppliers for rid in rule_catalogue(model, a.actor_id)
    }

    def withheld_under(suppliers: set[str]) -> dict[str, int]:
        out = {}
        for label, n in _nonzero(total, "withheld.rule.").items():
            owner = rule_owner.get(label) or (label.split(":", 1)[1] if ":" in label else None)
            if owner in suppliers:
                out[label] = n
        return out

    obs: dict[str, Any] = {
        "actor": actor_id,
        "step": k,
        "day": day,
        "date": str(ts["date"].iloc[-1]),
        "window_days": len(recent) * model.step_days,
        "own": {
            "rung": actor.rung,
            "rung_name": own_ladder.rung(actor.rung).name,
            "pressure": round(actor.pressure, 3),
            "next_threshold": (
                own_ladder.rung(actor.rung + 1).climb_threshold
                if actor.rung < own_ladder.top
                else None
            ),
            "pressure_causes": [{"cause": c, "share": round(s, 3)} for c, s in actor.causes()],
        },
        "rungs": {
            a.actor_id: {
                "rung": (r := actor.seen_rungs.get(a.actor_id, a.rung)),
                "name": a.ladder.rung(r).name,
            }
            for a in model.actors
        },
        "postures": {a.actor_id: a.policy.posture for a in model.suppliers},
        "city": {
            "name": model.theater.spec.places[model.theater.spec.target_city].name,
            "fire_landed": round(float(total.get("fire_on_city", 0.0)), 2),
            "harm": round(float(total.get("harm", 0.0)), 2),
            "harm_cumulative": round(model.harm_total, 2),
        },
    }
    if actor_id == model.russia_id:
        seen = actor.seen_strike_counts(window_days)
        obs["strikes_inside_russia"] = {
            "total": sum(seen.values()),
            "by_supplier": {k: v for k, v in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))},
        }
        obs["own_losses"] = int(total.get("losses.RUS", 0))
    elif actor.policy is not None:
        obs["own_weapons"] = {
            "strikes": int(total.get(f"strikes.supplier.{actor_id}", 0)),
            "strikes_inside_russia": int(total.get(f"strikes_in_russia.supplier.{actor_id}", 0)),
            "withheld_by_rule": withheld_under({actor_id}),
        }
        obs["rules_in_force"] = [
            {"id": r.id, "effect": r.effect, "note": r.note} for r in actor.policy.active_rules()
        ]
        obs["postures_available"] = {
            name: {"level": p.level, "description": p.description}
            for name, p in actor.policy.spec.postures.items()
        }
        obs["rule_catalogue"] = sorted(rule_catalogue(model, actor_id))
    if actor_id == model.ukraine_id:
        obs["strikes"] = {
            "total": int(total.get("strikes", 0)),
            "inside_russia": int(total.get("strikes_in_russia", 0)),
            "by_supplier": _nonzero(total, "strikes.supplier."),
            "by_zone": _nonzero(total, "strikes.zone."),
            "withheld_by_rule": withheld_under({a.actor_id for a in model.suppliers}),
        }
        obs["own_losses"] = int(total.get("losses.UKR", 0))
    obs["perceived"] = model.decisions.observation(actor_id)
    return obs
