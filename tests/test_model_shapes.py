"""The shapes the default scenarios must show (MODEL.md section 7), as shares of assumption sets.

A shape is a conclusion that must hold across the plausible range of the
model's assumptions, not at one tuned point. So every shape is checked in each
of SETS assumption sets, drawn by Latin hypercube over the package's
``assumption_ranges.yaml`` (every region; only the assumptions the actors'
decision models read, as the ``robustness`` command samples), with SEEDS common seeds per set, and
passes when it holds in at least REQUIRED of the sets. The share is printed
and reported in every assertion message. No range is narrowed and no
parameter is set to make a shape pass: a shape that fails here is a finding
about the model (see docs/ODD.md, "Calibration and robustness").

In each set every scenario runs on the same seeds, so comparisons between rule
sets are paired (common random numbers). The statements are the brief's:
"no strike", "lower on the same seeds", "rare", "typical response is
signalling", "risk grows with permissiveness". Where a bound is needed (what
"rare" means) it is stated once below.
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
from escalation_sim.experiment.relevance import split_read
from escalation_sim.experiment.seeds import run_seeds
from escalation_sim.scenario.loader import scenario_to_dict
from escalation_sim.scenario.ranges import AssumptionSets, load_ranges, sample

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PRE = "pre_may30.yaml"
MAY30 = "may30_kharkiv_counterfire.yaml"
DEEP = "deep_strike.yaml"
NAMES = (PRE, MAY30, DEEP)
#: Assumption sets, common seeds per set, and the root seed of both.
SETS = 16
SEEDS = 4
ROOT = 0
#: A shape passes when it holds in at least this share of the assumption sets.
REQUIRED = 0.9
WESTERN = ("USA", "GBR", "FRA", "DEU")
#: The article: counter-fire "against artillery, missile bases, and command centers".
MAY30_CLASSES = {"artillery", "missile_launcher", "command_post"}
#: The article's "Kharkiv region" as labelled in the scenario: the border area opposite.
MAY30_ZONE = "belgorod_border"
#: "Rare": in at most this share of a set's runs.
RARE = 0.05
#: Scenarios whose strike events the shapes read (the log doubles a run's cost).
EVENTS_FOR = (PRE, MAY30)
#: Issue 8's check: Ukraine's own strikes weighing as much as US weapons.
UKR_WEIGHT_PATH = "decisions.perception.supplier_weight.UKR"


@dataclass(frozen=True)
class Outcome:
    """What the shape tests need from one run (kept small: a few hundred runs are held)."""

    seed: int
    fire_on_city: float
    nuclear: bool
    nato: bool
    rus_peak: int
    rus_mean_rung: float
    strikes_in_russia: tuple[tuple[str, str, str, str], ...]  # supplier, weapon, zone, class
    withheld: int


@functools.cache
def scenario(name: str, fixed: tuple[str, ...] = ()) -> Scenario:
    return load_scenario(SCENARIOS / name, list(fixed))


@functools.cache
def assumption_sets(fixed: tuple[str, ...] = ()) -> AssumptionSets:
    data = [scenario_to_dict(scenario(n, fixed)) for n in NAMES]
    held = [f.partition("=")[0] for f in fixed]
    # As the robustness command samples: only what the actors' decision models read.
    dims, _ = split_read(
        load_ranges().dimensions(data, fixed=held), [scenario(n, fixed) for n in NAMES]
    )
    return sample(dims, SETS, ROOT)


def _outcome(sc: Scenario, seed: int, events: bool) -> Outcome:
    r = escalation_sim.run(sc, seed=seed, record_events=events)
    s = r.summary
    rus = r.timeseries["rung.RUS"]
    strikes = tuple(
        (e["supplier"], e["weapon"], e["zone"], e["target_class"])
        for e in r.events
        if e["kind"] == "strike" and e["depth_km"] > 0
    )
    return Outcome(
        seed=seed,
        fire_on_city=float(s["fire_on_city"]),
        nuclear=s["nuclear_use_day"] is not None,
        nato=s["nato_conflict_day"] is not None,
        rus_peak=int(rus.max()),
        rus_mean_rung=float(rus.iloc[1:].mean()),
        strikes_in_russia=strikes,
        withheld=int(s["withheld"]["total"]),
    )


@functools.cache
def outcomes(
    name: str, fixed: tuple[str, ...] = (), seeds: int = SEEDS
) -> tuple[tuple[Outcome, ...], ...]:
    """Per assumption set, the runs of scenario ``name`` on the common seeds."""
    sets = assumption_sets(fixed)
    base = scenario(name, fixed)
    # The event log (strike zones, classes, suppliers) is needed only by the rule-engine shapes.
    events = not fixed and name in EVENTS_FOR
    return tuple(
        tuple(_outcome(sets.scenario(i, base), seed, events) for seed in run_seeds(ROOT, seeds))
        for i in range(len(sets))
    )


def check_share(holds: list[bool], what: str) -> float:
    """Assert that ``what`` holds in at least REQUIRED of the sets; report the share."""
    k, n = sum(holds), len(holds)
    share = k / n
    failing = [i for i, h in enumerate(holds) if not h]
    print(f"{what}: holds in {k}/{n} assumption sets ({share:.0%})")
    assert share >= REQUIRED, (
        f"{what}: holds in {k}/{n} assumption sets ({share:.0%}), required {REQUIRED:.0%}; "
        f"fails in sets {failing} (values: assumption_sets({SETS} sets, root seed {ROOT}))"
    )
    return share


# ---------------------------------------------------------------------- (a) pre-May-30


def test_pre_may30_no_western_weapon_strikes_inside_russia():
    holds = []
    for runs in outcomes(PRE):
        western = [e for o in runs for e in o.strikes_in_russia if e[0] in WESTERN]
        # The shelling units operate from sanctuary: opportunities are withheld in every run.
        sanctuary = all(o.withheld > 0 for o in runs)
        holds.append(not western and sanctuary)
    check_share(holds, "pre-May-30: no Western strike inside Russia, targets in sanctuary")
    # Ukraine still strikes inside Russia with its own drones (bound by no supplier).
    suppliers = {e[0] for runs in outcomes(PRE) for o in runs for e in o.strikes_in_russia}
    assert suppliers == {"UKR"}, suppliers


# ---------------------------------------------------------------------- (b) fire on Kharkiv


def test_fire_on_kharkiv_is_lower_under_may30_on_the_same_seeds():
    """In each set the mean paired difference is below zero; pooled, its 95% interval is too.

    With SEEDS paired runs per set a t-interval per set has little power (t = 3.18
    at 3 degrees of freedom), so the per-set statement is the direction of the
    mean difference, and the significance is tested once over all sets' pairs.
    The ``robustness`` command, with 20 runs per set, judges each set by its interval.
    """
    holds, means, pooled = [], [], []
    for pre, may30 in zip(outcomes(PRE), outcomes(MAY30), strict=True):
        d = np.array([b.fire_on_city - a.fire_on_city for a, b in zip(pre, may30, strict=True)])
        holds.append(bool(d.mean() < 0))
        means.append(round(float(d.mean()), 1))
        pooled.append(d)
    check_share(holds, f"May-30 lowers fire on Kharkiv vs pre-May-30 (mean differences {means})")
    d = np.concatenate(pooled)
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert hi < 0, f"pooled paired difference {d.mean():.1f}, 95% CI [{lo:.1f}, {hi:.1f}]"


# ---------------------------------------------------------------------- (c) May-30 strikes


def test_may30_counterfire_occurs_only_where_and_against_what_is_authorized():
    holds = []
    for i, runs in enumerate(outcomes(MAY30)):
        sc = assumption_sets().scenario(i, scenario(MAY30))
        long_range = {w for w, spec in sc.weapons.items() if spec.long_range}
        strikes = [e for o in runs for e in o.strikes_in_russia]
        us_long = [e for e in strikes if e[0] == "USA" and e[1] in long_range]
        outside = [
            e
            for e in strikes
            if e[0] in ("USA", "DEU") and (e[2] != MAY30_ZONE or e[3] not in MAY30_CLASSES)
        ]
        occurs = all(any(e[0] == "USA" for e in o.strikes_in_russia) for o in runs)
        holds.append(not us_long and not outside and occurs)
    check_share(
        holds,
        "May-30: US counter-fire inside Russia occurs in every run, only in the border area, "
        "only against authorized classes, never with US long-range weapons",
    )


# ---------------------------------------------------------------------- (d) rare extremes


@pytest.mark.parametrize("what", ["nuclear", "nato"])
def test_may30_nuclear_use_and_nato_conflict_are_rare(what):
    runs = outcomes(MAY30)
    rates = [float(np.mean([getattr(o, what) for o in r])) for r in runs]
    k = sum(getattr(o, what) for r in runs for o in r)
    n = sum(len(r) for r in runs)
    upper = stats.binomtest(k, n).proportion_ci(confidence_level=0.95).high
    print(f"{what}: {k}/{n} runs over all sets; 95% Clopper-Pearson upper bound {upper:.1%}")
    check_share(
        [r <= RARE for r in rates],
        f"May-30: {what} in at most {RARE:.0%} of a set's runs (pooled {k}/{n} runs)",
    )


def test_may30_russias_typical_response_is_signalling():
    ladder = scenario(MAY30).ladder_for("RUS")
    intensified = next(r.level for r in ladder.rungs if r.fire_multiplier > 1)
    signalling = [r.level for r in ladder.rungs if r.signal and r.level < intensified]
    assert signalling, "the ladder must have signalling rungs below intensified strikes"
    medians = [float(np.median([o.rus_mean_rung for o in r])) for r in outcomes(MAY30)]
    # Signalling, not quiescence and not war: at or above the first signal rung, below intensified.
    holds = [min(signalling) <= m < intensified for m in medians]
    check_share(
        holds,
        f"May-30: Russia's median time-averaged rung is a signalling one "
        f"([{min(signalling)}, {intensified}); medians {[round(m, 2) for m in medians]})",
    )


# ---------------------------------------------------------------------- (e) permissiveness


def _ordering(fixed: tuple[str, ...] = (), seeds: int = SEEDS) -> tuple[list[bool], dict]:
    peaks = {
        n: [np.array([o.rus_peak for o in r]) for r in outcomes(n, fixed, seeds)] for n in NAMES
    }
    holds = [
        peaks[DEEP][i].mean() >= peaks[MAY30][i].mean() >= peaks[PRE][i].mean() for i in range(SETS)
    ]
    return holds, peaks


def test_escalation_grows_with_the_permissiveness_of_the_rules():
    """Mean peak rung of Russia in each set: deep strike >= May-30 >= pre-May-30 (paired seeds).

    Stated as an ordering of means over a set's common seeds rather than as a
    significance test per set, which would be fragile with rung differences
    that are often zero. The widest gap (deep strike against pre-May-30) is also
    tested one-sided over all sets' paired runs.
    """
    holds, peaks = _ordering()
    check_share(holds, "Russia's mean peak rung: deep strike >= May-30 >= pre-May-30")
    deep, pre = np.concatenate(peaks[DEEP]), np.concatenate(peaks[PRE])
    res = stats.ttest_rel(deep, pre, alternative="greater")
    assert res.pvalue < 0.05, (
        f"deep strike vs pre-May-30 peak rung over all paired runs: "
        f"{deep.mean():.2f} vs {pre.mean():.2f}, p={res.pvalue:.3f}"
    )


def test_the_ordering_holds_with_ukraines_own_strikes_weighing_as_much_as_us_weapons():
    """Issue 8: with Ukraine's own-strike weight held at 1.0 (not sampled), the ordering holds."""
    fixed = (f"{UKR_WEIGHT_PATH}=1.0",)
    assert all(
        assumption_sets(fixed)
        .scenario(i, scenario(PRE, fixed))
        .decisions.perception.supplier_weight["UKR"]
        == 1.0
        for i in range(SETS)
    )
    holds, _ = _ordering(fixed, seeds=3)
    check_share(
        holds, "UKR own-strike weight 1.0: Russia's mean peak rung deep >= May-30 >= pre-May-30"
    )
