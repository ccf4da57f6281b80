"""Polling a driver's device in tests: its frames of one stream, and everything until an event arrives."""

from __future__ import annotations

import time
from collections.abc import Callable

from rigsync.core.frame import Frame
from rigsync.drivers.base import Device, DeviceEvent, EventKind


def frames_of(items: list[Frame | DeviceEvent], stream: str) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame) and i.stream == stream]


def poll_while(device: Device, waiting: Callable[[list[Frame | DeviceEvent]], bool], what: str,
               timeout_s: float = 10.0) -> list[Frame | DeviceEvent]:
    """Poll while ``waiting(everything polled so far)``; fail naming ``what`` was awaited after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    items: list[Frame | DeviceEvent] = []
    while waiting(items):
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s"
        items += device.poll()
        time.sleep(0.005)
    return items


def poll_until(device: Device, kind: EventKind, timeout_s: float = 10.0) -> list[Frame | DeviceEvent]:
    """Poll until an event of ``kind`` arrives (the reader thread reports it); everything polled till then."""
    return poll_while(device, lambda items: not any(isinstance(i, DeviceEvent) and i.kind is kind for i in items),
                      f"{kind} event", timeout_s)
