"""Draw every figure that a results directory supports (the drawing behind ``plot``).

A results directory says what it holds in ``metadata.json`` under ``kind``:
absent or ``"run"`` for one run (written by :func:`escalation_sim.write_run`),
``"ensemble"``, ``"compare"`` or ``"sweep"`` for the experiment commands'
outputs. :func:`draw_figures` reads the kind and calls the matching
``draw_*_figures`` function; the experiment code calls those directly (with
``main_only=True``) to draw its main figure when it writes its outputs.

Figures are written beside the data (or to ``out``) as ``<name>.<format>``;
every function returns the paths it wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from matplotlib.figure import Figure

from escalation_sim import plots  # the package's public figures

if TYPE_CHECKING:
    from escalation_sim.scenario.schema import Scenario

Format = Literal["png", "svg", "pdf"]
#: Output formats the command can write.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
#: Resolution of raster figures.
DPI = 150
#: Outcomes drawn against each swept parameter, when the sweep recorded them.
SWEEP_OUTCOMES = ("peak_rung.RUS", "fire_on_city", "strikes_in_russia", "withheld")
#: Outcomes of a comparison's main figure (a 3 x 3 grid), when the comparison has them.
COMPARE_OUTCOMES = (
    "fire_on_city",
    "harm",
    "withheld",
    "constrained",
    "strikes_in_russia",
    "losses.RUS",
    "peak_rung.RUS",
    "nato_conflict",
    "nuclear_use",
)
#: Series drawn in an ensemble's outcome fan chart, when the ensemble recorded them.
OUTCOME_SERIES = (
    "fire_on_city_cumulative",
    "harm_cumulative",
    "strikes_in_russia_cumulative",
    "withheld_cumulative",
)


class ResultsDirError(ValueError):
    """A results directory lacks a file its kind needs, or names an unknown kind."""


def result_kind(directory: Path) -> str:
    """What a results directory holds: ``run``, ``ensemble``, ``compare``, ``sweep`` or ``robustness``.

    Raises:
        ResultsDirError: ``metadata.json`` is missing or names an unknown kind.
    """
    meta = _metadata(Path(directory))
    kind = str(meta.get("kind") or "run")
    if kind not in DRAWERS:
        raise ResultsDirError(
            f"{directory}/metadata.json: unknown kind {kind!r}; expected one of {sorted(DRAWERS)}"
        )
    return kind


def _metadata(directory: Path) -> dict[str, Any]:
    path = directory / "metadata.json"
    if not path.is_file():
        raise ResultsDirError(
            f"{directory}: no metadata.json; is this a directory written by "
            "'escalation-sim run', 'ensemble', 'compare', 'sweep' or 'robustness'?"
        )
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsDirError(
            f"{path}: not readable JSON ({_first_line(exc)}); it should be the metadata an "
            "escalation-sim command wrote"
        ) from None
    if not isinstance(meta, dict):
        raise ResultsDirError(
            f"{path}: holds a {type(meta).__name__}, expected a mapping (kind, scenario, ...)"
        )
    return meta


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ResultsDirError(f"{path}: missing (needed for this figure)")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow, pandas and OS errors alike: the file is damaged
        raise ResultsDirError(
            f"{path}: cannot be read ({_first_line(exc)}); the file is damaged or truncated: "
            "run the command that wrote it again"
        ) from None


def _save(fig: Figure, out: Path, name: str, fmt: str) -> Path:
    """Write a figure whole or not at all: under a temporary name, then renamed into place.

    A disk that fills while the figure is written leaves the earlier figure (or
    none), never a cut-off file, and says so (:class:`ResultsDirError`).
    """
    path = out / f"{name}.{fmt}"
    tmp = out / f".{name}.{os.getpid()}.tmp.{fmt}"
    try:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format=fmt)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ResultsDirError(
            f"{path}: cannot be written ({exc.strerror or _first_line(exc)}); free disk space "
            f"or choose another folder, then draw it again with: escalation-sim plot {out}"
        ) from None
    finally:
        plots.close(fig)
    return path


def _target(directory: Path, out: Path | None) -> Path:
    target = Path(out) if out is not None else Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")


def _load_scenario(path: Path) -> Scenario | None:
    """The scenario saved beside the outputs, or ``None`` if absent or unreadable."""
    if not path.is_file():
        return None
    from escalation_sim.scenario import load_scenario

    try:
        return load_scenario(path)
    except Exception:  # a stale or foreign file must not stop the figures
        return None


def _scenario_context(
    directory: Path,
) -> tuple[Scenario | None, dict[str, list[str]] | None, str]:
    """The saved scenario, its ladders per actor and the target city's name (if known)."""
    sc = _load_scenario(directory / "scenario.resolved.yaml")
    if sc is None:
        for path in sorted(directory.glob("scenarios/*.yaml")):
            sc = _load_scenario(path)
            if sc is not None:
                break
    if sc is None:
        return None, None, "Kharkiv"
    return sc, plots.ladders_of(sc), sc.theater.places[sc.theater.target_city].name


