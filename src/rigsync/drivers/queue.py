"""A device's frames on their way from an SDK's callback thread (or a reader thread) to ``Device.poll()``."""

from __future__ import annotations

import threading

from rigsync.core.frame import Frame
from rigsync.drivers.base import DeviceEvent, EventKind


class FrameQueue:
    """Bounded: when ``capacity`` frames wait, new frames are dropped and reported as one OVERRUN event per run
    of consecutive frame numbers dropped on a stream (``seq`` the first, ``count`` of them: frames ``seq`` to
    ``seq + count - 1``). Events are never dropped."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._items: list[Frame | DeviceEvent] = []
        self._frames = 0

    def put_frame(self, frame: Frame) -> None:
        with self._lock:
            if self._frames < self._capacity:
                self._items.append(frame)
                self._frames += 1
                return
            last = self._items[-1]
            if (isinstance(last, DeviceEvent) and last.kind is EventKind.OVERRUN and last.stream == frame.stream
                    and last.seq is not None and frame.seq == last.seq + last.count):
                self._items[-1] = DeviceEvent(frame.device, EventKind.OVERRUN, last.host_ns, last.stream,
                                              last.count + 1, last.seq)
            else:
                self._items.append(DeviceEvent(frame.device, EventKind.OVERRUN, frame.host_rx_ns, frame.stream,
                                               1, frame.seq))

    def put_event(self, event: DeviceEvent) -> None:
        with self._lock:
            self._items.append(event)

    def take(self) -> list[Frame | DeviceEvent]:
        """Everything queued, oldest first; never blocks beyond the callback's short hold of the lock."""
        with self._lock:
            items, self._items, self._frames = self._items, [], 0
        return items
