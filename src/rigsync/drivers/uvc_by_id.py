"""UVC cameras as udev names them in ``/dev/v4l/by-id``: one symlink per video node, stable across re-plugs.

udev names each link ``<bus>-<ID_SERIAL>-video-index<N>``, where ``ID_SERIAL`` is ``<vendor>_<product>_<serial>``
with spaces turned into ``_`` (e.g. ``usb-046d_HD_Pro_Webcam_C920_8A3F12B0-video-index0``). Index 0 is the
capture node; higher indexes are the same camera's metadata nodes. Pure filesystem reading, no OpenCV: the
directory is a parameter so tests can point it at a folder of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BY_ID_DIR = Path("/dev/v4l/by-id")

_NAME = re.compile(r"(?P<bus>[a-z0-9]+)-(?P<id>.+)-video-index(?P<index>\d+)")


@dataclass(frozen=True)
class ByIdEntry:
    """The capture node of one camera."""

    path: Path
    """The by-id link (what the driver opens: it names the same camera after a re-plug)."""
    serial: str
    product: str
    """Vendor and product as udev spells them, ``_`` read as spaces."""
    bus: str


def parse_by_id(name: str) -> tuple[str, str, str] | None:
    """(bus, serial, product) of a by-id capture-node name; None for metadata nodes and other names.

    The serial is ``ID_SERIAL``'s last ``_``-separated part (udev joins vendor, product and serial with ``_``).
    """
    m = _NAME.fullmatch(name)
    if m is None or m["index"] != "0":
        return None
    *product, serial = m["id"].split("_")
    if not serial or not product:
        return None
    return m["bus"], serial, " ".join(p for p in product if p)


def scan_by_id(directory: Path = BY_ID_DIR) -> list[ByIdEntry]:
    """The capture nodes listed in ``directory``, by name; none if it does not exist (no camera attached)."""
    try:
        names = sorted(p.name for p in directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries = []
    for name in names:
        parsed = parse_by_id(name)
        if parsed is not None:
            bus, serial, product = parsed
            entries.append(ByIdEntry(directory / name, serial, product, bus))
    return entries
