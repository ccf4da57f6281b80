"""The calibration board as the detector and the solver see it: its printed faces in one board frame.

The board is a :class:`rigsync.boards.charuco.CharucoBoardSpec` (a board file; the simulator's by default). The
board frame is the front face's OpenCV board frame (origin at the top-left square corner, x right, y down as
printed, z into the board, metres). A two-sided board's back face (markers from its own first id, mirrored
left-right, seen from behind) has its corners moved into the front face's frame, so every view of either face
constrains the same board pose.
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
        if i:  # a back face: its own board coordinates to the front face's
            corners = corners @ flip.T + shift
        out.append(Face(cv2.aruco.CharucoDetector(board), corners))
    return tuple(out)


def detect(board: Detector, image: np.ndarray) -> tuple[np.ndarray, F64, F64]:
    """``(ids, board_m, pixels)`` of the corners found in an image (the face with most corners; the ids of a
    later face follow the first's). The markers are found once, then each face's corners interpolated from them."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3
                                                      else cv2.COLOR_RGBA2GRAY)
    if gray.dtype != np.uint8:  # 16-bit infrared: stretched to 8 bits
        gray = (gray.astype(np.float64) * (255.0 / max(float(gray.max()), 1.0))).astype(np.uint8)
    best: tuple[np.ndarray, F64, F64] = (np.zeros(0, np.int32), np.zeros((0, 3)), np.zeros((0, 2)))
    marker_corners, marker_ids, _ = board.markers.detectMarkers(gray)
    if marker_ids is None:
        return best
    for i, face in enumerate(board.faces):
        corners, ids, _, _ = face.detector.detectBoard(gray, markerCorners=marker_corners, markerIds=marker_ids)
        if ids is not None and len(ids) > len(best[0]):
            ids = ids.reshape(-1).astype(np.int32)
            offset = i * len(board.faces[0].corners_m)
            best = (ids + offset, face.corners_m[ids], np.asarray(corners, dtype=np.float64).reshape(-1, 2))
    return best
