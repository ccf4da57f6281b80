"""The lower-envelope clock estimator and counter unwrapping, checked against known clocks and delays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.timebase.links import Link, links
from tests.timebase.test_timebase_hull import lower_hull

from rigsync.core.counter import CounterUnwrapper
from rigsync.timebase.bound import envelope_bound, pin_factor
from rigsync.timebase.estimator import ClockEstimate, ClockEstimator, EstimatorConfig

OFFSET_NS = 1_790_000_000_000_000_000  # host time at device time 0


def usb_delays(rng: np.random.Generator, n: int) -> np.ndarray:
    """One-way delays like USB frame arrival: >= 125 us, exponential body, heavy tail to milliseconds."""
    d = rng.exponential(60_000, n)
    pick = rng.random(n)
    d = np.where(pick < 0.05, rng.exponential(1_000_000, n), d)
    d = np.where(pick < 0.005, np.minimum(1_000_000 * (rng.pareto(1.5, n) + 1), 20_000_000), d)
    return 125_000 + d


def observe(seed: int, drift_ppm: float, seconds: float = 20.0, rate_hz: float = 60.0):
    """(device_ns, host_ns observed, host_ns true) for a device clock with the given drift."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz)
    host_true = OFFSET_NS + (np.arange(n) * 1e9 / rate_hz + rng.uniform(0, 1e7)).astype(np.int64)
    device = ((host_true - OFFSET_NS) * (1 + drift_ppm * 1e-6)).astype(np.int64) + 123_456_789
    host_seen = host_true + usb_delays(rng, n).astype(np.int64)
    return device, host_seen, host_true


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("drift_ppm", [-100.0, 0.0, 37.5, 100.0])
def test_recovers_drift_and_offset_despite_heavy_tails(seed: int, drift_ppm: float) -> None:
    """After 10 s the mapping is within a few us of the truth and the drift within 0.5 ppm."""
    device, seen, true = observe(seed, drift_ppm)
    est = ClockEstimator()
    errors = []
    for d, h, t in zip(device, seen, true, strict=True):
        est.add(int(d), int(h) - 125_000)  # minus the nominal minimum latency
        e = est.estimate
        assert e is not None
        if t - true[0] > 10e9:
            errors.append(abs(e.map(int(d)) - t))
    e = est.estimate
    assert e is not None and e.fitted
    assert abs(e.drift_ppm - (1 / (1 + drift_ppm * 1e-6) - 1) * 1e6) < 0.5
    assert np.percentile(errors, 99) < 10_000


def test_mean_fit_would_carry_the_latency_bias() -> None:
    """A least-squares fit is biased by the mean latency; the lower envelope is not."""
    device, seen, true = observe(1, 50.0)
    est = ClockEstimator()
    for d, h in zip(device, seen, strict=True):
        est.add(int(d), int(h) - 125_000)
    e = est.estimate
    assert e is not None
    slope, intercept = np.polyfit(device - device[0], (seen - 125_000 - seen[0]).astype(float), 1)
    ls_error = np.mean(np.abs(intercept + slope * (device - device[0]) + seen[0] - true))
    env_error = np.mean([abs(e.map(int(d)) - t) for d, t in zip(device[-300:], true[-300:], strict=True)])
    assert ls_error > 100_000  # the mean excess delay (~110 us here)
    assert env_error < 5_000


@pytest.mark.parametrize("seed", range(10))
def test_error_bound_holds(seed: int) -> None:
    """The reported bound covers the true error of every frame after the capture's 0.3 s warm-up."""
    device, seen, true = observe(seed + 100, 80.0, seconds=15)
    est = ClockEstimator()
    for d, h, t in zip(device, seen, true, strict=True):
        est.add(int(d), int(h) - 125_000)
        e = est.estimate
        assert e is not None
        if t - true[0] >= 300_000_000:
            assert abs(e.map(int(d)) - t) <= e.bound_at(int(d))


def test_bound_shrinks_as_points_accumulate() -> None:
    """The bound starts at milliseconds (one point) and tightens to microseconds."""
    device, seen, _ = observe(3, 20.0)
    est = ClockEstimator()
    est.add(int(device[0]), int(seen[0]))
    first = est.estimate
    assert first is not None and first.bound_at(int(device[0])) >= 1_000_000
    for d, h in zip(device[1:], seen[1:], strict=True):
        est.add(int(d), int(h))
    last = est.estimate
    assert last is not None and last.bound_at(int(device[-1])) < 20_000


