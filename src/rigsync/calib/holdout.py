"""Held-out framesets and each camera's reprojection error on them.

Which: of the framesets in which at least two cameras saw the board, sorted by id, every
:data:`HOLDOUT_EVERY`-th (the 4th, 11th, 18th...: 1/7, about 14%) is held out of the solution. Deterministic: the
same recording and options hold out the same framesets.

How each camera is measured (leave the camera out): in each held-out frameset, the board's pose is fitted from
the *other* cameras' views only (their solved poses and intrinsics fixed), then projected into the camera and
compared with the corners it detected. The board moves within the frameset as in the adjustment
(:mod:`rigsync.calib.motion`): each corner is projected at its own time, and where the frameset's corners spread in
time the fit has the board's velocity too, tied (the same prior) to the difference of the adjusted framesets around
it; without that a rolling-shutter camera would show its readout skew as error. The error so measures the
camera's pose relative to the others, not how well one camera alone fits a board it saw. A camera is measured in
a frameset only when the others saw at least :data:`MIN_SUPPORT` corners and at least as many as it did: a board
fitted from a few corners seen by one camera is extrapolated, and its error would be the fit's, not the camera's.

A camera that is never measured so (in a chain it sees the board only with one neighbour, which then sees less of
it) is measured *jointly* instead, marked so (``CameraErrors.method``): the board fitted from every camera that saw
it in the frameset, this one included, as test-set errors usually are (multical, Kalibr). That is weaker (the
camera pulls the board towards itself) but still tests its pose against held-out views and the others' corners.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from rigsync.calib import geometry as g
from rigsync.calib.bundle import Corners, reproject
from rigsync.calib.geometry import F64
from rigsync.calib.initial import view_pose
from rigsync.calib.motion import CORNER_NOISE_PX, BoardTrack, frameset_times, moving
from rigsync.calib.views import BoardView, FramesetViews
from rigsync.core.calibration import CameraErrors
from rigsync.core.intrinsics import Intrinsics

HOLDOUT_EVERY = 7
HOLDOUT_PHASE = 3
MIN_SUPPORT = 12


def split(framesets: list[FramesetViews]) -> tuple[list[FramesetViews], list[FramesetViews]]:
    """``(used, held_out)``: every 7th frameset seen by two cameras or more is held out."""
    multi = sorted(fs.frameset_id for fs in framesets if len(set(fs.cameras())) >= 2)
    held = {fid for i, fid in enumerate(multi) if i % HOLDOUT_EVERY == HOLDOUT_PHASE}
    return ([fs for fs in framesets if fs.frameset_id not in held],
            [fs for fs in framesets if fs.frameset_id in held])


@dataclass(frozen=True, eq=False)
class BoardFit:
    """A held-out frameset's board fitted from some cameras: pose at ``time_ns``, and velocity (zero: still)."""

    rig_from_board: F64
    time_ns: float
    """After the track's origin (0 without a track)."""
    velocity: F64
    centre: F64

    def project(self, corners: Corners, camera_from_rig: F64) -> F64:
        """(N, 2) the board's corners projected into one camera, each at its own time."""
        n = len(corners.camera)
        dt = (corners.time_ns - self.time_ns) / 1e9
        return reproject(corners, camera_from_rig[None], self.rig_from_board[None], np.tile(self.velocity, (n, 1)),
                         dt, self.centre)


