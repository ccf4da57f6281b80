"""Host clock -> rig clock, from PTP monitoring samples, with an error bound.

rigsync stamps frames on each host's **monotonic** clock (CLOCK_MONOTONIC: it runs at the rate the system
clock is steered to, but it is never stepped) and maps that clock to rig time here. A step of the system
clock - set by hand, by NTP, by ptp4l's servo - therefore never reaches a device's clock mapping; only a step
of the reference itself does, and it is slewed.

Every host has a :class:`HostTimebase` in one of three roles:

* ``reference``: the host's system clock *is* the rig clock (a single-host rig, the PTP grandmaster host):
  rig time = monotonic + (system - monotonic), read with :meth:`HostTimebase.add_clock`;
* ``ptp``: tied to the reference by linuxptp. Each sample gives the system clock's offset from the master
  (``e``); with ``D`` = system - monotonic at that instant, the monotonic clock's offset is ``e - D``, which
  is smooth in both modes:

  - ``discipline``: ptp4l / phc2sys steer the system clock; when the servo steps it, ``e`` and ``D`` jump
    together. Samples the servo may step on (large offsets) are left out, since their ``D`` is ambiguous;
  - ``observe``: ptp4l runs ``free_running``; nothing steps but the reference;

* ``unsynced``: nothing ties the host to the reference (no PTP on a multi-host rig): its own system clock.

The offset of the monotonic clock is fitted (a Theil-Sen line) over the recent samples; rig time = monotonic -
fitted offset. A sample far off the line is a step (of the reference, or of a clock nobody told us about): the
fit restarts, and the applied map does not jump but slews towards the new fit at a bounded rate, the
not-yet-slewed remainder being part of the bound.

The bound of a PTP host is the fit's residual envelope plus a noise margin, plus the mean path delay (PTP
assumes a symmetric path; the asymmetry it cannot see is at most the mean path delay, since both one-way
delays are >= 0 and sum to twice it), plus the slew remainder, extrapolation and holdover growth while no
fresh locked sample arrives. Offsets follow linuxptp's sign: host minus master.

Pure code: every time value is passed in.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field, replace

from rigsync.core.frame import TimeFlags
from rigsync.core.ptp import (
    FIRST_STEP_THRESHOLD_NS,
    STEP_THRESHOLD_NS,
    HostRole,
    PortState,
    PtpMode,
    PtpSample,
    SyncLevel,
)
from rigsync.timebase.slew import FAST_SLEW_PPM, MAX_SLEW_PPM, Slew


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
    """The slew rate for corrections above ``step_threshold_ns`` (a 1 s step takes 10 s)."""
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


@dataclass(frozen=True, slots=True)
class HostTime:
    """A host monotonic-clock reading in rig time."""

    rig_ns: int
    bound_ns: int
    """Bound on |rig_ns - reference time at that instant|."""
    flags: TimeFlags


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

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "role": self.role.value, "mode": self.mode.value if self.mode else None,
                "level": self.level.value, "reason": self.reason,
                "port_state": self.port_state.value if self.port_state else None, "offset_ns": self.offset_ns,
                "mean_path_delay_ns": self.mean_path_delay_ns, "gm_identity": self.gm_identity,
                "quality_ns": self.quality_ns, "bound_ns": self.bound_ns, "samples": self.samples,
                "last_sample_age_ns": self.last_sample_age_ns, "steps": self.steps}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> HostSyncStatus:
        def opt_int(key: str) -> int | None:
            v = d.get(key)
            return int(v) if isinstance(v, int | float) else None

        mode, port, gm = d.get("mode"), d.get("port_state"), d.get("gm_identity")
        return cls(host=str(d["host"]), role=HostRole(str(d["role"])), mode=PtpMode(str(mode)) if mode else None,
                   level=SyncLevel(str(d["level"])), reason=str(d.get("reason", "")),
                   port_state=PortState.parse(str(port)) if port else None, offset_ns=opt_int("offset_ns"),
                   mean_path_delay_ns=opt_int("mean_path_delay_ns"), gm_identity=str(gm) if gm else None,
                   quality_ns=opt_int("quality_ns"), bound_ns=opt_int("bound_ns"), samples=opt_int("samples") or 0,
                   last_sample_age_ns=opt_int("last_sample_age_ns"), steps=opt_int("steps") or 0)


_LOST = (PortState.INITIALIZING, PortState.FAULTY, PortState.DISABLED, PortState.LISTENING, PortState.PASSIVE)


def _robust_sigma(values: list[float]) -> float:
    """1.4826 x the median absolute deviation: the standard deviation of the bulk, blind to spikes."""
    if len(values) < 3:
        return 0.0
    med = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - med) for v in values)


@dataclass(frozen=True, slots=True)
class _Point:
    mono_ns: int
    offset_ns: int
    """Monotonic clock minus reference."""
    path_ns: int


@dataclass(frozen=True)
class _Fit:
    """offset(m) = anchor + a + b (m - m0): a Theil-Sen line over the recent points (m0: the newest). The large
    offset (~1.8e18 ns for a reference host's -D) is an integer ``anchor``; the float part stays small."""

    m0: int
    anchor: int
    a: float
    b: float
    residual_ns: float
    sigma_ns: float
    span_ns: int
    n: int

    def offset(self, mono_ns: int) -> int:
        return self.anchor + round(self.a + self.b * (mono_ns - self.m0))

    @classmethod
    def of(cls, points: list[_Point], slope_hint: float) -> _Fit:
        last = points[-1]
        anchor = last.offset_ns
        if len(points) == 1:
            b = slope_hint
        else:
            b = statistics.median((q.offset_ns - p.offset_ns) / (q.mono_ns - p.mono_ns)
                                  for i, p in enumerate(points) for q in points[i + 1:] if q.mono_ns > p.mono_ns)
        a = statistics.median((p.offset_ns - anchor) - b * (p.mono_ns - last.mono_ns) for p in points)
        residuals = [(p.offset_ns - anchor) - (a + b * (p.mono_ns - last.mono_ns)) for p in points]
        return cls(last.mono_ns, anchor, a, b, max(abs(r) for r in residuals), _robust_sigma(residuals),
                   last.mono_ns - points[0].mono_ns, len(points))


@dataclass(frozen=True)
class _Map:
    """An applied map: the fit, plus a correction slewing to zero (continuity with the map before it)."""

    fit: _Fit
    slew: Slew = field(default_factory=Slew)

    def applied(self, mono_ns: int) -> int:
        return mono_ns - self.fit.offset(mono_ns) + round(self.slew.remaining(mono_ns))


class HostTimebase:
    """Maps one host's monotonic clock to rig time. Feed it :meth:`add` (PTP samples) and :meth:`add_clock`
    (system / monotonic readings)."""

    def __init__(self, host: str, config: HostTimebaseConfig | None = None) -> None:
        self.host = host
        self.config = config or HostTimebaseConfig()
        self._points: deque[_Point] = deque(maxlen=self.config.window)
        self._offsets: deque[int] = deque(maxlen=self.config.recent)  # measured system offsets (quality)
        self._sys_offsets: deque[int] = deque(maxlen=self.config.window)  # grandmaster: system - PHC
        self._latest: PtpSample | None = None
        self._good_ns: int | None = None  # monotonic time of the last locked sample
        self._last_d: int | None = None  # system minus monotonic, latest reading
        self._sample_d: int | None = None  # ... at the last PTP sample
        self._pending_ns = 0  # discipline: a measured offset the servo has not corrected yet
        self._pending_since: int | None = None
        self._cleared: tuple[int, int, int] | None = None  # (from, to, offset) of the last pending period
        self._samples = 0
        self.steps_detected = 0
        self.rate_epoch = 0
        """Counts the moments the monotonic clock's rate may have changed abruptly (ptp4l locking, or stepping
        the clock, resets its frequency): device mappings learned on this host's clock before are stale."""
        self._map: _Map | None = None
        self._previous: _Map | None = None  # the map before the last update, for readings taken before it
        self._rejected = False  # the last point was left out as a spike
        self._slope = 0.0
        self._queried_ns = 0  # the latest monotonic time a stamp was mapped at

    # --- input ----------------------------------------------------------------------------------

    def add_clock(self, realtime_ns: int, mono_ns: int) -> None:
        """A reading of the host's system and monotonic clocks, taken together (the capture loop's poll)."""
        d = realtime_ns - mono_ns
        changed = self._last_d is None or abs(d - self._last_d) > self.config.clock_step_ns
        if changed:
            self._last_d = d
        if self.config.role is HostRole.PTP or not changed:
            return  # PTP hosts take D with each sample: only then is it paired with the right offset
        self._points.clear()  # the two clocks tick together: only the latest difference counts
        self._add_point(_Point(mono_ns, -d, 0))
        self._good_ns = mono_ns

    def add(self, sample: PtpSample) -> None:
        cfg = self.config
        self._latest = sample
        self._samples += 1
        e = sample.system_offset_ns
        d = sample.host_ns - sample.mono_ns
        if self._last_d is None:
            self._last_d = d
        if cfg.role is HostRole.REFERENCE and sample.sys_offset_ns is not None:
            self._sys_offsets.append(sample.sys_offset_ns)  # grandmaster host: its PHC follows the system clock
        if cfg.role is not HostRole.PTP or e is None or not sample.gm_present:
            return
        self._offsets.append(e)
        stepped = self._sample_d is not None and abs(d - self._sample_d) > cfg.clock_step_ns
        self._sample_d = d
        if stepped:  # the system clock was stepped since the last sample: which D goes with this e is uncertain
            if cfg.mode is PtpMode.DISCIPLINE:
                self.rate_epoch += 1  # the servo that stepped it may have reset its frequency too
            return
        point = _Point(sample.mono_ns, e - d, max(sample.mean_path_delay_ns or 0, 0))
        fit = self._fit
        if cfg.mode is PtpMode.DISCIPLINE and (
                abs(e) >= cfg.step_threshold_ns
                or (sample.port_state is not PortState.SLAVE and abs(e) >= FIRST_STEP_THRESHOLD_NS)) and (
                fit is None or abs(point.offset_ns - fit.offset(point.mono_ns)) >= cfg.step_threshold_ns):
            # The servo is about to step the clock by e, and the monotonic clock's offset moved too: the
            # reference stepped, or ptp4l has just started. Until a sample after the step arrives the clock may
            # be that far off (since the Sync before this one); the fit leaves the sample out. (A system clock set
            # by hand moves D with e: the monotonic clock is fine and the sample is used.)
            if self._pending_since is None:
                self._pending_since = sample.mono_ns - cfg.sync_interval_ns
            self._pending_ns = max(self._pending_ns, abs(e))
            return
        if self._pending_since is not None:  # readings from the pending period keep its bound
            self._cleared = (self._pending_since, sample.mono_ns, self._pending_ns)
            self._pending_since, self._pending_ns = None, 0
            self.rate_epoch += 1  # the servo has (re)locked: it set a new frequency
        self._add_point(point)
        if sample.port_state not in _LOST and (cfg.mode is PtpMode.OBSERVE or sample.port_state is PortState.SLAVE):
            self._good_ns = sample.mono_ns

    def _add_point(self, point: _Point) -> None:
        cfg = self.config
        fit = self._fit
        if fit is not None:
            residual = point.offset_ns - fit.offset(point.mono_ns)
            if abs(residual) >= cfg.step_threshold_ns:
                self._points.clear()  # the reference (or a clock nobody told us of) stepped: fit again from here
                self.steps_detected += 1
            elif (len(self._points) >= 4 and not self._rejected
                  and abs(residual) > max(8 * fit.sigma_ns, 4 * fit.residual_ns, 1_000)):
                self._rejected = True
                return  # a spike (software timestamping under load): not part of the fit, unless the next agrees
        self._rejected = False
        self._points.append(point)
        new = _Fit.of(list(self._points), self._slope)
        if new.n >= 3:
            self._slope = new.b
        current = self._map
        if current is None:
            self._map = _Map(new)
            return
        # Re-base the slewing correction where the map was last used for a stamp (samples describe the past),
        # so the applied map stays continuous for every later stamp; earlier readings keep the previous map.
        at = max(point.mono_ns, self._queried_ns)
        corr0 = current.applied(at) - (at - new.offset(at))
        fast = abs(corr0) > cfg.step_threshold_ns or new.n < 3
        self._previous = current
        self._map = _Map(new, Slew(corr0, at, (cfg.fast_slew_ppm if fast else cfg.max_slew_ppm) * 1e-6))

    # --- output ---------------------------------------------------------------------------------

    @property
    def _fit(self) -> _Fit | None:
        return self._map.fit if self._map is not None else None

    def _map_at(self, mono_ns: int) -> _Map:
        assert self._map is not None
        if self._previous is not None and mono_ns < self._map.slew.at_ns:
            return self._previous
        return self._map

    def to_rig(self, mono_ns: int, *, stamp: bool = True) -> HostTime:
        """Rig time of a monotonic-clock reading of this host, with its bound and flags. ``stamp``: the result
        stamps a frame (later maps stay continuous with it); status and "now" readings pass False."""
        cfg = self.config
        current = self._map
        if stamp:
            self._queried_ns = max(self._queried_ns, mono_ns)
        pending = self._pending_ns
        if self._cleared is not None and self._cleared[0] <= mono_ns < self._cleared[1]:
            pending = max(pending, self._cleared[2])
        if current is None:  # nothing fitted yet: the system clock, with the bound of a host nobody ties
            flags = TimeFlags.HOST_UNSYNCED if cfg.role is not HostRole.PTP else TimeFlags.PTP_UNLOCKED
            return HostTime(mono_ns + (self._last_d or 0), max(cfg.unsynced_bound_ns, pending), flags)
        applied = self._map_at(mono_ns)
        corr = applied.slew.remaining(mono_ns)
        value = applied.applied(mono_ns)
        if applied is not current:  # a reading from before the last update: either map may be the right one
            corr = abs(corr) + abs(value - (mono_ns - current.fit.offset(mono_ns)))
        flags = TimeFlags.SLEWING if abs(corr) > cfg.step_threshold_ns else TimeFlags.NONE
        if cfg.role is HostRole.UNSYNCED:
            return HostTime(value, round(cfg.unsynced_bound_ns + abs(corr)), flags | TimeFlags.HOST_UNSYNCED)
        if cfg.role is HostRole.REFERENCE:
            env = max((abs(s) for s in self._sys_offsets), default=0)
            return HostTime(value, round(env + abs(corr)), flags)
        fit = current.fit
        flags |= self._level_flags()
        if not self._locked(mono_ns):
            flags |= TimeFlags.PTP_UNLOCKED
        noise = fit.residual_ns + 4 * fit.sigma_ns
        outside = max(mono_ns - fit.m0, fit.m0 - fit.span_ns - mono_ns, 0)
        prior = cfg.max_drift_ppm if cfg.mode is PtpMode.OBSERVE else cfg.disciplined_drift_ppm
        slope_bound = prior * 1e-6 if fit.n < 3 else noise / max(fit.span_ns / 2, cfg.sync_interval_ns)
        path = max(p.path_ns for p in self._points)
        bound = noise + path + abs(corr) + outside * slope_bound + self._holdover(mono_ns) + pending
        return HostTime(value, round(bound), flags)

    def _holdover(self, mono_ns: int) -> float:
        """Bound growth once locked samples stop: from 1.5 sync intervals after the last one."""
        cfg = self.config
        since = self._good_ns if self._good_ns is not None else self._points[0].mono_ns
        return max(0.0, mono_ns - since - 1.5 * cfg.sync_interval_ns) * cfg.holdover_ppm * 1e-6

    def _locked(self, mono_ns: int) -> bool:
        s = self._latest
        if s is None or not s.gm_present or s.port_state in _LOST:
            return False
        if self.config.mode is PtpMode.DISCIPLINE and s.port_state is not PortState.SLAVE:
            return False
        return mono_ns - s.mono_ns <= self.config.stale_intervals * self.config.sync_interval_ns

    def _quality(self) -> int | None:
        if self.config.mode is PtpMode.DISCIPLINE or self._fit is None:
            return max((abs(e) for e in self._offsets), default=None)
        fit = self._fit
        recent = list(self._points)[-self.config.recent:]
        worst = max(abs(p.offset_ns - fit.offset(p.mono_ns)) for p in recent)
        return round(worst + abs(self._map_at(recent[-1].mono_ns).slew.remaining(recent[-1].mono_ns)))

    def _level_flags(self) -> TimeFlags:
        q = self._quality()
        if q is None:
            return TimeFlags.NONE
        if q > self.config.offset_error_ns:
            return TimeFlags.PTP_ERROR
        return TimeFlags.PTP_WARN if q > self.config.offset_warn_ns else TimeFlags.NONE

    def status(self, mono_ns: int) -> HostSyncStatus:
        """The host's state at monotonic time ``mono_ns`` (level, reason, last readings)."""
        cfg = self.config
        s = self._latest
        base = HostSyncStatus(
            host=self.host, role=cfg.role, mode=cfg.mode if cfg.role is HostRole.PTP else None, level=SyncLevel.OK,
            reason="", port_state=s.port_state if s else None, offset_ns=s.system_offset_ns if s else None,
            mean_path_delay_ns=s.mean_path_delay_ns if s else None, gm_identity=s.gm_identity if s else None,
            bound_ns=self.to_rig(mono_ns, stamp=False).bound_ns, samples=self._samples,
            last_sample_age_ns=mono_ns - s.mono_ns if s else None, steps=self.steps_detected)
        if cfg.role is HostRole.UNSYNCED:
            return replace(base, level=SyncLevel.WARN, reason="no PTP: nothing ties this host's clock to the rig's "
                           "(its stamps carry its own time base)")
        if cfg.role is HostRole.REFERENCE:
            return replace(base, reason="the rig's reference clock")
        quality = self._quality()
        level, reason = self._judge(mono_ns, quality)
        return replace(base, level=level, reason=reason, quality_ns=quality)

    def _judge(self, mono_ns: int, quality: int | None) -> tuple[SyncLevel, str]:
        cfg = self.config
        s = self._latest
        if s is None:
            return SyncLevel.ERROR, "no PTP report yet (is ptp4l running? rigsync ptp run)"
        age_s = (mono_ns - s.mono_ns) / 1e9
        if age_s > cfg.stale_intervals * cfg.sync_interval_ns / 1e9:
            return SyncLevel.ERROR, f"no PTP report for {age_s:.1f} s (holdover)"
        if s.port_state in _LOST or not s.gm_present:
            return SyncLevel.ERROR, f"port {s.port_state.value}: no master (holdover)"
        if cfg.mode is PtpMode.DISCIPLINE and s.port_state is PortState.UNCALIBRATED:
            return SyncLevel.WARN, "locking to the master (UNCALIBRATED)"
        what = "offset" if cfg.mode is PtpMode.DISCIPLINE else "mapping residual"
        if quality is not None and quality > cfg.offset_error_ns:
            return SyncLevel.ERROR, f"{what} {quality / 1000:.1f} us > error level {cfg.offset_error_ns / 1000:g} us"
        if quality is not None and quality > cfg.offset_warn_ns:
            return SyncLevel.WARN, f"{what} {quality / 1000:.1f} us > warning level {cfg.offset_warn_ns / 1000:g} us"
        return SyncLevel.OK, "locked" if cfg.mode is PtpMode.DISCIPLINE else "observing the reference"
