"""Rig-time stamps for frames: device clock -> host clock -> rig clock, never jumping.

For each device a :class:`DeviceTimebase` turns a frame's timestamp into the estimated rig-time **start of
exposure**, with an error bound that sums every link of the chain:

* the instant the device stamped (start, centre or end of exposure) is mapped to the host's monotonic clock
  through the device's lower-envelope :class:`ClockEstimator`, fed with (device timestamp, host receive time
  minus the driver's nominal latency), then to rig time through the host's
  :class:`~rigsync.timebase.host.HostTimebase`: the bound is the estimator's, plus the latency uncertainty,
  plus the host's bound against the PTP reference. The monotonic clock is never stepped, so a host clock set
  by hand or stepped by ptp4l never reaches the device mapping; a step of the reference is slewed by the host
  map;
* when the estimate changes, the applied mapping does not jump: it *slews* towards the new estimate at a
  bounded rate (fast while the clock is first acquired or a large change is absorbed, slow once locked), so
  stamps stay consistent with the frame rate and never go backwards; the not-yet-slewed remainder is added to
  the error bound;
* devices whose timestamps are on the host's monotonic clock already (V4L2) map them through the host's
  timebase; devices whose clock *is* the PTP reference (GigE Vision cameras in PTP frame sync) need no
  mapping: their bound is the camera's own PTP bound. Such a clock steps with the reference: a jump between
  consecutive frames is matched to the rig's registered steps (:mod:`rigsync.timebase.steps`) and the stamp
  follows the rig's one step schedule, like the hosts' maps. Which registered steps the camera's first frame
  (after a start or a reconnect) already holds is read off its arrival: its stamp minus the host's estimate of
  its start of exposure is the sum of the steps the camera has taken, give or take the transport's delay; while
  that leaves more than one choice the stamp's bound covers them all and it is flagged ``acquiring``;
* devices with no timestamp of their own (host receive, V4L2) are estimated per stream against a *frame
  clock* (frame counter x nominal period), which removes the USB latency jitter.

Pure code: every time value is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple, Protocol

from rigsync.core.frame import ClockDomain, Frame, TimeFlags, TimestampSemantics
from rigsync.timebase import _flags
from rigsync.timebase.estimator import ClockEstimate, ClockEstimator, EstimatorConfig
from rigsync.timebase.follower import Following, Reading, StepFollower
from rigsync.timebase.host import HostTime, _host_time
from rigsync.timebase.slew import FAST_SLEW_PPM, MAX_SLEW_PPM, Slew
from rigsync.timebase.steps import RigSteps


@dataclass(frozen=True)
class TimebaseConfig:
    max_slew_ppm: float = MAX_SLEW_PPM
    """Slew rate once locked: a 1 ms correction is absorbed in 2 s."""
    fast_slew_ppm: float = FAST_SLEW_PPM
    """Slew rate while a clock is acquired and while a step is absorbed: 10 %, so frame intervals stay within
    10 % of the frame rate and a 1 s step is absorbed in 10 s."""
    step_threshold_ns: int = 1_000_000
    """A correction larger than this is slewed at the fast rate even once locked (a clock step)."""
    lock_span_ns: int = 2_000_000_000
    """The clock counts as locked once the estimate's points span this much device time."""
    latency_uncertainty_ns: int = 20_000
    """How far the driver's nominal latency may be off for this device (a constant bias we cannot see)."""
    tick_ns: int = 1
    reference_bound_ns: int = 1_000
    """Devices whose clock is the PTP reference: bound on that clock's offset from the reference."""
    arrival_slack_ns: int = 20_000_000
    """How much later than its nominal latency a frame may reach the host (transport queues, interrupts, a
    loaded host): a PTP camera's first frame after a step of the reference is placed by its arrival within this
    much (steps are 1 ms or more; smaller ones are slews)."""
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)

    def __post_init__(self) -> None:
        if not 0 < self.max_slew_ppm <= self.fast_slew_ppm < 1e6:
            raise ValueError("need 0 < max_slew_ppm <= fast_slew_ppm < 1e6")
        if self.lock_span_ns < 0 or self.latency_uncertainty_ns < 0 or self.tick_ns < 1:
            raise ValueError("lock_span_ns, latency_uncertainty_ns must be >= 0 and tick_ns >= 1")
        if self.step_threshold_ns <= 0 or self.reference_bound_ns < 0 or self.arrival_slack_ns < 0:
            raise ValueError("step_threshold_ns must be positive, reference_bound_ns and arrival_slack_ns >= 0")


