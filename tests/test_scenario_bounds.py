"""Numbers at the base of the schema, and the size of the model checked before it is built."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from escalation_sim.errors import ScenarioError
from escalation_sim.scenario import bounds, load_scenario, scenario_from_dict
from escalation_sim.scenario.schema import Spec
from escalation_sim.scenario.source import (
    MAX_FILE_BYTES,
    MAX_VALUES,
    parse_yaml_text,
    read_yaml_file,
)


class NewSection(Spec):
    """A section some later change adds: it inherits the base's rules without saying so."""

    weight: float
    count: int
    on: bool = False


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"weight": float("inf"), "count": 1}, "finite_number"),
        ({"weight": float("nan"), "count": 1}, "finite_number"),
        ({"weight": "0.5", "count": 1}, "float_type"),
        ({"weight": 0.5, "count": "3"}, "int_type"),
        ({"weight": 0.5, "count": True}, "int_type"),
        ({"weight": 0.5, "count": 2.0}, "int_type"),
        ({"weight": 0.5, "count": 1, "on": 1}, "bool_type"),
        ({"weight": 1e12, "count": 1}, "value_error"),
        ({"weight": 0.5, "count": 10**12}, "value_error"),
    ],
)
def test_fields_added_later_inherit_strict_finite_bounded_numbers(data: dict, kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        NewSection.model_validate(data)
    assert [e["type"] for e in info.value.errors()] == [kind]


def test_an_integer_is_a_float_and_dates_read_from_json_text() -> None:
    assert NewSection.model_validate({"weight": 1, "count": 1}).weight == 1.0
    sc = load_scenario("may30_kharkiv_counterfire", ["start_date='2024-06-01'"])
    assert sc.start_date.isoformat() == "2024-06-01"


def at(overrides: list[str]) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario("may30_kharkiv_counterfire", overrides)
    return info.value.render()


def test_unit_bound_is_exact() -> None:
    total = sum(g.count for g in load_scenario("may30_kharkiv_counterfire").forces.values())
    room = bounds.MAX_UNITS - (total - 14)  # ru_artillery_belgorod has 14
    load_scenario("may30_kharkiv_counterfire", [f"forces.ru_artillery_belgorod.count={room}"])
    message = at([f"forces.ru_artillery_belgorod.count={room + 1}"])
    assert f"{bounds.MAX_UNITS + 1:,} units in all; at most {bounds.MAX_UNITS:,}" in message


def test_steps_and_work_bounds() -> None:
    assert "steps; at most" in at(["horizon_days=3650", "step_days=0.15"])
    assert "unit-steps" in at(["horizon_days=3650", "forces.ru_artillery_belgorod.count=9000"])


def test_grid_and_reach_bounds() -> None:
    assert "cells; at most" in at(["theater.cell_km=0.5"])
    assert "reach pairs" in at(["theater.cell_km=2", "forces.ua_drone_launch.count=200"])


def test_zone_count_is_bounded_by_the_bit_mask() -> None:
    def extra(n: int) -> dict:
        box = {
            "territory": "russia",
            "x_km": {"min": 0, "max": 1},
            "depth_km": {"min": 0, "max": 1},
        }
        return {
            "name": "x",
            "theater": {"zones": {f"z{i}": {"name": f"z{i}", **box} for i in range(n)}},
        }

    default_zones = len(load_scenario("may30_kharkiv_counterfire").theater.zones)
    scenario_from_dict(extra(bounds.MAX_ZONES - default_zones))
    with pytest.raises(
        ScenarioError, match=f"{bounds.MAX_ZONES + 1} zones; at most {bounds.MAX_ZONES}"
    ):
        scenario_from_dict(extra(bounds.MAX_ZONES - default_zones + 1))


def test_reader_bounds(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: x\n" + b"#" * MAX_FILE_BYTES)
    with pytest.raises(ScenarioError, match="file too large"):
        read_yaml_file(big)
    with pytest.raises(ScenarioError, match=f"more than {MAX_VALUES:,} values"):
        parse_yaml_text("[" + ",".join(["1"] * (MAX_VALUES + 1)) + "]", "t")
    parse_yaml_text("[" + ",".join(["1"] * (MAX_VALUES // 2)) + "]", "t")  # within bounds
    with pytest.raises(ScenarioError, match="once aliases are expanded"):
        parse_yaml_text(
            "a: &a [1, 2, 3, 4, 5, 6, 7, 8]\n"
            + "".join(
                f"{k}: &{k} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, k in zip("abcdef", "bcdefg", strict=True)
            ),
            "t",
        )


def _forces_times(factor: int) -> list[str]:
    sc = load_scenario("may30_kharkiv_counterfire")
    return [f"forces.{g}.count={f.count * factor}" for g, f in sc.forces.items()]


def test_the_default_scenario_with_forces_x100_validates_and_x140_does_not() -> None:
    """The reach bound was set from a measured x100 build (``bounds.MAX_REACH_PAIRS``)."""
    x100 = load_scenario("may30_kharkiv_counterfire", _forces_times(100))
    assert sum(f.count for f in x100.forces.values()) == 100 * sum(
        f.count for f in load_scenario("may30_kharkiv_counterfire").forces.values()
    )
    assert "reach pairs" in at(_forces_times(140))
