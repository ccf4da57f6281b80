"""Rig-time stamps: slewing instead of jumping, never backwards, semantics, host and frame clocks."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigsync.core.frame import ClockDomain, Frame, TimeFlags, TimestampSemantics
from rigsync.timebase import _flags
from rigsync.timebase.estimator import ClockEstimate
from rigsync.timebase.host import HostTime
from rigsync.timebase.slew import Slew
from rigsync.timebase.stamper import DeviceTimebase, SlewingMap, Stamp, TimebaseConfig, semantic_offset_ns

EPOCH = 1_790_000_000_000_000_000
PERIOD = 33_333_333


def frame(seq: int, device_ts: int, host_rx: int, *,
          semantics: TimestampSemantics = TimestampSemantics.START_OF_EXPOSURE,
          domain: ClockDomain = ClockDomain.DEVICE, exposure: int | None = 8_000_000, latency: int = 0,
          stream: str = "color") -> Frame:
    return Frame(device="d", stream=stream, seq=seq, device_ts_ns=device_ts, host_rx_ns=host_rx, semantics=semantics,
                 domain=domain, min_latency_ns=latency, exposure_ns=exposure, image=None, encoding="rgb8")


def estimate(offset: int, drift: float = 0.0) -> ClockEstimate:
    return ClockEstimate(ref_device_ns=0, ref_host_ns=offset, drift=drift, pin_bound_ns=1000.0, span_ns=10**10,
                         first_device_ns=0, last_device_ns=10**10, samples=100, fitted=True, max_drift=3e-4)


def test_slewing_map_is_continuous_and_slews_at_its_rate() -> None:
    """A new estimate 1 ms away is reached gradually at the slew rate, without a jump."""
    m = SlewingMap()
    m.update(estimate(0), 0, rate=0.0)
    m.update(estimate(-1_000_000), 1_000_000_000, rate=500e-6)
    before, _ = m.value(1_000_000_000)
    assert before == pytest.approx(1_000_000_000)  # continuous at the update
    _value, corr = m.value(2_000_000_000)
    assert corr == pytest.approx(500_000)  # half absorbed after 1 s at 500 ppm
    value_late, corr_late = m.value(3_500_000_000)
    assert corr_late == 0 and value_late == pytest.approx(3_500_000_000 - 1_000_000)


def test_slewing_map_never_goes_backwards() -> None:
    """Mapped times increase with device time through any sequence of corrections."""
    rng = np.random.default_rng(0)
    m = SlewingMap()
    m.update(estimate(0), 0, rate=0.0)
    last = -1.0
    for i in range(1, 2000):
        d = i * 10_000_000
        if i % 37 == 0:
            m.update(estimate(int(rng.normal(0, 2_000_000))), d, rate=50_000e-6)
        value, _ = m.value(d)
        assert value > last
        last = value


def device_frames(drift_ppm: float, seconds: float, seed: int, *, step_at: float | None = None):
    """Frames of a drifting device clock with USB-like arrival delays; yields (frame, true start)."""
    rng = np.random.default_rng(seed)
    for k in range(int(seconds * 30)):
        true_start = EPOCH + k * PERIOD
        device_ts = int((true_start - EPOCH) * (1 + drift_ppm * 1e-6)) + 5_000_000_000
        host_rx = true_start + 20_000_000 + 125_000 + int(rng.exponential(80_000))
        if step_at is not None and k / 30 >= step_at:
            host_rx += 3_000_000  # the host clock moved forward by 3 ms
        yield frame(k, device_ts, host_rx, latency=20_125_000), true_start


def test_device_clock_stamps_converge_within_bound() -> None:
    """Stamps converge on the true start of exposure and stay within their error bound."""
    tb = DeviceTimebase(ClockDomain.DEVICE, TimebaseConfig(latency_uncertainty_ns=0))
    errors = []
    for f, true_start in device_frames(60.0, 20, seed=1):
        s = tb.stamp(f, PERIOD)
        assert abs(s.start_ns - true_start) <= s.error_bound_ns
        errors.append(abs(s.start_ns - true_start))
    assert max(errors[-100:]) < 10_000
    assert s.locked


def test_stamps_never_go_backwards_and_never_jump() -> None:
    """After a host clock change the stamps follow by slewing: no step larger than the slew bound."""
    config = TimebaseConfig(latency_uncertainty_ns=0)
    tb = DeviceTimebase(ClockDomain.DEVICE, config)
    last = None
    for f, _ in device_frames(-40.0, 30, seed=2, step_at=15.0):
        s = tb.stamp(f, PERIOD)
        if last is not None:
            step = s.start_ns - last
            assert step > 0
            assert abs(step - PERIOD) <= PERIOD * config.fast_slew_ppm * 1e-6 + 5_000
        last = s.start_ns


def test_semantics_are_converted_to_start_of_exposure() -> None:
    """Centre-of-exposure and end-of-exposure stamps are moved back by half or all of the exposure."""
    c = frame(0, 0, 0, semantics=TimestampSemantics.CENTER_OF_EXPOSURE, exposure=10_000_000)
    e = frame(0, 0, 0, semantics=TimestampSemantics.END_OF_EXPOSURE, exposure=10_000_000)
    assert semantic_offset_ns(c, PERIOD) == (5_000_000, 0)
    assert semantic_offset_ns(e, PERIOD) == (10_000_000, 0)
    unknown = frame(0, 0, 0, semantics=TimestampSemantics.CENTER_OF_EXPOSURE, exposure=None)
    offset, uncertainty = semantic_offset_ns(unknown, PERIOD)
    assert offset == uncertainty == PERIOD // 4  # the exposure lies somewhere within one period


def test_host_domain_timestamps_pass_through() -> None:
    """Timestamps already on the host clock are used as they are, with the declared uncertainty."""
    tb = DeviceTimebase(ClockDomain.HOST, TimebaseConfig(latency_uncertainty_ns=250_000))
    f = frame(0, EPOCH + 5_000_000, EPOCH + 30_000_000, semantics=TimestampSemantics.CENTER_OF_EXPOSURE,
              domain=ClockDomain.HOST, exposure=4_000_000)
    s = tb.stamp(f, PERIOD)
    assert s.start_ns == EPOCH + 3_000_000
    assert 250_000 <= s.error_bound_ns <= 251_000


def test_host_receive_uses_the_frame_clock() -> None:
    """With only host receive times (ms of jitter), the frame counter as a clock recovers the exposure times."""
    rng = np.random.default_rng(5)
    tb = DeviceTimebase(ClockDomain.HOST, TimebaseConfig(latency_uncertainty_ns=0))
    true_period = PERIOD * (1 + 30e-6)  # the webcam's crystal runs 30 ppm slow
    errors = []
    for k in range(600):
        start = EPOCH + int(k * true_period)
        rx = start + 40_000_000 + int(rng.exponential(1_500_000))
        f = frame(k, rx, rx, semantics=TimestampSemantics.HOST_RECEIVE, domain=ClockDomain.HOST,
                  latency=40_000_000)
        s = tb.stamp(f, PERIOD)
        assert abs(s.start_ns - start) <= s.error_bound_ns
        errors.append(abs(s.start_ns - start))
    assert np.percentile(errors[300:], 99) < 50_000  # vs ~1.5 ms of receive jitter


def test_reset_forgets_the_clock_but_keeps_stamps_increasing() -> None:
    """After a reconnect (clock restarted) the new clock is learned and stamps still increase."""
    tb = DeviceTimebase(ClockDomain.DEVICE, TimebaseConfig(latency_uncertainty_ns=0))
    last = 0
    for f, _ in device_frames(10.0, 3, seed=3):
        last = tb.stamp(f, PERIOD).start_ns
    tb.reset()
    restarted = frame(0, 1_000, last + 50_000_000)
    s = tb.stamp(restarted, PERIOD)
    assert s.start_ns > last
    assert tb.summary().samples == 1


def test_config_is_validated() -> None:
    """Slew rates must be ordered and below 100%."""
    with pytest.raises(ValueError):
        TimebaseConfig(max_slew_ppm=1000, fast_slew_ppm=10)
    with pytest.raises(ValueError):
        TimebaseConfig(tick_ns=0)


def test_ptp_clock_stamps_are_the_reference_with_its_bound() -> None:
    """A camera clock on the PTP reference needs no mapping: stamp = its timestamp, bound = its PTP bound."""
    config = TimebaseConfig(reference_bound_ns=250, tick_ns=8)
    tb = DeviceTimebase(ClockDomain.PTP, config, host=OffsetHost(7_000_000))  # the host plays no part
    for k in range(50):
        f = frame(k, EPOCH + k * PERIOD, 123, domain=ClockDomain.PTP)
        s = tb.stamp(f, PERIOD)
        assert s.start_ns == EPOCH + k * PERIOD and s.error_bound_ns == 258 and s.locked


def test_ptp_clock_step_is_slewed_not_jumped() -> None:
    """The reference steps 1 s and the camera clock with it: stamps hold the old timeline (the rig's step hold,
    3.5 s), then move at most 10 % of a period per frame until they are on the reference again."""
    config = TimebaseConfig(reference_bound_ns=250)
    tb = DeviceTimebase(ClockDomain.PTP, config)
    rate = config.fast_slew_ppm * 1e-6
    last = None
    for k in range(600):
        reference = EPOCH + k * PERIOD + (1_000_000_000 if k >= 100 else 0)
        s = tb.stamp(frame(k, reference, 0, domain=ClockDomain.PTP), PERIOD)
        if k < 100 or k >= 100 + 13_500_000_000 // PERIOD:  # before the step, after hold and slew
            assert abs(s.start_ns - reference) <= s.error_bound_ns
        if last is not None:
            assert abs(s.start_ns - last - PERIOD) <= rate * PERIOD + 1
        last = s.start_ns
    assert s.start_ns == reference and s.locked  # 1 s absorbed in 10 s = 300 frames


class OffsetHost:
    """A host map that puts rig time ``offset`` ahead of the host clock, with a fixed bound."""

    def __init__(self, offset_ns: int, bound_ns: int = 1_500) -> None:
        self.offset_ns, self.bound_ns = offset_ns, bound_ns

    def to_rig(self, host_ns: int) -> HostTime:
        return HostTime(host_ns + self.offset_ns, self.bound_ns, TimeFlags.PTP_WARN)


def test_chain_maps_through_the_host_and_sums_the_bounds() -> None:
    """device -> host monotonic (estimated) -> rig (the host's map): the bounds add up, the host's flags carry."""
    host = OffsetHost(-2_000_000_000, bound_ns=40_000)
    tb = DeviceTimebase(ClockDomain.DEVICE, TimebaseConfig(latency_uncertainty_ns=0), host=host)
    bare = DeviceTimebase(ClockDomain.DEVICE, TimebaseConfig(latency_uncertainty_ns=0))
    for f, true_start in device_frames(30.0, 10, seed=4):
        s, b = tb.stamp(f, PERIOD), bare.stamp(f, PERIOD)
        assert s.start_ns == b.start_ns - 2_000_000_000
        assert s.error_bound_ns == b.error_bound_ns + 40_000
        assert s.flags & TimeFlags.PTP_WARN
        assert abs(s.start_ns - (true_start - 2_000_000_000)) <= s.error_bound_ns


@settings(max_examples=200, deadline=None)
@given(st.floats(-2e9, 2e9).filter(lambda c: abs(c) >= 0.5), st.sampled_from([500e-6, 0.1, 1e-9, 0.37]),
       st.integers(-10**18, 10**18))
def test_a_slew_has_nothing_left_from_its_end_on(corr0: float, rate: float, at: int) -> None:
    """``Slew.until_ns`` (which the stamper and host maps compare with before reading the slew) is its end: nothing
    remains from it on, and it is within a few ns (and two billionths) of where the correction runs out."""
    slew = Slew(corr0, at, rate)
    until = int(slew.until_ns)
    assert slew.remaining(until) == 0.0 and slew.remaining(until + 12345) == 0.0
    end = at + Fraction(abs(corr0)) / Fraction(rate)  # where rate * (t - at) reaches the correction
    assert 0 < until - end <= 4 + abs(corr0) / rate * 2e-9
    assert slew.remaining(at + int(abs(corr0) / rate * 0.99)) != 0.0
    assert Slew().until_ns == -math.inf and Slew(5.0, 0, 0.0).until_ns == math.inf


def test_stamp_flags_and_lock_state_are_the_time_flags() -> None:
    """A stamp's flags, built from integer bits on the stamping path, are the TimeFlags of those bits, and it is
    locked exactly when neither acquiring nor slewing, for every combination of flags."""
    for bits in range(1 << len(TimeFlags)):
        flags = TimeFlags(bits)
        assert _flags.FLAGS[bits] is flags
        assert Stamp(0, 0, flags).locked is not bool(flags & (TimeFlags.ACQUIRING | TimeFlags.SLEWING))
    assert len(_flags.FLAGS) == 1 << len(TimeFlags)
