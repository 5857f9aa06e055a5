"""The explorer's model and panels' logic, without a browser."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("solara", reason="the viz extra is needed for the app")

from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

from escalation_sim.app.explain import climb_text, last_climb
from escalation_sim.app.figures import curves_figure, theater_figure
from escalation_sim.app.page import model_params
from escalation_sim.app.session import DEFAULTS, ExplorerModel, scenario_choices
from escalation_sim.model.control import MoveError
from escalation_sim.play import Move, check_replay, replay_game, write_game


def test_scenario_picker_lists_files_shipped_scenarios_and_defaults(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: Mine\nhorizon_days: 30\n")
    names = list(scenario_choices(mine))
    assert names[0] == "mine"
    assert "may30_kharkiv_counterfire" in names and "pre_may30" in names
    assert names[-1] == DEFAULTS


def test_solaraviz_can_rebuild_the_model_from_its_controls():
    # Reset in SolaraViz rebuilds the model from the parameter controls' values.
    model = ExplorerModel("pre_may30", 3)
    params = model_params(model.scenario_name, 3)
    _check_model_params(model, params)
    kwargs = _build_model_init_kwargs(
        model,
        {"scenario_name": "deep_strike", "seed": 7},
        add_scenario_when_empty=True,
        require_model_accepts_scenario=True,
    )
    again = type(model)(**kwargs)
    assert (again.scenario_name, again.seed, again.spec.name) == ("deep_strike", 7, again.spec.name)
    assert again.spec.rules["USA"].posture == "deep_strike"


def test_the_model_stops_at_the_horizon():
    m = ExplorerModel("(package defaults)", 1)
    for _ in range(m.n_steps + 3):
        m.step()
    assert m.now == m.n_steps and not m.running


def test_last_climb_names_the_strikes_and_rules_behind_it():
    m = ExplorerModel("deep_strike", 2)
    assert last_climb(m) is None
    assert "No actor has climbed" in climb_text(None)
    m.set_seat("RUS", True)
    for _ in range(10):
        m.step()
    m.player_move(Move("RUS", "arm_third_parties", None, "the deep strikes must be answered"))
    m.step()
    info = last_climb(m)
    assert (info["actor"], info["by"], info["step"]) == ("RUS", "player", 11)
    assert info["to"] == info["from"] + 1
    # The strikes inside Russia in the week before, by supplier, weapon and deciding rule.
    week = m.timeseries().loc[5:11, "strikes_in_russia"].sum()
    assert info["strikes"]["total"] == week > 0
    assert sum(info["strikes"]["by_rule"].values()) == week
    assert sum(info["strikes"]["by_supplier"].values()) == week
    text = climb_text(info)
    assert f"**RUS** climbed from rung {info['from']}" in text
    assert "Player's reason: the deep strikes must be answered" in text
    assert "under rule: " in text and "us-deep-military" in text


def test_last_climb_of_the_model_shows_its_case():
    m = ExplorerModel("deep_strike", 1)  # a seed on which the model's Russia climbs early
    while last_climb(m) is None or last_climb(m)["actor"] != "RUS":
        m.step()
        assert not m.finished, "Russia never climbed in this deep-strike run"
    info = last_climb(m)
    assert info["by"] == "model" and info["strikes"]["total"] > 0
    text = climb_text(info)
    assert "chosen by the model's decision rule" in text
    # The default cost-benefit model weighs the option's cost, not a rung's threshold.
    assert info["decision_model"] == "cost_benefit"
    assert f"{info['option']} costs {info['threshold']:g}" in text
    assert "Case for answering" in text and "against a threshold of" not in text
    pressure_text = climb_text({**info, "decision_model": "pressure"})
    assert "against a threshold of" in pressure_text and "costs" not in pressure_text


def test_figures_draw_the_live_state():
    m = ExplorerModel("may30_kharkiv_counterfire", 1)
    for _ in range(5):
        m.step()
    fig = theater_figure(m)
    assert fig.axes[0].get_title(loc="left").startswith("Day 5:")
    curves = curves_figure(m)
    assert sum(len(ax.lines) for ax in curves.axes) == len(m.actor_ids)


def test_each_actor_is_drawn_against_its_own_ladder_names():
    m = ExplorerModel("may30_kharkiv_counterfire", 1)
    for _ in range(3):
        m.step()
    sc = m.spec
    assert len({id(sc.ladder_for(a)) for a in m.actor_ids}) > 1, "one ladder: cannot fail"
    seen = set()
    for ax in curves_figure(m).axes:
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        for line in ax.lines:
            aid = str(line.get_label()).split(":")[0]
            names = [r.name for r in sc.ladder_for(aid).rungs]
            assert ticks == [f"{i} {n}" for i, n in enumerate(names[: len(ticks)])], aid
            now = int(m.datacollector.get_table_dataframe("series")[f"rung.{aid}"].iloc[-1])
            assert line.get_label() == f"{aid}: {now} {names[now]}"
            seen.add(aid)
    assert seen == set(m.actor_ids)


def test_the_map_leaves_out_units_still_held_in_reserve():
    from escalation_sim.model.forces import RESERVE

    m = ExplorerModel("may30_kharkiv_counterfire", 1)
    f = m.forces
    held = f.status == RESERVE
    assert held.any(), "the scenario holds no reserve: the test cannot fail"
    # Put every reserve unit on a spot no deployed or lost unit occupies.
    f.x[held], f.depth[held] = 12345.0, 678.0
    drawn = np.concatenate(
        [c.get_offsets() for c in theater_figure(m).axes[0].collections if len(c.get_offsets())]
    )
    assert not np.any((drawn[:, 0] == 12345.0) & (drawn[:, 1] == 678.0))
    assert len(drawn) >= int((f.status != RESERVE).sum())  # every deployed and lost unit is drawn


def test_an_app_session_is_recorded_and_replays_bit_for_bit(tmp_path):
    m = ExplorerModel("may30_kharkiv_counterfire", 4)
    for _ in range(3):
        m.step()
    m.edit_rules("GBR", {"posture": "no_strikes_in_russia"})  # a supplier the model plays
    m.set_seat("RUS", True)
    m.player_move(Move("RUS", "arm_third_parties", None, "answer"))
    with pytest.raises(MoveError, match="not available"):
        m.player_move(Move("RUS", "jump", None, ""))
    for _ in range(4):
        m.step()
    m.set_seat("USA", True)
    m.edit_rules("USA", {"posture": "deep_strike"})  # seated: recorded as its move
    for _ in range(5):
        m.step()
    out = m.save(tmp_path)
    lines = [json.loads(x) for x in (out / "game.jsonl").read_text().splitlines()]
    assert [x["type"] for x in lines] == ["game", "rules", "seat", "move", "seat", "move", "end"]
    assert lines[-1]["steps"] == 12
    rep, result = replay_game(out / "game.jsonl")
    write_game(rep, result, tmp_path / "replay", plot=False)
    assert check_replay(rep, tmp_path / "replay") == []
    # Saving twice writes two complete records (the first save is not changed).
    m.step()
    again = m.save(tmp_path / "later")
    assert json.loads((again / "game.jsonl").read_text().splitlines()[-1])["steps"] == 13


def test_only_solaras_cookie_fallback_warning_is_silenced():
    import warnings

    from escalation_sim.cli.app import quiet_cookie_fallback

    cookie = "Cookies with samesite=none require https, but according to the asgi framework"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_cookie_fallback()
        for text, module in (
            (cookie, "solara.server.starlette"),
            ("another solara warning", "solara.server.starlette"),
            (cookie, "some.other.module"),
        ):
            warnings.warn_explicit(text, UserWarning, "f.py", 1, module=module)
    assert [(str(w.message), w.filename) for w in seen] == [
        ("another solara warning", "f.py"),
        (cookie, "f.py"),
    ]