def test_host_clock_step_back_restarts_the_window() -> None:
    """Points far below the envelope mean the host clock stepped: the estimator restarts on them."""
    device, seen, _ = observe(4, 10.0, seconds=5)
    est = ClockEstimator(EstimatorConfig(max_step_ns=10_000_000))
    for d, h in zip(device, seen, strict=True):
        est.add(int(d), int(h))
    step = 1_000_000_000
    for d, h in zip(device[-60:] + 10**10, seen[-60:] + 10**10 - step, strict=True):
        est.add(int(d), int(h))
    e = est.estimate
    assert est.steps_detected == 1
    assert e is not None and abs(e.map(int(device[-1] + 10**10)) - (seen[-1] + 10**10 - step)) < 5_000_000


def test_window_forgets_old_points() -> None:
    """Points older than the window no longer pin the line (slow frequency wander is tracked)."""
    config = EstimatorConfig(window_ns=2_000_000_000)
    est = ClockEstimator(config)
    for i in range(600):  # 10 s at 60 Hz, the device's rate changes by 20 ppm halfway
        t = i * 16_666_667
        rate = 1.0 if i < 300 else 1.00002
        d = int(300 * 16_666_667 + (t - 300 * 16_666_667) * rate) if i >= 300 else t
        est.add(d, OFFSET_NS + t + 125_000)
    e = est.estimate
    assert e is not None and abs(e.drift_ppm + 20.0) < 0.5


def test_config_is_validated() -> None:
    """Nonsense estimator settings are refused at construction."""
    with pytest.raises(ValueError):
        EstimatorConfig(bucket_ns=0)
    with pytest.raises(ValueError):
        EstimatorConfig(window_ns=1, bucket_ns=1)
    with pytest.raises(ValueError):
        EstimatorConfig(scale_gaps=1)
    with pytest.raises(ValueError):
        EstimatorConfig(miss_probability=1.0)
    with pytest.raises(ValueError):
        EstimatorConfig(refit_ns=-1)
    with pytest.raises(ValueError):
        EstimatorConfig(prior_points=3)


@pytest.mark.parametrize("gaps", [2, 8, 24, 100])
def test_pin_factor_meets_the_miss_probability(gaps: int) -> None:
    """The pin factor f solves (1 + f / gaps) ** -gaps = miss probability, and shrinks as the gaps grow."""
    f = pin_factor(gaps, 1e-7)
    assert (1 + f / gaps) ** -gaps == pytest.approx(1e-7)
    assert pin_factor(gaps + 1, 1e-7) < f


def test_hand_made_estimate_is_bounded_by_its_pin_and_the_largest_drift() -> None:
    """An estimate without envelope (made by hand) is bounded by its pin bound plus max drift x distance."""
    e = ClockEstimate(ref_device_ns=0, ref_host_ns=10, drift=0.0, pin_bound_ns=1000.0, span_ns=10**9,
                      first_device_ns=0, last_device_ns=10**9, samples=10, fitted=True, max_drift=1e-4)
    assert e.at(2_000_000) == (2_000_010, 1200.0, 1200.0)
    assert e.bound_at(-2_000_000) == 1200.0


