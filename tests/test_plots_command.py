"""The ``plot`` command on saved results directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import escalation_sim as es
from escalation_sim.cli import main
from escalation_sim.experiment import ensemble
from escalation_sim.plots.directory import ResultsDirError, result_kind

pytestmark = pytest.mark.filterwarnings("error")

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
RUN_FIGURES = ["escalation_curve", "run_timeline", "theater_map", "withheld_by_rule"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    result = es.run(SCENARIOS / "pre_may30.yaml", seed=4, days=20)
    return es.write_run(result, tmp_path_factory.mktemp("plot") / "run", plot=False)


@pytest.mark.slow  # several seconds: left out of `make test-fast`
def test_plot_draws_every_figure_of_a_run(run_dir):
    assert result_kind(run_dir) == "run"
    res = CliRunner().invoke(main, ["plot", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert "holds a run" in res.output
    for name in RUN_FIGURES:
        path = run_dir / f"{name}.png"
        assert path.stat().st_size > 10_000
        assert str(path) in res.output


@pytest.mark.slow  # several seconds: left out of `make test-fast`
@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_plot_writes_other_formats_elsewhere(run_dir, tmp_path, fmt):
    out = tmp_path / "figures"
    res = CliRunner().invoke(main, ["plot", str(run_dir), "--format", fmt, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{fmt}" for n in RUN_FIGURES)


def test_plot_main_only(run_dir, tmp_path):
    res = CliRunner().invoke(main, ["plot", str(run_dir), "--main-only", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert [p.name for p in tmp_path.iterdir()] == ["escalation_curve.png"]


def test_plot_detects_an_ensemble(tmp_path):
    out = tmp_path / "ens"
    ensemble(SCENARIOS / "pre_may30.yaml", runs=2, days=10, jobs=1, out=out, progress=False)
    res = CliRunner().invoke(main, ["plot", str(out), "--main-only"])
    assert res.exit_code == 0, res.output
    assert "holds an ensemble" in res.output
    assert (out / "fan_chart.png").is_file()


def test_plot_rejects_a_directory_that_holds_no_results(tmp_path):
    res = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert res.exit_code == 2
    assert "no metadata.json" in res.output
    (tmp_path / "metadata.json").write_text(json.dumps({"kind": "mystery"}))
    with pytest.raises(ResultsDirError, match="unknown kind 'mystery'"):
        result_kind(tmp_path)
    res = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert res.exit_code == 2 and "unknown kind" in res.output
    assert "Traceback" not in res.output


def test_plot_reports_a_missing_table(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"kind": "sweep"}))
    res = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert res.exit_code == 2
    assert "experiments.parquet: missing" in res.output


def test_plot_names_every_kind_of_results_in_words():
    from escalation_sim.cli.plot import HOLDS
    from escalation_sim.plots.directory import DRAWERS

    assert set(HOLDS) == set(DRAWERS)
    assert HOLDS["compare"] == "a comparison" and HOLDS["robustness"] == "a robustness check"
    help_text = CliRunner().invoke(main, ["plot", "--help"]).output
    top_help = CliRunner().invoke(main, ["--help"]).output
    for kind in DRAWERS:  # every kind plot draws is named where a user looks first
        assert kind in help_text, kind
        assert kind in " ".join(top_help.split()), kind


def test_plot_says_which_commands_write_results(tmp_path):
    from escalation_sim.plots.directory import DRAWERS

    res = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert res.exit_code == 2
    message = res.output.split("no metadata.json", 1)[1]
    for kind in DRAWERS:
        assert f"'{kind}'" in message or f"escalation-sim {kind}'" in message, kind
