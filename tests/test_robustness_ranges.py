"""The assumption ranges: every assumption of the decision layer has one, each holds its default.

Also the file's format: '*' segments, factor ranges, specificity, clean
errors naming file, line and field, and seeded Latin-hypercube sampling.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario
from escalation_sim.errors import ScenarioError
from escalation_sim.scenario.provenance import default_parameters
from escalation_sim.scenario.ranges import (
    default_scenario_data,
    expand,
    load_ranges,
    parse_ranges,
    ranges_by_path,
    sample,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

#: Sections of the decision layer whose "assumption" defaults must each have a range.
DECISION_LAYER = ("decisions.", "ladder.", "ladders.", "options.")
#: Fields in those sections that are structure (positions, cross-walks), not assumptions to vary.
STRUCTURAL_FIELDS = {
    "level": "a rung's position on its ladder",
    "rung": "the rung an option stands on",
    "min_rung": "the rung an option needs",
    "kahn": "a cross-walk to Kahn's 44 rungs, a reading",
}
#: Parameters the model reads only for some actors (agents.StateActor.update_credibility).
READ_ONLY_FOR = {"credibility_weight": "RUS"}


def _decision_layer_assumptions():
    out = []
    for p in default_parameters():
        if not (p.path.startswith(DECISION_LAYER) or ".adaptation." in p.path):
            continue
        if "assumption" not in p.source.lower() or isinstance(p.value, bool):
            continue
        if not isinstance(p.value, int | float):
            continue
        parts = p.path.split(".")
        if parts[-1] in STRUCTURAL_FIELDS:
            continue
        # The bottom rung is where an actor stands, not a threshold to climb.
        if parts[-1] == "climb_threshold" and parts[-2] == "0":
            continue
        if parts[-1] in READ_ONLY_FOR and parts[-2] != READ_ONLY_FOR[parts[-1]]:
            continue
        out.append(p)
    return out


def test_every_assumption_of_the_decision_layer_has_a_range_containing_its_default():
    params = _decision_layer_assumptions()
    assert len(params) > 60, len(params)
    owners = ranges_by_path(load_ranges(), default_scenario_data())
    missing = [p.path for p in params if p.path not in owners]
    assert missing == [], f"assumptions without a plausible range: {missing}"
    outside = [
        (p.path, p.value, owners[p.path].describe())
        for p in params
        if not owners[p.path].contains(float(p.value))
    ]
    assert outside == [], outside
    # The parameter table shows them.
    assert all(p.range for p in params)


def test_zero_defaults_under_a_factor_are_not_sampled_but_explicit_entries_are():
    ranges = load_ranges()
    data = default_scenario_data()
    names = {d.name for d in ranges.dimensions([data])}
    assert "decisions.actors.RUS.harm_weight" not in names  # 0 x factor stays 0
    assert "decisions.actors.RUS.adversary_rung_weight" in names  # its own absolute range
    assert "decisions.actors.UKR.harm_weight" in names
    # A shared "*" entry is one dimension that sets every non-zero threshold (rungs 1-9).
    shared = [d for d in ranges.dimensions([data]) if d.name == "ladder.rungs.*.climb_threshold"]
    assert len(shared) == 1 and len(shared[0].paths) == 9


def test_sampled_sets_keep_every_scenario_valid_and_ladders_ordered():
    ranges = load_ranges()
    scenarios = [load_scenario(SCENARIOS / f) for f in ("pre_may30.yaml", "deep_strike.yaml")]
    data = [sc.model_dump(mode="json") for sc in scenarios]
    sets = sample(ranges.dimensions(data), 24, seed=3)
    base = scenarios[0].ladder.rungs
    for i in range(len(sets)):
        for sc in scenarios:
            out = sets.scenario(i, sc)  # validates (ordered ladders, probabilities in [0, 1])
            thresholds = [r.climb_threshold for r in out.ladder.rungs]
            assert thresholds == sorted(thresholds)
            f = thresholds[3] / base[3].climb_threshold
            assert 0.6 - 1e-9 <= f <= 1.6 + 1e-9
            assert 40 <= out.combat.max_strikes_per_step <= 150
            assert isinstance(out.combat.max_strikes_per_step, int)
            assert isinstance(out.rules["USA"].adaptation.narrow_at_rung, int)
    # Both scenarios of a set get the same values.
    a, b = (sets.scenario(5, sc) for sc in scenarios)
    assert a.decisions == b.decisions and a.combat == b.combat


def test_latin_hypercube_is_seeded_stratified_and_within_the_ranges():
    ranges = load_ranges()
    dims = ranges.dimensions([default_scenario_data()])
    one, two, other = sample(dims, 16, 7), sample(dims, 16, 7), sample(dims, 16, 8)
    assert np.array_equal(one.values, two.values)
    assert not np.array_equal(one.values, other.values)
    # One point in each of the 16 strata of every dimension.
    strata = np.floor(one.unit * 16).astype(int)
    assert all(sorted(strata[:, j]) == list(range(16)) for j in range(len(dims)))
    for j, d in enumerate(dims):
        assert (one.values[:, j] >= d.spec.low - 1e-9).all()
        assert (one.values[:, j] <= d.spec.high + 1e-9).all()


def test_the_same_sets_in_another_process():
    code = (
        "from escalation_sim.scenario.ranges import *;"
        "d=load_ranges().dimensions([default_scenario_data()]);"
        "print(repr(float(sample(d, 4, 11).values.sum())))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dims = load_ranges().dimensions([default_scenario_data()])
    assert float(out.stdout) == sample(dims, 4, 11).values.sum()


def test_expand_star_over_mappings_and_lists():
    data = {"a": {"x": {"v": 1}, "y": {"v": 2.5}, "z": {"w": 0}}, "l": [{"t": 1}, {"t": 3}]}
    assert expand(data, "a.*.v") == [("a.x.v", 1), ("a.y.v", 2.5)]
    assert expand(data, "l.*.t") == [("l.0.t", 1), ("l.1.t", 3)]
    assert expand(data, "l.1.t") == [("l.1.t", 3)]
    assert expand(data, "a.q.v") == []


# ---------------------------------------------------------------------- errors


def _problems(text: str):
    with pytest.raises(ScenarioError) as info:
        ranges, _ = parse_ranges(text, "my_ranges.yaml")
        from escalation_sim.scenario.ranges import check_against

        check_against(ranges, default_scenario_data())
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "decisions:\n  decisions.actors.RUS.steepness: {low: 0.3, high: 0.5, why: x}\n",
            "my_ranges.yaml:2: decisions.actors.RUS.steepness: the range [0.3, 0.5] "
            "does not contain the default 0.25",
        ),
        (
            "decisions:\n  decisions.actors.RUS.stepness: {low: 0.1, high: 0.5, why: x}\n",
            "did you mean 'steepness'?",
        ),
        (
            "decisions:\n  decisions.actors.RUS.steepness: {low: 0.5, high: 0.1, why: x}\n",
            "my_ranges.yaml:2: decisions.actors.RUS.steepness (high): the low end (0.5) "
            "must be below the high end (0.1)",
        ),
        (
            "decisions:\n  decisions.actors.RUS.steepness: {low: 0.1, high: 0.5}\n",
            "every range says why",
        ),
        (
            "decisions:\n  decisions.actors.RUS.steepness: {low: 0.1, hihg: 0.5, why: x}\n",
            "unknown field 'hihg'",
        ),
        ("batlefield:\n  combat.damage_spread: {low: 0.1, high: 0.5, why: x}\n", "unknown region"),
        (
            "policy:\n  rules.*.adaptation.widen: {low: 0, high: 1, why: x}\n",
            "not a numeric parameter",
        ),
        (
            "decisions:\n  ladder.rungs.*.climb_threshold: {factor: [1.2, 2], why: x}\n",
            "does not contain the default",
        ),
        (
            "decisions:\n  decisions.actors.*.steepness: {low: 0.1, high: 0.5, why: x}\n"
            "policy:\n  decisions.actors.*.steepness: {low: 0.1, high: 0.6, why: y}\n",
            "is already given a range by",
        ),
        (
            "decisions:\n  decisions.actors.RUS.steepness: {low: -1, high: 0.5, scale: log, why: x}\n",
            "a log scale needs positive ends",
        ),
    ],
)
def test_bad_ranges_are_reported_with_file_line_and_field(text, expected):
    problems = _problems(text)
    assert any(expected in p for p in problems), problems


def test_a_more_specific_entry_decides():
    text = (
        "decisions:\n"
        "  decisions.actors.*.steepness: {low: 0.2, high: 0.3, why: x}\n"
        "  decisions.actors.RUS.steepness: {low: 0.01, high: 0.02, why: the exception}\n"
    )
    ranges, _ = parse_ranges(text, "r.yaml")
    owners = ranges_by_path(ranges, default_scenario_data())
    assert owners["decisions.actors.RUS.steepness"].why == "the exception"
    assert owners["decisions.actors.UKR.steepness"].low == 0.2
    with pytest.raises(ScenarioError, match=r"does not contain the default 0\.25"):
        from escalation_sim.scenario.ranges import check_against

        check_against(ranges, default_scenario_data())


def test_a_user_file_is_read_with_lines(tmp_path):
    path = tmp_path / "ranges.yaml"
    path.write_text(
        "# mine\ndecisions:\n  decisions.actors.RUS.climb_rate: {low: 0.01, high: 0.02, why: x}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_ranges(path)
    assert str(info.value.problems[0]).startswith(
        f"{path}:3: decisions.actors.RUS.climb_rate: the range"
    )
    path.write_text(
        "decisions:\n  decisions.actors.RUS.climb_rate: {low: 0.01, high: 0.2, why: x}\n"
    )
    assert len(load_ranges(path).specs) == 1
