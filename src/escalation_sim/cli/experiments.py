"""The ``ensemble``, ``compare``, ``sweep`` and ``robustness`` commands (thin wrappers over the experiment API).

Input errors print ``error: file:line: field: message`` and exit with status 2;
an interruption (Ctrl-C or SIGTERM) keeps the finished runs, says how to resume
and exits with status 130.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from escalation_sim.cli.seeds import seed_option

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


def _command_line() -> str:
    import shlex

    return shlex.join(["escalation-sim", *sys.argv[1:]])


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While running, SIGTERM stops the experiment the way Ctrl-C does."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def experiment_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Input errors -> ``error:`` lines and status 2; interruptions -> status 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from escalation_sim.errors import ScenarioError
        from escalation_sim.experiment.errors import ExperimentError, ExperimentInterrupted
        from escalation_sim.results import OutputError

        try:
            with _sigterm_as_interrupt():
                return fn(*args, **kwargs)
        except ScenarioError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(EXIT_INPUT)
        except (ExperimentError, OutputError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except ExperimentInterrupted as exc:
            click.echo(f"\n{exc.message()}", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper


class _ExperimentCommand(click.Command):
    """An experiment command: the pool's fork server starts before the options are checked.

    Checking the options imports the model (``--seed``'s rule lives with the
    experiments), so the server is started first, from a quiet parse of the
    same arguments: its loading (about 1.5 s) then runs beside this process's
    own instead of after it. Not for a run in this process, on Dask, with
    ``--check`` or ``--help``.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Start the fork server if the arguments ask for a local pool, then parse as usual."""
        if not extra.get("resilient_parsing"):
            self._start_workers_early(info_name, list(args), parent)
        return super().make_context(info_name, args, parent=parent, **extra)

    def _start_workers_early(
        self, info_name: str | None, args: list[str], parent: click.Context | None
    ) -> None:
        if any(a in ("--help", "-h") for a in args):
            return
        from escalation_sim.workers import default_jobs, start_fork_server

        # A head start only: whatever this quiet parse misses, the real one reports.
        with contextlib.suppress(Exception):
            quiet = super().make_context(info_name, args, parent=parent, resilient_parsing=True)
            params = quiet.params
            jobs = params.get("jobs") or default_jobs()
            if jobs > 1 and params.get("dask") is None and not params.get("check"):
                start_fork_server(params.get("start_method"))


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options every experiment command shares."""
    decorators = [
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=1),
            default=None,
            help="Local worker processes [default: one per CPU]; 1 runs in this process.",
        ),
        click.option(
            "--dask",
            "dask",
            metavar="ADDRESS",
            default=None,
            help="Run on an existing Dask cluster (scheduler address, e.g. tcp://host:8786).",
        ),
        click.option(
            "--chunk-size",
            type=click.IntRange(min=1),
            default=None,
            help="Runs per task [default: a few chunks per worker, at most 25].",
        ),
        click.option(
            "--start-method",
            type=click.Choice(["spawn", "forkserver"]),
            default=None,
            help=(
                "How the local pool starts workers: forked warm from a server that has "
                "loaded the model, or each a fresh interpreter [default: forkserver where "
                "available]."
            ),
        ),
        click.option(
            "--restart",
            is_flag=True,
            help="Discard unfinished runs of a different experiment in DIR.partial/.",
        ),
        click.option("--force", is_flag=True, help="Replace the output directory if it exists."),
        click.option(
            "--plot/--no-plot",
            default=True,
            help="Draw the main figure into the output directory [default: plot].",
        ),
        click.option(
            "--progress/--no-progress",
            default=None,
            help="Show a progress bar [default: when standard error is a terminal].",
        ),
    ]
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn


def _announcer(what: str, jobs: int | None, dask: str | None) -> Callable[[], None]:
    """What to say as the runs start: worker processes take seconds to come up, silently.

    The experiment calls it (``on_start``) once its inputs and ``--out`` are
    checked, so a refusal is never preceded by a "starting workers" line.
    """

    def announce() -> None:
        if dask:
            from escalation_sim.experiment.executors import check_dask_address

            where = f"on the Dask cluster at {check_dask_address(dask)}"
        else:
            from escalation_sim.experiment.executors import default_jobs

            n = default_jobs() if jobs is None else jobs
            where = "in this process" if n == 1 else f"starting {n} worker processes..."
        click.echo(f"{what}: {where}", err=True)

    return announce


def _progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


def _execution(out: Path, what: str, **flags: Any) -> Any:
    """The shared options of a command as one ``ExecutionOptions`` (see ``_options``).

    ``what`` names the work, announced when it starts (see :func:`_announcer`).
    """
    from escalation_sim.experiment.options import ExecutionOptions

    flags.pop("plot")
    progress = _progress(flags.pop("progress"))
    start = _announcer(what, flags.get("jobs"), flags.get("dask"))
    return ExecutionOptions(
        out=out,
        progress=progress,
        command=_command_line(),
        on_notice=_warn,
        on_start=start,
        **flags,
    )


