"""The calibration board as the detector and the solver see it: its printed faces in one board frame.

The board is a :class:`rigsync.boards.charuco.CharucoBoardSpec` (a board file; the simulator's by default). The
board frame is the front face's OpenCV board frame (origin at the top-left square corner, x right, y down as
printed, z into the board, metres). A two-sided board's back face (markers from its own first id, mirrored
left-right, seen from behind) has its corners moved into the front face's frame, so every view of either face
constrains the same board pose.

Corner refinement: OpenCV's ChArUco detector refines each corner with ``cornerSubPix`` in a window that stops 2 px
short of the nearest marker corner, and stops iterating once a step is under 0.1 px. Where a square is 20 px wide
(the simulator's 320-px images) the white gap between a corner and its markers is 2.5 px, that window is 3 x 3 px,
and its corners are 0.25-0.3 px RMS from the truth (unbiased on average, but correlated within a view, and 3 x
noisier than the image allows). :func:`refine` refines them again: the board's homography (from the detected
corners) places every marker, which is painted over with the squares' white (out to :data:`MARKER_GROW` of the
gap, never reaching a square's edge), so that around each corner only the chessboard's X remains; the image is
smoothed by a Gaussian of :data:`BLUR_PX` (the squares' edges, sampled, alias) and ``cornerSubPix`` run to
0.001 px in a window reaching :data:`WINDOW_SQUARES` of the way to the nearest neighbouring corner. A corner whose
window would be narrower than 5 x 5 px (a board seen very obliquely, or too small), or would cross the image's
border (a board cut by the edge), is dropped, and so is one the refinement moved more than :data:`MAX_MOVE_PX`
(it went to another edge). On the example rigs: 0.04-0.06 px RMS from the truth, 98-99% of the corners kept
(tests/calib/test_board_detect.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from rigsync.boards.charuco import CharucoBoardSpec
from rigsync.calib.geometry import F64


@dataclass(frozen=True, eq=False)
class Face:
    """One printed face: its detector and its corners in the board frame (id order)."""

    detector: Any
    corners_m: F64
    own_m: F64
    """(N, 2): the corners in this face's own board coordinates (where :attr:`markers_m` are)."""
    markers_m: F64
    """(M, 4, 2): every marker's outline in this face's own board coordinates, grown by :data:`MARKER_GROW` of the
    white gap around it (what :func:`refine` paints over)."""
    square_m: float


@dataclass(frozen=True, eq=False)
class Detector:
    """The board's marker detector (one pass per image, every face's markers) and its faces."""

    markers: Any
    faces: tuple[Face, ...]


def detector(spec: CharucoBoardSpec) -> Detector:
    """The board's detector (built where it is used: cv2 objects do not cross processes)."""
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    return Detector(cv2.aruco.ArucoDetector(dictionary), faces(spec))


def faces(spec: CharucoBoardSpec) -> tuple[Face, ...]:
    """The board's faces with their ChArUco detectors and corners in the board frame."""
    flip, shift = spec.back_from_front()
    out = []
    for i, board in enumerate(spec.to_cv2()):
        corners = np.asarray(board.getChessboardCorners(), dtype=np.float64).reshape(-1, 3)
        own = corners[:, :2]
        if i:  # a back face: its own board coordinates to the front face's
            corners = corners @ flip.T + shift
        outlines = np.asarray(board.getObjPoints(), dtype=np.float64)[:, :, :2]
        middle = outlines.mean(axis=1, keepdims=True)
        grow = 1.0 + MARKER_GROW * (spec.square_m - spec.marker_m) / spec.marker_m
        markers = middle + (outlines - middle) * grow
        out.append(Face(cv2.aruco.CharucoDetector(board), corners, own.copy(), markers, spec.square_m))
    return tuple(out)


