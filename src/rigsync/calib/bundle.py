"""One bundle adjustment over every camera pose and every frameset's board pose.

Unknowns: each camera's ``camera_from_rig`` (6 numbers; the root camera's is fixed to the identity: it fixes the
frame) and each frameset's ``rig_from_board`` (6 numbers). Residuals: every detected corner's reprojection error
(x and y, pixels) through the camera's intrinsics (held fixed: factory, or solved per camera beforehand). Solved by
``scipy.optimize.least_squares`` (trust region reflective) with the Jacobian's sparsity given (a corner depends on
one camera and one board pose only) and a robust loss (``soft_l1``, 1 px scale: a bad detection pulls less).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares
from scipy.sparse import csr_matrix

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.uncertainty import PoseSigma, camera_sigmas
from rigsync.calib.views import FramesetViews
from rigsync.core.intrinsics import Intrinsics

LOSS = "soft_l1"
LOSS_SCALE_PX = 1.0
"""Residuals beyond about this many pixels are down-weighted by the robust loss."""
_STEP = 1e-7
"""Forward-difference step (radians of rotation vector, metres of translation)."""


@dataclass(frozen=True, eq=False)
class Corners:
    """Every corner observation, flattened: which camera and frameset it belongs to, where it is."""

    camera: npt.NDArray[np.intp]
    board: npt.NDArray[np.intp]
    board_m: F64
    pixels: F64
    k: F64
    """(N, 4): fx fy cx cy of the corner's camera."""
    dist: F64
    """(N, 5): its plumb-bob distortion."""

    @classmethod
    def gather(cls, framesets: list[FramesetViews], cameras: list[str], intrinsics: dict[str, Intrinsics]
               ) -> Corners:
        index = {k: i for i, k in enumerate(cameras)}
        cam, brd, obj, pix = [], [], [], []
        for j, fs in enumerate(framesets):
            for v in fs.views:
                if v.key in index:
                    n = len(v.ids)
                    cam.append(np.full(n, index[v.key]))
                    brd.append(np.full(n, j))
                    obj.append(v.board_m)
                    pix.append(v.pixels)
        camera = np.concatenate(cam).astype(np.intp)
        kk = np.array([[intrinsics[c].fx, intrinsics[c].fy, intrinsics[c].cx, intrinsics[c].cy] for c in cameras])
        dd = np.array([g.distortion(intrinsics[c]) for c in cameras])
        return cls(camera, np.concatenate(brd).astype(np.intp), np.concatenate(obj), np.concatenate(pix),
                   kk[camera], dd[camera])


def reproject(corners: Corners, camera_from_rig: F64, rig_from_board: F64) -> F64:
    """(N, 2) projected corners for (C, 4, 4) camera and (B, 4, 4) board poses."""
    cam, brd = camera_from_rig[corners.camera], rig_from_board[corners.board]
    p = np.einsum("nij,nj->ni", brd[:, :3, :3], corners.board_m) + brd[:, :3, 3]
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


def adjust(framesets: list[FramesetViews], intrinsics: dict[str, Intrinsics], root: str,
           rig_from_camera: dict[str, F64], rig_from_board: dict[int, F64]) -> Adjusted:
    """The bundle adjustment from an initial estimate (``root``'s pose must be the identity)."""
    cameras = [root, *sorted(k for k in rig_from_camera if k != root)]
    fsets = [fs for fs in framesets if fs.frameset_id in rig_from_board]
    corners = Corners.gather(fsets, cameras, intrinsics)
    n_cam, n_board, n = len(cameras) - 1, len(fsets), len(corners.camera)
    x0 = np.concatenate([*(g.pose_vector(g.inverse(rig_from_camera[c])) for c in cameras[1:]),
                         *(g.pose_vector(rig_from_board[fs.frameset_id]) for fs in fsets)])

    def unpack(x: F64) -> tuple[F64, F64]:
        cams = np.concatenate([np.eye(4)[None], _poses(x[: 6 * n_cam])]) if n_cam else np.eye(4)[None]
        return cams, _poses(x[6 * n_cam:])

    def residuals(x: F64) -> F64:
        cams, boards = unpack(x)
        return (reproject(corners, cams, boards) - corners.pixels).reshape(-1)

    has_cam = np.repeat(corners.camera, 2) > 0
    r = np.concatenate([np.repeat(np.arange(2 * n), 6), np.repeat(np.arange(2 * n)[has_cam], 6)])
    c = np.concatenate([(6 * n_cam + 6 * np.repeat(corners.board, 2)[:, None] + np.arange(6)).reshape(-1),
                        (6 * (np.repeat(corners.camera, 2)[has_cam, None] - 1) + np.arange(6)).reshape(-1)])

    def jacobian(x: F64) -> csr_matrix:
        """Forward differences, all cameras (then all boards) moved along one of their 6 numbers at a time: 12
        projections of every corner, whatever the number of unknowns."""
        base = residuals(x)
        d_board, d_cam = np.empty((2 * n, 6)), np.empty((2 * n, 6))
        for j in range(6):
            for part, start, count in ((d_board, 6 * n_cam, n_board), (d_cam, 0, n_cam)):
                step = np.zeros_like(x)
                step[start + j: start + 6 * count: 6] = _STEP
                part[:, j] = (residuals(x + step) - base) / _STEP
        data = np.concatenate([d_board.reshape(-1), d_cam[has_cam].reshape(-1)])
        return csr_matrix((data, (r, c)), shape=(2 * n, len(x)))

    result = least_squares(residuals, x0, jac=jacobian, loss=LOSS, f_scale=LOSS_SCALE_PX, x_scale="jac",
                           method="trf", tr_solver="lsmr")
    cams, boards = unpack(result.x)
    res = result.fun.reshape(-1, 2)
    return Adjusted(
        rig_from_camera={c: g.inverse(cams[i]) for i, c in enumerate(cameras)},
        rig_from_board={fs.frameset_id: boards[j] for j, fs in enumerate(fsets)},
        rms_px=float(np.sqrt(np.mean(np.sum(res * res, axis=1)))), corners=n, iterations=int(result.njev or 0),
        sigmas=dict(zip(cameras, camera_sigmas(result.jac, result.fun, result.x, n_cam), strict=True)),
    )
