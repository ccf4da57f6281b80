"""Ranges of numbers: finite, within limits, described the same way in every error message.

The rig file's ranges are in ``rigsync.spec.limits``; the ones a rig file shares with command-line options
(the seed, a capture's duration) are here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rigsync.core.errors import FieldError


def _fmt(value: float) -> str:
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e16):
        return f"{int(value):,}"
    return f"{value:g}"


def _finite(value: float) -> bool:
    return isinstance(value, int) or math.isfinite(value)  # an int may be too large for a float


@dataclass(frozen=True)
class Limits:
    """Finite values from ``lo`` to ``hi`` in ``unit``; an end is excluded when ``lo_open`` / ``hi_open``."""

    lo: float
    hi: float
    unit: str = ""
    lo_open: bool = False
    hi_open: bool = False

    def allows(self, value: float) -> bool:
        if not _finite(value):
            return False
        above = self.lo < value if self.lo_open else self.lo <= value
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def describe(self) -> str:
        """``0 to 1,000 ppm``, ``more than 0, up to 1,000 m``, ``at least 0, less than 1``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.lo_open:
            return f"more than {_fmt(self.lo)}, up to {_fmt(self.hi)}{unit}"
        if self.hi_open:
            return f"at least {_fmt(self.lo)}, less than {_fmt(self.hi)}{unit}"
        return f"{_fmt(self.lo)} to {_fmt(self.hi)}{unit}"

    def problem(self, value: float) -> str | None:
        """None if ``value`` is allowed, else what is wrong with it."""
        if self.allows(value):
            return None
        return "out of range" if _finite(value) else "not a finite number"

    def check(self, name: str, value: float | None) -> None:
        """Raise :class:`FieldError` for ``name`` unless ``value`` is None or allowed."""
        problem = None if value is None else self.problem(value)
        if problem is not None:
            raise FieldError(name, value, problem, self.describe())


INT64_MAX = 2**63 - 1
SEED = Limits(0, INT64_MAX)
"""A simulation seed (``[sim] seed``, ``--seed``)."""
CAPTURE_SECONDS = Limits(0, 1_000_000, "s", lo_open=True)
CHECK_SECONDS = Limits(0, 60, "s", lo_open=True)
"""How long ``rigsync check`` lets the devices stream."""
"""``--seconds``: how long a capture runs (up to 11.6 days; without it, until stopped)."""
