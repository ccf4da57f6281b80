"""The simulator's static world and its per-view precomputation (everything that does not move).

Layout (world frame, metres, Z up), all centred on the Z axis:

* a textured floor (z = 0), a square of ``floor_half_size_m``;
* a ChArUco board standing upright in the plane y = 0, centred at height ``board_center_z_m``; its front
  face looks towards -Y (markers ``0 .. n-1``), its back face towards +Y (markers ``n .. 2n-1``), each
  printed so it reads correctly from its own side;
* a box resting just above the board whose four side faces (facing -Y, +X, +Y, -X) each carry the
  timecode panel: a dark frame with 8 x 4 cells, bit ``i`` at row ``i // 8``, column ``i % 8`` as seen from
  outside the face (bit 0 = most significant, top left);
* with an LED clock (``[sim.ledclock]``), its lantern: a box under the board, boards on its side faces
  (:mod:`rigsync.drivers.sim.ledclock_scene`).

Per view, :meth:`World.raster` ray-casts every pixel once (colour and IR supersampled, depth from the pixel
centre) and records which pixels show which timecode cell, so rendering a frame only copies and paints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.drivers.sim import ledclock_scene
from rigsync.drivers.sim._scene_geometry import F64, CameraView, Hits, Rect, Window, cast, rect_window
from rigsync.drivers.sim.ledclock_render import LedFootprint, footprint
from rigsync.drivers.sim.timecode import TIMECODE_BITS

if TYPE_CHECKING:
    from rigsync.drivers.sim.ledclock_scene import LedClock
    from rigsync.drivers.sim.scene import SceneConfig

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

PANEL_COLS = 8
PANEL_ROWS = TIMECODE_BITS // PANEL_COLS
PANEL_BORDER_M = 0.025
"""Dark frame around the cell grid on each panel face."""
CELL_MARGIN = 0.12
"""Fraction of a cell's width (each side) that is gap; a pixel whose centre is inside the rest shows the bit."""
PANEL_FRAME_LEVEL = 60.0
CELL_OFF_LEVEL = 25
CELL_ON_LEVEL = 235

LIGHT_DIR = np.array([0.35, -0.5, 1.0]) / np.linalg.norm([0.35, -0.5, 1.0])
"""Direction towards the (directional) light, world frame."""
SKY_HORIZON = np.array([205.0, 212.0, 222.0], dtype=np.float32)
SKY_ZENITH = np.array([105.0, 145.0, 205.0], dtype=np.float32)
FLOOR_TINT = np.array([0.88, 0.80, 0.70], dtype=np.float32)
BOX_COLOR = np.array([95.0, 100.0, 110.0], dtype=np.float32)
IR_FULL_RANGE_M = 2.5
"""IR illumination is full strength up to this range, then falls off with the inverse square."""
FLOOR_TEXTURE_PERIOD_M = 4.0
FLOOR_TILE_M = 0.5

FLOOR, BOARD_FRONT, BOARD_BACK = 0, 1, 2
PANEL_FACES = (3, 4, 5, 6)
BOX_TOP, BOX_BOTTOM = 7, 8


def _shade(normal: F64) -> float:
    return 0.7 + 0.3 * max(0.0, float(normal @ LIGHT_DIR))


@dataclass(frozen=True, eq=False)
class Raster:
    """Everything static about one view, at the view's resolution."""

    rgb: U8
    """(H, W, 3) colour, RGB order, panel cells dark."""
    ir: U8
    """(H, W) infrared reflectance under the camera's own illumination, panel cells dark, no projector dots."""
    depth_m: F32
    """(H, W) camera z of the static world, inf where nothing is hit within range."""
    depth_mm: npt.NDArray[np.uint16]
    """(H, W) ``depth_m`` in millimetres, 0 where nothing is hit."""
    cell_pix: npt.NDArray[np.intp]
    """Flat pixel indices whose centre shows a timecode cell (any face)."""
    cell_bit: npt.NDArray[np.intp]
    """For each of ``cell_pix``: the cell's index in ``timecode.encode`` order (0 = first, most significant)."""
    face_samples: tuple[npt.NDArray[np.intp], ...]
    """Per readable panel face (best facing first): the flat pixel index sampling each of the 32 cells."""
    leds: LedFootprint | None = None
    """Where the LED clock's LEDs fall (None without an LED clock)."""


