"""Every host's clock tied to rig time during a capture: one :class:`HostTimebase` per host, fed with the
hosts' clock readings and their PTP samples, and the live PTP status with its level changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rigsync.core.ptp import HostRole, PtpMode, PtpSample, SyncLevel
from rigsync.drivers.base import Driver, PtpSource
from rigsync.plan.model import HostSetup, Plan
from rigsync.ptp.status import default_state_dir, state_source
from rigsync.timebase.host import HostSyncStatus, HostTime, HostTimebase, HostTimebaseConfig


def host_config(plan: Plan, setup: HostSetup) -> HostTimebaseConfig:
    """A host's timebase settings: its role from the plan, levels and Sync interval from its PTP group."""
    ptp = plan.ptp_of(setup.host)
    return HostTimebaseConfig(role=setup.clock_role, mode=setup.ptp_mode or PtpMode.DISCIPLINE,
                              offset_warn_ns=ptp.offset_warn_ns, offset_error_ns=ptp.offset_error_ns,
                              sync_interval_ns=ptp.sync_interval_ns)


@dataclass(frozen=True)
class PtpRecord:
    """One PTP sample as recorded on ``/rigsync/ptp/<host>``, with where it put the host."""

    sample: PtpSample
    at: HostTime
    level: SyncLevel
    mode: PtpMode | None

    @property
    def topic(self) -> str:
        return f"/rigsync/ptp/{self.sample.host}"

    def to_json(self) -> dict[str, object]:
        return {**self.sample.to_json(), "mode": self.mode.value if self.mode else None, "rig_ns": self.at.rig_ns,
                "bound_ns": self.at.bound_ns, "level": self.level.value,
                "flags": [(f.name or "").lower() for f in type(self.at.flags) if f and f in self.at.flags]}


class RigClocks:
    """The rig's hosts' clocks, mapped to rig time. ``capture_host`` is where the capture loop runs."""

    def __init__(self, plan: Plan, driver: Driver, sources: dict[str, PtpSource] | None = None, *,
                 state_dir: Path | None = None) -> None:
        self._driver = driver
        self.capture_host = plan.rig.primary_host.name
        self.timebases = {h.host: HostTimebase(h.host, host_config(plan, h)) for h in plan.hosts}
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

    def poll(self) -> list[PtpRecord]:
        """Read every host's clocks and PTP state; returns the new PTP samples (to record)."""
        for host, tb in self.timebases.items():
            tb.add_clock(*self._driver.host_clocks(host))
        out = []
        for host, source in self._sources.items():
            tb = self.timebases[host]
            for sample in source.poll():
                tb.add(sample)
                level = tb.status(sample.mono_ns).level
                mode = tb.config.mode if tb.config.role is HostRole.PTP else None
                out.append(PtpRecord(sample, tb.to_rig(sample.mono_ns, stamp=False), level, mode))
        return out

    def to_rig(self, host: str, mono_ns: int) -> HostTime:
        """A host's monotonic-clock reading in rig time (not a frame's stamp: that is the device timebase's)."""
        return self.timebases[host].to_rig(mono_ns, stamp=False)

    def rig_now(self) -> int:
        """Rig time now, as the capture host's clock maps it."""
        return self.to_rig(self.capture_host, self.mono_now(self.capture_host)).rig_ns

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
