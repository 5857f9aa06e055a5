"""The result of one run: time series, event log, summary and metadata.

A :class:`RunResult` is what :func:`escalation_sim.run` returns and what the
``run`` command writes to disk. Writing is atomic: files go to a temporary
directory beside the target, which is renamed into place only when every file
is complete, so a failed or interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from escalation_sim.model.shared import SpecCache
from escalation_sim.scenario.loader import scenario_hash, scenario_to_dict, scenario_to_yaml
from escalation_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from escalation_sim.model.model import EscalationModel

#: Packages whose versions are recorded with every output.
RECORDED_PACKAGES = (
    "escalation-sim",
    "mesa",
    "numpy",
    "numba",
    "pandas",
    "pydantic",
    "matplotlib",
)

TIMESERIES_CSV = "timeseries.csv"
TIMESERIES_PARQUET = "timeseries.parquet"
EVENTS_JSONL = "events.jsonl"
SUMMARY_JSON = "summary.json"
METADATA_JSON = "metadata.json"
SCENARIO_YAML = "scenario.resolved.yaml"
CURVE_PNG = "escalation_curve.png"


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    versions = [("python", platform.python_version())]
    for name in RECORDED_PACKAGES:
        try:
            versions.append((name, importlib_metadata.version(name)))
        except importlib_metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return tuple(versions)


@functools.cache
def _machine() -> tuple[tuple[str, str], ...]:
    # The C library and whether the CPU has FMA decide the last bits of exp, expm1 and
    # log1p (glibc picks an FMA build of them where it can): see model/libm.py.
    from numpy._core._multiarray_umath import __cpu_features__

    return (
        ("platform", platform.platform()),
        ("processor", platform.machine()),
        ("c_library", " ".join(platform.libc_ver()) or "unknown"),
        ("fma", "yes" if __cpu_features__.get("FMA3") else "no"),
    )


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape results (looked up once per process)."""
    return dict(_versions())


#: A scenario's hash, worked out once per scenario object in a process: the hash
#: serialises the whole scenario (~1.3 ms) and the runs of an ensemble share one. Safe
#: because a validated scenario is read-only (a changed copy is another object), and
#: one that is not (assembled with model_copy) is never cached (model/shared.py).
_hashes: SpecCache[Scenario, str] = SpecCache(scenario_hash)


def run_metadata(scenario: Scenario, seed: int, **extra: Any) -> dict[str, Any]:
    """What produced an output: scenario, its hash, seed, versions, code path, machine, time.

    ``compiled_kernels`` says whether the model's numba kernels ran or its numpy
    code (the two give the same results bit for bit; it is recorded all the same).
    """
    from escalation_sim.model import kernels

    return {
        "scenario": scenario.name,
        "scenario_hash": _hashes.get(scenario),
        "seed": seed,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "compiled_kernels": kernels.enabled(),
        "machine": dict(_machine()),
        **extra,
    }


@dataclass
class RunResult:
    """One run's outputs.

    Attributes:
        scenario: The resolved scenario that was run.
        seed: The seed that was used.
        timeseries: One row per step (step 0 is the initial state).
        events: Every strike, withheld or constrained opportunity, decision and rule change.
        summary: Headline figures (see :func:`summarize`).
        metadata: Scenario hash, seed, package versions, time of the run.
        ladder: Rung names, lowest first (for labelling).
    """

    scenario: Scenario
    seed: int
    timeseries: pd.DataFrame
    events: list[dict[str, Any]]
    summary: dict[str, Any]
    metadata: dict[str, Any]
    ladder: list[str] = field(default_factory=list)

    def events_frame(self) -> pd.DataFrame:
        """The event log as a DataFrame (one row per event; fields absent for a kind are NaN)."""
        return pd.DataFrame(self.events)

    def describe(self) -> str:
        """The summary as a few lines of text for a terminal or a notebook."""
        return format_summary(self.summary)


