"""Regenerate the tables in docs/ODD.md from the package defaults."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from escalation_sim.scenario.provenance import odd_tables

BEGIN = "<!-- BEGIN GENERATED TABLES (escalation-sim params --markdown) -->"
END = "<!-- END GENERATED TABLES -->"


def render(text: str) -> str:
    """Return ``text`` with the generated block replaced by the current tables."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{BEGIN}\n{odd_tables()}{END}", text)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/ODD.md")
    path.write_text(render(path.read_text("utf-8")), "utf-8")
    print(f"updated {path}")
