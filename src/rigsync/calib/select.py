"""Which views the solution may use: those whose timing error, as far as the adjustment does not model it, is small.

Each corner's time is known from its member's stamp, exposure and row (:mod:`rigsync.calib.motion`). A frameset
whose corners' times spread (members exposed apart, rolling-shutter rows) has the board's motion modelled in the
adjustment, a constant velocity about a reference time; what that leaves out is counted per view::

    expected_error_px = v * error_bound + a * dt^2 / 2

``v`` and ``a`` the fastest corner's speed and acceleration in the camera's image from its neighbouring detections
(frames within three frame intervals; unknown otherwise), ``error_bound`` the member's stamp error bound (the stamp
decides the corner's time in the model), ``dt`` the view's farthest corner from the frameset's reference time (the
mean of its corners' times): the second-order term a constant velocity does not follow. A frameset whose corners
share one instant (up to stamp jitter) is one board pose, and its views expect, as without the model,

    expected_error_px = v * (|t_member - t_set| + error_bound + line_time * lowest_corner_row)

(``t_set`` the mean stamp of the frameset's views). Views over the limit are taken out of their frameset, worst
first, until every remaining view is within it; a view with a non-zero term whose speed or acceleration is unknown
(no neighbouring detection) is taken out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from rigsync.calib.motion import corner_times_ns, frameset_times, moving
from rigsync.calib.views import BoardView, FramesetViews

NEIGHBOUR_INTERVALS = 3.0
"""A detection counts as a neighbour for the board's speed when it is at most this many frame intervals away."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The views kept and those taken out, by frameset, with their expected corner error."""

    kept: tuple[FramesetViews, ...]
    """The framesets with at least one view within the limit, holding only those views."""
    rejected: tuple[tuple[FramesetViews, float], ...]
    """Per frameset that lost views: those views and the worst one's expected error (inf: speed unknown)."""
    expected_px: dict[int, float]
    """Every frameset's expected error before any view was taken out, pixels (by frameset id)."""
    limit_px: float


def _by_camera(views: list[BoardView]) -> list[tuple[str, list[BoardView], float]]:
    """Per camera: its views in time order and its median frame interval (ns; 0 with one view)."""
    by_key: dict[str, list[BoardView]] = defaultdict(list)
    for v in views:
        by_key[v.key].append(v)
    out = []
    for key, seq in by_key.items():
        seq.sort(key=lambda v: v.rig_time_ns)
        gaps = np.diff([v.rig_time_ns for v in seq])
        out.append((key, seq, float(np.median(gaps)) if len(gaps) else 0.0))
    return out


def speeds_px_per_ns(views: list[BoardView]) -> dict[tuple[str, int], float | None]:
    """Each view's fastest corner speed (pixels per nanosecond) from its camera's neighbouring detections."""
    out: dict[tuple[str, int], float | None] = {}
    for key, seq, interval in _by_camera(views):
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


def accels_px_per_ns2(views: list[BoardView]) -> dict[tuple[str, int], float | None]:
    """Each view's fastest corner acceleration (pixels per ns^2) from three consecutive detections of its camera
    (centred on it, else the two before or after it), frames within three frame intervals."""
    out: dict[tuple[str, int], float | None] = {}
    for key, seq, interval in _by_camera(views):
        for i, v in enumerate(seq):
            found = None
            for a, b, c in ((i - 1, i, i + 1), (i - 2, i - 1, i), (i, i + 1, i + 2)):
                if a >= 0 and c < len(seq):
                    found = _accel(seq[a], seq[b], seq[c], NEIGHBOUR_INTERVALS * interval)
                    if found is not None:
                        break
            out[(key, v.frameset_id)] = found
    return out