def _draw(out: Path, fmt: str, figures: Iterator[tuple[str, Callable[[], Figure]]]) -> list[Path]:
    return [_save(make(), out, name, fmt) for name, make in figures]


# --------------------------------------------------------------------------- kinds


def draw_run_figures(
    directory: Path, *, fmt: Format | str = "png", out: Path | None = None, main_only: bool = False
) -> list[Path]:
    """Draw a run directory's figures.

    Figures: ``escalation_curve`` (the main one), ``run_timeline``,
    ``theater_map``, ``withheld_by_rule``.

    Args:
        directory: A directory written by :func:`escalation_sim.write_run`.
        fmt: ``png``, ``svg`` or ``pdf``.
        out: Where to write (default: ``directory``).
        main_only: Draw only the main figure.

    Returns:
        The paths written.
    """
    from escalation_sim.results import load_run

    _check_format(fmt)
    directory = Path(directory)
    try:
        result = load_run(directory)
    except (KeyError, TypeError) as exc:
        raise ResultsDirError(
            f"{directory}: metadata.json lacks or misstates {_first_line(exc)}"
        ) from None
    except Exception as exc:  # a damaged table or event log
        if isinstance(exc, ResultsDirError):
            raise
        raise ResultsDirError(
            f"{directory}: cannot be read ({_first_line(exc)}); a file is damaged or "
            "truncated: run the command that wrote it again"
        ) from None

    def figures() -> Iterator[tuple[str, Callable[[], Figure]]]:
        yield "escalation_curve", lambda: plots.escalation_curve(result)
        if main_only:
            return
        yield "run_timeline", lambda: plots.run_timeline(result)
        yield "theater_map", lambda: plots.theater_map(result)
        yield "withheld_by_rule", lambda: plots.withheld_by_rule(result)

    return _draw(_target(directory, out), fmt, figures())


def draw_ensemble_figures(
    directory: Path, *, fmt: Format | str = "png", out: Path | None = None, main_only: bool = False
) -> list[Path]:
    """Draw an ensemble directory's figures.

    Figures: ``fan_chart`` (each actor's rung, the main one), ``fan_chart_outcomes``,
    ``reach_probability``, ``reach_heatmap_RUS``, ``survival_RUS``, ``withheld_by_rule``.

    Args:
        directory: An ensemble's output (``runs.parquet``, ``aggregates.parquet``,
            ``rung_probability.parquet``, ``metadata.json``).
        fmt: ``png``, ``svg`` or ``pdf``.
        out: Where to write (default: ``directory``).
        main_only: Draw only the main figure.

    Returns:
        The paths written.
    """
    _check_format(fmt)
    directory = Path(directory)
    meta = _metadata(directory)
    aggregates = _read(directory / "aggregates.parquet")
    scenario = meta.get("scenario")
    sc, ladders, city = _scenario_context(directory)
    prob_path = directory / "rung_probability.parquet"
    prob = _read(prob_path) if prob_path.is_file() else None
    if ladders is None and prob is not None:
        ladders = plots.ladders_from_probability(prob)
    runs_path = directory / "runs.parquet"
    runs = _read(runs_path) if runs_path.is_file() else None
    n_runs = int(meta.get("runs") or (len(runs) if runs is not None else 0)) or None
    common = {"scenario": scenario, "n_runs": n_runs}

    def figures() -> Iterator[tuple[str, Callable[[], Figure]]]:
        yield "fan_chart", lambda: plots.fan_chart(aggregates, ladders=ladders, city=city, **common)
        if main_only:
            return
        present = set(aggregates["series"])
        outcome_series = [s for s in OUTCOME_SERIES if s in present]
        if outcome_series:
            yield (
                "fan_chart_outcomes",
                lambda: plots.fan_chart(aggregates, series=outcome_series, city=city, **common),
            )
        if prob is not None:
            yield "reach_probability", lambda: plots.reach_probability(prob, **common)
            for actor in ("RUS",):
                if actor in set(prob["actor"]):
                    yield (
                        f"reach_heatmap_{actor}",
                        lambda actor=actor: plots.reach_heatmap(prob, actor=actor, **common),
                    )
        if runs is not None:
            first = aggregates.sort_values("step")
            start = first["date"].iloc[0] if len(first) else None
            horizon = float(first["day"].max()) if len(first) else None
            if any(c.startswith("first_day_rung.RUS.") for c in runs.columns):
                yield (
                    "survival_RUS",
                    lambda: plots.survival_curves(
                        runs,
                        actor="RUS",
                        ladder=(ladders or {}).get("RUS"),
                        horizon_days=horizon,
                        start_date=start,
                        scenario=scenario,
                    ),
                )
            yield (
                "withheld_by_rule",
                lambda: plots.withheld_by_rule(runs, scenario=sc, scenario_name=scenario),
            )

    return _draw(_target(directory, out), fmt, figures())


