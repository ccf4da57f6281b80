"""Plain terminal text: values (names, paths, messages, file contents) are never read as rich markup.

rich reads ``[...]`` in a ``str`` as a style tag (``[[hosts]]`` would print as ``[]``, ``[/x]`` raises);
every value the CLI shows goes through :class:`rich.text.Text`, styled only by the code that shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rigsync.cli.aligned import AlignedTable


def row(table: Table | AlignedTable, *cells: str | Text) -> None:
    """Add a row; ``str`` cells are plain text."""
    table.add_row(*(c if isinstance(c, Text) else Text(c) for c in cells))


def styled(text: str, style: str) -> Text:
    """``text`` in ``style`` (no style when ``style`` is empty)."""
    return Text(text, style=style)

