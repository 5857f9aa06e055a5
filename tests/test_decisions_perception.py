"""Perception: noisy, lagged, uncertainly attributed observations, precedents, common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from escalation_sim import load_scenario, with_overrides
from escalation_sim.model.decisions.perception import Perception
from escalation_sim.model.engagement import Outcome, StrikeReport
from escalation_sim.model.model import EscalationModel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MAY30 = SCENARIOS / "may30_kharkiv_counterfire.yaml"
EXACT = [
    "decisions.perception.noise_sd=0",
    "decisions.perception.lag_days=0",
    "decisions.perception.report_prob=1",
    "decisions.perception.attribution_accuracy=1",
]


def _model(extra=(), seed=0) -> EscalationModel:
    return EscalationModel(with_overrides(load_scenario(MAY30), [*EXACT, *extra]), seed=seed)


def _report(m: EscalationModel, weapon: str, n: int = 1, depth: float = 10.0, cls="artillery"):
    f = m.forces
    w = m.weapon_ids.index(weapon)
    c = f.class_ids.index(cls)
    targets = np.flatnonzero(f.cls == c)[:n]
    return StrikeReport(
        target=targets,
        launcher=np.zeros(n, np.int64),
        supplier=np.full(n, m._weapon_supplier[w]),
        weapon=np.full(n, w),
        target_class=np.full(n, c),
        rule=np.zeros(n, np.int64),
        depth_km=np.full(n, depth),
        zone=np.zeros(n, np.int64),
        outcome=np.full(n, int(Outcome.DAMAGED)),
        x_km=np.zeros(n),
    )


def _perceive(
    m: EscalationModel, report: StrikeReport, step: int = 1, seed: int | None = None
) -> Perception:
    if seed is not None:  # a fresh perceive stream, without building a model per draw
        m.decisions.perception.rng = np.random.default_rng(seed)
    m.decisions.perceive(step, report, 0, 0.0)
    return m.decisions.perception


def test_observation_arrives_after_the_lag():
    m = _model(["decisions.perception.lag_days=3"])
    p = _perceive(m, _report(m, "GMLRS"), step=1)
    for step in (1, 2, 3):
        assert p.deliver(step)["RUS"].provocation == 0.0
    assert p.deliver(4)["RUS"].provocation > 0.0


def test_unreported_strikes_are_not_perceived():
    m = _model(["decisions.perception.report_prob=0"])
    obs = _perceive(m, _report(m, "GMLRS", n=5)).deliver(1)["RUS"]
    assert obs.provocation == 0.0 and obs.triggers == []


def test_noise_spreads_perceived_weights_around_the_exact_one():
    exact = _perceive(m := _model(), _report(m, "GMLRS")).deliver(1)["RUS"].provocation
    seen = []
    m = _model(["decisions.perception.noise_sd=0.5"])
    for seed in range(400):
        seen.append(_perceive(m, _report(m, "GMLRS"), seed=seed).deliver(1)["RUS"].provocation)
    seen = np.array(seen)
    assert seen.std() > 0.2 * exact
    # Log-normal noise with its mean at the exact weight.
    assert seen.mean() == pytest.approx(exact, rel=0.1)


def test_shared_munitions_are_misattributed_between_their_suppliers():
    """GMLRS from a HIMARS (USA) or a MARS II (DEU) is the same rocket on arrival."""
    sc = load_scenario(MAY30)
    assert sc.decisions.perception.munition_family["GMLRS"] == "gmlrs_rocket"
    assert sc.decisions.perception.munition_family["MARS_II"] == "gmlrs_rocket"
    seen = {"USA": 0, "DEU": 0}
    m = _model(["decisions.perception.attribution_accuracy=0"])
    for seed in range(200):
        obs = _perceive(m, _report(m, "GMLRS"), seed=seed).deliver(1)["RUS"]
        for channel in obs.flows:
            seen[channel.removeprefix("strikes:")] += 1
    # With no accuracy the rocket is pinned on either supplier at random.
    assert seen["USA"] > 60 and seen["DEU"] > 60
    # With full accuracy, always on the right one; an unshared munition is never misattributed.
    exact, blind = _model(), _model(["decisions.perception.attribution_accuracy=0"])
    for seed in range(20):
        flows = _perceive(exact, _report(exact, "GMLRS"), seed=seed).deliver(1)["RUS"].flows
        assert list(flows) == ["strikes:USA"]
        flows = _perceive(blind, _report(blind, "ATACMS"), seed=seed).deliver(1)["RUS"].flows
        assert list(flows) == ["strikes:USA"]


def test_precedents_fire_once_and_not_for_the_war_as_usual():
    m = _model()
    p = _perceive(m, _report(m, "GMLRS", n=3), step=1)
    kinds = sorted(t.kind for t in p.deliver(1)["RUS"].triggers)
    assert kinds == ["first_weapon_class", "new_depth_band", "new_supplier", "new_target_class"]
    # The same kind of strike again sets no precedent; a new depth band does.
    _perceive(m, _report(m, "GMLRS", n=3), step=2)
    assert p.deliver(2)["RUS"].triggers == []
    _perceive(m, _report(m, "GMLRS", depth=60.0), step=3)
    assert [t.kind for t in p.deliver(3)["RUS"].triggers] == ["new_depth_band"]
    # Ukraine's own drones are the war as usual before the start: no precedent.
    assert "UKR" in m.spec.decisions.perception.precedent_suppliers
    _perceive(m, _report(m, "UA_LR_DRONE", depth=300.0, cls="airbase"), step=4)
    obs = p.deliver(4)["RUS"]
    assert obs.provocation > 0 and obs.triggers == []


def test_a_precedent_that_weighs_nothing_is_not_salient():
    """Zeroed precedent weights neither add to the case nor open the options they gate."""
    m = _model(["decisions.perception.trigger_weight.first_weapon_class=0"])
    p = _perceive(m, _report(m, "GMLRS", n=3), step=1)
    obs = p.deliver(1)["RUS"]
    assert "first_weapon_class" not in [t.kind for t in obs.triggers]
    assert all(t.weight > 0 for t in obs.triggers)
    # Seen all the same: it is not perceived again as new.
    assert any(k[0] == "first_weapon_class" for k in p.seen)
    zero = _model([f"decisions.perception.supplier_weight.{a}=0" for a in ("USA", "DEU")])
    p = _perceive(zero, _report(zero, "GMLRS", n=3), step=1)
    assert p.deliver(1)["RUS"].triggers == []


def test_a_strike_on_a_strategic_asset_is_its_own_precedent():
    m = _model()
    assert "strategic" in m.spec.decisions.perception.strategic_classes
    p = _perceive(m, _report(m, "ATACMS", depth=280.0, cls="strategic"))
    kinds = [t.kind for t in p.deliver(1)["RUS"].triggers]
    assert "strategic_asset" in kinds


def test_perception_draws_a_fixed_block_per_step_whatever_happens():
    """Common random numbers: the perceive stream advances the same with or without strikes."""
    a, b = _model(), _model()
    _perceive(a, _report(a, "GMLRS", n=6))
    _perceive(b, _report(b, "GMLRS", n=0))
    assert a.streams["perceive"].random() == b.streams["perceive"].random()


def test_perception_settings_leave_the_other_streams_draws_alone():
    """Changing how Russia perceives changes no fire, detection or strike draw."""
    base = load_scenario(MAY30)
    noisy = with_overrides(base, ["decisions.perception.noise_sd=0.9", "horizon_days=20"])
    plain = with_overrides(base, ["decisions.perception.noise_sd=0", "horizon_days=20"])
    runs = []
    for sc in (noisy, plain):
        m = EscalationModel(sc, seed=3)
        m.run()
        runs.append(m.timeseries())
    # Russia's rung can differ; while it holds (the first 20 days) fire and strikes match.
    a, b = runs
    same_rung = (a["rung.RUS"] == b["rung.RUS"]).cumprod().astype(bool)
    assert same_rung.sum() > 5
    for col in ("fire_on_city", "strikes", "strikes_in_russia", "withheld"):
        assert (a.loc[same_rung, col] == b.loc[same_rung, col]).all(), col