def _warn(message: str) -> None:
    """What a resume repaired, on standard error."""
    click.echo(f"warning: {message}", err=True)


_set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a scenario value (repeatable).",
)
_days_option = click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Override the horizon (days)."
)
_runs_option = click.option(
    "--runs",
    "-n",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Runs of the scenario (compare: of each scenario, on the same seeds).",
)
_seed_option = seed_option("Root seed: run i is seeded by child i of numpy SeedSequence(ROOT).")


def _out_option(default: str) -> Callable[[Any], Any]:
    """``--out DIR``, with the directory an experiment writes when it is not given."""
    return click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=None,
        metavar="DIR",
        help=f"Output directory [default: {default}].",
    )


@click.command("ensemble", cls=_ExperimentCommand)
@click.argument("scenario", type=click.Path(path_type=Path))
@_runs_option
@_seed_option
@_days_option
@_set_option
@_out_option("results/ensemble-<scenario>-n<RUNS>-seed<ROOT>")
@_options
@experiment_errors
def ensemble_command(
    scenario: Path,
    runs: int,
    seed: int,
    days: int | None,
    overrides: tuple[str, ...],
    out: Path | None,
    **execution: Any,
) -> None:
    """Run SCENARIO many times on seeds spawned from one root seed.

    Writes runs (one row per run), per-step aggregates (mean and 5-95
    percentiles), the probability of reaching each rung by each day, the
    resolved scenario and metadata, as Parquet and CSV. Interrupted runs are
    kept in DIR.partial/: the same command resumes.
    """
    from escalation_sim.experiment.ensemble import ensemble

    out = out or Path("results") / f"ensemble-{scenario.stem}-n{runs}-seed{seed}"
    result = ensemble(
        scenario,
        runs=runs,
        seed=seed,
        days=days,
        overrides=overrides,
        options=_execution(out, f"{runs} run{'s' if runs != 1 else ''} of {scenario}", **execution),
    )
    click.echo(result.describe())
    click.echo(f"\nwrote {out}/")
    _draw_main_figure(out, execution["plot"])


@click.command("compare", cls=_ExperimentCommand)
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@_runs_option
@_seed_option
@_days_option
@_set_option
@click.option(
    "--ci",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    metavar="NAME",
    help="Compare this outcome (repeatable; a column of runs.parquet) [default: key outcomes].",
)
@_out_option("results/compare-<a>-vs-<b>-n<RUNS>-seed<ROOT>")
@_options
@experiment_errors
def compare_command(
    scenarios: tuple[Path, ...],
    runs: int,
    seed: int,
    days: int | None,
    overrides: tuple[str, ...],
    ci: float,
    outcomes: tuple[str, ...],
    out: Path | None,
    **execution: Any,
) -> None:
    """Run rule sets on the same seeds and compare them seed by seed.

    The first of SCENARIOS is the baseline. For each outcome, prints and saves
    the mean paired difference with a t-interval, plus each scenario's runs,
    aggregates and rung probabilities.
    """
    from escalation_sim.experiment.compare import compare

    if len(scenarios) < 2:
        raise click.UsageError("compare needs at least two scenario files")
    stems = "-vs-".join(s.stem for s in scenarios)
    out = out or Path("results") / f"compare-{stems}-n{runs}-seed{seed}"
    result = compare(
        list(scenarios),
        runs=runs,
        seed=seed,
        days=days,
        overrides=overrides,
        ci=ci,
        outcomes=list(outcomes) or None,
        options=_execution(out, f"{runs} runs of each of {len(scenarios)} scenarios", **execution),
    )
    click.echo(result.describe())
    click.echo(f"\nwrote {out}/")
    _draw_main_figure(out, execution["plot"])


@click.command("sweep", cls=_ExperimentCommand)
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(path_type=Path))
@_out_option("results/sweep-<file stem>")
@click.option(
    "--check", is_flag=True, help="Validate the sweep file and show its design; run nothing."
)
@_options
@experiment_errors
def sweep_command(
    sweep_file: Path,
    out: Path | None,
    check: bool,
    **execution: Any,
) -> None:
    """Vary scenario parameters over a design (grid, lhs, sobol, morris) with replications.

    Writes experiments and outcomes (one row per run, in the layout EMA
    Workbench and SALib read), per-point means, and sensitivity indices where
    the design supports them.
    """
    from escalation_sim.experiment.sweep import load_sweep, sweep

    if check:
        sw = load_sweep(sweep_file)
        click.echo(
            f"ok: {sweep_file} ({sw.spec.design.method} design over {len(sw.params)} "
            f"parameters: {sw.design.points} points x {sw.spec.replications} replications "
            f"= {sw.runs} runs of {sw.base.name}, {sw.base.horizon_days} days)"
        )
        return
    out = out or Path("results") / f"sweep-{sweep_file.stem}"
    result = sweep(sweep_file, options=_execution(out, f"sweep {sweep_file}", **execution))
    click.echo(result.describe())
    click.echo(f"\nwrote {out}/")
    _draw_main_figure(out, execution["plot"])


