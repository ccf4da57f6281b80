"""Each plot kind drawn with matplotlib carries exactly the series' data; SVGs can share one page."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.collections import EventCollection, LineCollection, PathCollection

from rigsync.verify.report_plots import draw, svg_markup
from rigsync.verify.result import Plot, Series


def _plot(kind: str, *series: Series, key: str = "k", title: str = "title") -> Plot:
    return Plot(key, title, kind, "time (s)", "skew (us)", series, "method")


A = Series("cam-a", (0.0, 1.0, 2.0), (5.0, 7.0, 6.0))
B = Series("cam-b", (0.5, 1.5), (-1.0, 2.5))


def test_line_and_points_draw_each_series_as_given() -> None:
    """line: one connected line per series with its x and y; points: the same data as unconnected markers."""
    for kind, linestyle in (("line", "-"), ("points", "None")):
        ax = draw(_plot(kind, A, B)).axes[0]
        lines = [ln for ln in ax.get_lines() if ln.get_label() in ("cam-a", "cam-b")]
        assert [(ln.get_label(), tuple(ln.get_xdata()), tuple(ln.get_ydata())) for ln in lines] == [
            ("cam-a", A.x, A.y), ("cam-b", B.x, B.y)]
        assert {ln.get_linestyle() for ln in lines} == {linestyle}
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cam-a", "cam-b"]
        assert (ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()) == ("title", "time (s)", "skew (us)")


def test_histogram_counts_every_finite_value_on_shared_bins() -> None:
    """histogram: each series' bars count all its finite values once, on bins shared by every series."""
    sample_a = Series("cam-a", (), (*(float(v) for v in np.linspace(0.0, 10.0, 200)), float("nan")))
    sample_b = Series("cam-b", (), (4.0, 5.0, 6.0))
    ax = draw(_plot("histogram", sample_a, sample_b)).axes[0]
    outlines = {p.get_label(): p.get_xy() for p in ax.patches}  # one step outline per series
    assert list(outlines) == ["cam-a (n = 200)", "cam-b (n = 3)"]
    # A step outline goes (edge 0, 0), (edge 0, count 0), (edge 1, count 0), (edge 1, count 1)... (last edge, 0).
    edges = [xy[0::2, 0] for xy in outlines.values()]
    assert np.array_equal(edges[0], edges[1]) and edges[0][0] == 0.0 and edges[0][-1] == 10.0
    for xy, s in zip(outlines.values(), (sample_a, sample_b), strict=True):
        finite = np.asarray(s.y)[np.isfinite(s.y)]
        assert xy[1:-1:2, 1].tolist() == np.histogram(finite, bins=edges[0])[0].tolist()


def test_events_are_lanes_of_marks_over_the_whole_recording() -> None:
    """events with y = 0: a lane per series, marks at event times, x spanning the recording and every event."""
    drops = Series("rs-right", (4.2, 7.9), (0.0, 0.0))
    none = Series("zed", (), ())
    ax = draw(_plot("events", drops, none), duration_s=60.0).axes[0]
    lanes = [c for c in ax.collections if isinstance(c, EventCollection)]
    assert [tuple(c.get_positions()) for c in lanes] == [(4.2, 7.9), ()]
    assert [c.get_lineoffset() for c in lanes] == [0.0, 1.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rs-right", "zed"]
    assert ax.get_xlim() == (-0.6, 60.6)  # the recording, with a 1 % margin
    late = Series("webcam", (-0.5, 10.2), (0.0, 0.0))  # before the first and after the last frameset
    assert draw(_plot("events", late), duration_s=10.0).axes[0].get_xlim() == pytest.approx((-0.607, 10.307))


def test_events_with_levels_are_stems_of_that_height() -> None:
    """events with a level: a vertical stem from 0 up to each event's level, at its time."""
    ax = draw(_plot("events", Series("cam-a", (2.0, 5.5), (1.0, 3.0)))).axes[0]
    (stems,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [tuple(map(tuple, seg)) for seg in stems.get_segments()] == [((2.0, 0.0), (2.0, 1.0)),
                                                                        ((5.5, 0.0), (5.5, 3.0))]


def test_scatter_draws_points_and_the_y_equals_x_line() -> None:
    """scatter: the (x, y) pairs, and a dashed y = x line across the whole range of both axes."""
    ax = draw(_plot("scatter", A)).axes[0]
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert points.get_offsets().tolist() == [[0.0, 5.0], [1.0, 7.0], [2.0, 6.0]]
    (identity,) = [ln for ln in ax.get_lines() if ln.get_label() == "y = x"]
    assert (tuple(identity.get_xdata()), tuple(identity.get_ydata())) == ((0.0, 7.0), (0.0, 7.0))


def test_marks_and_empty_plots_are_labelled() -> None:
    """Marks are labelled vertical lines at their x; a plot with no data says so instead of drawing blank axes."""
    ax = draw(_plot("line", A), marks=[(1.5, "clock step")]).axes[0]
    assert [tuple(ln.get_xdata()) for ln in ax.get_lines() if ln.get_linestyle() == "--"] == [(1.5, 1.5)]
    assert " clock step" in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in draw(_plot("histogram", Series("cam-a", (), ()))).axes[0].texts] == ["no data"]


def test_dollar_signs_are_text_not_math() -> None:
    """A '$' in a title or label is drawn literally (matplotlib would otherwise parse it as mathtext)."""
    svg = svg_markup(_plot("line", Series("cost $1", (0.0, 1.0), (0.0, 1.0)), B, title="$x$ skew"))
    assert "$x$ skew" in svg and "cost $1" in svg


def test_svgs_of_two_plots_share_no_id() -> None:
    """Inline SVGs keep only the ids they refer to, salted by plot key, so two can sit in one page."""
    ids = [set(re.findall(r' id="([^"]+)"', svg_markup(_plot("points", A, B, key=key)))) for key in ("one", "two")]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    svg = svg_markup(_plot("points", A, key="one"))
    assert all(f"#{i}" in svg for i in re.findall(r' id="([^"]+)"', svg))
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_dense_point_plots_are_rasterized_in_the_svg() -> None:
    """Points past 2,000 in a plot become embedded images, not thousands of SVG markers; fewer stay vector."""
    def plot(n: int) -> Plot:
        return _plot("points", *(Series(f"cam-{k}", tuple(i / 30 for i in range(n)), tuple(float(i % 7 + k)
                                                                                           for i in range(n)))
                                 for k in range(3)))

    dense, sparse = svg_markup(plot(700)), svg_markup(plot(600))
    assert dense.count("<image") >= 1 and 'xlink:href="data:image/png;base64,' in dense and dense.count("<use") < 100
    assert "<image" not in sparse and sparse.count("<use") > 1_800
