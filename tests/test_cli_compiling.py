"""A machine's first run compiles the kernels first, saying so; a warm cache says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.model import kernels

MAY30 = "scenarios/may30_kharkiv_counterfire.yaml"


def test_the_cache_is_cold_until_warm_up_has_run(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kernels, "enabled", lambda: True)
    monkeypatch.setattr(kernels, "cache_dir", lambda: tmp_path / "kernels-x")
    assert kernels.cache_is_cold()  # the folder does not even exist
    # A run's own kernels, compiled one by one, leave the rest to compile: still cold.
    index = tmp_path / "kernels-x" / "kernels_abc" / "fire.russian_fire-1.py312.nbi"
    index.parent.mkdir(parents=True)
    index.write_bytes(b"")
    assert kernels.cache_is_cold()
    (tmp_path / "kernels-x" / kernels.WARMED).touch()
    assert not kernels.cache_is_cold()


def test_warm_up_marks_the_cache_warm(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kernels, "cache_dir", lambda: tmp_path)
    kernels.warm_up(days=1)  # the kernels load from this checkout's cache: seconds
    assert (tmp_path / kernels.WARMED).exists() == kernels.enabled()


def test_with_the_kernels_off_nothing_is_cold(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kernels, "cache_dir", lambda: tmp_path / "empty")
    with kernels.disabled():
        assert not kernels.cache_is_cold()


@pytest.fixture
def warm_ups(monkeypatch) -> list[int]:
    """A cold cache, with warm_up recorded instead of compiling."""
    calls: list[int] = []
    monkeypatch.setattr(kernels, "cache_is_cold", lambda: not calls)
    monkeypatch.setattr(kernels, "warm_up", lambda: calls.append(1) or 3.0)
    return calls


def test_run_on_a_cold_cache_compiles_first_and_says_so(warm_ups, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", MAY30, "--days", "2", "--no-plot", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert warm_ups == [1]
    assert "compiling the model's kernels for this machine: once" in result.stderr
    assert "compiled in 3 s" in result.stderr
    again = CliRunner().invoke(main, [*args[:-2], "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert warm_ups == [1] and "compiling" not in again.stderr  # warm now: not a word


def test_a_bad_scenario_is_refused_before_any_compiling(warm_ups, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon_days: ten\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert warm_ups == [] and "compiling" not in result.stderr


def test_an_ensemble_compiles_in_its_own_process_before_the_runs(warm_ups, tmp_path: Path) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", MAY30, "--runs", "2", "--days", "2", "--jobs", "1", "--no-plot"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert warm_ups == [1]
    err = result.stderr
    assert err.index("compiling the model's kernels") < err.index("2 runs of")


def test_a_first_run_through_the_api_compiles_first_and_says_so(warm_ups, capsys) -> None:
    from escalation_sim import api

    api.run(MAY30, seed=1, days=2)
    assert warm_ups == [1]
    assert "compiling the model's kernels for this machine" in capsys.readouterr().err
    api.run(MAY30, seed=1, days=2)
    assert warm_ups == [1] and "compiling" not in capsys.readouterr().err
