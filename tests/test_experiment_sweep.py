"""Sweeps: file validation with lines, design sizes, runs, outputs, sensitivity, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.errors import ScenarioError
from escalation_sim.experiment import ExperimentInterrupted
from escalation_sim.experiment.store import partial_dir
from escalation_sim.experiment.sweep import SweepResult, expected_points, load_sweep, sweep
from escalation_sim.experiment.sweep.sensitivity import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = SCENARIOS / "sweeps" / "depth_and_risk.yaml"
DEFAULT = SCENARIOS / "may30_kharkiv_counterfire.yaml"


def _spec(**extra):
    spec = {
        "base": str(DEFAULT),
        "days": 10,
        "replications": 2,
        "design": {"method": "grid"},
        "parameters": {
            "actors.RUS.risk_tolerance": {"values": [0.2, 0.8]},
            "weapons.GMLRS.range_km": {"range": [40, 120], "steps": 3},
        },
    }
    spec.update(extra)
    return spec


@pytest.mark.parametrize(
    ("design", "points"),
    [
        ({"method": "grid"}, 2 * 3 * 2),
        ({"method": "lhs", "samples": 7}, 7),
        ({"method": "sobol", "samples": 4}, 4 * (3 + 2)),
        ({"method": "sobol", "samples": 4, "second_order": True}, 4 * (2 * 3 + 2)),
        ({"method": "morris", "trajectories": 3, "levels": 4}, 3 * (3 + 1)),
    ],
)
def test_designs_make_the_expected_number_of_points(design: dict, points: int) -> None:
    params = {
        "actors.RUS.risk_tolerance": {"values": [0.2, 0.8]},
        "weapons.GMLRS.range_km": {"range": [40, 120], "steps": 3},
        "combat.max_strikes_per_step": {"range": [4, 20]},
    }
    sw = load_sweep(_spec(design=design, parameters=params))
    assert sw.design.points == points == expected_points(sw.spec)
    assert sw.runs == points * 2
    assert sw.design.X.shape == (points, 3)
    for values in sw.design.values:
        assert values["actors.RUS.risk_tolerance"] in (0.2, 0.8)
        assert 40 <= values["weapons.GMLRS.range_km"] <= 120
        assert isinstance(values["combat.max_strikes_per_step"], int)  # an int field: rounded
    again = load_sweep(_spec(design=design, parameters=params))
    np.testing.assert_array_equal(sw.design.X, again.design.X)
    if design["method"] == "grid":
        ranges = sorted({v["weapons.GMLRS.range_km"] for v in sw.design.values})
        assert ranges == [40.0, 80.0, 120.0]


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_shipped_sweep_validates_and_runs_with_tiny_replications(tmp_path: Path) -> None:
    sw = load_sweep(SHIPPED)
    assert sw.spec.design.method == "sobol"
    assert sw.design.points == expected_points(sw.spec) == 16 * (3 + 2)
    check = CliRunner().invoke(main, ["sweep", str(SHIPPED), "--check"])
    assert check.exit_code == 0 and "80 points" in check.output

    # The same file made tiny: 2 base samples (10 points), 1 replication, 10 days.
    data = yaml.safe_load(SHIPPED.read_text())
    data.update(base=str((SHIPPED.parent / data["base"]).resolve()), days=10, replications=1)
    data["design"]["samples"] = 2
    small = tmp_path / "tiny.yaml"
    small.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        main, ["sweep", str(small), "--jobs", "1", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "Sensitivity" in result.output and "95% bootstrap intervals" in result.output
    assert "warning: sobol indices from 2 base samples: at least 512 are needed" in result.output

    params = list(data["parameters"])
    experiments = pd.read_parquet(out / "experiments.parquet")
    assert list(experiments.columns) == ["point", "replication", "seed", *params]
    assert len(experiments) == 10
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert list(outcomes.columns[:2]) == ["point", "replication"]
    assert {"fire_on_city", "peak_rung.RUS", "strikes_in_russia.weapon.ATACMS"} <= set(outcomes)
    assert "seed" not in outcomes and "run" not in outcomes
    assert (outcomes[["point", "replication"]] == experiments[["point", "replication"]]).all().all()
    pd.testing.assert_frame_equal(experiments, pd.read_csv(out / "experiments.csv"))
    sens = pd.read_csv(out / "sensitivity.csv")
    assert list(sens.columns) == COLUMNS  # value, conf, ci_low, ci_high, flag, ...
    assert set(sens["index"]) == {"S1", "ST"} and set(sens["parameter"]) == set(params)
    assert set(sens["outcome"]) <= set(data["outcomes"])
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "sweep" and meta["points"] == 10 and meta["runs"] == 10
    assert json.loads((out / "problem.json").read_text())["names"] == params
    resolved = yaml.safe_load((out / "sweep.resolved.yaml").read_text())
    assert resolved["design"] == {
        "method": "sobol",
        "samples": 2,
        "second_order": False,
        "seed": None,
    }
    assert load_sweep(out / "sweep.resolved.yaml").hash == load_sweep(small).hash
    loaded = SweepResult.load(out)
    pd.testing.assert_frame_equal(loaded.experiments, experiments)
    assert len(loaded.table()) == 10 and loaded.sensitivity is not None


def test_latin_hypercube_gets_rbd_fast_indices() -> None:
    spec = _spec(
        days=5,
        replications=1,
        design={"method": "lhs", "samples": 12},
        parameters={
            "actors.RUS.risk_tolerance": {"range": [0.1, 0.9]},
            "weapons.GMLRS.range_km": {"range": [40, 120]},
        },
        # Outcomes that the swept range moves within five days (an outcome that never
        # varies gets no index, by design, and would leave NaN rows here).
        outcomes=["strikes", "strikes_in_russia"],
    )
    result = sweep(spec, jobs=1, progress=False)
    sens = result.sensitivity
    assert set(sens["method"]) == {"rbd_fast"} and set(sens["index"]) == {"S1"}
    assert len(sens) == 2 * 2  # an outcome that never varied keeps rows, without values
    varied = sens[sens["flag"] != "never varied"]
    assert len(varied) and varied["value"].notna().all()
    assert sens.loc[sens["flag"] == "never varied", "value"].isna().all()
    assert len(result.experiments) == 12 and len(result.outcomes) == 12


def test_parameters_reach_the_runs_and_common_seeds_are_shared(tmp_path: Path) -> None:
    spec = _spec(
        replications=2,
        parameters={
            "rules.USA.posture": {"values": ["no_strikes_in_russia", "kharkiv_counterfire"]}
        },
        outcomes=["strikes_in_russia.supplier.USA"],
    )
    result = sweep(spec, jobs=1, progress=False, out=tmp_path / "s")
    ex, oc = result.experiments, result.outcomes
    assert (
        ex["rules.USA.posture"].tolist()
        == ["no_strikes_in_russia"] * 2 + ["kharkiv_counterfire"] * 2
    )
    us = oc["strikes_in_russia.supplier.USA"].to_numpy()
    assert (us[:2] == 0).all() and (us[2:] > 0).all()
    assert ex["seed"].tolist()[:2] == ex["seed"].tolist()[2:]  # common random numbers
    assert result.sensitivity is None  # a grid has no indices
    joined = result.table()
    assert len(joined) == 4 and "rules.USA.posture" in joined and "fire_on_city" in joined

    independent = load_sweep(_spec(seeds="independent", replications=2))
    seeds = independent.seeds()
    assert len(set(seeds)) == len(seeds)


def test_sweep_resume_equals_uninterrupted(tmp_path: Path) -> None:
    spec = _spec(design={"method": "morris", "trajectories": 2}, replications=1)
    seen = []

    def stop(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt

    out = tmp_path / "s"
    with pytest.raises(ExperimentInterrupted):
        sweep(spec, jobs=1, chunk_size=2, out=out, progress=False, on_chunk=stop)
    assert partial_dir(out).is_dir() and not out.exists()
    resumed = sweep(spec, jobs=1, chunk_size=3, out=out, progress=False)
    assert resumed.metadata["resumed_runs"] == 4
    fresh = sweep(spec, jobs=1, out=tmp_path / "f", progress=False)
    for name in ("experiments", "outcomes", "points", "sensitivity"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "f" / f"{name}.parquet"),
            check_exact=True,
        )
    assert set(fresh.sensitivity["index"]) == {"mu", "mu_star", "sigma"}


BAD_FILES = {
    "typo_key": (
        """base: {base}
