"""Sensitivity indices: intervals kept, nothing clipped, warnings for small or noisy samples.

The indices are computed here on synthetic outcomes of known structure (no
model runs), so each property is checked against a known answer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation_sim.experiment.sweep import load_sweep
from escalation_sim.experiment.sweep import sensitivity as sens
from escalation_sim.experiment.sweep.designs import MorrisDesign, SobolDesign

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
X1, X2 = "actors.RUS.risk_tolerance", "weapons.GMLRS.range_km"


def _sweep(design: dict, replications: int = 1, seed: int = 0):
    return load_sweep(
        {
            "base": str(DEFAULT),
            "days": 5,
            "seed": seed,
            "replications": replications,
            "design": design,
            "parameters": {X1: {"range": [0.0, 1.0]}, X2: {"range": [40.0, 120.0]}},
            "outcomes": ["fire_on_city"],
        }
    )


def _runs(sw, f, noise: float = 0.0, seed: int = 1) -> pd.DataFrame:
    """One row per run: the outcome ``f(x1, x2)`` at the run's point, plus noise."""
    rng = np.random.default_rng(seed)
    reps = sw.spec.replications
    x1 = np.repeat([v[X1] for v in sw.design.values], reps)
    x2 = np.repeat([v[X2] for v in sw.design.values], reps)
    return pd.DataFrame(
        {
            "point": np.repeat(np.arange(sw.design.points), reps),
            "replication": np.tile(np.arange(reps), sw.design.points),
            "fire_on_city": f(x1, x2) + noise * rng.standard_normal(len(x1)),
        }
    )


def test_sobol_indices_with_root_seed_0_are_reproducible() -> None:
    # SALib's Sobol' analysis took a seed of 0 for "no seed" and drew its bootstrap from
    # numpy's global state: the intervals changed from one call to the next.
    sw = _sweep({"method": "sobol", "samples": 16})
    runs = _runs(sw, lambda a, b: 3 * a + 0.01 * b)
    first = sens.sensitivity_indices(sw, runs).table
    np.random.seed(12345)
    np.random.random(7)
    again = sens.sensitivity_indices(sw, runs).table
    pd.testing.assert_frame_equal(first, again, check_exact=True)


def test_indices_carry_their_intervals_and_a_known_answer_holds() -> None:
    sw = _sweep({"method": "sobol", "samples": 64}, seed=3)
    result = sens.sensitivity_indices(sw, _runs(sw, lambda a, b: 3 * a))
    table = result.table.set_index(["parameter", "index"])
    assert list(result.table.columns) == sens.COLUMNS
    np.testing.assert_allclose(table["ci_low"], table["value"] - table["conf"])
    np.testing.assert_allclose(table["ci_high"], table["value"] + table["conf"])
    # Only x1 matters: its ST interval covers 1, x2's covers 0; nothing is flagged.
    assert table.loc[(X1, "ST"), "ci_low"] <= 1 <= table.loc[(X1, "ST"), "ci_high"]
    assert table.loc[(X2, "ST"), "ci_low"] <= 0 <= table.loc[(X2, "ST"), "ci_high"]
    assert (result.table["flag"] == "").all()
    assert any("at least 512 are needed" in w for w in result.warnings)  # 64 < 512


def test_a_design_below_the_minimum_is_warned_about_with_the_minimum() -> None:
    assert sens.size_warning(SobolDesign(method="sobol", samples=512), 2048) is None
    small = sens.size_warning(SobolDesign(method="sobol", samples=16), 64)
    assert "16 base samples" in small and "at least 512" in small
    morris = sens.size_warning(MorrisDesign(method="morris", trajectories=4), 12)
    assert "4 trajectories" in morris and "at least 10" in morris
    assert sens.size_warning(MorrisDesign(method="morris", trajectories=10), 30) is None


def test_replication_noise_is_estimated_and_warned_about() -> None:
    sw = _sweep({"method": "morris", "trajectories": 4}, replications=4)
    quiet = sens.sensitivity_indices(sw, _runs(sw, lambda a, b: 5 * a + b / 40))
    assert not any("replication noise" in w for w in quiet.warnings)
    loud = sens.sensitivity_indices(sw, _runs(sw, lambda a, b: 0.01 * a, noise=1.0))
    assert any("replication noise" in w and "fire_on_city" in w for w in loud.warnings)
    assert sens.noise_share(_runs(sw, lambda a, b: 5 * a), "fire_on_city") == 0.0

    single = _sweep({"method": "morris", "trajectories": 4}, replications=1)
    one = sens.sensitivity_indices(single, _runs(single, lambda a, b: a))
    assert any("one replication per point" in w for w in one.warnings)


def test_impossible_values_are_flagged_and_warned_not_clipped(monkeypatch) -> None:
    sw = _sweep({"method": "sobol", "samples": 16})
    crafted = [
        sens.Estimate("S1", np.array([1.03, 0.10]), np.array([0.05, 0.05])),
        sens.Estimate("ST", np.array([0.53, 1.40]), np.array([0.05, 0.10])),
    ]
    monkeypatch.setattr(sens, "_analyse", lambda *args: crafted)
    result = sens.sensitivity_indices(sw, _runs(sw, lambda a, b: a + b))
    table = result.table.set_index(["parameter", "index"])
    assert table.loc[(X1, "ST"), "flag"] == "S1 > ST"
    assert table.loc[(X2, "ST"), "flag"] == "ST > 1"
    assert table.loc[(X1, "S1"), "value"] == 1.03 and table.loc[(X2, "ST"), "value"] == 1.40
    assert any(
        "impossible values" in w and "S1 > ST" in w and "ST > 1" in w for w in result.warnings
    )


@pytest.mark.parametrize(
    ("value", "conf", "s1", "flag"),
    [
        (0.5, 0.1, (0.55, 0.1), ""),  # S1 above ST but within the intervals
        (0.5, 0.1, (0.9, 0.1), "S1 > ST"),
        (1.05, 0.1, None, ""),
        (1.3, 0.1, None, "ST > 1"),
        (-0.3, 0.1, None, "ST < 0"),
    ],
)
def test_flags_only_beyond_the_intervals(value, conf, s1, flag) -> None:
    assert sens._flags("sobol", "ST", value, conf, s1) == flag


def test_an_outcome_that_never_varies_gets_a_note_not_indices() -> None:
    sw = _sweep({"method": "morris", "trajectories": 4})
    result = sens.sensitivity_indices(sw, _runs(sw, lambda a, b: 0 * a))
    assert result.table["value"].isna().all() and (result.table["flag"] == "never varied").all()
    assert set(result.table["index"]) == {"mu", "mu_star", "sigma"}
    assert "never varied" in result.notes["fire_on_city"]


def test_with_common_seeds_the_noise_all_points_share_is_not_counted() -> None:
    sw = _sweep({"method": "morris", "trajectories": 4}, replications=4)
    runs = _runs(sw, lambda a, b: 5 * a)
    luck = np.array([3.0, -2.0, 1.0, -4.0])  # each seed's own luck, the same at every point
    runs["fire_on_city"] += luck[runs["replication"].to_numpy()]
    assert sens.noise_share(runs, "fire_on_city", common_seeds=True) == pytest.approx(0, abs=1e-9)
    assert sens.noise_share(runs, "fire_on_city", common_seeds=False) > 0.2
    assert not any("replication noise" in w for w in sens.sensitivity_indices(sw, runs).warnings)
