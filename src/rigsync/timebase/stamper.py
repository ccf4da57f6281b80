"""Rig-time stamps for frames: device clock -> host clock (estimated) -> rig clock, never jumping.

For each device a :class:`DeviceTimebase` turns a frame's device timestamp into the estimated host time
of its **start of exposure**, with an error bound:

* the instant the device stamped (start, centre or end of exposure) is mapped through the device's
  lower-envelope :class:`ClockEstimator`, fed with (device timestamp, host receive time minus the
  driver's nominal latency from that instant);
* when the estimate changes, the applied mapping does not jump: it *slews* towards the new estimate at a
  bounded rate (fast while the clock is first acquired, slow once locked), so stamps stay consistent with
  the frame rate and never go backwards; the not-yet-slewed remainder is added to the error bound;
* devices whose timestamps are already on the host clock (ZED image timestamps) skip the estimator;
  devices with no timestamp of their own (host receive, V4L2) are estimated per stream against a
  *frame clock* (frame counter x nominal period), which removes the USB latency jitter.

Host clock -> rig clock is the identity until PTP joins (the rig clock is the primary host's clock).
Pure code: every time value is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rigsync.core.frame import ClockDomain, Frame, TimestampSemantics
from rigsync.timebase.estimator import ClockEstimate, ClockEstimator, EstimatorConfig


@dataclass(frozen=True)
class TimebaseConfig:
    max_slew_ppm: float = 500.0
    """Slew rate once locked: a 1 ms correction is absorbed in 2 s."""
    acquire_slew_ppm: float = 50_000.0
    """Slew rate while acquiring (the first estimates move by milliseconds)."""
    lock_span_ns: int = 2_000_000_000
    """The clock counts as locked once the estimate's points span this much device time."""
    latency_uncertainty_ns: int = 20_000
    """How far the driver's nominal latency may be off for this device (a constant bias we cannot see)."""
    tick_ns: int = 1
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)

    def __post_init__(self) -> None:
        if not 0 < self.max_slew_ppm <= self.acquire_slew_ppm < 1e6:
            raise ValueError("need 0 < max_slew_ppm <= acquire_slew_ppm < 1e6")
        if self.lock_span_ns < 0 or self.latency_uncertainty_ns < 0 or self.tick_ns < 1:
            raise ValueError("lock_span_ns, latency_uncertainty_ns must be >= 0 and tick_ns >= 1")


@dataclass(frozen=True, slots=True)
class Stamp:
    """The estimated host-clock start of exposure of one frame."""

    start_ns: int
    error_bound_ns: int
    locked: bool


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
        self._corr0 = 0.0
        self._d0 = 0
        self._rate = 0.0

    def update(self, estimate: ClockEstimate, at_device_ns: int, rate: float) -> None:
        if self.estimate is None:
            self.estimate = estimate
            return
        applied, _ = self.value(at_device_ns)
        self.estimate = estimate
        self._corr0 = applied - estimate.map(at_device_ns)
        self._d0 = at_device_ns
        self._rate = rate

    def value(self, device_ns: int) -> tuple[int, float]:
        """(applied host time, remaining correction) at ``device_ns``."""
        est = self.estimate
        if est is None:
            raise RuntimeError("no estimate yet")
        corr = self._corr0
        if corr:
            used = self._rate * max(device_ns - self._d0, 0)
            corr = max(corr - used, 0.0) if corr > 0 else min(corr + used, 0.0)
        return est.map(device_ns) + round(corr), corr


class _Track:
    """One estimator with its slewing map (per device, or per stream for frame clocks)."""

    def __init__(self, config: TimebaseConfig) -> None:
        self.config = config
        self.estimator = ClockEstimator(config.estimator)
        self.map = SlewingMap()
        self.last_start_ns: int | None = None

    def stamp(self, x_ns: int, y_ns: int) -> tuple[int, float, bool]:
        """Add the pair and return (mapped host time at x, error bound, locked)."""
        steps = self.estimator.steps_detected
        if self.estimator.add(x_ns, y_ns):
            est = self.estimator.estimate
            assert est is not None  # add() returned True, so an estimate exists
            if self.estimator.steps_detected != steps:
                self.map = SlewingMap()  # the host clock stepped: follow it from a fresh map
            locked = est.span_ns >= self.config.lock_span_ns
            rate = (self.config.max_slew_ppm if locked else self.config.acquire_slew_ppm) * 1e-6
            self.map.update(est, x_ns, rate)
        est = self.map.estimate
        assert est is not None
        value, corr = self.map.value(x_ns)
        bound = est.bound_at(x_ns) + abs(corr)
        locked = est.span_ns >= self.config.lock_span_ns and abs(corr) <= est.pin_bound_ns
        return value, bound, locked

    def reset(self) -> None:
        self.estimator.reset()
        self.map = SlewingMap()


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


class DeviceTimebase:
    """Stamps every frame of one device with its estimated host-clock start of exposure."""

    def __init__(self, domain: ClockDomain, config: TimebaseConfig | None = None) -> None:
        self.domain = domain
        self.config = config or TimebaseConfig()
        self._device = _Track(self.config)
        self._frame_clocks: dict[str, _Track] = {}
        self._last_start: dict[str, int] = {}

    def stamp(self, frame: Frame, period_ns: int) -> Stamp:
        """Stamp one frame; ``period_ns`` is its stream's nominal frame period (for frame clocks)."""
        offset, offset_unc = semantic_offset_ns(frame, period_ns)
        base_unc = self.config.latency_uncertainty_ns + self.config.tick_ns + offset_unc
        if frame.semantics is TimestampSemantics.HOST_RECEIVE:
            track = self._frame_clocks.get(frame.stream)
            if track is None:
                track = self._frame_clocks[frame.stream] = _Track(self.config)
            start_ns, bound, locked = track.stamp(frame.seq * period_ns, frame.host_rx_ns - frame.min_latency_ns)
            err = bound + base_unc
        elif self.domain is ClockDomain.HOST:
            start_ns, err, locked = frame.device_ts_ns - offset, float(base_unc), True
        else:
            y = frame.host_rx_ns - frame.min_latency_ns + offset
            value, bound, locked = self._device.stamp(frame.device_ts_ns, y)
            start_ns, err = value - offset, bound + base_unc
        last = self._last_start.get(frame.stream)
        if last is not None and start_ns <= last:
            # Same-stream stamps are strictly increasing (a frame exposed after the previous one).
            err += last + 1 - start_ns
            start_ns = last + 1
        self._last_start[frame.stream] = start_ns
        return Stamp(start_ns=start_ns, error_bound_ns=round(err), locked=locked)

    def reset(self) -> None:
        """The device's clock restarted (reconnect): forget its mapping, keep stamps increasing."""
        self._device.reset()
        for track in self._frame_clocks.values():
            track.reset()

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
