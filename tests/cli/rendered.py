"""Rich renderables as plain text, and a rendered table's cells (tests of the terminal output, without a terminal)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console


def text(renderable: Any) -> str:
    """``renderable`` printed 250 columns wide, without colour."""
    console = Console(file=io.StringIO(), width=250, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def rows(table: str) -> dict[str, list[str]]:
    """A rendered table's rows by their first cell: the other cells, stripped."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines() if line.startswith("│")]
    return {c[0]: c[1:] for c in cells}


def header(table: str) -> list[str]:
    """A rendered table's column names."""
    line = next(line for line in table.splitlines() if line.startswith("┃"))
    return [c.strip() for c in line.split("┃")[1:-1]]