def _labelled(directory: Path, folder: str, labels: list[str]) -> dict[str, pd.DataFrame]:
    base = directory / folder
    if not base.is_dir():
        return {}
    found = {p.stem: p for p in base.glob("*.parquet")}
    order = [lab for lab in labels if lab in found] + sorted(set(found) - set(labels))
    return {lab: _read(found[lab]) for lab in order}


def draw_compare_figures(
    directory: Path, *, fmt: Format | str = "png", out: Path | None = None, main_only: bool = False
) -> list[Path]:
    """Draw a comparison directory's figures.

    Figures: ``paired_differences`` (the headline outcomes of :data:`COMPARE_OUTCOMES`
    that the comparison has: the main one), ``compare_over_time``,
    ``compare_survival_RUS`` (time to each rung Russia reached, with intervals;
    the complement of the probability of reaching it), ``tradeoff`` (fire on
    the city against the risk of reaching each rung), ``withheld_by_rule``.

    Args:
        directory: A comparison's output (``comparison.parquet``, ``runs/``,
            ``aggregates/``, ``rung_probability/``, ``metadata.json``).
        fmt: ``png``, ``svg`` or ``pdf``.
        out: Where to write (default: ``directory``).
        main_only: Draw only the main figure.

    Returns:
        The paths written.
    """
    _check_format(fmt)
    directory = Path(directory)
    meta = _metadata(directory)
    comparison = _read(directory / "comparison.parquet")
    labels = [str(lab) for lab in meta.get("labels") or []]
    names = dict(zip(labels, [str(n) for n in meta.get("scenarios") or []], strict=False))
    order = [lab for lab in labels if lab in set(comparison["scenario"])] or None
    present = set(comparison["outcome"])
    headline = [o for o in COMPARE_OUTCOMES if o in present] or None
    sc, _, city = _scenario_context(directory)
    runs = _labelled(directory, "runs", labels)
    aggregates = _labelled(directory, "aggregates", labels)
    probs = _labelled(directory, "rung_probability", labels)
    ladders = plots.ladders_from_probability(next(iter(probs.values()))) if probs else None
    n_runs = max((len(r) for r in runs.values()), default=0) or None

    def figures() -> Iterator[tuple[str, Callable[[], Figure]]]:
        yield (
            "paired_differences",
            lambda: plots.paired_differences(
                comparison, outcomes=headline, order=order, names=names, city=city
            ),
        )
        if main_only:
            return
        if aggregates:
            present = set.intersection(*(set(a["series"]) for a in aggregates.values()))
            series = [s for s in ("rung.RUS", *OUTCOME_SERIES) if s in present]
            if series:
                yield (
                    "compare_over_time",
                    lambda: plots.compare_fan(
                        aggregates,
                        series=series,
                        ladders=ladders,
                        n_runs=n_runs,
                        city=city,
                        names=names,
                    ),
                )
        if runs:
            if all(
                any(c.startswith("first_day_rung.RUS.") for c in r.columns) for r in runs.values()
            ):
                start, horizon = None, None
                if aggregates:
                    first = next(iter(aggregates.values())).sort_values("step")
                    start, horizon = first["date"].iloc[0], float(first["day"].max())
                yield (
                    "compare_survival_RUS",
                    lambda: plots.survival_curves(
                        runs,
                        actor="RUS",
                        ladder=(ladders or {}).get("RUS"),
                        horizon_days=horizon,
                        start_date=start,
                        names=names,
                    ),
                )
            if all("peak_rung.RUS" in r and "fire_on_city" in r for r in runs.values()):
                yield (
                    "tradeoff",
                    lambda: plots.tradeoff(
                        runs,
                        actor="RUS",
                        ladder=(ladders or {}).get("RUS"),
                        city=city,
                        names=names,
                    ),
                )
            yield (
                "withheld_by_rule",
                lambda: plots.withheld_by_rule(runs, scenario=sc, names=names),
            )

    return _draw(_target(directory, out), fmt, figures())


