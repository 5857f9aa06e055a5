"""What the commands print: one precision per table, multiple comparisons adjusted and said so,
and a word at once when an experiment starts its workers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.experiment.compare import COMPARISON_COLUMNS, format_comparison
from escalation_sim.experiment.ensemble import describe_ensemble
from escalation_sim.experiment.multiplicity import holm

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "may30_kharkiv_counterfire.yaml"


def test_holm_matches_the_step_down_definition():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06.
    assert holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm(p)[4])
    assert holm(np.array([0.9, 0.8])).max() == 1.0  # capped
    assert holm(np.array([])).shape == (0,)


def comparison_table(p_values: list[float]) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(p_values):
        rows.append(
            {
                "outcome": f"outcome_{i}",
                "baseline": "a",
                "scenario": "b",
                "mean_baseline": 1.0,
                "mean_scenario": 2.0,
                "mean_diff": 1.0,
                "ci_low": 0.1,
                "ci_high": 1.9,
                "ci_level": 0.95,
                "n": 50,
                "sd_diff": 1.0,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def test_compare_stars_only_what_survives_holm_and_says_so():
    # Twenty tests at p = 0.02: each interval excludes 0, but not one survives the adjustment.
    text = format_comparison(
        comparison_table([0.02] * 19 + [0.0001]), {"runs": 50, "root_seed": 0, "labels": ["a", "b"]}
    )
    assert "Holm" in text and "20 tests" in text and "not adjusted" in text
    starred = [line for line in text.splitlines() if line.rstrip().endswith("*")]
    assert [line.split()[0] for line in starred] == ["outcome_19"]
    assert starred[0].split()[-2] == "0.002"  # 20 x 0.0001


def test_ensemble_summary_uses_one_precision_for_every_number():
    runs = pd.DataFrame(
        {
            "fire_on_city": [780.8, 1073.2, 900.0, 811.0],
            "harm": [1888.58, 2394.0, 2000.0, 1999.5],
            "withheld": [0, 1, 2, 0],
            "nato_conflict": [0, 0, 0, 1],
        }
    )
    meta = {"scenario": "S", "runs": 4, "root_seed": 0, "days": 10, "actors": []}
    prob = pd.DataFrame(
        {
            "actor": ["RUS", "RUS"],
            "rung": [3, 4],
            "rung_name": ["Horizontal escalation", "Intensified conventional strikes"],
            "step": [10, 10],
            "day": [10.0, 10.0],
            "date": ["2024-06-09", "2024-06-09"],
            "probability": [0.25, 0.05],
        }
    )
    text = describe_ensemble(meta, runs, prob)
    lines = text.split("Per-run outcomes: mean (5th-95th percentile)\n", 1)[1].splitlines()
    assert lines
    number = r"-?\d+\.\d\d"
    for line in lines:
        assert re.fullmatch(rf"\s+\S+\s+{number}\s+\({number} - {number}\)", line), line


def test_an_experiment_says_at_once_where_it_runs(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "ensemble",
            str(SCENARIO),
            "-n",
            "1",
            "--days",
            "2",
            "--jobs",
            "1",
            "--no-plot",
            "--no-progress",
            "--out",
            str(tmp_path / "e"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"1 run of {SCENARIO}: in this process"


def test_a_bad_dask_address_is_refused_without_announcing_a_cluster(tmp_path):
    out = str(tmp_path / "e")
    base = ["ensemble", str(SCENARIO), "-n", "1", "--days", "2", "--no-progress", "--out", out]
    result = CliRunner().invoke(main, [*base, "--dask", "not an address"])
    assert result.exit_code == 2
    assert "is not a Dask scheduler address" in result.stderr
    assert "on the Dask cluster" not in result.stderr  # no word of a cluster it never reached


@pytest.mark.parametrize("command", ["ensemble", "compare", "robustness", "sweep"])
@pytest.mark.parametrize("bad", ["under_a_file", "exists", "scenario"])
def test_a_refusal_comes_before_any_worker_is_announced(tmp_path, command, bad):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder\n")
    (tmp_path / "exists").mkdir()
    out = {"under_a_file": a_file / "e", "exists": tmp_path / "exists"}.get(bad, tmp_path / "o")
    scenario = SCENARIO
    if bad == "scenario":
        scenario = tmp_path / "bad.yaml"
        scenario.write_text("name: bad\nstep_days: -1\n")
    if command == "sweep":
        sweep = SCENARIO.parent / "sweeps" / "depth_and_risk.yaml"
        if bad == "scenario":
            sweep = tmp_path / "sweep.yaml"
            sweep.write_text(f"base: {scenario}\n")
        args = ["sweep", str(sweep)]
    elif command == "ensemble":
        args = ["ensemble", str(scenario), "-n", "2", "--days", "2"]
    else:
        args = [command, str(SCENARIO), str(scenario), "-n", "2", "--days", "2"]
        args += ["--samples", "2"] if command == "robustness" else []
    result = CliRunner().invoke(main, [*args, "--jobs", "2", "--no-progress", "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    expected = "--out" if bad != "scenario" else str(tmp_path)
    assert lines and lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert "worker processes" not in result.output
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "o").exists()