def fit_board(fs: FramesetViews, cameras: list[str], rig_from_camera: dict[str, F64],
              intrinsics: dict[str, Intrinsics], line_ns: dict[str, float] | None = None,
              track: BoardTrack | None = None) -> BoardFit | None:
    """The board of a frameset from the views of ``cameras`` (poses fixed); None if none saw it. With ``track``
    (the adjustment's board) and the frameset's corners spread in time, its velocity too, as the adjustment
    models it (:mod:`rigsync.calib.motion`): tied to the velocity the adjusted neighbouring framesets say."""
    seen = [v for v in fs.views if v.key in cameras]
    if not seen:
        return None
    best = max(seen, key=lambda v: len(v.ids))
    x0 = g.pose_vector(rig_from_camera[best.key] @ view_pose(best, intrinsics[best.key]))
    keys = sorted({v.key for v in seen})
    origin = track.origin_ns if track is not None else fs.rig_time_ns
    corners = Corners.gather([FramesetViews(fs.frameset_id, fs.rig_time_ns, tuple(seen))], keys, intrinsics,
                             line_ns, origin)
    cams = np.stack([g.inverse(rig_from_camera[k]) for k in keys])
    t_ref = float(np.mean(corners.time_ns))
    dt = (corners.time_ns - t_ref) / 1e9
    centre = track.centre if track is not None else np.mean(corners.board_m, axis=0)
    if track is None or not moving(frameset_times(fs, line_ns or {}, origin)):
        def still(x: F64) -> F64:
            return (reproject(corners, cams, g.pose_from_vector(x)[None]) - corners.pixels).reshape(-1)

        result = least_squares(still, x0, method="lm")
        return BoardFit(g.pose_from_vector(result.x), t_ref, np.zeros(6), centre)
    v_prior, sigma = track.prior(t_ref)

    def residuals(x: F64) -> F64:
        vel = np.tile(x[6:], (len(dt), 1))
        fit = reproject(corners, cams, g.pose_from_vector(x[:6])[None], vel, dt, centre) - corners.pixels
        return np.concatenate([fit.reshape(-1), (x[6:] - v_prior) / sigma * CORNER_NOISE_PX])

    result = least_squares(residuals, np.concatenate([x0, v_prior]), method="lm")
    return BoardFit(g.pose_from_vector(result.x[:6]), t_ref, result.x[6:], centre)


def held_out_errors(held_out: list[FramesetViews], rig_from_camera: dict[str, F64],
                    intrinsics: dict[str, Intrinsics], line_ns: dict[str, float] | None = None,
                    track: BoardTrack | None = None) -> dict[str, CameraErrors]:
    """Each solved camera's reprojection error on the held-out framesets, left out of the board's fit, or jointly
    where it never can be (cameras measured nowhere: absent). With ``track``, the board moves within a frameset as
    in the adjustment."""
    errors: dict[str, list[F64]] = defaultdict(list)
    for fs in held_out:
        solved = [k for k in fs.cameras() if k in rig_from_camera]
        for view in fs.views:
            others = [k for k in solved if k != view.key]
            support = sum(len(v.ids) for v in fs.views if v.key in others)
            if view.key in rig_from_camera and support >= max(MIN_SUPPORT, len(view.ids)):
                board = fit_board(fs, others, rig_from_camera, intrinsics, line_ns, track)
                errors[view.key].append(_distances(board, fs, view, rig_from_camera, intrinsics, line_ns, track))
    out = {key: _summary(parts, "leave-camera-out") for key, parts in errors.items()}
    joint: dict[str, list[F64]] = defaultdict(list)
    for fs in held_out:
        solved = [k for k in fs.cameras() if k in rig_from_camera]
        unmeasured = [v for v in fs.views if v.key in rig_from_camera and v.key not in out]
        if unmeasured and len(set(solved)) >= 2:
            board = fit_board(fs, solved, rig_from_camera, intrinsics, line_ns, track)
            for view in unmeasured:
                joint[view.key].append(_distances(board, fs, view, rig_from_camera, intrinsics, line_ns, track))
    return out | {key: _summary(parts, "joint") for key, parts in joint.items()}


def _distances(board: BoardFit | None, fs: FramesetViews, view: BoardView, rig_from_camera: dict[str, F64],
               intrinsics: dict[str, Intrinsics], line_ns: dict[str, float] | None, track: BoardTrack | None) -> F64:
    """Each of ``view``'s corners' distance from ``board`` (fitted from cameras that saw it), projected."""
    assert board is not None  # fitted from cameras that saw the board in fs
    one = FramesetViews(fs.frameset_id, fs.rig_time_ns, (view,))
    origin = track.origin_ns if track is not None else fs.rig_time_ns
    corners = Corners.gather([one], [view.key], intrinsics, line_ns, origin)
    projected = board.project(corners, g.inverse(rig_from_camera[view.key]))
    return np.asarray(np.linalg.norm(projected - corners.pixels, axis=1), dtype=np.float64)


def _summary(parts: list[F64], method: str) -> CameraErrors:
    e = np.concatenate(parts)
    return CameraErrors(rms_px=float(np.sqrt(np.mean(e * e))), p95_px=float(np.percentile(e, 95)), points=len(e),
                        method=method)
