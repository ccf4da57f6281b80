"""Every host's clock tied to rig time during a capture: one :class:`HostTimebase` per host, fed with the
hosts' clock readings and their PTP samples, the live PTP status with its level changes, and the rig's one
schedule through steps of the reference (:class:`~rigsync.timebase.steps.RigSteps`), which every host map and
every PTP-clock stream follows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rigsync.core.frame import TimeFlags
from rigsync.core.ptp import HostRole, PtpMode, PtpSample, SyncLevel
from rigsync.drivers.base import Driver, PtpSource
from rigsync.plan.model import HostSetup, Plan
from rigsync.ptp.status import default_state_dir, state_source
from rigsync.record.json_schemas import PTP_SCHEMA, STEP_SCHEMA
from rigsync.timebase.host import HostSyncStatus, HostTime, HostTimebase, HostTimebaseConfig
from rigsync.timebase.steps import RigSteps, StepEvent, StepPolicy, StepSchedule


def host_config(plan: Plan, setup: HostSetup) -> HostTimebaseConfig:
    """A host's timebase settings: its role from the plan, levels and Sync interval from its PTP group."""
    ptp = plan.ptp_of(setup.host)
    return HostTimebaseConfig(role=setup.clock_role, mode=setup.ptp_mode or PtpMode.DISCIPLINE,
                              offset_warn_ns=ptp.offset_warn_ns, offset_error_ns=ptp.offset_error_ns,
                              sync_interval_ns=ptp.sync_interval_ns)


def step_policy(plan: Plan) -> StepPolicy:
    """The rig's hold through a step of the reference: from its slowest PTP Sync interval."""
    return StepPolicy.for_sync_interval(max(plan.ptp_of(h.host).sync_interval_ns for h in plan.hosts))


@dataclass(frozen=True)
class PtpRecord:
    """One PTP sample as recorded on ``/rigsync/ptp/<host>``, with where it put the host."""

    sample: PtpSample
    at: HostTime
    level: SyncLevel
    mode: PtpMode | None

    schema = PTP_SCHEMA

    @property
    def topic(self) -> str:
        return f"/rigsync/ptp/{self.sample.host}"

    def to_json(self) -> dict[str, object]:
        return {**self.sample.to_json(), "mode": self.mode.value if self.mode else None, "rig_ns": self.at.rig_ns,
                "bound_ns": self.at.bound_ns, "level": self.level.value,
                "flags": [(f.name or "").lower() for f in type(self.at.flags) if f and f in self.at.flags]}


@dataclass(frozen=True)
class StepRecord:
    """A step of the reference registered, or seen by one more clock, as recorded on ``/rigsync/steps`` (with the
    whole schedule, so the last message alone gives the reference time of every stamp)."""

    event: StepEvent
    schedule: StepSchedule
    at: HostTime

    topic = "/rigsync/steps"
    schema = STEP_SCHEMA

    def to_json(self) -> dict[str, object]:
        e = self.event
        return {"event": e.kind, "index": e.index, "clock": e.clock, "at_base_ns": e.at_base_ns,
                "jump_ns": e.jump_ns, "rig_ns": self.at.rig_ns, "schedule": self.schedule.to_json()}


class RigClocks:
    """The rig's hosts' clocks, mapped to rig time. ``capture_host`` is where the capture loop runs."""

    def __init__(self, plan: Plan, driver: Driver, sources: dict[str, PtpSource] | None = None, *,
                 state_dir: Path | None = None) -> None:
        self._driver = driver
        self.capture_host = plan.rig.primary_host.name
        self.steps = RigSteps(step_policy(plan))
        self.timebases = {h.host: HostTimebase(h.host, host_config(plan, h), self.steps) for h in plan.hosts}
        self._sources: dict[str, PtpSource] = {}
        for h in plan.hosts:
            ptp_host = h.clock_role is HostRole.PTP or h.ptp_role is not None
            source = (sources or {}).get(h.host)
            if source is None and ptp_host:
                # The driver's own model (the simulator), else the local rigsync ptp run's published samples.
                source = driver.ptp_source(h.host) or state_source(state_dir or default_state_dir(), h.host)
            if source is not None:
                self._sources[h.host] = source
        self._levels: dict[str, SyncLevel] = {}

    def mono_now(self, host: str) -> int:
        return self._driver.host_clocks(host)[1]

    def realtime_now(self, host: str) -> int:
        """The host's system clock now (what ``sl.get_timestamp(CURRENT)`` reads on a ZED host)."""
        return self._driver.host_clocks(host)[0]

    def poll(self) -> list[PtpRecord | StepRecord]:
        """Read every host's clocks and PTP state; returns the new PTP samples and step events (to record)."""
        for host, tb in self.timebases.items():
            tb.add_clock(*self._driver.host_clocks(host))
        out: list[PtpRecord | StepRecord] = []
        for host, source in self._sources.items():
            tb = self.timebases[host]
            for sample in source.poll():
                tb.add(sample)
                level = tb.status(sample.mono_ns).level
                mode = tb.config.mode if tb.config.role is HostRole.PTP else None
                out.append(PtpRecord(sample, tb.to_rig(sample.mono_ns, stamp=False), level, mode))
        out.extend(self._step_records())
        return out

    def _step_records(self) -> list[StepRecord]:
        """Steps registered or seen since the last call (PTP cameras see them while frames are stamped)."""
        schedule = self.steps.schedule
        return [StepRecord(e, schedule, HostTime(schedule.rig_ns(e.at_base_ns), 0, TimeFlags.NONE))
                for e in self.steps.take_events()]

    def to_rig(self, host: str, mono_ns: int) -> HostTime:
        """A host's monotonic-clock reading in rig time (not a frame's stamp: that is the device timebase's)."""
        return self.timebases[host].to_rig(mono_ns, stamp=False)

    def rig_now(self) -> int:
        """Rig time now, as the capture host's clock maps it."""
        return self.to_rig(self.capture_host, self.mono_now(self.capture_host)).rig_ns

    def base_ns(self, rig_ns: int) -> int:
        """Rig time on the base timeline (without the correction the step schedule holds back: what framesets are
        matched on)."""
        return self.steps.schedule.base_ns(rig_ns)

    def rig_of_base(self, base_ns: int) -> int:
        return self.steps.schedule.rig_ns(base_ns)

    def statuses(self) -> tuple[HostSyncStatus, ...]:
        return tuple(tb.status(self.mono_now(host)) for host, tb in self.timebases.items())

    def changes(self, statuses: tuple[HostSyncStatus, ...]) -> list[str]:
        """Messages for hosts whose level changed since the last call (the first call reports non-ok ones)."""
        out = []
        for st in statuses:
            before = self._levels.get(st.host, SyncLevel.OK)
            self._levels[st.host] = st.level
            if st.level is not before:
                word = "back to ok" if st.level is SyncLevel.OK else st.level.value
                out.append(f"{st.host}: PTP {word}: {st.reason}")
        return out
