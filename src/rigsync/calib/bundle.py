"""One bundle adjustment over every camera pose, every frameset's board pose and, where it moves, its velocity.

Unknowns, in this order: each camera's ``camera_from_rig`` (6 numbers; the root camera's is fixed to the identity:
it fixes the frame; these first ``6 * n_cam`` columns are what :func:`rigsync.calib.uncertainty.camera_sigmas`
reads), each frameset's ``rig_from_board`` at its reference time (6 numbers), then each moving frameset's board
velocity (6 numbers: :mod:`rigsync.calib.motion`; a frameset whose corners share one instant has none).
Residuals: every detected corner's reprojection error (x and y, pixels) through the camera's intrinsics (held
fixed: factory, or solved per camera beforehand), the board placed where it is at the corner's own time; and each
velocity's smoothness prior (6 rows). Solved by ``scipy.optimize.least_squares`` (trust region reflective) with the
Jacobian built here, sparse (a corner depends on one camera, one board pose and at most one velocity) and a robust
loss (``soft_l1``, 1 px scale: a bad detection pulls less).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares
from scipy.sparse import csr_matrix

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.motion import MODEL_SPREAD_NS, BoardTrack, Prior, board_points, corner_times_ns
from rigsync.calib.uncertainty import PoseSigma, camera_sigmas
from rigsync.calib.views import FramesetViews
from rigsync.core.intrinsics import Intrinsics

LOSS = "soft_l1"
LOSS_SCALE_PX = 1.0
"""Residuals beyond about this many pixels are down-weighted by the robust loss."""
_STEP = 1e-7
"""Forward-difference step (radians of rotation vector, metres of translation)."""
_STEP_VEL = 1e-5
"""... of a velocity (rad/s, m/s: over the ~10 ms a frameset spans, about ``_STEP``)."""


@dataclass(frozen=True, eq=False)
class Corners:
    """Every corner observation, flattened: which camera and frameset it belongs to, where and when it is."""

    camera: npt.NDArray[np.intp]
    board: npt.NDArray[np.intp]
    board_m: F64
    pixels: F64
    k: F64
    """(N, 4): fx fy cx cy of the corner's camera."""
    dist: F64
    """(N, 5): its plumb-bob distortion."""
    time_ns: F64
    """(N,): when it was seen (:func:`rigsync.calib.motion.corner_times_ns`), after the first view's stamp."""
    origin_ns: int

    @classmethod
    def gather(cls, framesets: list[FramesetViews], cameras: list[str], intrinsics: dict[str, Intrinsics],
               line_ns: dict[str, float] | None = None, origin_ns: int | None = None) -> Corners:
        index = {k: i for i, k in enumerate(cameras)}
        lines = line_ns or {}
        stamps = [v.rig_time_ns for fs in framesets for v in fs.views]
        origin = origin_ns if origin_ns is not None else (min(stamps) if stamps else 0)
        cam, brd, obj, pix, when = [], [], [], [], []
        for j, fs in enumerate(framesets):
            for v in fs.views:
                if v.key in index:
                    n = len(v.ids)
                    cam.append(np.full(n, index[v.key]))
                    brd.append(np.full(n, j))
                    obj.append(v.board_m)
                    pix.append(v.pixels)
                    when.append(corner_times_ns(v, lines.get(v.key, 0.0), origin))
        camera = np.concatenate(cam).astype(np.intp)
        kk = np.array([[intrinsics[c].fx, intrinsics[c].fy, intrinsics[c].cx, intrinsics[c].cy] for c in cameras])
        dd = np.array([g.distortion(intrinsics[c]) for c in cameras])
        return cls(camera, np.concatenate(brd).astype(np.intp), np.concatenate(obj), np.concatenate(pix),
                   kk[camera], dd[camera], np.concatenate(when), origin)


def reproject(corners: Corners, camera_from_rig: F64, rig_from_board: F64, velocity: F64 | None = None,
              dt_s: F64 | None = None, centre: F64 | None = None) -> F64:
    """(N, 2) projected corners for (C, 4, 4) camera and (B, 4, 4) board poses; with per-corner ``velocity``
    (N, 6) and ``dt_s`` (N,) the board moved as :mod:`rigsync.calib.motion` says."""
    cam, brd = camera_from_rig[corners.camera], rig_from_board[corners.board]
    c = np.zeros(3) if centre is None else centre
    p = board_points(brd[:, :3, :3], brd[:, :3, 3], corners.board_m, c, velocity, dt_s)
    q = np.einsum("nij,nj->ni", cam[:, :3, :3], p) + cam[:, :3, 3]
    return g.project(q, corners.k, corners.dist)


