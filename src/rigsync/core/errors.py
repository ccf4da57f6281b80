"""Exceptions. Each formats its message from structured fields, so callers can also inspect them."""

from __future__ import annotations

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


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


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
