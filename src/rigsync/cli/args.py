"""Typed command-line values: each rejects a bad value naming the option, the value and what is allowed.

argparse calls these as ``type=``; an :class:`argparse.ArgumentTypeError` makes it print
``rigsync capture: error: argument --seconds: 'inf': not a finite number (allowed: more than 0, ...)`` and exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rigsync.core.errors import OptionError
from rigsync.core.limits import Limits

PRINT_EVERY_S = Limits(0, 3600, "s")


def _bad(text: str, problem: str, allowed: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r}: {problem} (allowed: {allowed})")


def number(limits: Limits, *, nonzero: bool = False) -> Callable[[str], float]:
    """A finite number within ``limits`` (and not 0 when ``nonzero``)."""
    allowed = limits.describe() + (", not 0" if nonzero else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise _bad(text, "not a number", allowed) from None
        problem = limits.problem(value) or ("is 0" if nonzero and value == 0 else None)
        if problem is not None:
            raise _bad(text, problem, allowed)
        return value

    parse.__name__ = "number"  # argparse names the type in its own messages
    return parse


def integer(limits: Limits) -> Callable[[str], int]:
    """A whole number within ``limits``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise _bad(text, "not a whole number", limits.describe()) from None
        if not limits.allows(value):
            raise _bad(text, "out of range", limits.describe())
        return value

    parse.__name__ = "integer"
    return parse


def folder(text: str) -> Path:
    """A folder to write into or read from: it may be missing, but not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise _bad(text, "is a file, not a folder", "a folder (made if missing)")
    return path


def start_time(text: str) -> object:
    """``--start-at``: a :class:`~rigsync.capture.start.StartAt`."""
    from rigsync.capture.start import StartAt

    try:
        return StartAt.parse(text)
    except OptionError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err.problem} (allowed: {err.allowed})") from None
