"""Every command's ``--help`` ends with examples, and the examples use only real options."""

from __future__ import annotations

import re
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


def _help(name: str) -> str:
    """``escalation-sim NAME --help`` without its examples."""
    text = CliRunner().invoke(main, [name, "--help"], terminal_width=200).output
    return text.split("Examples:", 1)[0]


def _option(name: str, opt: str) -> click.Option | None:
    return next(
        (p for p in main.commands[name].params if isinstance(p, click.Option) and opt in p.opts),
        None,
    )


@pytest.mark.parametrize("name", [n for n in COMMANDS if _option(n, "--out") is not None])
def test_every_out_is_a_dir_with_its_default_or_a_file(name: str) -> None:
    out = _option(name, "--out")
    assert out is not None
    assert out.metavar in ("DIR", "FILE"), f"{name} --out shows {out.metavar or 'PATH'}"
    if out.metavar == "DIR":  # a command that writes results says where without being told
        assert not out.required, f"{name} --out is required"
        assert "[default: " in (out.help or "") or out.show_default, f"{name} --out: no default"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_names_only_placeholders_it_shows(name: str) -> None:
    text = _help(name)
    shown = {p.metavar for p in main.commands[name].params if isinstance(p, click.Option)}
    for word in ("DIR", "FILE"):
        if re.search(rf"\b{word}\b", text):
            assert word in shown, f"{name} --help speaks of {word} but no option takes one"


@pytest.mark.parametrize("name", [n for n in COMMANDS if _option(n, "--days") is not None])
def test_every_days_option_gives_its_unit(name: str) -> None:
    days = _option(name, "--days")
    assert days is not None and "(days)" in (days.help or ""), f"{name} --days: {days.help!r}"
