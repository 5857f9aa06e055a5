"""Paired comparison on common random numbers: differences, intervals, the command's files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from escalation_sim.api import run
from escalation_sim.cli import main
from escalation_sim.experiment import ExperimentError, run_seeds
from escalation_sim.experiment.compare import ComparisonResult, compare, paired_differences

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
PRE = ROOT / "scenarios" / "pre_may30.yaml"
DEEP = ROOT / "scenarios" / "deep_strike.yaml"
DAYS = 20


def test_paired_differences_equal_per_seed_differences_computed_independently() -> None:
    runs, root = 8, 4
    result = compare([DEFAULT, PRE], runs=runs, seed=root, days=DAYS, jobs=1, progress=False)
    table = result.table.set_index("outcome")
    assert set(table["baseline"]) == {"may30_kharkiv_counterfire"}
    assert set(table["scenario"]) == {"pre_may30"}

    # Each seed run separately through the public single-run API, on both rule sets.
    seeds = run_seeds(root, runs)
    assert result.runs["pre_may30"]["seed"].tolist() == seeds
    assert result.runs["may30_kharkiv_counterfire"]["seed"].tolist() == seeds
    fire = {}
    for path in (DEFAULT, PRE):
        fire[path] = np.array(
            [
                run(path, seed=s, days=DAYS, record_events=False).summary["fire_on_city"]
                for s in seeds
            ]
        )
    d = fire[PRE] - fire[DEFAULT]
    row = table.loc["fire_on_city"]
    assert row["mean_diff"] == pytest.approx(d.mean(), abs=1e-12)
    assert row["mean_baseline"] == pytest.approx(fire[DEFAULT].mean(), abs=1e-12)
    assert row["mean_scenario"] == pytest.approx(fire[PRE].mean(), abs=1e-12)
    assert row["n"] == runs and row["ci_level"] == 0.95
    half = stats.t.ppf(0.975, runs - 1) * d.std(ddof=1) / math.sqrt(runs)
    assert row["ci_low"] == pytest.approx(d.mean() - half, rel=1e-12)
    assert row["ci_high"] == pytest.approx(d.mean() + half, rel=1e-12)
    assert row["ci_low"] <= row["mean_diff"] <= row["ci_high"]
    assert row["p_value"] == pytest.approx(stats.ttest_rel(fire[PRE], fire[DEFAULT]).pvalue)

    # The per-seed differences behind the table are saved for figures.
    diffs = result.differences
    fod = diffs[diffs["outcome"] == "fire_on_city"].sort_values("run")
    np.testing.assert_allclose(fod["diff"].to_numpy(), d)

    # Every interval contains its mean difference, for every outcome.
    t = result.table
    assert (t["ci_low"] <= t["mean_diff"]).all() and (t["mean_diff"] <= t["ci_high"]).all()


def test_paired_intervals_on_known_data() -> None:
    base = pd.DataFrame({"run": range(5), "seed": range(5), "x": [1.0, 2, 3, 4, 5]})
    shifted = base.assign(x=base["x"] + 2.0)
    noisy = base.assign(x=[3.0, 3, 6, 5, 8])
    same = paired_differences(base, shifted, ["x"]).iloc[0]
    assert same["mean_diff"] == 2.0 and same["ci_low"] == same["ci_high"] == 2.0
    r = paired_differences(base, noisy, ["x"], ci=0.9).iloc[0]
    d = np.array([2.0, 1, 3, 1, 3])
    half = stats.t.ppf(0.95, 4) * d.std(ddof=1) / math.sqrt(5)
    assert r["mean_diff"] == pytest.approx(2.0)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((2.0 - half, 2.0 + half))
    assert r["ci_level"] == 0.9 and r["n"] == 5
    other_seeds = noisy.assign(seed=[9, 9, 9, 9, 9])
    with pytest.raises(ExperimentError, match="same seeds"):
        paired_differences(base, other_seeds, ["x"])


def test_cli_compare_prints_and_saves_the_comparison(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", str(DEFAULT), str(PRE), str(DEEP), "--runs", "4", "--days", str(DAYS)]
    args += ["--jobs", "1", "--out", str(out), "--no-progress", "--ci", "0.9"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "pre_may30 vs may30_kharkiv_counterfire" in result.output
    assert "deep_strike vs may30_kharkiv_counterfire" in result.output
    assert "fire_on_city" in result.output and "90% CI" in result.output

    table = pd.read_parquet(out / "comparison.parquet")
    assert list(table.columns[:10]) == [
        "outcome",
        "baseline",
        "scenario",
        "mean_baseline",
        "mean_scenario",
        "mean_diff",
        "ci_low",
        "ci_high",
        "ci_level",
        "n",
    ]
    assert set(table["scenario"]) == {"pre_may30", "deep_strike"}
    assert (table["ci_level"] == 0.9).all() and (table["n"] == 4).all()
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "comparison.csv"), check_dtype=False)
    assert (out / "comparison.txt").read_text().startswith("Paired comparison")
    labels = ["may30_kharkiv_counterfire", "pre_may30", "deep_strike"]
    for folder in ("runs", "aggregates", "rung_probability"):
        for label in labels:
            assert (out / folder / f"{label}.parquet").is_file()
    runs = pd.read_parquet(out / "runs" / "pre_may30.parquet")
    assert {"run", "seed", "peak_rung.RUS", "withheld", "fire_on_city"} <= set(runs.columns)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "compare" and meta["labels"] == labels
    assert len(meta["scenario_hashes"]) == 3 and meta["runs"] == 4 and meta["root_seed"] == 0
    assert "t-interval" in meta["ci_method"]
    loaded = ComparisonResult.load(out)
    pd.testing.assert_frame_equal(loaded.table, table)
    assert loaded.labels == labels and len(loaded.runs["deep_strike"]) == 4


def test_cli_compare_input_errors_exit_2(tmp_path: Path) -> None:
    one = CliRunner().invoke(main, ["compare", str(DEFAULT), "--out", str(tmp_path / "a")])
    assert one.exit_code == 2 and "at least two" in one.output
    bad = CliRunner().invoke(
        main,
        [
            "compare",
            str(DEFAULT),
            str(PRE),
            "--outcome",
            "fire_on_cty",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert bad.exit_code == 2 and "unknown outcome" in bad.output and "Traceback" not in bad.output
    missing = CliRunner().invoke(
        main, ["compare", str(DEFAULT), str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "c")]
    )
    assert (
        missing.exit_code == 2 and "nope.yaml" in missing.output and "not found" in missing.output
    )
    assert not any(tmp_path.iterdir())