def detect(board: Detector, image: np.ndarray) -> tuple[np.ndarray, F64, F64]:
    """``(ids, board_m, pixels)`` of the corners found in an image (the face with most corners; the ids of a
    later face follow the first's). The markers are found once, then each face's corners interpolated from them
    and the best face's corners refined (:func:`refine`)."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3
                                                      else cv2.COLOR_RGBA2GRAY)
    if gray.dtype != np.uint8:  # 16-bit infrared: stretched to 8 bits
        gray = (gray.astype(np.float64) * (255.0 / max(float(gray.max()), 1.0))).astype(np.uint8)
    none: tuple[np.ndarray, F64, F64] = (np.zeros(0, np.int32), np.zeros((0, 3)), np.zeros((0, 2)))
    marker_corners, marker_ids, _ = board.markers.detectMarkers(gray)
    if marker_ids is None:
        return none
    best: tuple[int, np.ndarray, F64] | None = None
    for i, face in enumerate(board.faces):
        corners, ids, _, _ = face.detector.detectBoard(gray, markerCorners=marker_corners, markerIds=marker_ids)
        if ids is not None and (best is None or len(ids) > len(best[1])):
            best = (i, ids.reshape(-1).astype(np.int32), np.asarray(corners, dtype=np.float64).reshape(-1, 2))
    if best is None:
        return none
    i, ids, pixels = best
    face = board.faces[i]
    keep, pixels = refine(gray, face, ids, pixels)
    return ids[keep] + i * len(board.faces[0].corners_m), face.corners_m[ids[keep]], pixels[keep]


BLUR_PX = 0.7
"""Standard deviation of the Gaussian smoothing before refinement (pixels): less aliasing of the squares' edges."""
MARKER_GROW = 0.3
"""Each marker is painted over out to this fraction of the white gap between it and its square's edges (the rest
of the gap stays: the paint never reaches the chessboard's edges)."""
WINDOW_SQUARES = 0.35
"""The refinement window reaches this fraction of the nearest neighbouring corner's distance from the corner."""
MIN_HALF_WINDOW_PX = 2
"""The narrowest refinement window kept: 5 x 5 px."""
MAX_HALF_WINDOW_PX = 10
MAX_MOVE_PX = 1.0
"""A refined corner this far from the detector's is dropped: it went to another edge rather than to the corner (the
detector's corners are within ~1 px of the truth even at 320 px)."""
_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 0.001)
_STEPS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])


def refine(gray: np.ndarray, face: Face, ids: np.ndarray, pixels: F64) -> tuple[np.ndarray, F64]:
    """``(keep, refined)`` for the corners ``ids`` of ``face`` detected at ``pixels`` (N, 2): see the module's
    note. Fewer than 4 corners (no homography to place the markers): all dropped."""
    n = len(pixels)
    keep = np.zeros(n, dtype=bool)
    if n < 4:
        return keep, pixels
    own = face.own_m[ids]
    homography, _ = cv2.findHomography(own, pixels.astype(np.float64))
    if homography is None:
        return keep, pixels

    def to_image(points_m: F64) -> F64:
        shape = points_m.shape
        flat = points_m.reshape(1, -1, 2).astype(np.float64)
        return np.asarray(cv2.perspectiveTransform(flat, homography), dtype=np.float64).reshape(shape)

    neighbours = to_image(own[:, None, :] + face.square_m * _STEPS)
    spacing = np.linalg.norm(neighbours - pixels[:, None, :], axis=2).min(axis=1)
    h, w = gray.shape[:2]
    edge = np.minimum.reduce([pixels[:, 0], pixels[:, 1], w - 1 - pixels[:, 0], h - 1 - pixels[:, 1]]) - 1.0
    half = np.floor(np.minimum.reduce([WINDOW_SQUARES * spacing, edge, np.full(n, MAX_HALF_WINDOW_PX)])).astype(int)
    keep = half >= MIN_HALF_WINDOW_PX
    if not keep.any():
        return keep, pixels
    # Only the part of the image around the corners (their windows, the blur's reach) is worked on.
    pad = MAX_HALF_WINDOW_PX + 4
    x0, y0 = (max(0, int(v) - pad) for v in pixels.min(axis=0))
    x1, y1 = (int(v) + pad + 1 for v in pixels.max(axis=0))
    image = gray[y0:y1, x0:x1].astype(np.float32)
    origin = np.array([x0, y0], dtype=np.float64)
    local = pixels - origin
    inside = np.zeros(image.shape, np.uint8)
    cv2.fillConvexPoly(inside, np.rint(cv2.convexHull(local.astype(np.float32)).reshape(-1, 2)).astype(np.int32), 1)
    white = float(np.percentile(image[inside > 0], 95)) if inside.any() else float(image.max())
    for outline in to_image(face.markers_m) - origin:  # the markers painted over with the squares' white
        cv2.fillConvexPoly(image, np.rint(outline * 16).astype(np.int32), white, lineType=cv2.LINE_8, shift=4)
    smooth = cv2.GaussianBlur(image, (0, 0), BLUR_PX)
    out = pixels.copy()
    for size in np.unique(half[keep]):
        sel = keep & (half == size)
        start = local[sel].astype(np.float32).reshape(-1, 1, 2)
        out[sel] = cv2.cornerSubPix(smooth, start, (int(size), int(size)), (-1, -1), _CRITERIA).reshape(-1, 2) + origin
    keep &= np.linalg.norm(out - pixels, axis=1) <= MAX_MOVE_PX
    return keep, out
