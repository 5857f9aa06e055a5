"""Cross-reference checks on a scenario that passed the schema.

The schema checks each value on its own; these checks look across sections:
a rule naming an unknown weapon or zone, a weapon from another supplier, a
scheduled change outside the horizon, a force placed outside its zone.
Each check returns ``(path, message)`` pairs; the loader adds file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from escalation_sim.scenario.bounds import check_size
from escalation_sim.scenario.schema import RuleSpec, Scenario

Finding = tuple[tuple[str | int, ...], str]


#: What a scheduled change beyond the horizon is told (``--days`` adds to it).
OUTSIDE_HORIZON = "is outside the horizon"


def _unknown(
    names: Iterable[str], known: Iterable[str], path: tuple[str | int, ...], what: str
) -> Iterator[Finding]:
    known_list = sorted(known)
    for i, name in enumerate(names):
        if name not in known_list:
            yield (*path, i), f"unknown {what} {name!r}; expected one of: {', '.join(known_list)}"


def _check_rule(
    sc: Scenario, supplier: str, rule: RuleSpec, path: tuple[str | int, ...]
) -> Iterator[Finding]:
    if rule.weapons != "all":
        yield from _unknown(rule.weapons, sc.weapons, (*path, "weapons"), "weapon")
        for i, w in enumerate(rule.weapons):
            if w in sc.weapons and sc.weapons[w].supplier != supplier:
                yield (
                    (*path, "weapons", i),
                    f"weapon {w!r} is supplied by {sc.weapons[w].supplier}, not {supplier}: "
                    f"a supplier's rules govern only its own weapons",
                )
    if rule.target_classes != "all":
        yield from _unknown(
            rule.target_classes, sc.target_classes, (*path, "target_classes"), "target class"
        )
    if rule.zones is not None:
        yield from _unknown(rule.zones, sc.theater.zones, (*path, "zones"), "zone")
        for i, z in enumerate(rule.zones):
            zone = sc.theater.zones.get(z)
            if zone is not None and rule.territory != "any" and zone.territory != rule.territory:
                yield (
                    (*path, "zones", i),
                    f"zone {z!r} is in {zone.territory} but the rule's territory is "
                    f"{rule.territory!r}; set territory: any or pick a zone in {rule.territory}",
                )
    if rule.condition is not None:
        if rule.condition.actor not in sc.actors:
            yield (
                (*path, "condition", "actor"),
                f"unknown actor {rule.condition.actor!r}; expected one of: {', '.join(sc.actors)}",
            )
        ladder = (
            sc.ladder_for(rule.condition.actor) if rule.condition.actor in sc.actors else sc.ladder
        )
        top = len(ladder.rungs) - 1
        for field in ("rung_below", "rung_at_least"):
            value = getattr(rule.condition, field)
            if value is not None and value > top + 1:
                yield (*path, "condition", field), f"rung {value} is above the ladder's top ({top})"


def _check_options(sc: Scenario) -> Iterator[Finding]:
    """Response options: rungs on the side's ladder, unique ids, every rung reachable by one."""
    sides = {a.side for a in sc.actors.values()}
    for side, options in sc.options.items():
        ladder = sc.ladders.get(side, sc.ladder)
        top = len(ladder.rungs) - 1
        ids = [o.id for o in options]
        for i, o in enumerate(options):
            if ids.index(o.id) != i:
                yield ("options", side, i, "id"), f"duplicate option id {o.id!r}"
            if o.rung is not None and o.rung > top:
                yield (
                    ("options", side, i, "rung"),
                    f"rung {o.rung} is above the top of the {side} ladder ({top})",
                )
            if o.min_rung is not None and o.min_rung > top:
                yield (
                    ("options", side, i, "min_rung"),
                    f"rung {o.min_rung} is above the top of the {side} ladder ({top})",
                )
        if side in sides:
            tied = {o.rung for o in options if o.rung is not None and not o.descend}
            missing = [r.level for r in ladder.rungs[1:] if r.level not in tied]
            if missing:
                yield (
                    ("options", side),
                    f"no option climbs to rung(s) {missing} of the {side} ladder; "
                    "give every rung above the lowest at least one option",
                )
    for aid, actor in sc.actors.items():
        if actor.side not in sc.options and "russia" not in sc.options:
            yield ("options",), f"no response options for side {actor.side!r} (actor {aid})"
    p = sc.decisions.perception
    for i, cls in enumerate(p.strategic_classes):
        if cls not in sc.target_classes:
            yield (
                ("decisions", "perception", "strategic_classes", i),
                f"unknown target class {cls!r}; expected one of: {', '.join(sc.target_classes)}",
            )
    for w in p.munition_family:
        if w not in sc.weapons:
            yield (
                ("decisions", "perception", "munition_family", w),
                f"unknown weapon {w!r}; expected one of: {', '.join(sc.weapons)}",
            )
    bands = list(p.depth_bands_km)
    if bands != sorted(bands):
        yield ("decisions", "perception", "depth_bands_km"), "depth bands must increase"


