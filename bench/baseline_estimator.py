"""FROZEN COPY, for benchmarks only: rigsync's clock estimator as it was before issue 7 (commit 5bf167e), the
baseline that bench_clock.py measures the stamping cost against. Not used by rigsync; do not edit except for the
adapter at the end (``ClockEstimate.at``, which the current stamper calls).

Online estimation of a device clock -> host clock mapping from one-way observations.

Each frame gives a pair (``device_ns``: the device clock at some instant, ``host_ns``: the host clock when
the frame arrived, minus the driver's nominal minimum latency). The arrival is always *later* than the
mapped instant by a positive, heavy-tailed delay, so a least-squares fit carries the mean latency as a
bias. The true line lies below every point; this estimator keeps the **lower convex hull** of the points
in a sliding window and picks the supporting line that minimises the summed residuals (the linear-
programming estimator of Moon, Skelly & Towsley, "Estimation and removal of clock skew from network delay
measurements", 1999): the hull edge spanning the mean abscissa.

Pure code: no clocks are read, the caller passes every time value in.

To bound the work per frame, points are kept per *bucket* (default 100 ms of device time): only the
lowest point of a bucket can touch the envelope, the hull is rebuilt when a bucket closes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EstimatorConfig:
    bucket_ns: int = 100_000_000
    """Device-time width of a bucket; one candidate point is kept per bucket."""
    window_ns: int = 20_000_000_000
    """Sliding window of device time the hull is built from (tracks slow frequency wander)."""
    min_span_ns: int = 1_000_000_000
    """Until the points span this much device time, the drift is not estimated (offset only)."""
    bound_factor: float = 10.0
    """Envelope error bound = (factor + small_n / n) x the mean gap between the lowest residuals
    (see ``ClockEstimator._pin_bound``)."""
    small_n: float = 100.0
    initial_bound_ns: int = 5_000_000
    """Bound while fewer than four points exist: the scale of a heavy-tailed link's rare delays."""
    min_bound_ns: int = 2_000
    max_step_ns: int = 50_000_000
    """A new point this far *below* the envelope means the host clock stepped: the window restarts."""
    max_drift: float = 300e-6
    """Largest clock frequency error assumed before the drift is estimated (crystals: tens of ppm)."""

    def __post_init__(self) -> None:
        if self.bucket_ns <= 0 or self.window_ns < 2 * self.bucket_ns:
            raise ValueError("need bucket_ns > 0 and window_ns >= 2 buckets")
        if self.min_span_ns <= 0 or self.bound_factor <= 0 or self.min_bound_ns < 0 or self.small_n < 0:
            raise ValueError("min_span_ns and bound_factor must be positive, min_bound_ns and small_n >= 0")
        if self.initial_bound_ns <= 0 or not 0 <= self.max_drift < 0.01:
            raise ValueError("initial_bound_ns must be positive and max_drift within 0 to 0.01")


@dataclass(frozen=True)
class ClockEstimate:
    """``host_ns = ref_host_ns + (device_ns - ref_device_ns) * (1 + drift)``, with an error bound."""

    ref_device_ns: int
    ref_host_ns: int
    drift: float
    """Relative frequency error of the device clock against the host clock (1e-6 = 1 ppm)."""
    pin_bound_ns: float
    """How far above the true line the envelope may sit where it is pinned by points."""
    span_ns: int
    """Device time covered by the points behind the estimate."""
    first_device_ns: int
    last_device_ns: int
    samples: int
    fitted: bool
    """True once the drift is estimated (points span ``min_span_ns``); before, the drift is taken as 0."""
    max_drift: float

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    def map(self, device_ns: int) -> int:
        """Host time at ``device_ns`` (integer arithmetic on the large reference: no float rounding)."""
        return self.ref_host_ns + round((device_ns - self.ref_device_ns) * (1.0 + self.drift))

    def bound_at(self, device_ns: int) -> float:
        """Error bound of :meth:`map` at ``device_ns``: the pin bound where the line is pinned (the middle of
        the points), plus the slope's uncertainty (pin bound over half the span) times the distance from it."""
        if not self.fitted:
            return self.pin_bound_ns + abs(device_ns - self.ref_device_ns) * self.max_drift
        lo, hi = self.first_device_ns, self.last_device_ns
        outside = max(lo - device_ns, device_ns - hi, 0)
        inside_offset = abs(device_ns - (lo + hi) / 2) / (self.span_ns / 2)
        slope_bound = self.pin_bound_ns / (self.span_ns / 2)
        return self.pin_bound_ns * (1.0 + min(inside_offset, 1.0)) + outside * slope_bound


