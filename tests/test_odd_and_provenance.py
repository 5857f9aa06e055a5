"""The model description and the defaults' provenance stay true to the code."""

import importlib.util
from pathlib import Path

from escalation_sim.scenario.provenance import default_parameters, odd_tables

ROOT = Path(__file__).resolve().parents[1]


def _update_odd():
    spec = importlib.util.spec_from_file_location("update_odd", ROOT / "tools" / "update_odd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_default_parameter_has_a_source():
    params = default_parameters()
    assert len(params) > 50
    missing = [p.path for p in params if not p.source.strip()]
    assert missing == []


def test_every_source_names_a_source_or_says_assumption():
    vague = [
        p.path
        for p in default_parameters()
        if "assumption" not in p.source.lower()
        and not any(w in p.source.lower() for w in ("article", "public", "kahn", "source"))
    ]
    assert vague == []


def test_odd_tables_match_the_defaults():
    odd = (ROOT / "docs" / "ODD.md").read_text("utf-8")
    module = _update_odd()
    assert module.render(odd) == odd, "docs/ODD.md is stale: run `python tools/update_odd.py`"
    assert odd_tables() in odd


def test_odd_mentions_every_process_of_the_step():
    odd = (ROOT / "docs" / "ODD.md").read_text("utf-8")
    for phase in (
        "Russian fire",
        "Detection",
        "Ukrainian response",
        "Escalation decisions",
        "Western policy responses",
        "Resupply",
        "Data collection",
    ):
        assert phase in odd
