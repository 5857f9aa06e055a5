"""Property-based robustness of scenario loading.

Whatever a user writes (typos, wrong types, half a file, random bytes), loading
either succeeds or raises a ScenarioError whose problems can be printed; it
never fails with any other exception.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_sim.errors import ScenarioError
from escalation_sim.scenario import (
    Scenario,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
    scenario_to_dict,
    scenario_to_yaml,
    with_overrides,
)
from escalation_sim.scenario.source import read_yaml_file

REPO = Path(__file__).resolve().parents[1]
SCENARIO_DIR = REPO / "scenarios"
SHIPPED = sorted(SCENARIO_DIR.glob("*.yaml"))
DEFAULT_SCENARIO = SCENARIO_DIR / "may30_kharkiv_counterfire.yaml"

BASE_SCENARIO = load_scenario(DEFAULT_SCENARIO)
RESOLVED = scenario_to_dict(BASE_SCENARIO)
RAW = {path.name: read_yaml_file(path)[0] for path in SHIPPED}
TEXTS = {path.name: path.read_text(encoding="utf-8") for path in SHIPPED}
TEXTS["resolved.yaml"] = scenario_to_yaml(BASE_SCENARIO)


def fuzz(examples: int) -> settings:
    """Hypothesis settings: a small fixed budget (FUZZ_SCALE=20 in the environment for more)."""
    return settings(
        max_examples=examples * max(1, int(os.environ.get("FUZZ_SCALE", "1"))),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- strategies ----------------------------------------------------------------------

odd_numbers = st.sampled_from(
    [-1, 0, -0.5, -1e9, 1e308, float("inf"), float("-inf"), float("nan"), 10**30, -(10**30)]
)
likely_words = st.sampled_from(
    [
        *("", "all", "any", "allow", "forbid", "USA", "RUS", "GMLRS", "ATACMS"),
        *("belgorod_border", "counter_fire", "2024-05-30", "null", "~", "{", "- x", "a: b"),
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=10**18, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    odd_numbers,
    likely_words,
)
keys = st.one_of(st.text(max_size=10), likely_words, st.integers(min_value=-3, max_value=3))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
YAML_NOISE = st.sampled_from(
    [
        *(":", ": ", "-", "- ", "{", "}", "[", "]", ",", "\n", "\t", "  ", "#", "&a ", "*a"),
        *("!!int ", "!!python/object:os.system ", "'", '"', "|", ">", "? ", "%YAML 1.1\n"),
        *("---\n", "...\n"),
    ]
)


def all_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from all_paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from all_paths(value, (*prefix, i))


def get(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def typo(word: str, data: st.DataObject) -> str:
    if not word:
        return "x"
    i = data.draw(st.integers(min_value=0, max_value=len(word) - 1), label="typo position")
    kind = data.draw(st.sampled_from(["drop", "double", "swap", "upper", "insert"]), label="typo")
    if kind == "drop":
        out = word[:i] + word[i + 1 :]
    elif kind == "double":
        out = word[:i] + word[i] + word[i:]
    elif kind == "swap" and i + 1 < len(word):
        out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif kind == "upper":
        out = word[:i] + word[i].upper() + word[i + 1 :]
    else:
        out = word[:i] + data.draw(st.sampled_from("aeiouxz_-"), label="letter") + word[i:]
    return out if out and out != word else word + "s"


def mutate(doc: dict[str, Any], data: st.DataObject, n: int) -> dict[str, Any]:
    """Apply ``n`` random mutations to a copy of ``doc``."""
    doc = copy.deepcopy(doc)
    for _ in range(n):
        paths = list(all_paths(doc))
        path = data.draw(st.sampled_from(paths), label="path")
        kind = data.draw(
            st.sampled_from(["delete", "rename", "replace", "null", "insert"]), label="mutation"
        )
        if not path:
            kind = "insert"
        if kind == "insert":
            target = get(doc, path)
            if isinstance(target, dict):
                target[data.draw(keys, label="new key")] = data.draw(values, label="new value")
            elif isinstance(target, list):
                at = data.draw(st.integers(min_value=0, max_value=len(target)), label="at")
                target.insert(at, data.draw(values, label="new item"))
            else:
                kind = "replace"
        if kind == "insert" or not path:
            continue
        parent, last = get(doc, path[:-1]), path[-1]
        if kind == "delete":
            del parent[last]
        elif kind == "rename" and isinstance(parent, dict) and isinstance(last, str):
            parent[typo(last, data)] = parent.pop(last)
        elif kind == "null":
            parent[last] = None
        else:
            parent[last] = data.draw(values, label="replacement")
    return doc


def check_outcome(load: Callable[[], Scenario]) -> Scenario | None:
    """Run a load: a Scenario, or a ScenarioError with printable problems; nothing else."""
    try:
        scenario = load()
    except ScenarioError as exc:
        assert exc.problems
        for p in exc.problems:
            assert isinstance(p.message, str) and p.message.strip(), p
            assert isinstance(p.file, str) and p.file.strip(), p
            assert isinstance(p.path, str), p
            assert p.line is None or (isinstance(p.line, int) and p.line >= 1), p
            assert "\n" not in str(p), p  # one line per problem
        assert exc.render().count("\n") == len(exc.problems) - 1
        return None
    assert isinstance(scenario, Scenario)
    assert len(scenario_hash(scenario)) == 64
    return scenario


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped scenarios, so that fuzzed files can `extends:` them."""
    out = tmp_path_factory.mktemp("fuzz")
    for path in SHIPPED:
        shutil.copy(path, out / path.name)
    return out


