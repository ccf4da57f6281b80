"""When each simulated stream exposes: its group's trigger source and the schedule its camera follows, as the
hardware would follow the plan (free-running on its own crystal, triggered, Genlocked, rate-locked to a trigger,
or aligned to it by readout, in bursts), including pulses an overloaded splitter loses and the propagation delay
of cables and daisy-chain hops."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.drivers.sim._model import SIM_EPOCH_NS, DeviceSim, StreamSim
from rigsync.drivers.sim.clocks import CrystalClock, CrystalParams
from rigsync.drivers.sim.triggers import (
    RATE_LOCK_TOLERANCE,
    CrystalTrigger,
    RandomTrigger,
    Shot,
    TriggerSource,
    free_run,
    genlock,
    rate_locked,
    readout_aligned,
    triggered,
    without_lost_triggers,
)
from rigsync.plan.model import Plan, Role
from rigsync.spec.model import RigSpec
from rigsync.spec.sync import FaultKind, TriggerPattern

CABLE_NS = 15
"""Trigger propagation on a 3 m cable (5 ns/m)."""
HOP_NS = 50
"""Re-drive delay of each device in a daisy chain."""
PARK = object()
"""A stream's schedule while its group's trigger source has not started."""


class Schedules:
    """The rig's trigger sources (``sources``, by sync group; the world replaces one when its source device
    starts or restarts) and each stream's exposure schedule."""

    def __init__(self, rig: RigSpec, plan: Plan, devices: dict[str, DeviceSim], seed: int,
                 rng: np.random.Generator) -> None:
        self.rig = rig
        self.plan = plan
        self.seed = seed
        self._by_id = devices
        self.sources: dict[str, TriggerSource] = {}
        for group in self.plan.groups:
            src = group.source
            if src is None or group.trigger_period_ns is None:
                continue
            if src.startswith("trigger:"):
                spec = self.rig.trigger(src.removeprefix("trigger:"))
                if spec.pattern is TriggerPattern.RANDOM:
                    gap = 2 * round(spec.pulse_width_us * 1000)
                    self.sources[group.name] = RandomTrigger(np.random.default_rng([self.seed, 0x7A, len(
                        self.sources)]), SIM_EPOCH_NS, group.trigger_period_ns, gap)
                else:
                    crystal = CrystalClock(CrystalParams(spec.drift_ppm * 1e-6, 0, wander_ppm=0.0), SIM_EPOCH_NS)
                    phase = int(rng.uniform(0, group.trigger_period_ns))
                    self.sources[group.name] = CrystalTrigger(crystal, group.trigger_period_ns, phase)
            elif src.startswith("card:"):
                crystal = CrystalClock(CrystalParams(rng.uniform(-20e-6, 20e-6), 0, wander_ppm=0.05), SIM_EPOCH_NS)
                phase = int(rng.uniform(0, group.trigger_period_ns))
                self.sources[group.name] = CrystalTrigger(crystal, group.trigger_period_ns, phase)


    def shots(self, stream: StreamSim, begin_ns: int) -> Iterator[Shot] | object | None:
        """The stream's exposure schedule, as the hardware would follow the plan: None when it waits for a
        trigger that never comes, ``PARK`` while its group's trigger source has not started. While its sync input
        has lost the trigger (a ``trigger-loss`` fault of the device or of one re-driving it), a triggered stream
        takes no trigger: it waits, or fires on its own clock where its vendor says so."""
        shots = self._shots(stream, begin_ns)
        if shots is None or shots is PARK:
            return shots
        dev = stream.device
        plan = dev.plan
        fires_own = (plan.role is Role.SUBORDINATE and dev.model.vendor is Vendor.INTEL) or \
            plan.vendor_role == "SECONDARY_SYNCED"
        period = stream.spec.period_ns

        def own(from_ns: int) -> Iterator[Shot]:
            return free_run(dev.crystal, period, dev.crystal.device_ns(from_ns), from_ns)

        return without_lost_triggers(shots, self._losses(dev), own if fires_own else None)  # type: ignore[arg-type]

    def _losses(self, dev: DeviceSim) -> Callable[[], list[tuple[int, int]]]:
        """The true-time windows in which ``dev``'s sync input gets no pulse: its own trigger-loss faults and
        those of every device re-driving its trigger (a daisy chain), read when asked (faults can be injected)."""
        chain: list[DeviceSim] = []
        d: DeviceSim | None = dev
        while d is not None and d not in chain:
            chain.append(d)
            link = d.plan.trigger
            d = self._by_id.get(link.source) if link is not None else None
        return lambda: [(b, e) for x in chain for kind, b, e in x.faults if kind is FaultKind.TRIGGER_LOSS]

    def _shots(self, stream: StreamSim, begin_ns: int) -> Iterator[Shot] | object | None:
        dev = stream.device
        plan = dev.plan
        period = stream.spec.period_ns

        def own_clock() -> Iterator[Shot]:
            return free_run(dev.crystal, period, dev.crystal.device_ns(begin_ns), begin_ns)

        if not stream.synced:
            return own_clock()
        group = self.plan.group(plan.group) if plan.group else None
        if plan.role is Role.MASTER and (group is None or group.source != dev.spec.id):
            return own_clock()  # a second primary runs on its own: nothing follows it, it follows nothing
        genlock_caps = dev.model.sync.genlock
        realsense_slave = plan.role is Role.SUBORDINATE and dev.model.vendor is Vendor.INTEL  # modes 2/3, D415 too
        if plan.role in (Role.SUBORDINATE, Role.GENLOCK, Role.CARD) and (
                plan.trigger is None or not plan.trigger.detected):
            # Nothing usable on its sync input. A RealSense slave "will fire on its own" (seeds/004), an Orbbec
            # SECONDARY_SYNCED free-runs; a Kinect subordinate, an Orbbec SECONDARY and Genlock wait forever.
            return own_clock() if realsense_slave or plan.vendor_role == "SECONDARY_SYNCED" else None
        source = self.sources.get(plan.group or "")
        if source is None:
            return PARK
        offset = plan.delay_ns + self._propagation_ns(dev)
        if stream.spec.kind is not StreamKind.COLOR:
            offset += plan.depth_delay_ns
        if plan.role is Role.GENLOCK:
            if genlock_caps is None:  # the option is refused (D415): the camera free-runs
                return own_clock()
            return genlock(source, offset, begin_ns, period, plan.burst, dev.jitter)
        if realsense_slave:
            trigger_period = group.trigger_period_ns if group is not None else None
            if trigger_period is None or group is None or group.random_triggers or \
                    abs(trigger_period - period) > period * RATE_LOCK_TOLERANCE:
                return own_clock()  # "it will fire on its own and won't actually be synchronized" (seeds/004)
            return readout_aligned(source, offset, begin_ns, stream.exposure.next_ns, dev.jitter)
        if plan.burst > 1:  # Orbbec frames_per_trigger: a burst at the stream's rate per trigger
            return genlock(source, offset, begin_ns, period, plan.burst, dev.jitter)
        if plan.role is Role.SUBORDINATE and dev.model.sync.external_trigger_rates_hz:
            return rate_locked(source, offset, begin_ns, period, dev.jitter, self._miss(dev))  # Kinect, Femto Bolt
        return triggered(source, offset, begin_ns, dev.jitter, self._miss(dev))

    def _miss(self, dev: DeviceSim) -> Callable[[], bool] | None:
        """An overloaded splitter: a device output driving more inputs than it can (Kinect star with more than
        two subordinates) delivers pulses some inputs miss."""
        plan = dev.plan
        if plan.trigger is None or not plan.trigger.splitter or plan.group is None:
            return None
        group = self.plan.group(plan.group)
        upstream = plan.trigger.source
        source = self._by_id.get(upstream)
        limit = source.model.sync.max_subordinates_for(group.topology) if source is not None else None
        loads = sum(1 for d in self.plan.members(group.name) if d.trigger is not None and d.trigger.source == upstream)
        if limit is None or loads <= limit:
            return None
        miss_p = 1.0 - limit / loads
        return lambda: bool(dev.rng.random() < miss_p)

    def _propagation_ns(self, dev: DeviceSim) -> int:
        link = dev.plan.trigger
        if link is None:
            return 0
        return CABLE_NS + (link.hop - 1) * (HOP_NS + CABLE_NS)
