"""The theater map draws the polygon zones, the border and places readably.

Checks the points raised about the old map: zone labels buried under unit
markers, one marker ("+") meaning two things, a legend of some twenty entries;
and that zones are drawn as their outlines and strikes where they landed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Polygon

import escalation_sim as es
from escalation_sim import plots
from escalation_sim.plots.theater import CLASS_MARKERS

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def result():
    return es.run(SCENARIOS / "may30_kharkiv_counterfire.yaml", seed=2, days=40)


@pytest.fixture(scope="module")
def fig(result):
    return plots.theater_map(result)


def map_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


def test_zones_are_drawn_as_their_outlines_and_the_border_as_a_line(result, fig):
    zones = result.scenario.theater.zones
    for ax in map_axes(fig):
        outlines = [np.asarray(p.get_xy())[:-1] for p in ax.patches if isinstance(p, Polygon)]
        for zid, spec in zones.items():
            want = np.asarray(spec.outline())
            assert any(o.shape == want.shape and np.allclose(o, want) for o in outlines), zid
        border = [ln for ln in ax.get_lines() if np.allclose(ln.get_ydata(), 0.0)]
        assert border and max(ln.get_linewidth() for ln in border) >= 1.5


def test_zone_labels_and_places_sit_above_every_marker(result, fig):
    names = {z.name for z in result.scenario.theater.zones.values()}
    for ax in map_axes(fig):
        top_marker = max(c.get_zorder() for c in ax.collections if isinstance(c, PathCollection))
        labels = [t for t in ax.texts if t.get_text().replace("\n", " ") in names]
        assert labels, "no zone is labelled"
        assert all(t.get_zorder() > top_marker for t in labels)
        assert all(t.get_bbox_patch() is not None for t in labels)  # on a white ground


def test_no_marker_means_two_things_and_the_key_is_short(fig):
    legend_ax = next(ax for ax in fig.axes if not ax.axison)
    keys = [c for c in legend_ax.get_children() if isinstance(c, matplotlib.legend.Legend)]
    entries = [t.get_text() for k in keys for t in k.get_texts()]
    assert len(entries) <= 16, entries
    event_markers = {"o", "X"}
    assert event_markers.isdisjoint(CLASS_MARKERS.values())
    assert "+" not in CLASS_MARKERS.values() and "P" not in CLASS_MARKERS.values()


def test_strikes_are_drawn_where_they_landed(result, fig):
    strikes = [e for e in result.events if e["kind"] == "strike"]
    assert strikes and all("x_km" in e and "depth_km" in e for e in strikes)
    ax = map_axes(fig)[1]
    pts = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    # Every struck target's mean landing point (up to the suppliers' small jitter) is drawn.
    by_target: dict[str, list[tuple[float, float]]] = {}
    for e in strikes:
        by_target.setdefault(e["target"], []).append((e["x_km"], e["depth_km"]))
    for where in list(by_target.values())[:20]:
        x, d = np.mean(where, axis=0)
        assert (np.hypot(pts[:, 0] - x, pts[:, 1] - d) < 3.0).any()
