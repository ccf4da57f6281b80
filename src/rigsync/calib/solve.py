"""The solution from board views: select framesets, hold some out, estimate, adjust, measure, name what is missing.

Pure: takes the board views (detected already), each camera's intrinsics and line time; returns poses in the
root camera's frame (:mod:`rigsync.calib.origin` moves them to the chosen origin). Refuses
(:class:`CalibrationError`, with the reason) when no two cameras can be tied together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from rigsync.calib.bundle import adjust
from rigsync.calib.geometry import F64
from rigsync.calib.holdout import held_out_errors, split
from rigsync.calib.initial import components, initial_estimate, pair_key, shared_views
from rigsync.calib.options import MIN_VIEWS
from rigsync.calib.select import Selection, select
from rigsync.calib.uncertainty import MAX_ANGLE_DEG, MAX_POSITION_M, PoseSigma
from rigsync.calib.views import FramesetViews
from rigsync.core.calibration import CameraErrors
from rigsync.core.errors import RigsyncError
from rigsync.core.intrinsics import Intrinsics


class CalibrationError(RigsyncError):
    """The recording cannot be calibrated as it is: says why and what to record instead."""


@dataclass(frozen=True, slots=True)
class Solution:
    """Poses of the connected cameras in the root camera's frame, and how they were reached."""

    root: str
    rig_from_camera: dict[str, F64]
    rig_from_board: dict[int, F64]
    """Per used frameset id."""
    tree: tuple[tuple[str, str, int], ...]
    used: tuple[int, ...]
    held_out: tuple[int, ...]
    views: dict[str, int]
    """Used framesets in which each camera saw the board."""
    pair_views: dict[str, int]
    """Used framesets in which both cameras of a pair (``pair_key``) saw the board."""
    errors: dict[str, CameraErrors]
    """Held-out reprojection errors per camera."""
    disconnected: dict[str, str]
    """Cameras left out, each with the reason and what would connect it."""
    selection: Selection
    adjusted_rms_px: float
    """RMS reprojection error of the bundle adjustment over the used corners."""
    corners: int
    moving: int = 0
    """Used framesets whose board motion was modelled (:mod:`rigsync.calib.motion`)."""


def solve(framesets: list[FramesetViews], cameras: list[str], intrinsics: dict[str, Intrinsics],
          line_ns: dict[str, float], max_error_px: float,
          positions: dict[str, F64] | None = None, motion: bool = True) -> Solution:
    """Calibrate ``cameras`` from their board views. ``positions`` (rig file, optional) only helps name a
    disconnected camera's nearest neighbour. ``motion`` False: one board pose per frameset, no motion modelled
    (for comparison)."""
    if len(cameras) < 2:
        raise CalibrationError("a rig calibration needs two cameras or more; calibratable: "
                               f"{', '.join(cameras) or 'none'}")
    selection = select(framesets, line_ns, max_error_px, motion)
    shared = [fs for fs in selection.kept if len(set(fs.cameras())) >= 2]
    used, held = split(shared)
    pairs = shared_views(used)
    groups = components(cameras, pairs)
    main = groups[0]
    if len(main) < 2:
        raise CalibrationError(_refusal(framesets, cameras, selection))
    views_of = _views(used)
    main = _connected([k for k in main if views_of.get(k, 0) >= MIN_VIEWS], pairs)
    if len(main) < 2:
        raise CalibrationError(_refusal(framesets, cameras, selection))
    uncertain: dict[str, PoseSigma] = {}
    while True:
        initial = initial_estimate(used, intrinsics, main)
        adjusted = adjust(used, intrinsics, initial.root, initial.rig_from_camera, initial.rig_from_board,
                          line_ns, motion)
        weak_poses = {k: s for k, s in adjusted.sigmas.items() if not s.trusted}
        if not weak_poses:
            break
        worst = max(weak_poses, key=lambda k: weak_poses[k].position_m / MAX_POSITION_M
                    + weak_poses[k].angle_deg / MAX_ANGLE_DEG)  # the rest are measured again without it
        uncertain[worst] = weak_poses[worst]
        main = _connected([k for k in main if k != worst], pairs)
        if len(main) < 2:
            raise CalibrationError(_refusal(framesets, cameras, selection, uncertain))
    errors = held_out_errors(held, adjusted.rig_from_camera, intrinsics, line_ns, adjusted.track if motion else None)
    left = [k for k in cameras if k not in main]
    disconnected = {k: _uncertain(k, uncertain[k], views_of.get(k, 0)) if k in uncertain else
                    _why_disconnected(k, framesets, selection, used, main, positions) for k in left}
    return Solution(
        root=initial.root, rig_from_camera=adjusted.rig_from_camera, rig_from_board=adjusted.rig_from_board,
        tree=initial.tree, used=tuple(fs.frameset_id for fs in used if fs.frameset_id in adjusted.rig_from_board),
        held_out=tuple(fs.frameset_id for fs in held), views={k: views_of.get(k, 0) for k in main},
        pair_views={pair_key(a, b): n for (a, b), n in sorted(pairs.items()) if a in main and b in main},
        errors=errors, disconnected=disconnected, selection=selection, adjusted_rms_px=adjusted.rms_px,
        corners=adjusted.corners, moving=adjusted.moving,
    )


