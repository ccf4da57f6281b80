"""A host's agent: opens that host's devices with the existing drivers, answers the capture's control queries and
publishes what the devices deliver over Zenoh (keys: :mod:`rigsync.net.keys`, bytes: :mod:`rigsync.net.wire`).

Control queryables on ``rigsync/<rig>/<host>/@control/<verb>``, each request a :class:`~rigsync.net.messages.Request`
answered by one :class:`~rigsync.net.messages.Reply` (``ok``, or the error text):

- ``hello``: agent version, rig hash (sha256 of the rig file's bytes), plan hash, host, the simulator's shared
  timeline origin (``origin_realtime_ns``, None if not on one), ``instance`` (this run's random id), and its
  devices (their :class:`~rigsync.drivers.base.DeviceInfo` and :class:`~rigsync.drivers.base.DeviceTiming`);
- ``configure`` ``{device}``: the device's configuration from the plan (the capture's own
  :func:`~rigsync.capture.streams.device_config`); replies with its streams' intrinsics and its readback;
- ``arm`` ``{device, start_rig_ns}``: replies ``{first_rig_ns}`` (None: cannot schedule);
- ``start`` / ``stop`` ``{device, at_ns?}``: with ``at_ns``, a simulator agent starts or stops the device at that
  true time of the shared timeline - any device of the rig, its own or another host's, since every process's world
  must know every start to stay the one world (a hardware trigger on host a drives a camera on host b). Another
  host's device at a past instant is learned as of then (a restarted agent told what happened before it).

A poll thread reads the devices every ``poll_s`` and publishes each frame on its frame key, events on ``@events``,
PTP samples on ``@ptp``, and a heartbeat every ``heartbeat_s`` with the host's (realtime, monotonic) clocks read
together and the send counters. An agent whose world is simulated also publishes the truth of its own host's frames
on ``@truth`` (a :class:`~rigsync.core.truth.FrameTruth` each, as its world finalizes the frame: a delivered
frame's truth goes out before the frame, on the same session). Device calls from the control queries and from the
poll thread hold one lock.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from rigsync import __version__
from rigsync.capture.streams import device_config
from rigsync.core.errors import RigsyncError
from rigsync.core.frame import Frame
from rigsync.drivers.base import Device, DeviceEvent, Driver, PtpSource
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.sim.driver import SimDriver
from rigsync.net import wire
from rigsync.net.keys import Channel, RigKeys, Verb, channel_key, control_selector, parse_key
from rigsync.net.messages import FrameMessage, Heartbeat, Reply, Request
from rigsync.net.zenoh_session import Query, SessionOptions, open_session
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec

AGENT_VERSION = __version__


def rig_hash(rig: RigSpec) -> str:
    """sha256 of the rig file's bytes: agents and the capture must read the same file."""
    return hashlib.sha256(Path(rig.path).read_bytes()).hexdigest()


def plan_hash(plan: Plan) -> str:
    """sha256 of the plan's repr (frozen dataclasses of names and numbers: the same in every process that plans
    the same rig with the same rigsync)."""
    return hashlib.sha256(repr(plan).encode()).hexdigest()


def rig_keys(rig: RigSpec) -> RigKeys:
    return RigKeys.of(rig.name, ((d.host, d.id, s.name) for d in rig.devices for s in d.streams))


class AgentError(RigsyncError):
    """A control request the agent cannot carry out (its text is the reply's error)."""


