"""ChArUco calibration boards as files: squares, marker size, dictionary, legacy pattern flag, and each printed
face's first marker id (a two-sided board carries one marker set per face).

``boards/sim_charuco.toml`` is the simulator's board (:func:`sim_board`): the one the simulator renders and the
default board of ``rigsync calibrate``. ``boards/charuco_a3.toml`` is an example board for printing. Board
coordinates are OpenCV's (``CharucoBoard.getChessboardCorners()``): origin at the top-left square corner, x
right, y down, z into the board, seen from the face's own side, metres. Imports nothing of rigsync above
``spec``'s table reader.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rigsync.boards._file import read_board_file
from rigsync.core.errors import MISSING, FieldError, RigFileError
from rigsync.spec._check import require
from rigsync.spec._table import Table

__all__ = ["SIM_BOARD_PATH", "CharucoBoardSpec", "load_board", "loads_board", "sim_board"]

SIM_BOARD_PATH = Path(__file__).with_name("sim_charuco.toml")
"""The simulator's board (also at ``src/rigsync/boards/sim_charuco.toml`` in the repository)."""

DICTIONARIES = tuple(sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_")))
"""``cv2.aruco`` predefined dictionary names."""

_KEYS = ("name", "columns", "rows", "square_m", "marker_m", "margin_m", "dictionary", "legacy_pattern",
         "face_first_ids")


def dictionary_size(name: str) -> int:
    """How many markers a ``cv2.aruco`` predefined dictionary holds."""
    return int(cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name)).bytesList.shape[0])


@dataclass(frozen=True, slots=True)
class CharucoBoardSpec:
    """A ChArUco board, validated on construction (a :class:`~rigsync.core.errors.FieldError` names the field)."""

    columns: int
    """Squares across."""
    rows: int
    """Squares down."""
    square_m: float
    marker_m: float
    """Marker edge, including its black border; smaller than ``square_m``."""
    dictionary: str
    """A ``cv2.aruco`` predefined dictionary name (``DICT_4X4_50``...)."""
    legacy_pattern: bool = False
    """OpenCV < 4.6.0's layout (for an even number of rows, the other corner starts with a marker)."""
    margin_m: float = 0.0
    """White border around the squares (the simulator prints it; detection does not need it)."""
    face_first_ids: tuple[int, ...] = (0,)
    """First marker id of each printed face: one entry for a one-sided board; a two-sided board's second face is
    the first mirrored left-right, seen from behind (see :meth:`back_from_front`)."""
    name: str = "charuco"
    path: str = ""
    """The file it was read from ("" if built in code)."""

    def __post_init__(self) -> None:
        for key in ("columns", "rows"):
            value = getattr(self, key)
            require(isinstance(value, int) and 3 <= value <= 100, key, value, "needs a whole number of squares",
                    "3 to 100")
        require(0 < self.square_m <= 2.0, "square_m", self.square_m, "out of range", "(0, 2] m")
        require(0 < self.marker_m < self.square_m, "marker_m", self.marker_m, "must fit inside a square",
                f"(0, {self.square_m}) m, below square_m")
        require(0 <= self.margin_m <= 1.0, "margin_m", self.margin_m, "out of range", "[0, 1] m")
        require(self.dictionary in DICTIONARIES, "dictionary", self.dictionary, "unknown dictionary", DICTIONARIES)
        require(isinstance(self.legacy_pattern, bool), "legacy_pattern", self.legacy_pattern, "needs true or false")
        faces = self.face_first_ids
        require(1 <= len(faces) <= 2 and all(isinstance(f, int) and f >= 0 for f in faces), "face_first_ids",
                list(faces), "needs the first marker id (>= 0) of each face", "one or two ids")
        n, size = self.markers_per_face, dictionary_size(self.dictionary)
        ranges = sorted((f, f + n) for f in faces)
        require(all(a[1] <= b[0] for a, b in itertools.pairwise(ranges)), "face_first_ids",
                list(faces), f"faces share marker ids (each face uses {n} markers)")
        require(ranges[-1][1] <= size, "face_first_ids", list(faces),
                f"{self.dictionary} has {size} markers; these faces need ids up to {ranges[-1][1] - 1}")

    @property
    def markers_per_face(self) -> int:
        return (self.columns * self.rows) // 2

    @property
    def squares_m(self) -> tuple[float, float]:
        """(width, height) of the squares area, metres."""
        return self.columns * self.square_m, self.rows * self.square_m

    def to_cv2(self) -> tuple[Any, ...]:
        """One ``cv2.aruco.CharucoBoard`` per face, in ``face_first_ids`` order."""
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        boards = []
        for first in self.face_first_ids:
            ids = np.arange(first, first + self.markers_per_face)
            board = cv2.aruco.CharucoBoard((self.columns, self.rows), self.square_m, self.marker_m, dictionary, ids)
            board.setLegacyPattern(self.legacy_pattern)
            boards.append(board)
        return tuple(boards)

    def back_from_front(self) -> tuple[np.ndarray, np.ndarray]:
        """``(F, f)``: a point's front-face board coordinates are ``F @ x_back + f`` of its back-face ones (a
        two-sided board of zero thickness: the back is the front mirrored left-right, seen from behind)."""
        return np.diag([-1.0, 1.0, -1.0]), np.array([self.squares_m[0], 0.0, 0.0])


def loads_board(text: str, path: str = "<board>") -> CharucoBoardSpec:
    """Read a board file's text. Raises :class:`~rigsync.core.errors.RigFileError` naming the file and field."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RigFileError(path, "", None, f"not valid TOML: {exc}") from None
    board = Table(path, "", data, ("board",)).table("board", _KEYS)
    if board is None:
        raise RigFileError(path, "board", MISSING, "required table missing", f"a [board] table with {', '.join(_KEYS)}")
    faces = board._get("face_first_ids", [0])
    if not (isinstance(faces, list) and all(isinstance(f, int) and not isinstance(f, bool) for f in faces)):
        raise board.error("face_first_ids", faces, "needs a list of marker ids", "e.g. [0] or [0, 17]")
    legacy = board._get("legacy_pattern", False)
    if not isinstance(legacy, bool):
        raise board.error("legacy_pattern", legacy, "needs true or false")
    try:
        return CharucoBoardSpec(columns=board.integer("columns"), rows=board.integer("rows"),
                                square_m=board.number("square_m"), marker_m=board.number("marker_m"),
                                dictionary=board.text("dictionary"), legacy_pattern=legacy,
                                margin_m=board.number("margin_m", 0.0), face_first_ids=tuple(faces),
                                name=board.text("name", "charuco"), path=path)
    except FieldError as err:
        raise err.in_file(path, "board") from None


def load_board(path: str | Path) -> CharucoBoardSpec:
    """Read a board file. Raises :class:`~rigsync.core.errors.RigFileError` naming the file and field."""
    return loads_board(read_board_file(path), str(path))


def sim_board() -> CharucoBoardSpec:
    """The simulator's board, ``rigsync-sim`` (two-sided: markers 0..16 on the front, 17..33 on the back)."""
    return load_board(SIM_BOARD_PATH)
