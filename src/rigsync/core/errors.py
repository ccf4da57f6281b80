"""Exceptions. Each formats its message from structured fields, so callers can also inspect them."""

from __future__ import annotations

import math
from collections.abc import Iterable


class RigsyncError(Exception):
    """Base class of every error rigsync raises on purpose."""


def _format_allowed(allowed: str | Iterable[object] | None) -> str:
    if allowed is None:
        return ""
    if isinstance(allowed, str):
        return allowed
    return ", ".join(str(a) for a in allowed)


class RigFileError(RigsyncError):
    """A rig file value is wrong: names the file, the field path, the bad value and what is allowed.

    ``rig.toml: devices[3].streams[0].fps = 25: azure-kinect-dk color supports 5, 15, 30``
    """

    def __init__(
        self,
        file: str,
        field: str,
        value: object,
        problem: str,
        allowed: str | Iterable[object] | None = None,
        rule: str | None = None,
    ) -> None:
        self.rule = rule
        """The planner rule id, for the cross-vendor rules checked as the file loads (``SERIAL-UNIQUE``...)."""
        self.file = file
        self.field = field
        self.value = value
        self.problem = problem
        self.allowed = _format_allowed(allowed)
        shown = "(missing)" if value is _MISSING else _show(value)
        message = f"{file}: {field} = {shown}: {problem}" if field else f"{file}: {problem}"
        if self.allowed:
            message += f" (allowed: {self.allowed})"
        super().__init__(message)


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()
MISSING: object = _MISSING
"""Sentinel for a required field that is absent, for :class:`RigFileError` values."""


_SHOW_CHARS = 120
"""Longer values are cut in messages (a rig file can hold a megabyte string)."""
_SHOW_DEPTH = 3
_SHOW_ITEMS = 8


def _show(value: object, depth: int = 0) -> str:
    """A value as the rig file would spell it, cut to a readable length (never recursing deeply)."""
    if isinstance(value, str):
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:_SHOW_CHARS]).replace('"', '\\"')
        return f'"{text}"' if len(value) <= _SHOW_CHARS else f'"{text}..." ({len(value):,} characters)'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 10**30:
        bits = value.bit_length()
        return f"{value:.3e}" if bits < 1000 else f"(an integer of {int(bits * math.log10(2)) + 1:,} digits)"
    if isinstance(value, dict | list):
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        if depth >= _SHOW_DEPTH and items:
            shown = ["..."]
        else:
            shown = [(f"{k} = " if isinstance(value, dict) else "") + _show(v, depth + 1) for k, v in
                     items[:_SHOW_ITEMS]]
            shown += ["..."] if len(items) > _SHOW_ITEMS else []
        text = ", ".join(shown)
        return "{" + text + "}" if isinstance(value, dict) else "[" + text + "]"
    return str(value)[:_SHOW_CHARS]


class FieldError(RigsyncError):
    """A config object was given a bad value; the loader adds the file and the field path around it."""

    def __init__(self, field: str, value: object, problem: str, allowed: str | Iterable[object] | None = None):
        self.field = field
        self.value = value
        self.problem = problem
        self.allowed = _format_allowed(allowed)
        message = f"{field} = {_show(value)}: {problem}"
        if self.allowed:
            message += f" (allowed: {self.allowed})"
        super().__init__(message)

    def in_file(self, file: str, path: str) -> RigFileError:
        """The same error, placed in a rig file at ``path`` (the table holding the field)."""
        full = f"{path}.{self.field}" if path and self.field else (path or self.field)
        return RigFileError(file, full, self.value, self.problem, self.allowed or None)


class DriverError(RigsyncError):
    """A driver could not do what was asked (device missing, SDK refused a setting, ...)."""

    def __init__(self, driver: str, serial: str | None, problem: str, fix: str | None = None) -> None:
        self.driver = driver
        self.serial = serial
        self.problem = problem
        self.fix = fix
        where = f"{driver}" + (f" device {serial}" if serial else "")
        message = f"{where}: {problem}"
        if fix:
            message += f" (fix: {fix})"
        super().__init__(message)


class MissingExtraError(RigsyncError):
    """A vendor SDK (an optional extra) is not installed."""

    def __init__(self, driver: str, module: str, extra: str) -> None:
        self.driver = driver
        self.module = module
        self.extra = extra
        super().__init__(
            f"the {driver} driver needs the Python module '{module}', which is not installed: "
            f"pip install 'rigsync[{extra}]'"
        )


class RecordingError(RigsyncError):
    """A recording could not be written or read."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class OptionError(RigsyncError):
    """A command-line option (or the capture option it sets) has a bad value: names the option, the value,
    the problem and what is allowed. ``--seconds = inf: not a finite number (allowed: more than 0, ...)``"""

    def __init__(self, option: str, value: object, problem: str, allowed: str | Iterable[object] | None = None):
        self.option = option
        self.value = value
        self.problem = problem
        self.allowed = _format_allowed(allowed)
        message = f"{option} = {_show(value)}: {problem}" if value is not None else f"{option}: {problem}"
        if self.allowed:
            message += f" (allowed: {self.allowed})"
        super().__init__(message)
