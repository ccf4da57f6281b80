"""The board's motion within a frameset: when each corner was seen, and the board pose at that instant.

**When a corner was seen.** A view's stamp (``BoardView.rig_time_ns``) is the member's estimated start of
exposure on the rig clock (of row 0 for a rolling shutter). A corner detected at pixel row ``y`` (the distorted,
detected row) was seen at the middle of that row's exposure::

    t = rig_time_ns + exposure_ns / 2 + line_ns * y

(``line_ns`` from ``catalog.rows.line_ns``: 0 for a global shutter; ``exposure_ns`` the member's recorded exposure,
0 when not known). This is the simulator's truth too (``drivers/sim/_board_paint.row_times_ns``).

**The board at time t.** Each frameset ``k`` has a reference time ``T_k`` (the mean of its corners' times) and a
reference pose ``R_k, t_k`` (``rig_from_board``). When its corners' times spread over more than
:data:`MODEL_SPREAD_NS` (members exposed at different instants, a rolling shutter's rows), it also has a constant
angular velocity ``w`` (rad/s, rig frame) and linear velocity ``v`` (m/s, of the board point ``c``, the mean of the
board's corners) about that pose::

    x_rig(t) = Exp(w (t - T_k)) R_k (x_board - c) + R_k c + t_k + v (t - T_k)

Framesets whose corners share one instant up to the stamps' jitter (a triggered global-shutter rig: tens of
microseconds) have no velocity unknowns: their solution is the one-pose solution.

**Why the velocity is well determined: a smoothness prior.** A single rolling-shutter view determines its board's
velocity only weakly (from the skew of the board over its rows), and a frameset seen at nearly one instant not at
all. The board is moved smoothly by hand, so each moving frameset's velocity is tied to the finite difference of
its neighbouring framesets' reference poses (the previous and next framesets of the adjustment within
:data:`NEIGHBOUR_NS`; the frameset itself stands in for a missing one; neither: tied to zero, loosely): residual
``(velocity - difference) / sigma`` with ``sigma`` what a hand's acceleration and jerk can make the difference miss
by (``ACCEL * |T_k - midpoint| + JERK * h- * h+ / 6 + floor``), weighted as one corner of
:data:`CORNER_NOISE_PX`. The neighbours' poses are unknowns of the same adjustment (not fixed from the initial
estimate, whose single-view poses are mm-noisy): data and prior are solved together. The velocities start at that
difference of the initial poses. The prior, not the data alone, is what keeps the 6 extra unknowns from trading
off against the pose when one camera saw the board.

What stays unmodelled (:mod:`rigsync.calib.select` counts it): the stamps' error bound times the board's speed,
and the board's acceleration over the frameset's time spread (``a * dt^2 / 2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.views import BoardView, FramesetViews

MODEL_SPREAD_NS = 100_000.0
"""A frameset's board motion is modelled when its corners' times spread over more than this (0.1 ms): below it the
spread is stamp jitter (triggered members agree to tens of microseconds), counted by the selection instead."""
NEIGHBOUR_NS = 120_000_000.0
"""A frameset's neighbours for the velocity prior: the nearest adjusted framesets before and after, this close."""
ACCEL_M_S2 = 5.0
ACCEL_RAD_S2 = 20.0
"""A hand-held board's acceleration the prior allows (the difference is taken about a midpoint off ``T_k``)."""
JERK_M_S3 = 150.0
JERK_RAD_S3 = 600.0
"""... and its jerk (the central difference's error, ``jerk * h- * h+ / 6``)."""
FLOOR_M_S = 0.005
FLOOR_RAD_S = 0.02
"""The prior's sigma at least this (the neighbouring poses' own noise over ~67 ms)."""
FREE_M_S = 2.0
FREE_RAD_S = 8.0
"""Sigma of the zero-velocity prior of a frameset with no neighbour (only bounds the velocity)."""
CORNER_NOISE_PX = 0.2
"""One sigma of the prior weighs as a corner detection error of this many pixels."""


