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


def serial_ok(serial: str) -> bool:
    """Vendor serial numbers are letters and digits, some with '-', '_', '.' or ':' (never spaces, quotes or shell
    characters: serials end up in emitted shell scripts and command lines)."""
    return bool(serial) and len(serial) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_.:") for c in serial)


SERIAL_RULE = "1 to 64 ASCII letters, digits, '-', '_', '.' or ':'"
