"""The ``app`` command: serve the browser explorer (Mesa SolaraViz) on this machine."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import click

from escalation_sim.cli import EXIT_INPUT, reports_input_errors

#: Solara warns at every page load over plain http from an address other than
#: ``localhost`` that its session cookie falls back from ``samesite=none`` to
#: ``samesite=lax``. ``none`` only matters when the page is embedded in another
#: site's iframe; the explorer is opened directly, where ``lax`` is the right
#: cookie, so this one message (and no other warning) is silenced.
COOKIE_FALLBACK_WARNING = r"Cookies with samesite=none require https"


def quiet_cookie_fallback() -> None:
    """Silence Solara's samesite-cookie fallback warning, and only it (see above)."""
    warnings.filterwarnings(
        "ignore",
        message=COOKIE_FALLBACK_WARNING,
        category=UserWarning,
        module=r"solara\.server\.starlette",
    )


@click.command("app")
@click.argument("scenario", type=click.Path(path_type=Path), required=False)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port the explorer listens on (at --host).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (127.0.0.1: this machine only).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("results/app-games"),
    show_default=True,
    metavar="DIR",
    help="Where 'Save game record' writes games played in the browser.",
)
@reports_input_errors
def app(scenario: Path | None, port: int, host: str, out: Path) -> None:
    """Serve the explorer: map, curves, rules per supplier, last climb, seats for people.

    Open the printed address in a browser. SCENARIO (default: the May-30
    scenario) is selected first; the picker lists the scenarios beside it.
    """
    # The explorer makes no calls out: no usage telemetry, no check for a newer solara.
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    try:
        from solara.__main__ import main as solara_main
    except ImportError:
        click.echo(
            "error: the app needs the 'viz' extra: pip install 'escalation-sim[viz]'", err=True
        )
        sys.exit(EXIT_INPUT)
    from escalation_sim.model import kernels

    if scenario is not None:
        from escalation_sim.scenario import load_scenario

        load_scenario(scenario)  # a bad file is reported here, not in the browser
        os.environ["ESCALATION_SIM_APP_SCENARIO"] = str(scenario.resolve())
    kernels.compile_if_cold()  # before serving: the first page would wait on it silently
    os.environ["ESCALATION_SIM_APP_OUT"] = str(out.resolve())
    quiet_cookie_fallback()
    click.echo(f"serving the explorer at http://{host}:{port}/ (Ctrl-C stops it)")
    sys.argv = [
        "solara",
        "run",
        "escalation_sim.app.page",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
        "--log-level",
        "warning",
    ]
    solara_main()
