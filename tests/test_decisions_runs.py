"""The decision layer's conclusions over seeds (issue 8's checks), on common random numbers.

Each statement is tested as a conclusion over many runs, never at one seed:
with every perception input zeroed no actor leaves its starting rung; no run
of a shipped scenario reaches a nuclear rung or direct NATO-Russia conflict;
the May-30 runs mostly signal; deep strike raises Russia's peak rung over
pre-May-30 on the same seeds (also with Ukraine's own strikes weighing as
much as US weapons); every climb names its option and what triggered it.
The full-scale versions (200 runs of 180 days per shipped scenario) are
``tools/decision_checks.py``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import escalation_sim
from escalation_sim import Scenario, load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
SEEDS = range(20)


def zero_perception(sc: Scenario) -> list[str]:
    """Overrides that zero every input the actors perceive (strikes, losses, harm, acts, precedents)."""
    p = sc.decisions.perception
    out = [f"decisions.perception.supplier_weight.{a}=0" for a in p.supplier_weight]
    out += [f"decisions.perception.trigger_weight.{k}=0" for k in p.trigger_weight]
    out += ["decisions.perception.own_loss_weight=0", "decisions.perception.act_weight=0"]
    for aid in sc.decisions.actors:
        out += [
            f"decisions.actors.{aid}.harm_weight=0",
            f"decisions.actors.{aid}.adversary_rung_weight=0",
        ]
    return out


@functools.cache
def runs(name: str, extra: tuple[str, ...] = (), seeds: range = SEEDS, days: int = 180):
    sc = with_overrides(load_scenario(SCENARIOS / name), [*extra, f"horizon_days={days}"])
    return [escalation_sim.run(sc, seed=s, record_events=True) for s in seeds]


def _decisions(results, actor="RUS"):
    return [e for r in results for e in r.events if e["kind"] == "decision" and e["actor"] == actor]


def _acts_and_moves(sc: Scenario, seeds: range) -> tuple[int, int]:
    """Runs in which any actor acted, and runs in which any actor left its starting rung."""
    acted = moved = 0
    for seed in seeds:
        r = escalation_sim.run(sc, seed=seed, record_events=True)
        ts = r.timeseries
        acted += any(e["kind"] == "decision" for e in r.events)
        moved += any((ts[f"rung.{a}"] != sc.actors[a].start_rung).any() for a in sc.actors)
    return acted, moved


def test_with_perception_zeroed_no_actor_acts_at_all():
    """Every decision is driven by what the actor perceives: zeroed, nobody acts in 180 days.

    Before acts that answer nothing were left out of the choice, choice noise
    alone moved an actor off its start in ~1.5 % of May-30 runs and made ~1
    statement per actor per run.
    """
    base = load_scenario(SCENARIOS / "may30_kharkiv_counterfire.yaml")
    sc = with_overrides(base, zero_perception(base))
    assert _acts_and_moves(sc, range(4)) == (0, 0)


@pytest.mark.slow
def test_with_perception_zeroed_no_actor_leaves_its_starting_rung():
    """200 runs (60 days each) of the most permissive rule set: no act, no rung left."""
    base = load_scenario(SCENARIOS / "deep_strike.yaml")
    sc = with_overrides(base, [*zero_perception(base), "horizon_days=60"])
    acted, moved = _acts_and_moves(sc, range(200))
    assert (acted, moved) == (0, 0), f"{acted} of 200 runs acted, {moved} left a starting rung"


@pytest.mark.slow  # ensembles over seeds: left out of `make test-fast`
@pytest.mark.parametrize("name", ["may30_kharkiv_counterfire.yaml", "deep_strike.yaml"])
def test_no_run_reaches_nuclear_use_or_direct_conflict(name):
    """Also why: the nuclear options need a strike on a strategic asset by a supplier whose
    strikes set precedents, and no shipped rule set lets one happen."""
    for r in runs(name):
        usual = set(r.scenario.decisions.perception.precedent_suppliers)
        strategic = set(r.scenario.decisions.perception.strategic_classes)
        assert not [
            e
            for e in r.events
            if e["kind"] == "strike"
            and e["target_class"] in strategic
            and e["supplier"] not in usual
        ], r.seed
        assert r.summary["nuclear_use_day"] is None, r.seed
        assert r.summary["nato_conflict_day"] is None, r.seed
        for aid in r.scenario.actors:
            top = int(r.timeseries[f"rung.{aid}"].max())
            ladder = r.scenario.ladder_for(aid)
            assert not ladder.rungs[top].nuclear_use, (aid, r.seed)


@pytest.mark.slow  # ensembles over seeds: left out of `make test-fast`
def test_may30_runs_mostly_signal():
    """MODEL.md 7.3: under May-30 Russia's typical response is signalling."""
    res = runs("may30_kharkiv_counterfire.yaml")
    acts = _decisions(res)
    assert acts, "Russia never acted"
    posturing = sum(e["rivera"] == "posturing" for e in acts) / len(acts)
    assert posturing >= 0.5, f"only {posturing:.0%} of Russia's acts were posturing"
    days_signalling = np.mean(
        [
            np.mean([r.scenario.ladder.rungs[k].signal for k in r.timeseries["rung.RUS"].iloc[1:]])
            for r in res
        ]
    )
    assert days_signalling >= 0.75, f"Russia on a signalling rung {days_signalling:.0%} of days"


