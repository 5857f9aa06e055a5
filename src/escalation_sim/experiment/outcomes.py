"""What one run contributes to an experiment: a row of outcomes and its per-step series.

The row (one per run; the columns of ``runs.parquet`` and ``outcomes.parquet``):

* ``days``: the horizon run;
* ``peak_rung.<actor>``, ``final_rung.<actor>``: highest and last rung;
* ``first_day_rung.<actor>.<k>``: first day the actor stood at rung ``k`` or
  higher (0 if it started there, NaN if never), for every rung of its ladder;
* ``strikes``, ``strikes_in_russia`` and ``strikes_in_russia.supplier.<s>`` /
  ``.weapon.<w>``: strikes over the run; ``strikes.zone.<z>``: strikes by the
  zone the target stood in (both sides of the border);
* ``withheld`` and ``withheld.rule.<rule>``: opportunities no allowed weapon could
  take (the sanctuary), by the rule that forbade them; ``constrained`` and
  ``constrained.rule.<rule>``: struck with a second-choice weapon because the
  rule forbade the best one;
* ``fire_on_city`` (salvoes landed on the city over the run), ``harm`` (the
  cumulative civilian-harm index at the end), ``losses.RUS`` / ``losses.UKR``
  (units destroyed), ``alive.RUS`` / ``alive.UKR`` (units alive at the end);
* ``nato_conflict`` / ``nuclear_use`` (1 if it happened, else 0) and
  ``nato_conflict_day`` / ``nuclear_use_day`` (NaN if it did not).

The per-step series (aggregated into ``aggregates.parquet``) are each actor's
rung and pressure, each supplier's posture level, and the fire, harm, strike,
withheld, loss and alive counts of the time series, with cumulative versions of
fire, strikes inside Russia and withheld opportunities.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Column prefixes of per-run counts: a column absent from some runs means zero there.
COUNT_PREFIXES = (
    "strikes_in_russia.supplier.",
    "strikes_in_russia.weapon.",
    "strikes.zone.",
    "withheld.rule.",
    "constrained.rule.",
)

#: Per-step series taken as they are from the time series (when present).
PLAIN_SERIES = (
    "fire_on_city",
    "harm",
    "harm_cumulative",
    "strikes",
    "strikes_in_russia",
    "withheld",
    "constrained",
    "losses.RUS",
    "losses.UKR",
    "alive.RUS",
    "alive.UKR",
)
#: Per-step series accumulated over the run (name: source column).
CUMULATIVE_SERIES = {
    "fire_on_city_cumulative": "fire_on_city",
    "strikes_in_russia_cumulative": "strikes_in_russia",
    "withheld_cumulative": "withheld",
}

#: Outcomes compared by default between rule sets (``<russia>`` etc. are filled in).
KEY_OUTCOMES = (
    *("fire_on_city", "harm", "strikes_in_russia", "withheld", "constrained"),
    *("losses.RUS", "losses.UKR", "alive.RUS", "nato_conflict", "nuclear_use"),
)


def series_names(columns: Sequence[str], actor_ids: Sequence[str]) -> list[str]:
    """The per-step series kept for aggregation, in output order."""
    present = set(columns)
    names = [f"rung.{a}" for a in actor_ids] + [f"pressure.{a}" for a in actor_ids]
    names += [c for c in PLAIN_SERIES if c in present]
    names += [c for c, src in CUMULATIVE_SERIES.items() if src in present]
    names += [c for c in columns if c.startswith("posture_level.")]
    return names


#: A run's time series: a DataFrame, or :meth:`EscalationModel.series`'s dict of columns.
Series = pd.DataFrame | Mapping[str, Any]


def step_series(ts: Series, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The per-step values of ``names`` for one run (cumulative series computed here)."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        src = CUMULATIVE_SERIES.get(name)
        out[name] = np.cumsum(np.asarray(ts[src])) if src else np.asarray(ts[name])
    return out


@functools.lru_cache(maxsize=64)
def _prefixed(columns: tuple[str, ...]) -> dict[str, list[str]]:
    """The columns under each of :data:`COUNT_PREFIXES`, in table order.

    Every run of a scenario has the same columns, so an experiment's worker
    sorts them once, not once per run and prefix.
    """
    return {p: [c for c in columns if c.startswith(p)] for p in COUNT_PREFIXES}


def _sum_prefix(ts: Series, prefix: str, out: dict[str, Any]) -> None:
    for c in _prefixed(tuple(ts))[prefix]:
        out[c] = np.asarray(ts[c]).sum().item()


def run_outcomes(
    ts: Series,
    ladders: Mapping[str, int],
    nato_conflict_day: float | None,
    nuclear_use_day: float | None,
) -> dict[str, Any]:
    """One run's row of outcomes (see the module docstring for the columns).

    Args:
        ts: The run's time series (:meth:`EscalationModel.timeseries`, or its
            columns as :meth:`EscalationModel.series` gives them).
        ladders: Number of rungs of each actor's ladder, by actor id.
        nato_conflict_day: Day direct NATO-Russia conflict began, or ``None``.
        nuclear_use_day: Day of first nuclear use, or ``None``.
    """

    def col(name: str) -> np.ndarray:
        return np.asarray(ts[name])

    day = np.asarray(ts["day"], dtype=float)
    row: dict[str, Any] = {"days": float(day[-1])}
    reached: dict[str, Any] = {}
    for aid, n_rungs in ladders.items():
        rung = col(f"rung.{aid}")
        top = np.maximum.accumulate(rung)
        row[f"peak_rung.{aid}"] = int(top[-1])
        row[f"final_rung.{aid}"] = int(rung[-1])
        first = np.searchsorted(top, np.arange(n_rungs), side="left")
        for k in range(n_rungs):
            reached[f"first_day_rung.{aid}.{k}"] = (
                float(day[first[k]]) if first[k] < len(day) else np.nan
            )
    row.update(reached)
    row["strikes"] = int(col("strikes").sum())
    row["strikes_in_russia"] = int(col("strikes_in_russia").sum())
    _sum_prefix(ts, "strikes_in_russia.supplier.", row)
    _sum_prefix(ts, "strikes_in_russia.weapon.", row)
    _sum_prefix(ts, "strikes.zone.", row)
    row["withheld"] = int(col("withheld").sum())
    _sum_prefix(ts, "withheld.rule.", row)
    row["constrained"] = int(col("constrained").sum())
    _sum_prefix(ts, "constrained.rule.", row)
    row["fire_on_city"] = float(col("fire_on_city").sum())
    row["harm"] = float(col("harm_cumulative")[-1])
    row["losses.RUS"] = int(col("losses.RUS").sum())
    row["losses.UKR"] = int(col("losses.UKR").sum())
    row["alive.RUS"] = int(col("alive.RUS")[-1])
    row["alive.UKR"] = int(col("alive.UKR")[-1])
    row["nato_conflict"] = int(nato_conflict_day is not None)
    row["nato_conflict_day"] = np.nan if nato_conflict_day is None else float(nato_conflict_day)
    row["nuclear_use"] = int(nuclear_use_day is not None)
    row["nuclear_use_day"] = np.nan if nuclear_use_day is None else float(nuclear_use_day)
    return row


def key_outcomes(actor_ids: Sequence[str]) -> list[str]:
    """The outcomes compared by default: headline counts, each actor's peak rung, conflict."""
    return list(KEY_OUTCOMES) + [f"peak_rung.{a}" for a in actor_ids]
