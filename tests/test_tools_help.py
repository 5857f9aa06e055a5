"""The maintenance tools answer ``--help`` with their usage and do nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOLS / tool), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("tool", ["golden_outputs.py", "golden_experiments.py"])
def test_golden_tools_show_help_instead_of_running_the_check(tool: str) -> None:
    done = _run(tool, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {tool}") and "--write" in done.stdout
    assert "identical" not in done.stdout and "differ" not in done.stdout  # no check was run
    wrong = _run(tool, "--wirte")
    assert wrong.returncode == 2 and "unrecognized arguments: --wirte" in wrong.stderr


def test_every_option_of_decision_checks_is_explained() -> None:
    done = _run("decision_checks.py", "--help")
    assert done.returncode == 0, done.stderr
    for option in ("--runs", "--jobs", "--out"):
        # The option's line carries its own text (argparse leaves it bare without help=).
        line = re.search(rf"^\s+{option} \S+ +(\S.*)$", done.stdout, re.MULTILINE)
        assert line, f"{option} has no help text:\n{done.stdout}"
    assert "(default: 200)" in done.stdout
    refused = _run("decision_checks.py", "--runs", "0")
    assert refused.returncode == 2 and "--runs: expected at least 1" in refused.stderr
