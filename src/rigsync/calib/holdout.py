"""Held-out framesets and each camera's reprojection error on them.

Which: of the framesets in which at least two cameras saw the board, sorted by id, every
:data:`HOLDOUT_EVERY`-th (the 4th, 11th, 18th...: 1/7, about 14%) is held out of the solution. Deterministic: the
same recording and options hold out the same framesets.

How each camera is measured (leave the camera out): in each held-out frameset, the board's pose is fitted from
the *other* cameras' views only (their solved poses and intrinsics fixed), then projected into the camera and
compared with the corners it detected. The error so measures the camera's pose relative to the others, not how
well one camera alone fits a board it saw. A camera is measured in a frameset only when the others saw at least
:data:`MIN_SUPPORT` corners and at least as many as it did: a board fitted from a few corners seen by one camera is
extrapolated, and its error would be the fit's, not the camera's.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.optimize import least_squares

from rigsync.calib import geometry as g
from rigsync.calib.bundle import Corners, reproject
from rigsync.calib.geometry import F64
from rigsync.calib.initial import view_pose
from rigsync.calib.views import FramesetViews
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


def fit_board(fs: FramesetViews, cameras: list[str], rig_from_camera: dict[str, F64],
              intrinsics: dict[str, Intrinsics]) -> F64 | None:
    """``rig_from_board`` of a frameset from the views of ``cameras`` (poses fixed); None if none saw it."""
    seen = [v for v in fs.views if v.key in cameras]
    if not seen:
        return None
    best = max(seen, key=lambda v: len(v.ids))
    x0 = g.pose_vector(rig_from_camera[best.key] @ view_pose(best, intrinsics[best.key]))
    keys = sorted({v.key for v in seen})
    corners = Corners.gather([FramesetViews(fs.frameset_id, fs.rig_time_ns, tuple(seen))], keys, intrinsics)
    cams = np.stack([g.inverse(rig_from_camera[k]) for k in keys])

    def residuals(x: F64) -> F64:
        return (reproject(corners, cams, g.pose_from_vector(x)[None]) - corners.pixels).reshape(-1)

    result = least_squares(residuals, x0, method="lm")
    return g.pose_from_vector(result.x)


def held_out_errors(held_out: list[FramesetViews], rig_from_camera: dict[str, F64],
                    intrinsics: dict[str, Intrinsics]) -> dict[str, CameraErrors]:
    """Each solved camera's reprojection error on the held-out framesets (cameras measured nowhere: absent)."""
    errors: dict[str, list[F64]] = defaultdict(list)
    for fs in held_out:
        for view in fs.views:
            if view.key not in rig_from_camera:
                continue
            others = [k for k in fs.cameras() if k in rig_from_camera and k != view.key]
            support = sum(len(v.ids) for v in fs.views if v.key in others)
            if support < max(MIN_SUPPORT, len(view.ids)):
                continue
            rig_from_board = fit_board(fs, others, rig_from_camera, intrinsics)
            if rig_from_board is None:
                continue
            one = FramesetViews(fs.frameset_id, fs.rig_time_ns, (view,))
            corners = Corners.gather([one], [view.key], intrinsics)
            projected = reproject(corners, g.inverse(rig_from_camera[view.key])[None], rig_from_board[None])
            errors[view.key].append(np.linalg.norm(projected - corners.pixels, axis=1))
    out = {}
    for key, parts in errors.items():
        e = np.concatenate(parts)
        out[key] = CameraErrors(rms_px=float(np.sqrt(np.mean(e * e))), p95_px=float(np.percentile(e, 95)),
                                points=len(e))
    return out
