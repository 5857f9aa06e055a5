"""The shapes the default scenarios must show (MODEL.md section 7), over 30 seeds.

Every scenario is run on the same seeds, so comparisons between rule sets are
paired (common random numbers). The statements are the brief's, not tuned
numbers: "no strike", "lower on the same seeds", "rare", "typical response is
signalling", "risk grows with permissiveness". Where a bound is needed (what
"rare" means) it is stated once below, with the exact binomial (Clopper-Pearson)
upper bound reported in the failure message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import escalation_sim
from escalation_sim import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PRE = "pre_may30.yaml"
MAY30 = "may30_kharkiv_counterfire.yaml"
DEEP = "deep_strike.yaml"
SEEDS = tuple(range(30))
WESTERN = ("USA", "GBR", "FRA", "DEU")
#: The article: counter-fire "against artillery, missile bases, and command centers".
MAY30_CLASSES = {"artillery", "missile_launcher", "command_post"}
#: The article's "Kharkiv region" as labelled in the scenario: the border area opposite.
MAY30_ZONE = "belgorod_border"
#: "Rare": in at most this share of seeds.
RARE = 0.05


@dataclass(frozen=True)
class Outcome:
    """What the shape tests need from one run (kept small: 90 runs are held)."""

    seed: int
    fire_on_city: float
    nuclear: bool
    nato: bool
    rus_peak: int
    rus_mean_rung: float
    strikes_in_russia: tuple[dict, ...]
    withheld: int


@functools.cache
def scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / name)


@functools.cache
def outcomes(name: str) -> tuple[Outcome, ...]:
    out = []
    for seed in SEEDS:
        r = escalation_sim.run(scenario(name), seed=seed, record_events=True)
        s = r.summary
        rus = r.timeseries["rung.RUS"]
        out.append(
            Outcome(
                seed=seed,
                fire_on_city=float(s["fire_on_city"]),
                nuclear=s["nuclear_use_day"] is not None,
                nato=s["nato_conflict_day"] is not None,
                rus_peak=int(rus.max()),
                rus_mean_rung=float(rus.iloc[1:].mean()),
                strikes_in_russia=tuple(
                    e for e in r.events if e["kind"] == "strike" and e["depth_km"] > 0
                ),
                withheld=int(s["withheld"]["total"]),
            )
        )
    return tuple(out)


def clopper_pearson_upper(k: int, n: int, level: float = 0.95) -> float:
    return float(stats.binomtest(k, n).proportion_ci(confidence_level=level).high)


# ---------------------------------------------------------------------- (a) pre-May-30


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_pre_may30_no_western_weapon_strikes_inside_russia():
    runs = outcomes(PRE)
    western = [
        (o.seed, e["supplier"], e["weapon"], e["target"])
        for o in runs
        for e in o.strikes_in_russia
        if e["supplier"] in WESTERN
    ]
    assert not western, f"{len(western)} Western strikes inside Russia, e.g. {western[:5]}"
    # The shelling units operate from sanctuary: opportunities are withheld in every seed.
    assert all(o.withheld > 0 for o in runs), [o.seed for o in runs if o.withheld == 0]
    # Ukraine still strikes inside Russia with its own drones (bound by no supplier).
    assert any(o.strikes_in_russia for o in runs)
    assert {e["supplier"] for o in runs for e in o.strikes_in_russia} <= {"UKR"}


# ---------------------------------------------------------------------- (b) fire on Kharkiv


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_fire_on_kharkiv_is_lower_under_may30_on_the_same_seeds():
    pre = np.array([o.fire_on_city for o in outcomes(PRE)])
    may30 = np.array([o.fire_on_city for o in outcomes(MAY30)])
    d = may30 - pre
    n = len(d)
    lo, hi = stats.t.interval(0.95, n - 1, loc=d.mean(), scale=stats.sem(d))
    assert hi < 0, (
        f"May-30 minus pre-May-30 fire on Kharkiv over {n} paired seeds: mean {d.mean():.1f}, "
        f"95% CI [{lo:.1f}, {hi:.1f}] does not lie below zero"
    )


# ---------------------------------------------------------------------- (c) May-30 strikes


def test_may30_counterfire_occurs_only_where_and_against_what_is_authorized():
    sc = scenario(MAY30)
    long_range = {w for w, spec in sc.weapons.items() if spec.long_range}
    runs = outcomes(MAY30)
    us_long = [
        (o.seed, e["weapon"], e["target"])
        for o in runs
        for e in o.strikes_in_russia
        if e["supplier"] == "USA" and e["weapon"] in long_range
    ]
    assert not us_long, f"US long-range strikes inside Russia: {us_long[:5]}"
    outside = [
        (o.seed, e["supplier"], e["weapon"], e["zone"], e["target_class"])
        for o in runs
        for e in o.strikes_in_russia
        if e["supplier"] in ("USA", "DEU")
        and (e["zone"] != MAY30_ZONE or e["target_class"] not in MAY30_CLASSES)
    ]
    assert not outside, f"US/German strikes outside the authorization: {outside[:5]}"
    # Counter-fire strikes inside Russia do occur, in every seed.
    no_us = [o.seed for o in runs if not any(e["supplier"] == "USA" for e in o.strikes_in_russia)]
    assert not no_us, f"seeds without any US counter-fire strike inside Russia: {no_us}"


# ---------------------------------------------------------------------- (d) rare extremes


@pytest.mark.parametrize("what", ["nuclear", "nato"])
def test_may30_nuclear_use_and_nato_conflict_are_rare(what):
    runs = outcomes(MAY30)
    k = sum(getattr(o, what) for o in runs)
    n = len(runs)
    upper = clopper_pearson_upper(k, n)
    assert k / n <= RARE, (
        f"{what}: {k}/{n} seeds ({k / n:.0%}) exceed the bound {RARE:.0%}; "
        f"95% Clopper-Pearson upper bound {upper:.1%}"
    )
    # Reported for the reader (pytest -rP): 0/30 still allows up to ~11.6% at 95%.
    print(f"{what}: {k}/{n} seeds; 95% Clopper-Pearson upper bound {upper:.1%}")


def test_may30_russias_typical_response_is_signalling():
    ladder = scenario(MAY30).ladder_for("RUS")
    intensified = next(r.level for r in ladder.rungs if r.fire_multiplier > 1)
    signalling = [r.level for r in ladder.rungs if r.signal and r.level < intensified]
    assert signalling, "the ladder must have signalling rungs below intensified strikes"
    mean_rungs = np.array([o.rus_mean_rung for o in outcomes(MAY30)])
    median = float(np.median(mean_rungs))
    assert median < intensified, (
        f"median over seeds of Russia's time-averaged rung is {median:.2f}; "
        f"intensified strikes begin at rung {intensified}"
    )
    # And signalling, not quiescence: Russia spends its time at or above its first signal rung.
    assert median >= min(signalling), median


# ---------------------------------------------------------------------- (e) permissiveness


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_escalation_grows_with_the_permissiveness_of_the_rules():
    """Mean peak rung of Russia: deep strike >= May-30 >= pre-May-30 (paired seeds).

    Stated as comparisons of means over the same 30 seeds rather than as a
    strict significance test per pair, which would be fragile with rung
    differences that are often zero. The widest gap (deep strike against
    pre-May-30) is also checked one-sided with a paired t-test.
    """
    peak = {n: np.array([o.rus_peak for o in outcomes(n)]) for n in (PRE, MAY30, DEEP)}
    means = {n: float(v.mean()) for n, v in peak.items()}
    assert means[DEEP] >= means[MAY30] >= means[PRE], means
    res = stats.ttest_rel(peak[DEEP], peak[PRE], alternative="greater")
    assert res.pvalue < 0.05, f"deep strike vs pre-May-30 peak rung: {means}, p={res.pvalue:.3f}"
