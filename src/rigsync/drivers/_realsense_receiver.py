"""The RealSense sensors' frame callbacks: each frame stamped on arrival, read (metadata, pixels) and queued.

Runs on the SDK's callback threads, once per frame: kept lean (a sensor with one stream gets that stream's
receiver directly, without asking the frame for its profile; each metadata value is one SDK call). A receiver
holds only the queue and its stream's routing, never the SDK device: the SDK may drop its last reference on its
own thread, and a device destroyed there would join that very thread.

A depth stream's z16 values are recorded in millimetres: each frame converted from the unit it carries
(``depth_frame.get_units()``: the sensor's ``depth_units`` when it was delivered, a recording's as recorded) when
that is not 1 mm, so a unit changed while streaming is followed too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimestampSemantics
from rigsync.drivers._realsense_depth import to_mm, unit_um
from rigsync.drivers._realsense_frames import US_NS, Unwrapper, pick_stamp
from rigsync.drivers.queue import FrameQueue


@dataclass(frozen=True)
class MetadataKeys:
    """The SDK's ``rs.frame_metadata_value`` members the receivers read."""

    sensor_timestamp: Any
    frame_timestamp: Any
    frame_counter: Any
    actual_exposure: Any


def _metadata(f: Any, key: Any) -> int | None:
    """One metadata value, None if the frame lacks it (one SDK call; the SDK raises for a missing value)."""
    try:
        return int(f.get_frame_metadata(key))
    except RuntimeError:
        return None


class StreamReceiver:
    """One stream's frames: counters unwrapped from this receiver's first frame (a start, or a reconnect)."""

    def __init__(self, device_id: str, stream: str, encoding: str, queue: FrameQueue, readout_ns: int,
                 keys: MetadataKeys, *, after_reconnect: bool = False, depth_um: int | None = None) -> None:
        """``depth_um``: a depth stream's unit in micrometres at configure (used for a frame that reports none);
        None for other streams."""
        self._device_id = device_id
        self._stream = stream
        self._encoding = encoding
        self._queue = queue
        self._readout_ns = readout_ns
        self._keys = keys
        self._unwrap = Unwrapper()
        self._flags = FrameFlags.AFTER_RECONNECT if after_reconnect else FrameFlags.NONE
        self._depth_um = depth_um

    def __call__(self, f: Any) -> None:
        """SDK callback thread, a sensor with this one stream."""
        self.deliver(f, time.monotonic_ns())

    def deliver(self, f: Any, host_rx_ns: int) -> None:
        """Build the frame received at ``host_rx_ns`` and queue it."""
        keys = self._keys
        centre_us = _metadata(f, keys.sensor_timestamp)
        stamp = pick_stamp(centre_us, None if centre_us is not None else _metadata(f, keys.frame_timestamp))
        if stamp is None:  # no metadata: the frame timestamp (hardware clock, ms) is the start of readout
            stamp = pick_stamp(None, round(f.get_timestamp() * 1_000))
        assert stamp is not None
        counter = _metadata(f, keys.frame_counter)
        exposure_us = _metadata(f, keys.actual_exposure)
        exposure_ns = exposure_us * US_NS if exposure_us is not None else None
        latency_ns = self._readout_ns
        if stamp.semantics is TimestampSemantics.CENTER_OF_EXPOSURE and exposure_ns is not None:
            latency_ns += exposure_ns // 2
        flags, self._flags = self._flags, FrameFlags.NONE
        image = np.array(f.get_data())
        if self._depth_um is not None:
            image = to_mm(image, unit_um(f.as_depth_frame().get_units()) or self._depth_um)
        self._queue.put_frame(Frame(
            device=self._device_id, stream=self._stream, seq=counter if counter is not None else f.get_frame_number(),
            device_ts_ns=self._unwrap(stamp.counter_us) * US_NS, host_rx_ns=host_rx_ns, semantics=stamp.semantics,
            domain=ClockDomain.DEVICE, min_latency_ns=max(latency_ns, 1), exposure_ns=exposure_ns,
            image=image, encoding=self._encoding, flags=flags))


class SensorReceiver:
    """A sensor streaming several streams (depth and infrared): each frame to its stream's receiver."""

    def __init__(self, routes: Mapping[tuple[Any, int], StreamReceiver]) -> None:
        self._routes = dict(routes)

    def __call__(self, f: Any) -> None:
        host_rx_ns = time.monotonic_ns()
        p = f.get_profile()
        receiver = self._routes.get((p.stream_type(), p.stream_index()))
        if receiver is not None:
            receiver.deliver(f, host_rx_ns)
