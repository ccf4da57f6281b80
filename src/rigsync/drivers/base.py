"""The driver interface: one small contract every camera driver (the simulator included) implements.

A :class:`Driver` finds devices and opens one by serial; a :class:`Device` is configured from the plan,
started, polled for frames (each with the device's own timestamp and the host receive time), stopped and
closed. Devices are context managers; nothing is cleaned up in ``__del__``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self

from rigsync.core.frame import ClockDomain, Frame, StreamKind
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.ptp import PtpSample
from rigsync.core.sync import SyncMethod
from rigsync.core.truth import FrameTruth


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
    firmware: str = ""
    """Firmware version as the device reports it ("" if the driver cannot read it)."""


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
    trigger_out: bool = False
    """The device drives its sync output for the devices it triggers (the plan's ``trigger_out``)."""
    ptp_step_mode: str = "two-step"
    """The PTP group's ``one-step`` or ``two-step`` mode (the grandmaster's packets; GigE ``PtpMode``)."""


@dataclass(frozen=True)
class DeviceConfig:
    device_id: str
    serial: str
    model: str
    streams: tuple[StreamConfig, ...]
    sync: SyncConfig
    packet_size: int | None = None
    """GigE Vision: the stream packet size to set (``GevSCPSPacketSize``, bytes); None: the camera's own."""


@dataclass(frozen=True)
class DeviceTiming:
    """How a device's timestamps behave, for its timebase."""

    domain: ClockDomain
    tick_ns: int
    latency_uncertainty_ns: int
    """How far the driver's nominal latency (``Frame.min_latency_ns``) may be off for this device."""
    startup_ns: int = 0
    """From ``start()`` to the first exposure (sensor start-up): a scheduled start starts the device this early."""
    reference_bound_ns: int = 1_000
    """``ClockDomain.PTP`` devices: bound on the device clock's offset from the PTP reference."""


class EventKind(StrEnum):
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    """The device is back; its clock and frame counters restarted."""
    OVERRUN = "overrun"
    """rigsync did not read frames in time and the driver's queue dropped ``count`` of them: frames ``seq`` to
    ``seq + count - 1`` of ``stream`` when the driver knows which."""


@dataclass(frozen=True)
class DeviceEvent:
    device: str
    kind: EventKind
    host_ns: int
    stream: str | None = None
    count: int = 0
    seq: int | None = None
    reason: str = ""
    """Why, when the driver knows more than the kind (a remote host's agent silent, and for how long)."""


class PtpSource(Protocol):
    """Where a host's PTP state comes from: linuxptp's pmc (``rigsync.ptp``), or the simulator's model of it."""

    def poll(self) -> list[PtpSample]:
        """Samples taken since the last call, oldest first (the latest state right away on the first call)."""
        ...


class CaptureClock(Protocol):
    """The capture host's clock, and a way to wait on it (virtual for fast simulation)."""

    def now_ns(self) -> int: ...

    def wait_until(self, host_ns: int) -> None:
        """Return at ``host_ns`` at the latest (earlier if a device signals frames)."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The capture loop's pace on a real host: CLOCK_MONOTONIC (never stepped), waiting with short sleeps. Frame
    times and rig time come from :meth:`Driver.host_clocks` and the host's timebase, not from here. Every vendor
    driver has its own; equal ones are one clock, so a rig mixing vendors is captured on it."""

    max_wait_s: float = 0.005

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def wait_until(self, host_ns: int) -> None:
        delay = (host_ns - time.monotonic_ns()) / 1e9
        if delay > 0:
            time.sleep(min(delay, self.max_wait_s))


class Device(ABC):
    """One opened camera."""

    info: DeviceInfo

    @abstractmethod
    def configure(self, config: DeviceConfig) -> None:
        """Apply the plan's settings (only while stopped)."""

    def readback(self) -> dict[str, str]:
        """The sync settings as the device reports them after :meth:`configure`, by the vendor's own name
        (``inter_cam_sync_mode``, ``wired_sync_mode``, ``PtpStatus``...), for ``rigsync check``; empty if the
        device reports none."""
        return {}

    @abstractmethod
    def start(self) -> None: ...

    def arm(self, start_rig_ns: int) -> int | None:
        """Schedule the start of exposures at rig (PTP) time ``start_rig_ns``, before :meth:`start` (GigE
        Vision scheduled start). Returns the rig time of the first exposure - later than asked if the device
        could not make it, never earlier -, or None if the device cannot schedule (the capture then starts it
        early and discards what comes before)."""
        return None

    @abstractmethod
    def poll(self) -> list[Frame | DeviceEvent]:
        """Frames and events received since the last call, in host-time order; never blocks."""

    def next_ready_ns(self, horizon_ns: int) -> int | None:
        """Host time at which :meth:`poll` will next have something, if the driver knows (simulator): a driver
        looking ahead looks no further than ``horizon_ns`` and returns it if nothing comes by then (ask again
        then). None: not known (real devices), or nothing more will come."""
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
        """The clock the capture loop paces itself with."""

    def host_clocks(self, host: str) -> tuple[int, int]:
        """(system clock, monotonic clock) of ``host`` now, read together; frames' ``host_rx_ns`` are on the
        monotonic one. Real drivers capture on the local host."""
        return time.time_ns(), time.monotonic_ns()

    def ptp_source(self, host: str) -> PtpSource | None:
        """The driver's own view of a host's PTP (the simulator's); None: linuxptp on the host is asked."""
        return None

    def send_truth_to(self, sink: Callable[[FrameTruth], None]) -> bool:
        """Hand the simulated truth of this driver's frames to ``sink``, on the thread that polls its devices (no
        later than the frame itself); False if the driver knows no truth (real devices)."""
        return False

    def take_warnings(self) -> list[str]:
        """What the driver has to say to the capture's user since the last call (each once; the capture shows and
        keeps them with its warnings): most drivers say nothing here."""
        return []

    def send_records_to(self, sink: Callable[[str, dict[str, Any]], None]) -> None:
        """Hand ``sink`` what the driver observes besides frames, to be recorded as ``(topic, JSON object)`` at the
        rig time of the poll that passes it on (a remote host's linuxptp state: :mod:`rigsync.net.linuxptp`); on the
        thread that polls its devices. Most drivers observe nothing else."""
        return None
