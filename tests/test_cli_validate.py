"""The `escalation-sim validate` and `schema` commands, in-process and as a real subprocess."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from escalation_sim.cli import main
from escalation_sim.scenario import Scenario, load_scenario, scenario_hash

REPO = Path(__file__).resolve().parents[1]
SCENARIO_DIR = REPO / "scenarios"
SHIPPED = sorted(SCENARIO_DIR.glob("*.yaml"))
DEFAULT_SCENARIO = SCENARIO_DIR / "may30_kharkiv_counterfire.yaml"

MISSPELT = """\
name: Test
start_date: 2024-05-30
horizn_days: 90
"""

UNKNOWN_WEAPON = """\
name: Test
rules:
  USA:
    postures:
      kharkiv_counterfire:
        level: 1
        rules:
          - id: us-x
            effect: allow
            weapons: [GMLRS, HIMARSX]
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text


def test_validate_shipped_scenarios() -> None:
    result = run("validate", *SHIPPED)
    assert result.exit_code == 0, result.output
    ok_lines = [ln for ln in result.stdout.splitlines() if ln.startswith("ok: ")]
    assert len(ok_lines) == len(SHIPPED)
    # Only notes on the rules in force that can hardly bind (tests/test_rule_reach.py).
    assert all(ln.startswith("note: ") for ln in result.stderr.splitlines()), result.stderr
    assert "May-30 Kharkiv counter-fire, 180 days" in result.stdout


def test_validate_bad_file_reports_file_line_field_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MISSPELT, encoding="utf-8")
    result = run("validate", bad)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}:3: horizn_days: unknown field 'horizn_days'")
    assert "did you mean 'horizon_days'?" in lines[0]
    assert_no_traceback(result.output)