class HostMap(Protocol):
    """Host monotonic clock -> rig clock (a :class:`~rigsync.timebase.host.HostTimebase`). A map may also have an
    integer ``rate_epoch`` that changes when the monotonic clock's rate may have changed abruptly, and ``steps``:
    the rig's :class:`~rigsync.timebase.steps.RigSteps`, which PTP-clock streams on the host follow too."""

    def to_rig(self, host_ns: int) -> HostTime: ...


class IdentityHost:
    """The host clock is the rig clock, exactly (a single host, tests)."""

    rate_epoch = 0
    """The host clock never changes rate against itself."""

    def to_rig(self, host_ns: int) -> HostTime:
        return _host_time((host_ns, 0, _flags.NONE))


class Stamp(NamedTuple):
    """The estimated rig-time start of exposure of one frame (a named tuple: one is made for every frame)."""

    start_ns: int
    error_bound_ns: int
    flags: TimeFlags = TimeFlags.NONE

    @property
    def locked(self) -> bool:
        """The mapping is acquired and no step is being absorbed."""
        return _flags.LOCKED[self.flags]


_stamp: Callable[[tuple[int, int, TimeFlags]], Stamp] = partial(tuple.__new__, Stamp)
"""``Stamp(*fields)`` without the named tuple's ``__new__``, a Python function (a quarter of a microsecond)."""


@dataclass(frozen=True)
class ClockSummary:
    """What a device's clock model ended up as (recorded at the end of a capture)."""

    domain: str
    offset_ns: float | None
    """Host time minus device time at the last estimate's reference point."""
    drift_ppm: float | None
    error_bound_ns: float | None
    samples: int
    steps_detected: int

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "offset_ns": self.offset_ns,
            "drift_ppm": self.drift_ppm,
            "error_bound_ns": self.error_bound_ns,
            "samples": self.samples,
            "steps_detected": self.steps_detected,
        }


class SlewingMap:
    """A device -> host mapping that follows a changing estimate without ever jumping.

    After an update at device time ``d0`` the applied value is ``est(d) + c(d)``, where the correction
    ``c`` starts at (old applied - new estimate) at ``d0`` and shrinks towards zero at ``rate`` (ns of
    correction per ns of device time). The mapping is continuous and increasing as long as
    ``rate < 1 - |drift|``.
    """

    def __init__(self) -> None:
        self.estimate: ClockEstimate | None = None
        self.slew = Slew()
        """The correction being slewed away (applied = estimate + its rounded remaining value)."""

    def update(self, estimate: ClockEstimate, at_device_ns: int, rate: float) -> None:
        if self.estimate is None:
            self.estimate = estimate
            return
        applied, _ = self.value(at_device_ns)
        self.estimate = estimate
        self.slew = Slew(applied - estimate.map(at_device_ns), at_device_ns, rate)

    def value(self, device_ns: int) -> tuple[int, float]:
        """(applied host time, remaining correction) at ``device_ns``."""
        est = self.estimate
        if est is None:
            raise RuntimeError("no estimate yet")
        corr = self.slew.remaining(device_ns)
        return est.map(device_ns) + round(corr), corr


