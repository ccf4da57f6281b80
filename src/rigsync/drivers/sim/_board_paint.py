"""Painting the moving calibration board into one view's frame (colour, IR or depth). Not public API.

Per frame, the board is ray-cast inside its projected bounding box only: every row ``y`` sees the board where it
is at the middle of that row's exposure, ``exposure_start_ns + round(y * line_ns) + (end - start) // 2`` (a
global shutter: ``line_ns = 0``, one pose), an instantaneous snapshot (no motion blur). Colour and IR average
``supersample**2`` rays per pixel (the board's edges blend with what is behind); depth uses the pixel centre
(the nearest board sample of the pixel, for the sphere's depth test in colour and IR).
Each ray hits the board only if it is nearer than the static world; the returned depth lets the sphere be
depth-tested against the board too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.core.frame import StreamKind
from rigsync.drivers.sim._scene_geometry import F64, CameraView
from rigsync.drivers.sim._scene_world import IR_FULL_RANGE_M, LIGHT_DIR, World
from rigsync.drivers.sim.board_motion import BoardMotion

F32 = npt.NDArray[np.float32]


def row_times_ns(exposure_start_ns: int, exposure_end_ns: int, line_ns: float, rows: npt.ArrayLike) -> npt.NDArray[
        np.int64]:
    """True time (ns) at which each of ``rows`` sees the board: the middle of that row's exposure."""
    r = np.asarray(rows, dtype=np.float64)
    return exposure_start_ns + np.rint(r * line_ns).astype(np.int64) + (exposure_end_ns - exposure_start_ns) // 2


@dataclass(frozen=True, eq=False)
class _Rows:
    """The board in camera coordinates, one entry per image row of the box: rotation (h, 3, 3), origin (h, 3)."""

    rotation: F64
    origin: F64


