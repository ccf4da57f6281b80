"""The simulated host clocks and ptp4l: servo convergence, hardware vs software, steps, loss of the master."""

from __future__ import annotations

import numpy as np
import pytest

from rigsync.core.ptp import HostRole, PortState, PtpMode
from rigsync.drivers.sim.clocks import PtpCameraClock
from rigsync.drivers.sim.hosts import HARDWARE, SOFTWARE, HostClockSpec, Reference, SimHost

EPOCH = 1_790_000_000_000_000_000
S = 1_000_000_000


def host(role: HostRole = HostRole.PTP, *, mode: PtpMode = PtpMode.DISCIPLINE, hardware: bool = True,
         running_s: float = 120.0, seed: int = 1, reference: Reference | None = None, **kw: object) -> SimHost:
    spec = HostClockSpec(name="h", role=role, mode=mode, hardware=hardware, running_s=running_s,
                         **kw)  # type: ignore[arg-type]
    return SimHost(spec, reference or Reference(), EPOCH, np.random.default_rng(seed))


def true_of_mono(h: SimHost, mono_ns: int) -> int:
    """The true time at which the host's monotonic clock read ``mono_ns`` (it is strictly increasing)."""
    lo, hi = EPOCH - 200 * S, EPOCH + 200 * S
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if h.mono_ns(mid) < mono_ns else (lo, mid)
    return lo


def errors(h: SimHost, seconds: float, step_s: float = 0.1) -> np.ndarray:
    return np.array([h.error_ns(EPOCH + round(t * S)) for t in np.arange(0, seconds, step_s)])


def test_hardware_timestamping_locks_to_tens_of_nanoseconds_software_to_microseconds() -> None:
    """A locked PI servo: |system clock - reference| stays sub-microsecond with hardware, us with software."""
    hw = [np.abs(errors(host(hardware=True, seed=s), 60)).max() for s in range(4)]
    sw = [np.abs(errors(host(hardware=False, seed=s), 60)).max() for s in range(4)]
    assert max(hw) < 1_000
    assert 1_000 < max(sw) < 100_000
    assert np.median(sw) > 20 * np.median(hw)


def test_servo_locks_from_a_cold_start() -> None:
    """ptp4l started with the capture: LISTENING, then UNCALIBRATED, then SLAVE within seconds, stepped once."""
    h = host(running_s=0.0, seed=3)
    h.advance_to(EPOCH + 20 * S)
    states = [s.port_state for s in h.samples]
    assert states[0] is PortState.LISTENING
    first_slave = states.index(PortState.SLAVE)
    assert PortState.UNCALIBRATED in states[:first_slave]
    assert all(s is PortState.SLAVE for s in states[first_slave:])
    assert first_slave <= 8  # announce (1-4 s) + two servo samples, at one Sync per second
    assert abs(h.error_ns(EPOCH + 20 * S)) < 1_000


@pytest.mark.parametrize(("noise", "interval_s", "kp", "ki"), [
    (HARDWARE, 1.0, 0.7, 0.3),                      # linuxptp's defaults at one Sync per second
    (HARDWARE, 16.0, 0.7 / 16, 0.3 / 16),          # logSyncInterval 4: both capped by the norm maximum
    (HARDWARE, 0.125, 0.7 * 8 ** 0.3, 0.3 / 8 ** 0.4),  # logSyncInterval -3: the exponents
    (SOFTWARE, 1.0, 0.1, 0.001),
    (SOFTWARE, 16.0, 0.1 * 16 ** -0.3, 0.001 * 16 ** 0.4),
])
def test_servo_gains_scale_with_the_sync_interval_as_ptp4l_scales_them(noise: object, interval_s: float,
                                                                      kp: float, ki: float) -> None:
    """kp = min(kp_scale * s^-0.3, 0.7 / s), ki = min(ki_scale * s^0.4, 0.3 / s), as linuxptp's pi.c."""
    assert noise.gains(interval_s) == pytest.approx((kp, ki), rel=1e-12)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("log_interval", "limit_ns"), [(-3, 1_000), (0, 1_000), (4, 5_000)])
def test_servo_is_stable_at_every_sync_interval(log_interval: int, limit_ns: int) -> None:
    """Locked at Sync intervals of 1/8 s to 16 s: no restart after the first lock; the offset stays
    sub-microsecond with hardware timestamping, a few us at 16 s (the slow servo lags the crystal's wander;
    gains not scaled to the interval oscillated to milliseconds there)."""
    interval = round(2.0 ** log_interval * S)
    h = host(running_s=0.0, seed=5, sync_interval_ns=interval)
    end = EPOCH + 400 * S
    h.advance_to(end)
    slave = [s for s in h.samples if s.port_state is PortState.SLAVE]
    assert slave and h.samples[-1].port_state is PortState.SLAVE
    first = h.samples.index(slave[0])
    assert all(s.port_state is PortState.SLAVE for s in h.samples[first:])  # locked once, never restarted
    settled = [s.offset_ns for s in h.samples if s.host_ns > end - 100 * S]
    assert settled and max(abs(o) for o in settled if o is not None) < limit_ns
    assert np.abs(errors(h, 400, step_s=1.0)[300:]).max() < limit_ns


def test_samples_measure_the_offset_and_carry_both_clocks() -> None:
    """Each sample: offset = true error + asymmetry + noise (within the path delay), D = system - monotonic."""
    h = host(mode=PtpMode.OBSERVE, hardware=False, seed=4)
    h.advance_to(EPOCH + 30 * S)
    measured = [s for s in h.samples if s.offset_ns is not None]
    assert len(measured) >= 29
    for s in measured:
        t = true_of_mono(h, s.mono_ns)
        assert s.host_ns - s.mono_ns == h.realtime_ns(t) - h.mono_ns(t)
        assert s.mean_path_delay_ns is not None
        assert abs(s.offset_ns - h.error_ns(t)) <= s.mean_path_delay_ns + 200_000  # spikes are rare and small
    assert all(s.port_state is PortState.UNCALIBRATED for s in measured)  # free_running never locks


