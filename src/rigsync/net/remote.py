"""The capture's side of an agent: a :class:`~rigsync.drivers.base.Driver` whose devices are one remote host's,
driven by control queries and fed by what a subscriber received, so that the existing capture (timebases,
aligner, recorder) runs unchanged.

Clocks: :meth:`RemoteDriver.host_clocks` is the latest heartbeat's (realtime, monotonic) pair of the remote host,
moved on by the local CLOCK_MONOTONIC time since it arrived. On one machine (tests: loopback or network namespaces)
every process reads the same kernel clock, so this is exact up to the heartbeat's transit (tens of microseconds on
loopback, where it is taken as zero). On a real LAN the remote host's clocks run at their own rate: extrapolated
over one heartbeat interval (0.2 s) a 100 ppm rate difference adds 20 us, and the transit (one-way, unknown)
shifts the pair by a LAN's ~0.1-1 ms - which is why the rig's time on other hosts comes from PTP (``@ptp``), and
the heartbeat pair only places the host's monotonic clock against its own system clock, as a local driver does.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from rigsync.core.errors import DriverError, RigsyncError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.ptp import PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import (
    CaptureClock,
    Device,
    DeviceConfig,
    DeviceEvent,
    DeviceInfo,
    DeviceTiming,
    Driver,
    EventKind,
    PtpSource,
    SystemClock,
)
from rigsync.hostcheck.finding import Finding
from rigsync.net import wire
from rigsync.net.agent import plan_hash, rig_hash, rig_keys
from rigsync.net.keys import Channel, Verb, channel_selector, control_key, frames_selector
from rigsync.net.link import HostLink, LinkStats
from rigsync.net.linuxptp import linuxptp_record
from rigsync.net.liveness import SILENCE_TIMEOUT_NS, Liveness
from rigsync.net.messages import FrameMessage, Heartbeat, Reply, Request
from rigsync.net.rejoin import AgentWatch, HeldTruth
from rigsync.net.zenoh_session import Sample, Session, control_get, replies_watched
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec

QUERY_TIMEOUT_S = 5.0
CHECK_TIMEOUT_S = 60.0
"""How long a host check on an agent may take: its commands (each cut at 5 s), the disk's timed write. A silent
agent is given up at once (its heartbeats stop), not after this."""


_CHANNEL_KINDS: dict[Channel, type] = {Channel.EVENTS: DeviceEvent, Channel.PTP: PtpSample,
                                       Channel.HEARTBEAT: Heartbeat, Channel.TRUTH: FrameTruth}
"""The one message kind each channel a capture subscribes to carries."""


class AgentRefusedError(RigsyncError):
    """An agent that is not on the same rig file or plan, or does not answer."""


class RemoteDriver(Driver):
    """One remote host's devices, through its agent; an agent silent for ``silence_s`` is reported disconnected
    and rejoined when it is back (:mod:`rigsync.net.rejoin`)."""

    name = "remote"

    def __init__(self, session: Session, rig: RigSpec, plan: Plan, host: str, *,
                 timeout_s: float = QUERY_TIMEOUT_S, silence_s: float = SILENCE_TIMEOUT_NS / 1e9) -> None:
        self.rig, self.plan, self.host = rig, plan, host
        self._session = session
        self._timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._items: dict[str, deque[Frame | DeviceEvent]] = {d.id: deque() for d in rig.devices if d.host == host}
        self._ptp: deque[PtpSample] = deque()
        self._truth: dict[str, deque[FrameTruth]] = {d: deque() for d in self._items}
        self._truth_sink: Callable[[FrameTruth], None] | None = None
        self._linuxptp: deque[PtpSample] = deque()
        self._records_sink: Callable[[str, dict[str, Any]], None] | None = None
        self._heartbeat: tuple[Heartbeat, int] | None = None
        self._got_heartbeat = threading.Event()
        self._link = LinkStats(host)
        self.malformed = 0
        """Messages received that did not decode, or came on a key of a stream the rig does not declare."""
        self._keys = rig_keys(rig)
        liveness = Liveness(host, time.monotonic_ns(), round(silence_s * 1e9))
        self._held = HeldTruth()
        self._last_rx_ns = time.monotonic_ns()  # the last frame or heartbeat received (the capture's clock)
        self._flag_next: set[tuple[str, str]] = set()  # streams whose next frame comes after a reconnect
        self._opened: dict[str, RemoteDevice] = {}
        self._started: set[str] = set()  # devices started through RemoteDevice.start (not the simulator's)
        self.on_restart: Callable[[RemoteDriver], None] | None = None
        """Called when a restarted agent has rejoined and its devices are configured: restarts what was streaming
        (:class:`HostRouter` sets it for the simulator; None: the devices started with ``start()`` again)."""
        hello = self.checked_hello(timeout_s)
        self.agent_version = str(hello.get("agent_version"))
        origin = hello.get("origin_realtime_ns")
        self.origin_realtime_ns: int | None = None if origin is None else int(origin)
        """The agent's simulated world's shared timeline origin (CLOCK_REALTIME ns), None if it has none."""
        self._watch = AgentWatch(self, hello, liveness)
        self._devices: dict[str, dict[str, Any]] = hello["devices"]
        self._subscribers = [
            session.declare_subscriber(frames_selector(rig.name, host), self._on_frame),
            *(session.declare_subscriber(channel_selector(rig.name, channel, host), partial(self._on_message, kind))
              for channel, kind in _CHANNEL_KINDS.items()),
            session.declare_subscriber(channel_selector(rig.name, Channel.LINUXPTP, host), self._on_linuxptp)]
        if not self._got_heartbeat.wait(timeout_s):
            raise AgentRefusedError(f"the agent of host {host} answered but sent no heartbeat within {timeout_s:g} s")

    # --- the network ----------------------------------------------------------------------------

    def checked_hello(self, within_s: float) -> dict[str, Any]:
        """The agent's hello (asked until ``within_s``), refused unless it runs the capture's rig file and plan."""
        hello = self._hello(within_s)
        want = {"rig_hash": rig_hash(self.rig), "plan_hash": plan_hash(self.plan)}
        for field, what in (("rig_hash", f"rig file {self.rig.path}"), ("plan_hash", "plan")):
            if hello.get(field) != want[field]:
                raise AgentRefusedError(f"the agent of host {self.host} runs another {what}: its {field} is "
                                        f"{hello.get(field)}, this capture's {want[field]} (run both from the same "
                                        "rig file and rigsync version)")
        return hello

    def _hello(self, within_s: float) -> dict[str, Any]:
        """The agent's hello, asked again until ``within_s`` (a link just opened may not carry its queryable yet)."""
        deadline = time.monotonic() + within_s
        while True:
            try:
                return self.query(Verb.HELLO, timeout_s=min(0.5, within_s))
            except AgentRefusedError:
                if time.monotonic() >= deadline:
                    raise

    def query(self, verb: Verb, body: dict[str, Any] | None = None, serial: str | None = None, *,
              timeout_s: float | None = None) -> dict[str, Any]:
        """Ask the agent; its reply's body, or :class:`DriverError` with the agent's error text (at once, naming
        the host, while the agent is silent)."""
        if verb is not Verb.HELLO and self.silent:
            raise DriverError(self.name, serial, f"host {self.host}'s agent is silent (no heartbeat for "
                              f"{self._watch.liveness.silent_for_s(time.monotonic_ns()):.1f} s): {verb} not sent")
        request = Request(verb, next(self._ids), body or {})
        timeout_s = timeout_s or self._timeout_s
        sent_s = time.monotonic()
        handler = control_get(self._session, control_key(self.rig.name, self.host, verb), wire.encode(request),
                              timeout_s)
        replies: Iterable[Any] = handler
        if verb is Verb.CHECK:  # a long query: given up at once if the agent falls silent meanwhile
            replies = replies_watched(handler, partial(self._still_heard, verb, serial))
        for answer in replies:
            if answer.ok is None:
                continue
            try:
                reply = wire.decode(answer.ok.payload.to_bytes())
            except wire.WireError as err:
                raise DriverError(self.name, serial, f"host {self.host}'s {verb} reply: {err}") from None
            if not isinstance(reply, Reply) or reply.request_id != request.request_id:
                continue
            if not reply.ok:
                raise DriverError(self.name, serial, reply.error)
            return reply.body
        if verb is Verb.HELLO:
            raise AgentRefusedError(f"no agent of host {self.host} answered within {self._timeout_s:g} s on "
                               f"{control_key(self.rig.name, self.host, verb)} (is `rigsync agent --host "
                               f"{self.host}` running and connected?)")
        waited_s = time.monotonic() - sent_s
        if waited_s < 0.9 * timeout_s:  # Zenoh ends a query at once when no queryable is left to answer it
            raise DriverError(self.name, serial, f"host {self.host}'s agent did not answer {verb}: it is gone (the "
                              f"query ended after {waited_s:.1f} s with no reply: the agent stopped, or its link "
                              "closed)")
        raise DriverError(self.name, serial, f"host {self.host}'s agent did not answer {verb} within {timeout_s:g} s")

    def _still_heard(self, verb: Verb, serial: str | None) -> None:
        """:class:`DriverError` naming the host if its agent has fallen silent while a query waits for it."""
        if self.silent:
            raise DriverError(self.name, serial, f"host {self.host}'s agent fell silent (no heartbeat for "
                              f"{self._watch.liveness.silent_for_s(time.monotonic_ns()):.1f} s) while answering "
                              f"{verb}: is it still running, and its link up?")

    def check_host(self, seconds: float) -> list[Finding]:
        """The host's set-up against the plan, as its agent reads it on its own machine (the ``check`` query,
        :mod:`rigsync.hostcheck`), for a take of ``seconds``; :class:`DriverError` naming the host when the agent
        is silent, does not answer within :data:`CHECK_TIMEOUT_S`, or replies something that is not findings."""
        body = self.query(Verb.CHECK, {"seconds": seconds}, timeout_s=CHECK_TIMEOUT_S)
        try:
            findings = [Finding.from_json(f) for f in body["findings"]]
        except (KeyError, TypeError, ValueError) as err:
            raise DriverError(self.name, None, f"host {self.host}'s check reply is not findings: {err}") from None
        strays = sorted({f.host for f in findings} - {self.host})
        if strays:
            raise DriverError(self.name, None, f"host {self.host}'s check reply has findings of host(s) "
                              f"{', '.join(strays)}")
        return findings

    def _decode(self, sample: Sample) -> Any:
        try:
            return wire.decode(sample.payload.to_bytes())
        except wire.WireError:
            with self._lock:
                self.malformed += 1
            return None

    def _on_frame(self, sample: Sample) -> None:
        msg = self._decode(sample)
        if msg is None:
            return
        stream = self._keys.find_stream(str(sample.key_expr))
        if (not isinstance(msg, FrameMessage) or stream is None or stream.device != msg.frame.device
                or stream.stream != msg.frame.stream):
            with self._lock:
                self.malformed += 1
            return
        frame = msg.frame
        with self._lock:
            self._last_rx_ns = time.monotonic_ns()
            if (frame.device, frame.stream) in self._flag_next:
                self._flag_next.discard((frame.device, frame.stream))
                frame = dataclasses.replace(frame, flags=frame.flags | FrameFlags.AFTER_RECONNECT)
            self._truth[frame.device].extend(self._held.release(frame.device, frame.stream, frame.seq))
            self._items[frame.device].append(frame)
            self._link.frame(len(sample.payload), self._last_rx_ns)

    def _on_message(self, kind: type, sample: Sample) -> None:
        """A message on one of the host's channels: of the channel's kind, or counted in ``malformed``."""
        msg = self._decode(sample)
        with self._lock:
            if msg is not None and not isinstance(msg, kind):  # well-formed, but on another channel's key
                self.malformed += 1
                return
            if isinstance(msg, DeviceEvent) and msg.device in self._items:
                if msg.kind is EventKind.OVERRUN and msg.stream is not None and msg.seq is not None:
                    self._truth[msg.device].extend(self._held.release(msg.device, msg.stream, msg.seq + msg.count - 1))
                elif msg.kind is not EventKind.OVERRUN:
                    self._truth[msg.device].extend(self._held.restarted(msg.device))
                self._items[msg.device].append(msg)
            elif isinstance(msg, PtpSample) and msg.host == self.host:
                self._ptp.append(msg)
            elif isinstance(msg, FrameTruth) and msg.device in self._truth:
                if msg.delivered:
                    self._truth[msg.device].extend(self._held.hold(msg))  # (held until its frame comes)
                else:
                    self._truth[msg.device].append(msg)
            elif isinstance(msg, Heartbeat) and msg.host == self.host:
                now_ns = self._last_rx_ns = time.monotonic_ns()
                self._heartbeat = (msg, now_ns)
                self._link.heartbeat(msg, now_ns)
                self._watch.liveness.heartbeat(msg.seq, now_ns)
                self._got_heartbeat.set()
            elif msg is not None:
                self.malformed += 1

    def _on_linuxptp(self, sample: Sample) -> None:
        msg = self._decode(sample)
        with self._lock:
            if isinstance(msg, PtpSample) and msg.host == self.host:
                self._linuxptp.append(msg)
            elif msg is not None:
                self.malformed += 1

    def link_status(self) -> HostLink:
        """The link to this host now (:mod:`rigsync.net.link`)."""
        with self._lock:
            return self._link.status(time.monotonic_ns(), self.malformed)

    def take(self, device_id: str) -> list[Frame | DeviceEvent]:
        """What arrived of a device since the last call; its truth (which the agent sends before each frame) goes
        to the truth sink first, on this thread, and the host's observed linuxptp readings to the records sink.
        First, the agent's liveness: a silence or a return is handled here, on the capture's thread
        (:meth:`watch`)."""
        self.watch()
        with self._lock:
            items = list(self._items[device_id])
            self._items[device_id].clear()
            truth = list(self._truth[device_id])
            self._truth[device_id].clear()
            observed = list(self._linuxptp)
            self._linuxptp.clear()
        if self._truth_sink is not None:
            for t in truth:
                self._truth_sink(t)
        if self._records_sink is not None:
            for reading in observed:
                self._records_sink(*linuxptp_record(reading))
        return items

    # --- liveness (rigsync.net.rejoin) -----------------------------------------------------------

    @property
    def silent(self) -> bool:
        """Whether the agent has sent no heartbeat for longer than the timeout."""
        return self._watch.liveness.silent or self._watch.liveness.overdue(time.monotonic_ns())

    @property
    def away(self) -> bool:
        """Whether its devices are reported disconnected (silent, or back but not rejoined yet)."""
        return self._watch.away

    @property
    def rejoin_error(self) -> str | None:
        """Why the agent back after a silence or a restart could not rejoin yet (its devices stay disconnected; it
        is tried again every second), None if it did."""
        return self._watch.rejoin_error

    def watch(self) -> None:
        """Report a silence, a return or a restart of the agent as its devices' events (:mod:`rigsync.net.rejoin`)."""
        now_ns = time.monotonic_ns()
        with self._lock:
            change = self._watch.liveness.check(now_ns)
        self._watch.watch(change, now_ns)

    def host_mono_ns(self, last_heard: bool) -> int:
        assert self._heartbeat is not None
        beat, rx_mono_ns = self._heartbeat
        return beat.monotonic_ns + (self._last_rx_ns if last_heard else time.monotonic_ns()) - rx_mono_ns

    def post(self, kind: EventKind, host_ns: int, reason: str) -> None:
        with self._lock:
            if kind is EventKind.DISCONNECTED:
                for t in self._held.orphans():
                    self._truth[t.device].append(t)
            for device_id, items in self._items.items():
                items.append(DeviceEvent(device_id, kind, host_ns, reason=reason))
                if kind is EventKind.RECONNECTED:
                    self._flag_next.update((device_id, s.name) for s in self.rig.device(device_id).streams)

    def restart_devices(self) -> None:
        for device in self._opened.values():
            device.configure(None)  # type: ignore[arg-type]  # (the agent configures from its own plan)
        if self.on_restart is not None:
            self.on_restart(self)
        else:
            for device_id in self._started:
                self.query(Verb.START, {"device": device_id}, self._opened[device_id].info.serial)

    def take_ptp(self) -> list[PtpSample]:
        with self._lock:
            samples = list(self._ptp)
            self._ptp.clear()
        return samples

    # --- the driver -----------------------------------------------------------------------------

    def discover(self) -> list[DeviceInfo]:
        return [DeviceInfo(**d["info"]) for d in self._devices.values()]

    def open(self, serial: str) -> RemoteDevice:
        for device_id, d in self._devices.items():
            if d["info"]["serial"] == serial:
                device = self._opened[device_id] = RemoteDevice(self, device_id, d)
                return device
        raise DriverError(self.name, serial, f"host {self.host}'s agent has no device with this serial",
                          ", ".join(d["info"]["serial"] for d in self._devices.values()) or "it has none")

    def clock(self) -> CaptureClock:
        return SystemClock()

    def host_clocks(self, host: str) -> tuple[int, int]:
        if host != self.host or self._heartbeat is None:
            raise DriverError(self.name, None, f"host {host!r}'s clocks are not this agent's ({self.host})")
        beat, rx_mono_ns = self._heartbeat
        since_ns = time.monotonic_ns() - rx_mono_ns
        return beat.realtime_ns + since_ns, beat.monotonic_ns + since_ns

    def ptp_source(self, host: str) -> PtpSource | None:
        if host != self.host:
            raise DriverError(self.name, None, f"host {host!r}'s PTP is not this agent's ({self.host})")
        return _RemotePtp(self)

    def send_truth_to(self, sink: Callable[[FrameTruth], None]) -> bool:
        """The agent's simulated truth (``@truth``), handed to ``sink`` as its device is polled; False if the
        agent runs no simulated device (it then sends none)."""
        self._truth_sink = sink
        return any(d["info"]["driver"] == "sim" for d in self._devices.values())

    def send_records_to(self, sink: Callable[[str, dict[str, Any]], None]) -> None:
        """The host's real linuxptp readings that stamp nothing (``@linuxptp``), as its devices are polled."""
        self._records_sink = sink


