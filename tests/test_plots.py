"""Figures of one run: each function returns a figure with the expected content, warning-free.

Every test runs with warnings as errors, so a matplotlib or pandas warning (a
layout that failed, a legend without artists, a deprecated call) fails it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import escalation_sim as es
from escalation_sim import plots

pytestmark = pytest.mark.filterwarnings("error")

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def adaptive() -> es.RunResult:
    """Starts restrictive (many withheld strikes) and widens: rule changes in 30 days."""
    return es.run(SCENARIOS / "adaptive_policy.yaml", seed=1, days=30)


@pytest.fixture(scope="module")
def may30() -> es.RunResult:
    return es.run(SCENARIOS / "may30_kharkiv_counterfire.yaml", seed=2, days=25)


def visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def texts(fig: Figure) -> str:
    """Every piece of text in a figure (titles, labels, ticks, legends, annotations)."""
    parts = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        parts += [ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        parts += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
    for legend in fig.legends:
        parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


def render(fig: Figure, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    plots.close(fig)
    assert path.stat().st_size > 5_000
    return path


def test_actor_colours_are_fixed_and_distinct():
    cast = ["UKR", "RUS", "USA", "GBR", "FRA", "DEU"]
    colours = [plots.actor_colour(a) for a in cast]
    assert len(set(colours)) == len(cast)
    assert all(c in plots.OKABE_ITO for c in colours)
    assert plots.actor_colour("BLR") == plots.actor_colour("BLR")


def test_escalation_curve_has_a_panel_per_ladder_and_a_line_per_actor(adaptive, tmp_path):
    sc = adaptive.scenario
    fig = plots.escalation_curve(adaptive)
    axes = [ax for ax in visible_axes(fig) if ax.get_title(loc="left")]  # twin axes have none
    ladders = {id(sc.ladder_for(a)) for a in sc.actors}
    assert len(axes) == len(ladders) + 2  # ladders, Russia's pressure, strikes inside Russia
    for aid, actor in sc.actors.items():
        labelled = [
            ln for ax in axes for ln in ax.get_lines() if ln.get_label() == f"{actor.name} ({aid})"
        ]
        assert len(labelled) == 1, aid
        # Each actor sits on a panel whose axis names its own ladder's rungs.
        ax = labelled[0].axes
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert ticks == [f"{r.level} {r.name}" for r in sc.ladder_for(aid).rungs]
    assert all(ax.get_ylabel() for ax in axes)
    assert axes[-1].get_xlabel() == "date"
    text = texts(fig)
    assert sc.name in text and "1 run" in text
    # The rule changes of the run are marked and explained in words.
    changes = [e for e in adaptive.events if e["kind"] == "rule_change"]
    assert changes
    flat = " ".join(text.split())
    for ev in changes:
        posture = sc.rules[ev["actor"]].postures[ev["to_posture"]]
        assert (
            f"{ev['actor']} {ev['change']}s its rules: now \u201c{posture.description}\u201d"
            in flat
        )
    render(fig, tmp_path, "curve")


def test_escalation_curve_names_days_and_postures_in_words_not_ids(adaptive):
    sc = adaptive.scenario
    text = texts(plots.escalation_curve(adaptive))
    assert f"{sc.horizon_days} days from" in text and "steps" not in text
    flat = " ".join(text.split())
    ids = {p for policy in sc.rules.values() for p in policy.postures}
    assert any("_" in p for p in ids)  # the check below can fail
    assert [p for p in ids if "_" in p and p in text] == []
    start = {
        c.split(".", 1)[1]: adaptive.timeseries[c].iloc[0]
        for c in adaptive.timeseries
        if c.startswith("posture.")
    }
    for supplier, posture in start.items():
        assert f"{supplier}: {sc.rules[supplier].postures[posture].description}" in flat


def test_actors_sharing_a_rung_are_drawn_apart(may30):
    sc = may30.scenario
    fig = plots.escalation_curve(may30)
    west = [a for a in sc.actors if sc.actors[a].side == "west"]
    assert len(west) >= 2 and len({int(may30.timeseries[f"rung.{a}"].iloc[0]) for a in west}) == 1
    lines = {
        ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label()[:1] != "_"
    }
    starts = sorted(float(lines[f"{sc.actors[a].name} ({a})"].get_ydata()[0]) for a in west)
    assert min(np.diff(starts)) >= 0.1  # visibly apart, still on their rung's gridline band
    assert max(starts) - min(starts) <= 0.5


def test_escalation_curve_draws_what_russias_decision_model_weighs(may30):
    """``cost_benefit``: the case against its cost bars; ``pressure``: against the next rung."""
    flat = " ".join(texts(plots.escalation_curve(may30)).split())
    assert "case for answering" in flat and "cheapest act pays" in flat
    assert "threshold of its next rung" not in flat
    sc = es.with_overrides(
        es.load_scenario(SCENARIOS / "may30_kharkiv_counterfire.yaml"),
        ["decisions.actors.RUS.model=pressure", "horizon_days=10"],
    )
    flat = " ".join(texts(plots.escalation_curve(es.run(sc, seed=2))).split())
    assert "threshold of its next rung" in flat and "cheapest act pays" not in flat


def test_cost_bars_are_where_the_cost_benefit_model_starts_to_prefer_acting(may30):
    """Just below a bar no open option of its kind beats holding; just above one does."""
    from escalation_sim.model.decisions.models import option_utility
    from escalation_sim.model.decisions.options import target_rung
    from escalation_sim.model.model import EscalationModel
    from escalation_sim.plots.run import _answer_bars

    sc = may30.scenario
    model = EscalationModel(sc, seed=0)
    rus = model.actor["RUS"]
    assert rus.case == rus.pressure  # no precedent, no commitment at the start
    act_bar, climb_bar = _answer_bars(sc, "RUS", np.array([rus.rung]))
    opts = [o for o in model.decisions.open_options(rus) if o.kind != "hold" and not o.descend]
    for bar, climbs in ((act_bar[0], False), (climb_bar[0], True)):
        assert np.isfinite(bar)
        kind = [o for o in opts if (target_rung(o, rus.rung) > rus.rung) == climbs]
        for eps, wins in ((-0.01, False), (0.01, True)):
            rus.pressure = bar + eps
            assert any(option_utility(rus, o, 0.0) > 0 for o in kind) == wins, (climbs, eps)


def russian_climbs(result: es.RunResult) -> list[dict]:
    return [
        e
        for e in result.events
        if e["kind"] == "decision" and e["actor"] == "RUS" and e["to_rung"] > e["from_rung"]
    ]


def test_escalation_curve_numbers_every_climb_and_gives_its_causes_in_full(tmp_path):
    for seed in range(40):  # the first seed on which Russia climbs within 60 days
        result = es.run(SCENARIOS / "deep_strike.yaml", seed=seed, days=60)
        if russian_climbs(result):
            break
    else:
        pytest.fail("Russia climbed within 60 days on none of 40 seeds of deep_strike")
    climbs = [e for e in result.events if e["kind"] == "decision" and e["to_rung"] > e["from_rung"]]
    assert len({e["actor"] for e in climbs}) >= 2  # climbs of several actors, not only Russia's
    fig = plots.escalation_curve(result)
    text = texts(fig)
    flat = " ".join(text.split())
    assert "…" not in text and "..." not in text
    marks = sorted(int(t.get_text()) for ax in fig.axes for t in ax.texts if t.get_text().isdigit())
    assert marks == list(range(1, len(climbs) + 1))
    for i, ev in enumerate(climbs, start=1):
        cause = plots.readable_cause(ev["causes"][0]["cause"], result.scenario)
        assert (
            f"{i} " in flat
            and f"(day {ev['day']:g}): {ev['actor']} climbs to {ev['to_rung']}" in flat
        )
        assert cause in flat, cause
    assert "belgorod_border" not in flat  # zone ids are given by name
    render(fig, tmp_path, "curve_climb")


def test_run_timeline_has_whole_number_ticks_and_a_mean_from_day_one(may30):
    fig = plots.run_timeline(may30)
    axes = visible_axes(fig)
    for ax in axes:
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ax.get_title()
    mean = next(ln for ln in axes[0].get_lines() if ln.get_label().startswith("7-day mean"))
    ts = may30.timeseries
    day1 = ts.loc[ts["step"] == 1, "fire_on_city"].iloc[0]
    assert mean.get_ydata()[0] == pytest.approx(day1)  # starts on day 1, not at day 0's zero
    assert len(mean.get_ydata()) == len(ts) - 1


def test_run_timeline_stacks_strikes_by_supplier(may30, tmp_path):
    fig = plots.run_timeline(may30)
    axes = visible_axes(fig)
    assert len(axes) == 4
    suppliers = [
        c.rsplit(".", 1)[1]
        for c in may30.timeseries.columns
        if c.startswith("strikes_in_russia.supplier.") and may30.timeseries[c].sum() > 0
    ]
    legend = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert sorted(legend) == sorted(suppliers)
    assert all(ax.get_ylabel() for ax in axes)
    assert "Kharkiv" in texts(fig)
    render(fig, tmp_path, "timeline")


def test_theater_map_shows_zones_places_units_strikes_and_withheld(adaptive, tmp_path):
    units = plots.unit_table(adaptive.scenario, adaptive.seed)
    assert len(units) == sum(g.count for g in adaptive.scenario.forces.values())
    assert set(units["side"]) == {"russia", "ukraine"}
    fig = plots.theater_map(adaptive, units=units)
    axes = visible_axes(fig)
    assert len(axes) == 2  # whole theater and the close-up (the legend panel has no axes)
    text = texts(fig)
    for place in ("Kharkiv", "Belgorod"):
        assert place in text
    assert "withheld: no allowed weapon" in text
    assert "GMLRS reach" in text and "ATACMS reach" in text
    strikes = {e["supplier"] for e in adaptive.events if e["kind"] == "strike"}
    for sup in strikes:
        assert f"target struck with {sup} weapons" in text
    zones = adaptive.scenario.theater.zones
    for ax in axes:
        assert ax.get_xlabel() == "km along the border"
        assert "depth into Russia" in ax.get_ylabel()
        assert len(ax.patches) >= 2 * len(zones)
    render(fig, tmp_path, "map")


def test_withheld_by_rule_names_each_deciding_rule(adaptive, tmp_path):
    fig = plots.withheld_by_rule(adaptive)
    axes = visible_axes(fig)
    assert len(axes) == 2
    rules = {e["rule"] for e in adaptive.events if e["kind"] in ("withheld", "constrained")}
    assert {t.get_text() for t in axes[0].get_yticklabels()} == rules
    assert axes[0].get_xlabel() and axes[1].get_xlabel()
    render(fig, tmp_path, "withheld")


def test_withheld_by_rule_says_so_when_nothing_was_forbidden(tmp_path):
    result = es.run(SCENARIOS / "deep_strike.yaml", seed=3, days=3)
    result.events = [e for e in result.events if e["kind"] not in ("withheld", "constrained")]
    fig = plots.withheld_by_rule(result)
    assert "No strike opportunity was forbidden" in texts(fig)
    render(fig, tmp_path, "withheld_none")


def test_describe_outcome_knows_units():
    assert plots.describe_outcome("fire_on_city") == ("fire landing on Kharkiv", "salvoes")
    assert plots.describe_outcome("peak_rung.RUS") == ("peak rung of RUS", "rungs")
    assert plots.describe_outcome("first_day_rung.RUS.4")[0] == "first day on rung 4 of RUS"
    assert plots.describe_outcome("withheld_cumulative") == (
        "opportunities withheld as sanctuary, cumulative",
        "opportunities",
    )
    assert plots.describe_outcome("something_else") == ("something_else", "")


def test_rung_and_label_colours_are_distinct():
    levels = [3, 4, 5, 6]
    colours = plots.rung_colours(levels)
    assert len({tuple(np.round(c, 3)) for c in colours.values()}) == len(levels)
    labels = plots.label_colours(["pre", "may30", "deep"])
    assert len({tuple(np.round(c, 3)) for c in labels.values()}) == 3


def test_escalation_curve_marks_the_case_at_each_choice_and_counts_the_precedents():
    """The time series holds the case after the day's option relieved it; the dots, before."""
    result = es.run(SCENARIOS / "may30_kharkiv_counterfire.yaml", seed=6, days=40)
    chose = [e for e in result.events if e["kind"] == "decision" and e["actor"] == "RUS"]
    climb = next(e for e in chose if e["to_rung"] > e["from_rung"])
    ts = result.timeseries.set_index("step")
    assert climb["pressure"] > ts.loc[climb["step"], "pressure.RUS"]  # relieved by the climb
    fig = plots.escalation_curve(result)
    dots = [
        ln for ax in fig.axes for ln in ax.get_lines() if "when it chose" in str(ln.get_label())
    ]
    assert len(dots) == 1
    assert list(dots[0].get_ydata()) == [e["pressure"] for e in chose]
    start = pd.Timestamp(result.scenario.start_date)
    days = [(pd.Timestamp(d) - start).days for d in dots[0].get_xdata()]
    assert days == [e["day"] for e in chose]
    flat = " ".join(texts(fig).split())
    assert len(climb["triggers"]) > 1
    assert (
        f"latest precedent: {climb['triggers'][-1]} (of {len(climb['triggers'])} salient)" in flat
    )
