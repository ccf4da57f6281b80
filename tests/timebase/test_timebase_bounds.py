"""The clock estimator's error bound holds on heavy-tailed, bursty, drifting links, and is not needlessly loose.

Criterion: every frame exposed at least 0.3 s after the device's first frame (the capture discards what is
exposed within ``plan.warmup_ns`` >= 0.3 s of its start, see ``CaptureSession._frame``), from the device's 10th
frame on (``EstimatorConfig.prior_points``: before, the pin bound is capped by a prior, 5 ms, which a link with
a 10 ms body may exceed), maps within its bound, on links whose first frame is not held up by a burst. A link
held up from its first frame until after the warm-up is indistinguishable from one with a longer fixed latency,
which only the declared latency uncertainty covers.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.timebase.links import Link, links

from rigsync.core.frame import ClockDomain, Frame, TimestampSemantics
from rigsync.timebase.estimator import ClockEstimator, EstimatorConfig
from rigsync.timebase.stamper import DeviceTimebase, TimebaseConfig

WARMUP_NS = 300_000_000
PRIOR_POINTS = EstimatorConfig().prior_points

HEAVY = Link(drift_ppm=8.8, fps=30.0, streams=2, body_ns=3_500_000.0, mid_p=0.14, mid_ns=1_800_000.0, tail_p=0.08,
             tail_xm_ns=6_000_000.0, tail_alpha=1.6, tail_cap_ns=45_000_000.0)
"""Issue 7's heavy-tailed link (bench_clock.py's ``heavy``): beyond its minimum an exponential body (78% mean
3.5 ms, 14% mean 1.8 ms) and an 8% Pareto tail from 6 ms capped at 45 ms (p50 2.5 ms, p99 23 ms)."""


def estimator_run(link: Link, seed: int, seconds: float = 25.0) -> list[tuple[float, int, float]]:
    """(seconds since the first exposure, mapping error, bound) of every frame the criterion covers."""
    est = ClockEstimator()
    frames = link.frames(seed, seconds)
    t0 = min(f[2] for f in frames)
    out = []
    for i, (device, rx, true, _) in enumerate(frames):
        est.add(device, rx)
        e = est.estimate
        assert e is not None
        if true - t0 >= WARMUP_NS and i + 1 >= PRIOR_POINTS:
            out.append(((true - t0) / 1e9, e.map(device) - true, e.bound_at(device)))
    return out


def stamper_run(link: Link, seed: int, seconds: float = 25.0) -> list[tuple[float, int, float]]:
    """The same through the stamping path (slewing towards each new estimate, the correction in the bound)."""
    tb = DeviceTimebase(ClockDomain.DEVICE, TimebaseConfig(latency_uncertainty_ns=0))
    frames = link.frames(seed, seconds)
    t0 = min(f[2] for f in frames)
    out = []
    for seq, (device, rx, true, stream) in enumerate(frames):
        f = Frame(device="d", stream=f"s{stream}", seq=seq, device_ts_ns=device, host_rx_ns=rx,
                  semantics=TimestampSemantics.START_OF_EXPOSURE, domain=ClockDomain.DEVICE, min_latency_ns=0,
                  exposure_ns=1_000_000, image=None, encoding="rgb8")
        s = tb.stamp(f, round(1e9 / link.fps))
        if true - t0 >= WARMUP_NS and seq + 1 >= PRIOR_POINTS:
            out.append(((true - t0) / 1e9, s.start_ns - true, float(s.error_bound_ns)))
    return out


def outside(rows: list[tuple[float, int, float]]) -> list[tuple[float, int, float]]:
    return [r for r in rows if abs(r[1]) > r[2]]


# The bound is a statistical claim (missed with probability ~1e-7 per estimate): the examples are derandomized so
# that the suite is deterministic (thousands of random ones were run while developing it).
@settings(max_examples=60, deadline=None, derandomize=True)
@given(link=links, seed=st.integers(0, 2**31))
def test_bound_holds_after_the_warm_up(link: Link, seed: int) -> None:
    """On any link of the family, every frame the criterion covers maps within its error bound."""
    assert outside(estimator_run(link, seed)) == []


@settings(max_examples=30, deadline=None, derandomize=True)
@given(link=links, seed=st.integers(0, 2**31))
def test_stamps_hold_their_bound_while_slewing(link: Link, seed: int) -> None:
    """Through the stamping path too, including while a changed estimate is slewed to: stamps within bound."""
    assert outside(stamper_run(link, seed)) == []


def test_bound_is_not_needlessly_loose() -> None:
    """Once the window is full on heavy-tailed links, the median bound is within 6x the 99.9th percentile error."""
    one_ms = Link(drift_ppm=-120.0, fps=30.0, streams=2, body_ns=1_000_000.0, tail_p=0.02, tail_cap_ns=30_000_000.0)
    for link in (HEAVY, one_ms):
        rows = [r for seed in range(8) for r in estimator_run(link, seed) if r[0] >= 10.0]
        errors, bounds = np.abs([r[1] for r in rows]), np.array([r[2] for r in rows])
        assert np.all(errors <= bounds)
        assert np.median(bounds) <= 6 * np.quantile(errors, 0.999)


def test_new_lowest_point_that_tilts_the_drift_stays_within_bound() -> None:
    """Issue 7: a new lowest point tilts the fitted drift by tens of ppm (the estimator before issue 7 then left
    its bound on 102 frames of this run); every frame stays within its bound, before and after."""
    est = ClockEstimator()
    frames = HEAVY.frames(33, 25.0)
    t0 = min(f[2] for f in frames)
    drifts = []
    for device, rx, true, _ in frames:
        est.add(device, rx)
        e = est.estimate
        assert e is not None
        if true - t0 >= 3e9:  # well after the first fit
            drifts.append(e.drift_ppm)
        if true - t0 >= WARMUP_NS:
            assert abs(e.map(device) - true) <= e.bound_at(device)
    assert max(abs(b - a) for a, b in itertools.pairwise(drifts)) > 40.0
