"""A host's agent: opens that host's devices with the existing drivers, answers the capture's control queries and
publishes what the devices deliver over Zenoh (keys: :mod:`rigsync.net.keys`, bytes: :mod:`rigsync.net.wire`).

Control queryables on ``rigsync/<rig>/<host>/@control/<verb>``, each request a :class:`~rigsync.net.messages.Request`
answered by one :class:`~rigsync.net.messages.Reply` (``ok``, or the error text):

- ``hello``: agent version, rig hash (sha256 of the rig file's bytes), plan hash, host, the simulator's shared
  timeline origin (``origin_realtime_ns``, None if not on one), ``instance`` (this run's random id), and its
  devices (their :class:`~rigsync.drivers.base.DeviceInfo` and :class:`~rigsync.drivers.base.DeviceTiming`);
- ``configure`` ``{device}``: the device's configuration from the plan (the capture's own
  :func:`~rigsync.capture.streams.device_config`); replies with its streams' intrinsics and its readback;
- ``arm`` ``{device, start_rig_ns}``: replies ``{first_rig_ns}`` (None: cannot schedule); a simulator agent also
  arms another host's device, in its world (as ``start``/``stop`` with ``at_ns`` below);
- ``start`` / ``stop`` ``{device, at_ns?}``: with ``at_ns``, a simulator agent starts or stops the device at that
  true time of the shared timeline - any device of the rig, its own or another host's, since every process's world
  must know every start to stay the one world (a hardware trigger on host a drives a camera on host b). Another
  host's device at a past instant is learned as of then (a restarted agent told what happened before it);
- ``check`` ``{seconds}``: this host's set-up against the plan's, read on this machine
  (:func:`rigsync.hostcheck.run.check_host` with a :class:`~rigsync.hostcheck.probe.LocalProbe`; the disk measured
  is the spill folder's, for a take of ``seconds``); replies ``{findings}``, each a
  :meth:`~rigsync.hostcheck.finding.Finding.to_json`. It touches no device, so it is answered outside the device
  lock, from a thread of its own (a command it runs may take seconds).

A poll thread reads the devices every ``poll_s`` and queues each frame for its frame key, events for ``@events``,
PTP samples for ``@ptp`` (the host's linuxptp readings, when they are its PTP: see
:mod:`rigsync.net.linuxptp`) into a send queue bounded in bytes, drained into Zenoh by a sender thread with
backpressure (:mod:`rigsync.net.sender`); a frame the queue cannot take goes to the agent's local spill file,
and once the queue stays full (or always, with ``local_copy``) everything goes to the spill file as well
(:mod:`rigsync.net.spill`; both through :mod:`rigsync.net.output`). A heartbeat goes out every ``heartbeat_s``
(never queued behind the frames) with the host's (realtime, monotonic) clocks read together, the queue's depth and
bytes, and the frames sent, spilled and dropped. With simulated devices, the host's real linuxptp readings (if
given) are observed only, on ``@linuxptp``. An agent whose world is simulated also publishes the truth of
its own host's frames on ``@truth`` (a :class:`~rigsync.core.truth.FrameTruth` each, as its world finalizes the
frame: a delivered frame's truth goes out before the frame, on the same session). Device calls from the control
queries and from the poll thread hold one lock; the poll thread queues, stamps and spills what it collected after
releasing it, so a control query never waits for the network or the disk.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from rigsync import __version__
from rigsync.capture.streams import device_config
from rigsync.core.errors import RigsyncError
from rigsync.core.ptp import PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import Device, Driver, PtpSource
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.sim.driver import SimDriver
from rigsync.hostcheck.probe import LocalProbe
from rigsync.hostcheck.run import check_host
from rigsync.net import wire
from rigsync.net.keys import Channel, RigKeys, Verb, channel_key, control_selector, parse_key
from rigsync.net.messages import Heartbeat, Reply, Request
from rigsync.net.output import AgentOutput, Item
from rigsync.net.sender import Sender, SendQueue, SendQueueConfig
from rigsync.net.spill import HostStamper, SpillFile
from rigsync.net.zenoh_session import (
    Query,
    SessionOptions,
    declare_blocking_publisher,
    declare_status_publisher,
    open_session,
)
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
                 origin_realtime_ns: int | None = None, linuxptp: PtpSource | None = None, poll_s: float = 0.005,
                 heartbeat_s: float = 0.2,
                 send_queue: SendQueueConfig | None = None, spill_dir: Path | None = None,
                 local_copy: bool = False, log: Callable[[str], None] | None = None) -> None:
        """``spill_dir``: where the spill file is made when needed (None: no spill file; a frame the send queue
        cannot take is then dropped, counted and named through ``log``, which defaults to stderr).
        ``linuxptp``: the host's linuxptp readings (``--ptp-state``: the state file of ``rigsync ptp run``): the
        host's PTP source for real devices; published on ``@linuxptp``, observed only, when the devices are
        simulated (the simulator models the host's PTP that stamps them)."""
        rig.host(host)  # an unknown host is an error naming the rig's hosts
        self.rig, self.plan, self.host = rig, plan, host
        self.session_options = session_options
        self.origin_realtime_ns = origin_realtime_ns
        self.poll_s, self.heartbeat_s = poll_s, heartbeat_s
        self.keys = rig_keys(rig)
        self.rig_hash, self.plan_hash = rig_hash(rig), plan_hash(plan)
        self.spill_dir = spill_dir
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._outbox: list[Item] = []
        self._spill: SpillFile | None = None
        self.output = AgentOutput(rig.name, host, self.keys, SendQueue(send_queue or SendQueueConfig()),
                                  local_copy=local_copy, log=self._log)
        """The send queue, spill file and counters (:class:`~rigsync.net.output.AgentOutput`)."""
        self.instance = uuid.uuid4().hex
        """This run of the agent (in its hello): a capture tells a restarted agent from one that was cut off."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stack = ExitStack()
        self._drivers: dict[str, Driver] = {}
        self._devices: dict[str, Device] = {}
        self._thread: threading.Thread | None = None
        self._publishers: dict[str, Any] = {}
        self._linuxptp = linuxptp
        self._ptp: PtpSource | None = None
        self._linuxptp_observed = False
        """True when a simulator models the host's PTP (it stamps): linuxptp is then observed only."""

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
        self._linuxptp_observed = self._ptp is not None and self._linuxptp is not None
        if self.spill_dir is not None:
            stamper = HostStamper(self.plan, self.host)
            for device_id, device in self._devices.items():
                stamper.add_device(device_id, device.timing())
            self._spill = self._stack.enter_context(SpillFile(
                self.plan, self.host, self.spill_dir, time.time_ns(),
                lambda device, stream: self._devices[device].intrinsics(stream), log=self._log))
            self.output.spill, self.output.stamper = self._spill, stamper
        session = self._stack.enter_context(open_session(self.session_options))
        for spec in own:
            for s in spec.streams:
                key = self.keys.frame_key(spec.id, s.name)
                self._publishers[key] = declare_blocking_publisher(session, key)
        sim = self._drivers.get("sim")
        channels = [Channel.EVENTS, Channel.PTP, *([Channel.TRUTH] if sim is not None else [])]
        for channel in channels:
            key = channel_key(self.rig.name, self.host, channel)
            self._publishers[key] = declare_blocking_publisher(session, key)
        for channel in (Channel.HEARTBEAT, *([Channel.LINUXPTP] if self._linuxptp_observed else [])):
            key = channel_key(self.rig.name, self.host, channel)
            self._publishers[key] = declare_status_publisher(session, key)  # never queued behind frames
        self._stack.callback(self.output.spill_unsent)  # after the sender's exit
        self._stack.enter_context(Sender(self.output.queue, self._put, name=f"rigsync-send-{self.host}"))
        if sim is not None:
            sim.send_truth_to(self._outbox_append)
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

    @property
    def spill_path(self) -> Path | None:
        """The spill file, if one was made."""
        return self._spill.path if self._spill is not None and self._spill.made else None

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
            if request.verb is Verb.CHECK:  # the host, not the devices: answered from a thread of its own, so
                seconds = _check_seconds(request.body)  # Zenoh's callback thread is not held for the check's
                threading.Thread(target=self._answer_check, args=(query, request_id, seconds),  # commands
                                 name=f"rigsync-check-{self.host}", daemon=True).start()
                return
            with self._lock:
                body = self._handle(request)
            reply = Reply(verb, request_id, True, body=body)
        except (RigsyncError, ValueError, KeyError, TypeError) as err:
            reply = Reply(verb, request_id, False, error=f"agent {self.host}: {err}")
        query.reply(query.key_expr, wire.encode(reply))

    def _answer_check(self, query: Query, request_id: int, seconds: float) -> None:
        """Reply to a check query with this host's findings (:func:`rigsync.hostcheck.run.check_host` on this
        machine; the disk measured is the spill folder's, where this host writes), or the error saying why not."""
        try:
            findings = check_host(self.plan, self.host, LocalProbe(), out_dir=str(self.spill_dir or "."),
                                  seconds=seconds)
            reply = Reply(Verb.CHECK, request_id, True, body={"findings": [f.to_json() for f in findings]})
        except Exception as err:  # (a thread's end: any error is the reply, or the capture waits for nothing)
            reply = Reply(Verb.CHECK, request_id, False, error=f"agent {self.host}: check: {type(err).__name__}: {err}")
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
            start_rig_ns = int(body["start_rig_ns"])
            if device_id in self._devices or not isinstance(self._drivers.get("sim"), SimDriver):
                return {"first_rig_ns": self._device(device_id).arm(start_rig_ns)}
            return {"first_rig_ns": self._sim_world(device_id).arm(device_id, start_rig_ns)}  # another host's
        at_ns = body.get("at_ns")
        if at_ns is not None:
            world = self._sim_world(device_id)
            if self.rig.device(device_id).host != self.host:  # (a past one: learned, see SimWorld.learn)
                world.learn(device_id, request.verb is Verb.START, int(at_ns))
            else:  # its own device: a control that comes after its instant (a loaded machine) applies now, late
                late_ns = max(world.now_ns - int(at_ns), 0)
                control = world.start_device if request.verb is Verb.START else world.stop_device
                control(device_id, at_ns=int(at_ns) if late_ns == 0 else None)
                return {"late_ns": late_ns}
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
        clocks_read: tuple[tuple[int, int], int] | None = None  # (the host's clocks, CLOCK_MONOTONIC when read)
        while not self._stop.is_set():
            # device calls only: control queries wait for these, never for the network or disk
            if self._lock.acquire(timeout=self.heartbeat_s):
                try:
                    self._collect()
                    batch, self._outbox = self._outbox, []
                    clocks = self._host_clocks()
                finally:
                    self._lock.release()
                clocks_read = (clocks, time.monotonic_ns())
            elif clocks_read is not None:  # a control query holds the devices (a simulated view being rendered
                (realtime_ns, monotonic_ns), read_ns = clocks_read  # for seconds): the heartbeats go on, the
                since_ns = time.monotonic_ns() - read_ns  # clocks moved on from their last reading
                batch, clocks = [], (realtime_ns + since_ns, monotonic_ns + since_ns)
            else:
                continue
            heartbeat_due = time.monotonic() >= next_heartbeat
            self.output.publish([*batch, *(self._poll_linuxptp() if heartbeat_due else [])], clocks)
            if heartbeat_due:
                next_heartbeat += self.heartbeat_s
                self._publish_heartbeat(seq, clocks)
                seq += 1
            self._stop.wait(self.poll_s)

    def _host_clocks(self) -> tuple[int, int]:
        driver = self._clock_driver()
        return driver.host_clocks(self.host) if driver is not None else (time.time_ns(), time.monotonic_ns())

    def _collect(self) -> None:
        """What the devices and the host's PTP have delivered, in order, into the outbox (truth records, which the
        simulated world hands over while it runs - in a poll or a control query - are put there as they come)."""
        if self._ptp is not None:
            self._outbox.extend(self._ptp.poll())
        for device in self._devices.values():
            self._outbox.extend(device.poll())

    def _put(self, key: str, payload: bytes) -> None:
        self._publishers[key].put(payload)

    def _outbox_append(self, truth: FrameTruth) -> None:
        self._outbox.append(truth)  # (called with the device lock held, from a poll or a control query)

    def _poll_linuxptp(self) -> list[PtpSample]:
        """The host's linuxptp readings (read with the heartbeat: ``rigsync ptp run`` rewrites its state file at
        most a few times a second): its PTP samples, sent and spilled as the devices' items, when no simulator
        models the host's PTP; else published on ``@linuxptp`` at once, observed only."""
        if self._linuxptp is None:
            return []
        samples = self._linuxptp.poll()
        if not self._linuxptp_observed:
            return samples
        key = channel_key(self.rig.name, self.host, Channel.LINUXPTP)
        for sample in samples:
            self._put(key, wire.encode(sample))
        return []

    def _publish_heartbeat(self, seq: int, clocks: tuple[int, int]) -> None:
        realtime_ns, monotonic_ns = clocks
        out = self.output
        self._put(channel_key(self.rig.name, self.host, Channel.HEARTBEAT), wire.encode(Heartbeat(
            AGENT_VERSION, self.rig_hash, self.plan_hash, self.host, seq, realtime_ns, monotonic_ns,
            queue_depth=out.queue.depth, queue_bytes=out.queue.nbytes, frames_sent=out.frames_sent,
            frames_spilled=out.frames_spilled, frames_dropped=out.frames_dropped)))


def _check_seconds(body: dict[str, Any]) -> float:
    """A check query's planned take length (``seconds``, > 0: the disk check's need)."""
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < float("inf"):
        raise AgentError(f"check: seconds = {seconds!r}: must be a number of seconds above 0 (the planned take's "
                         "length)")
    return float(seconds)


def _timing_json(device: Device) -> dict[str, Any]:
    t = device.timing()
    return {**asdict(t), "domain": t.domain.value}
