"""The explorer's panels, as Solara components for Mesa's SolaraViz.

Each panel takes the model and redraws when SolaraViz steps it (it reads
Mesa's ``update_counter``); a panel that changes the model between steps (a
rule edit, a seat, a player's move) calls ``force_update`` so every panel
shows the change at once.
"""

from __future__ import annotations

import html

import solara
from mesa.visualization.utils import force_update, update_counter

from escalation_sim.app.explain import climb_text, last_climb
from escalation_sim.app.figures import curves_figure, theater_figure
from escalation_sim.app.session import APP_TURN_DAYS, ExplorerModel
from escalation_sim.model.control import MoveError, rule_catalogue
from escalation_sim.play import Move, briefing, turn_view

#: Page-wide style: rule ids and postures keep their case on buttons. Mesa's SolaraViz
#: labels its page tabs "Page 0", "Page 1"... with no way to name them; the explorer has
#: one page, so a tab bar holding a single tab is hidden rather than shown as "PAGE 0".
CSS = (
    ".v-btn { text-transform: none !important; } .v-btn-toggle { flex-wrap: wrap; }"
    " .esim-text p { margin-bottom: 4px; }"
    " .v-tabs:not(:has(.v-tab ~ .v-tab)) { display: none; }"
)


def _html(text: str) -> None:
    """Text with **bold** and line breaks, without Markdown (whose math support needs a CDN)."""
    parts = html.escape(text).split("**")
    body = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n") if line.strip())
    solara.HTML(tag="div", unsafe_innerHTML=paragraphs, classes=["esim-text"])


def _status(model: ExplorerModel) -> str:
    day = model.now * model.step_days
    date = model.spec.start_date.fromordinal(model.spec.start_date.toordinal() + int(day))
    tail = " (end of the horizon)" if model.finished else ""
    return f"Day {day:g} of {model.spec.horizon_days} ({date}){tail}"


@solara.component
def TheaterMap(model: ExplorerModel) -> None:
    """The theater map as it stands."""
    update_counter.get()
    solara.Style(CSS)
    with solara.Card("Theater", style={"height": "100%", "overflow": "auto"}):
        solara.FigureMatplotlib(
            theater_figure(model),
            format="png",
            bbox_inches="tight",
            dependencies=[update_counter.value, id(model)],
        )


@solara.component
def EscalationCurves(model: ExplorerModel) -> None:
    """Every actor's rung by day, and fire on the city."""
    update_counter.get()
    with solara.Card("Escalation", style={"height": "100%", "overflow": "auto"}):
        solara.Text(_status(model), classes=["esim-day"])
        solara.FigureMatplotlib(
            curves_figure(model),
            format="png",
            bbox_inches="tight",
            dependencies=[update_counter.value, id(model)],
        )


@solara.component
def LastClimb(model: ExplorerModel) -> None:
    """Why the last climb happened."""
    update_counter.get()
    with solara.Card(
        "The last climb, explained",
        style={"height": "100%", "overflow": "auto"},
        classes=["esim-last-climb"],
    ):
        _html(climb_text(last_climb(model)))


