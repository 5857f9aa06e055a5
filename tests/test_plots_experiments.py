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

import numpy as np
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
    d = prob[prob["actor"] == "RUS"]
    informative = [
        int(k)
        for k, g in d.groupby("rung")
        if g["probability"].max() > 0 and g["probability"].min() < 1
    ]
    ladder = plots.ladders_from_probability(prob)["RUS"]
    if informative:
        assert [t.get_text() for t in ax.get_yticklabels()] == [
            f"{k} {ladder[k]}" for k in informative
        ]
        assert ax.get_xlabel() == "date"
    finish(fig)
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


@pytest.mark.slow  # several seconds: left out of `make test-fast`
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
    assert "whiskers: SALib's 95 % bootstrap interval of each index" in title(fig)
    ticks = [t.get_text() for t in visible_axes(fig)[0].get_yticklabels()]
    assert ticks == ["ATACMS range (km)", "GBR posture in force"]
    finish(fig)


def test_draw_sweep_figures(sweep_dir, tmp_path):
    paths = draw_sweep_figures(sweep_dir, out=tmp_path)
    assert [p.name for p in paths] == ["sweep_outcomes.png", "sensitivity.png"]


# ---------------------------------------------------------------------- readable figures


def synthetic_aggregates(p5: float) -> pd.DataFrame:
    """Ten days of Russia's rung: all runs start on rung 2, a few step down or up later."""
    rows = []
    for step in range(10):
        lo = 2.0 if step == 0 else p5
        rows.append(
            {
                "step": step,
                "day": float(step),
                "date": pd.Timestamp("2024-05-30") + pd.Timedelta(days=step),
                "series": "rung.RUS",
                "mean": 2.1,
                "p5": lo,
                "p25": 2.0,
                "p50": 2.0,
                "p75": 2.0 + 0.4 * (step > 4),
                "p95": 3.0 - 0.05 * (step > 6),
                "n": 40,
            }
        )
    return pd.DataFrame(rows)


def band_values(ax) -> np.ndarray:
    return np.concatenate([np.asarray(c.get_paths()[0].vertices[:, 1]) for c in ax.collections])


def test_fan_chart_rung_bands_are_whole_rungs_never_below_the_start_by_interpolation():
    ladders = {"RUS": [f"rung {k}" for k in range(10)]}
    fig = plots.fan_chart(synthetic_aggregates(p5=1.95), ladders=ladders)
    ax = visible_axes(fig)[0]
    values = band_values(ax)
    assert np.all(values == np.round(values))  # whole rungs: no run stands between two
    assert values.min() >= 2  # an interpolated 1.95 is not a descent below the start
    assert "stepped below" not in title(fig)
    finish(fig)
    # A real descent (a 5th percentile of 1) is drawn, and the subtitle says what it is.
    fig = plots.fan_chart(synthetic_aggregates(p5=1.0), ladders=ladders)
    assert band_values(visible_axes(fig)[0]).min() == 1
    assert "RUS: some runs stepped below the starting rung" in title(fig)
    finish(fig)


def test_fan_chart_has_a_legend_on_every_panel(ensemble_dir):
    agg = pd.read_parquet(ensemble_dir / "aggregates.parquet")
    prob = pd.read_parquet(ensemble_dir / "rung_probability.parquet")
    fig = plots.fan_chart(agg, ladders=plots.ladders_from_probability(prob))
    axes = visible_axes(fig)
    assert len(axes) > 1
    for ax in axes:
        legend = ax.get_legend()
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == [
            "90 % band",
            "50 % band",
            "median",
            "mean",
        ]
    finish(fig)