def result_from_model(model: EscalationModel, **metadata: Any) -> RunResult:
    """The outputs of a model that has been run (or played) to where it stands now.

    Args:
        model: The model after its last step.
        **metadata: Extra fields for the run's metadata (e.g. the game's seats).
    """
    sc = model.spec
    columns = model.series()
    ts = pd.DataFrame(columns)  # as model.timeseries() builds it, from the same columns
    events = model.events.records() if model.record_events else []
    summary = summarize(
        columns, events, sc, model.seed, model.nato_conflict_day, model.nuclear_use_day
    )
    return RunResult(
        scenario=sc,
        seed=model.seed,
        timeseries=ts,
        events=events,
        summary=summary,
        metadata=run_metadata(sc, model.seed, **metadata),
        ladder=[r.name for r in sc.ladder.rungs],
    )


class _Columns:
    """A time series' columns as numpy arrays, each taken from the DataFrame once.

    Reading a column through pandas costs tens of microseconds a time; a summary
    reads some columns several times and sums dozens of them. Built from the
    columns themselves (:meth:`EscalationModel.series`: arrays, and lists for
    text), no DataFrame is read at all: a text column becomes an object array,
    as ``to_numpy`` gives it (a missing value is ``None`` there, NaN through
    pandas: both are missing to ``pd.isna``).
    """

    def __init__(self, ts: pd.DataFrame | Mapping[str, Any]) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        if isinstance(ts, pd.DataFrame):
            self.names = list(ts.columns)
            self._ts: pd.DataFrame | None = ts
        else:
            self.names = list(ts)
            self._ts = None
            for name, values in ts.items():
                self._arrays[name] = (
                    values if isinstance(values, np.ndarray) else np.array(values, dtype=object)
                )

    def __contains__(self, name: str) -> bool:
        return name in self._arrays or (self._ts is not None and name in self._ts.columns)

    def __getitem__(self, name: str) -> np.ndarray:
        arr = self._arrays.get(name)
        if arr is None:
            if self._ts is None:
                raise KeyError(name)
            arr = self._arrays[name] = self._ts[name].to_numpy()
        return arr

    def prefixed(self, prefix: str) -> list[str]:
        """The columns whose names start with ``prefix``, in table order."""
        return [c for c in self.names if c.startswith(prefix)]


def _columns(cols: _Columns, prefix: str) -> dict[str, int]:
    totals = {c[len(prefix) :]: int(cols[c].sum()) for c in cols.prefixed(prefix)}
    return {k: v for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])) if v}


def summarize(
    ts: pd.DataFrame | Mapping[str, Any],
    events: list[dict[str, Any]],
    scenario: Scenario,
    seed: int,
    nato_conflict_day: float | None,
    nuclear_use_day: float | None,
) -> dict[str, Any]:
    """Headline figures of a run, computed from its time series and events.

    ``ts`` is the time series as a DataFrame (:meth:`EscalationModel.timeseries`)
    or its columns (:meth:`EscalationModel.series`, which skips reading a frame).
    """
    cols = _Columns(ts)
    day = cols["day"]
    peak: dict[str, Any] = {}
    for aid in scenario.actors:
        rungs = [r.name for r in scenario.ladder_for(aid).rungs]
        series = cols[f"rung.{aid}"]
        at = int(series.argmax())  # the first step at the peak, as ``Series.idxmax``
        top = int(series[at])
        first = day[at] if top > int(series[0]) else 0.0
        peak[aid] = {"rung": top, "name": rungs[top], "day": float(first)}
    # From the time series, so it holds whether or not the event log was kept.
    first_strike: dict[str, float] = {}
    prefix = "strikes_in_russia.supplier."
    for col in cols.prefixed(prefix):
        days = day[cols[col] > 0]
        if len(days):
            first_strike[col[len(prefix) :]] = float(days[0])
    first_strike = dict(sorted(first_strike.items(), key=lambda kv: (kv[1], kv[0])))
    return {
        "scenario": scenario.name,
        "seed": seed,
        "days": float(day[-1]),
        "peak_rung": peak,
        "final_rung": {aid: int(cols[f"rung.{aid}"][-1]) for aid in scenario.actors},
        "strikes_in_russia": {
            "total": int(cols["strikes_in_russia"].sum()),
            "by_supplier": _columns(cols, "strikes_in_russia.supplier."),
            "by_weapon": _columns(cols, "strikes_in_russia.weapon."),
        },
        "withheld": {
            "total": int(cols["withheld"].sum()),
            "by_rule": _columns(cols, "withheld.rule."),
        },
        "constrained": int(cols["constrained"].sum()),
        "fire_on_city": float(cols["fire_on_city"].sum()),
        "harm": float(cols["harm_cumulative"][-1]),
        "losses": {"RUS": int(cols["losses.RUS"].sum()), "UKR": int(cols["losses.UKR"].sum())},
        # Initial forces plus the reserves drawn: losses can never exceed it.
        "forces_and_reserves": {
            side: int(cols[f"forces_and_reserves.{side}"][-1])
            for side in ("RUS", "UKR")
            if f"forces_and_reserves.{side}" in cols
        },
        "strike_outcomes": _columns(cols, "strikes.outcome."),
        "first_strike_in_russia_day": first_strike,
        "nato_conflict_day": nato_conflict_day,
        "nuclear_use_day": nuclear_use_day,
        "rule_changes": _rule_changes(cols, events, scenario),
        "escalation_score": _escalation_scores(cols, scenario),
    }


