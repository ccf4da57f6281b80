"""Shared helpers of the emitters: which devices a vendor's file covers, unit conversions, the header line,
and the one place files are written."""

from __future__ import annotations

from pathlib import Path

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.plan.model import DevicePlan, Plan
from rigsync.spec.model import DeviceSpec, StreamSpec

GENERATOR = "rigsync (rigsync plan --emit)"


def header(plan: Plan, what: str) -> str:
    """One line naming the file, the rig and rigsync (without a comment marker)."""
    return f"{what} for rig {plan.rig.name!r}, written by {GENERATOR}; regenerate it rather than edit it"


def devices_of(plan: Plan, vendor: Vendor, *, start_order: bool = False) -> list[tuple[DeviceSpec, DevicePlan]]:
    """The rig's devices of one vendor with their plans, in declaration order or in the plan's start order."""
    order = plan.start_order if start_order else tuple(d.id for d in plan.rig.devices)
    out = []
    for device_id in order:
        spec = plan.spec(device_id)
        if get_model(spec.model).vendor is vendor:
            out.append((spec, plan.device(device_id)))
    return out


def stream_of(device: DeviceSpec, kind: StreamKind) -> StreamSpec | None:
    """The device's first stream of a kind."""
    return next((s for s in device.streams if s.kind is kind), None)


def us(ns: int) -> int:
    """Nanoseconds to whole microseconds (vendor tools take integer microseconds)."""
    return round(ns / 1000)


def fps_text(fps: float) -> str:
    """A frame rate as a tool takes it: ``30``, ``29.97``."""
    return f"{fps:g}"


def write_files(directory: Path, files: dict[str, str]) -> list[Path]:
    """Write each file (name -> text) into ``directory`` (created if needed); return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