def test_unwrap_32_bit_microseconds() -> None:
    """A 32-bit counter that wraps is extended to a monotonic value."""
    u = CounterUnwrapper(32)
    raw = [2**32 - 300, 2**32 - 100, 50, 400, 2**32 - 50 + 2**32 // 4 * 0]
    out = [u.unwrap(r) for r in raw[:4]]
    assert out == [2**32 - 300, 2**32 - 100, 2**32 + 50, 2**32 + 400]


def test_unwrap_tolerates_small_reordering() -> None:
    """A reading slightly older than the previous one is a small step back, not a wrap."""
    u = CounterUnwrapper(16)
    assert [u.unwrap(v) for v in (65530, 5, 65534, 10)] == [65530, 65541, 65534, 65546]


def test_unwrap_rejects_out_of_range() -> None:
    """Values outside the counter range are refused; so are silly widths."""
    with pytest.raises(ValueError):
        CounterUnwrapper(8).unwrap(256)
    with pytest.raises(ValueError):
        CounterUnwrapper(0)


@given(st.integers(1, 40), st.integers(0, 2**40), st.lists(st.integers(1, 2**20), min_size=1, max_size=50))
def test_unwrap_recovers_any_forward_sequence(width: int, start: int, steps: list[int]) -> None:
    """Any sequence moving forward by less than half the range per reading unwraps exactly."""
    half = 1 << (width - 1)
    u = CounterUnwrapper(width)
    value = start
    offset = None
    for step in [0, *(s % half for s in steps)]:
        value += step
        got = u.unwrap(value % (1 << width))
        offset = got - value if offset is None else offset
        assert got - value == offset


def reference_estimate(points: list[tuple[int, int]], origin: tuple[int, int], samples: int, fitted: bool,
                       config: EstimatorConfig) -> ClockEstimate:
    """From scratch: the hull of the points, its edge at their mean abscissa, every residual sorted, the bound."""
    hull = lower_hull(points)
    n = len(points)
    x_sum = sum(x for x, _ in points)
    pin = float(config.initial_bound_ns)
    edge = 0
    if n == 1:
        ref, slope, pivot = points[0], 1.0, float(points[0][0])
    else:
        edge = max(i for i, (x, _) in enumerate(hull) if x * n <= x_sum)
        (ax, ay), (bx, by) = hull[edge], hull[edge + 1]
        if n >= 4:
            keys = sorted((bx - ax) * (y - ay) - (by - ay) * (x - ax) for x, y in points)  # residual x (bx - ax)
            pins = [pin_factor(gaps, config.miss_probability / 2) * (keys[gaps + 1] / (bx - ax)) / gaps
                    for gaps in (min(config.scale_gaps, n - 2), max(2, min(config.scale_gaps, (n - 2) // 2)))]
            if n >= config.prior_points:
                pin = math.inf
            pin = max(min(pin, *pins), float(config.min_bound_ns))
        pivot = x_sum / n
        ref, slope = ((ax, ay), (by - ay) / (bx - ax)) if fitted else (min(hull, key=lambda v: v[1] - v[0]), 1.0)
    prior = None if fitted else (1 / (1 + config.max_drift), 1 / (1 - config.max_drift))
    x0, y0 = origin
    return ClockEstimate(
        ref_device_ns=ref[0] + x0, ref_host_ns=ref[1] + y0, drift=slope - 1.0, pin_bound_ns=pin,
        span_ns=points[-1][0] - points[0][0], first_device_ns=points[0][0] + x0, last_device_ns=points[-1][0] + x0,
        samples=samples, fitted=fitted, max_drift=config.max_drift,
        envelope=envelope_bound(hull, edge, pivot, pin, (ref, slope), prior))


@settings(max_examples=25, deadline=None)
@given(link=links, seed=st.integers(0, 2**31))
def test_incremental_estimate_equals_a_fit_from_scratch(link: Link, seed: int) -> None:
    """At every step the kept points' hull equals a hull from scratch, and every refitted estimate equals a fit
    from scratch of the points it was built from (a 3 s window: points expire, the front is rebuilt)."""
    config = EstimatorConfig(window_ns=3_000_000_000)
    est = ClockEstimator(config)
    for device, rx, _, _ in link.frames(seed, 8.0):
        changed = est.add(device, rx)
        points = sorted(est.points)
        assert est.hull() == lower_hull(points)
        e = est.estimate
        if changed:
            assert e is not None and est.origin is not None
            assert e == reference_estimate(points, est.origin, e.samples, e.fitted, config)


def test_prior_caps_the_pin_bound_over_the_first_points() -> None:
    """Over a device's first ten points the pin bound is at most the 5 ms prior; from the tenth on, the data's."""
    rng = np.random.default_rng(7)
    est = ClockEstimator()
    pins = []
    for k in range(14):
        t = k * 33_333_333
        est.add(t, OFFSET_NS + t + int(rng.exponential(10_000_000)))  # a link with a 10 ms delay body
        e = est.estimate
        assert e is not None
        pins.append(e.pin_bound_ns)
    assert max(pins[:9]) <= 5_000_000 < min(pins[9:])


@settings(max_examples=25, deadline=None)
@given(link=links, seed=st.integers(0, 2**31), where=st.floats(-0.5, 1.5))
def test_the_inlined_bound_of_an_estimate_is_its_envelopes(link: Link, seed: int, where: float) -> None:
    """ClockEstimate.at (the per-frame path, with EnvelopeBound.range_at and map inlined) equals map() and the
    envelope's range plus the 1 ns of integer rounding, before and after the drift is fitted, inside and beyond
    the sampled span."""
    est = ClockEstimator(EstimatorConfig(window_ns=3_000_000_000))
    seen = set()
    for device, rx, _, _ in link.frames(seed, 4.0):
        if not est.add(device, rx):
            continue
        e = est.estimate
        assert e is not None and e.envelope is not None
        seen.add(e.fitted)
        x = e.first_device_ns + round(where * (e.last_device_ns - e.first_device_ns + 1_000_000))
        mapped, below, above = e.at(x)
        ref_below, ref_above = e.envelope.range_at(x - e.ref_device_ns)
        assert mapped == e.map(x)
        assert below == pytest.approx(ref_below + 1.0, rel=1e-12, abs=1e-6)
        assert above == pytest.approx(ref_above + 1.0, rel=1e-12, abs=1e-6)
        assert e.bound_at(x) == max(below, above)
    assert seen == {False, True}
