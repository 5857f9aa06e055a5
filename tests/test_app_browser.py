"""The explorer in a real browser: `escalation-sim app` on 127.0.0.1, driven by Playwright.

Headless Chromium is Debian's (``/usr/bin/chromium``; ``.ci/run`` installs it
when missing): browsers cannot be downloaded here, so Playwright is pointed at
that executable. Skipped, with the reason, only where no Chromium exists.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("ESCALATION_SIM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAY30 = "scenarios/may30_kharkiv_counterfire.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (.ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")
    out = tmp_path_factory.mktemp("app-games")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "escalation_sim",
            "app",
            MAY30,
            "--port",
            str(port),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the app did not start: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.5)
    yield url, out
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log = proc.stdout.read() if proc.stdout else ""
    # Solara's samesite-cookie fallback notice is silenced (harmless here: see cli/app.py).
    assert "samesite" not in log, log


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1500, "height": 1300})
        problems: list[str] = []
        pg.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        pg.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        pg.goto(url)
        pg.get_by_text("Day 0 of 180 (2024-05-30)").wait_for(timeout=60_000)
        pg.problems = problems  # type: ignore[attr-defined]
        yield pg
        browser.close()


def curves_image(pg) -> str:
    return (
        pg.locator(".esim-day").locator("xpath=..").locator("img").first.get_attribute("src") or ""
    )


def test_page_loads_with_map_and_curves_and_no_console_errors(page):
    assert page.get_by_text("Theater", exact=True).is_visible()
    assert page.get_by_text("Escalation", exact=True).is_visible()
    assert page.get_by_text("Rules in force", exact=True).is_visible()
    assert page.get_by_text("The last climb, explained").is_visible()
    assert page.locator("img").count() >= 2  # the map and the curves
    page.wait_for_timeout(1000)
    assert page.problems == []


def test_the_browser_tab_carries_the_title_and_no_page_0_tab_shows(page):
    assert page.title() == "escalation-sim explorer"
    assert page.locator(".v-tab").count() >= 1  # Mesa's tab is there, so the check can fail
    assert not [t for t in page.locator(".v-tab").all() if t.is_visible()]


def test_a_step_advances_the_day_and_the_curve(page):
    before = curves_image(page)
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("Day 1 of 180 (2024-05-31)").wait_for(timeout=30_000)
    page.wait_for_function(
        "before => [...document.querySelectorAll('img')].every(i => i.src !== before)",
        arg=before,
        timeout=30_000,
    )
    assert curves_image(page) != before
    assert page.problems == []


def test_a_rule_change_in_the_panel_takes_effect_on_the_next_step(page, server):
    usa = page.locator(".esim-rules-USA")
    usa.get_by_role("button", name="deep_strike", exact=True).click()
    usa.get_by_role("button", name="Apply USA rules").click()
    usa.get_by_text("now: deep_strike").wait_for(timeout=30_000)
    # Not yet in force during a simulated day: the last day still ran under May-30 rules.
    assert "on day 1 the posture in force was kharkiv_counterfire" in usa.inner_text()
    page.get_by_role("button", name="Step", exact=True).click()
    usa.get_by_text("on day 2 the posture in force was deep_strike").wait_for(timeout=30_000)
    assert page.problems == []


def test_a_seated_player_moves_and_the_last_climb_is_explained(page):
    page.locator(".esim-game label", has_text="RUS").click()
    seat = page.locator(".esim-seat-RUS")
    seat.get_by_role("button", name="arm_third_parties", exact=True).click()
    seat.get_by_role("button", name="Commit RUS move").click()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("Day 3 of 180").wait_for(timeout=30_000)
    climb = page.locator(".esim-last-climb")
    climb.get_by_text("chosen by its player").wait_for(timeout=30_000)
    assert "RUS climbed from rung 2" in climb.inner_text()
    assert page.problems == []


def test_the_saved_game_replays_bit_for_bit_and_a_screenshot_is_written(page, server, tmp_path):
    from click.testing import CliRunner

    from escalation_sim.cli import main

    _, out = server
    page.get_by_role("button", name="Save game record").click()
    page.get_by_text("game.jsonl (replay: escalation-sim replay)").wait_for(timeout=60_000)
    (game_dir,) = [d for d in out.iterdir() if d.is_dir()]
    ts = pd.read_csv(game_dir / "timeseries.csv")
    assert ts["posture.USA"].tolist() == ["kharkiv_counterfire"] * 2 + ["deep_strike"] * 2
    assert ts["rung.RUS"].tolist()[-1] == ts["rung.RUS"].tolist()[0] + 1
    lines = [json.loads(x) for x in (game_dir / "game.jsonl").read_text().splitlines()]
    assert [x["type"] for x in lines] == ["game", "rules", "seat", "move", "end"]
    r = CliRunner().invoke(
        main, ["replay", str(game_dir / "game.jsonl"), "--out", str(tmp_path / "r"), "--no-plot"]
    )
    assert r.exit_code == 0, r.output
    for name in ("timeseries.csv", "events.jsonl"):
        assert (tmp_path / "r" / name).read_bytes() == (game_dir / name).read_bytes()

    shot = Path(os.environ.get("ESCALATION_SIM_APP_SCREENSHOT", tmp_path / "app.png"))
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    assert page.problems == []
