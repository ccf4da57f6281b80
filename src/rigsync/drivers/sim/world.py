"""The simulated rig: a discrete-event model of every camera, trigger, link and fault of a rig.

Events are processed in true-time order: exposure starts (from each stream's schedule), exposure ends
(where a frame's fate is decided: link drops, controller overload, faults, ToF laser interference),
deliveries to the host (after readout and a heavy-tailed link delay), and fault transitions (disconnect,
reconnect with a restarted clock). Delivered frames wait in a per-device queue, as in a vendor SDK, until
the driver polls them; images are rendered then. The ground truth of every exposure goes to
``truth_sink`` and nowhere else.

Deterministic for a seed: every device draws from its own random generator in its own event order, every host
from its own, so a device's truth depends neither on when its frames are read nor on which devices are read.

Across processes (one per host, each an agent): every process builds the same world from the same rig and seed
and simulates every device's events (cheap: timing only), so that what couples hosts (trigger sources, the PTP
reference and host clocks, laser interference, the scene) is identical everywhere; ``hosts`` restricts what it
*emits*: truth, delivered frames (rendered when read: the expensive part), device events and PTP samples of its
own hosts' devices only. Starts and stops made by another process are applied at the true instant they were
made (``start_device(..., at_ns=...)``), so every process follows one timeline.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from rigsync.core.errors import RigsyncError
from rigsync.core.frame import Frame, StreamKind
from rigsync.core.geometry import views_overlap
from rigsync.core.ptp import HostRole, PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.drivers.sim._model import (
    HOST_COMPUTE_NS,
    SIM_EPOCH_NS,
    STARTUP_NS,
    DeviceSim,
    Pending,
    StreamSim,
    build_device,
    overloads,
)
from rigsync.drivers.sim._world_events import SDK_QUEUE_FRAMES, WorldEvents
from rigsync.drivers.sim.board_motion import board_motion
from rigsync.drivers.sim.exposure import LightModel
from rigsync.drivers.sim.hosts import Reference, SimHost, host_clock_spec
from rigsync.drivers.sim.interference import LaserRegistry
from rigsync.drivers.sim.ledclock_scene import LEDCLOCK_TRUTH_TOPIC, LedClock, charuco_bottom_z_m
from rigsync.drivers.sim.received import ReceivedFrames
from rigsync.drivers.sim.scene import Scene, SceneConfig
from rigsync.drivers.sim.schedule import Schedules
from rigsync.drivers.sim.sources import GroupTriggers
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec
from rigsync.spec.sync import FaultKind, FaultSpec

ARM_LEAD_NS = 10_000_000
"""A PTP camera must be armed this long before its scheduled start (the command's round trip)."""

_GEN, _FAULT, _FINAL, _DELIVER, _CONTROL = range(5)


class SimWorld(WorldEvents):
    """Every simulated device of one rig, on one true timeline."""

    def __init__(self, rig: RigSpec, plan: Plan, *, seed: int | None = None,
                 hosts: Collection[str] | None = None) -> None:
        """``hosts``: the hosts whose devices this world emits (every host if None)."""
        names = [h.host for h in plan.hosts]
        unknown = sorted(set(hosts or ()) - set(names))
        if unknown:
            raise RigsyncError(f"{rig.path}: no host {', '.join(map(repr, unknown))} in the rig "
                               f"(its hosts: {', '.join(names)})")
        self.emitted_hosts = frozenset(names if hosts is None else hosts)
        self.rig = rig
        self.plan = plan
        self.seed = rig.sim.seed if seed is None else seed
        rng = np.random.default_rng([self.seed, 0xC0C0])
        config = SceneConfig(seed=self.seed, board_motion=board_motion(rig.sim.board, self.seed))
        ledclock = None
        if rig.sim.ledclock is not None:
            bottom = charuco_bottom_z_m(config.board_center_z_m, config.board_squares[1], config.board_square_m,
                                        config.board_margin_m)
            ledclock = LedClock.from_spec(rig.sim.ledclock, self.seed, bottom, SIM_EPOCH_NS)
        self.scene = Scene(config, ledclock)
        light = LightModel(phase=float(rng.uniform(0, 6.28)))
        self.reference = Reference()
        self.hosts: dict[str, SimHost] = {}
        for i, setup in enumerate(plan.hosts):
            spec = host_clock_spec(rig, plan, setup.host, SIM_EPOCH_NS)
            if spec.role is HostRole.REFERENCE:
                for at, delta in spec.clock_steps:
                    self.reference.step(at, delta)
            self.hosts[setup.host] = SimHost(spec, self.reference, SIM_EPOCH_NS,
                                             np.random.default_rng([self.seed, 0x4057, i]),
                                             reports=setup.host in self.emitted_hosts)
        loads = overloads(rig)
        self.devices: list[DeviceSim] = [
            build_device(rig, i, d, plan.device(d.id), loads[d.id], light, self.hosts[d.host], self.seed)
            for i, d in enumerate(rig.devices)
        ]
        self._by_id = {d.spec.id: d for d in self.devices}
        self.now_ns = SIM_EPOCH_NS
        self.truth_sink: Callable[[FrameTruth], None] | None = None
        self.record_sink: Callable[[str, dict[str, Any]], None] | None = None
        """Gets the LED clock's truth once (``/rigsync/sim/ledclock``), on the first poll of a device."""
        # Pending events, one heap per kind, ordered by (true time, insertion order).
        self._gen: list[tuple[int, int, StreamSim, int]] = []
        self._faults: list[tuple[int, int, DeviceSim, FaultKind, bool]] = []
        self._final: list[tuple[int, int, Pending]] = []
        self._deliveries: list[tuple[int, int, Pending]] = []
        self._controls: list[tuple[int, int, str, bool]] = []  # (true time, tie, device id, start)
        self._tie = itertools.count()
        self._lasers = LaserRegistry()
        self._overlap = views_overlap([d.pose for d in self.devices],
                                      [d.model.hfov_for(StreamKind.DEPTH) for d in self.devices])
        self._received = ReceivedFrames(self.scene, self.devices, rig.sim.flashes)
        self._overruns: dict[str, list[Pending]] = {}
        self._triggers = GroupTriggers(rig, plan, Schedules(rig, plan, self._by_id, self.seed, rng), self._by_id,
                                       self._schedule_next)
        for dev in self.devices:
            for kind, begin, end in dev.faults:
                self._schedule_fault(dev, kind, begin, end)

    # --- set-up ---------------------------------------------------------------------------------

    def _schedule_fault(self, dev: DeviceSim, kind: FaultKind, begin: int, end: int) -> None:
        heapq.heappush(self._faults, (begin, next(self._tie), dev, kind, True))
        heapq.heappush(self._faults, (end, next(self._tie), dev, kind, False))

    def inject(self, fault: FaultSpec) -> None:
        """Inject a fault while the simulation runs: the API twin of the rig file's ``[[faults]]``
        (``at_s`` counts from the start of the simulation; a time already past means now)."""
        begin = max(SIM_EPOCH_NS + round(fault.at_s * 1e9), self.now_ns)
        end = begin + round(fault.duration_s * 1e9)
        if fault.host is not None:
            host = self.hosts[fault.host]
            if fault.kind is FaultKind.CLOCK_STEP:
                step = (begin, round((fault.step_ms or 0.0) * 1e6))
                if host.spec.role is HostRole.REFERENCE:
                    self.reference.step(*step)
                host.inject(step=step)
            else:
                host.inject(loss=(begin, end))
            return
        assert fault.device is not None  # FaultSpec: a fault names a device or a host
        dev = self._by_id[fault.device]
        dev.faults.append((fault.kind, begin, end))
        self._schedule_fault(dev, fault.kind, begin, end)

    def _own_host(self, host: str) -> SimHost:
        if host not in self.emitted_hosts:
            raise RigsyncError(f"host {host!r} is simulated by another process (this one emits "
                               f"{', '.join(sorted(self.emitted_hosts))})")
        return self.hosts[host]

    def _own_device(self, device_id: str) -> DeviceSim:
        dev = self._by_id[device_id]
        self._own_host(dev.spec.host)
        return dev

    def ptp_samples(self, host: str) -> list[PtpSample]:
        """What pmc on ``host`` has reported up to now (each sample once)."""
        sim_host = self._own_host(host)
        sim_host.advance_to(self.now_ns)
        samples, sim_host.samples = sim_host.samples, []
        return samples

    def clocks_of(self, host: str) -> tuple[int, int]:
        """(system clock, monotonic clock) of ``host`` now."""
        sim_host = self._own_host(host)
        return sim_host.realtime_ns(self.now_ns), sim_host.mono_ns(self.now_ns)

    def device(self, device_id: str) -> DeviceSim:
        return self._by_id[device_id]

    # --- control --------------------------------------------------------------------------------

    def arm(self, device_id: str, start_ref_ns: int) -> int | None:
        """Arm a PTP camera to start exposing at reference time ``start_ref_ns`` (GigE Vision scheduled start).
        Every camera of a group shares one schedule; a camera armed too late for it joins at the next slot.
        Returns the reference time of its first exposure, or None if the device cannot schedule."""
        dev = self._by_id[device_id]
        offset_ns = self.reference.offset_ns(self.now_ns)
        first = self._triggers.arm_ptp(dev, start_ref_ns - offset_ns, self.now_ns + ARM_LEAD_NS)
        if first is None:
            return None
        dev.armed_ns = first
        return first + offset_ns

    def _control(self, device_id: str, start: bool, at_ns: int | None) -> bool:
        """Whether a start or stop applies now; one at a later true time waits on the timeline for it."""
        if at_ns is None or at_ns == self.now_ns:
            return True
        if at_ns < self.now_ns:
            raise ValueError(f"cannot {'start' if start else 'stop'} {device_id} at true time {at_ns} ns: "
                             f"the world has simulated up to {self.now_ns} ns")
        if device_id not in self._by_id:  # now, not when the instant comes
            raise KeyError(device_id)
        heapq.heappush(self._controls, (at_ns, next(self._tie), device_id, start))
        return False

    def start_device(self, device_id: str, *, at_ns: int | None = None) -> None:
        """Start streaming now, or at true time ``at_ns`` (not past: a start another process made, replayed on
        this one's timeline); first exposures after the sensor's start-up, or at the time a PTP camera was armed
        for."""
        if not self._control(device_id, True, at_ns):
            return
        dev = self._by_id[device_id]
        if dev.started:
            return
        dev.started = True
        dev.begin_ns = dev.armed_ns if dev.armed_ns is not None else self.now_ns + STARTUP_NS
        self._triggers.started(dev, self.now_ns)

    def learn(self, device_id: str, start: bool, at_ns: int) -> None:
        """A start or stop another process made at true time ``at_ns``, applied as of then even if this world has
        simulated past it (a restarted agent learning what happened before it): for a device this world does not
        emit, whose trigger pulses and laser couple to the emitted ones. Exact while no emitted device runs
        meanwhile (a restarted agent's devices start after it learned everything)."""
        dev = self._by_id[device_id]
        if self.emits(dev):
            raise RigsyncError(f"{device_id} is emitted by this world: its past cannot be changed")
        if at_ns >= self.now_ns:
            (self.start_device if start else self.stop_device)(device_id, at_ns=at_ns)
            return
        self.advance_to(at_ns)  # the learned past up to then (the world's time stays where it was)
        now, self.now_ns = self.now_ns, at_ns
        try:
            (self.start_device if start else self.stop_device)(device_id)
        finally:
            self.now_ns = now

    def stop_device(self, device_id: str, *, at_ns: int | None = None) -> None:
        """Stop streaming now, or at true time ``at_ns`` (as :meth:`start_device`)."""
        if not self._control(device_id, False, at_ns):
            return
        dev = self._by_id[device_id]
        dev.started = False
        dev.armed_ns = None
        for stream in dev.streams:
            stream.generation += 1
            stream.shots = None
        self._triggers.gone(dev, self.now_ns)

    # --- time -----------------------------------------------------------------------------------

    def _next_time(self) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        for kind, heap in ((_GEN, self._gen), (_FAULT, self._faults), (_FINAL, self._final),
                           (_DELIVER, self._deliveries), (_CONTROL, self._controls)):
            if heap and (best is None or heap[0][0] < best[0]):
                best = (heap[0][0], kind)
        return best

    def advance_to(self, t_true_ns: int) -> None:
        """Process every event up to ``t_true_ns``."""
        while True:
            nxt = self._next_time()
            if nxt is None or nxt[0] > t_true_ns:
                break
            self._step(nxt[1])
        self.now_ns = max(self.now_ns, t_true_ns)

    def next_delivery_ns(self, horizon_ns: int) -> int | None:
        """True time of the next delivery to a host (or of a start or stop scheduled before it), or ``horizon_ns``
        if none comes by then (ask again then); None if nothing more will happen. The events before it are
        processed (exposures, losses, faults), none after the horizon: a rig that delivers nothing for a long time
        (every device disconnected, a fault far ahead) costs no more than the time asked about."""
        while True:
            nxt = self._next_time()
            if nxt is None:
                return None
            if nxt[0] > horizon_ns:
                return horizon_ns
            if nxt[1] in (_DELIVER, _CONTROL):
                return nxt[0]
            self._step(nxt[1])

    def _step(self, kind: int) -> None:
        if kind == _GEN:
            t, _, stream, generation = heapq.heappop(self._gen)
            if generation == stream.generation:
                self._expose(stream, t)
        elif kind == _FAULT:
            t, _, dev, fault, begins = heapq.heappop(self._faults)
            self._fault(dev, fault, begins, t)
        elif kind == _FINAL:
            t, _, pending = heapq.heappop(self._final)
            self._finalize(pending, t)
        elif kind == _DELIVER:
            t, _, pending = heapq.heappop(self._deliveries)
            self._deliver(pending, t)
        else:
            t, _, device_id, start = heapq.heappop(self._controls)
            self.now_ns = max(self.now_ns, t)  # as if called at that instant
            (self.start_device if start else self.stop_device)(device_id)

    # --- host side ------------------------------------------------------------------------------

    def take(self, device_id: str) -> list[Frame | DeviceEvent]:
        """Everything delivered to a device's host queue, oldest first; frames are rendered now."""
        dev = self._own_device(device_id)
        if self.record_sink is not None and self.scene.ledclock is not None:
            self.record_sink(LEDCLOCK_TRUTH_TOPIC, self.scene.ledclock.truth())
            self.record_sink = None
        items: list[Frame | DeviceEvent] = []
        host_now = dev.host_clock.mono_ns(self.now_ns)
        for lost in self._overruns.pop(device_id, []):
            items.append(DeviceEvent(device_id, EventKind.OVERRUN, host_now, stream=lost.stream.spec.name, count=1,
                                     seq=lost.seq))
        for item in dev.ready:
            items.append(self._received.frame(item) if isinstance(item, Pending) else item)
        dev.ready.clear()
        return items

    def prepare(self, device_id: str) -> None:
        """Precompute a device's views (tens of ms each) before capturing, not on its first frame."""
        for stream in self._own_device(device_id).streams:
            self._received.renderer(stream)


__all__ = ["HOST_COMPUTE_NS", "SDK_QUEUE_FRAMES", "SIM_EPOCH_NS", "SimWorld"]