class BoardPainter:
    """Paints the moving board into frames of one stream of one view."""

    def __init__(self, world: World, motion: BoardMotion, view: CameraView, kind: StreamKind, *, scale: float,
                 dots: F32 | None, max_depth_m: float) -> None:
        self.world, self.motion, self.view, self.kind = world, motion, view, kind
        self._scale, self._dots, self._max_depth_m = scale, dots, max_depth_m
        k = view.intrinsics
        self._k = k
        self._ss = 1 if kind is StreamKind.DEPTH else world.config.supersample
        m = world.config.board_margin_m
        self._margin = m
        w, h = world.board_width_m, world.board_height_m
        self._squares_m = world.config.board_spec.squares_m
        self._outline = np.array([[-m, -m, 0.0], [w - m, -m, 0.0], [w - m, h - m, 0.0], [-m, h - m, 0.0]])

    def _rows(self, t_ns: npt.NDArray[np.int64]) -> _Rows:
        rotation, translation = self.motion.pose(t_ns, self._squares_m)
        rwc = self.view.rotation
        return _Rows(rwc @ rotation, translation @ rwc.T + self.view.translation)

    def _box(self, start_ns: int, end_ns: int, line_ns: float) -> tuple[int, int, int, int]:
        """Pixel bounds ``(u0, u1, v0, v1)`` (half-open) holding the board over the readout; empty if unseen."""
        k = self._k
        rows = [0, (k.height - 1) / 2, k.height - 1] if line_ns else [0]
        cam = self._rows(row_times_ns(start_ns, end_ns, line_ns, rows))
        pts = np.einsum("nij,kj->nki", cam.rotation, self._outline) + cam.origin[:, None, :]
        z = pts[..., 2]
        if np.all(z <= 1e-3):
            return 0, 0, 0, 0
        if np.any(z <= 1e-3):  # the board crosses the camera's plane: search the whole image
            return 0, k.width, 0, k.height
        u = k.fx * pts[..., 0] / z + k.cx
        v = k.fy * pts[..., 1] / z + k.cy
        return (max(0, int(np.floor(u.min())) - 1), min(k.width, int(np.ceil(u.max())) + 2),
                max(0, int(np.floor(v.min())) - 1), min(k.height, int(np.ceil(v.max())) + 2))

    def paint(self, img: npt.NDArray[Any], static_depth_m: F32, exposure_start_ns: int, exposure_end_ns: int,
              line_ns: float) -> F32:
        """Paint the board into ``img`` in place; returns the frame's depth (static world and board, camera z)."""
        u0, u1, v0, v1 = self._box(exposure_start_ns, exposure_end_ns, line_ns)
        if u0 >= u1 or v0 >= v1:
            return static_depth_m
        k, ss = self._k, self._ss
        cam = self._rows(row_times_ns(exposure_start_ns, exposure_end_ns, line_ns, np.arange(v0, v1)))
        # Every sample ray (ss x ss per pixel) at once: sub-rows share their row's board pose.
        offsets = (np.arange(ss) + 0.5) / ss - 0.5
        ys = ((np.arange(v0, v1)[:, None] + offsets).ravel() - k.cy) / k.fy  # (h * ss,)
        xs = (((np.arange(u0, u1)[:, None] + offsets).ravel() - k.cx) / k.fx).astype(np.float32)[None, :]
        rot, org = np.repeat(cam.rotation, ss, axis=0), np.repeat(cam.origin, ss, axis=0)
        normal = rot[:, :, 2]  # board z (into the board) in camera coordinates, per sub-row
        num = np.einsum("ij,ij->i", normal, org)  # > 0: the camera sees the front face

        def along(axis: F64) -> tuple[F32, F32]:
            """``axis . (x, y, 1)`` per sample as (slope over x (H, 1), value at x = 0 (H, 1)), float32."""
            return (axis[:, 0:1].astype(np.float32), (axis[:, 1] * ys + axis[:, 2])[:, None].astype(np.float32))

        nx, n0 = along(normal)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = num[:, None].astype(np.float32) / (nx * xs + n0)  # sample depth (camera z) on the board's plane
        margin = self._margin
        sx, s0 = along(rot[:, :, 0])
        tx, t0 = along(rot[:, :, 1])
        s = lam * (sx * xs + s0) - (np.einsum("ij,ij->i", rot[:, :, 0], org) - margin)[:, None].astype(np.float32)
        t = lam * (tx * xs + t0) - (np.einsum("ij,ij->i", rot[:, :, 1], org) - margin)[:, None].astype(np.float32)
        static = static_depth_m[v0:v1, u0:u1]
        behind = np.repeat(np.repeat(static, ss, axis=0), ss, axis=1) if ss > 1 else static
        width_m, height_m = self.world.board_width_m, self.world.board_height_m
        hit = (lam > 0) & (lam < behind) & (s >= 0) & (s <= width_m) & (t >= 0) & (t <= height_m)
        if not hit.any():
            return static_depth_m
        board_lam = _blocks(np.where(hit, lam, np.float32(np.inf)), ss, np.minimum)
        depth = static_depth_m.copy()
        np.minimum(static, board_lam, out=depth[v0:v1, u0:u1])
        sub = img[v0:v1, u0:u1]
        if self.kind is StreamKind.DEPTH:
            ok = np.isfinite(board_lam) & (board_lam <= self._max_depth_m)
            sub[ok] = np.rint(board_lam[ok] * 1000.0).astype(np.uint16)
            return depth
        mid = len(cam.origin) // 2
        centre = cam.origin[mid] + cam.rotation[mid] @ np.array([*self._squares_m, 0.0]) / 2
        value = self._grey(num, s, t, lam, xs, ys, rot, float(np.linalg.norm(centre)))
        n = np.float32(ss * ss)
        value = _blocks(np.where(hit, value, np.float32(0.0)), ss, np.add) / n
        cover = _blocks(hit.astype(np.float32), ss, np.add) / n
        if self._dots is not None:
            near = np.where(np.isfinite(board_lam), board_lam, np.float32(0.0))
            value += self._dots[v0:v1, u0:u1] * self._falloff(near, self._rays_centre(u0, u1, v0, v1)) * cover
        value *= np.float32(self._scale)
        top = np.iinfo(sub.dtype).max
        if sub.ndim == 3:
            old = sub[:, :, :3].astype(np.float32)
            sub[:, :, :3] = np.clip(np.rint(old * (1.0 - cover)[:, :, None] + value[:, :, None]), 0, top).astype(
                sub.dtype)
        else:
            sub[:] = np.clip(np.rint(sub.astype(np.float32) * (1.0 - cover) + value), 0, top).astype(sub.dtype)
        return depth

    def _grey(self, num: F64, s: F32, t: F32, lam: F32, xs: F32, ys: F64, rot: F64, distance_m: float) -> F32:
        """Colour (shaded grey) or IR (reflectance times falloff) of the board at every sample, 0..255; the texture
        level is chosen for the board's centre ``distance_m`` away."""
        front = num > 0.0
        width_m = np.float32(self.world.board_width_m)
        level = self._level(distance_m)
        scale, tex_front = self.world.board_texture(False, level)
        tex_back = self.world.board_texture(True, level)[1]
        if front.all():
            grey = _remap(tex_front, s, t, scale)
        elif not front.any():
            grey = _remap(tex_back, width_m - s, t, scale)
        else:
            grey = np.where(front[:, None], _remap(tex_front, s, t, scale), _remap(tex_back, width_m - s, t, scale))
        if self.kind is StreamKind.COLOR:
            outward = np.where(front, -1.0, 1.0)[:, None] * (rot[:, :, 2] @ self.view.rotation)  # world normal
            shade = 0.7 + 0.3 * np.maximum(0.0, outward @ LIGHT_DIR)
            shaded: F32 = grey * shade[:, None].astype(np.float32)
            return shaded
        return grey * self._falloff(lam, (xs, ys[:, None].astype(np.float32)))

    def _rays_centre(self, u0: int, u1: int, v0: int, v1: int) -> tuple[F32, F32]:
        """Pixel-centre ray directions (z = 1) of the box: x (1, w), y (h, 1)."""
        k = self._k
        x = ((np.arange(u0, u1) - k.cx) / k.fx).astype(np.float32)[None, :]
        y = ((np.arange(v0, v1) - k.cy) / k.fy).astype(np.float32)[:, None]
        return x, y

    @staticmethod
    def _falloff(lam: F32, rays: tuple[F32, F32]) -> F32:
        """IR illumination falloff at depth ``lam`` along rays ``(x, y, 1)``: full up to IR_FULL_RANGE_M."""
        x, y = rays
        range2 = lam * lam * (x * x + y * y + np.float32(1.0))
        with np.errstate(divide="ignore"):
            out: F32 = np.minimum(np.float32(1.0), np.float32(IR_FULL_RANGE_M**2) / range2)
        return out

    def _level(self, distance_m: float) -> int:
        return self.world.board_level(self._k.fx * self._ss / max(distance_m, 1e-3))


def _blocks(a: F32, ss: int, op: np.ufunc) -> F32:
    """``op`` (np.add, np.minimum) over each ``ss`` x ``ss`` block of ``a``: one value per pixel."""
    if ss == 1:
        return a
    out = a[0::ss, 0::ss].copy()
    for i in range(ss):
        for j in range(ss):
            if i or j:
                op(out, a[i::ss, j::ss], out=out)
    return out


def _remap(tex: F32, s: F32, t: F32, texels_per_m: float) -> F32:
    """Bilinear lookup of the board texture at local coordinates (metres), 2-D maps."""
    mx = s * np.float32(texels_per_m) - np.float32(0.5)
    my = t * np.float32(texels_per_m) - np.float32(0.5)
    mx[~np.isfinite(mx)] = -1.0
    my[~np.isfinite(my)] = -1.0
    out = cv2.remap(tex, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float32)
