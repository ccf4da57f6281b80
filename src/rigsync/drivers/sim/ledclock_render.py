"""The LED clock's LEDs in a rendered image: emissive discs integrated over each image row's true exposure.

The board faces and their markers are static (ray-cast with the rest of the world, :mod:`._scene_world`); the
LEDs are light added on top of that. Per view, :func:`footprint` finds once where each LED's disc falls:
its coverage of every pixel (supersampled ``SUPERSAMPLE`` x ``SUPERSAMPLE`` rays per pixel against the face
plane), blurred by a Gaussian point spread function of ``PSF_SIGMA_PX``, kept where the pixel's centre sees
that face. Per frame, :class:`LedPainter` adds to each of those pixels, for each LED covering it::

    gain * weight * level * lit_ns / norm_ns

* ``lit_ns``: how long the LED is lit (:meth:`LedClockBoard.lit_ns`) within the pixel row's exposure window
  mapped to board time (:meth:`LedClock.board_ns`). Global shutter: one window ``[exposure_start_ns,
  exposure_end_ns]`` for every row. Rolling shutter: row ``y`` exposes ``[exposure_start_ns + y * line_ns,
  exposure_end_ns + y * line_ns]`` (``y * line_ns`` rounded to the nanosecond); ``exposure_start_ns`` (the
  truth's) is the first row's start, and ``line_ns = readout_ns / rendered height``.
* ``level, norm_ns``: ``LEVEL_STEP`` per full step for a row's LED (``norm_ns`` its row's step: every row is
  dimmed in proportion to its step, as the board file says), ``LEVEL_COUNTER`` for a counter LED lit for the
  whole exposure (``norm_ns`` the exposure).
* ``gain``: the camera's own (seeded), 0.8 to 1.2.

A fully covered pixel of an unlit LED shows the dark strip (~``DARK_LEVEL``, shaded like the face); lit for
three steps, ~15 + 3 x 60 = 195 of 255: unsaturated. Then sensor noise (Gaussian, ``LedClock.noise`` levels,
seeded by the camera, the stream and the exposure start: the same frame renders the same image) on the LED
pixels, and the sum is rounded and clipped to the encoding's range (mono16: levels x 257). The sphere is
painted afterwards, so it hides the LEDs it passes in front of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.drivers.sim._scene_geometry import CameraView, Hits, Rect
from rigsync.drivers.sim.ledclock_scene import LedClock

__all__ = ["LEVEL_COUNTER", "LEVEL_STEP", "LedFootprint", "LedPainter", "footprint"]

LEVEL_STEP = 60.0
"""Levels of 255 a fully covered pixel gains from its LED lit for one full step of its row."""
LEVEL_COUNTER = 100.0
"""Levels of 255 a fully covered pixel gains from a counter LED lit for the whole exposure."""
SUPERSAMPLE = 4
PSF_SIGMA_PX = 0.5
_PSF_RADIUS = 2
MIN_WEIGHT = 1e-3

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class LedFootprint:
    """Where the LEDs fall in one view: ``weight[e]`` of LED ``led[e]`` (in ``LedClockBoard.layout()`` order) on
    pixel ``pix[pixel[e]]`` of image row ``rows[row[e]]``."""

    pix: npt.NDArray[np.intp]
    """Flat pixel indices (row * width + column) lit by any LED, ascending."""
    rows: npt.NDArray[np.int64]
    """Image rows holding any of them, ascending."""
    pixel: npt.NDArray[np.intp]
    row: npt.NDArray[np.intp]
    led: npt.NDArray[np.intp]
    weight: npt.NDArray[np.float64]

    @property
    def empty(self) -> bool:
        return self.pix.size == 0


def _psf() -> npt.NDArray[np.float64]:
    x = np.arange(-_PSF_RADIUS, _PSF_RADIUS + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / PSF_SIGMA_PX) ** 2)
    return np.asarray(k / k.sum(), dtype=np.float64)


def _face_footprint(clock: LedClock, view: CameraView, rect: Rect, hit: npt.NDArray[np.bool_],
                    ) -> tuple[I64, I64, I64, npt.NDArray[np.float64]]:
    """(pixel row, pixel column, LED, weight) of one board face; ``hit``: pixels whose centre sees the face."""
    board, k = clock.board, view.intrinsics
    layout = board.layout()
    centres = np.stack([rect.point(x / 1000, y / 1000) for x, y in zip(layout.x_mm, layout.y_mm, strict=True)])
    uv, z = view.project(centres)
    radius_m = board.led_diameter_mm / 2000
    if np.any(z <= radius_m):
        none = np.zeros(0, np.int64)
        return none, none, none, np.zeros(0)
    half = int(np.ceil(np.max(k.fx * radius_m / z) + 1)) + _PSF_RADIUS
    side = 2 * half + 1
    u0 = np.rint(uv[:, 0]).astype(np.int64) - half
    v0 = np.rint(uv[:, 1]).astype(np.int64) - half
    # Sub-pixel sample offsets, then every sample of every LED's window: (leds, side, side, samples).
    offsets = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE - 0.5
    du, dv = (a.ravel() for a in np.meshgrid(offsets, offsets))
    grid = np.arange(side, dtype=np.float64)
    us = (u0[:, None, None, None] + grid[None, None, :, None] + du) - k.cx
    vs = (v0[:, None, None, None] + grid[None, :, None, None] + dv) - k.cy
    xs, ys = us / k.fx, vs / k.fy  # camera-frame ray (x, y, 1)
    r = view.rotation  # world direction = r.T @ (x, y, 1)
    normal, origin = rect.normal, view.position_m
    height = float(normal @ (origin - rect.origin))
    nc = r @ normal  # the normal in the camera frame: n . d_world = nc . d_cam
    lam = -height / (nc[0] * xs + nc[1] * ys + nc[2])
    rel = origin - rect.origin
    rc, dc = r @ rect.right, r @ rect.down
    s = float(rect.right @ rel) + lam * (rc[0] * xs + rc[1] * ys + rc[2])
    t = float(rect.down @ rel) + lam * (dc[0] * xs + dc[1] * ys + dc[2])
    sx = (layout.x_mm / 1000)[:, None, None, None]
    ty = (layout.y_mm / 1000)[:, None, None, None]
    inside = (lam > 0) & ((s - sx) ** 2 + (t - ty) ** 2 <= radius_m**2)
    cover = inside.mean(axis=3)
    psf = _psf()
    blurred = np.zeros_like(cover)
    for i, a in enumerate(psf):  # separable convolution; the windows' borders are empty by construction
        blurred += a * np.roll(cover, i - _PSF_RADIUS, axis=1)
    cover, blurred = blurred, np.zeros_like(cover)
    for i, a in enumerate(psf):
        blurred += a * np.roll(cover, i - _PSF_RADIUS, axis=2)
    led, wy, wx = np.nonzero(blurred > MIN_WEIGHT)
    py, px = v0[led] + wy, u0[led] + wx
    keep = (py >= 0) & (py < k.height) & (px >= 0) & (px < k.width)
    led, wy, wx, py, px = led[keep], wy[keep], wx[keep], py[keep], px[keep]
    keep = hit[py, px]
    return py[keep], px[keep], led[keep], blurred[led[keep], wy[keep], wx[keep]]


def footprint(clock: LedClock, view: CameraView, centre: Hits, faces: dict[int, Rect]) -> LedFootprint:
    """Where the LEDs of every board face fall in ``view``; ``centre``: the static world's hits of the pixel
    centres, ``faces``: the board faces by their index in that cast."""
    parts = [_face_footprint(clock, view, rect, centre.index == index) for index, rect in faces.items()
             if float(rect.normal @ (view.position_m - rect.origin)) > 0]
    if not parts:
        empty = np.zeros(0, np.intp)
        return LedFootprint(empty, np.zeros(0, np.int64), empty, empty, empty, np.zeros(0))
    py, px, led, weight = (np.concatenate(a) for a in zip(*parts, strict=True))
    flat = py * view.intrinsics.width + px
    pix, pixel = np.unique(flat, return_inverse=True)
    rows, row = np.unique(py, return_inverse=True)
    return LedFootprint(pix.astype(np.intp), rows.astype(np.int64), pixel.astype(np.intp), row.astype(np.intp),
                        led.astype(np.intp), weight.astype(np.float64))


class _Lit:
    """:meth:`LedClockBoard.lit_ns` of every LED over windows of board time, computed in a few array operations
    (the board's per-row, per-bit loops cost milliseconds a frame); equal to it (the tests check)."""

    def __init__(self, board: LedClockBoard) -> None:
        self.board = board
        layout = board.layout()
        self.rows = np.flatnonzero(layout.row < len(board.rows))
        on_row = layout.row[self.rows]
        self.step = np.array([r.step_ns for r in board.rows], dtype=np.int64)[on_row]
        self.cycle = np.array([r.cycle_ns for r in board.rows], dtype=np.int64)[on_row]
        self.offset = layout.led[self.rows].astype(np.int64) * self.step
        self.bits = np.flatnonzero(layout.row == len(board.rows))
        self.shift = board.counter.bits - 1 - layout.led[self.bits].astype(np.int64)

    def _before(self, t: I64) -> I64:
        t = np.maximum(t, 0)[:, None]
        whole, phase = np.divmod(t, self.cycle)
        return np.asarray(whole * self.step + np.clip(phase - self.offset, 0, self.step), dtype=np.int64)

    def __call__(self, start_ns: I64, end_ns: I64) -> I64:
        """(windows, LEDs) lit time in layout order, for windows ``[start_ns, end_ns]`` (1-D, board time)."""
        counter = self.board.counter
        first = np.maximum(start_ns, 0) // counter.unit_ns
        if np.any(first != np.maximum(end_ns, start_ns) // counter.unit_ns):
            return self.board.lit_ns(start_ns, end_ns)  # a window across a count: the board's own loop
        lit = np.empty((start_ns.size, self.rows.size + self.bits.size), dtype=np.int64)
        lit[:, self.rows] = self._before(end_ns) - self._before(start_ns)
        units = first & ((1 << counter.bits) - 1)
        on = ((units ^ (units >> 1))[:, None] >> self.shift) & 1
        lit[:, self.bits] = on * (np.maximum(end_ns, np.maximum(start_ns, 0)) - np.maximum(start_ns, 0))[:, None]
        return lit


class LedPainter:
    """Adds the LEDs' light to the frames of one stream (one view, one encoding)."""

    def __init__(self, clock: LedClock, leds: LedFootprint, *, gain: float, scale: float, noise_seed: list[int]):
        """``scale``: image levels per level of 255 (257 for mono16); ``noise_seed``: the camera's and stream's."""
        self.clock, self.leds, self.gain, self.scale = clock, leds, gain, scale
        self._noise_seed = noise_seed
        board = clock.board
        layout = board.layout()
        counter = layout.row == len(board.rows)
        steps = np.array([r.step_ns for r in board.rows] + [1], dtype=np.float64)[layout.row]
        self._per_ns = np.where(counter, 0.0, LEVEL_STEP / steps)
        self._counter = counter
        self._lit = _Lit(board)

    def emission(self, exposure_start_ns: int, exposure_end_ns: int, line_ns: float) -> npt.NDArray[np.float64]:
        """Light added to each of ``leds.pix`` (levels of 255, before gain, noise and clipping)."""
        leds = self.leds
        duration = exposure_end_ns - exposure_start_ns
        if line_ns == 0:  # a global shutter: one window for every row
            start = np.array([exposure_start_ns], dtype=np.int64)
            row = np.zeros_like(leds.row)
        else:
            start = exposure_start_ns + np.rint(leds.rows * line_ns).astype(np.int64)
            row = leds.row
        lit = self._lit(self.clock.board_ns(start), self.clock.board_ns(start + duration))
        per_ns = self._per_ns.copy()
        if duration > 0:
            per_ns[self._counter] = LEVEL_COUNTER / duration
        light = per_ns[leds.led] * lit[row, leds.led] * leds.weight
        return np.bincount(leds.pixel, weights=light, minlength=leds.pix.size).astype(np.float64)

    def paint(self, img: npt.NDArray[Any], exposure_start_ns: int, exposure_end_ns: int, line_ns: float) -> None:
        """Add the LEDs to a rendered image (H, W) or (H, W, C), in place."""
        if self.leds.empty:
            return
        light = self.emission(exposure_start_ns, exposure_end_ns, line_ns) * self.gain
        if self.clock.noise > 0:
            rng = np.random.default_rng([*self._noise_seed, exposure_start_ns])
            light += rng.normal(0.0, self.clock.noise, light.size)
        flat = img.reshape(img.shape[0] * img.shape[1], -1)
        channels = min(flat.shape[1], 3)  # never alpha
        top = float(np.iinfo(img.dtype).max)
        values = flat[self.leds.pix, :channels].astype(np.float64) + (light * self.scale)[:, None]
        flat[self.leds.pix, :channels] = np.clip(np.rint(values), 0, top).astype(img.dtype)
