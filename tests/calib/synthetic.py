"""Synthetic board views: a board moving in front of known cameras, its corners projected with noise."""

from __future__ import annotations

import math

import numpy as np

from rigsync.calib import geometry as g
from rigsync.calib.views import BoardView, FramesetViews
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics

SIZE = (320, 240)
FRAME_NS = 33_333_333


def ring(n: int, radius_m: float = 2.5, arc_deg: float = 120.0) -> dict[str, Pose]:
    """``n`` cameras on an arc in front of the board (at -Y), looking at (0, 0, 1)."""
    out = {}
    for i in range(n):
        a = math.radians(-90.0 - arc_deg / 2 + arc_deg * i / max(n - 1, 1))
        out[f"cam{i}/color"] = Pose((radius_m * math.cos(a), radius_m * math.sin(a), 1.2 + 0.2 * (i % 2)),
                                   (0.0, 0.0, 1.0))
    return out


def board_corners(cols: int = 7, rows: int = 5, square_m: float = 0.08) -> np.ndarray:
    """A ChArUco board's inner corners in its frame, (N, 3), id order."""
    return np.array([[(i + 1) * square_m, (j + 1) * square_m, 0.0] for j in range(rows - 1) for i in range(cols - 1)])


def board_pose(t: float) -> np.ndarray:
    """``world_from_board`` at time ``t`` (seconds): the board faces -Y, sways and turns around (0, 0, 1)."""
    yaw = math.radians(25.0 * math.sin(0.7 * t))
    pitch = math.radians(20.0 * math.sin(1.1 * t + 0.5))
    base = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # board x -> X, y -> -Z, z -> +Y
    rz = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(pitch), -math.sin(pitch)], [0.0, math.sin(pitch), math.cos(pitch)]])
    r = rz @ rx @ base
    centre = np.array([0.25 * math.sin(0.5 * t), 0.2 * math.sin(0.3 * t), 1.0 + 0.2 * math.sin(0.4 * t)])
    return g.pose(r, centre - r @ np.array([0.28, 0.2, 0.0]))


def views(cameras: dict[str, Pose], frames: int, noise_px: float = 0.1, seed: int = 0,
          offsets_ns: dict[str, int] | None = None, fov_deg: float = 70.0,
          hold: bool = False, speed: float = 1.0, line_ns: float = 0.0,
          exposure_ns: int = 0) -> tuple[list[FramesetViews], dict[str, Intrinsics]]:
    """``frames`` framesets of the board seen by ``cameras`` (member ``k`` exposed ``offsets_ns[k]`` late); ``hold``:
    the board stands still for 10 frames at a time; ``speed`` scales its motion. ``line_ns`` > 0: a rolling
    shutter, each corner seen where the board is at the middle of its row's exposure (``exposure_ns`` long, the
    stamp its row 0's start), as the simulator renders it."""
    rng = np.random.default_rng(seed)
    k = Intrinsics.from_hfov(*SIZE, fov_deg)
    obj = board_corners()
    ids = np.arange(len(obj), dtype=np.int32)
    kk = np.tile([k.fx, k.fy, k.cx, k.cy], (len(obj), 1))
    out = []
    for f in range(frames):
        t_ns = f * FRAME_NS
        vs = []
        for key, p in cameras.items():
            dt = (offsets_ns or {}).get(key, 0)
            cam_from_world = g.inverse(g.camera_to_world(p))
            rows = np.zeros(len(obj))
            for _ in range(4 if line_ns else 1):  # each corner's row decides its time: iterate to the fixed point
                when_ns = (f // 10) * 10 * FRAME_NS if hold else t_ns + dt + exposure_ns / 2 + line_ns * rows
                poses = [cam_from_world @ board_pose(speed * w / 1e9) for w in np.broadcast_to(when_ns, len(obj))]
                pts = np.array([(m @ np.r_[o, 1.0])[:3] for m, o in zip(poses, obj, strict=True)])
                if np.any(pts[:, 2] <= 0.1):
                    break
                px = g.project(pts, kk, np.zeros((len(obj), 5)))
                rows = px[:, 1]
            if np.any(pts[:, 2] <= 0.1):
                continue
            normal, origin = poses[0][:3, 2], poses[0][:3, 3]
            inside = (px[:, 0] >= 0) & (px[:, 0] < SIZE[0]) & (px[:, 1] >= 0) & (px[:, 1] < SIZE[1])
            if float(normal @ -origin) >= 0 or inside.sum() < 6:
                continue
            px = px + rng.normal(0.0, noise_px, px.shape)
            vs.append(BoardView(key, f, t_ns + dt, ids[inside], obj[inside], px[inside], exposure_ns=exposure_ns))
        if vs:
            out.append(FramesetViews(f, t_ns, tuple(vs)))
    return out, {key: k for key in cameras}
