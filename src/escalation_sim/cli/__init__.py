"""The ``escalation-sim`` command line: thin wrappers over the public API.

Every command reports bad input as ``file:line: field: message`` lines on
standard error and exits with status 2, without a traceback.

Start-up is kept cheap: this module and the command modules import only
click and the package's error types at the top; each command imports the
scenario layer, the model, pandas or matplotlib inside its body, so
``--help``, ``--version``, ``validate``, ``schema`` and ``params`` never load
Mesa or matplotlib (``tests/test_cli_startup.py`` checks it).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from escalation_sim import __version__
from escalation_sim.cli.options import result_dir_options
from escalation_sim.cli.seeds import seed_option
from escalation_sim.errors import ScenarioError

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def reports_input_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a :class:`ScenarioError` into clean messages and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScenarioError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(EXIT_INPUT)

    return wrapper


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a scenario value (repeatable), e.g. --set rules.USA.posture=deep_strike.",
)
extends_root_option = click.option(
    "--extends-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Let 'extends:' name files anywhere under DIR [default: the scenario's own folder].",
)


class _FullHelpGroup(click.Group):
    """A command group whose help lists each command's first sentence whole, wrapped.

    Click cuts descriptions to the terminal width with "..."; a reader scanning
    the list of commands should not have to guess how a sentence ends.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the commands section: name and whole first sentence, wrapped."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; Ctrl-C stops it with status 130 (click would say "Aborted!", 1).

        The experiments catch Ctrl-C themselves (they keep the finished runs); a
        command's output directory is written whole or not at all, so there is
        nothing more to say here.
        """
        try:
            return self._invoke_interruptible(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)

    def _invoke_interruptible(self, ctx: click.Context) -> Any:
        """Run the command; Ctrl-C inside a compiled kernel stops it as Ctrl-C does elsewhere."""
        try:
            return super().invoke(ctx)
        except SystemError as exc:
            from escalation_sim.model.kernels import is_interrupt

            if is_interrupt(exc):
                raise KeyboardInterrupt from None
            raise


@click.group(cls=_FullHelpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="escalation-sim")
def main() -> None:
    """Simulate counter-fire and escalation under weapons-use rule sets."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@set_option
@click.option(
    "--write-resolved",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the resolved scenario (defaults merged) to this file; one input only.",
)
@extends_root_option
@click.option(
    "--strict", is_flag=True, help="Treat warnings (settings that can never matter) as errors."
)
@reports_input_errors
def validate(
    files: tuple[Path, ...],
    overrides: tuple[str, ...],
    write_resolved: Path | None,
    extends_root: Path | None,
    strict: bool,
) -> None:
    """Check scenario FILES (paths, or names of shipped scenarios) for problems.

    Prints each problem with its file, line and field, and exits with status 2
    if any file is invalid. Warns (status 0, or 2 with --strict) about
    settings that can never change a run: rules no strike can meet, postures
    never in force, conditions that never hold, scheduled changes that change
    nothing, option gates other gates override. Notes (never errors) the
    rules in force, the package defaults' included, that can never or can
    hardly bind.
    """
    from escalation_sim.cli.options import check_output_file, write_text_atomic
    from escalation_sim.scenario import scenario_to_yaml
    from escalation_sim.scenario.loader import (
        load_scenario_located,
        scenario_notes,
        scenario_warnings,
    )

    if write_resolved is not None and len(files) != 1:
        raise click.UsageError("--write-resolved takes exactly one scenario file")
    failed: list[ScenarioError] = []
    noted: set[str] = set()
    for path in files:
        try:
            scenario, locs, sources = load_scenario_located(
                path, overrides, extends_root=extends_root
            )
        except ScenarioError as exc:
            failed.append(exc)
            continue
        warnings = scenario_warnings(scenario, locs, str(path))
        for problem in warnings:
            click.echo(f"{'error' if strict else 'warning'}: {problem}", err=True)
        for problem in scenario_notes(scenario, locs, str(path), warnings):
            if str(problem) not in noted:  # files extending one scenario share its notes
                noted.add(str(problem))
                click.echo(f"note: {problem}", err=True)  # never an error: facts of the world
        if strict and warnings:
            failed.append(ScenarioError([]))  # already printed
            continue
        click.echo(f"ok: {path} ({scenario.name}, {scenario.horizon_days} days)")
        if write_resolved is not None:
            check_output_file(write_resolved, "--write-resolved", inputs=sources)
            write_text_atomic(write_resolved, scenario_to_yaml(scenario), "--write-resolved")
            click.echo(f"wrote {write_resolved}")
    if failed:
        problems = [p for exc in failed for p in exc.problems]
        if not problems:  # only warnings under --strict, printed above
            sys.exit(EXIT_INPUT)
        raise ScenarioError(problems)


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the JSON Schema here instead of standard output.",
)
def schema(out: Path | None) -> None:
    """Print the JSON Schema of scenario files (for editors and CI checks)."""
    from escalation_sim.scenario.schema import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2)
    if out is None:
        click.echo(text)
    else:
        from escalation_sim.cli.options import check_output_file, write_text_atomic

        check_output_file(out, "--out")
        write_text_atomic(out, text + "\n", "--out")
        click.echo(f"wrote {out}")


