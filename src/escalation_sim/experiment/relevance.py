"""Which sampled assumptions the scenarios' decision models actually read.

Each actor's decision model is named in its scenario
(``decisions.actors.<id>.model``), and each model reads its own parameters
(:attr:`~escalation_sim.model.decisions.models.DecisionModel.reads`) besides
those every model shares (pressure decay, the weights of what it perceives,
commitment and credibility). Sampling a parameter no model of the experiment
reads only adds noise: its dimension takes a share of the Latin hypercube,
and its rank correlations with each conclusion's effect are pure chance, which
a reader of the dependence table cannot tell from a real dependence. So the
robustness experiment holds such assumptions at their defaults and says which
and why.

A dimension is *read* when at least one of its paths is read in at least one
scenario of the experiment. What decides it:

- ``decisions.actors.<id>.<field>`` where ``<field>`` belongs to one model
  only: read where actor ``<id>`` uses that model;
- ``options.<side>.<i>.cost`` / ``risk`` / ``answers``: read where an actor
  that chooses from that side's options uses a model that weighs options
  (``cost_benefit``; the ``pressure`` model takes the first option tied to a
  rung, whatever it costs);
- every other path: read (the battlefield, policy, perception and the
  ladders' thresholds are read by every model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from escalation_sim.model.decisions.models import decision_model
from escalation_sim.scenario.ranges import Dimension
from escalation_sim.scenario.schema import DecisionModelName, Scenario

#: Option fields that only a model which weighs options reads.
OPTION_TERMS = ("cost", "risk", "answers")


@dataclass(frozen=True, slots=True)
class HeldAssumption:
    """A range that is not sampled because no decision model of the experiment reads it.

    Attributes:
        dimension: The dimension's name (its path, or its pattern when shared).
        parameter: The parameter it sets (the path's last segment: ``climb_rate``, ``cost``).
        why: Which model reads it and which models the scenarios' actors use.
    """

    dimension: str
    parameter: str
    why: str


def _specific() -> dict[str, list[str]]:
    """Each model-specific decision parameter and the models that read it."""
    out: dict[str, list[str]] = {}
    for name in get_args(DecisionModelName):
        for fld in sorted(decision_model(name).reads):
            out.setdefault(fld, []).append(name)
    return out


def _option_users(sc: Scenario, side: str) -> list[str]:
    """The actors that choose from ``side``'s options (``Scenario.options_for``)."""
    return [a for a in sc.actors if sc.options_for(a) is sc.options.get(side)]


def _read(path: str, sc: Scenario, specific: dict[str, list[str]]) -> bool:
    """Whether ``path`` is read by the decision models of ``sc``'s actors."""
    parts = path.split(".")
    if len(parts) == 4 and parts[:2] == ["decisions", "actors"] and parts[3] in specific:
        aid = parts[2]
        return aid in sc.decisions.actors and sc.decisions.actors[aid].model in specific[parts[3]]
    if len(parts) == 4 and parts[0] == "options" and parts[3] in OPTION_TERMS:
        return any(
            decision_model(sc.decisions.actors[a].model).weighs_options
            for a in _option_users(sc, parts[1])
            if a in sc.decisions.actors
        )
    return True


def _models_used(scenarios: Sequence[Scenario], actors: Sequence[str]) -> str:
    used = sorted(
        {sc.decisions.actors[a].model for sc in scenarios for a in actors if a in sc.actors}
    )
    return ", ".join(used) or "none"


def _why(dim: Dimension, scenarios: Sequence[Scenario], specific: dict[str, list[str]]) -> str:
    parts = dim.paths[0].split(".")
    if parts[0] == "options":
        users = sorted({a for sc in scenarios for a in _option_users(sc, parts[1])})
        return (
            f"weighed only by the cost_benefit model; the actors choosing from {parts[1]}'s "
            f"options ({', '.join(users) or 'none'}) use {_models_used(scenarios, users)}"
        )
    actors = sorted({p.split(".")[2] for p in dim.paths})
    return (
        f"read only by the {' / '.join(specific[parts[3]])} model; "
        f"the actor(s) named use {_models_used(scenarios, actors)} here"
    )


def split_read(
    dimensions: Sequence[Dimension], scenarios: Sequence[Scenario]
) -> tuple[list[Dimension], list[HeldAssumption]]:
    """The dimensions some decision model of ``scenarios`` reads, and those held at defaults.

    Args:
        dimensions: The candidate dimensions (from the ranges).
        scenarios: The experiment's resolved scenarios.

    Returns:
        The dimensions to sample (in their order) and, for each one left out,
        why it is held at its default.
    """
    specific = _specific()
    kept: list[Dimension] = []
    held: list[HeldAssumption] = []
    for dim in dimensions:
        if any(_read(p, sc, specific) for p in dim.paths for sc in scenarios):
            kept.append(dim)
        else:
            parameter = dim.paths[0].rsplit(".", 1)[-1]
            held.append(HeldAssumption(dim.name, parameter, _why(dim, scenarios, specific)))
    return kept, held


def describe_held(held: Sequence[HeldAssumption]) -> list[str]:
    """One line per parameter and reason: ``climb_rate (RUS, UKR, ...): read only by ...``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for h in held:
        parts = h.dimension.split(".")
        who = parts[2] if parts[:2] == ["decisions", "actors"] else parts[1]
        groups.setdefault((h.parameter, h.why), []).append(who)
    return [f"{par} ({', '.join(who)}): {why}" for (par, why), who in groups.items()]
