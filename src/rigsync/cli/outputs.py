"""The checks every command that writes a file makes of its output path, before it writes anything."""

from __future__ import annotations

import os
from pathlib import Path

from rigsync.core.errors import OptionError


def refuse_output(option: str, out: Path, *, keep: Path, is_keep: str, example: str, overwrite: bool) -> None:
    """Refuse ``out`` (given as ``option``) if it is a folder, the file ``keep`` (by any path or link: then the
    error says ``is_keep``), or, unless ``overwrite``, an existing file. Raises :class:`OptionError`."""
    if not os.path.lexists(out):
        return
    if out.is_dir():
        raise OptionError(option, str(out), "is a folder", f"a file name, e.g. {example}")
    try:
        same = os.path.samefile(out, keep)
    except OSError:  # a dangling link, or ``keep`` is gone: out cannot be it
        same = False
    if same:
        raise OptionError(option, str(out), is_keep, "another file name")
    if not overwrite:
        raise OptionError(option, str(out), "exists", "a new file name, or --overwrite to replace it")
