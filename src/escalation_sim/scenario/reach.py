"""Which rules can ever decide a strike: the geometry behind validation warnings.

A rule that no strike can ever meet changes nothing in a run, however long:
no Russian unit of its target classes stands in its zones or depth band, no
Ukrainian sensor can see them there, or none of its weapons reaches them from
where Ukraine's launchers stand. :func:`unreachable_rules` finds such rules
without running the model, for ``validate`` to warn about.

The answer is conservative: a warning means *never*, not *rarely*.

* Positions. A fixed site stands somewhere in its zone and placement bands; a
  mobile unit anywhere in its home zone (units relocate inside it), so a rule
  is judged against every position a unit could take, not the ones one seed
  drew.
* Zones. Membership is tested on each zone's outline (its ``outline()`` when
  the schema gives one, else the rectangle's corners), so a polygon zone is
  judged by its shape, as the theater does.
* Sampling. Each region is sampled at the centres of a fine grid and each
  range is widened by one grid diagonal, so a sampling gap can never turn
  "reachable" into a warning.
* Launch points. Reach is measured from where a weapon is launched, as the
  model measures it: a group's units, or for aircraft the depth they fly to
  before release (``launch_depth_km``), at the units' positions along the
  border.
* Use. Ukraine fires a weapon at a target only if it has an effect on the
  target's class and a salvo in stock, so a weapon with no effect on a class,
  or with no stock and no resupply, never meets a rule about it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from escalation_sim.scenario.schema import ForceGroupSpec, RuleSpec, Scenario, ZoneSpec

#: Sample points per side of a region's bounding box (so up to GRID^2 points a region).
GRID = 16

Finding = tuple[tuple[str | int, ...], str]


def _outline(zone: ZoneSpec) -> np.ndarray:
    """The zone's vertices as an (n, 2) array of (x_km, depth_km)."""
    outline = getattr(zone, "outline", None)
    if callable(outline):
        return np.asarray(outline(), dtype=float)
    x, d = zone.x_km, zone.depth_km
    return np.array([(x.min, d.min), (x.max, d.min), (x.max, d.max), (x.min, d.max)], dtype=float)


