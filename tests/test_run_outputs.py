"""The run command and its result directory: complete, atomic, reloadable."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from escalation_sim import load_run, run, write_run
from escalation_sim.cli import main
from escalation_sim.results import (
    CURVE_PNG,
    EVENTS_JSONL,
    METADATA_JSON,
    OUTPUT_MARKER,
    SCENARIO_YAML,
    SUMMARY_JSON,
    TIMESERIES_CSV,
    TIMESERIES_PARQUET,
    OutputExistsError,
    atomic_directory,
)
from escalation_sim.scenario import load_scenario, scenario_hash

MAY30 = "scenarios/may30_kharkiv_counterfire.yaml"
ALL_FILES = {
    TIMESERIES_CSV,
    TIMESERIES_PARQUET,
    EVENTS_JSONL,
    SUMMARY_JSON,
    METADATA_JSON,
    SCENARIO_YAML,
    CURVE_PNG,
    OUTPUT_MARKER,
}


@pytest.fixture(scope="module")
def result():
    return run(MAY30, seed=3, days=25)


def test_summary_does_not_depend_on_the_event_log(result):
    bare = run(MAY30, seed=3, days=25, record_events=False)
    assert bare.events == []
    assert bare.summary == result.summary
    assert result.summary["first_strike_in_russia_day"], "May-30 strikes inside Russia from day 1"


def test_write_and_load_round_trip(result, tmp_path):
    out = write_run(result, tmp_path / "r")
    assert {p.name for p in out.iterdir()} == ALL_FILES
    back = load_run(out)
    pd.testing.assert_frame_equal(
        back.timeseries.drop(columns="date"), result.timeseries.drop(columns="date")
    )
    assert back.summary == json.loads(json.dumps(result.summary))
    assert len(back.events) == len(result.events)
    assert back.metadata["scenario_hash"] == scenario_hash(result.scenario)
    assert load_scenario(out / SCENARIO_YAML) == result.scenario


def test_a_failing_write_leaves_nothing(tmp_path):
    target = tmp_path / "out"

    def fill(tmp):
        (tmp / "half.csv").write_text("a,b\n")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_directory(target, fill)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_unless_forced(result, tmp_path):
    out = write_run(result, tmp_path / "r", plot=False)
    with pytest.raises(OutputExistsError):
        write_run(result, out, plot=False)
    (out / "marker").write_text("old")
    write_run(result, out, force=True, plot=False)
    assert not (out / "marker").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_run_command_prints_the_summary_and_writes_the_directory(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(main, ["run", MAY30, "--seed", "2", "--days", "15", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Peak rung per actor" in res.output and "Strikes inside Russia" in res.output
    assert {p.name for p in out.iterdir()} == ALL_FILES
    again = CliRunner().invoke(main, ["run", MAY30, "--days", "15", "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_run_command_with_a_bad_override_writes_nothing(tmp_path):
    out = tmp_path / "bad"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "escalation_sim",
            "run",
            MAY30,
            "--set",
            "weapons.GMLRS.range_km=-1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "weapons.GMLRS.range_km" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def _replay_violations(scenario_path: str, seed: int) -> tuple[int, int]:
    """Strikes the log, replayed in file order, shows outside their supplier's current rules."""
    res = run(scenario_path, seed=seed)
    sc = res.scenario
    posture = {s: p.posture for s, p in sc.rules.items()}
    rules_of = {
        (s, name): {r.id for r in spec.rules}
        for s, p in sc.rules.items()
        for name, spec in p.postures.items()
    }
    bad = changes = 0
    for ev in res.events:
        if ev["kind"] == "rule_change":
            posture[ev["actor"]] = ev["to_posture"]
            changes += 1
        elif ev["kind"] == "strike" and ev["supplier"] in posture:
            bad += ev["rule"] not in rules_of[(ev["supplier"], posture[ev["supplier"]])]
    return bad, changes


@pytest.mark.parametrize("seed", [0, 1])
def test_event_log_replayed_in_file_order_never_shows_a_strike_outside_its_rules(seed):
    bad, changes = _replay_violations("scenarios/adaptive_policy.yaml", seed)
    assert changes > 0  # the scenario's suppliers do change their rules
    assert bad == 0, f"{bad} strikes appear before the rule change that allowed them"
