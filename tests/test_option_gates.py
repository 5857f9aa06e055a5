"""An option's ``min_rung`` does what the docs say (opens it from that rung), or validate warns.

The gates apply together (``model/decisions/options.py``): a climb of more
than one rung also needs one of the option's ``skip_on`` precedents, so a
``min_rung`` below the rung just under the option's own is overridden unless
the option may skip. The shipped catalogue once had such a gate
(``strike_nato_assets``, "from rung 4", opening only from rung 5).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from escalation_sim.cli import main
from escalation_sim.model.decisions.options import OptionMenu, closed_by, is_available
from escalation_sim.scenario import load_scenario
from escalation_sim.scenario.lint import idle_option_gates, min_rung_problem
from escalation_sim.scenario.schema import OptionSpec

#: Every kind of precedent: with all of them salient only the rung gates can close an option.
ALL_PRECEDENTS = frozenset(
    {
        "new_supplier",
        "first_weapon_class",
        "new_depth_band",
        "new_target_class",
        "strategic_asset",
        "adversary_violent",
        "adversary_nato_attack",
        "adversary_nuclear_signal",
        "adversary_nuclear_use",
    }
)


@pytest.fixture(scope="module")
def sc():
    return load_scenario("may30_kharkiv_counterfire")


def _option(sc, side: str, oid: str) -> OptionSpec:
    return next(o for o in sc.options[side] if o.id == oid)


def test_every_min_rung_of_the_catalogue_opens_its_option_from_that_rung(sc):
    """'From rung k' (the ODD's catalogue): closed one rung below k, open at k, precedents salient."""
    gated = [(side, o) for side, opts in sc.options.items() for o in opts if o.min_rung is not None]
    assert gated, "the catalogue has min_rung gates"
    for side, o in gated:
        top = len(sc.ladders.get(side, sc.ladder).rungs) - 1
        assert min_rung_problem(o) is None, (side, o.id)
        assert closed_by(o, o.min_rung - 1, 0, top, ALL_PRECEDENTS) == (
            "min_rung",
            float(o.min_rung),
        ), (side, o.id)
        assert is_available(o, o.min_rung, 0, top, ALL_PRECEDENTS), (side, o.id)
        menu = OptionMenu([o], 0, top)
        assert menu.open(o.min_rung, lambda: ALL_PRECEDENTS, {}, 0.0) == [o], (side, o.id)
    assert idle_option_gates(sc) == []


def test_a_strike_on_nato_opens_from_intensified_strikes_on_its_own_precedents(sc):
    nato = _option(sc, "russia", "strike_nato_assets")
    assert (nato.rung, nato.min_rung) == (6, 4)
    assert is_available(nato, 4, 2, 9, {"new_depth_band"})  # skips rung 5 on a new depth band
    assert is_available(nato, 4, 2, 9, {"strategic_asset"})
    assert not is_available(nato, 4, 2, 9, {"first_weapon_class"})  # not its precedent
    assert closed_by(nato, 3, 2, 9, ALL_PRECEDENTS) == ("min_rung", 4.0)
    assert is_available(nato, 5, 2, 9, {"new_depth_band"})


def test_a_min_rung_the_skip_gate_overrides_is_reported(sc):
    nato = _option(sc, "russia", "strike_nato_assets")
    shadowed = nato.model_copy(update={"skip_on": []})
    why = min_rung_problem(shadowed)
    assert why is not None and "opens only from rung 5" in why and "skip_on" in why
    # It says the truth: the gate closes the option at rung 4 even with every precedent salient.
    assert closed_by(shadowed, 4, 2, 9, ALL_PRECEDENTS) == ("skip", 0.0)
    assert min_rung_problem(shadowed.model_copy(update={"min_rung": 5})) is None
    down = _option(sc, "russia", "stand_down").model_copy(update={"min_rung": 4})
    assert "stand-down" in (min_rung_problem(down) or "")
    assert is_available(down, 3, 2, 9, set())  # min_rung 4 indeed does nothing to it


def test_validate_warns_where_the_user_made_min_rung_idle(tmp_path: Path):
    over = "options.russia.9.skip_on=[]"
    result = CliRunner().invoke(main, ["validate", "may30_kharkiv_counterfire", "--set", over])
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.stderr.splitlines() if not ln.startswith("note: ")]
    assert line.startswith("warning: --set options.russia.9.skip_on")
    assert "'strike_nato_assets': min_rung 4 has no effect" in line
    strict = CliRunner().invoke(
        main, ["validate", "--strict", "may30_kharkiv_counterfire", "--set", over]
    )
    assert strict.exit_code == 2
    # A scenario file that writes its own options is located at its own line.
    path = tmp_path / "gates.yaml"
    path.write_text(
        "name: Gates\nextends: may30_kharkiv_counterfire\noptions:\n  ukraine:\n"
        "    - {id: hold, label: Hold, kind: hold, answers: 0, cost: 0, rivera: status_quo}\n"
        "    - {id: appeal, label: Appeal, kind: appeal, rung: 1, answers: 25, cost: 12,"
        " rivera: posturing, kahn: 2}\n"
        "    - {id: campaign, label: Campaign, kind: campaign, rung: 2, answers: 50, cost: 25,"
        " rivera: violent_escalation, kahn: 12, min_rung: 0}\n",
        encoding="utf-8",
    )
    found = CliRunner().invoke(main, ["validate", str(path)])
    assert f"warning: {path}:7: options.ukraine.2.min_rung: option 'campaign'" in found.stderr, (
        found.output
    )