class Agent:
    """One host's agent (a context manager: devices and the Zenoh session are closed on exit)."""

    def __init__(self, rig: RigSpec, plan: Plan, host: str, session_options: SessionOptions, *,
                 origin_realtime_ns: int | None = None, poll_s: float = 0.005, heartbeat_s: float = 0.2) -> None:
        rig.host(host)  # an unknown host is an error naming the rig's hosts
        self.rig, self.plan, self.host = rig, plan, host
        self.session_options = session_options
        self.origin_realtime_ns = origin_realtime_ns
        self.poll_s, self.heartbeat_s = poll_s, heartbeat_s
        self.keys = rig_keys(rig)
        self.rig_hash, self.plan_hash = rig_hash(rig), plan_hash(plan)
        self.instance = uuid.uuid4().hex
        """This run of the agent (in its hello): a capture tells a restarted agent from one that was cut off."""
        self.frames_sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stack = ExitStack()
        self._drivers: dict[str, Driver] = {}
        self._devices: dict[str, Device] = {}
        self._thread: threading.Thread | None = None
        self._publishers: dict[str, Any] = {}
        self._ptp: PtpSource | None = None

    def __enter__(self) -> Self:
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close()

    def _open(self) -> None:
        own = [d for d in self.rig.devices if d.host == self.host]
        self._drivers = open_drivers(self.rig, self.plan, hosts=[self.host],
                                     origin_realtime_ns=self.origin_realtime_ns)
        for spec in own:
            self._devices[spec.id] = self._stack.enter_context(self._drivers[spec.driver].open(spec.serial))
        driver = self._clock_driver()
        self._ptp = driver.ptp_source(self.host) if driver is not None else None
        session = self._stack.enter_context(open_session(self.session_options))
        for spec in own:
            for s in spec.streams:
                key = self.keys.frame_key(spec.id, s.name)
                self._publishers[key] = session.declare_publisher(key)
        sim = self._drivers.get("sim")
        channels = [Channel.EVENTS, Channel.PTP, Channel.HEARTBEAT, *([Channel.TRUTH] if sim is not None else [])]
        for channel in channels:
            key = channel_key(self.rig.name, self.host, channel)
            self._publishers[key] = session.declare_publisher(key)
        if sim is not None:
            truth_key = channel_key(self.rig.name, self.host, Channel.TRUTH)
            sim.send_truth_to(lambda truth: self._put(truth_key, wire.encode(truth)))
        session.declare_queryable(control_selector(self.rig.name, self.host), self._on_query)
        self._thread = threading.Thread(target=self._loop, name=f"rigsync-agent-{self.host}", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._stack.close()  # devices, then the session (in reverse)
            self._devices.clear()

    def _clock_driver(self) -> Driver | None:
        """The driver whose view of the host's clocks and PTP the agent reports (the simulator's, if it runs)."""
        sims = [d for d in self._drivers.values() if isinstance(d, SimDriver)]
        return sims[0] if sims else next(iter(self._drivers.values()), None)

    # --- control --------------------------------------------------------------------------------

    def _on_query(self, query: Query) -> None:
        verb = Verb.HELLO
        request_id = 0
        try:
            parsed = parse_key(str(query.key_expr))
            verb = getattr(parsed, "verb", Verb.HELLO)
            payload = query.payload
            request = wire.decode(payload.to_bytes() if payload is not None else b"")
            if not isinstance(request, Request) or request.verb is not verb:
                raise AgentError(f"not a {verb} request")
            request_id = request.request_id
            with self._lock:
                body = self._handle(request)
            reply = Reply(verb, request_id, True, body=body)
        except (RigsyncError, ValueError, KeyError, TypeError) as err:
            reply = Reply(verb, request_id, False, error=f"agent {self.host}: {err}")
        query.reply(query.key_expr, wire.encode(reply))

    def _handle(self, request: Request) -> dict[str, Any]:
        body = request.body
        if request.verb is Verb.HELLO:
            return {"agent_version": AGENT_VERSION, "rig_hash": self.rig_hash, "plan_hash": self.plan_hash,
                    "host": self.host, "origin_realtime_ns": self.origin_realtime_ns, "instance": self.instance,
                    "devices": {i: {"info": asdict(d.info), "timing": _timing_json(d)}
                                for i, d in self._devices.items()}}
        device_id = str(body.get("device"))
        if request.verb is Verb.CONFIGURE:
            device = self._device(device_id)
            device.configure(device_config(self.plan, self.rig.device(device_id)))
            return {"intrinsics": {s.name: asdict(device.intrinsics(s.name))
                                   for s in self.rig.device(device_id).streams},
                    "readback": device.readback()}
        if request.verb is Verb.ARM:
            return {"first_rig_ns": self._device(device_id).arm(int(body["start_rig_ns"]))}
        at_ns = body.get("at_ns")
        if at_ns is not None:
            world = self._sim_world(device_id)
            if self.rig.device(device_id).host != self.host:  # (a past one: learned, see SimWorld.learn)
                world.learn(device_id, request.verb is Verb.START, int(at_ns))
            elif request.verb is Verb.START:
                world.start_device(device_id, at_ns=int(at_ns))
            else:
                world.stop_device(device_id, at_ns=int(at_ns))
        elif request.verb is Verb.START:
            self._device(device_id).start()
        else:
            self._device(device_id).stop()
        return {}

    def _device(self, device_id: str) -> Device:
        try:
            return self._devices[device_id]
        except KeyError:
            raise AgentError(f"device {device_id!r} is not on host {self.host} "
                             f"(its devices: {', '.join(self._devices) or 'none'})") from None

    def _sim_world(self, device_id: str) -> Any:
        self.rig.device(device_id)  # a device of the rig (any host)
        sim = self._drivers.get("sim")
        if not isinstance(sim, SimDriver):
            raise AgentError("a start or stop at a true time (at_ns) is for the simulator's shared timeline, and "
                             "this host runs no simulated device")
        sim.world.advance_to(sim.clock().now_ns())
        return sim.world

    # --- publishing -----------------------------------------------------------------------------

    def _loop(self) -> None:
        next_heartbeat = time.monotonic()
        seq = 0
        while not self._stop.is_set():
            with self._lock:
                self._publish_devices()
                if time.monotonic() >= next_heartbeat:
                    next_heartbeat += self.heartbeat_s
                    self._publish_heartbeat(seq)
                    seq += 1
            self._stop.wait(self.poll_s)

    def _put(self, key: str, payload: bytes) -> None:
        self._publishers[key].put(payload)

    def _publish_devices(self) -> None:
        events_key = channel_key(self.rig.name, self.host, Channel.EVENTS)
        for device in self._devices.values():
            for item in device.poll():
                if isinstance(item, Frame):
                    self._put(self.keys.frame_key(item.device, item.stream), wire.encode(FrameMessage(item)))
                    self.frames_sent += 1
                elif isinstance(item, DeviceEvent):
                    self._put(events_key, wire.encode(item))
        if self._ptp is not None:
            for sample in self._ptp.poll():
                self._put(channel_key(self.rig.name, self.host, Channel.PTP), wire.encode(sample))

    def _publish_heartbeat(self, seq: int) -> None:
        driver = self._clock_driver()
        realtime_ns, monotonic_ns = driver.host_clocks(self.host) if driver is not None else (
            time.time_ns(), time.monotonic_ns())
        self._put(channel_key(self.rig.name, self.host, Channel.HEARTBEAT), wire.encode(Heartbeat(
            AGENT_VERSION, self.rig_hash, self.plan_hash, self.host, seq, realtime_ns, monotonic_ns, queue_depth=0,
            queue_bytes=0, frames_sent=self.frames_sent, frames_spilled=0, frames_dropped=0)))


def _timing_json(device: Device) -> dict[str, Any]:
    t = device.timing()
    return {**asdict(t), "domain": t.domain.value}
