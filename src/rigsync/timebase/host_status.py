"""A host's tie to the reference as the live status, the recording and ``rigsync ptp status`` show it: its level
and reason, and the words for a step of the reference in progress. Pure code."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rigsync.core.ptp import HostRole, PortState, PtpMode, PtpSample, SyncLevel
from rigsync.timebase.host_config import LOST_PORT_STATES, HostTimebaseConfig
from rigsync.timebase.steps import ReferenceStep, StepPhase


@dataclass(frozen=True)
class HostSyncStatus:
    """A host's tie to the reference, for the live status and the recording."""

    host: str
    role: HostRole
    mode: PtpMode | None
    level: SyncLevel
    reason: str
    port_state: PortState | None = None
    offset_ns: int | None = None
    """Last measured system-clock offset from the master (host minus master)."""
    mean_path_delay_ns: int | None = None
    gm_identity: str | None = None
    quality_ns: int | None = None
    """What is held against the levels: the largest recent |offset| (discipline) or fit residual plus slew
    remainder (observe)."""
    bound_ns: int | None = None
    samples: int = 0
    last_sample_age_ns: int | None = None
    steps: int = 0
    step_ns: int | None = None
    """A step of the reference in progress: its size (reference after minus before)."""
    step_phase: StepPhase | None = None
    """... ``holding`` or ``slewing``."""
    step_left_ns: int | None = None
    """... reference minus rig time still to be slewed (or held) at this host's time."""

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "role": self.role.value, "mode": self.mode.value if self.mode else None,
                "level": self.level.value, "reason": self.reason,
                "port_state": self.port_state.value if self.port_state else None, "offset_ns": self.offset_ns,
                "mean_path_delay_ns": self.mean_path_delay_ns, "gm_identity": self.gm_identity,
                "quality_ns": self.quality_ns, "bound_ns": self.bound_ns, "samples": self.samples,
                "last_sample_age_ns": self.last_sample_age_ns, "steps": self.steps, "step_ns": self.step_ns,
                "step_phase": self.step_phase.value if self.step_phase else None, "step_left_ns": self.step_left_ns}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> HostSyncStatus:
        def opt_int(key: str) -> int | None:
            v = d.get(key)
            return int(v) if isinstance(v, int | float) else None

        mode, port, gm, phase = d.get("mode"), d.get("port_state"), d.get("gm_identity"), d.get("step_phase")
        return cls(host=str(d["host"]), role=HostRole(str(d["role"])), mode=PtpMode(str(mode)) if mode else None,
                   level=SyncLevel(str(d["level"])), reason=str(d.get("reason", "")),
                   port_state=PortState.parse(str(port)) if port else None, offset_ns=opt_int("offset_ns"),
                   mean_path_delay_ns=opt_int("mean_path_delay_ns"), gm_identity=str(gm) if gm else None,
                   quality_ns=opt_int("quality_ns"), bound_ns=opt_int("bound_ns"), samples=opt_int("samples") or 0,
                   last_sample_age_ns=opt_int("last_sample_age_ns"), steps=opt_int("steps") or 0,
                   step_ns=opt_int("step_ns"), step_phase=StepPhase(str(phase)) if phase else None,
                   step_left_ns=opt_int("step_left_ns"))


def clock_time(rig_ns: int) -> str:
    """A rig time as a UTC time of day to the millisecond (``10:00:03.000``)."""
    seconds, ns = divmod(rig_ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1_000_000:03d}"


def step_note(step: ReferenceStep, base_ns: int, left_ns: int, *, unseen: bool, locked: bool) -> tuple[SyncLevel, str]:
    """Level and words for a host at ``base_ns`` during ``step`` (``left_ns``: the correction still to come;
    ``unseen``: the host has no evidence of a step whose hold is over; ``locked``: it could have seen it)."""
    what = f"reference stepped {step.step_ns / 1e6:+.1f} ms at {clock_time(step.at_base_ns)} ({step.found_by})"
    if unseen:
        late = (base_ns - step.at_base_ns) / 1e9
        if locked:
            return SyncLevel.ERROR, (f"{what}, not seen here {late:.1f} s later although locked: following the "
                                     "rig's schedule, the bound covers the step")
        return SyncLevel.WARN, f"{what}, not seen here yet (no lock): following the rig's schedule"
    if step.phase(base_ns) is StepPhase.HOLDING:
        return SyncLevel.WARN, (f"{what}: holding {(step.slew_from_base_ns - base_ns) / 1e9:.1f} s, then slewing "
                                f"at {step.rate:.0%}")
    return SyncLevel.WARN, f"{what}: slewing, {abs(left_ns) / 1e6:.1f} ms left"


def judge_ptp(cfg: HostTimebaseConfig, latest: PtpSample | None, mono_ns: int,
              quality: int | None) -> tuple[SyncLevel, str]:
    """Level and reason of a PTP host at ``mono_ns`` from its latest sample and its quality (see
    :class:`HostSyncStatus`)."""
    s = latest
    if s is None:
        return SyncLevel.ERROR, "no PTP report yet (is ptp4l running? rigsync ptp run)"
    age_s = (mono_ns - s.mono_ns) / 1e9
    if age_s > cfg.stale_intervals * cfg.sync_interval_ns / 1e9:
        return SyncLevel.ERROR, f"no PTP report for {age_s:.1f} s (holdover)"
    if s.port_state in LOST_PORT_STATES or not s.gm_present:
        return SyncLevel.ERROR, f"port {s.port_state.value}: no master (holdover)"
    if cfg.mode is PtpMode.DISCIPLINE and s.port_state is PortState.UNCALIBRATED:
        return SyncLevel.WARN, "locking to the master (UNCALIBRATED)"
    what = "offset" if cfg.mode is PtpMode.DISCIPLINE else "mapping residual"
    if quality is not None and quality > cfg.offset_error_ns:
        return SyncLevel.ERROR, f"{what} {quality / 1000:.1f} us > error level {cfg.offset_error_ns / 1000:g} us"
    if quality is not None and quality > cfg.offset_warn_ns:
        return SyncLevel.WARN, f"{what} {quality / 1000:.1f} us > warning level {cfg.offset_warn_ns / 1000:g} us"
    return SyncLevel.OK, "locked" if cfg.mode is PtpMode.DISCIPLINE else "observing the reference"