def test_validate_several_files_reports_every_bad_one(tmp_path: Path) -> None:
    bad1 = tmp_path / "bad1.yaml"
    bad1.write_text(MISSPELT, encoding="utf-8")
    bad2 = tmp_path / "bad2.yaml"
    bad2.write_text(UNKNOWN_WEAPON, encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    result = run("validate", bad1, DEFAULT_SCENARIO, bad2, missing)
    assert result.exit_code == 2
    assert f"ok: {DEFAULT_SCENARIO}" in result.stdout
    err = result.stderr
    assert f"{bad1}:3: horizn_days: unknown field" in err
    assert (
        f"{bad2}:10: rules.USA.postures.kharkiv_counterfire.rules.0.weapons.1: "
        "unknown weapon 'HIMARSX'" in err
    )
    assert f"{missing}: file not found" in err
    assert len([ln for ln in err.splitlines() if not ln.startswith("note: ")]) == 3
    assert_no_traceback(result.output)


def test_validate_with_set_overrides(tmp_path: Path) -> None:
    out = tmp_path / "resolved.yaml"
    result = run(
        "validate",
        SCENARIO_DIR / "us_widening_schedule.yaml",
        "--set",
        "schedule.0.day=30",
        "--set",
        "horizon_days=120",
        "--write-resolved",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "120 days" in result.stdout
    sc = load_scenario(out)
    assert sc.horizon_days == 120
    assert sc.schedule[0].day == 30


def test_validate_with_bad_set(tmp_path: Path) -> None:
    result = run("validate", DEFAULT_SCENARIO, "--set", "horizon_days")
    assert result.exit_code == 2
    assert "error: --set: horizon_days: expected KEY.PATH=VALUE, got 'horizon_days'" in (
        result.stderr
    )
    assert_no_traceback(result.output)

    result = run("validate", DEFAULT_SCENARIO, "--set", "schedule.0.day=5")
    assert result.exit_code == 2
    assert "--set: schedule.0: no such item: the list is empty" in result.stderr

    result = run("validate", DEFAULT_SCENARIO, "--set", "horizon_days=-4")
    assert result.exit_code == 2
    assert "--set horizon_days: horizon_days: Input should be greater than 0" in result.stderr


def test_write_resolved_writes_a_file_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "resolved.yaml"
    result = run("validate", SCENARIO_DIR / "us_widening_schedule.yaml", "--write-resolved", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert "extends" not in text
    again = run("validate", out)
    assert again.exit_code == 0, again.output
    original = load_scenario(SCENARIO_DIR / "us_widening_schedule.yaml")
    resolved = load_scenario(out)
    assert resolved == original
    assert scenario_hash(resolved) == scenario_hash(original)


def test_write_resolved_takes_one_file(tmp_path: Path) -> None:
    out = tmp_path / "resolved.yaml"
    result = run("validate", *SHIPPED[:2], "--write-resolved", out)
    assert result.exit_code == 2
    assert "--write-resolved takes exactly one scenario file" in result.stderr
    assert not out.exists()
    assert_no_traceback(result.output)


def test_validate_needs_a_file() -> None:
    result = run("validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_schema_prints_json_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert set(Scenario.model_fields) <= set(schema["properties"])
    for field in ("name", "start_date", "horizon_days", "rules", "schedule", "ladder", "weapons"):
        assert field in schema["properties"]
    assert schema.get("additionalProperties") is False
    assert "RuleSpec" in schema["$defs"]


def test_schema_out_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "scenario.schema.json"
    result = run("schema", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    schema = json.loads(out.read_text(encoding="utf-8"))
    assert "horizon_days" in schema["properties"]


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "validate" in result.stdout
    assert "schema" in result.stdout


# --- as a real process ------------------------------------------------------------

PROBLEM_LINE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+): (?P<field>[\w.]+): (?P<msg>.+)$")


def run_module(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "escalation_sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_python_m_validate_bad_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(UNKNOWN_WEAPON, encoding="utf-8")
    proc = run_module("validate", "bad.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    match = PROBLEM_LINE.match(proc.stderr.strip())
    assert match, proc.stderr
    assert match["file"] == "bad.yaml"
    assert match["line"] == "10"
    assert match["field"] == "rules.USA.postures.kharkiv_counterfire.rules.0.weapons.1"
    assert "unknown weapon 'HIMARSX'; expected one of:" in match["msg"]


UNUSABLE = {
    "syntax.yaml": ("name: Test\nrules: {USA: {posture: x}\n", "syntax.yaml:3: not valid YAML"),
    "empty.yaml": ("", "empty.yaml: the file is empty"),
    "list.yaml": ("- a\n- b\n", "list.yaml:1: expected a mapping"),
    "circular.yaml": (
        "name: Test\nextends: circular.yaml\n",
        "circular.yaml:2: extends: circular 'extends'",
    ),
}


def test_python_m_validate_unusable_files(tmp_path: Path) -> None:
    for name, (text, _) in UNUSABLE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = run_module("validate", *UNUSABLE, "missing.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout == ""
    errors = proc.stderr.splitlines()
    assert len(errors) == len(UNUSABLE) + 1, proc.stderr
    for _, expected in UNUSABLE.values():
        assert any(line.startswith(f"error: {expected}") for line in errors), expected
    assert any(line.startswith("error: missing.yaml: file not found") for line in errors)


def test_python_m_validate_shipped_scenarios() -> None:
    proc = run_module("validate", *SHIPPED, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok: ") == len(SHIPPED)


def test_escalation_sim_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "escalation-sim"
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    (tmp_path / "bad.yaml").write_text(
        textwrap.dedent(
            """\
            name: Test
            weapons:
              GMLRS: {range_km: 0}
            """
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [str(script), "validate", "bad.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "error: bad.yaml:3: weapons.GMLRS.range_km: Input should be greater than 0" in (
        proc.stderr
    )


# --- the README's examples stay true -----------------------------------------------

README = REPO / "README.md"


def readme_blocks(kind: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{kind}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_opens_with_make_demo_and_make_test() -> None:
    head = README.read_text(encoding="utf-8").splitlines()[:15]
    start = head.index("```sh")
    assert head[start + 1 : start + 4] == ["make demo", "make test", "```"]


def test_readme_annotated_example_validates(tmp_path: Path) -> None:
    (example,) = [b for b in readme_blocks("yaml") if b.startswith("# scenarios/my_rules.yaml")]
    for path in SHIPPED:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    target = tmp_path / "my_rules.yaml"
    target.write_text(example, encoding="utf-8")
    sc = load_scenario(target)
    assert sc.rules["USA"].posture == "kharkiv_plus"
    assert "ru_artillery_kursk" not in sc.forces  # the null deletion
    assert sc.weapons["ATACMS"].range_km == 300  # the inherited rest of ATACMS
    assert [c.day for c in sc.schedule] == [30, 90]


def test_readme_field_table_lists_every_top_level_field() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("The top-level fields") : text.index("### Overrides with `--set`")]
    listed = set(re.findall(r"`(\w+)`", table))
    missing = set(Scenario.model_fields) - listed
    assert not missing, f"README.md's table of top-level fields lacks {sorted(missing)}"


def test_readme_validation_output_is_what_validate_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replays README.md's `console` blocks; update the README when this fails."""
    text = README.read_text(encoding="utf-8")
    numbered = text[text.index("With this file as `scenarios/my_rules.yaml`:") :]
    (listing,) = re.findall(r"^```text\n(.*?)^```", numbered, flags=re.MULTILINE | re.DOTALL)[:1]
    my_rules = "".join(re.sub(r"^\s*\d+  ?", "", ln) + "\n" for ln in listing.splitlines())
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for path in SHIPPED:
        (scenarios / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (scenarios / "my_rules.yaml").write_text(my_rules, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    blocks = readme_blocks("console")
    assert len(blocks) >= 3
    replayed = 0
    for i, block in enumerate(blocks):
        if i == 1:  # "After fixing those two"
            fixed = my_rules.replace("rnage_km", "range_km").replace(
                "purpose: counterfire", "purpose: counter_fire"
            )
            (scenarios / "my_rules.yaml").write_text(fixed, encoding="utf-8")
        commands = re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]
        for chunk in commands:
            command, *expected = chunk.rstrip("\n").split("\n")
            args = shlex.split(command)
            if args[0] == "cat":
                Path(args[1]).write_text("\n".join(expected) + "\n", encoding="utf-8")
                continue
            assert args[0] == "escalation-sim"
            result = CliRunner().invoke(main, args[1:])
            assert result.output.splitlines() == expected, f"README.md, $ {command}"
            replayed += 1
    assert replayed >= 5


def test_readme_rule_example_prints_what_it_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Rule semantics") : text.index("## Validation")]
    (code,) = re.findall(r"^```python\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    (shown,) = re.findall(r"^```text\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    monkeypatch.chdir(REPO)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown


# --- outputs, seeds and options (issue 14 items 5 and 12, issue 12 items 3 and 7) -----------


def test_write_resolved_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text("name: Parent\nhorizon_days: 40\n", encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("name: Child\nextends: parent.yaml\n", encoding="utf-8")
    before = parent.read_bytes(), child.read_bytes()
    for target in (child, parent):
        result = run("validate", child, "--write-resolved", target)
        assert result.exit_code == 2
        assert f"--write-resolved: {target} is an input of this command" in result.stderr
        assert_no_traceback(result.output)
    assert (parent.read_bytes(), child.read_bytes()) == before


@pytest.mark.parametrize("command", ["validate", "schema"])
def test_output_files_refuse_directories_and_leave_nothing_behind(
    tmp_path: Path, command: str
) -> None:
    args = (
        ["validate", DEFAULT_SCENARIO, "--write-resolved"]
        if command == "validate"
        else [
            "schema",
            "--out",
        ]
    )
    option = args[-1]
    result = run(*args, tmp_path)
    assert result.exit_code == 2
    assert f"error: {option}: {tmp_path} is a directory; expected a file name" in result.stderr
    under_a_file = tmp_path / "f.txt"
    under_a_file.write_text("keep\n", encoding="utf-8")
    result = run(*args, under_a_file / "x")
    assert result.exit_code == 2
    assert "is not a folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]  # no temporary left
    assert_no_traceback(result.output)


def test_output_files_are_replaced_atomically_with_the_umask(tmp_path: Path) -> None:
    import os

    out = tmp_path / "schema.json"
    old = os.umask(0o022)
    try:
        assert run("schema", "--out", out).exit_code == 0
    finally:
        os.umask(old)
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    json.loads(out.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]


def test_seed_is_checked_alike(tmp_path: Path) -> None:
    """run takes the same seed rule as the experiment commands (0..2^63-1, a usage error)."""
    from escalation_sim.experiment.seeds import SEED_MAX, check_seed

    for bad in ("-1", str(SEED_MAX + 1)):
        for command in (["run", DEFAULT_SCENARIO], ["ensemble", DEFAULT_SCENARIO, "--runs", "1"]):
            result = run(*command, "--seed", bad, "--out", tmp_path / "r")
            assert result.exit_code == 2, (command, bad)
            assert "'--seed'" in result.stderr and "Traceback" not in result.output
            assert not (tmp_path / "r").exists()
    # One rule for every command and function (the CLI's --seed option wraps it).
    assert check_seed(0) == 0 and check_seed(SEED_MAX) == SEED_MAX
    for bad in (-1, SEED_MAX + 1, True, 1.5):
        with pytest.raises(ValueError, match="integer from 0"):
            check_seed(bad)


def test_run_checks_out_before_running(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = run("run", DEFAULT_SCENARIO, "--out", blocker / "sub")
    assert result.exit_code == 2
    assert (
        f"error: --out: cannot create {blocker / 'sub'}: {blocker} is not a folder" in result.stderr
    )
    assert "Peak rung" not in result.output  # nothing was run
    result = run("run", DEFAULT_SCENARIO, "--out", blocker, "--force")
    assert result.exit_code == 2
    # Refused before the run, by whichever output check comes first (a file is no result dir).
    assert result.stderr.startswith("error: ") and str(blocker) in result.stderr
    assert "is a file" in result.stderr or "not an output directory" in result.stderr
    assert "Peak rung" not in result.output
    assert blocker.read_text(encoding="utf-8") == "x"


def test_days_errors_name_the_days_option() -> None:
    result = run("run", DEFAULT_SCENARIO, "--days", "4000")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --days: horizon_days: Input should be less than or equal to 3650 (got 4000)"
    ]


def test_days_before_a_scheduled_change_says_how_many_days_it_needs(tmp_path: Path) -> None:
    """`run us_widening_schedule --days 30`: the change on day 60 is why, and --days says so."""
    result = run("run", "us_widening_schedule", "--days", "30", "--out", tmp_path / "r")
    assert result.exit_code == 2
    (error,) = result.stderr.splitlines()
    assert "schedule.0.day: day 60 is outside the horizon (0..30)" in error
    assert "--days 30 set the horizon" in error
    assert "--days 60 or more" in error
    assert not (tmp_path / "r").exists()


def test_params_lists_every_catalogue() -> None:
    result = run("params")
    assert result.exit_code == 0
    out = result.stdout
    for heading in ("Parameters", "Actors", "Weapons", "Forces", "Theater", "Places"):
        assert any(line.startswith(heading) for line in out.splitlines()), heading
    sc = load_scenario(DEFAULT_SCENARIO)
    rus = next(line for line in out.splitlines() if line.startswith("RUS "))
    assert str(sc.actors["RUS"].risk_tolerance) in rus and f" {sc.actors['RUS'].start_rung} " in rus
    for wid in sc.weapons:
        assert any(line.startswith(wid + " ") for line in out.splitlines()), wid
    for gid in sc.forces:
        assert any(line.startswith(gid + " ") for line in out.splitlines()), gid
    for zid in sc.theater.zones:
        assert any(line.startswith(zid + " ") for line in out.splitlines()), zid


@pytest.mark.parametrize(
    ("entry", "meant"),
    [
        ("weapons:\n  ATACM: {stock: 30}\n", ("weapons.ATACM", "'ATACMS'")),
        ("actors:\n  RU: {risk_tolerance: 0.5}\n", ("actors.RU", "'RUS'")),
        (
            "forces:\n  ru_artilery_kursk: {count: 3}\n",
            ("forces.ru_artilery_kursk", "'ru_artillery_kursk'"),
        ),
        ("rules:\n  US: {posture: deep_strike}\n", ("rules.US", "'USA'")),
    ],
)
def test_a_misspelt_catalogue_id_is_named_as_a_new_entry_with_the_id_meant(
    tmp_path: Path, entry: str, meant: tuple[str, str]
) -> None:
    """A typo in an id makes a new entry, whose missing fields would hide the typo."""
    path = tmp_path / "typo.yaml"
    path.write_text(f"name: Typo\nextends: may30_kharkiv_counterfire\n{entry}")
    result = run("validate", path)
    assert result.exit_code == 2
    field, guess = meant
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output  # one line for the entry, not one per missing field
    assert errors[0].startswith(f"error: {path}:4: {field}: ")
    assert f"did you mean {guess}?" in errors[0]
    assert "new entry" in errors[0] and "required" in errors[0]
    assert_no_traceback(result.output)


@pytest.mark.parametrize(("text", "extends"), [("", False), ("name: Mine\nextends: may30\n", True)])
def test_a_name_that_is_neither_a_file_nor_a_shipped_scenario_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, extends: bool
) -> None:
    """`run may30` or `extends: may30`: the message names the shipped scenario meant."""
    monkeypatch.chdir(tmp_path)
    if extends:
        Path("mine.yaml").write_text(text)
    result = run("validate", "mine.yaml" if extends else "may30")
    assert result.exit_code == 2
    assert_no_traceback(result.output)
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("error: mine.yaml:2: extends: " if extends else "error: may30: ")
    assert "not found" in error
    assert "no shipped scenario is called 'may30'" in error
    assert "did you mean 'may30_kharkiv_counterfire'?" in error
    assert "escalation-sim scenarios" in error
