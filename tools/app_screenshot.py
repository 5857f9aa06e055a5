"""Draw the README's screenshot of the explorer: serve the app, play a few weeks, screenshot.

    python tools/app_screenshot.py [--out docs/figures/app_explorer.png] [--days 42]

Starts ``escalation-sim app`` on 127.0.0.1 (a free port), drives it with
Playwright on Debian's Chromium (``/usr/bin/chromium``): seats Russia, has it
climb once, widens the US rules to deep strike, steps ``--days`` days, and
writes a full-page screenshot.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

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


def main() -> None:
    """Serve, play, screenshot."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/figures/app_explorer.png"))
    ap.add_argument("--days", type=int, default=42)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    games = tempfile.mkdtemp()
    server = subprocess.Popen(
        [sys.executable, "-m", "escalation_sim", "app", "scenarios/may30_kharkiv_counterfire.yaml",
         "--port", str(port), "--out", games],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=FLAGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.goto(url)
            page.get_by_text("Day 0 of 180").wait_for(timeout=60_000)
            usa = page.locator(".esim-rules-USA")
            usa.get_by_role("button", name="deep_strike", exact=True).click()
            usa.get_by_role("button", name="Apply USA rules").click()
            page.locator(".esim-game label", has_text="RUS").click()
            for day in range(1, args.days + 1):
                page.get_by_role("button", name="Step", exact=True).click()
                page.get_by_text(f"Day {day} of 180").wait_for(timeout=30_000)
                if day == args.days // 2:
                    seat = page.locator(".esim-seat-RUS")
                    seat.get_by_role("button", name="arm_third_parties", exact=True).click()
                    seat.get_by_role("button", name="Commit RUS move").click()
            page.evaluate(
                "() => { window.scrollTo(0, 0); "
                "document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; }); }"
            )
            page.wait_for_timeout(1500)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
