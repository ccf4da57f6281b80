"""Find the LED clock board in a stream's images and say which pixels to read.

Markers: :class:`cv2.aruco.ArucoDetector` with the board's dictionary, keeping only the board's four ids;
their corners give a homography from the face (mm) to the image. Cameras in a rig are static, so a stream
keeps one homography, from the median of each marker corner over the frames where markers were found; every
frame is then checked against it (the markers' black and white cells where the homography puts them) before
it is read, and a frame that fails is searched again on its own (the board moved) or counted as not showing
the board. :class:`SamplingPlan` lists, per LED and image row, the pixels inside the LED's disc, so a frame is
read with one gather and one ``bincount``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.verify.ledclock_model import LedSamples

__all__ = ["IMAGE_ENCODINGS", "MarkerFinder", "SamplingPlan", "image_plane", "luminance", "sampling_plan"]

F64 = npt.NDArray[np.float64]
IMAGE_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1", "mono16", "yuyv", "uyvy")
"""Encodings read for the LED clock (depth, ``16UC1`` and ``32FC1``, is not)."""

_SAMPLE_RADIUS = 0.6
"""Part of the LED's radius whose pixels are read (its rim blurs into the face)."""
_PLANE_PX = 3.0
"""Markers whose corners a homography from the face places farther than this are not on one face."""
_MIN_MARKER_SCORE = 0.6
"""Correlation of the markers' cells with their printed pattern for the board to count as there."""


def image_plane(image: npt.NDArray[np.generic], encoding: str, channel: int | None) -> npt.NDArray[np.generic]:
    """The one plane the LEDs are read in: a colour channel (``channel``), the luma of YUV, or the image."""
    if image.ndim == 2:
        return image
    if encoding in ("yuyv", "uyvy"):
        return image[..., 0 if encoding == "yuyv" else 1]
    return image[..., channel if channel is not None else 0]


def luminance(image: npt.NDArray[np.generic], encoding: str) -> npt.NDArray[np.uint8]:
    """An 8-bit grey image for the marker detector."""
    if encoding in ("yuyv", "uyvy"):
        grey = image_plane(image, encoding, None)
    elif image.ndim == 3:
        grey = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    else:
        grey = image
    if grey.dtype != np.uint8:
        top = float(np.max(grey)) or 1.0
        grey = grey.astype(np.float32) * (255.0 / top)
    return np.asarray(grey, dtype=np.uint8)


