"""Typed reading of one TOML table, with the field path kept for error messages. Not public API."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from rigsync.core.errors import MISSING, FieldError, RigFileError
from rigsync.spec.limits import FIELDS

E = TypeVar("E", bound=Enum)
T = TypeVar("T")

_REQUIRED: Any = MISSING


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _finite(value: int | float) -> float | None:
    """``value`` as a float, or None if it is inf, nan or an integer too large for a float."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class Table:
    """A TOML table at ``path`` in ``file``; unknown keys are rejected on construction."""

    def __init__(self, file: str, path: str, data: Mapping[str, Any], allowed: Collection[str]) -> None:
        self.file = file
        self.path = path
        self.data = data
        for key, value in data.items():
            if key not in allowed:
                raise RigFileError(file, self.field(key), value, "unknown key", sorted(allowed))

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(
        self, key: str, value: object, problem: str, allowed: str | Iterable[object] | None = None
    ) -> RigFileError:
        return RigFileError(self.file, self.field(key), value, problem, allowed)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise RigFileError(self.file, self.field(key), MISSING, "required")
        return default

    def text(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            raise self.error(key, value, f"expected a string, got {_type_name(value)}")
        return value

    def integer(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is not default and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.error(key, value, f"expected an integer, got {_type_name(value)}")
        return value

    def number(self, key: str, default: Any = _REQUIRED) -> Any:
        """A finite number, as a float."""
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, value, f"expected a number, got {_type_name(value)}")
        number = _finite(value)
        if number is None:
            limits = FIELDS.get(re.sub(r"\[\d+\]", "", self.field(key)))
            raise self.error(key, value, "not a finite number", limits.describe() if limits else "a finite number")
        return number

    def flag(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.error(key, value, f"expected true or false, got {_type_name(value)}")
        return value

    def choice(self, key: str, cls: type[E], default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        choices = [m.value for m in cls]
        if not isinstance(value, str) or value not in choices:
            raise self.error(key, value, "not one of the choices", choices)
        return cls(value)

    def vec3(self, key: str, default: Any = _REQUIRED) -> Any:
        """Three numbers, as a tuple of floats (an integer too large for a float becomes inf: check ranges)."""
        value = self._get(key, default)
        if value is default:
            return value
        if (not isinstance(value, list) or len(value) != 3
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
            raise self.error(key, value, "expected three numbers [x, y, z] in metres")
        return tuple(math.copysign(math.inf, v) if _finite(v) is None and isinstance(v, int) else float(v)
                     for v in value)

    def str_list(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise self.error(key, value, "expected an array of strings")
        return tuple(value)

    def table(self, key: str, allowed: Collection[str]) -> Table | None:
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            raise self.error(key, value, f"expected a table, got {_type_name(value)}")
        return Table(self.file, self.field(key), value, allowed)

    def tables(self, key: str, allowed: Collection[str]) -> list[Table]:
        """An array of tables (``[[key]]`` or ``key = [{...}, ...]``)."""
        if key not in self.data:
            return []
        value = self.data[key]
        if not isinstance(value, list) or any(not isinstance(v, dict) for v in value):
            raise self.error(key, value, "expected an array of tables")
        return [Table(self.file, f"{self.field(key)}[{i}]", v, allowed) for i, v in enumerate(value)]

    def build(self, ctor: Callable[..., T], **kwargs: Any) -> T:
        """Construct a validated model object; its FieldError is placed at this table's path."""
        try:
            return ctor(**kwargs)
        except FieldError as err:
            raise err.in_file(self.file, self.path) from None