def _poses(v: F64) -> F64:
    """(M, 6) ``(rvec, tvec)`` to (M, 4, 4)."""
    v = v.reshape(-1, 6)
    out = np.tile(np.eye(4), (len(v), 1, 1))
    out[:, :3, :3] = g.rotations(v[:, :3])
    out[:, :3, 3] = v[:, 3:]
    return out


@dataclass(frozen=True, slots=True)
class Adjusted:
    """The adjusted poses and how the adjustment went."""

    rig_from_camera: dict[str, F64]
    rig_from_board: dict[int, F64]
    rms_px: float
    """RMS reprojection error over every corner used."""
    corners: int
    iterations: int
    sigmas: dict[str, PoseSigma]
    """Each camera's expected pose error after aligning the rig frames."""
    track: BoardTrack
    """The board's reference times, poses and velocities (for the held-out framesets' fits)."""
    moving: int = 0
    """Framesets whose board motion was modelled (6 velocity unknowns each)."""


def adjust(framesets: list[FramesetViews], intrinsics: dict[str, Intrinsics], root: str,
           rig_from_camera: dict[str, F64], rig_from_board: dict[int, F64],
           line_ns: dict[str, float] | None = None, motion: bool = True) -> Adjusted:
    """The bundle adjustment from an initial estimate (``root``'s pose must be the identity); ``motion`` False:
    no frameset's board motion modelled."""
    cameras = [root, *sorted(k for k in rig_from_camera if k != root)]
    fsets = [fs for fs in framesets if fs.frameset_id in rig_from_board]
    corners = Corners.gather(fsets, cameras, intrinsics, line_ns)
    n_cam, n_board, n = len(cameras) - 1, len(fsets), len(corners.camera)
    # the board's reference time per frameset (its corners' mean), and which framesets move within themselves
    ref_ns = np.bincount(corners.board, corners.time_ns, n_board) / np.bincount(corners.board, minlength=n_board)
    lo = np.full(n_board, np.inf)
    hi = np.full(n_board, -np.inf)
    np.minimum.at(lo, corners.board, corners.time_ns)
    np.maximum.at(hi, corners.board, corners.time_ns)
    which = np.flatnonzero(hi - lo > MODEL_SPREAD_NS) if motion else np.zeros(0, dtype=np.intp)
    n_vel = len(which)
    vel_of = np.full(n_board, -1, dtype=np.intp)
    vel_of[which] = np.arange(n_vel)
    corner_vel = vel_of[corners.board]
    moves = corner_vel >= 0
    dt_s = np.where(moves, (corners.time_ns - ref_ns[corners.board]) / 1e9, 0.0)
    centre = np.mean(corners.board_m, axis=0)
    prior = Prior.plan(ref_ns, which)
    board0 = np.array([g.pose_vector(rig_from_board[fs.frameset_id]) for fs in fsets]).reshape(-1, 6)
    vel0 = prior.difference(board0[prior.before], board0[prior.after], centre) if n_vel else np.zeros((0, 6))
    x0 = np.concatenate([*(g.pose_vector(g.inverse(rig_from_camera[c])) for c in cameras[1:]),
                         board0.reshape(-1), vel0.reshape(-1)])
    b0, v0 = 6 * n_cam, 6 * n_cam + 6 * n_board

    def unpack(x: F64) -> tuple[F64, F64, F64, F64]:
        cams = np.concatenate([np.eye(4)[None], _poses(x[:b0])]) if n_cam else np.eye(4)[None]
        return cams, _poses(x[b0:v0]), x[b0:v0].reshape(-1, 6), x[v0:].reshape(-1, 6)

    def project(x: F64) -> F64:
        cams, boards, _, vel = unpack(x)
        if not n_vel:
            return (reproject(corners, cams, boards) - corners.pixels).reshape(-1)
        per_corner = np.where(moves[:, None], vel[np.maximum(corner_vel, 0)], 0.0)
        return (reproject(corners, cams, boards, per_corner, dt_s, centre) - corners.pixels).reshape(-1)

    def prior_of(x: F64) -> F64:
        _, _, vec, vel = unpack(x)
        return prior.residuals(vec[prior.before], vec[prior.after], vel, centre).reshape(-1)

    def residuals(x: F64) -> F64:
        return np.concatenate([project(x), prior_of(x)]) if n_vel else project(x)

    has_cam = np.repeat(corners.camera, 2) > 0
    has_vel = np.repeat(moves, 2)
    rows2 = np.arange(2 * n)
    r = np.concatenate([np.repeat(rows2, 6), np.repeat(rows2[has_cam], 6), np.repeat(rows2[has_vel], 6)])
    c = np.concatenate([(b0 + 6 * np.repeat(corners.board, 2)[:, None] + np.arange(6)).reshape(-1),
                        (6 * (np.repeat(corners.camera, 2)[has_cam, None] - 1) + np.arange(6)).reshape(-1),
                        (v0 + 6 * np.repeat(corner_vel, 2)[has_vel, None] + np.arange(6)).reshape(-1)])
    # the prior's rows: each depends on its own velocity and on the two boards it differences
    prow = 2 * n + np.arange(6 * n_vel)
    pr = np.concatenate([np.repeat(prow, 6)] * 3)
    pc = np.concatenate([(v0 + 6 * np.repeat(np.arange(n_vel), 6)[:, None] + np.arange(6)).reshape(-1),
                         (b0 + 6 * np.repeat(prior.before, 6)[:, None] + np.arange(6)).reshape(-1),
                         (b0 + 6 * np.repeat(prior.after, 6)[:, None] + np.arange(6)).reshape(-1)])
    rows, cols = np.concatenate([r, pr]), np.concatenate([c, pc])

    def jacobian(x: F64) -> csr_matrix:
        """Forward differences, all cameras (then all boards, then all velocities) moved along one of their 6
        numbers at a time: every corner depends on one of each, so 18 projections of every corner (12 without
        motion), whatever the number of unknowns. The prior's few rows are differenced per argument."""
        base = project(x)
        d_board, d_cam, d_vel = np.empty((2 * n, 6)), np.empty((2 * n, 6)), np.empty((2 * n, 6))
        blocks = [(d_board, b0, n_board, _STEP), (d_cam, 0, n_cam, _STEP)]
        blocks += [(d_vel, v0, n_vel, _STEP_VEL)] if n_vel else []
        for j in range(6):
            for part, start, count, h in blocks:
                step = np.zeros_like(x)
                step[start + j: start + 6 * count: 6] = h
                part[:, j] = (project(x + step) - base) / h
        data = [d_board.reshape(-1), d_cam[has_cam].reshape(-1), d_vel[has_vel].reshape(-1)]
        if n_vel:
            _, _, vec, vel = unpack(x)
            a, b = vec[prior.before], vec[prior.after]
            p0 = prior.residuals(a, b, vel, centre)
            parts = []
            for arg in range(3):
                d = np.empty((n_vel, 6, 6))  # [frameset, residual, unknown]
                for j in range(6):
                    moved = [a.copy(), b.copy(), vel.copy()]
                    h = _STEP_VEL if arg == 0 else _STEP
                    moved[(2, 0, 1)[arg]][:, j] += h
                    d[:, :, j] = (prior.residuals(moved[0], moved[1], moved[2], centre) - p0) / h
                parts.append(d.reshape(-1))
            data += parts
        return csr_matrix((np.concatenate(data), (rows, cols)), shape=(len(base) + 6 * n_vel, len(x)))

    result = least_squares(residuals, x0, jac=jacobian, loss=LOSS, f_scale=LOSS_SCALE_PX, x_scale="jac",
                           method="trf", tr_solver="lsmr")
    cams, boards, _, vel = unpack(result.x)
    res = result.fun[: 2 * n].reshape(-1, 2)
    ids = [fs.frameset_id for fs in fsets]
    track = BoardTrack(corners.origin_ns, dict(zip(ids, ref_ns.tolist(), strict=True)),
                       {fid: boards[j] for j, fid in enumerate(ids)},
                       {fid: vel[vel_of[j]] if vel_of[j] >= 0 else np.zeros(6) for j, fid in enumerate(ids)}, centre)
    return Adjusted(
        rig_from_camera={c: g.inverse(cams[i]) for i, c in enumerate(cameras)},
        rig_from_board={fs.frameset_id: boards[j] for j, fs in enumerate(fsets)},
        rms_px=float(np.sqrt(np.mean(np.sum(res * res, axis=1)))), corners=n, iterations=int(result.njev or 0),
        sigmas=dict(zip(cameras, camera_sigmas(result.jac, result.fun, result.x, n_cam), strict=True)),
        track=track, moving=n_vel,
    )
