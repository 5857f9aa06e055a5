"""The robustness experiment: per-set paired comparisons, conclusions as shares, resume, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.experiment import ExperimentInterrupted, StaleWorkError
from escalation_sim.experiment.conclusions import (
    Conclusion,
    conclusions_table,
    dependence_table,
    format_conclusions,
    load_conclusions,
    share_interval,
)
from escalation_sim.experiment.robustness import (
    RobustnessResult,
    level_rows,
    plan_robustness,
    robustness,
    robustness_rows,
)
from escalation_sim.experiment.store import partial_dir

ROOT = Path(__file__).resolve().parents[1]
PRE = ROOT / "scenarios" / "pre_may30.yaml"
MAY30 = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
DEEP = ROOT / "scenarios" / "deep_strike.yaml"
SMALL = {"samples": 3, "runs": 2, "days": 12, "jobs": 1, "progress": False}
TABLES = ("conclusions", "robustness", "levels", "assumption_sets", "dependence")


# ---------------------------------------------------------------------- pure functions


def _synthetic(sets: int = 6, runs: int = 8) -> dict[str, pd.DataFrame]:
    """Two scenarios whose difference in ``y`` is ``set - 2`` exactly, plus noise in ``z``."""
    rng = np.random.default_rng(0)
    rows_a, rows_b = [], []
    for s in range(sets):
        for r in range(runs):
            run = s * runs + r
            base = rng.normal(10, 3)
            rows_a.append({"run": run, "seed": r, "set": s, "y": base, "z": rng.integers(0, 2)})
            rows_b.append(
                {
                    "run": run,
                    "seed": r,
                    "set": s,
                    "y": base + (s - 2) + rng.normal(0, 0.01),
                    "z": 0,
                }
            )
    return {"a": pd.DataFrame(rows_a), "b": pd.DataFrame(rows_b)}


def test_per_set_differences_signs_and_the_share_of_sets_with_its_interval():
    tables = _synthetic()
    rob = robustness_rows(tables, [("a", "b")], ["y"])
    assert list(rob["set"]) == list(range(6))
    assert np.allclose(rob["mean_diff"], np.arange(6) - 2, atol=0.02)
    signs = list(rob["sign"])
    assert signs[:2] == [-1, -1] and signs[3:] == [1, 1, 1]
    assert list(rob["ci_sign"])[:2] == [-1, -1] and list(rob["ci_sign"])[3:] == [1, 1, 1]
    up = Conclusion(
        id="up", text="b raises y", scenario="b", baseline="a", outcome="y", direction="increase"
    )
    table = conclusions_table([up], rob, pd.DataFrame(columns=["set", "scenario", "outcome"]))
    row = table.iloc[0]
    assert (row.holds, row.sets) == (3, 6)
    assert row.share == pytest.approx(0.5)
    assert (row.share_ci_low, row.share_ci_high) == pytest.approx(share_interval(3, 6))
    assert 0.1 < row.share_ci_low < 0.5 < row.share_ci_high < 0.9
    assert not row.robust


def test_levels_use_clopper_pearson_for_shares_of_runs_and_judge_bounds_by_the_mean():
    tables = _synthetic()
    lev = level_rows(tables, ["z"])
    a = lev[lev["scenario"] == "a"]
    assert set(a["method"]) == {"clopper-pearson"}
    k = tables["a"].groupby("set")["z"].sum().to_numpy()
    assert np.allclose(a["mean"], k / 8)
    rare = Conclusion(id="rare", text="z rare in b", kind="level", scenario="b", outcome="z",
                      at_most=0.05)  # fmt: skip
    often = Conclusion(id="often", text="z rare in a", kind="level", scenario="a", outcome="z",
                       at_most=0.05)  # fmt: skip
    table = conclusions_table([rare, often], pd.DataFrame(), lev).set_index("conclusion")
    assert table.loc["rare", "share"] == 1.0 and table.loc["rare", "criterion"] == "mean"
    assert table.loc["often", "share"] == float(np.mean(k / 8 <= 0.05))


def test_dependence_finds_the_assumption_that_drives_the_effect():
    tables = _synthetic()
    rob = robustness_rows(tables, [("a", "b")], ["y"])
    unit = pd.DataFrame(
        {
            "set": range(6),
            "driver": np.linspace(0.05, 0.95, 6),
            "other": [0.5, 0.1, 0.9, 0.3, 0.7, 0.2],
        }
    )
    up = Conclusion(
        id="up", text="b raises y", scenario="b", baseline="a", outcome="y", direction="increase"
    )
    dep = dependence_table([up], rob, pd.DataFrame(), unit).set_index("dimension")
    assert dep.loc["driver", "spearman_rho"] == pytest.approx(1.0)
    assert abs(dep.loc["other", "spearman_rho"]) < 0.9
    assert (
        dep.loc["driver", "share_low_half"] == 0.0 and dep.loc["driver", "share_high_half"] == 1.0
    )


def test_the_printout_shows_every_conclusion_whole_wrapped_never_cut():
    declared, _ = load_conclusions()
    long_ones = [c.text for c in declared if len(c.text) > 60]
    assert long_ones, "no package conclusion is longer than the column: the test cannot fail"
    table = pd.DataFrame(
        {
            "text": [c.text for c in declared],
            "robust": True,
            "holds": 3,
            "sets": 4,
            "share": 0.75,
            "share_ci_low": 0.2,
            "share_ci_high": 0.99,
            "share_by_mean": 1.0,
            "share_ci_level": 0.95,
            "claim": "diff > 0",
            "criterion": "mean",
            "required_share": 0.8,
        }
    )
    meta = {"samples": 4, "dimensions": 2, "runs": 2, "root_seed": 1}
    text = format_conclusions(table, meta)
    lines = text.splitlines()
    printed = []
    for i, line in enumerate(lines):
        if line.startswith("* "):
            parts = [line[2:64].strip()]
            # Continuation lines sit under the text, two spaces in (the claim line four, in brackets).
            for more in lines[i + 1 :]:
                if not more.startswith("  ") or more.startswith("    ("):
                    break
                parts.append(more.strip())
            printed.append(" ".join(parts))
    assert printed == [" ".join(c.text.split()) for c in declared]
    for line in text.splitlines()[4:]:
        assert len(line) <= 120, line
    assert all("3/4" in ln for ln in lines if ln.startswith("* "))


def test_conclusion_data_is_validated_with_lines(tmp_path):
    good, _ = load_conclusions()
    assert {"deep_strike_raises_rus_peak_rung", "may30_lowers_fire_on_kharkiv"} <= {
        c.id for c in good
    }
    bad = tmp_path / "c.yaml"
    bad.write_text(
        "conclusions:\n  - id: x\n    text: t\n    scenario: a\n    outcome: y\n"
        "    direction: up\n    baseline: b\n"
    )
    with pytest.raises(Exception) as info:
        load_conclusions(bad)
    assert f"{bad}:6: conclusions.0.direction" in str(info.value)
    bad.write_text("conclusions:\n  - {id: x, text: t, scenario: a, outcome: y, kind: level}\n")
    with pytest.raises(Exception, match="a level needs at_most"):
        load_conclusions(bad)


# ---------------------------------------------------------------------- end to end


def test_small_robustness_run_writes_consistent_tables(tmp_path):
    out = tmp_path / "rob"
    res = robustness([PRE, MAY30], out=out, **SMALL)
    for name in (*TABLES, "dimensions"):
        assert (out / f"{name}.csv").is_file(), name
    assert (out / "metadata.json").is_file() and (out / "ranges.yaml").is_file()
    rob, meta = res.robustness, res.metadata
    assert meta["kind"] == "robustness" and meta["samples"] == 3
    # One row per set x comparison x outcome.
    assert len(rob) == 3 * 1 * len(meta["outcomes"])
    # Default conclusions whose scenarios are not given are skipped.
    assert "deep_strike_raises_rus_peak_rung" in meta["skipped_conclusions"]
    assert "may30_lowers_fire_on_kharkiv" in set(res.conclusions["conclusion"])
    # Each set's difference is the mean of that set's per-seed differences.
    a = pd.read_parquet(out / "runs" / "pre_may30.parquet")
    b = pd.read_parquet(out / "runs" / "may30_kharkiv_counterfire.parquet")
    assert (a["seed"].to_numpy() == b["seed"].to_numpy()).all()
    assert a.groupby("set")["seed"].apply(tuple).nunique() == 1  # common seeds across sets
    diff = (b["fire_on_city"] - a["fire_on_city"]).groupby(a["set"]).mean()
    got = rob[rob["outcome"] == "fire_on_city"].set_index("set")["mean_diff"]
    assert np.allclose(got.sort_index().to_numpy(), diff.to_numpy())
    # The written outputs load back.
    loaded = RobustnessResult.load(out)
    pd.testing.assert_frame_equal(loaded.conclusions, res.conclusions)
    assert "Robustness over 3 assumption sets" in loaded.describe()


def test_assumption_sets_reach_the_runs_and_set_holds_a_value_fixed():
    plan = plan_robustness(
        [PRE, MAY30], samples=4, runs=2, days=12,
        overrides=["decisions.perception.supplier_weight.UKR=1.0"],
    )  # fmt: skip
    names = [d.name for d in plan.dimensions]
    assert "decisions.perception.supplier_weight.UKR" not in names
    assert plan.fixed == ["decisions.perception.supplier_weight.UKR"]
    j = names.index("decisions.actors.RUS.temperature")
    for i, by_label in enumerate(plan.set_scenarios):
        for sc in by_label.values():
            assert sc.decisions.perception.supplier_weight["UKR"] == 1.0
            assert sc.decisions.actors["RUS"].temperature == pytest.approx(plan.sets.values[i, j])
    # Different sets give different scenarios, so different runs.
    from escalation_sim.scenario import scenario_hash

    assert len({scenario_hash(plan.set_scenarios[i]["pre_may30"]) for i in range(4)}) == 4
    # Regions select what is sampled.
    only = plan_robustness([PRE, MAY30], samples=2, runs=2, regions=["battlefield"])
    assert {d.spec.region for d in only.dimensions} == {"battlefield"}


def test_only_assumptions_the_actors_decision_models_read_are_sampled():
    """Every shipped actor uses cost_benefit: the pressure model's parameters are held, and said."""
    plan = plan_robustness([PRE, MAY30], samples=4, runs=2, days=12)
    names = {d.name for d in plan.dimensions}
    held = {h.dimension: h for h in plan.held}
    for aid in plan.scenarios[0].actors:
        for par in ("climb_rate", "descend_rate", "steepness"):
            path = f"decisions.actors.{aid}.{par}"
            assert path not in names and path in held, path
            assert "pressure model" in held[path].why and "cost_benefit" in held[path].why
        for par in ("temperature", "relief", "deterrence_weight", "upkeep", "pressure_decay"):
            assert f"decisions.actors.{aid}.{par}" in names
    assert "decisions.actors.RUS.credibility_weight" in held
    assert {"options.russia.*.cost", "options.russia.*.risk"} <= names
    for by_label in plan.set_scenarios:  # held values stay at the defaults in every set
        for lb, sc in by_label.items():
            base = plan.scenarios[plan.labels.index(lb)].decisions.actors["RUS"]
            assert sc.decisions.actors["RUS"].steepness == base.steepness
    assert "held at their defaults" in plan.describe()
    assert "climb_rate (RUS, UKR, USA, GBR, FRA, DEU)" in plan.describe()
    # Russia on the earlier model: its own parameters are sampled, the cost-benefit ones held;
    # its side's option costs and risks are weighed by no model, so they are held too.
    mixed = plan_robustness(
        [PRE, MAY30], samples=4, runs=2, days=12, overrides=["decisions.actors.RUS.model=pressure"]
    )
    names = {d.name for d in mixed.dimensions}
    held = {h.dimension for h in mixed.held}
    assert {"decisions.actors.RUS.steepness", "decisions.actors.RUS.climb_rate"} <= names
    assert "decisions.actors.RUS.credibility_weight" in names
    assert {"decisions.actors.RUS.temperature", "decisions.actors.RUS.upkeep"} <= held
    assert {"options.russia.*.cost", "options.russia.*.risk"} <= held
    assert "options.west.*.cost" in names
    assert "decisions.actors.USA.steepness" in held


