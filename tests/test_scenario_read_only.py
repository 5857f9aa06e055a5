"""A validated scenario is read-only all the way down, and what is cached from it stays true.

The model caches a scenario's theater, its force layer's set-up and its hash per
scenario object (``model/shared.py``). These tests check that no container
reachable from a validated scenario can be changed in place (top-level and
nested mappings, lists, the lists of nested specs, fields), each refusal a
``TypeError`` that names the validated way to a changed copy; that such a copy
gives a model built from the new values, not the cached ones; that a scenario
assembled without validation (``model_copy``) is never cached, so an edit in
place to it is seen; and that the read-only scenario pickles, copies, dumps
and hashes as the plain one did (the shipped scenarios' hashes are recorded in
``tests/golden/scenario_hashes.json``, written before the change).
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from escalation_sim import load_scenario, with_overrides
from escalation_sim.errors import ScenarioError
from escalation_sim.model import forces as forces_module
from escalation_sim.model.model import EscalationModel
from escalation_sim.model.shared import SpecCache
from escalation_sim.results import _hashes, run_metadata
from escalation_sim.scenario.frozen import FrozenDict, FrozenList, is_read_only
from escalation_sim.scenario.loader import scenario_from_dict, scenario_hash, scenario_to_dict
from escalation_sim.scenario.schema import WeaponSpec

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
DEFAULT = ROOT / "scenarios/may30_kharkiv_counterfire.yaml"
HASHES = ROOT / "tests/golden/scenario_hashes.json"


@pytest.fixture(scope="module")
def sc():
    return load_scenario(DEFAULT)


def _refused(edit: Callable[[], object]) -> str:
    """The message of the TypeError that ``edit`` raises (the test fails if it raises none)."""
    with pytest.raises(TypeError) as caught:
        edit()
    return str(caught.value)


# --- in-place edits are refused -----------------------------------------------------


def _edits(sc: Any) -> dict[str, Callable[[], object]]:
    gmlrs = sc.weapons["GMLRS"]
    rules = sc.rules["USA"].postures["kharkiv_counterfire"].rules
    return {
        # top-level mappings
        "set a weapon": lambda: sc.weapons.__setitem__("NEW", gmlrs),
        "delete a weapon": lambda: sc.weapons.__delitem__("ATACMS"),
        "update forces": lambda: sc.forces.update({}),
        "pop a force group": lambda: sc.forces.pop("ua_himars"),
        "setdefault an actor": lambda: sc.actors.setdefault("NEW", sc.actors["USA"]),
        "clear the rules": lambda: sc.rules.clear(),
        "popitem the ladders": lambda: sc.ladders.popitem(),
        "|= the options": lambda: sc.options.__ior__({}),
        # nested mappings
        "a weapon's effect": lambda: gmlrs.effect.__setitem__("artillery", 1.0),
        "a supplier weight": lambda: sc.decisions.perception.supplier_weight.__setitem__(
            "USA", 9.0
        ),
        "a zone": lambda: sc.theater.zones.__delitem__("kharkiv_oblast"),
        "a posture": lambda: sc.rules["USA"].postures.__setitem__("x", None),
        "an actor's decisions": lambda: sc.decisions.actors.pop("RUS"),
        "the tasking": lambda: sc.combat.tasking_per_day.__setitem__("rocket", 0.0),
        # lists
        "append a target class": lambda: sc.target_classes.append("x"),
        "set a group's weapon": lambda: sc.forces["ua_himars"].weapons.__setitem__(0, "M777"),
        "extend a group's weapons": lambda: sc.forces["ua_himars"].weapons.extend(["M777"]),
        "+= a group's weapons": lambda: sc.forces["ua_himars"].weapons.__iadd__(["M777"]),
        "sort the depth bands": lambda: sc.decisions.perception.depth_bands_km.sort(),
        # lists of nested specs
        "append a rung": lambda: sc.ladder.rungs.append(sc.ladder.rungs[0]),
        "replace a rung": lambda: sc.ladder.rungs.__setitem__(0, sc.ladder.rungs[1]),
        "remove a rule": lambda: rules.remove(rules[0]),
        "insert a rule": lambda: rules.insert(0, rules[0]),
        "pop an option": lambda: sc.options["russia"].pop(),
        "clear the schedule": lambda: sc.schedule.clear(),
        "reverse a polygon": lambda: sc.theater.zones["kharkiv_oblast"].polygon.reverse(),
        "move a vertex": lambda: sc.theater.zones["kharkiv_oblast"].polygon[0].__setitem__(0, 0.0),
        # fields (pydantic's own refusal said nothing of what to do)
        "a field": lambda: setattr(sc, "horizon_days", 10),
        "a nested field": lambda: setattr(gmlrs, "range_km", 500.0),
        "delete a field": lambda: delattr(sc.theater, "cell_km"),
    }


EDITS = list(_edits(load_scenario(DEFAULT)))


@pytest.mark.parametrize("name", EDITS)
def test_an_edit_in_place_is_refused_with_the_way_to_a_changed_copy(sc, name: str):
    before = scenario_hash(sc)
    message = _refused(_edits(sc)[name])
    assert "read-only" in message and "with_overrides" in message and "--set" in message
    assert scenario_hash(sc) == before


def _containers(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Every mapping and sequence reachable from ``value`` (strings apart), with its path."""
    if isinstance(value, BaseModel):
        for name, field in value.__dict__.items():
            yield from _containers(field, f"{path}.{name}")
    elif isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _containers(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        yield path, value
        for i, item in enumerate(value):
            yield from _containers(item, f"{path}.{i}")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_container_of_every_shipped_scenario_refuses_a_change(path: Path):
    sc = load_scenario(path)
    found = list(_containers(sc))
    assert len(found) > 200  # the walk reaches the nested specs
    for where, box in found:
        if isinstance(box, dict):
            _refused(lambda box=box: box.__setitem__("x", 1))
            _refused(lambda box=box: box.clear())
        else:
            assert isinstance(box, FrozenList), f"{where} is a {type(box).__name__}"
            _refused(lambda box=box: box.append(1))
            _refused(lambda box=box: box.__setitem__(0, 1))
        assert isinstance(box, FrozenDict | FrozenList), f"{where} is a {type(box).__name__}"
    assert is_read_only(sc)


def test_specs_built_in_python_are_read_only_too():
    weapon = WeaponSpec(
        name="x", supplier="USA", mode="rocket", range_km=70.0, effect={"artillery": 0.5},
        interception_chance=0.1, stock=10.0, source="test",
    )  # fmt: skip
    assert isinstance(weapon.effect, FrozenDict)
    _refused(lambda: weapon.effect.__setitem__("artillery", 1.0))
    # A default container is read-only as well (defaults are not validated by pydantic).
    bare = WeaponSpec(
        name="x", supplier="USA", mode="rocket", range_km=70.0, interception_chance=0.1,
        stock=10.0, source="test",
    )  # fmt: skip
    assert isinstance(bare.effect, FrozenDict) and is_read_only(bare)


def test_read_only_containers_read_like_the_plain_ones(sc):
    weapons = sc.forces["ua_himars"].weapons
    assert weapons == ["GMLRS", "ATACMS"] and weapons == ("GMLRS", "ATACMS")
    assert weapons != ["GMLRS"] and (weapons != ["GMLRS", "ATACMS"]) is False
    # Concatenation as lists did (what code written for lists expects), into a new list.
    assert weapons + ["M777"] == ["GMLRS", "ATACMS", "M777"]  # noqa: RUF005
    assert type(weapons + ["M777"]) is list and type(["M777"] + weapons) is list  # noqa: RUF005
    assert isinstance(sc.weapons, dict) and sc.weapons == dict(sc.weapons)
    changed = sc.weapons | {"NEW": sc.weapons["GMLRS"]}  # a new, plain dict
    assert type(changed) is dict and "NEW" not in sc.weapons
    own = sc.weapons.copy()
    own["NEW"] = sc.weapons["GMLRS"]
    assert "NEW" not in sc.weapons
    sc.weapons.__init__({"NEW": 1})  # calling __init__ again changes nothing
    assert "NEW" not in sc.weapons
    keys = FrozenDict.fromkeys(["a", "b"], 0)
    assert keys == {"a": 0, "b": 0} and type(keys) is FrozenDict
    assert json.loads(json.dumps(sc.forces["ua_himars"].weapons)) == ["GMLRS", "ATACMS"]


# --- a changed copy, made the validated way, is built from its own values ----------------


def test_a_changed_copy_gives_a_model_built_from_the_new_values(sc):
    first = EscalationModel(sc, seed=0, record_events=False)  # fills every cache
    gmlrs = first.weapon_ids.index("GMLRS")
    reach, cell, units = sc.weapons["GMLRS"].range_km, sc.theater.cell_km, len(first.forces.x)
    assert first.forces.w_range[gmlrs] == reach
    changed = with_overrides(
        sc,
        [
            f"weapons.GMLRS.range_km={reach + 40}",
            "forces.ua_himars.count=9",
            f"theater.cell_km={2 * cell}",
        ],
    )
    second = EscalationModel(changed, seed=0, record_events=False)
    assert second.forces.w_range[second.weapon_ids.index("GMLRS")] == reach + 40
    assert len(second.forces.x) == units + 9 - sc.forces["ua_himars"].count
    assert second.theater.cell_km == 2 * cell and first.theater.cell_km == cell
    assert second.theater.n_cells < first.theater.n_cells
    # The original is untouched and a model of it still built from its own values.
    third = EscalationModel(sc, seed=0, record_events=False)
    assert third.forces.w_range[gmlrs] == reach and len(third.forces.x) == units
    assert third.theater is first.theater  # its cached theater, still right


def test_a_scenario_assembled_without_validation_is_never_cached(sc):
    """``model_copy(update=...)`` skips validation: plain containers, so no cache entry."""
    loose = sc.model_copy(update={"weapons": dict(sc.weapons)})
    assert not is_read_only(loose) and is_read_only(sc)
    forces_module._static_cache.clear()
    EscalationModel(loose, seed=0, record_events=False)
    assert len(forces_module._static_cache) == 0
    # So an edit in place to it is seen by the next model built from it.
    loose.weapons["GMLRS"] = sc.weapons["GMLRS"].model_copy(update={"range_km": 30.0})
    model = EscalationModel(loose, seed=0, record_events=False)
    assert model.forces.w_range[model.weapon_ids.index("GMLRS")] == 30.0
    EscalationModel(sc, seed=0, record_events=False)
    assert len(forces_module._static_cache) == 1


def test_a_spec_cache_keeps_read_only_specs_only(sc):
    builds: list[object] = []
    cache: SpecCache[Any, int] = SpecCache(lambda spec: builds.append(spec) or len(builds))
    assert cache.get(sc) == cache.get(sc) == 1
    loose = sc.model_copy(update={"target_classes": list(sc.target_classes)})
    assert cache.get(loose) == 2 and cache.get(loose) == 3  # built afresh each time
    assert len(cache) == 1 and builds == [sc, loose, loose]


# --- the run metadata's hash, cached per scenario object -----------------------------------


def test_the_metadata_hash_is_worked_out_once_per_scenario_and_follows_a_copy(sc, monkeypatch):
    counted: list[object] = []

    def counting(spec: Any) -> str:
        counted.append(spec)
        return scenario_hash(spec)

    monkeypatch.setattr(_hashes, "_build", counting)
    _hashes.clear()
    hashes = {run_metadata(sc, seed)["scenario_hash"] for seed in range(5)}
    assert hashes == {scenario_hash(sc)} and counted == [sc]
    changed = with_overrides(sc, ["horizon_days=40"])
    assert run_metadata(changed, 0)["scenario_hash"] == scenario_hash(changed) != hashes.pop()
    # One that could change in place is hashed afresh, so its hash follows the edit.
    loose = sc.model_copy(update={"weapons": dict(sc.weapons)})
    before = run_metadata(loose, 0)["scenario_hash"]
    del loose.weapons["TAURUS"]
    after = run_metadata(loose, 0)["scenario_hash"]
    assert after != before and after == scenario_hash(loose)
    assert counted == [sc, changed, loose, loose]


# --- pickling, copying, dumping and hashing as before -------------------------------------


def test_a_read_only_scenario_pickles_and_copies_as_itself(sc):
    for other in (
        pickle.loads(pickle.dumps(sc)),
        pickle.loads(pickle.dumps(sc, protocol=0)),
        copy.deepcopy(sc),
        copy.copy(sc),
        sc.model_copy(),
    ):
        assert other == sc and scenario_hash(other) == scenario_hash(sc)
        assert hash(other) == hash(sc)
        assert is_read_only(other)
        assert type(other.weapons) is FrozenDict and type(other.target_classes) is FrozenList
        _refused(lambda other=other: other.weapons.__setitem__("x", 1))


def test_dumps_hold_plain_dicts_and_lists_only(sc):
    for dumped in (sc.model_dump(), sc.model_dump(mode="json")):
        for where, box in _containers(dumped):
            assert type(box) in (dict, list), f"{where} is a {type(box).__name__}"
    assert json.loads(sc.model_dump_json()) == scenario_to_dict(sc)
    rule = sc.rules["USA"].postures["kharkiv_counterfire"].rules[0]
    assert rule.model_dump()["target_classes"] == "all"  # a union with a string, unharmed
    assert scenario_from_dict(scenario_to_dict(sc)) == sc


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_shipped_scenarios_hash_as_they_did_before(path: Path):
    recorded = json.loads(HASHES.read_text("utf-8"))
    sc = load_scenario(path)
    assert scenario_hash(sc) == recorded[path.stem]
    assert run_metadata(sc, 0)["scenario_hash"] == recorded[path.stem]


def test_the_readmes_example_of_a_changed_copy_runs_as_it_says():
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("### Scenarios in Python are read-only", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    refused = [line for line in code.splitlines() if "# TypeError" in line]
    assert len(refused) == 1
    scope: dict[str, Any] = {}
    exec(code.replace(refused[0], ""), scope)  # the rest runs as written
    message = _refused(lambda: exec(refused[0].split("#")[0], scope))
    assert "read-only" in message
    sc, wide, bigger = scope["sc"], scope["wide"], scope["bigger"]
    assert wide.weapons["ATACMS"].range_km == 300 and wide.rules["USA"].posture == "deep_strike"
    assert sum(f.count for f in bigger.forces.values()) == 10 * sum(
        f.count for f in sc.forces.values()
    )
    assert scope["result"].metadata["scenario_hash"] != scenario_hash(sc)


def test_read_only_containers_write_as_plain_yaml_and_json(sc):
    import yaml

    weapons, effect = sc.forces["ua_himars"].weapons, sc.weapons["GMLRS"].effect
    for dump in (yaml.safe_dump, yaml.dump):
        assert dump(weapons) == dump(list(weapons))
        assert dump({"e": effect, "w": weapons}) == dump({"e": dict(effect), "w": list(weapons)})
    assert json.dumps(effect) == json.dumps(dict(effect))


@pytest.mark.slow  # a spawned interpreter imports the package (the pool tests cover it too)
def test_a_spawned_worker_receives_the_scenario_read_only_and_hashes_it_alike(sc):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        hashed, read_only = pool.apply(scenario_hash, (sc,)), pool.apply(is_read_only, (sc,))
    assert hashed == scenario_hash(sc) and read_only is True


def test_parts_of_a_validated_scenario_given_back_as_data_take_overrides_inside():
    sc = load_scenario(ROOT / "scenarios/us_widening_schedule.yaml")
    bands = sc.decisions.perception.depth_bands_km
    data = {
        "target_classes": sc.target_classes,
        "decisions": {"perception": {"depth_bands_km": bands}},
    }
    changed = scenario_from_dict(
        data, ["target_classes.0=artillery", "decisions.perception.depth_bands_km.0=5"]
    )
    assert changed.decisions.perception.depth_bands_km == [5.0, *bands[1:]]
    assert bands[0] != 5.0  # the original's list is untouched
    # A spec given whole is a value, not data to go inside: the message says so.
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"schedule": sc.schedule}, ["schedule.0.day=3"])
    assert "cannot go inside this value (a ScheduledChangeSpec" in caught.value.render()