class ClockEstimator:
    """Lower-envelope estimator of a device -> host clock mapping. Feed it with :meth:`add`."""

    def __init__(self, config: EstimatorConfig | None = None) -> None:
        self.config = config or EstimatorConfig()
        self._x0: int | None = None
        self._y0 = 0
        self._buckets: dict[int, tuple[int, int]] = {}  # bucket index -> lowest (x, y), relative ints
        self._early: list[tuple[int, int]] | None = []  # every point until the drift is fitted
        self._newest_bucket = 0
        self._samples = 0
        self._estimate: ClockEstimate | None = None
        self.steps_detected = 0

    @property
    def estimate(self) -> ClockEstimate | None:
        return self._estimate

    def reset(self) -> None:
        """Forget every point (the device clock restarted, or the host clock stepped)."""
        self._x0 = None
        self._buckets.clear()
        self._early = []
        self._newest_bucket = 0
        self._samples = 0
        self._estimate = None

    def add(self, device_ns: int, host_ns: int) -> bool:
        """Add one observation; returns True if the estimate changed."""
        est = self._estimate
        if est is not None and est.map(device_ns) - host_ns > self.config.max_step_ns:
            # Far below the envelope: the host clock stepped back (or the device clock jumped).
            self.steps_detected += 1
            self.reset()
            est = None
        if self._x0 is None:
            self._x0, self._y0 = device_ns, host_ns
        x = device_ns - self._x0
        y = host_ns - self._y0
        self._samples += 1
        if self._early is not None:
            self._early.append((x, y))
        b = x // self.config.bucket_ns
        slope = 1.0 + (est.drift if est else 0.0)
        current = self._buckets.get(b)
        if current is not None and y - x * slope >= current[1] - current[0] * slope:
            if self._early is not None:
                self._refit()
                return True
            return False  # not the lowest of its bucket: cannot touch the envelope
        self._buckets[b] = (x, y)
        new_bucket = b > self._newest_bucket or current is None
        if b > self._newest_bucket:
            self._newest_bucket = b
            horizon = b - self.config.window_ns // self.config.bucket_ns
            for old in [k for k in self._buckets if k < horizon]:
                del self._buckets[old]
        below_line = est is None or host_ns < est.map(device_ns)
        if new_bucket or below_line:
            self._refit()
            return True
        return False

    # --- internals ------------------------------------------------------------------------------

    def _refit(self) -> None:
        pts = sorted(self._buckets.values())
        x0 = self._x0 if self._x0 is not None else 0
        span = pts[-1][0] - pts[0][0]
        fitted = span >= self.config.min_span_ns and len(pts) >= 3
        if fitted:
            self._early = None
        elif self._early is not None:
            pts = sorted(self._early)  # all points while the offset alone is estimated
        if not fitted:
            # Offset only: the lowest point relative to a unit slope pins the line.
            bx, by = min(pts, key=lambda p: p[1] - p[0])
            drift, ref_x, ref_y = 0.0, bx, float(by)
        else:
            hull = _lower_hull(pts)
            mean_x = sum(p[0] for p in pts) / len(pts)
            drift, ref_x, ref_y = _support_line(hull, mean_x)
        slope = 1.0 + drift
        residuals = sorted(y - (ref_y + (x - ref_x) * slope) for x, y in pts)
        pin = max(self._pin_bound(residuals), float(self.config.min_bound_ns))
        if not fitted:  # the unit slope is wrong by up to max_drift over the points' span
            pin += self.config.max_drift * span
        self._estimate = ClockEstimate(
            ref_device_ns=ref_x + x0,
            ref_host_ns=round(ref_y) + self._y0,
            drift=drift,
            pin_bound_ns=pin,
            span_ns=span,
            first_device_ns=pts[0][0] + x0,
            last_device_ns=pts[-1][0] + x0,
            samples=self._samples,
            fitted=fitted,
            max_drift=self.config.max_drift,
        )

    def _pin_bound(self, residuals: list[float]) -> float:
        """How far the lowest points may sit above the true line.

        Near zero, the excess delay has some density; the n residuals' lowest gaps estimate it, and the
        touching points' own excess is exponentially distributed at that scale: about 7 mean gaps cover
        99.9%. The factor adds margin for the gaps being estimated from few points.
        """
        n = len(residuals)
        if n < 4:
            return float(self.config.initial_bound_ns)
        k = min(8, n - 1)
        mean_gap = residuals[k] / k
        return (self.config.bound_factor + self.config.small_n / n) * mean_gap


def _cross(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _lower_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Andrew's monotone chain, lower half, on x-sorted integer points (exact arithmetic)."""
    hull: list[tuple[int, int]] = []
    for p in points:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) <= 0:
            hull.pop()
        hull.append(p)
    return hull


def _support_line(hull: list[tuple[int, int]], at_x: float) -> tuple[float, int, float]:
    """(drift, x, y) of the hull edge spanning ``at_x`` (its left end as reference point)."""
    if len(hull) == 1:
        return 0.0, hull[0][0], float(hull[0][1])
    for (xa, ya), (xb, yb) in itertools.pairwise(hull):
        if xa <= at_x <= xb or (xb, yb) == hull[-1]:
            if xb == xa:
                return 0.0, xa, float(min(ya, yb))
            slope = (yb - ya) / (xb - xa)
            return slope - 1.0, xa, float(ya)
    xa, ya = hull[0]
    return 0.0, xa, float(ya)


def ppm(value: float) -> float:
    """Relative frequency error to parts per million (for display)."""
    return value * 1e6 if math.isfinite(value) else value


def _at(self: ClockEstimate, device_ns: int) -> tuple[int, float, float]:
    """Adapter: the current stamper asks an estimate for (mapped value, bound below, bound above)."""
    bound = self.bound_at(device_ns)
    return self.map(device_ns), bound, bound


ClockEstimate.at = _at  # type: ignore[attr-defined]
