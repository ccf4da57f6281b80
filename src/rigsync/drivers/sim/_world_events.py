"""What happens to each exposure of the simulated rig (:class:`~rigsync.drivers.sim.world.SimWorld`'s events): its
start scheduled, its end (where its fate is decided: link drops, controller overload, faults, ToF laser
interference), its delivery to the host's driver queue (overwriting the oldest when full), and a device's disconnect
and reconnect (a power cycle: its counter restarts); the truth of every exposure to ``truth_sink``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from rigsync.core.frame import FrameFlags, StreamKind, TimestampSemantics
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.drivers.sim._model import STARTUP_NS, DeviceSim, Pending, StreamSim, nominal_latency_ns
from rigsync.drivers.sim.clocks import CrystalClock, CrystalParams
from rigsync.drivers.sim.interference import LaserRegistry
from rigsync.drivers.sim.received import ReceivedFrames
from rigsync.drivers.sim.sources import GroupTriggers
from rigsync.spec.sync import FaultKind

SDK_QUEUE_FRAMES = 64
"""Frames a device's driver queue holds before the oldest is overwritten (rigsync too slow to read)."""


class WorldEvents:
    """The events half of :class:`~rigsync.drivers.sim.world.SimWorld` (a base class of it, which sets the state
    declared here)."""

    emitted_hosts: frozenset[str]
    truth_sink: Callable[[FrameTruth], None] | None
    _gen: list[tuple[int, int, StreamSim, int]]
    _final: list[tuple[int, int, Pending]]
    _deliveries: list[tuple[int, int, Pending]]
    _tie: Iterator[int]
    _lasers: LaserRegistry
    _overlap: list[list[bool]]
    _overruns: dict[str, list[Pending]]
    _received: ReceivedFrames
    _triggers: GroupTriggers

    def emits(self, dev: DeviceSim) -> bool:
        """Whether this world emits ``dev``'s truth, frames and events (its host is one of ``hosts``)."""
        return dev.spec.host in self.emitted_hosts

    def _schedule_next(self, stream: StreamSim) -> None:
        if stream.shots is None:
            return
        shot = next(stream.shots)
        stream.next_start = shot.start_ns
        stream.next_trigger = shot.trigger
        heapq.heappush(self._gen, (shot.start_ns, next(self._tie), stream, stream.generation))

    # --- events ---------------------------------------------------------------------------------

    def _expose(self, stream: StreamSim, start: int) -> None:
        group = stream.device.plan.group
        trigger = stream.next_trigger
        exposure = stream.exposure.next_ns(start)
        if stream.ae_shift:
            start += stream.exposure.nominal_ns - exposure
        label = f"{group}/{trigger}" if trigger is not None else None
        pending = Pending(stream, stream.seq, start, start + exposure, label)
        stream.seq += 1
        if stream.laser is not None and stream.spec.kind is StreamKind.DEPTH:
            self._lasers.add(stream.device.index, start, stream.laser)
        heapq.heappush(self._final, (pending.end_ns, next(self._tie), pending))
        self._schedule_next(stream)

    def _finalize(self, p: Pending, end: int) -> None:
        stream = p.stream
        dev = stream.device
        rng = dev.rng
        lost = "disconnected" if not dev.connected or end < dev.down_until else None
        for kind, begin, until in dev.faults:
            if kind is FaultKind.DROP_BURST and begin <= end < until:
                lost = lost or "dropped"
        if rng.random() < dev.spec.sim.drop_rate or rng.random() < dev.overload.drop_p:
            lost = lost or "dropped"
        if rng.random() < dev.overload.corrupt_p:
            p.flags |= FrameFlags.CORRUPT
        if stream.laser is not None and stream.spec.kind is StreamKind.DEPTH and self._lasers.interferes(
                dev.index, p.start_ns, stream.laser, self._overlap):
            p.flags |= FrameFlags.INTERFERED
        if lost:
            p.delivered = False
            p.lost = lost
            self._emit_truth(p)
            return
        exposure = p.end_ns - p.start_ns
        latency = nominal_latency_ns(stream, exposure) - exposure
        if stream.spec.kind not in dev.model.host_computed:
            latency += int(stream.link_bytes / dev.link.throughput_bytes_s * 1e9 * (dev.overload.slowdown - 1.0))
        rx = end + latency + dev.bias_ns + dev.link.excess_ns(rng)
        p.rx_true_ns = max(rx, stream.last_rx_true + 1)  # a stream's frames arrive in order
        stream.last_rx_true = p.rx_true_ns
        sem = stream.semantics
        instant = {TimestampSemantics.START_OF_EXPOSURE: p.start_ns,
                   TimestampSemantics.CENTER_OF_EXPOSURE: p.start_ns + exposure // 2,
                   TimestampSemantics.END_OF_EXPOSURE: p.end_ns}.get(sem, p.rx_true_ns)
        p.instant_device_ns = dev.crystal.device_ns(instant)
        heapq.heappush(self._deliveries, (p.rx_true_ns, next(self._tie), p))

    def _deliver(self, p: Pending, t: int) -> None:
        dev = p.stream.device
        if not dev.connected or t < dev.down_until:
            p.delivered = False
            p.lost = "disconnected"
        self._emit_truth(p)
        if not p.delivered or not self.emits(dev):
            return
        dev.last_rx_true = max(dev.last_rx_true, t)
        dev.ready.append(p)
        if len(dev.ready) > SDK_QUEUE_FRAMES:
            oldest = next((i for i, x in enumerate(dev.ready) if isinstance(x, Pending)), None)
            if oldest is not None:
                lost = dev.ready.pop(oldest)
                assert isinstance(lost, Pending)
                self._overruns.setdefault(dev.spec.id, []).append(lost)

    def _fault(self, dev: DeviceSim, kind: FaultKind, begins: bool, t: int) -> None:
        if kind is not FaultKind.DISCONNECT:
            return
        if begins:
            dev.connected = False
            self._event(dev, EventKind.DISCONNECTED, t)
            self._triggers.gone(dev, t)
            return
        dev.connected = True
        dev.down_until = t + STARTUP_NS
        # A power cycle: the device's counter restarts near zero, its frame counters too (a PTP clock relocks).
        if isinstance(dev.crystal, CrystalClock):
            old = dev.crystal.params
            dev.crystal = CrystalClock(CrystalParams(old.drift, int(dev.rng.uniform(0, 1e8)), old.wander_ppm,
                                                     old.wander_period_s, old.wander_phase), t)
        self._received.restart(dev.spec.id)
        self._event(dev, EventKind.RECONNECTED, t)
        self._triggers.restarted(dev)

    def _event(self, dev: DeviceSim, kind: EventKind, t: int) -> None:
        if self.emits(dev):
            dev.ready.append(DeviceEvent(dev.spec.id, kind, dev.host_clock.mono_ns(t)))

    def _emit_truth(self, p: Pending) -> None:
        if self.truth_sink is not None and self.emits(p.stream.device):
            dev_id, stream = p.stream.key
            self.truth_sink(FrameTruth(dev_id, stream, p.seq, p.start_ns, p.end_ns, p.trigger, p.delivered, p.lost))