replications: 1
desing: {{method: grid}}
design: {{method: grid}}
parameters:
  actors.RUS.risk_tolerance: {{values: [0.2]}}
""",
        [(3, "desing", "unknown field 'desing'; did you mean 'design'?")],
    ),
    "unknown_design": (
        """base: {base}
design:
  method: latin
  samples: 4
parameters:
  actors.RUS.risk_tolerance: {{range: [0.1, 0.9]}}
""",
        [(3, "design.method", "unknown design method 'latin'; expected one of: grid, lhs")],
    ),
    "bad_path": (
        """base: {base}
design: {{method: grid}}
parameters:
  actors.RUS.risk_tolerence: {{values: [0.2, 0.5]}}
  weapons.GMLRS.range_km: {{values: [50]}}
""",
        [
            (
                4,
                "parameters.actors.RUS.risk_tolerence",
                "not a field of the base scenario: no field 'risk_tolerence' in actors.RUS; "
                "did you mean 'risk_tolerance'?",
            )
        ],
    ),
    "bad_value": (
        """base: {base}
design: {{method: grid}}
parameters:
  weapons.GMLRS.range_km:
    values:
      - 50
      - -10
  actors.RUS.risk_tolerance: {{range: [0.5, 3], steps: 2}}
""",
        [
            (7, "parameters.weapons.GMLRS.range_km.values.1", "the scenario rejects -10"),
            (8, "parameters.actors.RUS.risk_tolerance.range (high)", "the scenario rejects 3.0"),
        ],
    ),
    "bad_design_field": (
        """base: {base}
