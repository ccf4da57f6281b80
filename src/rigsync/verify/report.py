"""``rigsync verify --report FILE.html`` and ``--png DIR``: the verdict as a page people read, and its plots alone."""

from __future__ import annotations

import re
from pathlib import Path

from rigsync.core.errors import RigsyncError
from rigsync.verify.report_html import render_html
from rigsync.verify.report_plots import save_png
from rigsync.verify.result import Plot, Verdict

__all__ = ["write_pngs", "write_report"]

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _plots(verdict: Verdict) -> list[Plot]:
    """Every plot of every section, in order; their keys are file names and page anchors, so valid and unique."""
    plots = [p for s in verdict.sections for p in s.plots]
    seen: set[str] = set()
    for p in plots:
        if not _KEY.fullmatch(p.key):
            raise ValueError(f"Plot.key = {p.key!r} ({p.title}): not a file name (allowed: letters, digits, '.', '_', "
                             "'-', starting with a letter or digit)")
        if p.key in seen:
            raise ValueError(f"Plot.key = {p.key!r}: two plots of one verdict share it (keys must be unique)")
        seen.add(p.key)
    return plots


def write_report(verdict: Verdict, path: Path | str, *, generated: str | None = None) -> None:
    """Write the self-contained HTML report (no date in it unless ``generated`` is given)."""
    _plots(verdict)
    page = render_html(verdict, generated=generated)
    path = Path(path)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as e:
        raise RigsyncError(f"{path}: cannot write the report ({e.strerror or e})") from e


def write_pngs(verdict: Verdict, directory: Path | str) -> list[Path]:
    """Write one PNG per plot, ``<plot.key>.png``, into ``directory`` (created); return their paths in order.

    Keys are checked before anything is written (ValueError); a file that cannot be written is a RigsyncError."""
    directory = Path(directory)
    written = []
    for p in _plots(verdict):
        out = directory / f"{p.key}.png"
        save_png(p, out, duration_s=verdict.duration_s)
        written.append(out)
    return written
