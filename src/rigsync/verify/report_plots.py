"""A :class:`~rigsync.verify.result.Plot` drawn with matplotlib: as SVG for the report, as PNG for ``--png``.

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot: no global figure registry, no backend
switch) and saved deterministically: no date or software version in the files, and the SVG's ids salted with the
plot's key so that several SVGs can sit inline in one HTML page without their ids colliding.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rigsync.core.errors import RigsyncError
from rigsync.verify.result import Plot, Series

__all__ = ["draw", "save_png", "svg_markup"]

FIGSIZE_IN = (10.0, 4.5)
PNG_DPI = 100
"""``--png`` images are 1000 x 450 pixels."""
_RASTER_POINTS = 2_000
"""A points or scatter plot of more values than this (all series together) has its markers drawn as one image
inside the SVG, at ``_RASTER_DPI``: one SVG element per marker would make a minute's skew plot over a megabyte.
Axes, text and lines stay vector."""
_RASTER_DPI = 150
_MAX_BINS = 80
_MARK_COLOUR = "#c0392b"
_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_PNG_METADATA = {"Software": None}


def _text(s: str) -> str:
    """Plain text for matplotlib: a ``$`` would otherwise start mathtext."""
    return s.replace("$", r"\$")


def _finite(values: Sequence[float]) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    a = np.asarray(values, dtype=np.float64)
    finite: np.ndarray[tuple[int], np.dtype[np.float64]] = a[np.isfinite(a)]
    return finite


def _line(ax: Axes, s: Series, *, points: bool, raster: bool) -> None:
    style = {"marker": ".", "linestyle": "none", "markersize": 4} if points else {"linewidth": 1.4}
    ax.plot(s.x, s.y, label=_text(s.label), rasterized=raster, **style)


def _histogram(ax: Axes, series: Sequence[Series]) -> None:
    samples = [_finite(s.y) for s in series]
    every = np.concatenate(samples) if samples else np.empty(0)
    if every.size == 0:
        return
    edges = np.histogram_bin_edges(every, bins="auto")
    if len(edges) > _MAX_BINS + 1:
        edges = np.histogram_bin_edges(every, bins=_MAX_BINS)
    bins = [float(e) for e in edges]
    for s, sample in zip(series, samples, strict=True):
        ax.hist(sample, bins=bins, histtype="step", linewidth=1.6, label=_text(f"{s.label} (n = {sample.size})"))


def _events(ax: Axes, series: Sequence[Series]) -> None:
    """One lane of marks per series; events that carry a level (a non-zero y) are drawn as stems of that height."""
    if any(v != 0 for s in series for v in s.y):
        for s in series:
            lines = ax.vlines(s.x, 0, s.y, linewidth=1.2, label=_text(s.label))
            ax.plot(s.x, s.y, marker="o", linestyle="none", markersize=3, color=lines.get_color())
        return
    for lane, s in enumerate(series):
        ax.eventplot([s.x], lineoffsets=lane, linelengths=0.7, linewidths=1.2, colors=[f"C{lane % 10}"])
    ax.set_yticks(range(len(series)), [_text(s.label) for s in series])
    ax.set_ylim(-0.6, len(series) - 0.4)


def _span(ax: Axes, series: Sequence[Series], duration_s: float) -> None:
    """The x axis over the whole recording, widened to any event outside it (the recording's duration is its
    first to last frameset: a drop at its very end, or an event before its start, lies outside), with a margin so
    that a mark at either end does not hide in the frame."""
    times = np.concatenate([_finite(s.x) for s in series]) if series else np.empty(0)
    lo = min(0.0, float(times.min())) if times.size else 0.0
    hi = max(duration_s, float(times.max())) if times.size else duration_s
    margin = (hi - lo) * 0.01
    ax.set_xlim(lo - margin, hi + margin)


def _scatter(ax: Axes, series: Sequence[Series], *, raster: bool) -> None:
    """y against x, with the line y = x (where a perfect measurement would put every point)."""
    for s in series:
        ax.scatter(s.x, s.y, s=10, label=_text(s.label), rasterized=raster)
    every = np.concatenate([_finite(s.x) for s in series] + [_finite(s.y) for s in series])
    if every.size:
        lo, hi = float(every.min()), float(every.max())
        ax.plot([lo, hi], [lo, hi], linestyle="--", linewidth=1.0, color="#777777", label="y = x")


def _has_data(plot: Plot) -> bool:
    return any(len(s.x) or len(s.y) for s in plot.series)


def draw(plot: Plot, *, duration_s: float | None = None, marks: Sequence[tuple[float, str]] = ()) -> Figure:
    """The plot as a matplotlib figure: its series, title, axis labels and legend.

    ``duration_s`` spans an events timeline over the whole recording (0 to the duration at least, so that a drop
    shows where in the recording it happened); ``marks`` are labelled vertical lines at x (a clock step...).
    """
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(_text(plot.title), loc="left", fontsize=12)
    ax.set_xlabel(_text(plot.x_label))
    ax.set_ylabel(_text(plot.y_label))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    raster = plot.kind in ("points", "scatter") and sum(len(s.x) for s in plot.series) > _RASTER_POINTS
    if plot.kind in ("line", "points"):
        for s in plot.series:
            _line(ax, s, points=plot.kind == "points", raster=raster)
    elif plot.kind == "histogram":
        _histogram(ax, plot.series)
    elif plot.kind == "events":
        _events(ax, plot.series)
        if duration_s is not None and duration_s > 0:
            _span(ax, plot.series, duration_s)
    else:
        _scatter(ax, plot.series, raster=raster)
    if not _has_data(plot):
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#777777")
    for x, label in marks:
        ax.axvline(x, color=_MARK_COLOUR, linestyle="--", linewidth=1.0)
        ax.text(x, 0.98, " " + _text(label), transform=ax.get_xaxis_transform(), va="top", color=_MARK_COLOUR)
    if ax.get_legend_handles_labels()[0] and (len(plot.series) > 1 or plot.kind == "scatter"):
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    return fig


_ID = re.compile(r' id="([^"]+)"')


def svg_markup(plot: Plot, *, duration_s: float | None = None) -> str:
    """The plot as an ``<svg>`` element to put inline in HTML (no XML prolog, only the ids the SVG refers to)."""
    fig = draw(plot, duration_s=duration_s)
    out = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": plot.key, "svg.fonttype": "none"}):
        fig.savefig(out, format="svg", dpi=_RASTER_DPI, metadata=_SVG_METADATA)
    text = out.getvalue()
    text = text[text.index("<svg"):]
    referenced = set(re.findall(r'#([^\s"\')]+)', text))
    return _ID.sub(lambda m: m.group(0) if m.group(1) in referenced else "", text).strip()


def save_png(plot: Plot, path: Path, *, duration_s: float | None = None,
             marks: Sequence[tuple[float, str]] = ()) -> None:
    """Write the plot as a PNG (``FIGSIZE_IN`` at ``PNG_DPI``), creating the folder; a RigsyncError names the file."""
    figure = draw(plot, duration_s=duration_s, marks=marks)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=PNG_DPI, metadata=_PNG_METADATA)
    except OSError as e:
        raise RigsyncError(f"{path}: cannot write the plot ({e.strerror or e})") from e