def _accel(a: BoardView, b: BoardView, c: BoardView, max_gap_ns: float) -> float | None:
    t0, t1, t2 = a.rig_time_ns, b.rig_time_ns, c.rig_time_ns
    if not (0 < t1 - t0 <= max_gap_ns and 0 < t2 - t1 <= max_gap_ns):
        return None
    ab, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
    _, iab, ic = np.intersect1d(ab, c.ids, return_indices=True)
    if len(ic) == 0:
        return None
    pa, pb, pc = a.pixels[ia[iab]], b.pixels[ib[iab]], c.pixels[ic]
    acc = 2.0 * ((pc - pb) / (t2 - t1) - (pb - pa) / (t1 - t0)) / (t2 - t0)
    return float(np.max(np.linalg.norm(acc, axis=1)))


def view_errors_px(fs: FramesetViews, speeds: dict[tuple[str, int], float | None],
                   line_ns: dict[str, float],
                   accels: dict[tuple[str, int], float | None] | None = None) -> list[float]:
    """Each view's expected corner error from what the adjustment does not model (inf: a term's speed or
    acceleration unknown). A frameset whose board motion is modelled (:func:`rigsync.calib.motion.moving`):
    ``speed * error_bound + accel * spread^2 / 2``; one that is not: ``speed * (lag + error_bound + line time *
    lowest row)``."""
    times = frameset_times(fs, line_ns)
    if accels is not None and moving(times):
        t_ref = float(np.mean(times))
        out = []
        for v in fs.views:
            spread = float(np.max(np.abs(corner_times_ns(v, line_ns.get(v.key, 0.0), fs.rig_time_ns) - t_ref)))
            speed, accel = speeds.get((v.key, fs.frameset_id)), accels.get((v.key, fs.frameset_id))
            stamp = 0.0 if v.error_bound_ns == 0 else float("inf") if speed is None else speed * v.error_bound_ns
            motion = 0.0 if spread == 0 else float("inf") if accel is None else 0.5 * accel * spread * spread
            out.append(stamp + motion)
        return out
    t_set = float(np.mean([v.rig_time_ns for v in fs.views]))
    out = []
    for v in fs.views:
        lag_ns = (abs(v.rig_time_ns - t_set) + v.error_bound_ns
                  + line_ns.get(v.key, 0.0) * float(np.max(v.pixels[:, 1])))
        speed = speeds.get((v.key, fs.frameset_id))
        out.append(0.0 if lag_ns == 0 else float("inf") if speed is None else speed * lag_ns)
    return out


def expected_error_px(fs: FramesetViews, speeds: dict[tuple[str, int], float | None],
                      line_ns: dict[str, float],
                      accels: dict[tuple[str, int], float | None] | None = None) -> float:
    """The largest expected corner error of a frameset's views."""
    return max(view_errors_px(fs, speeds, line_ns, accels))


def select(framesets: list[FramesetViews], line_ns: dict[str, float], limit_px: float,
           motion: bool = True) -> Selection:
    """Each frameset with the views whose expected corner error is over ``limit_px`` taken out, worst first
    (taking one out moves the set's reference time, so the rest are measured again). ``motion`` False: as if the
    adjustment modelled no motion (every frameset one instant)."""
    every = [v for fs in framesets for v in fs.views]
    speeds = speeds_px_per_ns(every)
    accels = accels_px_per_ns2(every) if motion else None
    kept, rejected, expected = [], [], {}
    for fs in framesets:
        views, dropped = list(fs.views), []
        expected[fs.frameset_id] = expected_error_px(fs, speeds, line_ns, accels)
        worst = 0.0
        while views:
            errors = view_errors_px(FramesetViews(fs.frameset_id, fs.rig_time_ns, tuple(views)), speeds, line_ns,
                                    accels)
            i = int(np.argmax(errors))
            if errors[i] <= limit_px:
                break
            worst = max(worst, errors[i])
            dropped.append(views.pop(i))
        if views:
            kept.append(FramesetViews(fs.frameset_id, fs.rig_time_ns, tuple(views)))
        if dropped:
            rejected.append((FramesetViews(fs.frameset_id, fs.rig_time_ns, tuple(dropped)), worst))
    return Selection(tuple(kept), tuple(rejected), expected, limit_px)
