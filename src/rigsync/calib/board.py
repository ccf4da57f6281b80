"""The calibration board as the detector and the solver see it: one or two printed ChArUco faces in one board frame.

The board frame is the front face's OpenCV board frame (origin at the top-left square corner, x right, y down as
printed, z into the board, metres). A two-sided board (the simulator's) has a back face printed with the next
markers, mirrored left-right and seen from behind: its corners are moved into the front face's frame, so every
view of either face constrains the same board pose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from rigsync.calib.geometry import F64

SIM_SQUARES = (7, 5)
SIM_SQUARE_M = 0.08
SIM_MARKER_M = 0.06
SIM_DICTIONARY = "DICT_4X4_50"


@dataclass(frozen=True, slots=True)
class BoardSpec:
    """A ChArUco board's dimensions (picklable: detection workers build the detector from it)."""

    name: str
    squares: tuple[int, int]
    """Columns, rows."""
    square_m: float
    marker_m: float
    dictionary: str
    legacy: bool = False
    """OpenCV's legacy ChArUco pattern (boards printed before OpenCV 4.6 with an even number of rows)."""
    two_sided: bool = True
    """A back face printed with the next markers, mirrored left-right (the simulator's board)."""

    def build(self) -> CalibBoard:
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        n = (self.squares[0] * self.squares[1]) // 2
        faces = []
        for side in range(2 if self.two_sided else 1):
            ids = np.arange(side * n, (side + 1) * n)
            board = cv2.aruco.CharucoBoard(self.squares, self.square_m, self.marker_m, d, ids)
            board.setLegacyPattern(self.legacy)
            corners = np.asarray(board.getChessboardCorners(), dtype=np.float64).reshape(-1, 3)
            if side:  # the back face seen from behind: x mirrored about the squares' width, z reversed
                corners = np.c_[self.squares[0] * self.square_m - corners[:, 0], corners[:, 1], -corners[:, 2]]
            faces.append(Face(cv2.aruco.CharucoDetector(board), corners))
        return CalibBoard(self, tuple(faces))


@dataclass(frozen=True, eq=False)
class Face:
    """One printed face: its detector and its corners in the board frame (id order)."""

    detector: Any
    corners_m: F64


@dataclass(frozen=True, eq=False)
class CalibBoard:
    """A board's faces, built from its spec."""

    spec: BoardSpec
    faces: tuple[Face, ...]


def sim_board() -> BoardSpec:
    """The simulator's board: 7 x 5 squares of 80 mm, 60 mm DICT_4X4_50 markers, printed on both faces."""
    return BoardSpec("simulator board", SIM_SQUARES, SIM_SQUARE_M, SIM_MARKER_M, SIM_DICTIONARY)


def detect(board: CalibBoard, image: np.ndarray) -> tuple[np.ndarray, F64, F64]:
    """``(ids, board_m, pixels)`` of the corners found in an 8-bit image (the best face: most corners)."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3
                                                      else cv2.COLOR_RGBA2GRAY)
    if gray.dtype != np.uint8:  # 16-bit infrared: stretched to 8 bits
        gray = (gray.astype(np.float64) * (255.0 / max(float(gray.max()), 1.0))).astype(np.uint8)
    best: tuple[np.ndarray, F64, F64] = (np.zeros(0, np.int32), np.zeros((0, 3)), np.zeros((0, 2)))
    for i, face in enumerate(board.faces):
        corners, ids, _, _ = face.detector.detectBoard(gray)
        if ids is not None and len(ids) > len(best[0]):
            ids = ids.reshape(-1).astype(np.int32)
            offset = i * len(board.faces[0].corners_m)
            best = (ids + offset, face.corners_m[ids], np.asarray(corners, dtype=np.float64).reshape(-1, 2))
    return best