def sweep_outcome_choice(
    outcomes: pd.DataFrame, analysed: list[str] | None = None, limit: int = 4
) -> list[str]:
    """Up to ``limit`` outcomes worth drawing against a sweep's parameters.

    Russia's peak rung and the headline outcomes first, then the outcomes the
    sweep analysed; outcomes that never varied are left out.
    """
    skip = {"point", "replication", "seed", "run", "scenario", "days"}
    order = [*SWEEP_OUTCOMES, *(analysed or []), *outcomes.columns]
    chosen: list[str] = []
    for name in dict.fromkeys(order):
        if name in skip or name not in outcomes.columns or name in chosen:
            continue
        values = pd.to_numeric(outcomes[name], errors="coerce")
        if values.notna().any() and values.nunique(dropna=True) > 1:
            chosen.append(name)
        if len(chosen) == limit:
            break
    return chosen


def draw_sweep_figures(
    directory: Path, *, fmt: Format | str = "png", out: Path | None = None, main_only: bool = False
) -> list[Path]:
    """Draw a sweep directory's figures.

    Figures: ``sweep_outcomes`` (up to four outcomes that varied, against each
    parameter: the main one) and, when the sweep computed indices, ``sensitivity``.

    Args:
        directory: A sweep's output (``experiments.parquet``, ``outcomes.parquet``,
            optional ``sensitivity.parquet`` or ``.csv``, ``metadata.json``).
        fmt: ``png``, ``svg`` or ``pdf``.
        out: Where to write (default: ``directory``).
        main_only: Draw only the main figure.

    Returns:
        The paths written.
    """
    _check_format(fmt)
    directory = Path(directory)
    meta = _metadata(directory)
    experiments = _read(directory / "experiments.parquet")
    outcomes = _read(directory / "outcomes.parquet")
    base, _, city = _scenario_context(directory)
    chosen = sweep_outcome_choice(outcomes, meta.get("outcomes_analysed"))
    sens_path = directory / "sensitivity.parquet"
    if not sens_path.is_file():
        sens_path = directory / "sensitivity.csv"

    def figures() -> Iterator[tuple[str, Callable[[], Figure]]]:
        yield (
            "sweep_outcomes",
            lambda: plots.sweep_outcomes(
                experiments,
                outcomes,
                outcome=chosen,
                scenario=meta.get("scenario"),
                city=city,
                base=base,
            ),
        )
        if main_only:
            return
        if sens_path.is_file():
            sens = _read(sens_path)
            if len(sens):
                yield (
                    "sensitivity",
                    lambda: plots.sensitivity_bars(
                        sens,
                        scenario=meta.get("scenario"),
                        n_runs=len(experiments),
                        city=city,
                        base=base,
                    ),
                )

    return _draw(_target(directory, out), fmt, figures())


def draw_robustness_figures(
    directory: Path, *, fmt: Format | str = "png", out: Path | None = None, main_only: bool = False
) -> list[Path]:
    """Draw a robustness directory's figure.

    Figure: ``robustness`` (share of assumption sets in which each conclusion
    holds, and the assumptions its verdict depends on; the only one, so
    ``main_only`` changes nothing).

    Args:
        directory: A robustness experiment's output (``conclusions.parquet``,
            ``dependence.parquet``, ``metadata.json``).
        fmt: ``png``, ``svg`` or ``pdf``.
        out: Where to write (default: ``directory``).
        main_only: Draw only the main figure.

    Returns:
        The paths written.
    """
    _check_format(fmt)
    directory = Path(directory)
    meta = _metadata(directory)
    conclusions = _read(directory / "conclusions.parquet")
    dep_path = directory / "dependence.parquet"
    dependence = _read(dep_path) if dep_path.is_file() else None

    def figures() -> Iterator[tuple[str, Callable[[], Figure]]]:
        yield "robustness", lambda: plots.robustness_shares(conclusions, dependence, meta=meta)

    return _draw(_target(directory, out), fmt, figures())


DRAWERS: dict[str, Callable[..., list[Path]]] = {
    "run": draw_run_figures,
    "ensemble": draw_ensemble_figures,
    "compare": draw_compare_figures,
    "sweep": draw_sweep_figures,
    "robustness": draw_robustness_figures,
}


def draw_figures(
    directory: Path, *, fmt: Format | str = "png", out: Path | None = None, main_only: bool = False
) -> list[Path]:
    """Draw every figure a results directory supports, whatever its kind.

    Args:
        directory: A run, ensemble, compare, sweep or robustness directory.
        fmt: ``png``, ``svg`` or ``pdf``.
        out: Where to write (default: ``directory``).
        main_only: Draw only the kind's main figure.

    Returns:
        The paths written.

    Raises:
        ResultsDirError: The directory is not a results directory or lacks a needed file.
    """
    kind = result_kind(directory)
    try:
        return DRAWERS[kind](Path(directory), fmt=fmt, out=out, main_only=main_only)
    except KeyError as exc:  # a field the figures need is missing from metadata.json
        raise ResultsDirError(
            f"{directory}/metadata.json: lacks the field {_first_line(exc)} this {kind} needs"
        ) from None
