"""The model the browser explorer steps, and the game it records.

:class:`ExplorerModel` is an :class:`~escalation_sim.model.EscalationModel`
built from a scenario *name* and a seed, so that Mesa's SolaraViz can rebuild
it from its parameter controls (scenario picker, seed) on Reset. Everything a
user does to it between steps — seat or unseat an actor, a seated actor's
move, a rule change in the rules panel — goes through the player hooks and
into its game record, which ``escalation-sim replay`` plays back bit for bit.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from escalation_sim.model.control import seat
from escalation_sim.model.model import EscalationModel
from escalation_sim.play import GameRecord, Move, apply_move, write_game
from escalation_sim.results import result_from_model
from escalation_sim.scenario.loader import load_scenario, scenario_from_dict, shipped_scenarios
from escalation_sim.scenario.schema import Scenario

#: Environment variables the ``app`` command sets for the served page.
ENV_SCENARIO = "ESCALATION_SIM_APP_SCENARIO"
ENV_OUT = "ESCALATION_SIM_APP_OUT"
#: The picker's name for the package defaults (no file).
DEFAULTS = "(package defaults)"
#: Days per turn for games hosted in the app (the Step button's default stride).
APP_TURN_DAYS = 7


def scenario_choices(start: str | Path | None = None) -> dict[str, Path | None]:
    """Scenarios the picker offers, by name.

    ``start`` first, then the files beside it (or in ``./scenarios``), then the
    scenarios shipped in the package, then the bare package defaults.
    """
    start = Path(start) if start else None
    folder = start.parent if start is not None else Path("scenarios")
    found: dict[str, Path | None] = {}
    if start is not None:
        found[start.stem] = start
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    for name, path in shipped_scenarios().items():
        found.setdefault(name, path)
    found[DEFAULTS] = None
    return found


def default_scenario_name() -> str:
    """The scenario the app opens with: the ``app`` command's argument, else May-30's."""
    names = list(scenario_choices(os.environ.get(ENV_SCENARIO)))
    if os.environ.get(ENV_SCENARIO):
        return names[0]
    return "may30_kharkiv_counterfire" if "may30_kharkiv_counterfire" in names else names[0]


def load_named(name: str) -> Scenario:
    """The scenario the picker names."""
    path = scenario_choices(os.environ.get(ENV_SCENARIO)).get(name)
    return load_scenario(path) if path is not None else scenario_from_dict({})


@dataclass
class AppGame:
    """The game a browser session records (what :func:`write_game` needs)."""

    model: EscalationModel
    record: GameRecord
    transcript: list[str] = field(default_factory=list)


class ExplorerModel(EscalationModel):
    """The escalation model as the browser explorer builds it: by scenario name and seed.

    Args:
        scenario_name: A name from :func:`scenario_choices`.
        seed: Seed of the model.
    """

    def __init__(self, scenario_name: str | None = None, seed: int = 1) -> None:
        name = scenario_name or default_scenario_name()
        scenario = load_named(name)
        super().__init__(scenario, seed=int(seed))
        self.scenario_name = name
        self.game = AppGame(self, GameRecord.start(scenario, int(seed), APP_TURN_DAYS, {}))
        self.messages: list[str] = []
        # Mesa binds ``step`` per instance (it advances time, then runs the model's step);
        # SolaraViz's Step may ask for more steps than remain, so guard the horizon here.
        self._mesa_step = self.step
        self.step = self._step_within_horizon

    # ------------------------------------------------------------------ between steps
    @property
    def now(self) -> int:
        """The model step just completed."""
        return round(self.time)

    @property
    def finished(self) -> bool:
        """True once the horizon is reached."""
        return self.now >= self.n_steps

    def _step_within_horizon(self) -> None:
        """One step, unless the horizon is reached (the page's controls stop there)."""
        if self.finished:
            self.running = False
            return
        self._mesa_step()
        self.running = not self.finished

    def set_seat(self, actor: str, seated: bool) -> None:
        """Seat an actor (a person decides for it from now on) or hand it back to the model."""
        if (actor in self.seated) == seated:
            return
        seat(self, actor, seated)
        self.game.record.add("seat", step=self.now, actor=actor, seated=seated)
        self._say(
            f"{actor} {'seated: a person decides for it' if seated else 'played by the model again'}"
        )

    def player_move(self, move: Move) -> None:
        """Apply a seated actor's move now (raises ``MoveError``; nothing applied then)."""
        apply_move(self, move)
        self.game.record.add(
            "move",
            turn=self.now // APP_TURN_DAYS + 1,
            step=self.now,
            day=self.now * self.step_days,
            actor=move.actor,
            player="app",
            move=move.as_record(),
        )
        self._say(f"{move.actor} moves: {move.choice or 'hold'} (from day {self.day_next:g})")

    def edit_rules(self, supplier: str, change: dict[str, Any]) -> None:
        """Change a supplier's rules now, seated or not (raises ``MoveError``; nothing applied then)."""
        cause = "rule change in the explorer"
        if supplier in self.seated:
            self.player_move(Move(supplier, None, change, cause))
            return
        self.change_rules(supplier, change, cause=cause)
        self.game.record.add("rules", step=self.now, actor=supplier, change=change, cause=cause)
        self._say(f"{supplier} rules changed: {change} (from day {self.day_next:g})")

    @property
    def day_next(self) -> float:
        """The day the next step simulates (when a change made now first takes effect)."""
        return (self.now + 1) * self.step_days

    def _say(self, text: str) -> None:
        date = self.spec.start_date + dt.timedelta(days=self.now * self.step_days)
        self.messages.append(f"day {self.now * self.step_days:g} ({date}): {text}")
        self.game.transcript.append(self.messages[-1])

    def save(self, out: Path | None = None) -> Path:
        """Write the run so far, its game record and transcript to a new directory."""
        base = Path(out or os.environ.get(ENV_OUT) or "results/app-games")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        target = (
            base / f"{self.scenario_name}-seed{self.seed}-day{self.now * self.step_days:g}-{stamp}"
        )
        result = result_from_model(self, game={"hosted_in": "app"})
        return write_game(self.game, result, target, plot=False)