@click.command("robustness", cls=_ExperimentCommand)
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--samples",
    "-s",
    type=click.IntRange(min=2),
    default=32,
    show_default=True,
    help="Assumption sets (Latin hypercube over the plausible ranges).",
)
@click.option(
    "--runs",
    "-n",
    type=click.IntRange(min=2),
    default=20,
    show_default=True,
    help="Runs per scenario and assumption set (the same seeds in every one).",
)
@_seed_option
@_days_option
@_set_option
@click.option(
    "--ranges",
    "ranges_file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="A ranges file of your own [default: the package's assumption_ranges.yaml].",
)
@click.option(
    "--regions",
    default=None,
    metavar="LIST",
    help="Sample only these regions of the ranges, comma-separated "
    "(decisions, policy, battlefield) [default: all].",
)
@click.option(
    "--conclusions",
    "conclusions_file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="A conclusions file of your own [default: the package's, those whose scenarios are given].",
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    metavar="NAME",
    help="Compare this outcome in every set (repeatable) [default: key outcomes].",
)
@click.option(
    "--ci",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of every interval.",
)
@click.option("--check", is_flag=True, help="Validate everything and show the design; run nothing.")
@_out_option("results/robustness-<a>-vs-<b>-s<SAMPLES>-n<RUNS>-seed<ROOT>")
@_options
@experiment_errors
def robustness_command(
    scenarios: tuple[Path, ...],
    samples: int,
    runs: int,
    seed: int,
    days: int | None,
    overrides: tuple[str, ...],
    ranges_file: Path | None,
    regions: str | None,
    conclusions_file: Path | None,
    outcomes: tuple[str, ...],
    ci: float,
    check: bool,
    out: Path | None,
    jobs: int | None,
    dask: str | None,
    chunk_size: int | None,
    start_method: str | None,
    restart: bool,
    force: bool,
    progress: bool | None,
    plot: bool,
) -> None:
    """Check conclusions of a paired comparison across assumption sets.

    Draws SAMPLES assumption sets by Latin hypercube over the plausible ranges
    of the model's assumptions, runs every scenario under every set on the same
    RUNS seeds, compares each with the first (the baseline) seed by seed, and
    judges each declared conclusion in every set. Writes robustness.csv (set x
    comparison x outcome: difference, CI, sign), conclusions.csv (share of sets
    in which each conclusion holds, with its interval), assumption_sets.csv,
    dependence.csv and a figure. Resumable like the other experiments.
    """
    from escalation_sim.experiment.robustness import plan_robustness, robustness

    if len(scenarios) < 2:
        raise click.UsageError("robustness needs at least two scenario files")
    chosen_regions = (
        [r.strip() for r in regions.split(",") if r.strip()] if regions is not None else None
    )
    common: dict[str, Any] = {
        "samples": samples,
        "runs": runs,
        "seed": seed,
        "days": days,
        "overrides": overrides,
        "ranges": ranges_file,
        "regions": chosen_regions,
        "conclusions": conclusions_file,
        "outcomes": list(outcomes) or None,
    }
    if check:
        plan = plan_robustness(list(scenarios), **common)
        click.echo(f"ok: {plan.describe()}")
        return
    stems = "-vs-".join(s.stem for s in scenarios)
    out = out or Path("results") / f"robustness-{stems}-s{samples}-n{runs}-seed{seed}"
    result = robustness(
        list(scenarios),
        **common,
        ci=ci,
        options=_execution(
            out,
            f"robustness of {len(scenarios)} scenarios over {samples} assumption sets",
            jobs=jobs,
            dask=dask,
            chunk_size=chunk_size,
            start_method=start_method,
            restart=restart,
            force=force,
            progress=progress,
            plot=plot,
        ),
    )
    for warning in result.metadata.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.describe())
    click.echo(f"\nwrote {out}/")
    _draw_main_figure(out, plot)


def _draw_main_figure(out: Path, plot: bool) -> None:
    """Draw the experiment's main figure into its output directory."""
    if not plot:
        return
    from escalation_sim.plots.directory import ResultsDirError, draw_figures

    try:
        for path in draw_figures(out, main_only=True):
            click.echo(f"drew {path}")
    except ResultsDirError as exc:  # the outputs are written; only the figure is missing
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def register(group: click.Group) -> None:
    """Add the experiment commands to the ``escalation-sim`` command group."""
    group.add_command(ensemble_command)
    group.add_command(compare_command)
    group.add_command(sweep_command)
    group.add_command(robustness_command)