class MarkerFinder:
    """Detects the board's four markers in grey images (ids of other boards are ignored)."""

    def __init__(self, board: LedClockBoard) -> None:
        m = board.markers
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, m.dictionary))
        self._detector = cv2.aruco.ArucoDetector(dictionary, cv2.aruco.DetectorParameters())
        self._face = m.corners_mm(board.width_mm, board.height_mm)
        self._ids = m.ids

    def corners(self, grey: npt.NDArray[np.uint8]) -> dict[int, F64]:
        """Image corners (4, 2) of each of the board's markers found, all on one face.

        Several boards with the same ids may be in view (the faces of a lantern): of the ways to take at most
        one marker per id that lie on one plane (reprojection within ``_PLANE_PX``), the one covering the
        most image area wins, so a stream keeps reading the face it sees best."""
        corners, ids, _ = self._detector.detectMarkers(grey)
        seen: dict[int, list[F64]] = {}
        if ids is None:
            return {}
        for c, i in zip(corners, ids.ravel(), strict=True):
            if int(i) in self._ids:
                seen.setdefault(int(i), []).append(np.asarray(c, dtype=np.float64).reshape(4, 2))
        if all(len(v) == 1 for v in seen.values()):
            return {i: v[0] for i, v in seen.items()}
        best: tuple[float, dict[int, F64]] = (-1.0, {})
        options = [[(i, c) for c in v] + [None] for i, v in seen.items()]
        for pick in itertools.product(*options):
            chosen = {p[0]: p[1] for p in pick if p is not None}
            if len(chosen) < min(2, len(seen)):
                continue
            area = sum(float(cv2.contourArea(c.astype(np.float32))) for c in chosen.values())
            if area > best[0] and self._planar(chosen):
                best = (area, chosen)
        return best[1]

    def _planar(self, chosen: dict[int, F64]) -> bool:
        if len(chosen) < 2:
            return True
        face = np.concatenate([self._face[i] for i in chosen])
        image = np.concatenate(list(chosen.values()))
        h, _ = cv2.findHomography(face, image, 0)
        if h is None:
            return False
        x, y = _apply(np.asarray(h, dtype=np.float64), face[:, 0], face[:, 1])
        return float(np.max(np.hypot(x - image[:, 0], y - image[:, 1]))) <= _PLANE_PX

    def homography(self, detections: Sequence[dict[int, F64]]) -> F64 | None:
        """Face (mm) -> image from the median of each corner over ``detections`` (at least two markers)."""
        face, image = [], []
        for marker in self._ids:
            seen = [d[marker] for d in detections if marker in d]
            if seen:
                face.append(self._face[marker])
                image.append(np.median(np.stack(seen), axis=0))
        if len(face) < 2:
            return None
        h, _ = cv2.findHomography(np.concatenate(face), np.concatenate(image), 0)
        return None if h is None else np.asarray(h, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    """The pixels a stream's frames are read at, under one homography."""

    homography: F64
    samples: LedSamples
    pixel: npt.NDArray[np.intp]
    """Flat index of every pixel read for an LED."""
    group: npt.NDArray[np.intp]
    """The sample each of those pixels belongs to."""
    cell_pixel: npt.NDArray[np.intp]
    """Centres of the markers' cells."""
    cell_white: F64
    """1 where the printed cell is white, 0 where black."""
    gap_pixel: npt.NDArray[np.intp]
    """The pixel halfway between each two neighbouring LEDs of a row (on the dark strip under the LEDs)."""
    gap_leds: npt.NDArray[np.intp]
    """(gaps, 2): the two LEDs (``LedClockBoard.layout()`` order) either side of each gap."""

    def led_values(self, plane: npt.NDArray[np.generic], saturation: float) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Each sample's mean pixel value, and whether any of its pixels reached ``saturation`` (its true
        value is then only known to be at least the mean)."""
        values = plane.reshape(-1)[self.pixel].astype(np.float64)
        mean = np.bincount(self.group, values, minlength=self.samples.size) / self.samples.weight
        clipped = np.bincount(self.group, values >= saturation, minlength=self.samples.size) > 0
        return mean, clipped

    def gap_values(self, plane: npt.NDArray[np.generic]) -> F64:
        """Each gap's pixel value (:mod:`ledclock_occlusion`: an object in front of the LEDs lights the strip)."""
        return plane.reshape(-1)[self.gap_pixel].astype(np.float64)

    def marker_score(self, plane: npt.NDArray[np.generic]) -> float:
        """Correlation of the markers' cells with their printed pattern (1: as printed, ~0: not there), read
        in one plane of the image (only the cells' pixels are read)."""
        v = plane.reshape(-1)[self.cell_pixel].astype(np.float64)
        v -= v.mean()
        white = self.cell_white - self.cell_white.mean()
        spread = float(v @ v) * float(white @ white)
        return float(v @ white) / np.sqrt(spread) if spread > 0.0 else 0.0

    def shows_board(self, plane: npt.NDArray[np.generic]) -> bool:
        return self.marker_score(plane) >= _MIN_MARKER_SCORE


def _apply(h: F64, x: F64, y: F64) -> tuple[F64, F64]:
    p = h @ np.stack([x, y, np.ones_like(x)])
    return p[0] / p[2], p[1] / p[2]


@functools.lru_cache(maxsize=4)
def _cells(board: LedClockBoard) -> tuple[F64, F64, F64]:
    """Face centres of every marker cell (6 x 6 with the border) and whether it is printed white."""
    m = board.markers
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, m.dictionary))
    n = dictionary.markerSize + 2
    xs, ys, white = [], [], []
    for marker, corners in m.corners_mm(board.width_mm, board.height_mm).items():
        pattern = cv2.aruco.generateImageMarker(dictionary, marker, n)
        cy, cx = np.mgrid[0:n, 0:n]
        xs.append(corners[0, 0] + (cx.ravel() + 0.5) * m.size_mm / n)
        ys.append(corners[0, 1] + (cy.ravel() + 0.5) * m.size_mm / n)
        white.append(pattern.ravel() > 127)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(white).astype(np.float64)