# --- properties ----------------------------------------------------------------------


@fuzz(90)
@given(st.data())
def test_mutated_resolved_scenario_from_dict(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=4), label="mutations")
    doc = mutate(RESOLVED, data, n)
    scenario = check_outcome(lambda: scenario_from_dict(doc, label="fuzz"))
    if scenario is not None:
        # whatever loads must also survive its own round trip through YAML
        again = scenario_from_dict(yaml.safe_load(scenario_to_yaml(scenario)))
        assert scenario_hash(again) == scenario_hash(scenario)


@fuzz(50)
@given(st.data())
def test_mutated_shipped_file_loads_or_reports(workdir: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(RAW)), label="file")
    n = data.draw(st.integers(min_value=1, max_value=3), label="mutations")
    doc = mutate(RAW[name], data, n)
    path = workdir / "mutated.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    check_outcome(lambda: load_scenario(path))


@fuzz(30)
@given(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["", ".", "..", "/", "~", "a" * 5000, "\x00", "extending.yaml"]),
        st.sampled_from([p.name for p in SHIPPED]),
    )
)
def test_any_extends_value(workdir: Path, parent: str) -> None:
    path = workdir / "extending.yaml"
    path.write_text(yaml.safe_dump({"name": "fuzz", "extends": parent}), encoding="utf-8")
    check_outcome(lambda: load_scenario(path))


@fuzz(40)
@given(st.data())
def test_truncated_yaml_text(workdir: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(TEXTS)), label="file")
    text = TEXTS[name]
    cut = data.draw(st.integers(min_value=0, max_value=len(text)), label="cut")
    path = workdir / "truncated.yaml"
    path.write_text(text[:cut], encoding="utf-8")
    check_outcome(lambda: load_scenario(path))


@fuzz(40)
@given(st.data())
def test_yaml_text_with_noise(workdir: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(TEXTS)), label="file")
    text = TEXTS[name]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="edits")):
        at = data.draw(st.integers(min_value=0, max_value=len(text)), label="at")
        drop = data.draw(st.integers(min_value=0, max_value=20), label="drop")
        noise = data.draw(st.one_of(YAML_NOISE, st.text(max_size=8)), label="noise")
        text = text[:at] + noise + text[at + drop :]
    path = workdir / "noisy.yaml"
    path.write_text(text, encoding="utf-8")
    check_outcome(lambda: load_scenario(path))


@fuzz(30)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.tuples(
            st.sampled_from(sorted(TEXTS)), st.binary(min_size=1, max_size=16), st.integers(0, 5000)
        ).map(lambda t: TEXTS[t[0]].encode()[: t[2]] + t[1] + TEXTS[t[0]].encode()[t[2] :]),
    )
)
def test_random_bytes(workdir: Path, blob: bytes) -> None:
    path = workdir / "bytes.yaml"
    path.write_bytes(blob)
    check_outcome(lambda: load_scenario(path))


set_paths = st.sampled_from(
    [".".join(map(str, p)) for p in all_paths(RESOLVED) if p and len(p) <= 5]
)


@fuzz(40)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=20),
            st.tuples(set_paths, st.one_of(likely_words, st.text(max_size=8))).map("=".join),
            st.tuples(set_paths, values.map(lambda v: yaml.safe_dump(v).strip())).map("=".join),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_random_set_overrides(assignments: list[str]) -> None:
    check_outcome(lambda: with_overrides(BASE_SCENARIO, assignments))
    check_outcome(lambda: scenario_from_dict({"name": "fuzz"}, assignments))