def _rule_changes(
    cols: _Columns, events: list[dict[str, Any]], scenario: Scenario
) -> list[dict[str, Any]]:
    """The rule changes that took effect (a posture switched, rules added or removed), in order.

    From the event log when it was kept (with causes); otherwise the posture
    switches read from the time series.
    """
    if events:
        return [
            {k: e[k] for k in ("day", "actor", "change", "from_posture", "to_posture", "added")}
            | {"removed": e["removed"], "cause": e["cause"]}
            for e in events
            if e.get("kind") == "rule_change"
            and (e["from_posture"] != e["to_posture"] or e["added"] or e["removed"])
        ]
    out = []
    day = cols["day"]
    for sid in scenario.rules:
        col = f"posture.{sid}"
        if col not in cols:
            continue
        posture = cols[col]
        # A switch is a step whose posture differs from the one before (the first has none).
        for i in range(1, len(posture)):
            before = posture[i - 1]
            if posture[i] != before and not pd.isna(before):
                out.append(
                    {
                        "day": float(day[i]),
                        "actor": sid,
                        "change": "posture",
                        "from_posture": str(before),
                        "to_posture": str(posture[i]),
                        "added": [],
                        "removed": [],
                        "cause": "",
                    }
                )
    return sorted(out, key=lambda c: c["day"])


def _escalation_scores(cols: _Columns, scenario: Scenario) -> dict[str, dict[str, int]]:
    """Per actor, the Rivera et al. (2024) score of its acts: peak (one act) and cumulative."""
    out = {}
    for aid in scenario.actors:
        col = f"score.{aid}"
        if col in cols:
            out[aid] = {"peak": int(cols[col].max()), "cumulative": int(cols[col].sum())}
    return out


