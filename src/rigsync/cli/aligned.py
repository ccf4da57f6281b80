"""Long terminal output as aligned text columns: the part of a rich table the CLI uses, fast to print."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

LONG_OUTPUT_ROWS = 300
"""Output of more rows than this is drawn as aligned text columns: rich's tables cost about a millisecond per row
(they measure and wrap every cell), which made a 2,000-device plan take seconds to print."""


class AlignedTable:
    """The part of :class:`rich.table.Table` the CLI uses (``add_column``, ``add_row``), drawn as plain aligned
    columns without borders: a cell's lines stay on their row; a line wider than the screen wraps."""

    def __init__(self, title: str | Text) -> None:
        self.title = title if isinstance(title, Text) else Text(title)
        self.columns: list[str] = []
        self.rows: list[list[Text]] = []

    def add_column(self, header: str) -> None:
        self.columns.append(header)

    def add_row(self, *cells: Text) -> None:
        self.rows.append(list(cells))

    def __rich__(self) -> Text:
        header = [Text(c, style="bold") for c in self.columns]
        split = [[cell.split("\n") for cell in r] for r in (header, *self.rows)]
        widths = [max((line.cell_len for r in split for line in r[c]), default=0) for c in range(len(self.columns))]
        out = Text()
        out.append_text(self.title)
        out.append("\n")
        for i, r in enumerate(split):
            for k in range(max(len(lines) for lines in r)):
                for c, lines in enumerate(r):
                    line = lines[k] if k < len(lines) else Text()
                    out.append_text(line)
                    if c < len(r) - 1:
                        out.append(" " * (widths[c] - line.cell_len + 2))
                out.append("\n")
            if i == 0:
                out.append("  ".join("─" * w for w in widths) + "\n")
        out.rstrip()
        return out


def table(title: str | Text, columns: tuple[str, ...], aligned: bool) -> Table | AlignedTable:
    """A table with these columns: a rich table, or aligned text columns (``aligned``: part of a long output)."""
    made: Table | AlignedTable = AlignedTable(title) if aligned else Table(title=title, title_justify="left")
    for col in columns:
        made.add_column(col)
    return made
