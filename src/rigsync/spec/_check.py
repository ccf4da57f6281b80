"""Field checks shared by the rig-file model classes. Not public API."""

from __future__ import annotations

from collections.abc import Iterable

from rigsync.core.errors import FieldError


def require(ok: bool, name: str, value: object, problem: str, allowed: str | Iterable[object] | None = None) -> None:
    if not ok:
        raise FieldError(name, value, problem, allowed)


def name_ok(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_." for c in name)


NAME_RULE = "letters, digits, '-', '_' or '.'"