def test_held_assumptions_are_written_out(tmp_path):
    res = robustness([PRE, MAY30], out=tmp_path / "rob", **SMALL)
    held = res.metadata["held_at_defaults"]
    assert {h["dimension"] for h in held} >= {"decisions.actors.RUS.steepness"}
    assert all(h["why"] and h["parameter"] for h in held)
    assert not {h["dimension"] for h in held} & set(res.dimensions["dimension"])
    assert not {h["dimension"] for h in held} & set(res.assumption_sets.columns)
    text = (tmp_path / "rob" / "conclusions.txt").read_text()
    assert "held at their defaults" in text and "steepness" in text


def _stop_after(chunks: int):
    seen = []

    def stop(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == chunks:
            raise KeyboardInterrupt

    return stop


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_interrupted_robustness_resumes_to_the_uninterrupted_outputs(tmp_path):
    whole = robustness([PRE, MAY30], out=tmp_path / "whole", chunk_size=1, **SMALL)
    out = tmp_path / "cut"
    with pytest.raises(ExperimentInterrupted) as info:
        robustness([PRE, MAY30], out=out, chunk_size=1, on_chunk=_stop_after(5), **SMALL)
    assert info.value.done == 5 and not out.exists() and partial_dir(out).is_dir()
    resumed = robustness([PRE, MAY30], out=out, chunk_size=1, **SMALL)
    assert resumed.metadata["resumed_runs"] == 5
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(whole.path / f"{name}.parquet"),
            pd.read_parquet(out / f"{name}.parquet"),
            check_exact=True,
        )
    # A changed experiment refuses the old chunks.
    with pytest.raises(ExperimentInterrupted):
        robustness(
            [PRE, MAY30], out=tmp_path / "other", chunk_size=1, on_chunk=_stop_after(1), **SMALL
        )
    with pytest.raises(StaleWorkError, match="--restart"):
        robustness([PRE, MAY30], out=tmp_path / "other", **{**SMALL, "samples": 4})


