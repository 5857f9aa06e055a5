"""Withheld opportunities (the sanctuary) by the rule that forbade them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from escalation_sim.results import RunResult
    from escalation_sim.scenario.schema import Scenario

from escalation_sim.plots._style import (
    GREY,
    _figure,
    _fmt,
    _message,
    _nonzero_columns,
    _runs_phrase,
    _suptitle,
    _title_tail,
    actor_colour,
    label_colours,
)

#: Column prefixes of a ``runs`` table: per rule, the opportunities it withheld
#: (no allowed weapon) and those struck with a second-choice weapon instead.
WITHHELD = "withheld.rule."
CONSTRAINED = "constrained.rule."


def _rule_supplier(rule: str, scenario: Scenario | None) -> str | None:
    if ":" in rule:
        return rule.split(":", 1)[1]
    if scenario is not None:
        for sid, policy in scenario.rules.items():
            for posture in policy.postures.values():
                if any(r.id == rule for r in posture.rules):
                    return sid
        for change in scenario.schedule:
            if any(r.id == rule for r in change.add_rules):
                return change.supplier
    return None


def withheld_by_rule(
    source: RunResult | pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    scenario: Scenario | None = None,
    title: str | None = None,
    scenario_name: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Figure:
    """Strike opportunities the rules forbade (the "sanctuary"), by the rule that decided.

    * One run: per deciding rule, the opportunities withheld (no allowed weapon)
      and those struck with a second-choice weapon, with the forbidden weapons
      named; beside it, the depth of each forbidden opportunity.
    * An ensemble's ``runs`` table: mean withheld opportunities per run by rule,
      with the 5-95 % range across runs.
    * A mapping of label to ``runs`` table (a comparison): the same, one bar per label.

    Bars take the colour of the supplier whose rule decided (or of the label).

    Args:
        source: A :class:`RunResult`, a ``runs`` table, or ``{label: runs table}``.
        scenario: Used to name the supplier of each rule in a ``runs`` table.
        title: Override the title.
        scenario_name: Scenario name for the title of a ``runs`` table.
        names: Readable name of each label of a comparison, for the legend.

    Returns:
        The figure (two panels for one run, one otherwise).
    """
    from escalation_sim.results import RunResult

    if isinstance(source, RunResult):
        return _withheld_run(source, title)
    if isinstance(source, pd.DataFrame):
        return _withheld_runs({"": source}, scenario, title, scenario_name, None)
    return _withheld_runs(dict(source), scenario, title, scenario_name, names)


def _withheld_run(result: RunResult, title: str | None) -> Figure:
    sc = result.scenario
    ev = result.events_frame()
    forbidden = ev[ev["kind"].isin(["withheld", "constrained"])] if len(ev) else ev
    head = (
        title
        or f"Sanctuary: strike opportunities forbidden, by deciding rule — {sc.name} (1 run, seed {result.seed})"
    )
    if forbidden.empty:
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, "No strike opportunity was forbidden by a rule in this run.")
        _suptitle(fig, head)
        return fig
    counts = forbidden.groupby(["rule", "kind"]).size().unstack(fill_value=0)
    for kind in ("withheld", "constrained"):
        if kind not in counts:
            counts[kind] = 0
    counts = counts.loc[counts.sum(axis=1).sort_values().index]
    rules = list(counts.index)
    fig = _figure(13.0, 1.6 + 0.55 * len(rules) + 1.0)
    ax, ax_d = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1.25, 1]})
    y = np.arange(len(rules))
    rng = np.random.default_rng(0)
    for i, rule in enumerate(rules):
        sup = forbidden.loc[forbidden["rule"] == rule, "supplier"].mode().iloc[0]
        colour = actor_colour(str(sup))
        wh, co = int(counts.loc[rule, "withheld"]), int(counts.loc[rule, "constrained"])
        ax.barh(i, wh, color=colour, height=0.6)
        ax.barh(i, co, left=wh, color=colour, alpha=0.35, hatch="///", edgecolor=colour, height=0.6)
        sub = forbidden[forbidden["rule"] == rule]
        weapons = ", ".join(sub["weapon"].value_counts().index[:3])
        ax.annotate(
            f"{wh} withheld + {co} second-choice ({weapons})",
            (wh + co, i),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
        )
        for kind, colour_k, dy in (("withheld", "#000000", -0.12), ("constrained", GREY, 0.12)):
            d = sub.loc[sub["kind"] == kind, "depth_km"].to_numpy(dtype=float)
            if len(d):
                jitter = rng.uniform(-0.1, 0.1, len(d))
                ax_d.scatter(
                    d, i + dy + jitter, s=9, c=colour_k, alpha=0.5, linewidths=0, marker="o"
                )
    ax.set_yticks(y, rules, fontsize=8)
    ax.set_xlim(0, counts.sum(axis=1).max() * 1.7)
    ax.set_xlabel("opportunities (count)")
    ax.set_ylabel("deciding rule")
    ax.set_title(
        "Withheld (solid) + struck with a second-choice weapon (hatched); forbidden weapons in brackets",
        loc="left",
        fontsize=8.5,
    )
    ax_d.axvline(0, color="#000000", lw=1)
    ax_d.set_xlabel("depth of the target (km into Russia; negative = Ukraine)")
    ax_d.set_title("Where the forbidden opportunities lay", loc="left", fontsize=8.5)
    ax_d.legend(
        handles=[
            Line2D([], [], marker="o", ls="none", color="#000000", label="withheld"),
            Line2D([], [], marker="o", ls="none", color=GREY, label="second-choice weapon"),
        ],
        loc="lower right",
        fontsize=8,
        frameon=True,
    )
    _suptitle(fig, head)
    return fig


def _withheld_runs(
    runs_by_label: dict[str, pd.DataFrame],
    scenario: Scenario | None,
    title: str | None,
    scenario_name: str | None,
    names: Mapping[str, str] | None,
) -> Figure:
    labels = list(runs_by_label)
    forbidding: list[str] = []  # rules that withheld or constrained something, in any table
    for runs in runs_by_label.values():
        for col in _nonzero_columns(runs, WITHHELD) + _nonzero_columns(runs, CONSTRAINED):
            rule = col.split(".rule.", 1)[1]
            if rule not in forbidding:
                forbidding.append(rule)
    n_runs = {lab: len(r) for lab, r in runs_by_label.items()}
    single = labels == [""]
    if single:
        name = scenario_name or (
            str(runs_by_label[""]["scenario"].iloc[0]) if "scenario" in runs_by_label[""] else None
        )
        head = (
            title
            or "Sanctuary: forbidden strike opportunities per run, by deciding rule"
            + _title_tail(name, n_runs[""])
        )
    else:
        sizes = sorted(set(n_runs.values()))
        n = sizes[0] if len(sizes) == 1 else None
        head = title or "Sanctuary: forbidden strike opportunities per run, by deciding rule — " + (
            f"{len(labels)} rule sets" + (f" ({_runs_phrase(n)} each)" if n else "")
        )
    if not forbidding:
        fig = _figure(10.0, 3.0)
        ax = fig.subplots()
        _message(ax, "No strike opportunity was forbidden by a rule in any run.")
        _suptitle(fig, head)
        return fig

    def per_run(runs: pd.DataFrame, prefix: str, rule: str) -> np.ndarray:
        col = f"{prefix}{rule}"
        return runs[col].to_numpy(dtype=float) if col in runs else np.zeros(len(runs))

    rules = forbidding
    totals = {
        rule: sum(
            float((per_run(r, WITHHELD, rule) + per_run(r, CONSTRAINED, rule)).mean())
            for r in runs_by_label.values()
        )
        for rule in rules
    }
    rules.sort(key=lambda rule: totals[rule])  # the largest on top
    fig = _figure(11.5, 2.0 + (0.42 * len(labels) + 0.3) * len(rules))
    ax = fig.subplots()
    colours = label_colours(labels)
    height = 0.8 / len(labels)
    top = 0.0
    for k, (lab, runs) in enumerate(runs_by_label.items()):
        for i, rule in enumerate(rules):
            # The first rule set on top within each rule's group, as in the legend.
            y = i + ((len(labels) - 1) / 2 - k) * height
            wh = per_run(runs, WITHHELD, rule)
            co = per_run(runs, CONSTRAINED, rule)
            mean_wh = float(wh.mean()) if len(wh) else 0.0
            mean_co = float(co.mean()) if len(co) else 0.0
            lo, hi = np.percentile(wh + co, [5, 95]) if len(wh) else (0.0, 0.0)
            if single:
                supplier = _rule_supplier(rule, scenario)
                colour = actor_colour(supplier) if supplier else GREY
            else:
                colour = colours[lab]
            bar_h = height * 0.85
            ax.barh(
                y,
                mean_wh,
                height=bar_h,
                color=colour,
                label=(names or {}).get(lab, lab) if i == 0 and not single else None,
            )
            ax.barh(
                y,
                mean_co,
                left=mean_wh,
                height=bar_h,
                color=colour,
                alpha=0.35,
                hatch="///",
                edgecolor=colour,
                lw=0,
            )
            # The 5-95 % range along the bar's lower edge, so that it never hides the value.
            edge = y - bar_h * 0.38
            ax.plot([lo, hi], [edge, edge], color="#000000", lw=0.8, marker="|", ms=4)
            end = mean_wh + mean_co
            ax.annotate(
                f"{_fmt(mean_wh)} withheld + {_fmt(mean_co)} second-choice" if end else "none",
                (end, y),
                xytext=(4, 1),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
                color="#000000" if end else GREY,
            )
            top = max(top, end, float(hi))
    ax.set_yticks(range(len(rules)), rules, fontsize=8)
    ax.set_xlim(0, top * 1.45 or 1.0)
    ax.set_xlabel(
        "opportunities per run, mean: withheld (solid) + struck with a second-choice weapon "
        "(hatched); line: 5-95 % of runs (both together)",
        fontsize=8,
    )
    ax.set_ylabel("deciding rule")
    if not single:
        ax.legend(fontsize=8, frameon=False, loc="lower right", title="rule set", title_fontsize=8)
    _suptitle(fig, head)
    return fig


# --------------------------------------------------------------------------- ensembles
