"""Worked examples at the foot of every command's ``--help``.

A newcomer reads ``escalation-sim run --help`` before the README; an example
shows the shape of a real command line faster than a list of options does.
The examples are the README's own (a test checks that every option they use
is one the command takes).
"""

from __future__ import annotations

import click

#: Command name -> example command lines, each with what it does.
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "validate": (
        ("escalation-sim validate scenarios/*.yaml", "check files"),
        ("escalation-sim validate my_rules.yaml --strict", "warnings are errors too"),
        (
            "escalation-sim validate pre_may30 --set horizon_days=90 "
            "--write-resolved resolved.yaml",
            "a shipped scenario by name, changed, written out whole",
        ),
    ),
    "run": (
        ("escalation-sim run may30_kharkiv_counterfire --seed 1", "a shipped scenario by name"),
        (
            "escalation-sim run my_rules.yaml --seed 6 --days 90 --out results/mine",
            "a file of your own",
        ),
        (
            "escalation-sim run pre_may30 --set rules.USA.posture=deep_strike",
            "one value changed",
        ),
    ),
    "ensemble": (
        (
            "escalation-sim ensemble may30_kharkiv_counterfire --runs 200 --out results/may30-n200",
            "200 runs",
        ),
        (
            "escalation-sim ensemble my_rules.yaml -n 20 --days 30 --jobs 2",
            "a quick look",
        ),
    ),
    "compare": (
        (
            "escalation-sim compare pre_may30 may30_kharkiv_counterfire deep_strike --runs 200",
            "the first is the baseline",
        ),
        (
            "escalation-sim compare may30_kharkiv_counterfire my_rules.yaml -n 50 --outcome harm",
            "one outcome",
        ),
    ),
    "sweep": (
        ("escalation-sim sweep scenarios/sweeps/depth_and_risk.yaml --check", "count the runs"),
        (
            "escalation-sim sweep scenarios/sweeps/depth_and_risk.yaml --out results/sweep-depth",
            "run it",
        ),
    ),
    "robustness": (
        (
            "escalation-sim robustness pre_may30 may30_kharkiv_counterfire --check",
            "validate, count the runs",
        ),
        (
            "escalation-sim robustness pre_may30 may30_kharkiv_counterfire deep_strike "
            "--samples 32 --runs 20 --out results/robustness",
            "run it",
        ),
    ),
    "plot": (
        ("escalation-sim plot results/demo", "every figure, into the folder"),
        (
            "escalation-sim plot results/compare --main-only --format svg --out figures",
            "the main figure only",
        ),
    ),
    "play": (
        (
            "escalation-sim play may30_kharkiv_counterfire --as USA --turn-days 14",
            "you play the US at the terminal",
        ),
        (
            "escalation-sim play may30_kharkiv_counterfire --as USA --as RUS "
            "--moves scenarios/moves/us_and_russia.yaml --out results/game",
            "moves from a file",
        ),
    ),
    "replay": (
        (
            "escalation-sim replay results/game/game.jsonl",
            "rebuild a game, check it; writes results/game-replay",
        ),
    ),
    "app": (
        ("escalation-sim app", "open http://127.0.0.1:8765 in a browser"),
        ("escalation-sim app my_rules.yaml --port 8800", "your scenario first"),
    ),
    "scenarios": (("escalation-sim scenarios", "names to use in place of files"),),
    "schema": (("escalation-sim schema --out scenario.schema.json", "for an editor"),),
    "params": (
        ("escalation-sim params", "every default with its source"),
        ("escalation-sim params --markdown", "the tables of docs/ODD.md"),
    ),
}


def add_examples(group: click.Group) -> None:
    """Put each command's examples at the foot of its ``--help``."""
    for name, examples in EXAMPLES.items():
        command = group.commands[name]
        lines = [f"  {line}\n      ({what})" for line, what in examples]
        # "\b" keeps click from rewrapping the paragraph into one line.
        command.epilog = "\b\nExamples:\n" + "\n".join(lines)
