"""The explorer page (``solara run escalation_sim.app.page``; ``escalation-sim app`` serves it).

Built on Mesa's SolaraViz: its sidebar holds the play/step/reset controls and
the model parameters (scenario picker and seed); the main area holds the
theater map, the escalation curves, the rules in force per supplier, the
explanation of the last climb and the game panel with seats for people.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz

from escalation_sim.app.components import COMPONENTS
from escalation_sim.app.session import ENV_SCENARIO, ExplorerModel, scenario_choices

#: The explorer's name: the browser tab's title and the heading of Mesa's app bar.
TITLE = "escalation-sim explorer"


def model_params(scenario_name: str, seed: int) -> dict:
    """SolaraViz parameter controls: the scenario picker and the seed."""
    import os

    return {
        "scenario_name": {
            "type": "Select",
            "value": scenario_name,
            "values": list(scenario_choices(os.environ.get(ENV_SCENARIO))),
            "label": "Scenario",
        },
        "seed": {
            "type": "SliderInt",
            "value": seed,
            "min": 0,
            "max": 999,
            "step": 1,
            "label": "Seed",
        },
    }


def explorer(scenario_name: str | None = None, seed: int = 1):
    """The explorer as an element (shown inline in Jupyter, or served as a page).

    Args:
        scenario_name: A name from :func:`~escalation_sim.app.session.scenario_choices`
            (default: the ``app`` command's scenario, else May-30's).
        seed: The first model's seed.
    """
    return _viz(ExplorerModel(scenario_name, seed), seed)


def _viz(model: ExplorerModel, seed: int):
    return SolaraViz(
        model,
        components=COMPONENTS,
        model_params=model_params(model.scenario_name, seed),
        name=TITLE,
        play_interval=300,
    )


@solara.component
def Page() -> None:
    """One explorer per browser session (each session steps its own model)."""
    model = solara.use_memo(ExplorerModel, [])
    solara.Title(TITLE)  # the browser tab's title (Solara otherwise names it after the module)
    _viz(model, model.seed)
