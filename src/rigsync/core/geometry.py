"""Camera poses in the rig's world frame (metres, right-handed, Z up)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Vec3 = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Pose:
    """Where a camera is and where it looks. World frame: metres, right-handed, Z up."""

    position_m: Vec3
    look_at_m: Vec3 = (0.0, 0.0, 1.0)
    up: Vec3 = (0.0, 0.0, 1.0)


def sees(pose: Pose, hfov_deg: float, point: Vec3) -> bool:
    """Whether a camera (a cone of the horizontal field of view around its axis) sees a point."""
    px, py, pz = pose.position_m
    fx, fy, fz = (pose.look_at_m[0] - px, pose.look_at_m[1] - py, pose.look_at_m[2] - pz)
    vx, vy, vz = (point[0] - px, point[1] - py, point[2] - pz)
    nf = math.sqrt(fx * fx + fy * fy + fz * fz)
    nv = math.sqrt(vx * vx + vy * vy + vz * vz)
    if nf == 0 or nv == 0:
        return False
    cos = (fx * vx + fy * vy + fz * vz) / (nf * nv)
    return cos >= math.cos(math.radians(hfov_deg / 2))


SCENE_POINTS: tuple[Vec3, ...] = tuple((x, y, z) for x in (-0.8, 0.0, 0.8) for y in (-0.8, 0.0, 0.8)
                                      for z in (0.3, 1.0, 1.7))
"""Where the scene's central volume (a 2 m cube) is sampled to tell whether two cameras see a common part of it."""


def seen_points(pose: Pose, hfov_deg: float) -> int:
    """The points of :data:`SCENE_POINTS` a camera sees, as a bit mask (bit i: point i)."""
    return sum(1 << i for i, p in enumerate(SCENE_POINTS) if sees(pose, hfov_deg, p))


def views_overlap(poses: list[Pose], hfovs: list[float]) -> list[list[bool]]:
    """Whether each pair of cameras sees a common part of the scene's central volume (a 2 m cube)."""
    seen = [seen_points(pose, fov) for pose, fov in zip(poses, hfovs, strict=True)]
    return [[bool(a & b) for b in seen] for a in seen]


def default_pose(index: int, count: int) -> Pose:
    """A ring of radius 2.5 m at 1.4 m height looking at the centre, for devices without a pose."""
    angle = 2.0 * math.pi * index / max(count, 1)
    return Pose((2.5 * math.cos(angle), 2.5 * math.sin(angle), 1.4), (0.0, 0.0, 1.0))


def camera_to_world(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """``(rotation 3x3, translation)`` taking OpenCV camera coordinates (x right, y down, z forward) to the world,
    for a camera at ``pose.position_m`` looking at ``pose.look_at_m`` with ``pose.up`` up."""
    position = np.asarray(pose.position_m, dtype=np.float64)
    forward = np.asarray(pose.look_at_m, dtype=np.float64) - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(pose.up, dtype=np.float64))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1), position
