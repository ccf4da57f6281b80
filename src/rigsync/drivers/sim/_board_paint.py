"""Painting the moving calibration board into one view's frame (colour, IR or depth). Not public API.

Per frame, the board is ray-cast inside its projected bounding box only: every row ``y`` sees the board where it
is at the middle of that row's exposure, ``exposure_start_ns + round(y * line_ns) + (end - start) // 2`` (a
global shutter: ``line_ns = 0``, one pose), an instantaneous snapshot (no motion blur). Colour and IR average
``supersample**2`` rays per pixel (the board's edges blend with what is behind); depth uses the pixel centre.
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
        box = self._box(exposure_start_ns, exposure_end_ns, line_ns)
        u0, u1, v0, v1 = box
        if u0 >= u1 or v0 >= v1:
            return static_depth_m
        ss = self._ss
        cam = self._rows(row_times_ns(exposure_start_ns, exposure_end_ns, line_ns, np.arange(v0, v1)))
        rot, org = cam.rotation, cam.origin
        n = rot[:, :, 2]  # board z (into the board) in camera coordinates, per row
        num = np.einsum("ij,ij->i", n, org)[:, None]  # > 0: the camera sees the front face
        front = num > 0.0
        world_normal = np.where(front, -1.0, 1.0) * (self.view.rotation.T @ n.T).T  # visible face, outward
        shade = (0.7 + 0.3 * np.maximum(0.0, world_normal @ LIGHT_DIR))[:, None]
        static = static_depth_m[v0:v1, u0:u1]
        width_m = self.world.board_width_m
        level = self._level(float(np.linalg.norm(org[len(org) // 2])))
        scale, tex_front = self.world.board_texture(False, level)
        tex_back = self.world.board_texture(True, level)[1]
        centre_lam, _, _, centre_hit = self._cast(num, n, org, rot, box, (0.0, 0.0), static)
        acc = np.zeros(static.shape, np.float32)
        hits = np.zeros(static.shape, np.float32)
        offsets = [(i + 0.5) / ss - 0.5 for i in range(ss)] if self.kind is not StreamKind.DEPTH else []
        for ov in offsets:
            for ou in offsets:
                lam, s, t, hit = self._cast(num, n, org, rot, box, (ou, ov), static)
                s_tex = np.where(front, s, width_m - s)
                grey = np.where(front, _remap(tex_front, s_tex, t, scale), _remap(tex_back, s_tex, t, scale))
                if self.kind is StreamKind.COLOR:
                    value = grey * shade
                else:
                    with np.errstate(divide="ignore"):
                        value = grey * np.minimum(1.0, IR_FULL_RANGE_M**2 / self._range2(lam, box))
                acc += np.where(hit, value, 0.0).astype(np.float32)
                hits += hit
        depth = static_depth_m.copy()
        depth[v0:v1, u0:u1] = np.where(centre_hit, centre_lam, static)
        sub = img[v0:v1, u0:u1]
        if self.kind is StreamKind.DEPTH:
            ok = centre_hit & (centre_lam <= self._max_depth_m)
            sub[ok] = np.rint(centre_lam[ok] * 1000.0).astype(np.uint16)
            return depth
        cover = hits / np.float32(ss * ss)
        board = acc / np.float32(ss * ss)
        if self._dots is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                falloff = np.where(centre_hit, np.minimum(1.0, IR_FULL_RANGE_M**2 / self._range2(centre_lam, box)),
                                   0.0)
            board += (self._dots[v0:v1, u0:u1] * falloff * cover).astype(np.float32)
        board *= np.float32(self._scale)
        if sub.ndim == 3:
            painted = 3
            old = sub[:, :, :painted].astype(np.float32)
            new = old * (1.0 - cover)[:, :, None] + board[:, :, None]
            sub[:, :, :painted] = np.clip(np.rint(new), 0, np.iinfo(sub.dtype).max).astype(sub.dtype)
        else:
            new = sub.astype(np.float32) * (1.0 - cover) + board
            sub[:] = np.clip(np.rint(new), 0, np.iinfo(sub.dtype).max).astype(sub.dtype)
        return depth

    def _cast(self, num: F64, n: F64, org: F64, rot: F64, box: tuple[int, int, int, int],
              offset: tuple[float, float], static: F32) -> tuple[F64, F64, F64, npt.NDArray[np.bool_]]:
        """Per ray of the box (pixel + sub-pixel ``offset``): board depth, local ``(s, t)`` (metres from the
        printed image's top-left corner, front face), and whether the ray sees the board before the static world."""
        x, y = self._rays(box, offset)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = num / (n[:, 0:1] * x + n[:, 1:2] * y + n[:, 2:3])
        px, py, pz = lam * x - org[:, 0:1], lam * y - org[:, 1:2], lam - org[:, 2:3]
        s = rot[:, 0, 0:1] * px + rot[:, 1, 0:1] * py + rot[:, 2, 0:1] * pz + self._margin
        t = rot[:, 0, 1:2] * px + rot[:, 1, 1:2] * py + rot[:, 2, 1:2] * pz + self._margin
        hit = ((lam > 0) & (lam < static) & (s >= 0) & (s <= self.world.board_width_m) & (t >= 0)
               & (t <= self.world.board_height_m))
        return lam, s, t, hit

    def _rays(self, box: tuple[int, int, int, int], offset: tuple[float, float]) -> tuple[F64, F64]:
        """Camera-frame ray directions (z = 1) of the box's pixels: x (1, w) and y (h, 1)."""
        k, (u0, u1, v0, v1) = self._k, box
        x = ((np.arange(u0, u1, dtype=np.float64) + offset[0] - k.cx) / k.fx)[None, :]
        y = ((np.arange(v0, v1, dtype=np.float64) + offset[1] - k.cy) / k.fy)[:, None]
        return x, y

    def _range2(self, lam: F64, box: tuple[int, int, int, int]) -> F64:
        """Squared range (m^2) along the pixel-centre rays of the box at depths ``lam``."""
        x, y = self._rays(box, (0.0, 0.0))
        return lam * lam * (x * x + y * y + 1.0)

    def _level(self, distance_m: float) -> int:
        return self.world.board_level(self._k.fx * self._ss / max(distance_m, 1e-3))


def _remap(tex: F32, s: F64, t: F64, texels_per_m: float) -> F32:
    """Bilinear lookup of the board texture at local coordinates (metres), 2-D maps."""
    mx = (s * texels_per_m - 0.5).astype(np.float32)
    my = (t * texels_per_m - 0.5).astype(np.float32)
    mx[~np.isfinite(mx)] = -1.0
    my[~np.isfinite(my)] = -1.0
    out = cv2.remap(tex, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float32)