class _Track:
    """One estimator with its slewing map (per device, or per stream for frame clocks)."""

    def __init__(self, config: TimebaseConfig) -> None:
        self.config = config
        self.estimator = ClockEstimator(config.estimator)
        self.map = SlewingMap()
        # What the map applies, read by every stamp (set when the estimate changes): its estimate, the slew, and
        # the flag bits (acquiring or not).
        self._estimate: ClockEstimate | None = None
        self._slew = self.map.slew
        self._bits = 0

    def stamp(self, x_ns: int, y_ns: int) -> tuple[int, float, int]:
        """Add the pair and return (mapped host time at x, error bound, flag bits)."""
        if self.estimator.add(x_ns, y_ns):
            self._follow(x_ns)
        est = self._estimate
        assert est is not None  # add() returns True for the first pair
        # The truth lies within [estimate - below, estimate + above]; the applied value is the estimate plus the
        # rounded correction that is still being slewed away.
        mapped, below, above = est.at(x_ns)
        slew = self._slew
        if x_ns < slew.until_ns and (corr := slew.remaining(x_ns)):
            bits = self._bits | _flags.SLEWING if abs(corr) > est.pin_bound_ns else self._bits
            applied = round(corr)
            return mapped + applied, max(below + applied, above - applied), bits
        return mapped, below if below > above else above, self._bits

    def _follow(self, x_ns: int) -> None:
        """The estimate changed: the applied map slews to it."""
        cfg = self.config
        est = self.estimator.estimate
        assert est is not None  # add() returned True, so an estimate exists
        if self.map.estimate is None:
            self.map.update(est, x_ns, 0.0)
        else:
            applied, _ = self.map.value(x_ns)
            fast = est.span_ns < cfg.lock_span_ns or abs(applied - est.map(x_ns)) > cfg.step_threshold_ns
            self.map.update(est, x_ns, (cfg.fast_slew_ppm if fast else cfg.max_slew_ppm) * 1e-6)
        self._estimate, self._slew = self.map.estimate, self.map.slew
        self._bits = _flags.ACQUIRING if est.span_ns < cfg.lock_span_ns else 0

    def reset(self) -> None:
        self.estimator.reset()
        self.map = SlewingMap()

    def relearn(self) -> None:
        """Forget the points but keep the applied map: the next estimates are slewed to from it."""
        self.estimator.reset()


