"""The hostile-input corpus: absurd and malicious inputs get one clear error, fast and small.

Every case, a file under ``tests/hostile/`` or an input generated here (FIFOs,
devices, symlink loops, oversized files, absurd options), must end with exit
status 2 and ``error:`` lines that name the file (or option) and the field,
with no traceback, in under 5 s of CPU time (a wall-clock alarm catches hangs)
and under 500 MB. The cases run in one child process
(``tests/hostile/_runner.py``) that caps its own address space, so a case that escapes the bounds fails here instead of taking the machine down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile"
REPO = HERE.parent
SCENARIO = REPO / "scenarios" / "may30_kharkiv_counterfire.yaml"

MAX_SECONDS = 5.0
MAX_MB = 500.0

#: Each corpus file and the field its message must name ("" where the problem is the file).
FILES = {
    "billion_laughs.yaml": "too much data",
    "alias_bomb_in_field.yaml": "too much data",
    "recursive_alias.yaml": "description",
    "range_inf.yaml": "weapons.GMLRS.range_km",
    "release_depth_nan.yaml": "forces.ru_airbases.fire.release_depth_km",
    "extent_1e308.yaml": "theater.x_extent_km",
    "zone_bounds_nan.yaml": "theater.zones.kharkiv_oblast.x_km",
    "salvoes_1e30.yaml": "fire.salvoes_per_step",
    "count_1e30.yaml": "forces.ru_artillery_belgorod.count",
    "count_1e9.yaml": "forces.ru_artillery_belgorod.count",
    "count_1e6.yaml": "forces.ru_artillery_belgorod.count",
    "count_float.yaml": "forces.ru_artillery_belgorod.count",
    "many_units.yaml": "units in all; at most 20,000",
    "start_date_9999.yaml": "start_date",
    "cell_km_tiny.yaml": "theater.cell_km",
    "cell_km_inf.yaml": "theater.cell_km",
    "reach_pairs.yaml": "reach pairs",
    "step_days_tiny.yaml": "step_days",
    "steps_too_many.yaml": "step_days",
    "stock_inf.yaml": "weapons.GMLRS.stock",
    "civilian_harm_inf.yaml": "weapons.KAB.civilian_harm",
    "horizon_string.yaml": "horizon_days",
    "horizon_bool.yaml": "horizon_days",
    "probability_string.yaml": "weapons.GMLRS.interception_chance",
    "extends_etc_shadow.yaml": "extends",
    "extends_dotdot.yaml": "extends",
    "extends_self.yaml": "extends",
    "max_strikes_huge.yaml": "combat.max_strikes_per_step",
    "top_level_list.yaml": "expected a mapping",
    "null_byte_name.yaml": "extends",
}


def _generated(tmp: Path) -> list[dict[str, object]]:
    """Inputs that cannot be checked in as files, and command-line attacks."""
    cases: list[dict[str, object]] = []

    def add(case_id: str, argv: list[str], names: str, field: str = "") -> None:
        cases.append({"id": case_id, "argv": argv, "cwd": str(tmp), "names": names, "field": field})

    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    add("fifo", ["validate", str(fifo)], str(fifo), "FIFO")
    add("dev-zero", ["validate", "/dev/zero"], "/dev/zero", "device")
    (tmp / "zero.yaml").symlink_to("/dev/zero")
    add("symlink-to-dev-zero", ["validate", str(tmp / "zero.yaml")], "zero.yaml", "device")
    (tmp / "loop_a.yaml").symlink_to(tmp / "loop_b.yaml")
    (tmp / "loop_b.yaml").symlink_to(tmp / "loop_a.yaml")
    add("symlink-loop", ["validate", str(tmp / "loop_a.yaml")], "loop_a.yaml")
    (tmp / "extends_loop.yaml").write_text("name: x\nextends: loop_a.yaml\n", encoding="utf-8")
    add("extends-symlink-loop", ["validate", "extends_loop.yaml"], "extends_loop.yaml", "extends")
    (tmp / "extends_fifo.yaml").write_text("name: x\nextends: fifo.yaml\n", encoding="utf-8")
    add("extends-a-fifo", ["validate", "extends_fifo.yaml"], "extends_fifo.yaml", "extends")
    (tmp / "extends_zero.yaml").write_text("name: x\nextends: zero.yaml\n", encoding="utf-8")
    add("extends-dev-zero", ["validate", "extends_zero.yaml"], "extends_zero.yaml", "extends")
    (tmp / "folder.yaml").mkdir()
    add("a-directory", ["validate", "folder.yaml"], "folder.yaml", "directory")

    big = tmp / "big_string.yaml"
    big.write_text("name: x\ndescription: '" + "a" * (2 * 1024 * 1024) + "'\n", encoding="utf-8")
    add("2-MiB-string", ["validate", str(big)], "big_string.yaml", "too large")
    flat = tmp / "flat_list.yaml"
    flat.write_text("name: x\ntarget_classes: [" + ",".join(["a"] * 400_000) + "]\n")
    add("400k-item-list", ["validate", str(flat)], "flat_list.yaml", "too much data")
    groups = tmp / "many_groups.yaml"
    lines = ["name: x", "forces:"]
    lines += [f"  g{i}: {{owner: RUS, count: 1}}" for i in range(25_000)]
    groups.write_text("\n".join(lines) + "\n", encoding="utf-8")
    add("25k-force-groups", ["validate", str(groups)], "many_groups.yaml", "too much data")
    some = tmp / "2k_groups.yaml"
    lines = ["name: x", "forces:"]
    lines += [f"  g{i}: {{owner: RUS, count: 1}}" for i in range(2_000)]
    some.write_text("\n".join(lines) + "\n", encoding="utf-8")
    add("2k-force-groups", ["validate", str(some)], "2k_groups.yaml", "entries; at most 1,000")
    (tmp / "binary.yaml").write_bytes(bytes(range(256)) * 64)
    add("binary-garbage", ["validate", "binary.yaml"], "binary.yaml")
    (tmp / "latin1.yaml").write_bytes("name: Kharkiv caf\xe9\n".encode("latin-1"))
    add("not-utf8", ["validate", "latin1.yaml"], "latin1.yaml", "UTF-8")
    (tmp / "passwd_like.yaml").write_text(
        "".join(f"user{i}:x:{i}:{i}:secret-{i}:/home/u{i}:/bin/sh::\n" for i in range(20)),
        encoding="utf-8",
    )
    add("not-a-scenario", ["validate", "passwd_like.yaml"], "passwd_like.yaml", "not a scenario")
    sweep = tmp / "sweep_bomb.yaml"
    sweep.write_text((CORPUS / "billion_laughs.yaml").read_text(encoding="utf-8"))
    add("sweep-alias-bomb", ["sweep", str(sweep), "--check"], "sweep_bomb.yaml", "too much data")

    scenario = str(SCENARIO)
    add(
        "set-20000-parts", ["validate", scenario, "--set", ".".join(["a"] * 20_000) + "=1"], "--set"
    )
    bomb = (CORPUS / "billion_laughs.yaml").read_text(encoding="utf-8").replace("name:", "n:")
    add("set-alias-bomb", ["validate", scenario, "--set", "description=" + bomb], "--set")
    add(
        "set-inf",
        ["validate", scenario, "--set", "weapons.GMLRS.range_km=.inf"],
        "--set",
        "range_km",
    )
    add(
        "set-string-number",
        ["validate", scenario, "--set", "horizon_days='10'"],
        "--set",
        "horizon_days",
    )
    add("run-seed-minus-one", ["run", scenario, "--seed", "-1"], "--seed")
    add(
        "run-days-4000",
        ["run", scenario, "--days", "4000", "--out", str(tmp / "r")],
        "--days",
        "horizon_days",
    )
    add("run-out-under-a-file", ["run", scenario, "--out", "/etc/passwd/x"], "--out", "/etc/passwd")
    add("run-out-in-proc", ["run", scenario, "--out", "/proc/escalation-sim-x"], "--out", "/proc")
    own = tmp / "own.yaml"
    own.write_text("name: Own\nhorizon_days: 10\n", encoding="utf-8")
    add(
        "write-resolved-over-input",
        ["validate", str(own), "--write-resolved", str(own)],
        "--write-resolved",
        "input",
    )
    add(
        "write-resolved-a-directory",
        ["validate", str(own), "--write-resolved", str(tmp)],
        "--write-resolved",
        "directory",
    )
    add("schema-out-a-directory", ["schema", "--out", str(tmp)], "--out", "directory")
    add(
        "schema-out-under-a-file", ["schema", "--out", str(own / "x.json")], "--out", "not a folder"
    )
    return cases


def test_every_hostile_input_gets_one_clean_error_fast_and_small(tmp_path: Path) -> None:
    cases: list[dict[str, object]] = [
        {"id": name, "argv": ["validate", name], "cwd": str(CORPUS), "names": name, "field": field}
        for name, field in FILES.items()
    ]
    cases += _generated(tmp_path)
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(FILES), "corpus and table differ"
    assert len(cases) >= 30
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps([{k: c[k] for k in ("id", "argv", "cwd")} for c in cases]))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(CORPUS / "_runner.py"), str(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["id"]: r for r in json.loads(proc.stdout)}
    failures = []
    for case in cases:
        r = results[case["id"]]
        err = r["stderr"]
        lines = [ln for ln in err.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith(("error: ", "Error: "))]
        problems = []
        if r["escaped"] is not None:
            problems.append(f"raised {r['escaped']}")
        if r["exit_code"] != 2:
            problems.append(f"exit {r['exit_code']}")
        if "Traceback" in err:
            problems.append("traceback")
        if not errors or len(errors) > 3:
            problems.append(f"{len(errors)} error lines")
        if case["names"] not in err:
            problems.append(f"does not name {case['names']!r}")
        if case["field"] and case["field"] not in err:
            problems.append(f"does not name {case['field']!r}")
        # CPU time, not wall time: a loaded CI machine stretches the wall clock
        # of a fast case; a real hang is caught by the runner's wall-clock alarm.
        if r["cpu_seconds"] >= MAX_SECONDS:
            problems.append(f"took {r['cpu_seconds']:.1f} s of CPU ({r['seconds']:.1f} s wall)")
        if r["peak_mb_above_start"] >= MAX_MB:
            problems.append(f"peak {r['peak_mb_above_start']:.0f} MB")
        if problems:
            failures.append(f"{case['id']}: {', '.join(problems)}\n    {err[:300]!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["extends_etc_shadow.yaml", "passwd_like"])
def test_errors_never_echo_a_foreign_file(tmp_path: Path, name: str) -> None:
    """A file that is not a scenario is refused without showing any of its content."""
    from click.testing import CliRunner

    from escalation_sim.cli import main

    if name == "passwd_like":
        target = tmp_path / "passwd_like.yaml"
        target.write_text("root:x:0:0:TOPSECRET:/root:/bin/sh::\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["validate", str(target)])
        assert "TOPSECRET" not in result.output
    else:
        result = CliRunner().invoke(main, ["validate", str(CORPUS / name)])
        assert "root:" not in result.output
    assert result.exit_code == 2


def _runner_module(monkeypatch: pytest.MonkeyPatch, cpu_s: float, wall_s: float):
    import importlib.util

    spec = importlib.util.spec_from_file_location("hostile_runner", CORPUS / "_runner.py")
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    monkeypatch.setattr(runner, "CPU_ALARM_S", cpu_s)
    monkeypatch.setattr(runner, "WALL_ALARM_S", wall_s)
    return runner


def test_the_runner_stops_a_spinning_case_and_a_blocked_one(monkeypatch: pytest.MonkeyPatch):
    import time

    runner = _runner_module(monkeypatch, cpu_s=0.2, wall_s=30.0)

    def spin() -> None:
        while True:
            pass

    def swallow_everything() -> None:  # a command catching every Exception still stops
        try:
            spin()
        except Exception:
            return

    assert runner.run_limited(spin) == (None, "CPU time")
    assert runner.run_limited(swallow_everything) == (None, "CPU time")
    runner = _runner_module(monkeypatch, cpu_s=30.0, wall_s=0.3)
    start = time.monotonic()
    assert runner.run_limited(lambda: time.sleep(20)) == (None, "wall time")
    assert time.monotonic() - start < 10
    assert runner.run_limited(lambda: 42) == (42, None)  # a quick case keeps its value
    time.sleep(0.5)  # and no alarm is left armed behind it