@main.command("run")
@click.argument("scenario", type=click.Path(path_type=Path))
@seed_option("Seed of the model's generator.")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Override the horizon (days)."
)
@set_option
@result_dir_options("result", "results/<scenario>-seed<N>")
@extends_root_option
@reports_input_errors
def run_command(
    scenario: Path,
    seed: int,
    days: int | None,
    overrides: tuple[str, ...],
    out: Path | None,
    force: bool,
    no_plot: bool,
    extends_root: Path | None,
) -> None:
    """Run SCENARIO (a file, or a shipped scenario's name) once and print a summary.

    Writes the time series, events, metadata and escalation curve to the result
    directory.
    """
    from escalation_sim.api import run, write_run
    from escalation_sim.cli.options import check_result_dir, output_errors
    from escalation_sim.scenario.loader import resolve_scenario

    out = out or Path("results") / f"{scenario.stem}-seed{seed}"
    inputs = [scenario] if scenario.exists() else []
    check_result_dir(out, force=force, inputs=inputs)  # before the run, not after it
    sc = resolve_scenario(scenario, days=days, overrides=overrides, extends_root=extends_root)
    result = run(sc, seed=seed)  # on a machine's first run it compiles the kernels first
    with output_errors():
        write_run(result, out, force=force, plot=not no_plot, inputs=inputs)
    click.echo(result.describe())
    click.echo(f"\nwrote {out}/")


@main.command()
@click.option(
    "--markdown", is_flag=True, help="Print the Markdown tables that docs/ODD.md includes."
)
def params(markdown: bool) -> None:
    """List every default: parameters, actors, weapons, forces and theater, with sources."""
    from escalation_sim.scenario.provenance import catalogue_text, default_parameters, odd_tables

    if markdown:
        click.echo(odd_tables(), nl=False)
        return
    click.echo("Parameters")
    for p in default_parameters():
        unit = f" {p.unit}" if p.unit else ""
        span = f"  range {p.range}" if p.range else ""
        click.echo(f"{p.path} = {p.value}{unit}{span}    [{p.source}]")
    click.echo("")
    click.echo(catalogue_text(), nl=False)


@main.command("scenarios")
def scenarios_command() -> None:
    """List the example scenarios shipped with the package (run any of them by name)."""
    from escalation_sim.scenario.loader import load_scenario, shipped_scenarios

    shipped = shipped_scenarios()
    width = max((len(n) for n in shipped), default=0)
    for name, path in shipped.items():
        sc = load_scenario(path)
        click.echo(f"{name.ljust(width)}  {sc.horizon_days:>4} days  {sc.name}")
    folder = next(iter(shipped.values())).parent if shipped else None
    click.echo(
        f"\n{len(shipped)} scenarios in {folder}; use a name in place of a file, e.g.\n"
        f"  escalation-sim run {next(iter(shipped), 'NAME')} --seed 1\n"
        "or copy one as the start of your own (its 'extends' may name a shipped scenario)."
    )


from escalation_sim.cli.app import app  # noqa: E402
from escalation_sim.cli.examples import add_examples  # noqa: E402
from escalation_sim.cli.experiments import register  # noqa: E402
from escalation_sim.cli.play import play, replay  # noqa: E402
from escalation_sim.cli.plot import plot  # noqa: E402

main.add_command(plot)
main.add_command(play)
main.add_command(replay)
main.add_command(app)
register(main)
add_examples(main)
