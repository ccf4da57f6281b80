"""Host clock -> rig clock, from PTP monitoring samples, with an error bound.

rigsync stamps frames on each host's **monotonic** clock (CLOCK_MONOTONIC: it runs at the rate the system
clock is steered to, but it is never stepped) and maps that clock to rig time here. A step of the system
clock - set by hand, by NTP, by ptp4l's servo - therefore never reaches a device's clock mapping; only a step
of the reference itself does, and the rig follows it on one schedule (:mod:`rigsync.timebase.steps`).

Every host has a :class:`HostTimebase` in one of three roles:

* ``reference``: the host's system clock *is* the reference (a single-host rig, the PTP grandmaster host):
  read with :meth:`HostTimebase.add_clock`; a step of it is a step of the reference, registered at once;
* ``ptp``: tied to the reference by linuxptp. Each sample gives the system clock's offset from the master
  (``e``); with ``D`` = system - monotonic at that instant, the monotonic clock's offset is ``e - D``, which
  is smooth in both modes:

  - ``discipline``: ptp4l / phc2sys steer the system clock; when the servo steps it, ``e`` and ``D`` jump
    together. Samples the servo may step on (large offsets) are left out, since their ``D`` is ambiguous;
  - ``observe``: ptp4l runs ``free_running``; nothing steps but the reference;

* ``unsynced``: nothing ties the host to the reference (no PTP on a multi-host rig): its own system clock.

The map is fitted on the **base timeline** (the reference with the rig's registered steps taken out): the
offset of the monotonic clock from it (a Theil-Sen line over the recent samples) is smooth through a step of
the reference, because a jump of the measured offset is matched to a registered step (or registers one) and
taken out. Rig time = the step schedule applied to the base reading, the same on every host. Smaller changes of
the fit are slewed at a bounded rate, the not-yet-slewed remainder being part of the bound.

The bound of a PTP host (against rig time) is the fit's residual envelope plus a noise margin, plus the mean
path delay (PTP assumes a symmetric path; the asymmetry it cannot see is at most the mean path delay, since both
one-way delays are >= 0 and sum to twice it), plus the slew remainder, extrapolation and holdover growth while
no fresh locked sample arrives, plus any step of the reference the host has no evidence of yet. Offsets follow
linuxptp's sign: host minus master.

Pure code: every time value is passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import NamedTuple

from rigsync.core.frame import TimeFlags
from rigsync.core.ptp import (
    FIRST_STEP_THRESHOLD_NS,
    HostRole,
    PortState,
    PtpMode,
    PtpSample,
    SyncLevel,
)
from rigsync.timebase import _flags
from rigsync.timebase._host_fit import AppliedMap, Fit, Point
from rigsync.timebase.follower import StepFollower
from rigsync.timebase.host_config import LOST_PORT_STATES, HostTimebaseConfig, measured
from rigsync.timebase.host_status import HostSyncStatus, judge_ptp, step_note
from rigsync.timebase.slew import Slew
from rigsync.timebase.steps import RigSteps, StepPolicy

__all__ = ["HostSyncStatus", "HostTime", "HostTimebase", "HostTimebaseConfig", "measured"]


class HostTime(NamedTuple):
    """A host monotonic-clock reading in rig time (a named tuple: one is made for every frame)."""

    rig_ns: int
    bound_ns: int
    """Bound on |rig_ns - rig time at that instant| (rig time: the reference, minus the correction the step
    schedule still holds back; the same on every host)."""
    flags: TimeFlags


_host_time: Callable[[tuple[int, int, TimeFlags]], HostTime] = partial(tuple.__new__, HostTime)
"""``HostTime(*fields)`` without the named tuple's ``__new__``, a Python function (a quarter of a microsecond)."""
_SEVERITY = {SyncLevel.OK: 0, SyncLevel.WARN: 1, SyncLevel.ERROR: 2}
_UNSYNCED, _PTP, _REFERENCE = HostRole.UNSYNCED, HostRole.PTP, HostRole.REFERENCE


