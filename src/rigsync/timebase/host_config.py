"""A host timebase's settings, and what counts as a PTP measurement. Pure code."""

from __future__ import annotations

from dataclasses import dataclass

from rigsync.core.ptp import STEP_THRESHOLD_NS, HostRole, PortState, PtpMode, PtpSample
from rigsync.timebase.slew import FAST_SLEW_PPM, MAX_SLEW_PPM


@dataclass(frozen=True)
class HostTimebaseConfig:
    role: HostRole = HostRole.REFERENCE
    mode: PtpMode = PtpMode.DISCIPLINE
    offset_warn_ns: int = 1_000
    offset_error_ns: int = 10_000
    sync_interval_ns: int = 1_000_000_000
    window: int = 16
    """Samples the fit is built from."""
    recent: int = 4
    """Samples the reported quality (against the warning / error levels) is taken over."""
    stale_intervals: float = 3.0
    """No sample for this many sync intervals: the host counts as unlocked (holdover)."""
    holdover_ppm: float = 2.0
    """Growth of the bound without fresh locked samples (residual frequency error and wander of a clock that
    keeps its last correction)."""
    max_drift_ppm: float = 100.0
    """Observe mode, before three samples fix the slope: the free monotonic clock's largest frequency error."""
    disciplined_drift_ppm: float = 5.0
    """Discipline mode, before three samples fix the slope: the steered clock's largest frequency error (the
    servo's frequency estimate from two noisy samples)."""
    step_threshold_ns: int = STEP_THRESHOLD_NS
    """A sample this far off the fit is a step; ptp4l (with rigsync's config) steps a clock this far off."""
    max_slew_ppm: float = MAX_SLEW_PPM
    fast_slew_ppm: float = FAST_SLEW_PPM
    """The slew rate for corrections above ``step_threshold_ns`` of the host's own map (its first fit, a step
    of an unsynced host's clock)."""
    unsynced_bound_ns: int = 10_000_000
    """The bound of a host with no reference (an NTP-disciplined LAN host is within a few ms)."""
    clock_step_ns: int = 20_000
    """``add_clock``: a change of (system - monotonic) larger than this is a step of the system clock (the
    two are read one after the other, so small changes are reading jitter)."""

    def __post_init__(self) -> None:
        if not 0 < self.offset_warn_ns <= self.offset_error_ns:
            raise ValueError("need 0 < offset_warn_ns <= offset_error_ns")
        if self.sync_interval_ns <= 0 or self.window < 2 or not 1 <= self.recent <= self.window:
            raise ValueError("need sync_interval_ns > 0, window >= 2 and 1 <= recent <= window")
        if not 0 < self.max_slew_ppm <= self.fast_slew_ppm < 1e6:
            raise ValueError("need 0 < max_slew_ppm <= fast_slew_ppm < 1e6")



def measured(sample: PtpSample) -> bool:
    """The sample holds a measurement of the offset: it has a master, and is not the placeholder ptp4l reports
    after it (re)starts: an offset of exactly 0 until its servo has taken a first sample (path delay 0 too, or
    already measured, the port UNCALIBRATED)."""
    return sample.gm_present and sample.offset_ns is not None and not (sample.offset_ns == 0 and (
        sample.mean_path_delay_ns == 0 or sample.port_state is PortState.UNCALIBRATED))


LOST_PORT_STATES = (PortState.INITIALIZING, PortState.FAULTY, PortState.DISABLED, PortState.LISTENING,
                    PortState.PASSIVE)
"""Port states in which a host has no master."""
