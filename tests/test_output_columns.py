"""Every column a default run and a default ensemble write is documented in the README.

The README's "Output columns" table lists each column (or family of columns,
with placeholders such as ``<actor>``) and the tables it appears in. When a
change adds a column, this test fails until the table gains its row.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import escalation_sim as es

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCENARIO = ROOT / "scenarios" / "may30_kharkiv_counterfire.yaml"
TABLES = ("timeseries", "runs", "aggregates")


def documented() -> dict[str, list[re.Pattern[str]]]:
    """Table name -> a pattern for each column the README documents in it."""
    text = README.read_text("utf-8")
    section = text.split("### Output columns", 1)[1].split("\n#", 1)[0]
    found: dict[str, list[re.Pattern[str]]] = {t: [] for t in TABLES}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        for table in TABLES:
            if table in cells[1]:
                for name in names:
                    parts = re.split(r"(<[a-z_]+>)", name)
                    regex = "".join(".+" if p.startswith("<") else re.escape(p) for p in parts)
                    found[table].append(re.compile(regex))
    return found


@pytest.fixture(scope="module")
def outputs() -> dict[str, list[str]]:
    run = es.run(SCENARIO, seed=0, days=5)
    ens = es.ensemble(SCENARIO, runs=2, seed=0, days=5, jobs=1, progress=False)
    return {
        "timeseries": list(run.timeseries.columns),
        "runs": list(ens.runs.columns),
        "aggregates": list(dict.fromkeys(ens.aggregates["series"])),
    }


def test_the_readme_documents_every_output_column(outputs):
    patterns = documented()
    assert all(patterns[t] for t in TABLES)  # the table was found and parsed
    missing = {
        table: [c for c in cols if not any(p.fullmatch(c) for p in patterns[table])]
        for table, cols in outputs.items()
    }
    assert missing == {t: [] for t in TABLES}, "add these columns to README 'Output columns'"


def test_the_check_would_catch_an_undocumented_column():
    patterns = documented()["timeseries"]
    assert any(p.fullmatch("rung.RUS") for p in patterns)
    assert not any(p.fullmatch("mystery_column") for p in patterns)


def test_structurally_zero_count_columns_are_left_out(outputs):
    sc = es.load_scenario(SCENARIO)
    allow = {
        r.id
        for policy in sc.rules.values()
        for posture in policy.postures.values()
        for r in posture.rules
        if r.effect == "allow"
    }
    ts = outputs["timeseries"]
    assert allow and not any(c.split(".rule.", 1)[-1] in allow for c in ts if ".rule." in c)
    assert not [
        c for c in ts if c.startswith(("withheld.rule.unrestricted", "withheld.rule.ukrainian"))
    ]
    assert "strikes.supplier.RUS" not in ts and "strikes.weapon.KAB" not in ts
    assert "fire_on_city.weapon.GMLRS" not in ts and "fire_on_city.weapon.KAB" in ts
    assert "withheld.rule.us-no-long-range-in-russia" in ts  # a prohibition keeps its count
    assert "constrained.rule.us-no-long-range-in-russia" in outputs["runs"]
