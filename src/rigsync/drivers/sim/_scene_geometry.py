"""Camera views and ray casting against the simulator's static world (planar rectangles).

Conventions: world frame in metres, right-handed, Z up (:mod:`rigsync.core.geometry`). Camera frame as in
OpenCV: x right, y down, z forward (along the optical axis). Pixel ``(u, v)`` has its centre at integer
coordinates, so ``cx = (width - 1) / 2`` is the image centre. Depth is z in the camera frame (distance along
the optical axis, as depth cameras report it), not the range along the ray.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics

F64 = npt.NDArray[np.float64]


def _unit(v: npt.ArrayLike) -> F64:
    a = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if n == 0.0:
        raise ValueError(f"zero-length vector {a.tolist()}")
    return a / n


@dataclass(frozen=True, eq=False)
class CameraView:
    """A camera's pose and intrinsics in the scene, with its world-to-camera transform.

    ``x_cam = rotation @ x_world + translation`` (OpenCV camera frame: x right, y down, z forward).
    """

    pose: Pose
    intrinsics: Intrinsics
    rotation: F64
    """3x3 world-to-camera rotation."""
    translation: F64
    """(3,) world-to-camera translation, metres."""

    @classmethod
    def from_pose(cls, pose: Pose, intrinsics: Intrinsics) -> CameraView:
        """Look from ``pose.position_m`` at ``pose.look_at_m`` with ``pose.up`` as up; ideal pinhole only."""
        if any(c != 0.0 for c in intrinsics.distortion):
            raise ValueError(
                f"the simulator renders an ideal pinhole; distortion {intrinsics.distortion} is not "
                "supported (fix: use zero distortion coefficients for simulated cameras)"
            )
        if intrinsics.width <= 0 or intrinsics.height <= 0 or intrinsics.fx <= 0 or intrinsics.fy <= 0:
            raise ValueError(f"intrinsics need positive size and focal lengths, got {intrinsics}")
        position = np.asarray(pose.position_m, dtype=np.float64)
        forward = _unit(np.asarray(pose.look_at_m, dtype=np.float64) - position)
        right_raw = np.cross(forward, _unit(pose.up))
        if float(np.linalg.norm(right_raw)) < 1e-9:
            raise ValueError(
                f"camera at {pose.position_m} looks at {pose.look_at_m} along its up vector {pose.up}: "
                "the image orientation is undefined (fix: choose a different up or look_at)"
            )
        right = _unit(right_raw)
        down = np.cross(forward, right)
        rotation = np.stack([right, down, forward])
        translation = -rotation @ position
        rotation.setflags(write=False)
        translation.setflags(write=False)
        return cls(pose=pose, intrinsics=intrinsics, rotation=rotation, translation=translation)

    @property
    def position_m(self) -> F64:
        """Camera centre in the world frame (metres)."""
        return np.asarray(self.pose.position_m, dtype=np.float64)

    def to_camera(self, points_world: npt.ArrayLike) -> F64:
        """World points (N, 3) to camera-frame points (N, 3), metres."""
        p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
        return p @ self.rotation.T + self.translation

    def project(self, points_world: npt.ArrayLike) -> tuple[F64, F64]:
        """Pixels (N, 2) as ``(u, v)`` and depths (N,) (camera z, metres) of world points (N, 3).

        A point with depth <= 0 is behind the camera and its pixel coordinates are meaningless.
        """
        pc = self.to_camera(points_world)
        k = self.intrinsics
        z = pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = k.fx * pc[:, 0] / z + k.cx
            v = k.fy * pc[:, 1] / z + k.cy
        return np.stack([u, v], axis=1), z

    def ray_directions(self, offset_u: float = 0.0, offset_v: float = 0.0) -> tuple[F64, F64, F64]:
        """World-frame ray directions (three HxW arrays) through every pixel centre (+ a sub-pixel offset).

        Directions are scaled so their camera-frame z is 1: the ray parameter of a hit is its depth.
        """
        k = self.intrinsics
        x = ((np.arange(k.width, dtype=np.float64) + offset_u - k.cx) / k.fx)[None, :]
        y = ((np.arange(k.height, dtype=np.float64) + offset_v - k.cy) / k.fy)[:, None]
        r = self.rotation  # columns of r.T are rows of r: d_world = r.T @ (x, y, 1)
        return (
            r[0, 0] * x + r[1, 0] * y + r[2, 0],
            r[0, 1] * x + r[1, 1] * y + r[2, 1],
            r[0, 2] * x + r[1, 2] * y + r[2, 2],
        )


@dataclass(frozen=True, eq=False)
class Rect:
    """A one-sided textured rectangle: seen from the side its outward normal points to.

    ``origin`` is the top-left corner as seen from outside; ``right`` and ``down`` are unit vectors along
    its edges, so a hit has local coordinates ``(s, t)`` in metres with ``s`` to the right, ``t`` down,
    like image coordinates of the printed texture.
    """

    origin: F64
    right: F64
    down: F64
    width_m: float
    height_m: float

    @classmethod
    def make(cls, origin: npt.ArrayLike, right: npt.ArrayLike, down: npt.ArrayLike, w: float, h: float) -> Rect:
        return cls(np.asarray(origin, np.float64), _unit(right), _unit(down), float(w), float(h))

    @property
    def normal(self) -> F64:
        """Outward unit normal (towards the viewer)."""
        return np.cross(self.down, self.right)

    def point(self, s: float, t: float) -> F64:
        """World point at local coordinates ``(s, t)``."""
        return self.origin + s * self.right + t * self.down


@dataclass(frozen=True, eq=False)
class Hits:
    """Nearest hit per ray: depth (inf for a miss), rect index (-1 for a miss), local coordinates."""

    depth_m: F64
    index: npt.NDArray[np.int8]
    s: F64
    t: F64


Window = tuple[int, int, int, int]
"""Pixel rows ``v0:v1`` and columns ``u0:u1`` of an image, as ``(v0, v1, u0, u1)``."""

WINDOW_MARGIN_PX = 2
"""Pixels added on every side of a rect's projected bounds (far more than rounding can move a hit)."""
WINDOW_MIN_DEPTH_M = 0.01
"""A rect with a corner nearer the camera plane than this is cast against every pixel (no window)."""