def format_summary(s: dict[str, Any]) -> str:
    """Render a run summary for people."""
    lines = [f"{s['scenario']} — seed {s['seed']}, {s['days']:g} days", "", "Peak rung per actor:"]
    for aid, p in s["peak_rung"].items():
        when = f"day {p['day']:g}" if p["day"] else "at start"
        lines.append(f"  {aid:<4} {p['rung']}  {p['name']:<34} ({when})")
    sir = s["strikes_in_russia"]
    lines += ["", f"Strikes inside Russia: {sir['total']}"]
    if sir["by_supplier"]:
        lines.append(
            "  by supplier: " + ", ".join(f"{k} {v}" for k, v in sir["by_supplier"].items())
        )
        lines.append("  by weapon:   " + ", ".join(f"{k} {v}" for k, v in sir["by_weapon"].items()))
    if s.get("strike_outcomes"):
        lines.append(
            "  outcomes:    " + ", ".join(f"{k} {v}" for k, v in s["strike_outcomes"].items())
        )
    wh = s["withheld"]
    lines += ["", f"Withheld opportunities (no allowed weapon): {wh['total']}"]
    for rule, n in wh["by_rule"].items():
        lines.append(f"  {n:>5}  {rule}")
    lines.append(
        f"Struck with a second-choice weapon because the best was forbidden: {s['constrained']}"
    )
    lines += [
        "",
        f"Fire landing on the city: {s['fire_on_city']:.0f} salvoes; harm index {s['harm']:.0f}",
        f"Units destroyed: Russia {s['losses']['RUS']}, Ukraine {s['losses']['UKR']}"
        + (
            f" (of {s['forces_and_reserves']['RUS']} and {s['forces_and_reserves']['UKR']} "
            "deployed or drawn from reserve)"
            if {"RUS", "UKR"} <= set(s.get("forces_and_reserves", {}))
            else ""
        ),
        "Direct NATO-Russia conflict: "
        + ("no" if s["nato_conflict_day"] is None else f"day {s['nato_conflict_day']:g}"),
        "Nuclear use: "
        + ("no" if s["nuclear_use_day"] is None else f"day {s['nuclear_use_day']:g}"),
    ]
    changes = s.get("rule_changes", [])
    lines += ["", f"Rule changes that took effect: {len(changes) or 'none'}"]
    for c in changes:
        what = (
            [f"{c['from_posture']} -> {c['to_posture']}"]
            if c["from_posture"] != c["to_posture"]
            else []
        )
        what += [f"+{r}" for r in c["added"]] + [f"-{r}" for r in c["removed"]]
        cause = f"  ({c['cause']})" if c["cause"] else ""
        lines.append(
            f"  day {c['day']:>3g}  {c['actor']:<4} {c['change']:<9} {', '.join(what)}{cause}"
        )
    scores = s.get("escalation_score") or {}
    if scores:
        lines += ["", "Escalation score (Rivera et al. 2024), peak act / cumulative:"]
        lines += [f"  {aid:<4} {v['peak']:>3} / {v['cumulative']}" for aid, v in scores.items()]
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    """Write records as JSON Lines."""
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, default=_json_default, ensure_ascii=False) + "\n")


def write_json(data: Any, path: Path) -> None:
    """Write indented JSON."""
    path.write_text(
        json.dumps(data, indent=2, default=_json_default, ensure_ascii=False) + "\n", "utf-8"
    )


#: The file that marks a directory as written by this tool (``--force`` replaces only those).
OUTPUT_MARKER = ".escalation-sim-output"


class OutputError(Exception):
    """An output directory cannot be written as asked; the message says what to do instead.

    The command line prints it as ``error: <message>`` and exits with status 2.
    """


class OutputExistsError(OutputError, FileExistsError):
    """The output directory exists and replacing it was not asked for."""


