"""The driver interface: one small contract every camera driver (the simulator included) implements.

A :class:`Driver` finds devices and opens one by serial; a :class:`Device` is configured from the plan,
started, polled for frames (each with the device's own timestamp and the host receive time), stopped and
closed. Devices are context managers; nothing is cleaned up in ``__del__``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from rigsync.core.frame import ClockDomain, Frame, StreamKind
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.sync import SyncMethod


@dataclass(frozen=True)
class DeviceInfo:
    """A device as a driver finds it."""

    driver: str
    serial: str
    model: str
    """Catalog key, if the driver knows the model."""
    name: str
    connection: str
    """Where it is attached, in the driver's words (bus, port, interface)."""


@dataclass(frozen=True)
class StreamConfig:
    name: str
    kind: StreamKind
    width: int
    height: int
    fps: float
    pixel_format: str
    exposure_us: int | None
    """Manual exposure; None for auto."""


@dataclass(frozen=True)
class SyncConfig:
    """A device's part in its sync group, from the plan."""

    group: str | None
    method: SyncMethod | None
    role: str
    """rigsync role name (``master``, ``subordinate``, ``genlock``, ``capture-card``, ``ptp``...)."""
    vendor_role: str
    delay_ns: int
    depth_delay_ns: int
    burst: int
    synced_streams: tuple[str, ...]


@dataclass(frozen=True)
class DeviceConfig:
    device_id: str
    serial: str
    model: str
    streams: tuple[StreamConfig, ...]
    sync: SyncConfig


@dataclass(frozen=True)
class DeviceTiming:
    """How a device's timestamps behave, for its timebase."""

    domain: ClockDomain
    tick_ns: int
    latency_uncertainty_ns: int
    """How far the driver's nominal latency (``Frame.min_latency_ns``) may be off for this device."""


class EventKind(StrEnum):
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    """The device is back; its clock and frame counters restarted."""
    OVERRUN = "overrun"
    """rigsync did not read frames in time and the driver's queue dropped ``count`` of them (frame ``seq``
    of ``stream`` if the driver knows which)."""


@dataclass(frozen=True)
class DeviceEvent:
    device: str
    kind: EventKind
    host_ns: int
    stream: str | None = None
    count: int = 0
    seq: int | None = None


class CaptureClock(Protocol):
    """The capture host's clock, and a way to wait on it (virtual for fast simulation)."""

    def now_ns(self) -> int: ...

    def wait_until(self, host_ns: int) -> None:
        """Return at ``host_ns`` at the latest (earlier if a device signals frames)."""
        ...


class SystemClock:
    """The real host clock (CLOCK_REALTIME, the clock PTP disciplines), waiting with short sleeps."""

    def __init__(self, max_wait_s: float = 0.005) -> None:
        self.max_wait_s = max_wait_s

    def now_ns(self) -> int:
        return time.time_ns()

    def wait_until(self, host_ns: int) -> None:
        delay = (host_ns - time.time_ns()) / 1e9
        if delay > 0:
            time.sleep(min(delay, self.max_wait_s))


class Device(ABC):
    """One opened camera."""

    info: DeviceInfo

    @abstractmethod
    def configure(self, config: DeviceConfig) -> None:
        """Apply the plan's settings (only while stopped)."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def poll(self) -> list[Frame | DeviceEvent]:
        """Frames and events received since the last call, in host-time order; never blocks."""

    def next_ready_ns(self) -> int | None:
        """Host time at which :meth:`poll` will next have something, if the driver knows (simulator)."""
        return None

    @abstractmethod
    def intrinsics(self, stream: str) -> Intrinsics:
        """Intrinsics of a configured stream's images."""

    @abstractmethod
    def timing(self) -> DeviceTiming: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Release the device; idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Driver(ABC):
    """Finds and opens devices of one kind."""

    name: str

    @abstractmethod
    def discover(self) -> list[DeviceInfo]: ...

    @abstractmethod
    def open(self, serial: str) -> Device:
        """Open a device by serial; raises DriverError if it is not there."""

    @abstractmethod
    def clock(self) -> CaptureClock:
        """The clock frames' ``host_rx_ns`` are read from."""
