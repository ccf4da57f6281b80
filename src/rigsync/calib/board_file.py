"""A board file (TOML) as a :class:`BoardSpec`; a bad file names the file, the field, the value and what is allowed.

    [board]
    name = "A3 board"          # optional (default: the file's name)
    squares = [7, 5]           # columns, rows
    square_m = 0.04
    marker_m = 0.03
    dictionary = "DICT_5X5_100"
    legacy = false             # OpenCV's pre-4.6 ChArUco pattern
    two_sided = false          # a back face with the next markers, mirrored (the simulator's)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import cv2

from rigsync.calib.board import BoardSpec
from rigsync.core.errors import RigsyncError


class BoardFileError(RigsyncError):
    """A board file that cannot be used."""


def load_board(path: str | os.PathLike[str]) -> BoardSpec:
    where = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BoardFileError(f"--board {where}: cannot read: {exc.strerror} (allowed: 'sim' or a board file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise BoardFileError(f"{where}: not TOML: {exc}") from None
    t: Any = data.get("board")
    if not isinstance(t, dict):
        raise BoardFileError(f"{where}: [board] missing (fields: squares, square_m, marker_m, dictionary)")

    def bad(name: str, allowed: str) -> BoardFileError:
        return BoardFileError(f"{where}: board.{name} = {t.get(name)!r}: {allowed}")

    sq = t.get("squares")
    if not (isinstance(sq, list) and len(sq) == 2 and all(isinstance(v, int) and v >= 3 for v in sq)):
        raise bad("squares", "needs [columns, rows], each an integer >= 3")
    for name in ("square_m", "marker_m"):
        if not isinstance(t.get(name), int | float) or not 0 < t[name] < 2:
            raise bad(name, "needs a length in metres, more than 0 and less than 2")
    if not t["marker_m"] < t["square_m"]:
        raise bad("marker_m", "must be less than square_m")
    dictionaries = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
    if t.get("dictionary") not in dictionaries:
        raise bad("dictionary", f"unknown (allowed: {', '.join(dictionaries)})")
    for name in ("legacy", "two_sided"):
        if not isinstance(t.get(name, False), bool):
            raise bad(name, "must be true or false")
    unknown = sorted(set(t) - {"name", "squares", "square_m", "marker_m", "dictionary", "legacy", "two_sided"})
    if unknown:
        raise BoardFileError(f"{where}: board.{unknown[0]}: unknown field (allowed: name, squares, square_m, "
                             "marker_m, dictionary, legacy, two_sided)")
    return BoardSpec(str(t.get("name", Path(where).stem)), (sq[0], sq[1]), float(t["square_m"]),
                     float(t["marker_m"]), str(t["dictionary"]), bool(t.get("legacy", False)),
                     bool(t.get("two_sided", False)))
