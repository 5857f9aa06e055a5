"""Figures: every function takes the project's results or DataFrames and returns a Figure.

Functions build their own :class:`matplotlib.figure.Figure` (never the pyplot
state machine), so they work headless, in scripts, in the test suite and in
notebooks alike, and two calls never draw on each other's axes. Save a figure
with ``fig.savefig(path)``; release it with :func:`close`.

Colours are fixed across figures: each actor has its own colour from the
Okabe-Ito colour-blind-safe palette (:func:`actor_colour`); rule sets being
compared get shades of the colour-blind-safe *cividis* map in the order given
(:func:`label_colours`), and rungs of a ladder get shades of *viridis*, low to
high (:func:`rung_colours`).

Inputs, by figure:

* one run (a :class:`~escalation_sim.results.RunResult`): :func:`escalation_curve`,
  :func:`run_timeline`, :func:`theater_map` (units from :func:`unit_table`),
  :func:`withheld_by_rule`;
* an ensemble's tables (``aggregates``, ``rung_probability`` and ``runs``):
  :func:`fan_chart`, :func:`reach_probability`, :func:`reach_heatmap`,
  :func:`survival_curves`, :func:`withheld_by_rule`;
* a comparison (``comparison`` and per-label tables): :func:`paired_differences`,
  :func:`compare_fan`, :func:`compare_reach`, :func:`survival_curves`,
  :func:`tradeoff`, :func:`withheld_by_rule`;
* a sweep (``experiments``, ``outcomes``, ``sensitivity``): :func:`sweep_outcomes`,
  :func:`sensitivity_bars`;
* a robustness experiment (``conclusions``, ``dependence``): :func:`robustness_shares`.

Rung names for the axes come from a scenario (:func:`ladders_of`) or from a
``rung_probability`` table (:func:`ladders_from_probability`). Every title
names the scenario (or the rule sets) and the number of runs; every time axis
shows dates; every axis carries its unit (:func:`describe_outcome`).
"""

from escalation_sim.plots._style import (
    ACTOR_COLOURS,
    ACTOR_MARKERS,
    BETTER,
    GREY,
    LIGHT_GREY,
    OKABE_ITO,
    OUTCOMES,
    RUNG_STYLES,
    SPARE_COLOURS,
    actor_colour,
    better_direction,
    close,
    describe_outcome,
    label_colours,
    ladders_from_probability,
    ladders_of,
    posture_description,
    readable_cause,
    rung_colours,
)
from escalation_sim.plots.compare import compare_fan, compare_reach, paired_differences, tradeoff
from escalation_sim.plots.ensemble import (
    fan_chart,
    reach_heatmap,
    reach_probability,
    survival_curves,
)
from escalation_sim.plots.robustness import robustness_shares
from escalation_sim.plots.run import escalation_curve, run_timeline
from escalation_sim.plots.sweep import describe_parameter, sensitivity_bars, sweep_outcomes
from escalation_sim.plots.theater import CLASS_MARKERS, theater_map, unit_table
from escalation_sim.plots.withheld import withheld_by_rule

__all__ = [
    "ACTOR_COLOURS",
    "ACTOR_MARKERS",
    "BETTER",
    "CLASS_MARKERS",
    "GREY",
    "LIGHT_GREY",
    "OKABE_ITO",
    "OUTCOMES",
    "RUNG_STYLES",
    "SPARE_COLOURS",
    "actor_colour",
    "better_direction",
    "close",
    "compare_fan",
    "compare_reach",
    "describe_outcome",
    "describe_parameter",
    "escalation_curve",
    "fan_chart",
    "label_colours",
    "ladders_from_probability",
    "ladders_of",
    "paired_differences",
    "posture_description",
    "reach_heatmap",
    "reach_probability",
    "readable_cause",
    "robustness_shares",
    "run_timeline",
    "rung_colours",
    "sensitivity_bars",
    "survival_curves",
    "sweep_outcomes",
    "theater_map",
    "tradeoff",
    "unit_table",
    "withheld_by_rule",
]