class _JumpGuard:
    """Stamps read off a PTP camera's clock, which follows the reference: a jump between consecutive frames of a
    stream beyond its cadence is a step of the reference. It is matched to the rig's registered steps this
    stream has not seen (any size down to the smallest step), or registered if it is larger than the cadence
    can explain; the stamp then follows the rig's step schedule like every host's. Which registered steps the
    first frame holds (after a start or a reset) is decided from its arrival (:mod:`rigsync.timebase.follower`)."""

    def __init__(self, config: TimebaseConfig, steps: RigSteps, clock: str) -> None:
        self.config = config
        self._follower = StepFollower(steps, clock)
        self._last: tuple[int, int] | None = None  # (seq, raw stamp)

    @property
    def deciding(self) -> bool:
        """The next frame's :class:`~rigsync.timebase.follower.Reading` (its arrival) is wanted."""
        return self._follower.deciding

    def apply(self, seq: int, raw_ns: int, period_ns: int, reading: Reading | None = None) -> Following:
        """Where the frame ``seq`` stamped ``raw_ns`` (on the camera's clock) is on the rig's schedule;
        ``reading``: the stamp set against the frame's arrival (wanted while :attr:`deciding`)."""
        follower = self._follower
        follower.begin(reading)
        last = self._last
        if last is not None and seq > last[0]:
            expected = (seq - last[0]) * period_ns
            jump = raw_ns - last[1] - expected
            follower.jump(jump, last[1] - follower.offset_ns + expected, self.config.reference_bound_ns,
                          register_above_ns=self.config.step_threshold_ns + period_ns // 2)
        if reading is not None:
            follower.weigh(reading)
        self._last = (seq, raw_ns)
        base = raw_ns - follower.offset_ns
        follower.steps.note_stamp(base)
        return follower.follow(base)

    def reset(self) -> None:
        """The camera restarted: which steps its clock has taken is decided afresh."""
        self._last = None
        self._follower.restart()


def semantic_offset_ns(frame: Frame, period_ns: int) -> tuple[int, int]:
    """(stamped instant - start of exposure, uncertainty of that offset) for a frame's semantics.

    Uses the exposure the device reports; if it reports none, the exposure is only known to lie within
    one frame period.
    """
    sem = frame.semantics
    if sem not in (TimestampSemantics.CENTER_OF_EXPOSURE, TimestampSemantics.END_OF_EXPOSURE):
        return 0, 0
    if frame.exposure_ns is None:
        guess = period_ns // 2
        return (guess // 2, guess // 2) if sem is TimestampSemantics.CENTER_OF_EXPOSURE else (guess, guess)
    exposure = frame.exposure_ns
    return (exposure // 2, 0) if sem is TimestampSemantics.CENTER_OF_EXPOSURE else (exposure, 0)


_START, _HOST_RECEIVE = TimestampSemantics.START_OF_EXPOSURE, TimestampSemantics.HOST_RECEIVE
_DEVICE, _PTP = ClockDomain.DEVICE, ClockDomain.PTP


class DeviceTimebase:
    """Stamps every frame of one device with its estimated rig-time start of exposure."""

    def __init__(self, domain: ClockDomain, config: TimebaseConfig | None = None,
                 host: HostMap | None = None) -> None:
        self.domain = domain
        self.config = config or TimebaseConfig()
        self.host: HostMap = host or IdentityHost()
        self._device = _Track(self.config)
        self._frame_clocks: dict[str, _Track] = {}
        self._guards: dict[str, _JumpGuard] = {}
        self._last_start: dict[str, int] = {}
        self._host_epoch = getattr(self.host, "rate_epoch", 0)
        self._own_steps: RigSteps | None = None
        self._unc_ns = self.config.latency_uncertainty_ns + self.config.tick_ns  # bound of every stamp's chain

    def stamp(self, frame: Frame, period_ns: int) -> Stamp:
        """Stamp one frame; ``period_ns`` is its stream's nominal frame period (frame clocks, jump checks)."""
        epoch = getattr(self.host, "rate_epoch", 0)
        if epoch != self._host_epoch:  # the host's monotonic clock changed rate: learn the mapping again
            self._host_epoch = epoch
            for learned in (self._device, *self._frame_clocks.values()):
                learned.relearn()
        semantics = frame.semantics
        offset, offset_unc = (0, 0) if semantics is _START else semantic_offset_ns(frame, period_ns)
        domain = self.domain
        if domain is _DEVICE and semantics is not _HOST_RECEIVE:
            # device clock -> host monotonic clock (estimated here) -> rig clock (the host's timebase); _on_host()
            # inlined for the common case
            y_ns = frame.host_rx_ns - frame.min_latency_ns + offset
            value, bound, bits = self._device.stamp(frame.device_ts_ns, y_ns)
            at = self.host.to_rig(value - offset)
            if at.flags is not _flags.NONE:
                bits |= int(at.flags)
            start_ns, err = at.rig_ns, bound + (self._unc_ns + offset_unc) + at.bound_ns
        elif domain is _PTP:  # the device clock is the reference: no host in the chain
            guard, raw_ns = self._guard(frame), frame.device_ts_ns - offset
            reading = self._arrival(frame, raw_ns, offset_unc) if guard.deciding else None
            following = guard.apply(frame.seq, raw_ns, period_ns, reading)
            start_ns = following.rig_ns
            err = self.config.reference_bound_ns + self.config.tick_ns + offset_unc + following.extra_bound_ns
            bits = (_flags.SLEWING if following.stepping else 0) | (_flags.PTP_ERROR if following.overdue else 0)
            if following.unsure:
                bits |= _flags.ACQUIRING
        elif semantics is _HOST_RECEIVE:  # no device instant: a frame clock per stream
            track = self._frame_clocks.get(frame.stream)
            if track is None:
                track = self._frame_clocks[frame.stream] = _Track(self.config)
            mono, bound, bits = track.stamp(frame.seq * period_ns, frame.host_rx_ns - frame.min_latency_ns)
            start_ns, err, bits = self._on_host(mono, bound, offset_unc, bits)
        else:  # already on the host's monotonic clock
            start_ns, err, bits = self._on_host(frame.device_ts_ns - offset, 0.0, offset_unc, 0)
        last = self._last_start.get(frame.stream)
        if last is not None and start_ns <= last:
            # Same-stream stamps are strictly increasing (a frame exposed after the previous one).
            err += last + 1 - start_ns
            start_ns = last + 1
        self._last_start[frame.stream] = start_ns
        return _stamp((start_ns, round(err), _flags.FLAGS[bits]))

    def _on_host(self, mono_ns: int, bound: float, offset_unc: int, bits: int) -> tuple[int, float, int]:
        """(rig time, error bound, flag bits) of a host monotonic-clock reading with its bound and flag bits."""
        at = self.host.to_rig(mono_ns)
        if at.flags is not _flags.NONE:
            bits |= int(at.flags)
        return at.rig_ns, bound + (self._unc_ns + offset_unc) + at.bound_ns, bits

    def _arrival(self, frame: Frame, raw_ns: int, offset_unc: int) -> Reading:
        """A PTP camera's start of exposure ``raw_ns`` set against the host's estimate of it: the frame's arrival
        minus its nominal latency, on the host's map and then the base timeline. That instant is the start of
        exposure plus the transport's excess (0 to ``arrival_slack_ns``) give or take the latency's uncertainty; the
        host's bound is against rig time (doubled: the schedule's rate is within 1 +- 50 %)."""
        cfg = self.config
        at = self.host.to_rig(frame.host_rx_ns - frame.min_latency_ns)
        base_ns = self._steps().schedule.base_ns(at.rig_ns)
        err = 2 * at.bound_ns + cfg.reference_bound_ns + cfg.tick_ns + offset_unc
        return Reading(base_ns, raw_ns - base_ns, cfg.latency_uncertainty_ns + err, cfg.arrival_slack_ns + err)

    def _guard(self, frame: Frame) -> _JumpGuard:
        guard = self._guards.get(frame.stream)
        if guard is None:
            guard = self._guards[frame.stream] = _JumpGuard(self.config, self._steps(), frame.key)
        return guard

    def _steps(self) -> RigSteps:
        """The rig's step register, shared through the host map (or one of this device's own)."""
        steps = getattr(self.host, "steps", None)
        if not isinstance(steps, RigSteps):
            steps = self._own_steps = self._own_steps or RigSteps()
        return steps

    def reset(self) -> None:
        """The device's clock restarted (reconnect): forget its mapping, keep stamps increasing."""
        self._device.reset()
        for track in self._frame_clocks.values():
            track.reset()
        for guard in self._guards.values():
            guard.reset()

    def summary(self) -> ClockSummary:
        est = self._device.estimator.estimate
        steps = self._device.estimator.steps_detected
        if est is None and self._frame_clocks:
            first = next(iter(self._frame_clocks.values()))
            est, steps = first.estimator.estimate, first.estimator.steps_detected
        if est is None:
            return ClockSummary(self.domain.value, None, None, None, 0, steps)
        return ClockSummary(
            domain=self.domain.value,
            offset_ns=float(est.ref_host_ns - est.ref_device_ns),
            drift_ppm=est.drift_ppm,
            error_bound_ns=est.pin_bound_ns + self.config.latency_uncertainty_ns,
            samples=est.samples,
            steps_detected=steps,
        )