# ---------------------------------------------------------------------- command line


def test_cli_check_and_clean_errors(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["robustness", str(PRE), str(MAY30), str(DEEP), "--check"])
    assert ok.exit_code == 0, ok.output
    assert "32 assumption sets x 3 scenarios x 20 runs = 1920 runs" in ok.output
    assert "deep_strike_raises_rus_peak_rung" in ok.output

    ranges = tmp_path / "ranges.yaml"
    ranges.write_text(
        "decisions:\n  decisions.actors.RUS.steepness: {low: 0.3, high: 0.5, why: x}\n"
    )
    bad = runner.invoke(
        main, ["robustness", str(PRE), str(MAY30), "--ranges", str(ranges), "--check"]
    )
    assert bad.exit_code == 2
    assert f"error: {ranges}:2: decisions.actors.RUS.steepness: the range [0.3, 0.5]" in bad.output
    assert "Traceback" not in bad.output

    concl = tmp_path / "c.yaml"
    concl.write_text(
        "conclusions:\n  - {id: x, text: t, scenario: nowhere, baseline: pre_may30,"
        " outcome: fire_on_city, direction: decrease}\n"
    )
    bad = runner.invoke(
        main, ["robustness", str(PRE), str(MAY30), "--conclusions", str(concl), "--check"]
    )
    assert bad.exit_code == 2 and "names scenario(s) nowhere" in bad.output

    one = runner.invoke(main, ["robustness", str(PRE), "--check"])
    assert one.exit_code == 2


def test_cli_run_prints_the_shares_and_draws_the_figure(tmp_path):
    out = tmp_path / "rob"
    args = ["robustness", str(PRE), str(MAY30), "--samples", "2", "--runs", "2", "--days", "8"]
    res = CliRunner().invoke(main, [*args, "--jobs", "1", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "May-30 lowers fire on Kharkiv vs pre_may30" in res.output
    assert (out / "robustness.png").stat().st_size > 10_000
