"""Vendor-native configs from a plan, so a rig can also be run with each vendor's own tools (``rigsync plan RIG
--emit DIR``).

One module per output, each with a pure ``files(plan) -> {file name: text}`` and a ``write(plan, directory)``:

- :mod:`~rigsync.plan.emit.orbbec`: ``multi_device_sync_config.json`` (Orbbec SDK sample schema, seeds/002);
- :mod:`~rigsync.plan.emit.kinect`: ``k4arecorder.sh`` (one k4arecorder line per Azure Kinect, master last);
- :mod:`~rigsync.plan.emit.realsense`: ``realsense_options.json`` + ``realsense_setup.py`` (pyrealsense2);
- :mod:`~rigsync.plan.emit.genicam`: ``<device>.genicam.txt`` per GigE Vision camera (SFNC / Emergent PTP);
- :mod:`~rigsync.plan.emit.ptp`: ``ptp4l-<host>.conf`` + ``ptp-<host>.sh`` per PTP host (linuxptp).

A file is written only when the rig has devices (or hosts) it applies to; ``README.txt`` lists what was written
and carries the header the JSON files cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rigsync.plan.emit import genicam, kinect, orbbec, ptp, realsense
from rigsync.plan.emit._common import header, write_files
from rigsync.plan.model import Plan

__all__ = ["README", "emit_all", "ptp_files"]

ptp_files = ptp.ptp_files

README = "README.txt"

_WRITERS: tuple[Callable[[Plan, Path], list[Path]], ...] = (
    orbbec.write, kinect.write, realsense.write, genicam.write, ptp.write,
)


def _readme(plan: Plan, names: list[str]) -> str:
    lines = [header(plan, "Vendor-native configs"), "",
             "Files (each names the rig and rigsync in its own header where the format allows comments):"]
    lines += [f"  {n}" for n in names] or ["  (none: no device of this rig has a vendor config rigsync emits)"]
    lines.append("")
    text = "\n".join(lines) + "\n"
    return text + orbbec.readme(plan)


def emit_all(plan: Plan, directory: Path) -> list[Path]:
    """Write every vendor file that applies to the plan's rig into ``directory`` (created if needed), plus
    ``README.txt``; return the paths written (README last)."""
    written: list[Path] = []
    for write in _WRITERS:
        written += write(plan, directory)
    written += write_files(directory, {README: _readme(plan, [p.name for p in written])})
    return written
