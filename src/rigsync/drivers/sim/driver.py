"""The simulator as a driver: the default, and just another implementation of the driver interface."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rigsync.core.errors import DriverError
from rigsync.core.frame import Frame
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.ptp import PtpSample
from rigsync.core.sync import LinkKind
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import (
    CaptureClock,
    Device,
    DeviceConfig,
    DeviceEvent,
    DeviceInfo,
    DeviceTiming,
    Driver,
    PtpSource,
)
from rigsync.drivers.sim._model import SIM_EPOCH_NS, STARTUP_NS, DeviceSim
from rigsync.drivers.sim.links import LATENCY_UNCERTAINTY_NS
from rigsync.drivers.sim.world import SimWorld
from rigsync.spec.model import Platform

PTP_CAMERA_BOUND_NS = 250
"""Bound on a simulated PTP camera clock's offset from the reference (its servo noise is 15 ns rms)."""


class SimClock:
    """The simulation's true time, which the simulated capture host's clock (the rig clock) reads: virtual
    (``fast``), or paced in real time from this clock's creation, or, with ``origin_realtime_ns``, on a timeline
    several processes share: true time ``SIM_EPOCH_NS`` is the instant ``origin_realtime_ns`` of the kernel's
    CLOCK_REALTIME, which every process on the machine (and in each of its network namespaces) reads alike.

    CLOCK_REALTIME rather than CLOCK_MONOTONIC: an origin given as a wall-clock instant means the same in every
    process, in every time namespace (which may offset CLOCK_MONOTONIC, never CLOCK_REALTIME) and on other
    machines whose clocks PTP or NTP keep together; CLOCK_MONOTONIC counts from one machine's boot. The price:
    a step of the machine's clock moves the timeline (rigsync's PTP set-up never steps it: ``free_running 1``).
    """

    def __init__(self, *, fast: bool, max_wait_s: float = 0.005, origin_realtime_ns: int | None = None) -> None:
        self.fast = fast
        self.max_wait_s = max_wait_s
        self._virtual = SIM_EPOCH_NS
        self.origin_realtime_ns = origin_realtime_ns
        self._t0 = time.monotonic_ns()

    def now_ns(self) -> int:
        if self.fast:
            return self._virtual
        if self.origin_realtime_ns is not None:
            return SIM_EPOCH_NS + time.clock_gettime_ns(time.CLOCK_REALTIME) - self.origin_realtime_ns
        return SIM_EPOCH_NS + time.monotonic_ns() - self._t0

    def wait_until(self, host_ns: int) -> None:
        if self.fast:
            self._virtual = max(self._virtual, host_ns)
            return
        delay = (host_ns - self.now_ns()) / 1e9
        if delay > 0:
            time.sleep(min(delay, self.max_wait_s))


class SimDevice(Device):
    def __init__(self, world: SimWorld, clock: SimClock, dev: DeviceSim, info: DeviceInfo) -> None:
        self.info = info
        self._world = world
        self._clock = clock
        self._dev = dev
        self._config: DeviceConfig | None = None
        self._open = True

    def _sync(self) -> None:
        self._world.advance_to(self._clock.now_ns())

    def configure(self, config: DeviceConfig) -> None:
        if self._dev.started:
            raise DriverError("sim", self.info.serial, "settings can only change while stopped", "stop() first")
        known = {s.name for s in self._dev.spec.streams}
        wanted = {s.name for s in config.streams}
        if not wanted <= known:
            raise DriverError("sim", self.info.serial, f"no such streams: {sorted(wanted - known)}",
                              f"the simulated device has {sorted(known)} (from the rig file)")
        self._config = config
        self._world.prepare(self._dev.spec.id)

    def readback(self) -> dict[str, str]:
        """The role the simulated device plays (the simulator wires it as the plan says)."""
        return {"role": self._dev.plan.vendor_role} if self._config is not None else {}

    def start(self) -> None:
        if self._config is None:
            raise DriverError("sim", self.info.serial, "not configured", "call configure() before start()")
        self._sync()
        self._world.start_device(self._dev.spec.id)

    def arm(self, start_rig_ns: int) -> int | None:
        if self._config is None:
            raise DriverError("sim", self.info.serial, "not configured", "call configure() before arm()")
        self._sync()
        return self._world.arm(self._dev.spec.id, start_rig_ns)

    def poll(self) -> list[Frame | DeviceEvent]:
        self._sync()
        items = self._world.take(self._dev.spec.id)
        if self._config is not None and len(self._config.streams) < len(self._dev.streams):
            names = {s.name for s in self._config.streams}
            items = [i for i in items if not isinstance(i, Frame) or i.stream in names]
        return items

    def next_ready_ns(self, horizon_ns: int) -> int | None:
        # On the capture clock (the simulated capture host's, i.e. true time), not on the device host's clock.
        return self._world.next_delivery_ns(horizon_ns)

    def intrinsics(self, stream: str) -> Intrinsics:
        for s in self._dev.streams:
            if s.spec.name == stream:
                return s.intrinsics
        raise DriverError("sim", self.info.serial, f"no stream {stream!r}")

    def timing(self) -> DeviceTiming:
        return DeviceTiming(self._dev.domain, self._dev.model.clock.tick_ns, LATENCY_UNCERTAINTY_NS,
                            startup_ns=STARTUP_NS, reference_bound_ns=PTP_CAMERA_BOUND_NS)

    def stop(self) -> None:
        self._world.stop_device(self._dev.spec.id)

    def close(self) -> None:
        if self._open:
            self._open = False
            if self._dev.started:
                self.stop()