@solara.component
def SupplierRules(model: ExplorerModel, supplier: str) -> None:
    """One supplier's rules: posture and rules in force, editable between steps."""
    update_counter.get()
    policy = model.actor[supplier].policy
    in_force = [r.id for r in policy.active_rules()]
    posture, set_posture = solara.use_state(policy.posture)
    chosen, set_chosen = solara.use_state(in_force)
    error, set_error = solara.use_state("")
    series = model.datacollector.get_table_dataframe("series")
    last = series.iloc[-1]

    def apply() -> None:
        if posture != policy.posture:
            change: dict = {"posture": posture}
        else:
            change = {
                k: v
                for k, v in (
                    ("add_rules", [r for r in chosen if r not in in_force]),
                    ("remove_rules", [r for r in in_force if r not in chosen]),
                )
                if v
            }
        if not change:
            set_error("nothing to change")
            return
        try:
            model.edit_rules(supplier, change)
        except MoveError as exc:
            set_error(str(exc))
            return
        set_error("")
        set_chosen([r.id for r in policy.active_rules()])
        force_update()

    with solara.Column(gap="2px", classes=[f"esim-rules-{supplier}"]):
        _html(
            f"**{supplier}**: on day {float(last['day']):g} the posture in force was "
            f"**{last[f'posture.{supplier}']}**; now: **{policy.posture}** "
            f"({', '.join(in_force) or 'no rules'})"
        )
        solara.ToggleButtonsSingle(
            value=posture, values=list(policy.spec.postures), on_value=set_posture, dense=True
        )
        solara.ToggleButtonsMultiple(
            value=chosen,
            values=list(rule_catalogue(model, supplier)),
            on_value=set_chosen,
            dense=True,
        )
        solara.Button(
            f"Apply {supplier} rules",
            on_click=apply,
            color="primary",
            outlined=True,
            disabled=model.finished,
        )
        if error:
            solara.Error(error, dense=True)


@solara.component
def RulesPanel(model: ExplorerModel) -> None:
    """The rules in force per supplier; a change takes effect on the next step."""
    update_counter.get()
    with solara.Card("Rules in force", style={"height": "100%", "overflow": "auto"}):
        solara.Text(
            "Per supplier: pick a posture or toggle rules, apply; in force from the next step."
        )
        for a in model.suppliers:
            SupplierRules(model, a.actor_id).key(f"rules-{id(model)}-{a.actor_id}")


@solara.component
def SeatCard(model: ExplorerModel, actor: str) -> None:
    """A seated actor's briefing and its escalation choice."""
    update_counter.get()
    choice, set_choice = solara.use_state("hold")
    error, set_error = solara.use_state("")
    turn = model.now // APP_TURN_DAYS + 1
    view = turn_view(model, actor, turn, APP_TURN_DAYS)
    ids = [c.id for c in view.choices]

    def commit() -> None:
        try:
            model.player_move(Move(actor, choice, None, "player in the explorer"))
        except MoveError as exc:
            set_error(str(exc))
            return
        set_error("")
        set_choice("hold")
        force_update()

    with solara.Column(gap="2px", classes=[f"esim-seat-{actor}"]):
        with solara.Details(f"{actor}: briefing (what {actor} perceives)"):
            solara.Preformatted(briefing(view))
        solara.ToggleButtonsSingle(
            value=choice if choice in ids else "hold", values=ids, on_value=set_choice, dense=True
        )
        solara.Button(f"Commit {actor} move", on_click=commit, color="primary", outlined=True)
        if error:
            solara.Error(error, dense=True)


@solara.component
def GamePanel(model: ExplorerModel) -> None:
    """Seats for people, their moves, and saving the game record."""
    update_counter.get()
    saved, set_saved = solara.use_state("")

    def seat(actor: str, on: bool) -> None:
        model.set_seat(actor, on)
        force_update()

    def save() -> None:
        set_saved(str(model.save()))

    with solara.Card(
        "Game: seats for people",
        style={"height": "100%", "overflow": "auto"},
        classes=["esim-game"],
    ):
        solara.Text(
            f"A seated actor makes no automated choice; step {APP_TURN_DAYS} days for a turn."
        )
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            for aid in model.actor_ids:
                solara.Checkbox(
                    label=aid,
                    value=aid in model.seated,
                    on_value=lambda on, a=aid: seat(a, on),
                )
        for aid in model.actor_ids:
            if aid in model.seated:
                SeatCard(model, aid).key(f"seat-{id(model)}-{aid}")
        solara.Button("Save game record", on_click=save, outlined=True)
        if saved:
            solara.Success(f"wrote {saved}/game.jsonl (replay: escalation-sim replay)", dense=True)
        if model.messages:
            _html("\n".join(model.messages[-6:][::-1]))


COMPONENTS = [
    (TheaterMap, 0),
    (EscalationCurves, 0),
    (RulesPanel, 0),
    (LastClimb, 0),
    (GamePanel, 0),
]
