"""Synthetic images of the LED clock for the decoder's tests: the face drawn from the board model, warped into a
camera image and blurred; each LED's light blurred where it lands and integrated by each pixel over its own
row's exposure window (a rolling shutter: one window per row); noise."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import GrayCounter, LedClockBoard, LedRow

FACE_PX_PER_MM = 2.0


@dataclass(frozen=True)
class Scene:
    """Where the board is in the camera and how its LEDs look."""

    homography: npt.NDArray[np.float64]
    """Face (mm) -> image (px)."""
    height: int = 480
    width: int = 640
    dark: float = 35.0
    level: float = 70.0
    row_gain: tuple[float, ...] = (1.0, 0.95, 1.05, 1.0, 0.9)
    counter_level: float = 80.0
    noise: float = 1.5
    blur_px: float = 0.6


def board_homography(x0: float = 70.0, y0: float = 60.0, scale: float = 0.8, tilt: float = 0.03,
                     keystone: float = 2e-5) -> npt.NDArray[np.float64]:
    """A plausible view of the board: scaled, slightly rotated and in perspective."""
    c, s = np.cos(tilt), np.sin(tilt)
    return np.array([[scale * c, -scale * s, x0], [scale * s, scale * c, y0], [keystone, 0.0, 1.0]])


def _face(board: LedClockBoard) -> npt.NDArray[np.uint8]:
    k = FACE_PX_PER_MM
    face = np.full((round(board.height_mm * k), round(board.width_mm * k)), 200, dtype=np.uint8)
    m = board.markers
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, m.dictionary))
    side = round(m.size_mm * k)
    for marker, corners in m.corners_mm(board.width_mm, board.height_mm).items():
        img = cv2.aruco.generateImageMarker(dictionary, marker, side)
        x, y = round(corners[0, 0] * k), round(corners[0, 1] * k)
        face[y:y + side, x:x + side] = np.where(img > 127, 235, 15)
    return face


_LED_PIXELS: dict[tuple[LedClockBoard, bytes, int, int], npt.NDArray[np.int64]] = {}


def _led_pixels(board: LedClockBoard, scene: Scene) -> npt.NDArray[np.int64]:
    """Per pixel (flat), the LED whose disc holds the pixel's centre, else -1 (read-only: cached per board and
    view, as every frame of a view shares it)."""
    key = (board, scene.homography.tobytes(), scene.height, scene.width)
    cached = _LED_PIXELS.get(key)
    if cached is not None:
        return cached
    inv = np.linalg.inv(scene.homography)
    gy, gx = np.mgrid[0:scene.height, 0:scene.width]
    p = inv @ np.stack([gx.ravel(), gy.ravel(), np.ones(gx.size)])
    fx, fy = p[0] / p[2], p[1] / p[2]
    r = board.led_diameter_mm / 2
    which = np.full(gx.size, -1)
    first = 0
    lines: list[LedRow | GrayCounter] = [*board.rows, board.counter]
    for line in lines:
        n = line.leds if isinstance(line, LedRow) else line.bits
        near = np.flatnonzero(np.abs(fy - line.y_mm) <= r)
        i = np.clip(np.round((fx[near] - line.x_mm) / line.pitch_mm), 0, n - 1).astype(int)
        inside = np.hypot(fx[near] - line.x_mm - i * line.pitch_mm, fy[near] - line.y_mm) <= r
        which[near[inside]] = first + i[inside]
        first += n
    which.setflags(write=False)
    _LED_PIXELS[key] = which
    return which


def render(board: LedClockBoard, scene: Scene, start_ns: int, duration_ns: int, line_ns: float,
           rng: np.random.Generator, *, occlude: bool = False) -> npt.NDArray[np.uint8]:
    """The image of one exposure: row ``y`` of the image sees board time
    ``[start_ns + y * line_ns, start_ns + y * line_ns + duration_ns]``."""
    k = FACE_PX_PER_MM
    to_face_px = np.diag([k, k, 1.0])
    h = scene.homography @ np.linalg.inv(to_face_px)
    img = cv2.warpPerspective(_face(board), h, (scene.width, scene.height), flags=cv2.INTER_AREA,
                              borderValue=90).astype(np.float64)
    layout = board.layout()
    ys = np.arange(scene.height)
    t0 = start_ns + np.round(ys * line_ns).astype(np.int64)
    lit = board.lit_ns(t0, t0 + duration_ns).astype(np.float64)  # (rows, leds)
    norm = np.array([r.step_ns for r in board.rows] + [duration_ns], dtype=np.float64)[layout.row]
    gains = np.array([*(scene.level * g for g in scene.row_gain), scene.counter_level])[layout.row]
    light = gains * lit / norm  # what each LED adds in each image row's window
    which = _led_pixels(board, scene)
    img.ravel()[which >= 0] = scene.dark
    if scene.blur_px > 0:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), scene.blur_px), dtype=np.float64)
    # The lens blurs where an LED's light lands; each pixel integrates it over its own row's window.
    pad = 4
    lit_pix = np.flatnonzero(which >= 0)
    lit_pix = lit_pix[np.argsort(which[lit_pix], kind="stable")]  # grouped by LED
    bounds = np.searchsorted(which[lit_pix], np.arange(layout.x_mm.size + 1))
    which = which.reshape(scene.height, scene.width)
    for j in range(layout.x_mm.size):
        ys_j, xs_j = np.divmod(lit_pix[bounds[j]:bounds[j + 1]], scene.width)
        if ys_j.size == 0:
            continue
        y0, y1 = max(ys_j.min() - pad, 0), min(ys_j.max() + pad + 1, scene.height)
        x0, x1 = max(xs_j.min() - pad, 0), min(xs_j.max() + pad + 1, scene.width)
        cover = (which[y0:y1, x0:x1] == j).astype(np.float64)
        if scene.blur_px > 0:
            cover = np.asarray(cv2.GaussianBlur(cover, (0, 0), scene.blur_px), dtype=np.float64)
        img[y0:y1, x0:x1] += cover * light[y0:y1, j][:, None]
    if occlude:
        p = scene.homography @ np.array([[0.0, board.width_mm], [0.0, board.height_mm], [1.0, 1.0]])
        (x0, x1), (y0, y1) = p[0] / p[2], p[1] / p[2]
        cv2.rectangle(img, (int(x0) - 5, int(y0) - 5), (int(x1) + 5, int(y1) + 5), 60.0, -1)  # a person passing
    img += rng.normal(0.0, scene.noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
