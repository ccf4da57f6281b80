"""How a RealSense device hears that it went away, came back, or (a recording) played to its end - without the
SDK: the callbacks the SDK calls on its own threads, holding nothing but what they must reach."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class ChangeListener(Protocol):
    def devices_changed(self, event: Any, host_ns: int) -> None:
        """``event`` (``rs.event_information``) arrived at host time ``host_ns``; must not block."""


class DeviceWatch:
    """A context's devices-changed callback (``rs.context.set_devices_changed_callback``): each change, stamped on
    arrival, goes to the open live devices."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[ChangeListener] = []

    def add(self, listener: ChangeListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def discard(self, listener: ChangeListener) -> None:
        with self._lock:
            self._listeners = [d for d in self._listeners if d is not listener]

    def __call__(self, event: Any) -> None:
        host_ns = time.monotonic_ns()
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.devices_changed(event, host_ns)


class PlaybackEnd:
    """A recording's status callback (``set_status_changed_callback``, on its reading thread): notes the end
    (``stopped``, the SDK's ``rs.playback_status.stopped``); ``poll()`` reports it. Holds nothing of the device."""

    def __init__(self, stopped: Any) -> None:
        self._stopped = stopped
        self.ended = False

    def __call__(self, status: Any) -> None:
        if status == self._stopped:
            self.ended = True


def ignore_status(status: Any) -> None:
    """A playback's status callback once its device is closed."""
