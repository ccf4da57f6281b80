"""Who exposes when, group by group: each sync group's trigger source while it runs (a master's frame clock, a
PTP schedule, a generator or card from the start), each started stream's schedule from it, and the streams that
wait, parked, while their group's source is not running (not started yet, stopped, or disconnected)."""

from __future__ import annotations

from collections.abc import Callable

from rigsync.drivers.sim._model import DeviceSim, StreamSim
from rigsync.drivers.sim.schedule import PARK, Schedules
from rigsync.drivers.sim.triggers import CrystalTrigger, ScheduleTrigger
from rigsync.plan.model import Plan, Role
from rigsync.spec.model import RigSpec

DEFAULT_PTP_PERIOD_NS = 33_333_333
"""A PTP group's frame period when its plan gives none (30 fps)."""


class GroupTriggers:
    """The rig's trigger sources (shared with ``schedules``, by sync group) and the streams parked for them.
    ``schedule_next(stream)`` queues a stream's next exposure on the world's timeline."""

    def __init__(self, rig: RigSpec, plan: Plan, schedules: Schedules, devices: dict[str, DeviceSim],
                 schedule_next: Callable[[StreamSim], None]) -> None:
        self._rig = rig
        self._plan = plan
        self._schedules = schedules
        self._sources = schedules.sources
        self._by_id = devices
        self._schedule_next = schedule_next
        self._parked: dict[str, list[StreamSim]] = {}

    def arm_ptp(self, dev: DeviceSim, start_true_ns: int, earliest_ns: int) -> int | None:
        """A PTP camera armed to start at true time ``start_true_ns`` (not before ``earliest_ns``): every camera
        of its group shares one schedule, one armed too late joins at the next slot. The true time of its first
        exposure, or None if it cannot be armed (not a PTP camera, or started)."""
        group = self._plan.group(dev.plan.group) if dev.plan.group else None
        if dev.plan.role is not Role.PTP or group is None or dev.started:
            return None
        source = self._sources.get(group.name)
        if not isinstance(source, ScheduleTrigger):
            source = self._sources[group.name] = ScheduleTrigger(start_true_ns,
                                                                 group.trigger_period_ns or DEFAULT_PTP_PERIOD_NS)
        return source.time(source.first_at_or_after(max(start_true_ns, earliest_ns)))

    def started(self, dev: DeviceSim, now_ns: int) -> None:
        """A device started streaming (from ``dev.begin_ns``): a group's source device starts its group's frame
        clock, the first PTP camera of a group not armed starts its schedule ``ptp_start_delay_s`` ahead; its
        streams get their schedules, and the group's parked streams theirs once the source runs."""
        plan = dev.plan
        group = self._plan.group(plan.group) if plan.group else None
        if group is not None and group.source == dev.spec.id and group.trigger_period_ns is not None:
            self._sources[group.name] = CrystalTrigger(dev.crystal, group.trigger_period_ns,
                                                       dev.crystal.device_ns(dev.begin_ns))
        if plan.role is Role.PTP and group is not None and group.name not in self._sources:
            spec = next(g for g in self._rig.sync_groups if g.name == group.name)
            start = -(-(now_ns + round(spec.ptp_start_delay_s * 1e9)) // 1_000_000) * 1_000_000  # on a ms boundary
            self._sources[group.name] = ScheduleTrigger(start, group.trigger_period_ns or DEFAULT_PTP_PERIOD_NS)
        for stream in dev.streams:
            self.arm(stream, dev.begin_ns)
        if group is not None and group.name in self._sources:
            self._unpark(group.name)

    def restarted(self, dev: DeviceSim) -> None:
        """A device came back (power-cycled) and runs again from ``dev.down_until``: a group source's frame clock
        restarts with it, its streams restart if it was streaming, and the streams waiting for it follow."""
        group = self._plan.group(dev.plan.group) if dev.plan.group else None
        if group is not None and group.source == dev.spec.id and group.trigger_period_ns is not None:
            self._sources[group.name] = CrystalTrigger(dev.crystal, group.trigger_period_ns,
                                                       dev.crystal.device_ns(dev.down_until))
        for stream in dev.streams:
            stream.seq = 0
            if dev.started:
                self.arm(stream, dev.down_until)
        if group is not None and group.name in self._sources:
            self._unpark(group.name)

    def gone(self, dev: DeviceSim, now_ns: int) -> None:
        """A device stopped or went away. If it is its group's trigger source, its sync output is silent: the
        members that expose on its pulses (Kinect subordinates, Genlock, Orbbec secondaries...) wait, parked,
        until it runs again; members on their own clocks carry on."""
        group = self._plan.group(dev.plan.group) if dev.plan.group else None
        if group is None or group.source != dev.spec.id or self._sources.pop(group.name, None) is None:
            return
        for member in self._plan.members(group.name):
            other = self._by_id[member.device_id]
            if other is dev or not other.started:
                continue
            for stream in other.streams:
                if stream.shots is not None and self._schedules.shots(stream, now_ns) is PARK:
                    stream.generation += 1
                    stream.shots = None
                    self._parked.setdefault(group.name, []).append(stream)

    def arm(self, stream: StreamSim, begin_ns: int) -> None:
        """Give a stream its exposure schedule (or park it until its trigger source runs)."""
        stream.generation += 1
        shots = self._schedules.shots(stream, begin_ns)
        if shots is PARK:
            self._parked.setdefault(stream.device.plan.group or "", []).append(stream)
            return
        stream.shots = shots  # type: ignore[assignment]
        self._schedule_next(stream)

    def _unpark(self, group_name: str) -> None:
        """The group's trigger source runs: the members waiting for it get their schedules (from its first
        pulse: a trigger source's pulses never come before it started)."""
        for parked in self._parked.pop(group_name, []):
            self.arm(parked, parked.device.begin_ns)