class World:
    """The static geometry and textures built from a :class:`SceneConfig`."""

    def __init__(self, config: SceneConfig, ledclock: LedClock | None = None) -> None:
        self.config = config
        self.ledclock = ledclock
        cols, rows = config.board_squares
        sq, margin = config.board_square_m, config.board_margin_m
        self.board_width_m = cols * sq + 2 * margin
        self.board_height_m = rows * sq + 2 * margin
        top = config.board_center_z_m + self.board_height_m / 2
        w2 = self.board_width_m / 2
        hw, ph = config.panel_half_width_m, config.panel_height_m
        self.panel_bottom_z_m = top + 0.02
        zt, zb = self.panel_bottom_z_m + ph, self.panel_bottom_z_m
        fh = config.floor_half_size_m
        self.rects: list[Rect] = [
            Rect.make((-fh, fh, 0.0), (1, 0, 0), (0, -1, 0), 2 * fh, 2 * fh),  # floor, seen from above
            Rect.make((-w2, 0.0, top), (1, 0, 0), (0, 0, -1), self.board_width_m, self.board_height_m),
            Rect.make((w2, 0.0, top), (-1, 0, 0), (0, 0, -1), self.board_width_m, self.board_height_m),
            Rect.make((-hw, -hw, zt), (1, 0, 0), (0, 0, -1), 2 * hw, ph),  # panel facing -Y
            Rect.make((hw, -hw, zt), (0, 1, 0), (0, 0, -1), 2 * hw, ph),  # panel facing +X
            Rect.make((hw, hw, zt), (-1, 0, 0), (0, 0, -1), 2 * hw, ph),  # panel facing +Y
            Rect.make((-hw, hw, zt), (0, -1, 0), (0, 0, -1), 2 * hw, ph),  # panel facing -X
            Rect.make((-hw, hw, zt), (1, 0, 0), (0, -1, 0), 2 * hw, 2 * hw),  # box top
            Rect.make((-hw, -hw, zb), (1, 0, 0), (0, 1, 0), 2 * hw, 2 * hw),  # box bottom
        ]
        self._lantern: dict[int, bool] = {}  # rect index -> carries a board
        for rect, board in ledclock.rects() if ledclock is not None else ():
            self._lantern[len(self.rects)] = board
            self.rects.append(rect)
        self._shades = [_shade(r.normal) for r in self.rects]
        # What rays hit: every rect, but the upright board when the board is hand-held (it moves instead).
        self._solid: list[Rect | None] = [
            None if i in (BOARD_FRONT, BOARD_BACK) and config.board_motion is not None else r
            for i, r in enumerate(self.rects)]
        self.boards = config.board_spec.to_cv2()  # (front, back)
        self._board_mips = (self._board_pyramid(self.boards[0]), self._board_pyramid(self.boards[1]))
        self._floor = _floor_texture(config.seed)
        self.cell_w_m = (2 * hw - 2 * PANEL_BORDER_M) / PANEL_COLS
        self.cell_h_m = (ph - 2 * PANEL_BORDER_M) / PANEL_ROWS

    # -- board -------------------------------------------------------------------------------------------

    def _board_pyramid(self, board: object) -> list[tuple[float, F32]]:
        """(texels per metre, image) from fine to coarse."""
        cols, rows = self.config.board_squares
        px = 64
        margin_px = round(self.config.board_margin_m / self.config.board_square_m * px)
        size = (cols * px + 2 * margin_px, rows * px + 2 * margin_px)
        image = board.generateImage(size, marginSize=margin_px, borderBits=1)  # type: ignore[attr-defined]
        levels: list[tuple[float, F32]] = []
        tex = np.asarray(image, dtype=np.float32)
        while True:
            levels.append((tex.shape[1] / self.board_width_m, tex))
            if tex.shape[1] < 2 * cols * 4:
                return levels
            half = (tex.shape[1] // 2, tex.shape[0] // 2)
            tex = np.asarray(cv2.resize(tex, half, interpolation=cv2.INTER_AREA), dtype=np.float32)

    def board_texture(self, back: bool, level: int) -> tuple[float, F32]:
        """(texels per metre, image) of one face's printed board at mip ``level`` (clamped to the coarsest)."""
        mips = self._board_mips[1 if back else 0]
        return mips[min(level, len(mips) - 1)]

    def board_to_world(self, back: bool) -> tuple[F64, F64]:
        """``(R, t)`` with ``x_world = R @ x_board + t`` for OpenCV board coordinates of one face.

        Board coordinates are those of ``CharucoBoard.getChessboardCorners()``: origin at the top-left
        corner of the squares, x right, y down (as printed, seen from that face's side), z into the board.
        """
        rect = self.rects[BOARD_BACK if back else BOARD_FRONT]
        rotation = np.stack([rect.right, rect.down, np.cross(rect.right, rect.down)], axis=1)
        m = self.config.board_margin_m
        return rotation, rect.point(m, m)

    # -- panel -------------------------------------------------------------------------------------------

    def _cell_coords(self, s: F64, t: F64) -> tuple[F64, F64]:
        """Continuous (column, row) cell coordinates of local panel coordinates."""
        return (s - PANEL_BORDER_M) / self.cell_w_m, (t - PANEL_BORDER_M) / self.cell_h_m

    def _cell_interior(self, s: F64, t: F64) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Which points lie inside a cell's lit area, and that cell's bit index."""
        cu, cv = self._cell_coords(s, t)
        col, row = np.floor(cu), np.floor(cv)
        fu, fv = cu - col, cv - row
        inside = (
            (col >= 0)
            & (col < PANEL_COLS)
            & (row >= 0)
            & (row < PANEL_ROWS)
            & (fu >= CELL_MARGIN)
            & (fu <= 1 - CELL_MARGIN)
            & (fv >= CELL_MARGIN)
            & (fv <= 1 - CELL_MARGIN)
        )
        bit = np.where(inside, row * PANEL_COLS + col, 0).astype(np.int64)
        return inside, bit

    # -- shading -----------------------------------------------------------------------------------------

    def _shade_pass(self, hits: Hits, d: tuple[F64, F64, F64], board_level: int) -> tuple[F32, F32]:
        """Colour (H, W, 3) and IR (H, W) float images for one set of rays."""
        idx, s, t = hits.index, hits.s, hits.t
        rgb = np.empty((*idx.shape, 3), dtype=np.float32)
        albedo = np.zeros(idx.shape, dtype=np.float32)  # IR reflectance, 0..255
        emissive = np.zeros(idx.shape, dtype=np.float32)
        norm = np.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2)
        miss = idx < 0
        el = np.clip(d[2] / norm, 0.0, 1.0).astype(np.float32)
        rgb[miss] = SKY_HORIZON + (SKY_ZENITH - SKY_HORIZON) * el[miss][:, None]

        m = idx == FLOOR
        if m.any():
            g = _sample(self._floor, s[m], t[m], self._floor.shape[1] / FLOOR_TEXTURE_PERIOD_M, wrap=True)
            rgb[m] = (g * self._shades[FLOOR])[:, None] * FLOOR_TINT
            albedo[m] = g * float(FLOOR_TINT.mean())
        for face, mips in ((BOARD_FRONT, self._board_mips[0]), (BOARD_BACK, self._board_mips[1])):
            m = idx == face
            if m.any():
                scale, tex = mips[min(board_level, len(mips) - 1)]
                g = _sample(tex, s[m], t[m], scale, wrap=False)
                rgb[m] = (g * self._shades[face])[:, None]
                albedo[m] = g
        for face in PANEL_FACES:
            m = idx == face
            if m.any():
                inside, _ = self._cell_interior(s[m], t[m])
                level = np.where(inside, np.float32(CELL_OFF_LEVEL), np.float32(PANEL_FRAME_LEVEL))
                rgb[m] = level[:, None]
                emissive[m] = np.where(inside, np.float32(CELL_OFF_LEVEL), np.float32(0.0))
                albedo[m] = np.where(inside, np.float32(0.0), np.float32(PANEL_FRAME_LEVEL))
        for face in (BOX_TOP, BOX_BOTTOM):
            m = idx == face
            rgb[m] = BOX_COLOR * self._shades[face]
            albedo[m] = float(BOX_COLOR.mean())
        for face, board in self._lantern.items():
            m = idx == face
            if m.any():
                assert self.ledclock is not None  # lantern faces exist only with it
                g = (self.ledclock.face_grey(s[m], t[m]) if board
                     else np.full(int(m.sum()), ledclock_scene.BOX_LEVEL, dtype=np.float32))
                rgb[m] = (g * self._shades[face])[:, None]
                albedo[m] = g

        rng_m = np.where(miss, np.inf, hits.depth_m * norm)
        with np.errstate(divide="ignore"):
            falloff = np.minimum(1.0, (IR_FULL_RANGE_M / rng_m) ** 2).astype(np.float32)
        return rgb, albedo * falloff + emissive

    def _board_level(self, view: CameraView, samples_per_pixel: int) -> int:
        """Finest board texture level not much finer than the samples that will read it (limits aliasing)."""
        centre = self.rects[BOARD_FRONT].point(self.board_width_m / 2, self.board_height_m / 2)
        distance = max(float(np.linalg.norm(view.position_m - centre)), 1e-3)
        return self.board_level(view.intrinsics.fx * samples_per_pixel / distance)

    def board_level(self, needed: float) -> int:
        """Finest board texture level with at most ``needed`` texels per metre (samples per metre on the board)."""
        mips = self._board_mips[0]
        level = 0
        while level + 1 < len(mips) and mips[level + 1][0] >= needed:
            level += 1
        return level

    # -- per view ----------------------------------------------------------------------------------------

    def raster(self, view: CameraView) -> Raster:
        """Ray-cast the static world for one view."""
        k = view.intrinsics
        ss = self.config.supersample
        origin = view.position_m
        level = self._board_level(view, ss)
        acc_rgb = np.zeros((k.height, k.width, 3), dtype=np.float32)
        acc_ir = np.zeros((k.height, k.width), dtype=np.float32)
        offsets = [(i + 0.5) / ss - 0.5 for i in range(ss)]
        for ov in offsets:
            for ou in offsets:
                d = view.ray_directions(ou, ov)
                rgb, ir = self._shade_pass(cast(self._solid, origin, d, self._windows(view, ou, ov)), d, level)
                acc_rgb += rgb
                acc_ir += ir
        n = float(ss * ss)
        rgb8 = np.clip(np.rint(acc_rgb / n), 0, 255).astype(np.uint8)
        ir8 = np.clip(np.rint(acc_ir / n), 0, 255).astype(np.uint8)

        centre = cast(self._solid, origin, view.ray_directions(), self._windows(view, 0.0, 0.0))
        depth = centre.depth_m.copy()
        depth[depth > self.config.max_depth_m] = np.inf
        valid = np.isfinite(depth)
        depth_mm = np.where(valid, np.clip(np.rint(np.where(valid, depth, 0.0) * 1000.0), 1, 65535), 0)
        cell_pix, cell_bit, samples = self._cells(centre)
        leds = None
        if self.ledclock is not None:
            faces = {i: self.rects[i] for i, board in self._lantern.items() if board}
            leds = footprint(self.ledclock, view, centre, faces)
        return Raster(
            rgb=rgb8,
            ir=ir8,
            depth_m=depth.astype(np.float32),
            depth_mm=depth_mm.astype(np.uint16),
            cell_pix=cell_pix,
            cell_bit=cell_bit,
            face_samples=samples,
            leds=leds,
        )

    def _windows(self, view: CameraView, offset_u: float, offset_v: float) -> list[Window | None]:
        """Per solid rect, the only pixels its rays can hit (cast skips the rest)."""
        return [None if r is None else rect_window(view, r, offset_u, offset_v) for r in self._solid]

    def _cells(
        self, centre: Hits
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], tuple[npt.NDArray[np.intp], ...]]:
        flat_index = centre.index.ravel()
        s, t = centre.s.ravel(), centre.t.ravel()
        all_pix: list[npt.NDArray[np.intp]] = []
        all_bits: list[npt.NDArray[np.int64]] = []
        ranked: list[tuple[int, npt.NDArray[np.intp]]] = []
        for face in PANEL_FACES:
            pix = np.flatnonzero(flat_index == face)
            if pix.size == 0:
                continue
            inside, bit = self._cell_interior(s[pix], t[pix])
            pix, bit = pix[inside], bit[inside]
            all_pix.append(pix)
            all_bits.append(bit)
            # Sample each cell at the pixel whose centre is nearest the cell's centre.
            cu, cv = self._cell_coords(s[pix], t[pix])
            dist = (cu - np.floor(cu) - 0.5) ** 2 + (cv - np.floor(cv) - 0.5) ** 2
            order = np.lexsort((dist, bit))
            bits_sorted = bit[order]
            first = np.flatnonzero(np.r_[True, bits_sorted[1:] != bits_sorted[:-1]])
            if first.size == TIMECODE_BITS:
                ranked.append((pix.size, pix[order[first]].astype(np.intp)))
        ranked.sort(key=lambda item: -item[0])
        if all_pix:
            cell_pix = np.concatenate(all_pix).astype(np.intp)
            cell_bit = np.concatenate(all_bits).astype(np.intp)
        else:
            cell_pix, cell_bit = np.zeros(0, np.intp), np.zeros(0, np.intp)
        return cell_pix, cell_bit, tuple(samples for _, samples in ranked)


def _sample(tex: F32, s: F64, t: F64, texels_per_m: float, *, wrap: bool) -> F32:
    """Bilinear texture lookup at local coordinates (metres); texel centres at half-integers."""
    mx = (s * texels_per_m - 0.5).astype(np.float32)
    my = (t * texels_per_m - 0.5).astype(np.float32)
    if wrap:
        mx = np.mod(mx, np.float32(tex.shape[1]))
        my = np.mod(my, np.float32(tex.shape[0]))
    border = cv2.BORDER_WRAP if wrap else cv2.BORDER_REPLICATE
    # remap wants 2-D maps no longer than SHRT_MAX per side: fold the samples into rows of 1024.
    n = mx.size
    cols = 1024
    rows = -(-n // cols)
    pad = rows * cols - n
    mx2 = np.pad(mx, (0, pad)).reshape(rows, cols)
    my2 = np.pad(my, (0, pad)).reshape(rows, cols)
    out = cv2.remap(tex, mx2, my2, interpolation=cv2.INTER_LINEAR, borderMode=border)
    return np.asarray(out, dtype=np.float32).reshape(-1)[:n]


def _floor_texture(seed: int) -> F32:
    """A seeded grey floor texture (0..255) covering ``FLOOR_TEXTURE_PERIOD_M`` square, tileable."""
    rng = np.random.default_rng([seed, 0xF100])
    size = 512
    tiled = np.tile(rng.standard_normal((32, 32)).astype(np.float32), (3, 3))  # wraps seamlessly
    big = np.asarray(cv2.resize(tiled, (size * 3, size * 3), interpolation=cv2.INTER_CUBIC), dtype=np.float32)
    blobs = big[size : 2 * size, size : 2 * size]
    fine = rng.standard_normal((size, size)).astype(np.float32)
    coords = (np.arange(size) + 0.5) * (FLOOR_TEXTURE_PERIOD_M / size)
    tile = np.floor(coords / FLOOR_TILE_M).astype(np.int64)
    checker = ((tile[None, :] + tile[:, None]) % 2).astype(np.float32)
    frac = coords / FLOOR_TILE_M - tile
    grout = (np.minimum(frac, 1 - frac) < 0.03).astype(np.float32)
    grout2 = np.maximum(grout[None, :], grout[:, None])
    tex = 150.0 + 25.0 * checker + 22.0 * blobs + 6.0 * fine - 70.0 * grout2
    return np.asarray(np.clip(tex, 0, 255), dtype=np.float32)
