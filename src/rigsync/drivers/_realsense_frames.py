"""RealSense frame bookkeeping without the SDK: which metadata stamps a frame and with what semantics, the
32-bit microsecond counter unwrapped, and the bounded queue between the SDK's callback threads and ``poll()``.

librealsense ``rs2_frame_metadata_value``: SENSOR_TIMESTAMP is the middle of exposure, FRAME_TIMESTAMP the start
of readout (the end of exposure), both in microseconds of the camera's 32-bit hardware counter (catalog
``rigsync.catalog.realsense``).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from rigsync.core.frame import Frame, TimestampSemantics
from rigsync.drivers.base import DeviceEvent, EventKind

US_NS = 1_000
COUNTER_WRAP_US = 1 << 32
"""The hardware counter behind SENSOR_TIMESTAMP / FRAME_TIMESTAMP wraps after 2**32 microseconds (~71.6 min)."""


@dataclass(frozen=True)
class DeviceStamp:
    """A frame's device time as read from its metadata, before unwrapping."""

    counter_us: int
    semantics: TimestampSemantics


def pick_stamp(sensor_timestamp_us: int | None, frame_timestamp_us: int | None) -> DeviceStamp | None:
    """The middle of exposure when the frame has it, else the start of readout; None if neither."""
    if sensor_timestamp_us is not None:
        return DeviceStamp(sensor_timestamp_us, TimestampSemantics.CENTER_OF_EXPOSURE)
    if frame_timestamp_us is not None:
        return DeviceStamp(frame_timestamp_us, TimestampSemantics.END_OF_EXPOSURE)
    return None


class Unwrapper:
    """Unwraps one stream's counter: a step back by more than half the range is a wrap."""

    def __init__(self, wrap: int = COUNTER_WRAP_US) -> None:
        self._wrap = wrap
        self._last: int | None = None
        self._base = 0

    def __call__(self, value: int) -> int:
        if self._last is not None and value - self._last < -self._wrap // 2:
            self._base += self._wrap
        self._last = value
        return self._base + value


class FrameQueue:
    """Frames from SDK callback threads to ``poll()``: bounded, and a frame that does not fit is an OVERRUN
    event naming its stream and number (consecutive losses on one stream make one event with their count)."""

    def __init__(self, device: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"queue capacity must be at least 1, got {capacity}")
        self._device = device
        self._capacity = capacity
        self._lock = threading.Lock()
        self._frames: deque[Frame] = deque()
        self._events: list[DeviceEvent] = []

    def put(self, frame: Frame) -> None:
        with self._lock:
            if len(self._frames) < self._capacity:
                self._frames.append(frame)
                return
            at = next((i for i in range(len(self._events) - 1, -1, -1) if self._events[i].stream == frame.stream),
                      None)
            last = self._events[at] if at is not None else None
            if at is not None and last is not None and last.seq is not None and last.seq + last.count == frame.seq:
                self._events[at] = DeviceEvent(self._device, EventKind.OVERRUN, last.host_ns, frame.stream,
                                               last.count + 1, last.seq)
            else:
                self._events.append(DeviceEvent(self._device, EventKind.OVERRUN, frame.host_rx_ns, frame.stream,
                                                1, frame.seq))

    def take(self) -> list[Frame | DeviceEvent]:
        """Everything queued, in host-time order; never blocks for long (only for the callbacks' appends)."""
        with self._lock:
            frames, self._frames = list(self._frames), deque()
            events, self._events = self._events, []
        items: list[Frame | DeviceEvent] = [*frames, *events]
        items.sort(key=lambda i: i.host_rx_ns if isinstance(i, Frame) else i.host_ns)
        return items
