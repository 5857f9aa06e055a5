"""Figures of ensembles, comparisons and sweeps, fed the experiment package's real (small) outputs.

The plot functions take the experiment tables (``runs``, ``aggregates``,
``rung_probability``, ``comparison``, ``experiments``, ``outcomes``,
``sensitivity``) as DataFrames; these tests build them with the experiment API
on a few short runs and check each figure's content, with warnings as errors.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from escalation_sim import load_scenario, plots
from escalation_sim.experiment import ensemble
from escalation_sim.experiment.compare import compare
from escalation_sim.experiment.sweep import sweep
from escalation_sim.plots.directory import (
    draw_compare_figures,
    draw_ensemble_figures,
    draw_figures,
    draw_sweep_figures,
    sweep_outcome_choice,
)

pytestmark = pytest.mark.filterwarnings("error")

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DAYS = 30
RUNS = 4


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plots") / "ensemble"
    ensemble(
        SCENARIOS / "may30_kharkiv_counterfire.yaml",
        runs=RUNS,
        seed=0,
        jobs=1,
        days=DAYS,
        out=out,
        progress=False,
    )
    return out


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plots") / "compare"
    compare(
        [SCENARIOS / "pre_may30.yaml", SCENARIOS / "may30_kharkiv_counterfire.yaml"],
        runs=RUNS,
        seed=0,
        jobs=1,
        days=DAYS,
        out=out,
        progress=False,
    )
    return out


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plots") / "sweep"
    spec = {
        "base": str(SCENARIOS / "deep_strike.yaml"),
        "days": 20,
        "replications": 1,
        "design": {"method": "morris", "trajectories": 2, "levels": 4},
        "parameters": {
            "weapons.ATACMS.range_km": {"range": [100, 300]},
            "rules.GBR.posture": {"values": ["no_strikes_in_russia", "anywhere"]},
        },
        "outcomes": ["fire_on_city", "strikes_in_russia", "nato_conflict"],
    }
    sweep(spec, jobs=1, out=out, progress=False)
    return out


def visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def title(fig: Figure) -> str:
    return fig._suptitle.get_text() if fig._suptitle else ""


def finish(fig: Figure) -> None:
    """Render (layout warnings only surface when a figure is drawn), then release."""
    fig.savefig(io.BytesIO(), format="png", dpi=50)
    plots.close(fig)


# ---------------------------------------------------------------------- ensembles


def test_fan_chart_has_a_panel_per_actor_on_its_own_ladder(ensemble_dir):
    agg = pd.read_parquet(ensemble_dir / "aggregates.parquet")
    prob = pd.read_parquet(ensemble_dir / "rung_probability.parquet")
    ladders = plots.ladders_from_probability(prob)
    sc = load_scenario(ensemble_dir / "scenario.resolved.yaml")
    assert ladders == plots.ladders_of(sc)
    fig = plots.fan_chart(agg, ladders=ladders, scenario=sc.name, n_runs=RUNS)
    axes = visible_axes(fig)
    assert len(axes) == len(sc.actors)
    assert axes[0].get_title(loc="left").startswith("RUS")
    for ax in axes:
        actor = ax.get_title(loc="left").split(":")[0]
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert ticks == [f"{k} {name}" for k, name in enumerate(ladders[actor])]
        # One median line in the actor's own colour, and the two bands.
        medians = [ln for ln in ax.get_lines() if ln.get_label() == "median"]
        assert len(medians) <= 1
        assert all(ln.get_color() == plots.actor_colour(actor) for ln in ax.get_lines())
        assert len(ax.collections) == 2
    assert sc.name in title(fig) and f"{RUNS} runs" in title(fig)
    finish(fig)


def test_fan_chart_of_outcomes_has_units(ensemble_dir):
    agg = pd.read_parquet(ensemble_dir / "aggregates.parquet")
    series = ["fire_on_city_cumulative", "strikes_in_russia_cumulative"]
    fig = plots.fan_chart(agg, series=series)
    axes = visible_axes(fig)
    assert len(axes) == 2
    assert [ax.get_ylabel() for ax in axes] == ["salvoes", "strikes"]
    with pytest.raises(ValueError, match="not in the aggregates"):
        plots.fan_chart(agg, series=["no_such_series"])
    finish(fig)


def test_reach_probability_draws_only_actors_that_climbed(ensemble_dir):
    prob = pd.read_parquet(ensemble_dir / "rung_probability.parquet")
    fig = plots.reach_probability(prob, scenario="x", n_runs=RUNS)
    climbed = {
        a
        for a, d in prob.groupby("actor")
        if (
            d.loc[
                d["rung"] > d.loc[d["step"] == 0].query("probability == 1")["rung"].max(),
                "probability",
            ]
            > 0
        ).any()
    }
    axes = visible_axes(fig)
    assert {ax.get_title(loc="left").split(" ")[0] for ax in axes} == climbed
    for ax in axes:
        assert ax.get_ylabel() == "share of runs"
        assert ax.get_ylim()[1] > 1.0
    finish(fig)


def test_reach_heatmap_and_survival(ensemble_dir):
    prob = pd.read_parquet(ensemble_dir / "rung_probability.parquet")
    runs = pd.read_parquet(ensemble_dir / "runs.parquet")
    fig = plots.reach_heatmap(prob, actor="RUS", n_runs=RUNS)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 10 and ax.get_xlabel() == "date"
    finish(fig)
    ladder = plots.ladders_from_probability(prob)["RUS"]
    fig = plots.survival_curves(
        runs, actor="RUS", ladder=ladder, horizon_days=DAYS, start_date="2024-05-30"
    )
    axes = visible_axes(fig)
    assert len(axes) == 1
    assert axes[0].get_xlabel() == "date" and "not yet" in axes[0].get_ylabel()
    finish(fig)


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_draw_ensemble_figures_writes_every_figure(ensemble_dir, tmp_path):
    paths = draw_ensemble_figures(ensemble_dir, out=tmp_path)
    names = {p.stem for p in paths}
    assert {
        "fan_chart",
        "fan_chart_outcomes",
        "reach_probability",
        "reach_heatmap_RUS",
        "survival_RUS",
        "withheld_by_rule",
    } <= names
    assert all(p.stat().st_size > 5_000 for p in paths)
    main = draw_ensemble_figures(ensemble_dir, out=tmp_path / "main", main_only=True, fmt="svg")
    assert [p.name for p in main] == ["fan_chart.svg"]


# ---------------------------------------------------------------------- comparisons


def test_paired_differences_has_a_panel_per_outcome(compare_dir):
    table = pd.read_parquet(compare_dir / "comparison.parquet")
    outcomes = ["fire_on_city", "strikes_in_russia", "withheld", "peak_rung.RUS"]
    fig = plots.paired_differences(table, outcomes=outcomes)
    axes = visible_axes(fig)
    assert len(axes) == len(outcomes)
    assert axes[0].get_title(loc="left") == "Fire landing on Kharkiv"
    assert "salvoes" in axes[0].get_xlabel()
    assert "same seeds" in title(fig) and f"{RUNS} runs" in title(fig)
    finish(fig)


def test_comparison_figures_over_labels(compare_dir):
    meta = json.loads((compare_dir / "metadata.json").read_text())
    labels = meta["labels"]
    aggs = {lb: pd.read_parquet(compare_dir / "aggregates" / f"{lb}.parquet") for lb in labels}
    probs = {
        lb: pd.read_parquet(compare_dir / "rung_probability" / f"{lb}.parquet") for lb in labels
    }
    runs = {lb: pd.read_parquet(compare_dir / "runs" / f"{lb}.parquet") for lb in labels}
    fig = plots.compare_fan(aggs, series=["rung.RUS", "fire_on_city_cumulative"], n_runs=RUNS)
    assert len(visible_axes(fig)) == 2
    legend = [t.get_text() for t in visible_axes(fig)[0].get_legend().get_texts()]
    assert legend[: len(labels)] == labels
    finish(fig)
    fig = plots.compare_reach(probs, actor="RUS", rungs=[3, 4])
    assert len(visible_axes(fig)) == 2
    finish(fig)
    fig = plots.survival_curves(runs, actor="RUS", rungs=[3], horizon_days=DAYS)
    assert len(visible_axes(fig)) == 1
    finish(fig)
    fig = plots.withheld_by_rule(runs)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == labels
    finish(fig)
    fig = plots.tradeoff(
        runs, rungs=[3, 4], ladder=plots.ladders_from_probability(probs[labels[0]])["RUS"]
    )
    axes = visible_axes(fig)
    assert [ax.get_title(loc="left") for ax in axes] == [
        "Risk: RUS reaches 3 Horizontal escalation",
        "Risk: RUS reaches 4 Intensified conventional strikes",
    ]
    assert "salvoes" in axes[0].get_ylabel()
    assert {t.get_text() for t in axes[0].texts} == set(labels)
    finish(fig)


def test_draw_compare_figures(compare_dir, tmp_path):
    paths = draw_figures(compare_dir, out=tmp_path, fmt="pdf")
    assert paths[0].name == "paired_differences.pdf"
    expected = {"compare_over_time.pdf", "compare_survival_RUS.pdf", "tradeoff.pdf"}
    assert expected | {"withheld_by_rule.pdf"} <= {p.name for p in paths}
    assert [p.name for p in draw_compare_figures(compare_dir, out=tmp_path, main_only=True)] == [
        "paired_differences.png"
    ]


# ---------------------------------------------------------------------- sweeps


def test_sweep_outcomes_has_a_panel_per_outcome_and_parameter(sweep_dir):
    experiments = pd.read_parquet(sweep_dir / "experiments.parquet")
    outcomes = pd.read_parquet(sweep_dir / "outcomes.parquet")
    fig = plots.sweep_outcomes(experiments, outcomes, outcome=["fire_on_city", "strikes_in_russia"])
    axes = visible_axes(fig)
    assert len(axes) == 4
    # The posture is a category: its values are the tick labels.
    assert [t.get_text() for t in axes[1].get_xticklabels()] == ["no_strikes_in_russia", "anywhere"]
    assert axes[0].get_ylabel() == "fire landing on Kharkiv (salvoes)"
    finish(fig)
    assert "nato_conflict" not in sweep_outcome_choice(outcomes)


def test_sensitivity_bars_skip_outcomes_that_never_varied(sweep_dir):
    sens = pd.read_parquet(sweep_dir / "sensitivity.parquet")
    fig = plots.sensitivity_bars(sens)
    drawn = {ax.get_title(loc="left") for ax in visible_axes(fig)}
    assert "Fire landing on Kharkiv (salvoes)" in drawn
    assert "nato_conflict" in title(fig)
    ticks = [t.get_text() for t in visible_axes(fig)[0].get_yticklabels()]
    assert ticks == ["weapons.ATACMS.range_km", "rules.GBR.posture"]
    finish(fig)


def test_draw_sweep_figures(sweep_dir, tmp_path):
    paths = draw_sweep_figures(sweep_dir, out=tmp_path)
    assert [p.name for p in paths] == ["sweep_outcomes.png", "sensitivity.png"]
