"""The command line starts fast: help and the file-only commands never load the model stack.

Each check runs the command in a child process, as a user would, and looks at
what it loaded: the heavy libraries (each most of a second to import) are what
would make help or ``validate`` slow. The seconds themselves are measured on
demand by ``benchmarks/bench_cli.py``, not here, so a slow machine cannot fail
the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
#: Modules whose import costs most of a second; none belongs in the start-up of help.
HEAVY = ("mesa", "matplotlib", "pandas", "scipy", "SALib", "numba", "escalation_sim.model")


def loaded_modules(argv: list[str]) -> set[str]:
    """Top-level and package modules loaded by a CLI invocation, run in a child."""
    code = (
        "import json, sys\n"
        "from escalation_sim.cli import main\n"
        "try:\n"
        f"    main.main({argv!r}, prog_name='escalation-sim')\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('\\n@@' + json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    return set(json.loads(proc.stderr.rsplit("@@", 1)[1]))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["run", "--help"],
        ["ensemble", "--help"],
        ["plot", "--help"],
        ["validate", str(SCENARIO)],
        ["schema"],
        ["params"],
    ],
    ids=lambda a: " ".join(a[:2]).replace(str(SCENARIO), "SCENARIO"),
)
def test_start_up_commands_do_not_import_the_model_stack(argv):
    loaded = loaded_modules(argv)
    assert "escalation_sim.cli" in loaded  # the child really ran the command line
    assert heavy_in(loaded) == []


def test_file_only_commands_succeed():
    for argv in (["--version"], ["validate", str(SCENARIO)], ["schema"], ["params"]):
        proc = subprocess.run(
            [sys.executable, "-m", "escalation_sim", *argv],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        assert proc.returncode == 0, (argv, proc.stderr)
        assert proc.stdout.strip(), argv


def test_top_level_help_does_not_truncate_command_descriptions():
    from click.testing import CliRunner

    from escalation_sim.cli import main

    out = CliRunner().invoke(main, ["--help"], terminal_width=80).output
    commands = out.split("Commands:", 1)[1]
    assert "..." not in commands
    for name, cmd in main.commands.items():
        first = cmd.get_short_help_str(limit=10_000)
        assert " ".join(first.split()) in " ".join(commands.split()), name


def test_plot_command_formats_match_the_drawing_code():
    from escalation_sim.cli.plot import FORMATS
    from escalation_sim.plots.directory import FORMATS as DRAWN

    assert tuple(FORMATS) == tuple(DRAWN)
