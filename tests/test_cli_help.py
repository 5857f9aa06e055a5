"""Every command's ``--help`` ends with examples, and the examples use only real options."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from escalation_sim.cli import main

COMMANDS = sorted(main.commands)


def _examples(name: str) -> list[str]:
    """The example command lines at the foot of ``escalation-sim NAME --help``."""
    text = CliRunner().invoke(main, [name, "--help"], terminal_width=200).output
    assert "Examples:" in text, f"{name} --help shows no example"
    foot = text.split("Examples:", 1)[1]
    return [line.strip() for line in foot.splitlines() if line.strip().startswith("escalation-sim")]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_shows_examples_of_itself(name: str) -> None:
    examples = _examples(name)
    assert examples, f"{name} --help: no example line"
    for line in examples:
        assert shlex.split(line)[:2] == ["escalation-sim", name], line


@pytest.mark.parametrize("name", COMMANDS)
def test_examples_use_only_options_the_command_takes(name: str) -> None:
    command = main.commands[name]
    known = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}
    known |= {
        opt for p in command.params if isinstance(p, click.Option) for opt in p.secondary_opts
    }
    for line in _examples(name):
        for token in shlex.split(line)[2:]:
            if token.startswith("-"):
                assert token.split("=", 1)[0] in known, f"{line}: {token} is no option of {name}"