class HostTimebase:
    """Maps one host's monotonic clock to rig time. Feed it :meth:`add` (PTP samples) and :meth:`add_clock`
    (system / monotonic readings). ``steps``: the rig's step register, shared by every clock of the capture
    (default: one of its own)."""

    def __init__(self, host: str, config: HostTimebaseConfig | None = None, steps: RigSteps | None = None) -> None:
        self.host = host
        self.config = config or HostTimebaseConfig()
        self.steps = steps or RigSteps(StepPolicy.for_sync_interval(self.config.sync_interval_ns))
        self._follower = StepFollower(self.steps, host)
        self._points: deque[Point] = deque(maxlen=self.config.window)
        self._offsets: deque[int] = deque(maxlen=self.config.recent)  # measured system offsets (quality)
        self._sys_offsets: deque[int] = deque(maxlen=self.config.window)  # grandmaster: system - PHC
        self._sys_env = 0  # the largest of their magnitudes
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
        self._map: AppliedMap | None = None
        self._previous: AppliedMap | None = None  # the map before the last update, for readings taken before it
        self._rejected = False  # the last point was left out as a spike
        self._candidate: tuple[int, int] | None = None  # (jump, first seen) of a step seen by one sample only
        self._slope = 0.0
        self._queried_ns = 0  # the latest monotonic time a stamp was mapped at
        self._path_ns = 0  # the largest mean path delay of the points fitted
        self._levels: int | None = None  # the level flag bits of the latest samples (None: to work out)

    @property
    def _follows_steps(self) -> bool:
        """The host follows the rig's step schedule (every role but ``unsynced``, whose time base is its own)."""
        return self.config.role is not HostRole.UNSYNCED

    # --- input ----------------------------------------------------------------------------------

    def add_clock(self, realtime_ns: int, mono_ns: int) -> None:
        """A reading of the host's system and monotonic clocks, taken together (the capture loop's poll)."""
        cfg = self.config
        d = realtime_ns - mono_ns
        before = self._last_d
        if before is not None and abs(d - before) <= cfg.clock_step_ns:
            return
        self._last_d = d
        if cfg.role is HostRole.PTP:
            return  # PTP hosts take D with each sample: only then is it paired with the right offset
        if cfg.role is HostRole.REFERENCE and before is not None and self._map is not None and \
                self._follower.jump(d - before, self._map.base(mono_ns), cfg.clock_step_ns):
            self.steps_detected += 1  # the reference itself was stepped: the rig follows it on the schedule
        self._points.clear()  # the two clocks tick together: only the latest difference counts
        self._add_point(Point(mono_ns, self._follower.offset_ns - d if self._follows_steps else -d, 0))
        self._good_ns = mono_ns

    def add(self, sample: PtpSample) -> None:
        cfg = self.config
        self._levels = None
        self._latest = sample
        self._samples += 1
        e = sample.system_offset_ns
        d = sample.host_ns - sample.mono_ns
        if self._last_d is None:
            self._last_d = d
        if cfg.role is HostRole.REFERENCE and sample.sys_offset_ns is not None:
            self._sys_offsets.append(sample.sys_offset_ns)  # grandmaster host: its PHC follows the system clock
            self._sys_env = max(abs(s) for s in self._sys_offsets)
        if cfg.role is not HostRole.PTP or e is None or not measured(sample):
            return
        # Against the levels: the servo's error, apart from a registered step of the reference it has yet to take.
        self._offsets.append(e + self._follower.explained(-e))
        stepped = self._sample_d is not None and abs(d - self._sample_d) > cfg.clock_step_ns
        self._sample_d = d
        if stepped:  # the system clock was stepped since the last sample: which D goes with this e is uncertain
            if cfg.mode is PtpMode.DISCIPLINE:
                self.rate_epoch += 1  # the servo that stepped it may have reset its frequency too
            return
        path = max(sample.mean_path_delay_ns or 0, 0)
        point = Point(sample.mono_ns, e - d + self._follower.offset_ns, path)
        fit = self._fit
        # How far the reference moved since the fit (the monotonic clock's offset from it fell by that much).
        jump = None if fit is None else fit.offset(point.mono_ns) - point.offset_ns
        if cfg.mode is PtpMode.DISCIPLINE and (
                abs(e) >= cfg.step_threshold_ns
                or (sample.port_state is not PortState.SLAVE and abs(e) >= FIRST_STEP_THRESHOLD_NS)) and (
                jump is None or abs(jump) >= cfg.step_threshold_ns):
            # The servo is about to step the clock by e, and the monotonic clock's offset moved too: the
            # reference stepped, or ptp4l has just started. The sample is left out of the fit. A registered step
            # of the reference explains it: the map still reads the base timeline, the rig's schedule holds.
            # Otherwise, until a sample after the step arrives the clock may be that far off (since the Sync
            # before this one). (A system clock set by hand moves D with e: the monotonic clock is fine and the
            # sample is used.)
            if jump is not None and self._follower.confirm(jump, self._map_at(sample.mono_ns).base(sample.mono_ns)):
                return
            if self._pending_since is None:
                self._pending_since = sample.mono_ns - cfg.sync_interval_ns
            self._pending_ns = max(self._pending_ns, abs(e))
            return
        first_seen = sample.mono_ns if self._pending_since is None else self._pending_since + cfg.sync_interval_ns
        if jump is None or fit is None or abs(jump) < cfg.step_threshold_ns:
            jump = None  # no step: the sample is on the line
        elif not self._follower.matches(jump):
            candidate = self._candidate
            if candidate is None or abs(candidate[0] - jump) > self.steps.policy.tolerance(jump):
                self._candidate = (jump, first_seen)
                return  # a jump no registered step explains, seen once: a step if the next sample agrees, else a spike
            first_seen = candidate[1]
        self._candidate = None
        cleared = None
        if self._pending_since is not None:  # readings from the pending period keep its bound
            cleared = (self._pending_since, sample.mono_ns, self._pending_ns)
            self._pending_since, self._pending_ns = None, 0
            self.rate_epoch += 1  # the servo has (re)locked: it set a new frequency
        step_bound = round(2 * (fit.residual_ns + 4 * fit.sigma_ns)) + path if fit is not None else 0
        if jump is not None and self._follower.jump(jump, self._map_at(first_seen).base(first_seen), step_bound):
            self.steps_detected += 1  # the reference stepped: without the step, the sample is on the line
            point = replace(point, offset_ns=e - d + self._follower.offset_ns)
            if cleared is not None and abs(abs(jump) - cleared[2]) <= self.steps.policy.tolerance(jump):
                cleared = None  # the pending offset was this step: those readings are on the base timeline
        if cleared is not None:
            self._cleared = cleared
        self._add_point(point)
        if sample.port_state not in LOST_PORT_STATES and (
                cfg.mode is PtpMode.OBSERVE or sample.port_state is PortState.SLAVE):
            self._good_ns = sample.mono_ns

    def _add_point(self, point: Point) -> None:
        cfg = self.config
        if self._follows_steps:
            self._follower.begin()  # the first reading is on the reference as it is now
        fit = self._fit
        if fit is not None:
            residual = point.offset_ns - fit.offset(point.mono_ns)
            if abs(residual) >= cfg.step_threshold_ns:
                self._points.clear()  # a jump no step accounts for (an unsynced host's clock): fit again from here
                self.steps_detected += 1
            elif (len(self._points) >= 4 and not self._rejected
                  and abs(residual) > max(8 * fit.sigma_ns, 4 * fit.residual_ns, 1_000)):
                self._rejected = True
                return  # a spike (software timestamping under load): not part of the fit, unless the next agrees
        self._rejected = False
        self._points.append(point)
        self._path_ns = max(p.path_ns for p in self._points)
        new = Fit.of(list(self._points), self._slope)
        if new.n >= 3:
            self._slope = new.slope
        current = self._map
        if current is None:
            self._map = AppliedMap(new)
            return
        # Re-base the slewing correction where the map was last used for a stamp (samples describe the past),
        # so the applied map stays continuous for every later stamp; earlier readings keep the previous map.
        at = max(point.mono_ns, self._queried_ns)
        corr0 = current.base(at) - (at - new.offset(at))
        fast = abs(corr0) > cfg.step_threshold_ns or new.n < 3
        self._previous = current
        self._map = AppliedMap(new, Slew(corr0, at, (cfg.fast_slew_ppm if fast else cfg.max_slew_ppm) * 1e-6))

    # --- output ---------------------------------------------------------------------------------

    @property
    def _fit(self) -> Fit | None:
        return self._map.fit if self._map is not None else None

    def _map_at(self, mono_ns: int) -> AppliedMap:
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
            system = mono_ns + (self._last_d or 0)  # on either side of a step in progress: its size is unknown here
            held = abs(self.steps.schedule.remaining_ns(system)) if self._follows_steps else 0
            return HostTime(system, max(cfg.unsynced_bound_ns, pending) + held, flags)
        previous = self._previous  # _map_at(), inlined
        applied = previous if previous is not None and mono_ns < current.slew.at_ns else current
        slew = applied.slew
        corr = slew.remaining(mono_ns) if mono_ns < slew.until_ns else 0.0
        base = mono_ns - applied.fit.offset(mono_ns) + round(corr)  # applied.base(mono_ns), with corr read once
        if applied is not current:  # a reading from before the last update: either map may be the right one
            corr = abs(corr) + abs(base - (mono_ns - current.fit.offset(mono_ns)))
        bits = _flags.SLEWING if abs(corr) > cfg.step_threshold_ns else 0  # flags as integers: see _flags
        role = cfg.role
        if role is _UNSYNCED:
            return HostTime(base, round(cfg.unsynced_bound_ns + abs(corr)), _flags.FLAGS[bits | _flags.HOST_UNSYNCED])
        if stamp:
            self.steps.note_stamp(base)
        locked = role is not _PTP or self._locked(mono_ns)
        if self.steps.schedule.steps:
            following = self._follower.follow(base, evidence=locked)
            rig_ns, extra = following.rig_ns, following.extra_bound_ns
            if following.stepping:
                bits |= _flags.SLEWING
            if following.overdue:
                bits |= _flags.PTP_ERROR
        else:  # no step of the reference: what StepFollower.follow() returns then
            rig_ns, extra = base, 0
        if role is _REFERENCE:
            return _host_time((rig_ns, round(self._sys_env + abs(corr)) + extra, _flags.FLAGS[bits]))
        fit = current.fit
        if self._levels is None:  # the samples changed since the last reading
            self._levels = int(self._level_flags())
        bits |= self._levels
        if not locked:
            bits |= _flags.PTP_UNLOCKED
        noise = fit.residual_ns + 4 * fit.sigma_ns
        outside = max(mono_ns - fit.mono0_ns, fit.mono0_ns - fit.span_ns - mono_ns, 0)
        prior = cfg.max_drift_ppm if cfg.mode is PtpMode.OBSERVE else cfg.disciplined_drift_ppm
        slope_bound = prior * 1e-6 if fit.n < 3 else noise / max(fit.span_ns / 2, cfg.sync_interval_ns)
        bound = noise + self._path_ns + abs(corr) + outside * slope_bound + self._holdover(mono_ns) + pending
        return _host_time((rig_ns, round(bound) + extra, _flags.FLAGS[bits]))

    def _holdover(self, mono_ns: int) -> float:
        """Bound growth once locked samples stop: from 1.5 sync intervals after the last one."""
        cfg = self.config
        since = self._good_ns if self._good_ns is not None else self._points[0].mono_ns
        return max(0.0, mono_ns - since - 1.5 * cfg.sync_interval_ns) * cfg.holdover_ppm * 1e-6

    def _locked(self, mono_ns: int) -> bool:
        s = self._latest
        if s is None or not s.gm_present or s.port_state in LOST_PORT_STATES:
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
            return self._with_step(base, mono_ns, SyncLevel.OK, "the rig's reference clock")
        quality = self._quality()
        level, reason = judge_ptp(cfg, self._latest, mono_ns, quality)
        return self._with_step(replace(base, quality_ns=quality), mono_ns, level, reason)

    def _with_step(self, status: HostSyncStatus, mono_ns: int, level: SyncLevel, reason: str) -> HostSyncStatus:
        """The status with a step of the reference in progress (holding, slewing, or not seen here) folded in."""
        if self._map is None:
            return replace(status, level=level, reason=reason)
        base = self._map_at(mono_ns).base(mono_ns)
        schedule = self.steps.schedule
        awaited = [s for s in self._follower.awaited(base) if base >= s.slew_from_base_ns]
        active = schedule.active(base)
        step = awaited[-1] if awaited else active[-1] if active else None
        if step is None:
            return replace(status, level=level, reason=reason)
        left = schedule.remaining_ns(base)
        locked = self.config.role is not HostRole.PTP or self._locked(mono_ns)
        step_level, note = step_note(step, base, left, unseen=bool(awaited), locked=locked)
        if _SEVERITY[step_level] > _SEVERITY[level]:
            level, reason = step_level, note + (f"; {reason}" if level is not SyncLevel.OK else "")
        else:
            reason = f"{reason}; {note}"
        return replace(status, level=level, reason=reason, step_ns=step.step_ns, step_phase=step.phase(base),
                       step_left_ns=left)