def inside(outline: np.ndarray, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Points strictly inside a closed outline (even-odd rule; edges may fall either way)."""
    x = np.asarray(x, dtype=float)[:, None]
    d = np.asarray(depth, dtype=float)[:, None]
    x0, d0 = outline[:, 0], outline[:, 1]
    x1, d1 = np.roll(x0, -1), np.roll(d0, -1)
    crosses = (d0 > d) != (d1 > d)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_x = x0 + (d - d0) * (x1 - x0) / (d1 - d0)
    return (crosses & (x < at_x)).sum(axis=1) % 2 == 1


@dataclass(frozen=True, slots=True)
class Region:
    """Sample points where a force group's units can stand, and the sampling's slack (km)."""

    x: np.ndarray
    depth: np.ndarray
    slack_km: float


def _region(sc: Scenario, group: ForceGroupSpec, grid: int = GRID) -> Region:
    """Where a group's units can stand: fixed sites in their bands, mobile units in the zone."""
    zone = sc.theater.zones[group.zone]
    outline = _outline(zone)
    x0, x1 = outline[:, 0].min(), outline[:, 0].max()
    d0, d1 = outline[:, 1].min(), outline[:, 1].max()
    if group.fixed_site:
        if group.x_km is not None:
            x0, x1 = max(x0, group.x_km.min), min(x1, group.x_km.max)
        if group.depth_km is not None:
            d0, d1 = max(d0, group.depth_km.min), min(d1, group.depth_km.max)
    if x1 < x0 or d1 < d0:
        return Region(np.zeros(0), np.zeros(0), 0.0)
    sx, sd = (x1 - x0) / grid, (d1 - d0) / grid
    gx, gd = np.meshgrid(x0 + (np.arange(grid) + 0.5) * sx, d0 + (np.arange(grid) + 0.5) * sd)
    px, pd = gx.ravel(), gd.ravel()
    keep = inside(outline, px, pd)
    if not keep.any():  # a sliver thinner than the grid: its bounding box's centre stands for it
        px, pd, keep = np.array([(x0 + x1) / 2]), np.array([(d0 + d1) / 2]), np.array([True])
    return Region(px[keep], pd[keep], float(np.hypot(sx, sd)))


def _zone_mask(sc: Scenario, zones: Sequence[str], x: np.ndarray, depth: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(x), dtype=bool)
    for z in zones:
        if z in sc.theater.zones:
            mask |= inside(_outline(sc.theater.zones[z]), x, depth)
    return mask


def _within(a: Region, bx: np.ndarray, bd: np.ndarray, reach_km: float, slack: float) -> bool:
    """Whether some point of ``a`` lies within ``reach_km`` (plus slack) of some point b."""
    if len(a.x) == 0 or len(bx) == 0:
        return False
    return bool(_nearest(a, bx, bd) <= reach_km + a.slack_km + slack)


def _nearest(a: Region, bx: np.ndarray, bd: np.ndarray) -> float:
    """The shortest distance between a point of ``a`` and a point (bx, bd)."""
    dx = a.x[:, None] - bx[None, :]
    dd = a.depth[:, None] - bd[None, :]
    return float(np.sqrt((dx * dx + dd * dd).min()))


def _ukrainian(sc: Scenario, group: ForceGroupSpec) -> bool:
    return group.owner in sc.actors and sc.actors[group.owner].side == "ukraine"


def _russian(sc: Scenario, group: ForceGroupSpec) -> bool:
    return group.owner in sc.actors and sc.actors[group.owner].side == "russia"


def _classes(rule: RuleSpec) -> str:
    return "any class" if rule.target_classes == "all" else ", ".join(rule.target_classes)


def _where(rule: RuleSpec) -> str:
    parts = []
    if rule.zones is not None:
        parts.append("in " + ", ".join(rule.zones))
    elif rule.territory != "any":
        parts.append("inside Russia" if rule.territory == "russia" else "on Ukrainian territory")
    if rule.min_depth_km is not None or rule.max_depth_km is not None:
        lo = "0" if rule.min_depth_km is None else f"{rule.min_depth_km:g}"
        hi = "any depth" if rule.max_depth_km is None else f"{rule.max_depth_km:g} km"
        parts.append(f"at depth {lo} to {hi}")
    return " ".join(parts) or "anywhere"


class _Regions(dict[str, Region]):
    """Each force group's region, computed once per scenario."""

    def __init__(self, sc: Scenario) -> None:
        super().__init__()
        self.sc = sc
        self._launch: dict[str, Region] = {}
        self._fine: dict[str, Region] = {}
        self._nearest: dict[tuple[str, str], np.ndarray] = {}

    def __missing__(self, gid: str) -> Region:
        region = self[gid] = _region(self.sc, self.sc.forces[gid])
        return region

    def launch(self, gid: str) -> Region:
        """Where a group's weapons are launched from: its units, or its release depth."""
        if gid not in self._launch:
            region, depth = self[gid], self.sc.forces[gid].launch_depth_km
            if depth is not None:  # aircraft: at the units' x, at the release depth
                region = Region(region.x, np.full(len(region.x), float(depth)), region.slack_km)
            self._launch[gid] = region
        return self._launch[gid]

    def launch_points(self, gid: str) -> tuple[np.ndarray, np.ndarray]:
        """The distinct launch points of a group (aircraft share one release depth)."""
        region = self.launch(gid)
        points = np.unique(np.column_stack([region.x, region.depth]), axis=0)
        return points[:, 0], points[:, 1]

    def fine(self, gid: str) -> Region:
        """A group's region on the finer grid :func:`rule_reach_share` measures shares on."""
        if gid not in self._fine:
            self._fine[gid] = _region(self.sc, self.sc.forces[gid], SHARE_GRID)
        return self._fine[gid]

    def nearest_sq(self, target: str, launcher: str) -> np.ndarray:
        """Per point of ``target``'s fine region, squared distance to ``launcher``'s nearest point.

        Worked out once per pair: several rules and weapons ask for the same one.
        """
        key = (target, launcher)
        if key not in self._nearest:
            fine = self.fine(target)
            self._nearest[key] = nearest_sq(fine.x, fine.depth, *self.launch_points(launcher))
        return self._nearest[key]


def nearest_sq(px: np.ndarray, pd: np.ndarray, qx: np.ndarray, qd: np.ndarray) -> np.ndarray:
    """Per point p, ``min over q of (px - qx)**2 + (pd - qd)**2`` (inf where there is no q).

    The points q stand on a few depths (a region's grid rows): per depth, the nearest
    q in x is found by bisection, so the cost is points x depths, not points x q. The
    value is the one the direct minimum over every pair gives, bit for bit: at one
    depth the q nearest in x has the smallest ``dx * dx``, and adding the same
    ``dd * dd`` to floats keeps their order.
    """
    best = np.full(len(px), np.inf)
    for depth in np.unique(qd):
        xs = np.sort(qx[qd == depth])
        i = np.searchsorted(xs, px)
        dd = pd - depth
        for j in (np.clip(i - 1, 0, len(xs) - 1), np.clip(i, 0, len(xs) - 1)):
            dx = px - xs[j]
            np.minimum(best, dx * dx + dd * dd, out=best)
    return best


@dataclass(frozen=True, slots=True)
class _Candidates:
    """What a rule could meet: its weapons fired from their launchers, and the units seen."""

    armed: list[str]
    carriers: dict[str, list[str]]
    #: Per Russian group the rule covers and Ukraine can see: id, spec, points in the rule's area.
    seen: list[tuple[str, ForceGroupSpec, np.ndarray, np.ndarray, Region]]


def _area_mask(sc: Scenario, rule: RuleSpec, region: Region, slack_km: float) -> np.ndarray:
    """Which of ``region``'s points lie in the rule's territory, zones and depth band."""
    ok = np.ones(len(region.x), dtype=bool)
    if rule.territory == "russia":
        ok &= region.depth > 0
    elif rule.territory == "ukraine":
        ok &= region.depth <= 0
    if rule.zones is not None:
        ok &= _zone_mask(sc, rule.zones, region.x, region.depth)
    if rule.min_depth_km is not None:
        ok &= region.depth >= rule.min_depth_km - slack_km
    if rule.max_depth_km is not None:
        ok &= region.depth <= rule.max_depth_km + slack_km
    return ok


def _candidates(
    sc: Scenario, supplier: str, rule: RuleSpec, regions: _Regions
) -> str | _Candidates:
    """The rule's armed weapons and the Russian units it could meet, or why there are none."""
    groups = {gid: g for gid, g in sc.forces.items() if g.zone in sc.theater.zones}
    # Weapons the rule covers that some Ukrainian launcher group actually carries.
    covered = [
        w
        for w, spec in sc.weapons.items()
        if spec.supplier == supplier
        and (rule.weapons == "all" or w in rule.weapons)
        and (spec.long_range or not rule.long_range_only)
    ]
    carriers = {
        w: [
            gid
            for gid, g in groups.items()
            if _ukrainian(sc, g) and g.shots_per_step > 0 and w in g.weapons
        ]
        for w in covered
    }
    armed = [w for w in covered if carriers[w]]
    if not armed:
        which = "its weapons" if rule.weapons == "all" else ", ".join(rule.weapons)
        return f"no Ukrainian launcher carries {which} ({supplier}'s, as the rule names them)"
    # A weapon without a salvo in stock, ever, is never fired (the engagement's feasibility).
    stocked = [w for w in armed if sc.weapons[w].stock >= 1 or sc.weapons[w].resupply_per_day > 0]
    if not stocked:
        names = ", ".join(armed)
        return f"{names} {'has' if len(armed) == 1 else 'have'} no stock and no resupply"
    armed = stocked

    # Russian units of the rule's classes (and purpose) at positions inside its area.
    targets: list[tuple[str, ForceGroupSpec, np.ndarray, np.ndarray, Region]] = []
    for gid, g in groups.items():
        if not _russian(sc, g) or g.count == 0:
            continue
        if rule.target_classes != "all" and g.target_class not in rule.target_classes:
            continue
        if not g.fixed_site and not g.military:
            continue  # never a candidate: only military units are looked for
        if rule.purpose == "counter_fire" and g.fire is None:
            continue  # never seen firing nor preparing to
        if rule.purpose == "self_defense" and not g.military:
            continue
        region = regions[gid]
        ok = _area_mask(sc, rule, region, region.slack_km)
        if ok.any():
            targets.append((gid, g, region.x[ok], region.depth[ok], region))
    if not targets:
        purpose = {"counter_fire": " that fires", "self_defense": " used to attack Ukraine"}.get(
            rule.purpose, ""
        )
        return f"no Russian unit of {_classes(rule)}{purpose} can stand {_where(rule)}"

    # Seen: fixed sites are known; radars see units that fire, ISR any unit, within range.
    sensors = [
        (g.sensor, regions[gid])
        for gid, g in groups.items()
        if _ukrainian(sc, g) and g.sensor is not None and g.count > 0
    ]
    seen = [
        t
        for t in targets
        if t[1].fixed_site
        or any(
            (spec.kind == "isr" or t[1].fire is not None)
            and _within(where, t[2], t[3], spec.range_km, t[4].slack_km)
            for spec, where in sensors
        )
    ]
    if not seen:
        return (
            f"no Ukrainian radar or ISR can see a Russian unit of {_classes(rule)} "
            f"{_where(rule)} (and none of them is a fixed site)"
        )
    return _Candidates(armed, carriers, seen)


def rule_reach_problem(
    sc: Scenario, supplier: str, rule: RuleSpec, regions: _Regions | None = None
) -> str | None:
    """Why ``rule`` can never decide a strike in ``sc``, or ``None`` if some strike could meet it."""
    regions = _Regions(sc) if regions is None else regions
    found = _candidates(sc, supplier, rule, regions)
    if isinstance(found, str):
        return found
    armed, carriers = found.armed, found.carriers
    nearest = np.inf
    effective = False
    for w in armed:
        reach = sc.weapons[w].range_km
        for _, g, tx, td, region in found.seen:
            if sc.weapons[w].effect.get(g.target_class, 0.0) <= 0:
                continue  # Ukraine never picks a weapon without effect on the class
            effective = True
            for launcher in carriers[w]:
                where = regions.launch(launcher)
                if _within(where, tx, td, reach, region.slack_km):
                    return None
                nearest = min(nearest, _nearest(where, tx, td))
    if not effective:
        return (
            f"none of its weapons ({', '.join(armed)}) has an effect on a Russian unit of "
            f"{_classes(rule)} {_where(rule)}, so Ukraine never fires one at such a unit"
        )
    ranges = ", ".join(f"{w} {sc.weapons[w].range_km:g} km" for w in armed)
    return (
        f"none of its weapons ({ranges}) reaches a Russian unit of {_classes(rule)} "
        f"{_where(rule)} from where Ukraine's launchers stand (nearest about {nearest:.0f} km)"
    )


#: Sample points per side of a target group's box when measuring the share within reach.
SHARE_GRID = 64


@dataclass(frozen=True, slots=True)
class ReachShare:
    """How much of where a rule's targets can stand lies where the rule can decide a strike.

    Attributes:
        share: Of the places the units of the groups the rule covers can stand
            (each group weighed by its unit count), the share inside the rule's
            area and within reach of one of its weapons with an effect on them,
            from where that weapon is launched (0 to 1; exact distances, no slack).
        groups: The Russian force groups the rule covers.
        weapons: Its weapons that can be fired at them.
    """

    share: float
    groups: tuple[str, ...]
    weapons: tuple[str, ...]


def rule_reach_share(
    sc: Scenario, supplier: str, rule: RuleSpec, regions: _Regions | None = None
) -> ReachShare | None:
    """The share of its targets' positions a rule can decide strikes on (``None``: never any).

    A measure of *how rarely*, where :func:`rule_reach_problem` answers *never*:
    a fixed site is placed once per run anywhere in its bands, so a share of
    1 % means the rule can bind in at most about one run in a hundred per such
    site. At most: a position counts when it is within reach of any place the
    launchers can stand, while one run places them at a few of those.
    """
    regions = _Regions(sc) if regions is None else regions
    found = _candidates(sc, supplier, rule, regions)
    if isinstance(found, str):
        return None
    total = hit = 0.0
    used: list[str] = []
    for gid, g, *_rest in found.seen:
        fine = regions.fine(gid)
        ok = _area_mask(sc, rule, fine, 0.0)
        near = np.zeros(len(fine.x), dtype=bool)
        for w in found.armed:
            if sc.weapons[w].effect.get(g.target_class, 0.0) <= 0:
                continue
            for launcher in found.carriers[w]:
                # Within range of the nearest launch point is within range of any.
                near |= regions.nearest_sq(gid, launcher) <= sc.weapons[w].range_km ** 2
                if w not in used:
                    used.append(w)
        if len(fine.x):
            total += g.count
            hit += g.count * float((ok & near).mean())
    share = hit / total if total else 0.0
    return ReachShare(share, tuple(t[0] for t in found.seen), tuple(used))


def rules_with_paths(sc: Scenario) -> Iterator[tuple[str, RuleSpec, tuple[str | int, ...]]]:
    """``(supplier, rule, path)`` of every rule of every posture and scheduled change."""
    for sid, policy in sc.rules.items():
        for pname, posture in policy.postures.items():
            for i, rule in enumerate(posture.rules):
                yield sid, rule, ("rules", sid, "postures", pname, "rules", i)
    for i, change in enumerate(sc.schedule):
        for j, rule in enumerate(change.add_rules):
            yield change.supplier, rule, ("schedule", i, "add_rules", j)


def unreachable_rules(
    sc: Scenario, *, only: Sequence[tuple[str | int, ...]] | None = None
) -> list[Finding]:
    """Every rule that can never decide a strike, with why (see the module docstring).

    Args:
        sc: A validated scenario.
        only: If given, judge only the rules at these paths.
    """
    out: list[Finding] = []
    regions = _Regions(sc)
    for supplier, rule, path in rules_with_paths(sc):
        if only is not None and path not in only:
            continue
        why = rule_reach_problem(sc, supplier, rule, regions)
        if why is not None:
            verb = "allows" if rule.effect == "allow" else "forbids"
            out.append(
                (
                    (*path, "id"),
                    f"rule {rule.id!r} can never apply: it {verb} strikes on {_classes(rule)} "
                    f"{_where(rule)}, but {why}",
                )
            )
    return out
