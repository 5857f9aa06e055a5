"""Ensembles: seeds, determinism across executors, aggregates, the command's files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from escalation_sim.api import resolve_scenario, run
from escalation_sim.cli import main
from escalation_sim.experiment import EnsembleResult, ensemble, run_seeds
from escalation_sim.experiment.aggregate import aggregate_series, rung_probability
from escalation_sim.experiment.runner import auto_chunk_size, contiguous_chunks
from escalation_sim.experiment.store import ChunkStore

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
DAYS = 20
TABLES = ("runs", "aggregates", "rung_probability")


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(path / f"{t}.parquet") for t in TABLES}


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


def test_seeds_come_from_seedsequence_and_do_not_depend_on_n() -> None:
    seeds = run_seeds(7, 10)
    children = np.random.SeedSequence(7).spawn(10)
    assert seeds == [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    assert run_seeds(7, 4) == seeds[:4]
    assert len(set(seeds)) == 10
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match="integer from 0 to"):
        run_seeds(-1, 3)


def test_chunks_are_contiguous_and_bounded() -> None:
    assert list(contiguous_chunks([0, 1, 2, 3, 4, 7, 8, 10], 2)) == [
        [0, 1],
        [2, 3],
        [4],
        [7, 8],
        [10],
    ]
    assert auto_chunk_size(1000, 2) == 25
    assert auto_chunk_size(8, 2) == 1


def test_same_root_seed_gives_identical_tables_and_another_seed_differs() -> None:
    a = ensemble(DEFAULT, runs=6, seed=3, jobs=1, days=DAYS, progress=False)
    b = ensemble(DEFAULT, runs=6, seed=3, jobs=1, days=DAYS, progress=False)
    c = ensemble(DEFAULT, runs=6, seed=4, jobs=1, days=DAYS, progress=False)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.runs["seed"].tolist() == run_seeds(3, 6)
    assert a.runs["seed"].tolist() != c.runs["seed"].tolist()
    assert not a.runs["fire_on_city"].equals(c.runs["fire_on_city"])


def test_runs_table_matches_single_runs_of_the_public_api() -> None:
    result = ensemble(DEFAULT, runs=4, seed=11, jobs=1, days=DAYS, progress=False)
    sc = resolve_scenario(DEFAULT, days=DAYS)
    series = []
    for row in result.runs.to_dict("records"):
        single = run(sc, seed=int(row["seed"]), record_events=False)
        s = single.summary
        assert row["fire_on_city"] == s["fire_on_city"]
        assert row["harm"] == s["harm"]
        assert row["strikes_in_russia"] == s["strikes_in_russia"]["total"]
        assert row["withheld"] == s["withheld"]["total"]
        assert row["peak_rung.RUS"] == s["peak_rung"]["RUS"]["rung"]
        assert row["final_rung.USA"] == s["final_rung"]["USA"]
        for w, n in s["strikes_in_russia"]["by_weapon"].items():
            assert row[f"strikes_in_russia.weapon.{w}"] == n
        ts = single.timeseries
        rus = ts["rung.RUS"].cummax()
        for k in range(len(sc.ladder_for("RUS").rungs)):
            got = row[f"first_day_rung.RUS.{k}"]
            reached = ts.loc[rus >= k, "day"]
            if len(reached):
                assert got == reached.iloc[0]
            else:
                assert np.isnan(got)
        series.append(ts)

    # Aggregates: numpy's percentiles of the per-step values, computed here independently.
    agg = result.aggregates
    for name in ("rung.RUS", "pressure.RUS", "fire_on_city", "harm_cumulative"):
        stacked = np.vstack([ts[name].to_numpy(dtype=float) for ts in series])
        part = agg[agg["series"] == name].sort_values("step")
        np.testing.assert_array_equal(part["mean"].to_numpy(), stacked.mean(axis=0))
        for q in (5, 25, 50, 75, 95):
            np.testing.assert_array_equal(
                part[f"p{q}"].to_numpy(), np.percentile(stacked, q, axis=0)
            )
    cum = np.vstack([ts["fire_on_city"].cumsum().to_numpy() for ts in series])
    part = agg[agg["series"] == "fire_on_city_cumulative"].sort_values("step")
    np.testing.assert_allclose(part["p50"].to_numpy(), np.median(cum, axis=0))

    # Rung probability: share of runs whose running maximum reached the rung by the step.
    prob = result.rung_probability
    tops = np.vstack([ts["rung.RUS"].cummax().to_numpy() for ts in series])
    for k in (2, 3, 4):
        part = prob[(prob["actor"] == "RUS") & (prob["rung"] == k)].sort_values("step")
        np.testing.assert_array_equal(part["probability"].to_numpy(), (tops >= k).mean(axis=0))
    assert set(prob["rung_name"]) >= {r.name for r in sc.ladder_for("RUS").rungs}


def test_percentiles_with_a_tiny_memory_budget_equal_the_default(tmp_path: Path) -> None:
    from escalation_sim.experiment.common import scenario_tasks
    from escalation_sim.experiment.options import ExecutionOptions
    from escalation_sim.experiment.runner import run_tasks

    sc = resolve_scenario(DEFAULT, days=DAYS)
    store = ChunkStore(tmp_path / "store")
    seeds = run_seeds(0, 7)
    run_tasks(
        scenario_tasks("s", sc, seeds, list(range(7)), 3),
        stores={"s": store},
        total=7,
        done=0,
        options=ExecutionOptions(jobs=1, progress=False),
        desc="t",
        workdir=None,
    )
    assert store.chunks() == [(0, 2), (3, 5), (6, 6)]
    whole = aggregate_series(store, sc)
    # 7 runs x 21 steps per series: a budget of 30 values forces one series and 4 steps per pass.
    pieces = aggregate_series(store, sc, budget=30)
    pd.testing.assert_frame_equal(whole, pieces, check_exact=True)
    assert len(rung_probability(store, sc)) == sum(
        len(sc.ladder_for(a).rungs) * (DAYS + 1) for a in sc.actors
    )


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_jobs_1_jobs_2_and_dask_give_bit_identical_outputs(tmp_path: Path, dask_cluster) -> None:
    kwargs = {"runs": 10, "seed": 5, "days": DAYS, "progress": False}
    serial = ensemble(DEFAULT, jobs=1, out=tmp_path / "j1", **kwargs)
    pooled = ensemble(DEFAULT, jobs=2, chunk_size=3, out=tmp_path / "j2", **kwargs)
    assert pooled.metadata["executor"]["kind"] == "local"
    dasked = ensemble(
        DEFAULT, dask=dask_cluster.scheduler_address, chunk_size=2, out=tmp_path / "dk", **kwargs
    )
    assert dasked.metadata["executor"]["kind"] == "dask"
    reference = _tables(tmp_path / "j1")
    _assert_same(reference, _tables(tmp_path / "j2"))
    _assert_same(reference, _tables(tmp_path / "dk"))
    for name in TABLES:
        data = (tmp_path / "j1" / f"{name}.csv").read_bytes()
        assert data == (tmp_path / "j2" / f"{name}.csv").read_bytes()
        assert data == (tmp_path / "dk" / f"{name}.csv").read_bytes()
    assert serial.runs["seed"].tolist() == run_seeds(5, 10)


def test_cli_ensemble_writes_the_documented_files(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    result = CliRunner().invoke(
        main,
        [
            "ensemble",
            str(DEFAULT),
            "--runs",
            "5",
            "--days",
            str(DAYS),
            "--jobs",
            "1",
            "--seed",
            "9",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}/" in result.output
    assert "Per-run outcomes" in result.output
    for name in TABLES:
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    assert (out / "scenario.resolved.yaml").is_file()
    assert not (tmp_path / "ens.partial").exists()
    assert (out / "fan_chart.png").is_file(), "the ensemble draws its main figure"

    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 5 and runs["run"].tolist() == list(range(5))
    for col in (
        "seed",
        "scenario",
        "peak_rung.RUS",
        "first_day_rung.RUS.3",
        "final_rung.USA",
        "strikes_in_russia",
        "strikes_in_russia.supplier.USA",
        "strikes_in_russia.weapon.GMLRS",
        "withheld",
        "withheld.rule.us-no-long-range-in-russia",
        "constrained",
        "fire_on_city",
        "harm",
        "losses.RUS",
        "losses.UKR",
        "nato_conflict_day",
        "nuclear_use_day",
    ):
        assert col in runs.columns, col
    # Counts by rule appear only for rules that bit in some run (absent means zero).
    assert all(runs[c].ge(0).all() for c in runs.columns if c.startswith("constrained.rule."))
    agg = pd.read_parquet(out / "aggregates.parquet")
    assert list(agg.columns[:10]) == [
        "step",
        "day",
        "date",
        "series",
        "mean",
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
    ]
    assert {"rung.RUS", "pressure.RUS", "fire_on_city", "harm_cumulative", "withheld"} <= set(
        agg["series"]
    )
    assert len(agg[agg["series"] == "rung.UKR"]) == DAYS + 1
    prob = pd.read_parquet(out / "rung_probability.parquet")
    assert list(prob.columns[:7]) == [
        "actor",
        "rung",
        "rung_name",
        "step",
        "day",
        "date",
        "probability",
    ]
    assert prob["probability"].between(0, 1).all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "ensemble" and meta["root_seed"] == 9 and meta["runs"] == 5
    assert meta["scenario"] == "May-30 Kharkiv counter-fire"
    assert len(meta["scenario_hash"]) == 64 and "SeedSequence" in meta["seed_derivation"]
    assert meta["command"].startswith("escalation-sim")
    loaded = EnsembleResult.load(out)
    pd.testing.assert_frame_equal(loaded.runs, runs)
    assert "Per-run outcomes" in loaded.describe()

    again = CliRunner().invoke(main, ["ensemble", str(DEFAULT), "--runs", "5", "--out", str(out)])
    assert again.exit_code == 2
    assert "exists" in again.output and "Traceback" not in again.output


def test_cli_ensemble_reports_scenario_errors_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "ensemble",
            str(DEFAULT),
            "--runs",
            "2",
            "--set",
            "actors.RUS.risk_tolerance=7",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2
    assert "error: " in result.output and "risk_tolerance" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_cli_ensemble_no_plot_draws_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", str(DEFAULT), "--runs", "2", "--days", "5", "--jobs", "1"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--no-progress", "--no-plot"])
    assert result.exit_code == 0, result.output
    assert (out / "runs.parquet").is_file()
    assert not list(out.glob("*.png"))
