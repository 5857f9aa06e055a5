"""Bounds on what a scenario may ask for, tied to the memory and time a run takes.

Each bound is far above anything the shipped scenarios use (the default
scenario has 102 units, 180 steps, 7,268 cells and about 75,000 reach pairs;
the reach bound admits it with forces x100)
and far below what would exhaust a machine. They are checked on the validated
values before the model is built, so an absurd scenario is refused in
milliseconds instead of hanging or running out of memory. The README's
"Validation" section lists them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from escalation_sim.scenario.schema import Scenario

#: Any number in a scenario (km, stock, pressure, weights ...), in absolute value.
MAX_MAGNITUDE = 1e9
#: Units in one force group, and in the whole scenario (the unit arrays and per-unit views).
MAX_GROUP_UNITS = 20_000
MAX_UNITS = 20_000
#: Model steps (horizon_days / step_days) and the shortest step (one hour and a bit).
MAX_STEPS = 20_000
MIN_STEP_DAYS = 0.05
#: Units times steps: the work of one run (the default is about 18,000; this is ~30 s a run).
MAX_UNIT_STEPS = 20_000_000
#: Cells of the theater's grid ((x extent / cell_km) x (depth extent / cell_km)).
MAX_CELLS = 1_000_000
#: (unit, cell) pairs within a weapon's, sensor's or air defence's range (the reach index), as
#: estimated before the build (a circle's cells, so above the pairs built). Set from what a
#: build costs: the default scenario with forces x100 (10,200 units) needs an estimated
#: 7,470,000 (4,640,000 built), builds in 0.25 s of CPU and a 10-day run peaks at 575 MB of
#: resident memory against 355 MB at x1; the worst case, pairs built close to the estimate
#: (5,900 ISR units of 40 km over 2 km cells: 9,950,000 estimated, 9,170,000 built), peaks at
#: 970 MB (about 75 bytes of peak memory a pair built, the tables and their sorted copies)
#: and builds in under 3 s. So the default at x100 fits with a third to spare, and no
#: scenario that passes needs much more than 1 GB to build. (Validation itself only
#: estimates, in microseconds, whatever the file asks for.)
MAX_REACH_PAIRS = 10_000_000
#: Strikes one run may make at most (max_strikes_per_step x rung multiplier x steps):
#: each is one record of the event log.
MAX_STRIKES_PER_RUN = 1_000_000
#: Salvoes or shots a unit fires per step.
MAX_SHOTS_PER_STEP = 1_000
#: Zones of the theater: a point's zones are bits of one 64-bit integer.
MAX_ZONES = 62
#: Entries in a catalogue (actors, weapons, force groups, target classes, rules, rungs ...).
MAX_ENTRIES = 1_000
#: The simulated calendar.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2200, 12, 31)


def grid_cells(extent_x_km: float, extent_depth_km: float, cell_km: float) -> float:
    """Cells of a theater grid, computed without building it (a float: it may be huge)."""
    return max(1.0, math.ceil(extent_x_km / cell_km)) * max(
        1.0, math.ceil(extent_depth_km / cell_km)
    )


def cells_in_reach(range_km: float, cell_km: float, cells: float) -> float:
    """Upper estimate of the grid cells within ``range_km`` of a point."""
    return min(cells, math.pi * (range_km / cell_km + 1.0) ** 2)


#: Sections whose entries are counted before the schema reads them (each entry costs a model).
ENTRY_SECTIONS = ("actors", "weapons", "forces", "target_classes", "schedule", "rules", "ladders")


def check_raw_size(data: object) -> list[tuple[tuple[str | int, ...], str]]:
    """Catalogues too long to validate, found on the merged data before the schema runs.

    Validating 25,000 force groups would take seconds and report each one's
    problems; one message saying there are too many is the useful answer.
    """
    if not isinstance(data, dict):
        return []
    out: list[tuple[tuple[str | int, ...], str]] = []
    sections = [(k, data.get(k)) for k in ENTRY_SECTIONS]
    theater = data.get("theater")
    if isinstance(theater, dict):
        sections += [(("theater", k), theater.get(k)) for k in ("zones", "places")]
    for key, entries in sections:
        if isinstance(entries, dict | list) and len(entries) > MAX_ENTRIES:
            path = key if isinstance(key, tuple) else (key,)
            out.append((path, f"{len(entries):,} entries; at most {MAX_ENTRIES:,} are allowed"))
    return out


def check_size(sc: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with the size of the model a scenario would build (empty when it fits).

    Checked before anything is allocated: the number of units, steps, grid
    cells, reach pairs and strikes a run could make, each against its bound.
    """
    out: list[tuple[tuple[str | int, ...], str]] = []
    th = sc.theater
    for key, entries in (
        ("actors", sc.actors),
        ("weapons", sc.weapons),
        ("forces", sc.forces),
        ("target_classes", sc.target_classes),
        ("schedule", sc.schedule),
    ):
        if len(entries) > MAX_ENTRIES:
            out.append(((key,), f"{len(entries):,} entries; at most {MAX_ENTRIES:,} are allowed"))
    if len(th.zones) > MAX_ZONES:
        out.append(
            (("theater", "zones"), f"{len(th.zones)} zones; at most {MAX_ZONES} are allowed")
        )
    units = sum(f.count for f in sc.forces.values())
    if units > MAX_UNITS:
        out.append((("forces",), f"{units:,} units in all; at most {MAX_UNITS:,} are allowed"))
    steps = sc.horizon_days / sc.step_days
    if steps > MAX_STEPS:
        out.append(
            (
                ("step_days",),
                f"horizon_days / step_days = {steps:,.0f} steps; at most {MAX_STEPS:,} are allowed",
            )
        )
    elif units * steps > MAX_UNIT_STEPS:
        out.append(
            (
                ("forces",),
                f"{units:,} units x {steps:,.0f} steps = {units * steps:,.0f} unit-steps; at most "
                f"{MAX_UNIT_STEPS:,} are allowed (fewer units, a shorter horizon or longer steps)",
            )
        )
    cells = grid_cells(
        th.x_extent_km.max - th.x_extent_km.min,
        th.depth_extent_km.max - th.depth_extent_km.min,
        th.cell_km,
    )
    if cells > MAX_CELLS:
        out.append(
            (
                ("theater", "cell_km"),
                f"the theater's grid would have {cells:,.0f} cells; at most {MAX_CELLS:,} are "
                "allowed (a larger cell_km or a smaller extent)",
            )
        )
        return out  # the reach estimate below needs a sane grid
    pairs = 0.0
    for f in sc.forces.values():
        ranges = [sc.weapons[w].range_km for w in f.weapons if w in sc.weapons]
        ranges += [s.range_km for s in (f.sensor, f.air_defence) if s is not None]
        pairs += f.count * sum(cells_in_reach(r, th.cell_km, cells) for r in ranges)
    if pairs > MAX_REACH_PAIRS:
        out.append(
            (
                ("forces",),
                f"units and their ranges would need about {pairs:,.0f} (unit, cell) reach pairs; "
                f"at most {MAX_REACH_PAIRS:,} are allowed (a larger theater.cell_km, fewer units "
                "or shorter ranges)",
            )
        )
    top = max(
        (r.strike_multiplier for ladder in (sc.ladder, *sc.ladders.values()) for r in ladder.rungs),
        default=1.0,
    )
    strikes = sc.combat.max_strikes_per_step * top * steps
    if strikes > MAX_STRIKES_PER_RUN:
        out.append(
            (
                ("combat", "max_strikes_per_step"),
                f"up to {strikes:,.0f} strikes a run (max_strikes_per_step x the ladder's "
                f"largest strike_multiplier x steps); at most {MAX_STRIKES_PER_RUN:,} are allowed",
            )
        )
    return out
