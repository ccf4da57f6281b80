"""A capture's drivers across hosts: each driver name's local driver routed with the agents' (:class:`HostRouter`),
and with the simulator on the shared timeline, every start, stop and arm made in every process's world."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from rigsync.core.errors import DriverError
from rigsync.core.frame import Frame
from rigsync.core.intrinsics import Intrinsics
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
    SystemClock,
)
from rigsync.drivers.sim.driver import SimDriver
from rigsync.net.keys import Verb
from rigsync.net.remote import QUERY_TIMEOUT_S, AgentRefusedError, RemoteDriver
from rigsync.net.zenoh_session import Session
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec

SIM_CONTROL_LEAD_NS = 200_000_000
"""A simulated start or stop is made this far ahead on the shared timeline, so every process's world gets it
before it happens (a query's round trip on one machine is ~1 ms; an agent's world runs at most a poll ahead)."""
MAX_CONTROL_LEAD_NS = 2_000_000_000
"""The lead never grows past this (a control that takes longer is applied late by the agent, and said)."""
DRAIN_SLACK_NS = 300_000_000
"""After a simulated stop takes effect, how long its last frames may still be on their way."""


class HostRouter(Driver):
    """One driver name's devices across hosts: the capture host's through the local driver, the others' through
    their :class:`RemoteDriver`; clocks and PTP routed by host (``local_host`` None: a station that is none of the
    rig's hosts, every device through its agent). With a simulator on the shared timeline, every start and stop
    is made :data:`SIM_CONTROL_LEAD_NS` ahead in every process's world, and every arm is made in every world too
    (see :mod:`rigsync.net.agent`); ``controls`` lists the starts and stops, ``(verb, device, true ns)``."""

    def __init__(self, rig: RigSpec, local_host: str | None, local: Driver,
                 remotes: Mapping[str, RemoteDriver]) -> None:
        self.name = local.name
        self.rig, self.local_host = rig, local_host
        self._local = local
        self._remotes = dict(remotes)
        self.controls: list[tuple[Verb, str, int]] = []
        self._round_trip_ns = 0
        self._lock = threading.Lock()
        self._warnings: list[str] = []
        if isinstance(local, SimDriver):
            for remote in self._remotes.values():
                remote.on_restart = self._rejoin

    def _driver_of(self, host: str) -> Driver:
        if host == self.local_host:
            return self._local
        try:
            return self._remotes[host]
        except KeyError:
            raise DriverError(self.name, None, f"no agent for host {host!r}",
                              f"hosts with agents: {', '.join(self._remotes) or 'none'}") from None

    def discover(self) -> list[DeviceInfo]:
        return [*self._local.discover(), *(i for r in self._remotes.values() for i in r.discover())]

    def open(self, serial: str) -> Device:
        spec = next((d for d in self.rig.devices if d.serial == serial and d.driver == self.name), None)
        if spec is None:
            raise DriverError(self.name, serial, "no device of the rig has this serial")
        inner = self._driver_of(spec.host).open(serial)
        return _RoutedDevice(self, spec.id, inner) if isinstance(self._local, SimDriver) else inner

    def clock(self) -> CaptureClock:
        return SystemClock()

    def host_clocks(self, host: str) -> tuple[int, int]:
        return self._driver_of(host).host_clocks(host)

    def ptp_source(self, host: str) -> PtpSource | None:
        return self._driver_of(host).ptp_source(host)

    def send_truth_to(self, sink: Callable[[FrameTruth], None]) -> bool:
        """The simulated truth of every host: the local world's and each agent's (``@truth``)."""
        sent = [d.send_truth_to(sink) for d in (self._local, *self._remotes.values())]
        return any(sent)

    def send_records_to(self, sink: Callable[[str, dict[str, Any]], None]) -> None:
        for driver in (self._local, *self._remotes.values()):
            driver.send_records_to(sink)

    def sim_arm(self, device_id: str, device: Device, start_rig_ns: int) -> int | None:
        """Arm a simulated PTP camera (``device``, on its own host) for ``start_rig_ns``, and every other world with
        it: a world that did not know of the arm would start the camera's group on a schedule of its own."""
        first = device.arm(start_rig_ns)
        if first is None:
            return None
        owner = self.rig.device(device_id).host
        for host, remote in self._remotes.items():
            if host != owner:
                remote.query(Verb.ARM, {"device": device_id, "start_rig_ns": start_rig_ns})
        if owner != self.local_host:
            assert isinstance(self._local, SimDriver)
            self._local.world.advance_to(self._local.clock().now_ns())
            self._local.world.arm(device_id, start_rig_ns)
        return first

    def sim_control(self, verb: Verb, device_id: str) -> int:
        """Start or stop a simulated device in every world at one instant ahead; returns it (true ns)."""
        assert isinstance(self._local, SimDriver)
        world = self._local.world
        at_ns = max(self._local.clock().now_ns(), world.now_ns) + self._lead_ns()
        # The local world first: an agent's reply can come late over a congested link (its queries travel the
        # other way, uncongested), and the local world must not have passed at_ns when it takes the control.
        world.advance_to(self._local.clock().now_ns())
        (world.start_device if verb is Verb.START else world.stop_device)(device_id, at_ns=at_ns)
        self.controls.append((verb, device_id, at_ns))
        told = [r for r in self._remotes.values() if not (r.silent or r.away)]  # (the others learn it on rejoining)
        with ThreadPoolExecutor(max_workers=max(len(told), 1)) as pool:  # all at once: one slow agent delays none
            answers = list(pool.map(lambda r: self._tell(r, verb, {"device": device_id, "at_ns": at_ns}), told))
        errors = [a for a in answers if a is not None]
        if errors:
            raise DriverError(self.name, None, "; ".join(errors))
        return at_ns

    def _tell(self, remote: RemoteDriver, verb: Verb, body: dict[str, Any]) -> str | None:
        """One agent told a simulated control: None, or the error naming its host; a late one is a warning."""
        sent_ns = time.monotonic_ns()
        try:
            late_ns = int(remote.query(verb, body).get("late_ns", 0))
        except DriverError as err:
            return str(err)
        with self._lock:
            self._round_trip_ns = max(self._round_trip_ns * 7 // 8, time.monotonic_ns() - sent_ns)
            if late_ns > 0:
                self._warnings.append(
                    f"host {remote.host}'s world took the {verb} of {body['device']} {late_ns / 1e6:.0f} ms after "
                    "its instant (the control came late: the machine or the network is loaded); its frames around "
                    "it may not match the other worlds'")
        return None

    def _lead_ns(self) -> int:
        """How far ahead a simulated start or stop is made: :data:`SIM_CONTROL_LEAD_NS`, or four control round
        trips (slowest recent, decaying) when they take longer (a loaded machine), at most
        :data:`MAX_CONTROL_LEAD_NS`."""
        return min(max(SIM_CONTROL_LEAD_NS, 4 * self._round_trip_ns), MAX_CONTROL_LEAD_NS)

    def take_warnings(self) -> list[str]:
        warnings, self._warnings = self._warnings, []
        return warnings

    def _rejoin(self, remote: RemoteDriver) -> None:
        """A restarted agent's world learns every start and stop of the other hosts' devices so far (as of their
        instants); then its own devices that were streaming start again, at one instant ahead in every world
        (a no-op in the worlds where they never stopped)."""
        last: dict[str, Verb] = {}
        for verb, device_id, at_ns in list(self.controls):
            last[device_id] = verb
            if self.rig.device(device_id).host != remote.host:
                remote.query(verb, {"device": device_id, "at_ns": at_ns})
        for device_id, verb in last.items():
            if verb is Verb.START and self.rig.device(device_id).host == remote.host:
                self.sim_control(Verb.START, device_id)

    def sim_now_ns(self) -> int:
        assert isinstance(self._local, SimDriver)
        return self._local.clock().now_ns()


class _RoutedDevice(Device):
    """A device of a simulated rig across processes: starts and stops go to every world (:class:`HostRouter`);
    after a stop it keeps being polled until its last frames can have arrived."""

    def __init__(self, router: HostRouter, device_id: str, inner: Device) -> None:
        self._router = router
        self._id = device_id
        self._inner = inner
        self.info = inner.info
        self._drain_until_ns: int | None = None  # on the capture clock (CLOCK_MONOTONIC)

    def configure(self, config: DeviceConfig) -> None:
        self._inner.configure(config)

    def readback(self) -> dict[str, str]:
        return self._inner.readback()

    def arm(self, start_rig_ns: int) -> int | None:
        return self._router.sim_arm(self._id, self._inner, start_rig_ns)

    def start(self) -> None:
        self._router.sim_control(Verb.START, self._id)

    def stop(self) -> None:
        at_ns = self._router.sim_control(Verb.STOP, self._id)
        self._drain_until_ns = time.monotonic_ns() + at_ns - self._router.sim_now_ns() + DRAIN_SLACK_NS

    def poll(self) -> list[Frame | DeviceEvent]:
        return self._inner.poll()

    def next_ready_ns(self, horizon_ns: int) -> int | None:
        # The capture clock is CLOCK_MONOTONIC, not the simulation's: nothing is known ahead, except that a
        # stopped device still delivers until its stop and the frames' transit are over.
        if self._drain_until_ns is not None and time.monotonic_ns() < self._drain_until_ns:
            return min(horizon_ns, time.monotonic_ns() + 5_000_000)
        return None

    def intrinsics(self, stream: str) -> Intrinsics:
        return self._inner.intrinsics(stream)

    def timing(self) -> DeviceTiming:
        """The device's timing; its start-up includes the lead a start takes to reach every world (a scheduled
        start starts it that much earlier)."""
        timing = self._inner.timing()
        return replace(timing, startup_ns=timing.startup_ns + SIM_CONTROL_LEAD_NS)

    def close(self) -> None:
        self._inner.close()


def open_capture_drivers(rig: RigSpec, plan: Plan, session: Session, capture_host: str | None, *,
                         origin_realtime_ns: int | None = None,
                         timeout_s: float = QUERY_TIMEOUT_S) -> dict[str, Driver]:
    """The drivers of a capture on ``capture_host`` of a rig spanning hosts: each driver name's local driver
    (the simulator on the shared timeline ``origin_realtime_ns``) routed with one :class:`RemoteDriver` per other
    host that has devices (each checked: same rig file and plan). ``capture_host`` None: a station that is none of
    the rig's hosts, every host's devices through its agent (the local simulator emits no device, but its world
    still gives the shared timeline and takes every start, stop and arm). With simulated devices, every agent's
    timeline must be the capture's: ``origin_realtime_ns`` None takes the agents' (all the same one)."""
    from rigsync.drivers.factory import open_drivers

    if capture_host is not None:
        rig.host(capture_host)
    remotes = {h: RemoteDriver(session, rig, plan, h, timeout_s=timeout_s)
               for h in dict.fromkeys(d.host for d in rig.devices) if h != capture_host}
    if any(d.driver == "sim" for d in rig.devices):
        origin_realtime_ns = shared_origin_ns(remotes, origin_realtime_ns)
    local = open_drivers(rig, plan, hosts=[capture_host] if capture_host is not None else [],
                         origin_realtime_ns=origin_realtime_ns)
    return {name: HostRouter(rig, capture_host, driver, remotes) for name, driver in local.items()}


def remote_drivers(drivers: Mapping[str, Driver]) -> list[RemoteDriver]:
    """The agents' drivers behind a capture's drivers (:func:`open_capture_drivers`), one per remote host: the
    capture's ``links`` (each host's link status)."""
    return list({r.host: r for d in drivers.values() if isinstance(d, HostRouter)
                 for r in d._remotes.values()}.values())


def shared_origin_ns(remotes: Mapping[str, RemoteDriver], origin_realtime_ns: int | None) -> int | None:
    """The simulated rig's one timeline origin: ``origin_realtime_ns`` if given, else the agents'; an agent on
    another timeline (or none) is refused, naming its host and both origins."""
    origins = {h: r.origin_realtime_ns for h, r in remotes.items()}
    want = origin_realtime_ns if origin_realtime_ns is not None else next(iter(origins.values()), None)
    for host, origin in origins.items():
        if origin is None or origin != want:
            raise AgentRefusedError(
                f"the agent of host {host} simulates on another timeline: its origin is {origin} ns, this capture's "
                f"{want} (start every agent with the same --origin NS, or give none to the capture to take the "
                "agents')")
    return want