def rect_window(view: CameraView, rect: Rect, offset_u: float = 0.0, offset_v: float = 0.0) -> Window | None:
    """The pixels whose rays (``view.ray_directions(offset_u, offset_v)``) can hit ``rect``, or None when every
    pixel may (a corner of the rect near or behind the camera plane).

    The rect lies wholly in front of the camera, so its image is the convex hull of its projected corners: a ray
    outside their bounds (plus :data:`WINDOW_MARGIN_PX`) misses it. An empty window means no ray hits it."""
    corners = np.stack([rect.origin, rect.point(rect.width_m, 0.0), rect.point(0.0, rect.height_m),
                        rect.point(rect.width_m, rect.height_m)])
    uv, z = view.project(corners)
    if float(z.min()) < WINDOW_MIN_DEPTH_M:
        return None
    k = view.intrinsics
    u0 = max(0, math.floor(float(uv[:, 0].min()) - offset_u) - WINDOW_MARGIN_PX)
    u1 = min(k.width, math.ceil(float(uv[:, 0].max()) - offset_u) + WINDOW_MARGIN_PX + 1)
    v0 = max(0, math.floor(float(uv[:, 1].min()) - offset_v) - WINDOW_MARGIN_PX)
    v1 = min(k.height, math.ceil(float(uv[:, 1].max()) - offset_v) + WINDOW_MARGIN_PX + 1)
    return v0, max(v0, v1), u0, max(u0, u1)


def cast(rects: Sequence[Rect | None], origin: F64, d: tuple[F64, F64, F64],
         windows: Sequence[Window | None] | None = None) -> Hits:
    """Nearest front-facing rect hit along each ray ``origin + depth * d`` (d as from ``ray_directions``); a
    None in ``rects`` is skipped (its index is never reported).

    ``windows`` (HxW rays only), one per rect: the only pixels whose rays can hit it (:func:`rect_window`; None:
    any). A pure speed-up: the hits are the same, bit for bit, as without windows."""
    dx, dy, dz = d
    best = np.full(dx.shape, np.inf)
    index = np.full(dx.shape, -1, dtype=np.int8)
    s_out = np.zeros(dx.shape)
    t_out = np.zeros(dx.shape)
    for i, rect in enumerate(rects):
        if rect is None:
            continue
        n = rect.normal
        rel = origin - rect.origin
        height = float(n @ rel)
        if height <= 0.0:  # camera behind (or on) the face: never seen
            continue
        window = windows[i] if windows is not None else None
        if window is None:
            _cast_one(i, rect, n, rel, height, dx, dy, dz, best, index, s_out, t_out)
            continue
        v0, v1, u0, u1 = window
        if v0 >= v1 or u0 >= u1:
            continue
        w = np.s_[v0:v1, u0:u1]  # views: the hits are written through to the full arrays
        _cast_one(i, rect, n, rel, height, dx[w], dy[w], dz[w], best[w], index[w], s_out[w], t_out[w])
    return Hits(best, index, s_out, t_out)


def _cast_one(i: int, rect: Rect, n: F64, rel: F64, height: float, dx: F64, dy: F64, dz: F64, best: F64,
              index: npt.NDArray[np.int8], s_out: F64, t_out: F64) -> None:
    """One rect against a set of rays: where it is hit nearer than ``best``, the hit goes into the outputs."""
    denom = n[0] * dx + n[1] * dy + n[2] * dz
    with np.errstate(divide="ignore", invalid="ignore"):  # inf x 0 (a ray along the face): nan, no hit
        lam = np.where(denom < -1e-12, -height / denom, np.inf)
        s = float(rect.right @ rel) + lam * (rect.right[0] * dx + rect.right[1] * dy + rect.right[2] * dz)
        t = float(rect.down @ rel) + lam * (rect.down[0] * dx + rect.down[1] * dy + rect.down[2] * dz)
    hit = (lam < best) & (s >= 0.0) & (s <= rect.width_m) & (t >= 0.0) & (t <= rect.height_m)
    best[hit] = lam[hit]
    index[hit] = i
    s_out[hit] = s[hit]
    t_out[hit] = t[hit]


def sphere_bbox(view: CameraView, center_cam: tuple[float, float, float], radius: float) -> tuple[int, int, int, int]:
    """Pixel bounds ``(u0, u1, v0, v1)`` (half-open, clipped) enclosing a sphere given in camera coordinates.

    Empty (u0 >= u1 or v0 >= v1) when the sphere is outside the image or not entirely in front of the camera.
    """
    x, y, z = center_cam
    k = view.intrinsics
    near = z - radius
    if near <= 1e-3:
        return 0, 0, 0, 0
    # The camera-aligned cube around the sphere contains it; its projection bounds the sphere's.
    us = [k.fx * (x + sx) / (z + sz) + k.cx for sx in (-radius, radius) for sz in (-radius, radius)]
    vs = [k.fy * (y + sy) / (z + sz) + k.cy for sy in (-radius, radius) for sz in (-radius, radius)]
    u0 = max(0, math.floor(min(us)))
    u1 = min(k.width, math.ceil(max(us)) + 1)
    v0 = max(0, math.floor(min(vs)))
    v1 = min(k.height, math.ceil(max(vs)) + 1)
    return u0, u1, v0, v1
