"""RealSense frame stamps without the SDK: which metadata stamps a frame and with what semantics, and the
32-bit microsecond counter unwrapped.

librealsense ``rs2_frame_metadata_value``: SENSOR_TIMESTAMP is the middle of exposure, FRAME_TIMESTAMP the start
of readout (the end of exposure), both in microseconds of the camera's 32-bit hardware counter (catalog
``rigsync.catalog.realsense``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rigsync.core.frame import TimestampSemantics

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