def is_output_directory(path: Path) -> bool:
    """Whether ``path`` is a directory this tool wrote (its marker, or an older output's metadata).

    Outputs written before the marker existed are recognised by a ``metadata.json``
    that records this package's version.
    """
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return False
    if (path / OUTPUT_MARKER).is_file():
        return True
    try:
        meta = json.loads((path / METADATA_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    versions = meta.get("versions") if isinstance(meta, dict) else None
    return isinstance(versions, dict) and "escalation-sim" in versions


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(out: Path, *, force: bool = False, inputs: Sequence[Path] = ()) -> None:
    """Refuse, before any work, an output directory that cannot be (re)placed safely.

    Args:
        out: The output directory.
        force: Replacing an existing output directory of this tool is allowed.
        inputs: Files the command reads (scenarios, sweep files): ``out`` may not hold them.

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is false.
        OutputError: ``out`` is the current directory or above it, holds an input,
            or exists but is not an output directory this tool wrote.
    """
    out = Path(out)
    target = out.resolve()
    here = Path.cwd().resolve()
    if _inside(here, target):
        raise OutputError(
            f"--out {out} is the current directory or one above it; "
            "give a new directory for the outputs, e.g. --out results/run"
        )
    for item in inputs:
        if _inside(Path(item).resolve(), target):
            raise OutputError(
                f"--out {out} holds {item}, an input of this command; "
                "choose an output directory of its own"
            )
    if not (out.exists() or out.is_symlink()):
        return
    if not out.is_dir():
        raise OutputError(f"--out {out} is a file; expected a directory for the results")
    if not force:
        raise OutputExistsError(f"{out} exists; choose another --out or pass --force to replace it")
    if not is_output_directory(out):
        raise OutputError(
            f"{out} exists and is not an output directory of escalation-sim (no {OUTPUT_MARKER} "
            "file): --force replaces only directories this tool wrote; remove it yourself "
            "or choose another --out"
        )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_directory(
    out: Path, fill: Any, *, force: bool = False, inputs: Sequence[Path] = ()
) -> Path:
    """Create ``out`` whole or not at all.

    ``fill(tmp_dir)`` writes every file into a temporary directory beside
    ``out``; only when it returns is the marker added and the directory renamed
    into place, with the permissions of any new directory (the umask's). If
    ``fill`` raises (or the process is interrupted), the temporary directory is
    removed and ``out`` is untouched. An existing ``out`` is replaced only with
    ``force`` and only if this tool wrote it (see :func:`check_output`).

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is false.
        OutputError: ``out`` may not be replaced (see :func:`check_output`).
    """
    out = Path(out)
    check_output(out, force=force, inputs=inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        fill(tmp)
        marker = {"written_by": "escalation-sim", "version": package_versions()["escalation-sim"]}
        (tmp / OUTPUT_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        # mkdtemp makes 0700 directories; an output is shared like any other directory.
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            check_output(out, force=force, inputs=inputs)  # still ours after the work?
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, trash / out.name)
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_run(
    result: RunResult,
    out: Path,
    *,
    force: bool = False,
    extra: Callable[[Path], None] | None = None,
    inputs: Sequence[Path] = (),
) -> Path:
    """Write a run's outputs to ``out`` atomically; returns ``out``.

    Files: ``timeseries.csv`` and ``.parquet``, ``events.jsonl``, ``summary.json``,
    ``metadata.json`` (with the resolved scenario) and ``scenario.resolved.yaml``.
    ``extra`` is called with the staging directory before it is published, so a
    caller can add files (the figures: results never draw) that appear together
    with the data or not at all.
    """

    def fill(tmp: Path) -> None:
        result.timeseries.to_csv(tmp / TIMESERIES_CSV, index=False)
        result.timeseries.to_parquet(tmp / TIMESERIES_PARQUET, index=False)
        write_jsonl(result.events, tmp / EVENTS_JSONL)
        write_json(result.summary, tmp / SUMMARY_JSON)
        write_json(
            {**result.metadata, "resolved_scenario": scenario_to_dict(result.scenario)},
            tmp / METADATA_JSON,
        )
        (tmp / SCENARIO_YAML).write_text(scenario_to_yaml(result.scenario), encoding="utf-8")
        if extra is not None:
            extra(tmp)

    return atomic_directory(out, fill, force=force, inputs=inputs)


def load_run(path: Path) -> RunResult:
    """Load a run directory written by :func:`write_run`."""
    from escalation_sim.scenario.loader import scenario_from_dict

    path = Path(path)
    meta = json.loads((path / METADATA_JSON).read_text("utf-8"))
    scenario_data = meta.pop("resolved_scenario")
    scenario = Scenario.model_validate(scenario_data) if scenario_data else scenario_from_dict({})
    ts = pd.read_parquet(path / TIMESERIES_PARQUET)
    with (path / EVENTS_JSONL).open(encoding="utf-8") as fh:
        events = [json.loads(line) for line in fh if line.strip()]
    summary = json.loads((path / SUMMARY_JSON).read_text("utf-8"))
    return RunResult(
        scenario,
        int(meta["seed"]),
        ts,
        events,
        summary,
        meta,
        [r.name for r in scenario.ladder.rungs],
    )
