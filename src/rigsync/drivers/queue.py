"""A device's frames on their way from an SDK's callback thread (or a reader thread) to ``Device.poll()``."""

from __future__ import annotations

import dataclasses
import threading

from rigsync.core.frame import Frame
from rigsync.drivers.base import DeviceEvent, EventKind


class FrameQueue:
    """Bounded: when ``capacity`` frames wait, new frames are dropped and reported as OVERRUN events, one per run
    of consecutive frame numbers dropped on a stream (``seq`` the first, ``count`` of them: frames ``seq`` to
    ``seq + count - 1``), whatever other streams' frames come between. Events are never dropped, and keep their
    order: a drop after another event is a new OVERRUN."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._items: list[Frame | DeviceEvent] = []
        self._frames = 0
        self._open: dict[str, int] = {}
        """Per stream: index in ``_items`` of the OVERRUN its next consecutive drop joins."""

    def put_frame(self, frame: Frame) -> None:
        with self._lock:
            if self._frames < self._capacity:
                self._items.append(frame)
                self._frames += 1
                return
            at = self._open.get(frame.stream)
            if at is not None:
                run = self._items[at]
                assert isinstance(run, DeviceEvent) and run.seq is not None
                if frame.seq == run.seq + run.count:
                    self._items[at] = dataclasses.replace(run, count=run.count + 1)
                    return
            self._open[frame.stream] = len(self._items)
            self._items.append(DeviceEvent(frame.device, EventKind.OVERRUN, frame.host_rx_ns, frame.stream, 1,
                                           frame.seq))

    def put_event(self, event: DeviceEvent) -> None:
        with self._lock:
            self._items.append(event)
            self._open.clear()

    def take(self) -> list[Frame | DeviceEvent]:
        """Everything queued, oldest first; never blocks beyond the callback's short hold of the lock."""
        with self._lock:
            items, self._items, self._frames = self._items, [], 0
            self._open.clear()
        return items
