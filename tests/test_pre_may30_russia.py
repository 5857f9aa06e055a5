"""Russia under the pre-May-30 rules: quiet because of one reading, not because its case is zeroed.

Under pre-May-30 no Western weapon strikes inside Russia; the only strikes there
are Ukraine's own (drones at depth, artillery across the border), which the
defaults weigh at 0.15 of a US strike and as the war as usual (habituated from
the first one). Russia's case then stays far below the 15 units its standing
rung (nuclear signalling) answers, and it takes no act. These tests state
where that holds (README, "Russia under the pre-May-30 rules"; docs/ODD.md,
section 10), across the plausible ranges of every assumption the decision
models read, as the shape tests sample them:

* with Ukraine's own strikes weighed as the defaults read them, or not at all,
  Russia takes no act in (nearly) every assumption set: nothing else in the
  pre-May-30 world (its losses, Western statements, the other ranges) moves it;
* with them weighed as much as US weapons (the top of their range), Russia acts
  in most sets: the case is live, and its quiet hinges on that one reading.
"""

from __future__ import annotations

import functools

import pytest
from test_model_shapes import PRE, REQUIRED, ROOT, SEEDS, UKR_WEIGHT_PATH, assumption_sets
from test_model_shapes import scenario as shipped

import escalation_sim
from escalation_sim.experiment.seeds import run_seeds

pytestmark = pytest.mark.slow


@functools.cache
def russian_acts(weight: float) -> tuple[int, ...]:
    """Per assumption set, Russia's acts (any option but hold) over the common seeds."""
    fixed = (f"{UKR_WEIGHT_PATH}={weight}",)
    sets = assumption_sets(fixed)
    base = shipped(PRE, fixed)
    out = []
    for i in range(len(sets)):
        sc = sets.scenario(i, base)
        assert sc.decisions.perception.supplier_weight["UKR"] == weight
        acts = 0
        for seed in run_seeds(ROOT, SEEDS):
            events = escalation_sim.run(sc, seed=seed).events
            acts += sum(e["kind"] == "decision" and e["actor"] == "RUS" for e in events)
        out.append(acts)
    return tuple(out)


def _default_weight() -> float:
    return float(shipped(PRE).decisions.perception.supplier_weight["UKR"])


@pytest.mark.parametrize("weight", ["default", 0.0])
def test_pre_may30_russia_takes_no_act_unless_ukraines_own_strikes_weigh(weight):
    w = _default_weight() if weight == "default" else float(weight)
    acts = russian_acts(w)
    quiet = [a == 0 for a in acts]
    share = sum(quiet) / len(quiet)
    print(f"pre-May-30, UKR weight {w}: Russia takes no act in {sum(quiet)}/{len(quiet)} sets")
    assert share >= REQUIRED, (w, acts)


def test_pre_may30_russia_acts_when_ukraines_own_strikes_weigh_as_us_weapons():
    acts = russian_acts(1.0)
    acting = sum(a > 0 for a in acts)
    print(f"pre-May-30, UKR weight 1.0: Russia acts in {acting}/{len(acts)} sets {acts}")
    assert acting / len(acts) >= 0.5, acts
