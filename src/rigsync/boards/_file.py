"""Reading a board file's text, for every kind of board. Not public API."""

from __future__ import annotations

from pathlib import Path

from rigsync.core.errors import RigFileError


def read_board_file(path: str | Path) -> str:
    """A board file's text. Raises :class:`~rigsync.core.errors.RigFileError` naming the file if it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RigFileError(str(path), "", None, f"cannot read the board file: {exc.strerror or exc}") from None