def _paired_lower_bound(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    if d.std(ddof=1) == 0:
        return float(d.mean())
    return float(stats.t.interval(0.95, len(d) - 1, d.mean(), stats.sem(d))[0])


@pytest.mark.parametrize(
    "extra", [(), ("decisions.perception.supplier_weight.UKR=1.0",)], ids=["default", "ukr_1.0"]
)
@pytest.mark.slow  # ensembles over seeds: left out of `make test-fast`
def test_deep_strike_raises_russias_peak_rung_over_pre_may30(extra):
    seeds = SEEDS
    deep = np.array(
        [r.timeseries["rung.RUS"].max() for r in runs("deep_strike.yaml", extra, seeds)]
    )
    pre = np.array([r.timeseries["rung.RUS"].max() for r in runs("pre_may30.yaml", extra, seeds)])
    low = _paired_lower_bound(deep.astype(float), pre.astype(float))
    assert low > 0, f"peak rung deep - pre: mean {np.mean(deep - pre):.2f}, 95% CI low {low:.2f}"


@pytest.mark.slow  # ensembles over seeds: left out of `make test-fast`
def test_may30_lowers_fire_on_kharkiv_on_the_same_seeds():
    may = np.array([r.summary["fire_on_city"] for r in runs("may30_kharkiv_counterfire.yaml")])
    pre = np.array([r.summary["fire_on_city"] for r in runs("pre_may30.yaml")])
    assert _paired_lower_bound(pre, may) > 0


def test_every_climb_names_its_option_and_what_triggered_it():
    climbs = [
        e
        for name in ("may30_kharkiv_counterfire.yaml", "deep_strike.yaml")
        for e in _decisions(runs(name))
        if e["to_rung"] > e["from_rung"]
    ]
    assert climbs
    for e in climbs:
        assert e["option"] and e["option_label"] and e["kahn"] is not None, e
        assert e["triggers"] or e["causes"], e
        assert e["score"] > 0 and e["decision_model"] == "cost_benefit", e
    named = [e for e in climbs if e["triggers"]]
    assert len(named) >= len(climbs) / 2, "most climbs should follow a salient precedent"
    assert any("first" in t for e in named for t in e["triggers"])


def test_scores_and_kahn_rungs_are_in_the_time_series_and_summary():
    r = runs("deep_strike.yaml")[0]
    ts = r.timeseries
    for aid in r.scenario.actors:
        assert {f"score.{aid}", f"kahn.{aid}", f"option.{aid}"} <= set(ts.columns)
        s = r.summary["escalation_score"][aid]
        assert s["cumulative"] == int(ts[f"score.{aid}"].sum())
        assert s["peak"] == int(ts[f"score.{aid}"].max())
    acts = [e for e in r.events if e["kind"] == "decision"]
    for e in acts:
        row = ts.loc[ts["step"] == e["step"]].iloc[0]
        assert row[f"option.{e['actor']}"] == e["option"]
        assert row[f"score.{e['actor']}"] == e["score"]