def sampling_plan(board: LedClockBoard, homography: F64, height: int, width: int) -> SamplingPlan | None:
    """Which pixels to read, or None when an LED or marker falls outside the image."""
    layout = board.layout()
    inverse = np.asarray(np.linalg.inv(homography), dtype=np.float64)
    cx, cy = _apply(homography, layout.x_mm, layout.y_mm)
    # Pixels per mm around each LED, from where a point 1 mm away lands.
    ex, ey = _apply(homography, layout.x_mm + 1.0, layout.y_mm)
    scale = np.hypot(ex - cx, ey - cy)
    radius_mm = board.led_diameter_mm / 2 * _SAMPLE_RADIUS
    reach = np.ceil(radius_mm * scale * 1.5 + 1).astype(int)
    if np.any(cx - reach < 0) or np.any(cy - reach < 0) or np.any(cx + reach >= width) or np.any(
            cy + reach >= height):
        return None
    # Every LED's box of pixels at once (each LED's own reach masks the common one), row-major like an image.
    d = np.arange(-int(reach.max()), int(reach.max()) + 1)
    dy, dx = (g.ravel() for g in np.meshgrid(d, d, indexing="ij"))
    own = (np.abs(dy)[None, :] <= reach[:, None]) & (np.abs(dx)[None, :] <= reach[:, None])
    gy = cy.astype(int)[:, None] + dy[None, :]
    gx = cx.astype(int)[:, None] + dx[None, :]
    fx, fy = _apply(inverse, gx.ravel().astype(np.float64), gy.ravel().astype(np.float64))
    inside = own & (np.hypot(fx.reshape(gx.shape) - layout.x_mm[:, None],
                             fy.reshape(gy.shape) - layout.y_mm[:, None]) <= radius_mm)
    for k in np.flatnonzero(~inside.any(axis=1)):  # an LED smaller than a pixel: its nearest pixel
        inside[k, np.argmin(np.where(own[k], np.hypot(gx[k] - cx[k], gy[k] - cy[k]), np.inf))] = True
    led_of, at = np.nonzero(inside)  # by LED, then image row, then column
    py, px = gy[led_of, at], gx[led_of, at]
    # One sample per (LED, image row): its pixels are consecutive.
    first = np.ones(led_of.size, dtype=bool)
    first[1:] = (led_of[1:] != led_of[:-1]) | (py[1:] != py[:-1])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, led_of.size)).astype(np.float64)
    samples = LedSamples(row=np.asarray(layout.row, dtype=np.intp)[led_of[starts]],
                         led=np.asarray(layout.led, dtype=np.intp)[led_of[starts]],
                         y=py[starts].astype(np.float64), weight=counts)
    mx, my, white = _cells(board)
    ux, uy = _apply(homography, mx, my)
    if np.any(ux < 0) or np.any(uy < 0) or np.any(ux > width - 1) or np.any(uy > height - 1):
        return None
    cells = np.round(uy).astype(np.intp) * width + np.round(ux).astype(np.intp)
    left = np.flatnonzero(layout.row[:-1] == layout.row[1:])  # each LED and the next of its row
    mid_x, mid_y = _apply(homography, (layout.x_mm[left] + layout.x_mm[left + 1]) / 2,
                          (layout.y_mm[left] + layout.y_mm[left + 1]) / 2)
    return SamplingPlan(
        homography=homography, samples=samples, pixel=(py * width + px).astype(np.intp),
        group=(np.cumsum(first) - 1).astype(np.intp),
        cell_pixel=cells, cell_white=white,
        gap_pixel=(np.round(mid_y).astype(np.intp) * width + np.round(mid_x).astype(np.intp)),
        gap_leds=np.stack([left, left + 1], axis=1).astype(np.intp))
