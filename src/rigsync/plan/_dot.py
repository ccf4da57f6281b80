"""DOT markup: quoted strings, attribute lists and Graphviz's HTML-like labels. Pure text, no Graphviz."""

from __future__ import annotations

from html import escape

Attr = str | float | bool


def q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attrs(**attrs: Attr) -> str:
    """``[key="value", ...]``; a value in ``<...>`` is an HTML-like label and goes in unquoted."""
    parts = []
    for key, value in attrs.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{key}={text}" if text.startswith("<") and text.endswith(">") else f"{key}={q(text)}")
    return "[" + ", ".join(parts) + "]"


def font(text: str, colour: str | None = None, size: int | None = None, bold: bool = False) -> str:
    out = f"<B>{escape(text)}</B>" if bold else escape(text)
    attrs = (f' COLOR="{colour}"' if colour else "") + (f' POINT-SIZE="{size}"' if size else "")
    return f"<FONT{attrs}>{out}</FONT>" if attrs else out


def html(*rows: str, left: bool = False) -> str:
    """An HTML-like label from already escaped rows (centred, or left-aligned)."""
    if left:
        return "<" + "".join(f'{r}<BR ALIGN="LEFT"/>' for r in rows) + ">"
    return "<" + "<BR/>".join(rows) + ">"


def num(value: float) -> str:
    return f"{value:g}"