design:
  method: sobol
  samples: 12
  second_order: maybe
parameters:
  actors.RUS.risk_tolerance: {{range: [0.1, 0.9]}}
""",
        [
            (4, "design.samples", "samples must be a power of 2 for Sobol' sequences (got 12"),
            (5, "design.second_order", "valid boolean"),
        ],
    ),
    "text_range_and_outcome": (
        """base: {base}
design: {{method: lhs, samples: 4}}
parameters:
  rules.USA.posture: {{range: [1, 2]}}
outcomes: [fire_on_city, harms]
""",
        [
            (4, "parameters.rules.USA.posture.range", "give 'values: [...]' instead of a range"),
            (5, "outcomes.1", "unknown outcome 'harms'; did you mean 'harm'?"),
        ],
    ),
    "missing_base": (
        """base: nowhere.yaml
design: {{method: grid}}
parameters:
  actors.RUS.risk_tolerance: {{values: [0.2]}}
""",
        [(1, "base", "scenario file nowhere.yaml not found")],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_sweep_file_errors_name_file_line_and_field(case: str, tmp_path: Path) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text.format(base=DEFAULT))
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not partial_dir(tmp_path / "out").exists()
    lines = result.output.strip().splitlines()
    for line, field, message in expected:
        prefix = f"error: {path}:{line}: {field}: "
        assert any(ln.startswith(prefix) and message in ln for ln in lines), (prefix, lines)
    with pytest.raises(ScenarioError):
        load_sweep(path)


def test_design_points_the_scenario_rejects_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "combo.yaml"
    path.write_text(
        f"""base: {DEFAULT}
design: {{method: grid}}
parameters:
  rules.USA.postures.kharkiv_counterfire.rules.1.min_depth_km: {{values: [10, 60]}}
  rules.USA.postures.kharkiv_counterfire.rules.1.max_depth_km: {{values: [50, 100]}}
"""
    )
    result = CliRunner().invoke(main, ["sweep", str(path), "--check"])
    assert result.exit_code == 2
    assert f"error: {path}:3: parameters: design point 2" in result.output
    assert "max_depth_km must be >= min_depth_km" in result.output