def test_reach_heatmap_leaves_out_rows_that_carry_no_information():
    rows = []
    for step in range(5):
        for k in range(10):
            p = (
                1.0
                if k <= 2
                else (0.1 * step if k == 3 else (0.05 * (step > 2) if k == 4 else 0.0))
            )
            rows.append(
                {
                    "actor": "RUS",
                    "rung": k,
                    "rung_name": f"name {k}",
                    "step": step,
                    "day": float(step),
                    "date": pd.Timestamp("2024-05-30") + pd.Timedelta(days=step),
                    "probability": p,
                }
            )
    fig = plots.reach_heatmap(pd.DataFrame(rows))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3 name 3", "4 name 4"]
    assert "every run stands on 2 name 2 or higher" in title(fig)
    assert "no run reached 5 name 5 or higher" in title(fig)
    finish(fig)


def test_withheld_by_rule_puts_values_at_the_bar_and_counts_second_choice_strikes():
    runs = pd.DataFrame(
        {
            "withheld.rule.us-no-long-range-in-russia": [1, 0, 2, 1],
            "constrained.rule.us-no-long-range-in-russia": [100, 120, 80, 140],
            "withheld.rule.no-permission:USA": [3, 5, 4, 4],
            "constrained.rule.no-permission:USA": [0, 0, 0, 0],
            "constrained.rule.no-permission:DEU": [0, 1, 0, 0],
        }
    )
    fig = plots.withheld_by_rule(
        {"a": runs, "b": runs * 2}, names={"a": "Rule set A", "b": "Rule set B"}
    )
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["no-permission:DEU", "no-permission:USA", "us-no-long-range-in-russia"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Rule set A", "Rule set B"]
    bars = [b for b in ax.patches if b.get_width() > 0 or b.get_height() > 0]
    for note in ax.texts:
        x, y = note.xy
        if note.get_text() == "none":
            continue
        # Each value sits at the end of its own bars (withheld + second-choice), on their row.
        mine = [b for b in bars if abs(b.get_y() + b.get_height() / 2 - y) < 1e-9]
        assert mine, note.get_text()
        assert x == pytest.approx(max(b.get_x() + b.get_width() for b in mine))
    a_top = next(t for t in ax.texts if t.xy[1] > 2 and "second-choice" in t.get_text())
    assert a_top.get_text() == "1 withheld + 110 second-choice"  # rule set A on top of its group
    assert ax.texts.index(a_top) < len(ax.texts) // 2
    finish(fig)


def test_paired_differences_are_named_by_scenario_and_mark_the_better_side(compare_dir):
    table = pd.read_parquet(compare_dir / "comparison.parquet")
    meta = json.loads((compare_dir / "metadata.json").read_text())
    names = dict(zip(meta["labels"], meta["scenarios"], strict=True))
    outcomes = ["fire_on_city", "strikes_in_russia", "losses.RUS", "peak_rung.RUS"]
    fig = plots.paired_differences(table, outcomes=outcomes, names=names)
    axes = visible_axes(fig)
    ticks = [" ".join(t.get_text().split()) for t in axes[0].get_yticklabels()]
    assert ticks == [names[s] for s in dict.fromkeys(table["scenario"])]
    assert not any(lab in " ".join(ticks) for lab in meta["labels"])
    marks = [[t.get_text() for t in ax.texts if "better" in t.get_text()] for ax in axes]
    assert marks == [["◀ better"], ["no better direction"], ["better ▶"], ["◀ better"]]
    assert "not adjusted for multiple comparisons" in title(fig)
    finish(fig)


def test_compare_survival_draws_intervals_as_lines_not_overlapping_fills(compare_dir):
    meta = json.loads((compare_dir / "metadata.json").read_text())
    runs = {lb: pd.read_parquet(compare_dir / "runs" / f"{lb}.parquet") for lb in meta["labels"]}
    names = dict(zip(meta["labels"], meta["scenarios"], strict=True))
    fig = plots.survival_curves(runs, actor="RUS", rungs=[3, 4], horizon_days=DAYS, names=names)
    axes = visible_axes(fig)
    assert len(axes) == 2 and all(len(ax.collections) == 0 for ax in axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(names.values())
    finish(fig)


def test_sweep_axes_are_in_words_with_units_whole_rungs_and_shares_in_range():
    assert plots.describe_parameter("weapons.ATACMS.range_km") == "ATACMS range (km)"
    assert plots.describe_parameter("actors.RUS.risk_tolerance") == "RUS risk tolerance (0-1)"
    sc = load_scenario(SCENARIOS / "deep_strike.yaml")
    rule = sc.rules["USA"].postures["deep_strike"].rules[0].id
    assert plots.describe_parameter("rules.USA.postures.deep_strike.rules.0.max_depth_km", sc) == (
        f"USA rule {rule}: maximum depth into Russia (km)"
    )
    rng = np.random.default_rng(1)
    experiments = pd.DataFrame(
        {
            "point": np.repeat(np.arange(6), 3),
            "replication": np.tile(np.arange(3), 6),
            "seed": np.arange(18),
            "weapons.ATACMS.range_km": np.repeat(np.linspace(100, 300, 6), 3),
        }
    )
    outcomes = experiments[["point", "replication"]].assign(
        **{
            "peak_rung.RUS": rng.integers(2, 5, 18),
            "nato_conflict": (rng.random(18) < 0.1).astype(int),
        }
    )
    fig = plots.sweep_outcomes(experiments, outcomes, outcome=["peak_rung.RUS", "nato_conflict"])
    ax_rung, ax_share = visible_axes(fig)
    assert ax_rung.get_xlabel() == "ATACMS range (km)"
    ticks = [t for t in ax_rung.get_yticks() if ax_rung.get_ylim()[0] <= t <= ax_rung.get_ylim()[1]]
    assert all(float(t).is_integer() for t in ticks)
    band = np.concatenate([c.get_paths()[0].vertices[:, 1] for c in ax_share.collections[1:]])
    assert band.min() >= 0.0 and band.max() <= 1.0
    finish(fig)


def test_compare_over_time_and_tradeoff_are_named_by_scenario(compare_dir, monkeypatch, tmp_path):
    meta = json.loads((compare_dir / "metadata.json").read_text())
    labels = meta["labels"]
    names = dict(zip(labels, meta["scenarios"], strict=True))
    assert all(names[lb] != lb for lb in labels)  # file stems and scenario names differ here
    aggs = {lb: pd.read_parquet(compare_dir / "aggregates" / f"{lb}.parquet") for lb in labels}
    runs = {lb: pd.read_parquet(compare_dir / "runs" / f"{lb}.parquet") for lb in labels}
    fig = plots.compare_fan(aggs, series=["rung.RUS"], n_runs=RUNS, names=names)
    legend = [t.get_text() for t in visible_axes(fig)[0].get_legend().get_texts()]
    assert legend[: len(labels)] == [names[lb] for lb in labels]
    finish(fig)
    fig = plots.tradeoff(runs, rungs=[3], names=names)
    ax = visible_axes(fig)[0]
    assert {t.get_text() for t in ax.texts} == set(names.values())
    fig.canvas.draw()  # a name beside a point in the right half ends left of it, inside the axes
    box = ax.get_window_extent()
    for t in ax.texts:
        extent = t.get_window_extent()
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, t.get_text()
    finish(fig)
    # ... and the plot command draws them so: every figure of a comparison gets the names.
    seen: dict[str, dict] = {}

    def recorder(name):
        def draw(*args, **kwargs):
            seen[name] = kwargs
            return Figure()

        return draw

    drawn = ("paired_differences", "compare_fan", "survival_curves", "tradeoff", "withheld_by_rule")
    for name in drawn:
        monkeypatch.setattr(plots, name, recorder(name))
    draw_compare_figures(compare_dir, out=tmp_path)
    assert set(seen) == set(drawn)
    assert all(kwargs.get("names") == names for kwargs in seen.values()), seen