class _RemotePtp:
    def __init__(self, driver: RemoteDriver) -> None:
        self._driver = driver

    def poll(self) -> list[PtpSample]:
        return self._driver.take_ptp()


class RemoteDevice(Device):
    """A device on another host: control calls are queries to its agent, :meth:`poll` what was received."""

    def __init__(self, driver: RemoteDriver, device_id: str, hello: dict[str, Any]) -> None:
        self._driver = driver
        self.device_id = device_id
        self.info = DeviceInfo(**hello["info"])
        t = hello["timing"]
        self._timing = DeviceTiming(**{**t, "domain": ClockDomain(t["domain"])})
        self._intrinsics: dict[str, Intrinsics] = {}
        self._readback: dict[str, str] = {}

    def _query(self, verb: Verb, **body: Any) -> dict[str, Any]:
        return self._driver.query(verb, {"device": self.device_id, **body}, self.info.serial)

    def configure(self, config: DeviceConfig) -> None:
        """The agent configures the device from its own plan (the same, by the hello's plan hash)."""
        reply = self._query(Verb.CONFIGURE)
        self._intrinsics = {name: Intrinsics(**{**i, "distortion": tuple(i["distortion"])})
                            for name, i in reply["intrinsics"].items()}
        self._readback = dict(reply["readback"])

    def readback(self) -> dict[str, str]:
        return self._readback

    def arm(self, start_rig_ns: int) -> int | None:
        first = self._query(Verb.ARM, start_rig_ns=start_rig_ns)["first_rig_ns"]
        return None if first is None else int(first)

    def start(self, at_ns: int | None = None) -> None:
        self._query(Verb.START, **({} if at_ns is None else {"at_ns": at_ns}))
        self._driver._started.add(self.device_id)

    def stop(self, at_ns: int | None = None) -> None:
        self._driver._started.discard(self.device_id)
        self._query(Verb.STOP, **({} if at_ns is None else {"at_ns": at_ns}))

    def poll(self) -> list[Frame | DeviceEvent]:
        return self._driver.take(self.device_id)

    def intrinsics(self, stream: str) -> Intrinsics:
        try:
            return self._intrinsics[stream]
        except KeyError:
            raise DriverError(self._driver.name, self.info.serial, f"no configured stream {stream!r}") from None

    def timing(self) -> DeviceTiming:
        return self._timing

    def close(self) -> None:
        """Nothing to release here: the agent owns the device."""