def _connected(keys: list[str], pairs: dict[tuple[str, str], int]) -> list[str]:
    """The largest connected set among ``keys`` (a camera taken out may have been the only link)."""
    if not keys:
        return []
    inside = {p: n for p, n in pairs.items() if p[0] in keys and p[1] in keys}
    return components(keys, inside)[0]


def _views(framesets: list[FramesetViews]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for fs in framesets:
        for k in set(fs.cameras()):
            out[k] += 1
    return dict(out)


def _uncertain(key: str, sigma: PoseSigma, views: int) -> str:
    return (f"{key}: its pose is determined only to {sigma.position_m * 1000:.1f} mm and {sigma.angle_deg:.2f} deg "
            f"(expected RMS error, from {views} usable board views; limits {MAX_POSITION_M * 1000:g} mm and "
            f"{MAX_ANGLE_DEG:g} deg): show it the board more often together with its neighbours (slowly, or with "
            "the cameras synchronized)")


def _refusal(framesets: list[FramesetViews], cameras: list[str], selection: Selection,
             uncertain: dict[str, PoseSigma] | None = None) -> str:
    seen = _views(framesets)
    if uncertain:
        why = "; ".join(f"{k}: {s.position_m * 1000:.1f} mm, {s.angle_deg:.2f} deg" for k, s in uncertain.items())
        rejected = sum(len(fs.views) for fs, _ in selection.rejected)
        return (f"the usable board views do not determine the poses within {MAX_POSITION_M * 1000:g} mm and "
                f"{MAX_ANGLE_DEG:g} deg (expected RMS error: {why}). {rejected} board views were rejected for "
                f"timing (expected corner error over {selection.limit_px:g} px, --max-error): synchronize the "
                "cameras, or move the board slowly (or hold it still at each position), and record longer")
    if not any(seen.values()):
        return (f"no camera saw the board in any frame (cameras: {', '.join(cameras)}): record the board in "
                "view of the cameras (and check --board names the board that was shown)")
    counts = ", ".join(f"{k}: {seen.get(k, 0)}" for k in cameras)
    rejected = sum(len(fs.views) for fs, _ in selection.rejected)
    if rejected:
        finite = [e for _, e in selection.rejected if np.isfinite(e)]
        worst = (f"{max(finite):.2f} px" if finite
                 else "unknown (the board's speed or acceleration could not be measured)")
        best = f"{min(finite):.2f} px" if finite else "unknown"
        return (f"no two cameras share enough usable board views. Board views per camera: {counts}. "
                f"{rejected} views in {len(selection.rejected)} of {len(framesets)} framesets with the board were "
                f"rejected because the board moved between their members: expected corner error from {best} to "
                f"{worst}, limit {selection.limit_px:g} px (--max-error). Synchronize the cameras (or hold the "
                "board still for a moment at each position), or allow a larger error with --max-error")
    return (f"no two cameras share {MIN_VIEWS} board views (framesets in which both saw the board). Board views "
            f"per camera: {counts}: show the board to two cameras at once, from several positions")


def _why_disconnected(key: str, framesets: list[FramesetViews], selection: Selection, used: list[FramesetViews],
                      main: list[str], positions: dict[str, F64] | None) -> str:
    seen = sum(key in fs.cameras() for fs in framesets)
    if seen == 0:
        return f"{key} saw the board in no frame: show it the board"
    kept = sum(key in fs.cameras() for fs in selection.kept)
    if kept == 0:
        return (f"{key}: its {seen} board views were all rejected for timing (what the motion model leaves out, "
                "the board's speed times the stamps' error bound or its acceleration within the frameset, is more "
                f"than --max-error {selection.limit_px:g} px allows): synchronize the cameras, move the board more "
                "smoothly, or hold it still for a moment at each position")
    near = main[0]
    if positions and key in positions and all(k in positions for k in main):
        near = min(main, key=lambda k: float(np.linalg.norm(positions[k] - positions[key])))
    shared = sum(key in fs.cameras() and any(k in main for k in fs.cameras()) for fs in used)
    if shared:
        return (f"{key} shares only {shared} board view{'s' if shared != 1 else ''} with the others (needs "
                f"{MIN_VIEWS}): show the board "
                f"to {key} and {near} at once")
    return f"{key} shares no board view with the others: show the board to {key} and {near} at once"