class SimDriver(Driver):
    """Devices of a simulated rig, found by the serials the rig file gives them."""

    name = "sim"

    def __init__(self, world: SimWorld, clock: SimClock) -> None:
        self.world = world
        self._clock = clock

    def _present(self, dev: DeviceSim) -> bool:
        """A device the host can see: GMSL2 cameras need a Jetson with the ZED Link driver (seeds/000)."""
        if dev.spec.connection.kind is LinkKind.GMSL:
            host = self.world.rig.host(dev.spec.host)
            return host.platform is Platform.JETSON and host.zed_link_driver
        return True

    def discover(self) -> list[DeviceInfo]:
        """The devices of the hosts this world emits (another process presents the others)."""
        return [self._info(d) for d in self.world.devices
                if d.spec.driver == self.name and self.world.emits(d) and self._present(d)]

    def _info(self, dev: DeviceSim) -> DeviceInfo:
        return DeviceInfo(driver=self.name, serial=dev.spec.serial, model=dev.model.key,
                          name=f"{dev.model.name} (simulated)", connection=f"{dev.spec.host}/{dev.spec.connection}")

    def open(self, serial: str) -> SimDevice:
        for dev in self.world.devices:
            if dev.spec.serial == serial and dev.spec.driver == self.name:
                if not self.world.emits(dev):
                    raise DriverError("sim", serial, f"on host {dev.spec.host}, which another process simulates",
                                      f"open it on {dev.spec.host}'s agent")
                if not self._present(dev):
                    raise DriverError("sim", serial, f"not found on host {dev.spec.host}",
                                      "GMSL2 cameras need an NVIDIA Jetson host with the ZED Link driver")
                return SimDevice(self.world, self._clock, dev, self._info(dev))
        raise DriverError("sim", serial, "no simulated device has this serial",
                          ", ".join(d.spec.serial for d in self.world.devices))

    def clock(self) -> CaptureClock:
        return self._clock

    def _own(self, host: str) -> None:
        if host not in self.world.emitted_hosts:
            raise DriverError("sim", None, f"host {host!r}'s clocks are simulated by another process",
                              f"this one presents {', '.join(sorted(self.world.emitted_hosts))}")

    def host_clocks(self, host: str) -> tuple[int, int]:
        self._own(host)
        self.world.advance_to(self._clock.now_ns())
        return self.world.clocks_of(host)

    def ptp_source(self, host: str) -> PtpSource | None:
        self._own(host)
        return _SimPtpSource(self.world, self._clock, host)

    def send_truth_to(self, sink: Callable[[FrameTruth], None]) -> bool:
        """The world's truth of the frames of the hosts it emits, as it finalizes them (while a device is polled)."""
        self.world.truth_sink = sink
        return True

    def send_records_to(self, sink: Callable[[str, dict[str, Any]], None]) -> None:
        """The LED clock's truth (``/rigsync/sim/ledclock``), once, on the first poll, if the scene has one."""
        self.world.record_sink = sink


class _SimPtpSource:
    """pmc, as the simulated ptp4l of one host would answer it."""

    def __init__(self, world: SimWorld, clock: SimClock, host: str) -> None:
        self._world, self._clock, self._host = world, clock, host

    def poll(self) -> list[PtpSample]:
        self._world.advance_to(self._clock.now_ns())
        return self._world.ptp_samples(self._host)
