"""The rig file's text: UTF-8 bytes in, parsed TOML out, with errors that say where. Not public API.

Encoding and recursion errors are caught here, at the parser: a file that is not UTF-8 names the byte's line
and column; TOML nested deeper than :data:`MAX_NESTING` (or deeper than the TOML reader's stack allows) names
the line where it goes too deep.
"""

from __future__ import annotations

import tomllib
from typing import Any

from rigsync.core.errors import RigFileError

MAX_NESTING = 100
"""Arrays and inline tables nested deeper than this are refused (the TOML reader recurses per level)."""


def decode(raw: bytes, name: str) -> str:
    """Rig-file bytes as text: UTF-8 (a leading byte-order mark is allowed), else an error saying where."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RigFileError(name, "", None, "the file is UTF-16 text; a rig file is UTF-8", "save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise RigFileError(name, "", None, f"not UTF-8 text: byte 0x{raw[err.start]:02x} at line {line}, column "
                           f"{column} ({err.reason})", "a TOML file saved as UTF-8") from None


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """Rig-file text as TOML; ``name`` (the file) is named in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RigFileError(name, "", None, f"not valid TOML: {err}") from None
    except RecursionError:
        data = None
    except ValueError:  # Python's guard against int("<more than 4300 digits>")
        raise RigFileError(name, "", None, "a number has more than 4,300 digits") from None
    if data is None or _depth(data) > MAX_NESTING:
        raise RigFileError(name, "", None, f"arrays or tables nested too deeply{_deepest(text)}",
                           f"at most {MAX_NESTING} levels") from None
    return data


def _depth(data: dict[str, Any]) -> int:
    """How deeply arrays and tables nest in parsed TOML (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _deepest(text: str) -> str:
    """`` (line N)``: where brackets first nest deeper than :data:`MAX_NESTING` (strings and comments
    skipped), or nothing if that cannot be told."""
    depth, line, quote, i = 0, 1, "", 0
    while i < len(text):
        c = text[i]
        if c == "\n":
            line += 1
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            i += len(quote) - 1
        elif c == "#":
            end = text.find("\n", i)
            i = (end if end >= 0 else len(text)) - 1
        elif c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return f" (line {line})"
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return ""