def test_observe_mode_never_touches_the_clock() -> None:
    """free_running: the host clock drifts freely (ms over a minute is possible), no step, no steering."""
    h = host(mode=PtpMode.OBSERVE, seed=5)
    e = errors(h, 60, 1.0)
    slope = np.polyfit(np.arange(len(e)), e, 1)[0]  # ns per s = ppb
    assert abs(slope) > 100  # tens of ppm of free drift, not steered away
    assert np.all(np.abs(np.diff(e) - slope) < 2_000)  # no steps: smooth drift (wander only)


def test_monotonic_clock_never_steps() -> None:
    """A hand step of +1 s: the system clock jumps, the monotonic clock does not; ptp4l steps it back."""
    h = host(clock_steps=((EPOCH + 5 * S, S),), seed=6)
    before, after = EPOCH + 5 * S - 1, EPOCH + 5 * S
    assert h.realtime_ns(after) - h.realtime_ns(before) == pytest.approx(S, abs=10)
    assert h.mono_ns(after) - h.mono_ns(before) < 10
    assert abs(h.error_ns(EPOCH + 9 * S)) < 10_000  # corrected within a few Sync intervals
    mono = [h.mono_ns(EPOCH + k * S // 10) for k in range(150)]
    assert np.all(np.diff(mono) > 0) and np.abs(np.diff(mono) - S // 10).max() < 1_000_000


def test_a_step_of_the_grandmasters_clock_moves_the_reference_and_slaves_follow() -> None:
    """The seeds/000 test: the reference host's time set by hand; every slave steps to it within seconds."""
    ref = Reference()
    ref.step(EPOCH + 5 * S, S)  # registered up front, as SimWorld does for the reference host
    gm = host(HostRole.REFERENCE, reference=ref, clock_steps=((EPOCH + 5 * S, S),), seed=7)
    slave = host(reference=ref, seed=8)
    assert gm.error_ns(EPOCH + 6 * S) == 0  # the reference host *is* the reference
    assert slave.error_ns(EPOCH + 5 * S + 1) == pytest.approx(-S, abs=10_000)  # right after: 1 s behind
    assert abs(slave.error_ns(EPOCH + 9 * S)) < 10_000  # stepped after its servo restarted


def test_a_negative_step_of_the_grandmaster_is_followed_back_without_the_monotonic_clock_going_back() -> None:
    """The reference set 500 ms back: each slave is 500 ms ahead at its next Sync, its servo steps it back within
    seconds; its monotonic clock, what frames are stamped on, keeps running forward through it all; a PTP camera's
    clock jumps back with the reference at its next Sync."""
    ref = Reference()
    ref.step(EPOCH + 5 * S, -S // 2)
    slave = host(reference=ref, seed=8)
    assert slave.error_ns(EPOCH + 5 * S + 1) == pytest.approx(S // 2, abs=10_000)
    assert abs(slave.error_ns(EPOCH + 9 * S)) < 10_000
    assert slave.realtime_ns(EPOCH + 9 * S) - slave.realtime_ns(EPOCH + 4 * S) == pytest.approx(4.5 * S, abs=1e6)
    mono = [slave.mono_ns(EPOCH + k * S // 20) for k in range(200)]
    assert np.all(np.diff(mono) > 0) and np.abs(np.diff(mono) - S // 20).max() < 100_000
    cam = PtpCameraClock(ref, np.random.default_rng(2), S)
    assert cam.device_ns(EPOCH + 4 * S) - (EPOCH + 4 * S) == pytest.approx(0, abs=100)
    assert cam.device_ns(EPOCH + 7 * S) - (EPOCH + 7 * S) == pytest.approx(-S // 2, abs=100)


def test_losing_the_master_is_holdover_then_relock() -> None:
    """Master gone for 20 s: no Sync, LISTENING after the announce timeout, small holdover drift, then relock."""
    h = host(losses=((EPOCH + 5 * S, EPOCH + 25 * S),), seed=9)
    h.advance_to(EPOCH + 40 * S)
    lost = [s for s in h.samples if h.mono_ns(EPOCH + 5 * S) <= s.mono_ns < h.mono_ns(EPOCH + 25 * S)]
    assert 12 <= len(lost) <= 16  # silent for the announce timeout (6 s), then LISTENING once per interval
    assert all(s.port_state is PortState.LISTENING and not s.gm_present and s.offset_ns is None for s in lost)
    holdover = abs(h.error_ns(EPOCH + 24 * S))
    assert holdover < 20 * 2_000  # < 2 ppm over 20 s
    assert h.samples[-1].port_state is PortState.SLAVE
    assert abs(h.error_ns(EPOCH + 40 * S)) < 1_000


def test_ptp_camera_clock_reads_the_reference_and_follows_its_steps() -> None:
    """A GigE camera's PTP clock: within ~100 ns of the reference; a reference step reached at its next Sync."""
    ref = Reference()
    ref.step(EPOCH + 10 * S, 2 * S)
    cam = PtpCameraClock(ref, np.random.default_rng(1), S)
    before = [cam.device_ns(EPOCH + k * 1_000_003) - (EPOCH + k * 1_000_003) for k in range(9000)]
    assert max(abs(x) for x in before) < 100
    assert cam.device_ns(EPOCH + 12 * S) - ref.ns(EPOCH + 12 * S) == pytest.approx(0, abs=100)
    assert cam.true_ns(cam.device_ns(EPOCH + 3 * S)) == pytest.approx(EPOCH + 3 * S, abs=1)
