"""Which framesets the solution may use: those whose timing keeps the board's corners where one board pose puts them.

One board pose per frameset assumes every member saw the board at the same moment. A member exposed ``dt`` away
from the others, while the board moves at ``v`` pixels per second in its image, sees the corners up to ``v * dt``
off. For each view this module estimates

    expected_error_px = v * (|t_member - t_set| + error_bound + line_time * lowest_corner_row)

where ``v`` is the fastest corner's speed between the camera's previous and next detections (frames within three
frame intervals; unknown otherwise), ``t_set`` the mean stamp of the frameset's views, ``error_bound`` the member's
stamp error bound, and the last term the rolling shutter's delay of the lowest row the board covers (0 for a global
shutter). A frameset is used when every view's expected error is at most the limit; a view whose speed is unknown
(no neighbouring detection) fails it unless it is the frameset's only view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from rigsync.calib.views import BoardView, FramesetViews

NEIGHBOUR_INTERVALS = 3.0
"""A detection counts as a neighbour for the board's speed when it is at most this many frame intervals away."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The framesets kept and those rejected, with each one's expected corner error."""

    kept: tuple[FramesetViews, ...]
    rejected: tuple[tuple[FramesetViews, float], ...]
    """Framesets over the limit and their expected error (inf: the board's speed was unknown)."""
    expected_px: dict[int, float]
    """Every frameset's expected error, pixels (by frameset id)."""
    limit_px: float


def speeds_px_per_ns(views: list[BoardView]) -> dict[tuple[str, int], float | None]:
    """Each view's fastest corner speed (pixels per nanosecond) from its camera's neighbouring detections."""
    by_key: dict[str, list[BoardView]] = defaultdict(list)
    for v in views:
        by_key[v.key].append(v)
    out: dict[tuple[str, int], float | None] = {}
    for key, seq in by_key.items():
        seq.sort(key=lambda v: v.rig_time_ns)
        gaps = np.diff([v.rig_time_ns for v in seq])
        interval = float(np.median(gaps)) if len(gaps) else 0.0
        for i, v in enumerate(seq):
            speeds = [s for j in (i - 1, i + 1) if 0 <= j < len(seq)
                      if (s := _speed(v, seq[j], NEIGHBOUR_INTERVALS * interval)) is not None]
            out[(key, v.frameset_id)] = max(speeds) if speeds else None
    return out


def _speed(a: BoardView, b: BoardView, max_gap_ns: float) -> float | None:
    dt = abs(b.rig_time_ns - a.rig_time_ns)
    if dt == 0 or dt > max_gap_ns:
        return None
    common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
    if len(common) == 0:
        return None
    return float(np.max(np.linalg.norm(a.pixels[ia] - b.pixels[ib], axis=1))) / dt


def expected_error_px(fs: FramesetViews, speeds: dict[tuple[str, int], float | None],
                      line_ns: dict[str, float]) -> float:
    """The largest expected corner error of a frameset's views (inf when a needed speed is unknown)."""
    t_set = float(np.mean([v.rig_time_ns for v in fs.views]))
    worst = 0.0
    for v in fs.views:
        lag_ns = (abs(v.rig_time_ns - t_set) + v.error_bound_ns
                  + line_ns.get(v.key, 0.0) * float(np.max(v.pixels[:, 1])))
        speed = speeds.get((v.key, fs.frameset_id))
        if speed is None:
            if len(fs.views) > 1 or lag_ns > 0:
                return float("inf")
            continue
        worst = max(worst, speed * lag_ns)
    return worst


def select(framesets: list[FramesetViews], line_ns: dict[str, float], limit_px: float) -> Selection:
    """The framesets whose expected corner error is at most ``limit_px``."""
    speeds = speeds_px_per_ns([v for fs in framesets for v in fs.views])
    kept, rejected, expected = [], [], {}
    for fs in framesets:
        e = expected_error_px(fs, speeds, line_ns)
        expected[fs.frameset_id] = e
        if e <= limit_px:
            kept.append(fs)
        else:
            rejected.append((fs, e))
    return Selection(tuple(kept), tuple(rejected), expected, limit_px)