def corner_times_ns(view: BoardView, line_ns: float, origin_ns: int = 0) -> F64:
    """Each corner's time (rig clock, ns after ``origin_ns``, float: rig times are too large for a float's
    nanoseconds): the middle of its row's exposure."""
    return (view.rig_time_ns - origin_ns) + view.exposure_ns / 2.0 + line_ns * view.pixels[:, 1]


def frameset_times(fs: FramesetViews, line_ns: dict[str, float], origin_ns: int | None = None) -> F64:
    """Every corner's time in a frameset (its views' corners in order), after ``origin_ns`` (default: the
    frameset's own stamp)."""
    origin = fs.rig_time_ns if origin_ns is None else origin_ns
    return np.concatenate([corner_times_ns(v, line_ns.get(v.key, 0.0), origin) for v in fs.views])


def moving(times_ns: F64) -> bool:
    """Whether a frameset whose corners were seen at ``times_ns`` gets velocity unknowns."""
    return bool(len(times_ns)) and float(np.ptp(times_ns)) > MODEL_SPREAD_NS


def log_rotations(r: F64) -> F64:
    """(N, 3, 3) rotations to (N, 3) rotation vectors (angles below pi)."""
    w = 0.5 * np.stack([r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]], axis=1)
    s = np.linalg.norm(w, axis=1)
    c = np.clip((np.trace(r, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    theta = np.arctan2(s, c)
    scale = np.where(s < 1e-12, 1.0, theta / np.where(s < 1e-12, 1.0, s))
    return np.asarray(w * scale[:, None], dtype=np.float64)


def board_points(rotation: F64, translation: F64, board_m: F64, centre: F64, velocity: F64 | None = None,
                 dt_s: F64 | None = None) -> F64:
    """(N, 3) rig points of board corners ``board_m`` for per-corner poses (N, 3, 3), (N, 3); with ``velocity``
    (N, 6: ``w, v``) and ``dt_s`` (N,), moved as the constant-velocity model says."""
    q = np.einsum("nij,nj->ni", rotation, board_m - centre)
    if velocity is not None and dt_s is not None:
        q = np.einsum("nij,nj->ni", g.rotations(velocity[:, :3] * dt_s[:, None]), q)
        q = q + velocity[:, 3:] * dt_s[:, None]
    return np.asarray(q + rotation @ centre + translation, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Prior:
    """Each moving frameset's velocity prior: which boards' poses its difference is taken between."""

    before: np.ndarray
    """(M,) board index of the earlier pose (the frameset's own when it has no earlier neighbour)."""
    after: np.ndarray
    """(M,) board index of the later pose."""
    span_s: F64
    """(M,) time between the two poses (0: no neighbour, a zero-velocity prior)."""
    sigma: F64
    """(M, 6) the prior's sigma (rad/s, m/s)."""

    @classmethod
    def plan(cls, times_ns: F64, which: np.ndarray) -> Prior:
        """The priors of boards ``which`` (indices into ``times_ns``, each board's reference time)."""
        order = np.argsort(times_ns, kind="stable")
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        before, after, span, sigma = [], [], [], []
        for k in which:
            r = rank[k]
            prev = order[r - 1] if r > 0 and times_ns[k] - times_ns[order[r - 1]] <= NEIGHBOUR_NS else k
            nxt = order[r + 1] if r + 1 < len(order) and times_ns[order[r + 1]] - times_ns[k] <= NEIGHBOUR_NS else k
            h_before, h_after = (times_ns[k] - times_ns[prev]) / 1e9, (times_ns[nxt] - times_ns[k]) / 1e9
            before.append(prev)
            after.append(nxt)
            span.append(h_before + h_after)
            if prev == nxt:
                sigma.append([FREE_RAD_S] * 3 + [FREE_M_S] * 3)
                continue
            off = abs(h_after - h_before) / 2  # the difference is the velocity at the midpoint
            sigma.append([FLOOR_RAD_S + ACCEL_RAD_S2 * off + JERK_RAD_S3 * h_before * h_after / 6] * 3
                         + [FLOOR_M_S + ACCEL_M_S2 * off + JERK_M_S3 * h_before * h_after / 6] * 3)
        return cls(np.asarray(before, dtype=np.intp), np.asarray(after, dtype=np.intp), np.asarray(span, float),
                   np.asarray(sigma, dtype=np.float64).reshape(-1, 6))

    def difference(self, before: F64, after: F64, centre: F64) -> F64:
        """(M, 6) the velocities the neighbouring poses say, from their (M, 6) pose vectors (0: no neighbour)."""
        rb, ra = g.rotations(before[:, :3]), g.rotations(after[:, :3])
        span = np.where(self.span_s > 0, self.span_s, 1.0)[:, None]
        w = log_rotations(ra @ np.transpose(rb, (0, 2, 1))) / span
        v = ((ra @ centre + after[:, 3:]) - (rb @ centre + before[:, 3:])) / span
        out = np.concatenate([w, v], axis=1)
        out[self.span_s <= 0] = 0.0
        return out

    def residuals(self, before: F64, after: F64, velocity: F64, centre: F64) -> F64:
        """(M, 6) weighted prior residuals (pixels' worth)."""
        return (velocity - self.difference(before, after, centre)) / self.sigma * CORNER_NOISE_PX


@dataclass(frozen=True, eq=False)
class BoardTrack:
    """The adjusted board: each frameset's reference time and pose, and its velocity (zero when not modelled)."""

    origin_ns: int
    """Rig clock origin of ``time_ns``."""
    time_ns: dict[int, float]
    """Per frameset id, its reference time after ``origin_ns``."""
    rig_from_board: dict[int, F64]
    velocity: dict[int, F64]
    """Per frameset id, ``(w, v)`` (rad/s, m/s, rig frame; ``v`` of ``centre``)."""
    centre: F64
    """The board point ``c`` whose velocity ``v`` is (board frame, metres)."""

    def prior(self, time_ns: float) -> tuple[F64, F64]:
        """The velocity prior ``(velocity, sigma)`` (6,) at ``time_ns`` (a held-out frameset's, not adjusted) from
        the adjusted framesets around it: the difference of the nearest before and after; with one of them only,
        its velocity; with none, zero (loosely)."""
        ids = np.array(list(self.time_ns))
        dt = np.array([self.time_ns[i] for i in ids]) - time_ns
        near = np.abs(dt) <= NEIGHBOUR_NS
        early, late = near & (dt < 0), near & (dt > 0)
        if early.any() and late.any():
            a, b = ids[early][np.argmax(dt[early])], ids[late][np.argmin(dt[late])]
            h_before, h_after = -float(dt[ids == a][0]) / 1e9, float(dt[ids == b][0]) / 1e9
            plan = Prior(np.array([0]), np.array([1]), np.array([h_before + h_after]), np.zeros((1, 6)))
            vec = np.array([g.pose_vector(self.rig_from_board[int(a)]), g.pose_vector(self.rig_from_board[int(b)])])
            off = abs(h_after - h_before) / 2
            sigma = np.array([FLOOR_RAD_S + ACCEL_RAD_S2 * off + JERK_RAD_S3 * h_before * h_after / 6] * 3
                             + [FLOOR_M_S + ACCEL_M_S2 * off + JERK_M_S3 * h_before * h_after / 6] * 3)
            return plan.difference(vec[:1], vec[1:], self.centre)[0], sigma
        if near.any():
            i = ids[near][np.argmin(np.abs(dt[near]))]
            h = abs(float(dt[ids == i][0])) / 1e9
            sigma = np.array([FLOOR_RAD_S + ACCEL_RAD_S2 * h] * 3 + [FLOOR_M_S + ACCEL_M_S2 * h] * 3)
            return self.velocity[int(i)], sigma
        return np.zeros(6), np.array([FREE_RAD_S] * 3 + [FREE_M_S] * 3)