def check_scenario(sc: Scenario) -> list[Finding]:
    """Return every cross-reference and size problem in a scenario (empty when it is consistent)."""
    out: list[Finding] = check_size(sc)
    actors = sc.actors
    classes = set(sc.target_classes)
    russia = next((a for a, s in sc.actors.items() if s.side == "russia"), None)
    top_rung = len((sc.ladder_for(russia) if russia else sc.ladder).rungs) - 1

    if len(set(sc.target_classes)) != len(sc.target_classes):
        out.append((("target_classes",), "duplicate target class names"))
    sides = [a.side for a in actors.values()]
    for side in ("russia", "ukraine"):
        if sides.count(side) != 1:
            out.append(
                (
                    ("actors",),
                    f"expected exactly one actor on side {side!r}, found {sides.count(side)}",
                )
            )
    for aid, actor in actors.items():
        own_top = len(sc.ladder_for(aid).rungs) - 1
        if actor.start_rung > own_top:
            out.append(
                (
                    ("actors", aid, "start_rung"),
                    f"rung {actor.start_rung} is above the top of {aid}'s ladder ({own_top})",
                )
            )
        if aid not in sc.decisions.actors:
            out.append((("decisions", "actors"), f"missing decision parameters for actor {aid!r}"))
    for aid in sc.decisions.actors:
        if aid not in actors:
            out.append((("decisions", "actors", aid), f"unknown actor {aid!r}"))

    for wid, w in sc.weapons.items():
        if w.supplier not in actors:
            out.append(
                (
                    ("weapons", wid, "supplier"),
                    f"unknown actor {w.supplier!r}; expected one of: {', '.join(actors)}",
                )
            )
        for cls in w.effect:
            if cls not in classes:
                out.append(
                    (
                        ("weapons", wid, "effect", cls),
                        f"unknown target class {cls!r}; expected one of: {', '.join(sc.target_classes)}",
                    )
                )

    out += list(_check_options(sc))
    th = sc.theater
    if th.target_city not in th.places:
        out.append(
            (
                ("theater", "target_city"),
                f"unknown place {th.target_city!r}; expected one of: {', '.join(th.places)}",
            )
        )
    for pid, place in th.places.items():
        if not (th.x_extent_km.min <= place.x_km <= th.x_extent_km.max) or not (
            th.depth_extent_km.min <= place.depth_km <= th.depth_extent_km.max
        ):
            out.append((("theater", "places", pid), "place lies outside the theater's extent"))
    for zid, zone in th.zones.items():
        zx0, zx1, zd0, zd1 = zone.bounds()
        if (
            zx0 < th.x_extent_km.min
            or zx1 > th.x_extent_km.max
            or zd0 < th.depth_extent_km.min
            or zd1 > th.depth_extent_km.max
        ):
            out.append((("theater", "zones", zid), "zone extends outside the theater's extent"))

    for fid, f in sc.forces.items():
        p = ("forces", fid)
        if f.owner not in actors:
            out.append(
                ((*p, "owner"), f"unknown actor {f.owner!r}; expected one of: {', '.join(actors)}")
            )
        if f.target_class not in classes:
            out.append(
                (
                    (*p, "target_class"),
                    f"unknown target class {f.target_class!r}; expected one of: {', '.join(sc.target_classes)}",
                )
            )
        zone = th.zones.get(f.zone)
        zx0, zx1, zd0, zd1 = zone.bounds() if zone is not None else (0.0, 0.0, 0.0, 0.0)
        if zone is None:
            out.append(
                ((*p, "zone"), f"unknown zone {f.zone!r}; expected one of: {', '.join(th.zones)}")
            )
        elif f.depth_km is not None and (f.depth_km.max < zd0 or f.depth_km.min > zd1):
            out.append(
                (
                    (*p, "depth_km"),
                    f"depth band {f.depth_km.min}..{f.depth_km.max} km lies outside zone {f.zone!r} ({zd0:g}..{zd1:g} km)",
                )
            )
        elif f.x_km is not None and (f.x_km.max < zx0 or f.x_km.min > zx1):
            out.append(
                (
                    (*p, "x_km"),
                    f"band {f.x_km.min}..{f.x_km.max} km lies outside zone {f.zone!r} ({zx0:g}..{zx1:g} km)",
                )
            )
        out.extend(_unknown(f.weapons, sc.weapons, (*p, "weapons"), "weapon"))
        if f.fire is not None and not f.weapons:
            out.append(((*p, "fire"), "a unit that fires needs at least one weapon"))
        if f.shots_per_step > 0 and not f.weapons:
            out.append(((*p, "shots_per_step"), "a unit with shots_per_step > 0 needs weapons"))

    rule_owner: dict[str, str] = {}
    for sid, policy in sc.rules.items():
        p = ("rules", sid)
        if sid not in actors:
            out.append((p, f"unknown actor {sid!r}; expected one of: {', '.join(actors)}"))
        if policy.posture not in policy.postures:
            out.append(
                (
                    (*p, "posture"),
                    f"unknown posture {policy.posture!r}; expected one of: {', '.join(policy.postures)}",
                )
            )
        if policy.adaptation.narrow_at_rung > top_rung:
            out.append(
                (
                    (*p, "adaptation", "narrow_at_rung"),
                    f"rung above the top of Russia's ladder ({top_rung})",
                )
            )
        for pname, posture in policy.postures.items():
            seen: set[str] = set()
            for i, rule in enumerate(posture.rules):
                rp = (*p, "postures", pname, "rules", i)
                if rule.id in seen:
                    out.append(((*rp, "id"), f"duplicate rule id {rule.id!r} in posture {pname!r}"))
                seen.add(rule.id)
                if rule_owner.setdefault(rule.id, sid) != sid:
                    out.append(
                        (
                            (*rp, "id"),
                            f"rule id {rule.id!r} is already used by {rule_owner[rule.id]}; rule ids must be unique across suppliers",
                        )
                    )
                out.extend(_check_rule(sc, sid, rule, rp))

    for i, change in enumerate(sc.schedule):
        p = ("schedule", i)
        if change.day > sc.horizon_days:
            out.append(((*p, "day"), f"day {change.day} {OUTSIDE_HORIZON} (0..{sc.horizon_days})"))
        policy = sc.rules.get(change.supplier)
        if policy is None:
            out.append(
                (
                    (*p, "supplier"),
                    f"unknown supplier {change.supplier!r}; expected one of: {', '.join(sc.rules)}",
                )
            )
            continue
        if change.posture is not None and change.posture not in policy.postures:
            out.append(
                (
                    (*p, "posture"),
                    f"unknown posture {change.posture!r}; expected one of: {', '.join(policy.postures)}",
                )
            )
        known_ids = {r.id for post in policy.postures.values() for r in post.rules}
        known_ids |= {
            r.id for c in sc.schedule if c.supplier == change.supplier for r in c.add_rules
        }
        for j, rid in enumerate(change.remove_rules):
            if rid not in known_ids:
                out.append(
                    ((*p, "remove_rules", j), f"unknown rule id {rid!r} for {change.supplier}")
                )
        for j, rule in enumerate(change.add_rules):
            out.extend(_check_rule(sc, change.supplier, rule, (*p, "add_rules", j)))

    perception = sc.decisions.perception
    for aid in perception.supplier_weight:
        if aid not in actors:
            out.append(
                (("decisions", "perception", "supplier_weight", aid), f"unknown actor {aid!r}")
            )
    for cls in perception.class_weight:
        if cls not in classes:
            out.append(
                (("decisions", "perception", "class_weight", cls), f"unknown target class {cls!r}")
            )
    return out
