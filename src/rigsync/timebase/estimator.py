"""Online estimation of a device clock -> host clock mapping from one-way observations.

Each frame gives a pair (``device_ns``: the device clock at some instant, ``host_ns``: the host clock when
the frame arrived, minus the driver's nominal minimum latency). The arrival is always *later* than the
mapped instant by a positive, heavy-tailed delay, so a least-squares fit carries the mean latency as a
bias. The true line lies below every point; this estimator keeps the **lower convex hull** of the points
in a sliding window and picks the supporting line that minimises the summed residuals (the linear-
programming estimator of Moon, Skelly & Towsley, "Estimation and removal of clock skew from network delay
measurements", 1999): the hull edge spanning the mean abscissa (the *pivot*).

Its error bound comes from the set of lines the data cannot rule out (:mod:`rigsync.timebase.bound`): below
every point, and within the *pin bound* of the envelope at the pivot, where the pin bound is a multiple of the
delay scale read off the lowest residuals (the mean gap between them), chosen for a small chance of being
exceeded (``miss_probability``); over the first ``prior_points`` points a prior (``initial_bound_ns``) caps it.
It accounts for the slope's uncertainty everywhere, inside the points' span and beyond it.

Until the points span ``min_span_ns`` the drift is not estimated: the line has unit slope through the lowest
point and the bound assumes the drift within ``max_drift``.

To bound the work per frame, once there are enough *buckets* (default 100 ms of device time) for the full
delay-scale estimate (``2 * scale_gaps + 2``, or the window's worth), only each bucket's lowest point is kept:
only it can touch the envelope. Before, every point counts. The hull is maintained incrementally
(:class:`~rigsync.timebase.hull.SlidingHull`); the estimate is refitted when a point falls below the current
line, and when a bucket opens (once per ``refit_ns`` once fitted). Pure code: no clocks are read, the caller
passes every time value in.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from dataclasses import dataclass

from rigsync.timebase.bound import EnvelopeBound, envelope_bound, pin_factor
from rigsync.timebase.hull import Point, SlidingHull


@dataclass(frozen=True)
class EstimatorConfig:
    bucket_ns: int = 100_000_000
    """Device-time width of a bucket; one candidate point is kept per bucket."""
    window_ns: int = 20_000_000_000
    """Sliding window of device time the hull is built from (tracks slow frequency wander)."""
    min_span_ns: int = 1_000_000_000
    """Until the points span this much device time, the drift is not estimated (offset only)."""
    refit_ns: int = 500_000_000
    """Once fitted, the estimate is refitted when a bucket opens this long after the last refit, and whenever a
    point falls below the current line. In between the older estimate stays valid (its bound holds beyond
    its points); it widens a little as it is extrapolated."""
    scale_gaps: int = 24
    """How many gaps between the lowest residuals above the line estimate the delay scale near the floor (at
    most those of the lower half of the points, away from the tail)."""
    miss_probability: float = 1e-7
    """Chance that the envelope sits further above the true line than the pin bound (see ``pin_factor``)."""
    initial_bound_ns: int = 5_000_000
    """A prior: the lowest of a device's first points arrives within this of the floor. It is the pin bound
    below four points (no scale estimate yet) and caps it below ``prior_points``."""
    prior_points: int = 10
    """Below this many points the pin bound is at most ``initial_bound_ns``: a handful of points cannot pin the
    envelope at ``miss_probability`` (their bound would run to tens of ms), a link's first frames can."""
    min_bound_ns: int = 2_000
    """Floor of the pin bound. The bound assumes a constant clock rate over the window; this covers the
    curvature of a slowly wandering one (0.02 ppm/s over a 20 s window bends it by 1 us)."""
    max_step_ns: int = 50_000_000
    """A new point this far *below* the envelope means the host clock stepped: the window restarts."""
    max_drift: float = 300e-6
    """Largest frequency error of the device clock assumed before the drift is estimated (crystals: tens of
    ppm): the host/device rate lies within ``1 / (1 +- max_drift)``."""

    def __post_init__(self) -> None:
        if self.bucket_ns <= 0 or self.window_ns < 2 * self.bucket_ns:
            raise ValueError("need bucket_ns > 0 and window_ns >= 2 buckets")
        if self.min_span_ns <= 0 or self.min_bound_ns < 0 or self.scale_gaps < 2 or self.refit_ns < 0:
            raise ValueError("min_span_ns must be positive, min_bound_ns and refit_ns >= 0, scale_gaps >= 2")
        if self.prior_points < 4:
            raise ValueError("prior_points must be at least 4")
        if not 0 < self.miss_probability < 1:
            raise ValueError("miss_probability must lie strictly between 0 and 1")
        if self.initial_bound_ns <= 0 or not 0 <= self.max_drift < 0.01:
            raise ValueError("initial_bound_ns must be positive and max_drift within 0 to 0.01")


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """``host_ns = ref_host_ns + (device_ns - ref_device_ns) * (1 + drift)``, with an error bound."""

    ref_device_ns: int
    ref_host_ns: int
    drift: float
    """Relative frequency error of the device clock against the host clock (1e-6 = 1 ppm)."""
    pin_bound_ns: float
    """How far above the true line the envelope may sit at the pivot, where the line is pinned."""
    span_ns: int
    """Device time covered by the points behind the estimate."""
    first_device_ns: int
    last_device_ns: int
    samples: int
    fitted: bool
    """True once the drift is estimated (points span ``min_span_ns``); before, the drift is taken as 0."""
    max_drift: float
    envelope: EnvelopeBound | None = None
    """The lines consistent with the points; None for a hand-made estimate (bound: pin + max drift)."""

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    def map(self, device_ns: int) -> int:
        """Host time at ``device_ns`` (integer arithmetic on the large reference: no float rounding)."""
        return self.ref_host_ns + round((device_ns - self.ref_device_ns) * (1.0 + self.drift))

    def at(self, device_ns: int) -> tuple[int, float, float]:
        """(:meth:`map` at ``device_ns``, how far below it and how far above it the true host time may lie)."""
        offset = device_ns - self.ref_device_ns
        mapped = self.ref_host_ns + round(offset * (1.0 + self.drift))
        env = self.envelope
        if env is None:
            bound = self.pin_bound_ns + abs(offset) * self.max_drift
            return mapped, bound, bound
        # EnvelopeBound.range_at inlined (this runs for every frame), plus the mapping's rounding to integer ns.
        u = offset - env.pivot_ns
        if u >= 0:
            below_slope, chord0, chord_slope, tangent0, tangent_slope = env.right
        else:
            below_slope, chord0, chord_slope, tangent0, tangent_slope = env.left
            u = -u
        chord, tangent = chord0 + chord_slope * u, tangent0 + tangent_slope * u
        return mapped, env.below0 + below_slope * u + 1.0, (chord if chord > tangent else tangent) + 1.0

    def bound_at(self, device_ns: int) -> float:
        """Error bound of :meth:`map` at ``device_ns``."""
        _, below, above = self.at(device_ns)
        return max(below, above)


class _LowResiduals:
    """The lowest residuals of the window's points above a reference line through two integer points, exactly:
    integer keys (the residual times the line's x extent), kept as points come and go; recounted from every
    point when the line changes or too few are kept."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.line: tuple[Point, Point] | None = None
        self._ax = self._ay = self._dx = self._dy = 0
        self.keys: list[int] = []  # the len(keys) smallest keys of the points, sorted

    def added(self, p: Point, others: int) -> None:
        """``p`` joined ``others`` points."""
        if self.line is None:
            return
        k, keys = self._dx * (p[1] - self._ay) - self._dy * (p[0] - self._ax), self.keys
        if len(keys) == others or k < keys[-1]:
            insort(keys, k)
            if len(keys) > self.keep:
                keys.pop()

    def removed(self, p: Point) -> None:
        if self.line is None:
            return
        k, keys = self._dx * (p[1] - self._ay) - self._dy * (p[0] - self._ax), self.keys
        if keys and k <= keys[-1]:
            i = bisect_left(keys, k)
            if keys[i] == k:
                del keys[i]

    def residual(self, index: int, line: tuple[Point, Point], points: list[Point]) -> float:
        """The ``index``-th smallest residual (0 = lowest) of ``points`` above ``line``."""
        if line != self.line or (len(self.keys) <= index < len(points)):
            self.line = line
            (ax, ay), (bx, by) = line
            self._ax, self._ay, self._dx, self._dy = ax, ay, bx - ax, by - ay
            dx, dy = self._dx, self._dy
            # dx * (y - ay) - dy * (x - ax), with the constant part taken out of the loop over every point
            c = dx * ay - dy * ax
            self.keys = [k - c for k in heapq.nsmallest(self.keep, [dx * y - dy * x for x, y in points])]
        return self.keys[index] / self._dx


class ClockEstimator:
    """Lower-envelope estimator of a device -> host clock mapping. Feed it with :meth:`add`."""

    def __init__(self, config: EstimatorConfig | None = None) -> None:
        self.config = config or EstimatorConfig()
        self._hull = SlidingHull()
        self._low = _LowResiduals(self.config.scale_gaps + 10)
        self._x0: int | None = None
        self._y0 = 0
        self._bucketing = False  # False: every point is kept (by device time); True: one point per bucket
        self._early_buckets: dict[int, Point] = {}  # before bucketing: each bucket's lowest point
        self._pending: tuple[int, Point] | None = None  # the newest bucket's lowest point, not yet in the hull
        self._newest_bucket = 0
        self._refit_bucket = 0  # the newest bucket when the estimate was last refitted
        self._samples = 0
        self._estimate: ClockEstimate | None = None
        self.steps_detected = 0
        cfg = self.config
        self._bucket_ns = cfg.bucket_ns
        self._window_buckets = cfg.window_ns // cfg.bucket_ns
        self._max_step_ns = cfg.max_step_ns
        self._refit_buckets = cfg.refit_ns // cfg.bucket_ns
        # Two scale estimates are tried (see _pin_bound): each at half the miss probability.
        self._pin_factors = [0.0, *(pin_factor(g, cfg.miss_probability / 2) for g in range(1, cfg.scale_gaps + 1))]
        self._prior = (1.0 / (1.0 + cfg.max_drift), 1.0 / (1.0 - cfg.max_drift))

    @property
    def estimate(self) -> ClockEstimate | None:
        return self._estimate

    @property
    def origin(self) -> tuple[int, int] | None:
        """(device_ns, host_ns) of the first point, which :attr:`points` are relative to."""
        return None if self._x0 is None else (self._x0, self._y0)

    @property
    def points(self) -> list[Point]:
        """The points kept, relative to the first point ever added (diagnostics, tests). The estimate was built
        from them as they were at its last refit."""
        return self._hull.points + ([self._pending[1]] if self._pending is not None else [])

    def hull(self) -> list[Point]:
        """The lower convex hull of :attr:`points` (diagnostics, tests)."""
        vertices = self._hull.vertices()
        if self._pending is not None:  # the newest bucket's point, right of every other
            px, py = self._pending[1]
            while len(vertices) >= 2:
                (ox, oy), (ax, ay) = vertices[-2], vertices[-1]
                if (ax - ox) * (py - oy) - (ay - oy) * (px - ox) > 0:
                    break
                vertices.pop()
            vertices.append((px, py))
        return vertices

    def reset(self) -> None:
        """Forget every point (the device clock restarted, or the host clock stepped)."""
        self._x0 = None
        self._hull.clear()
        self._low.line = None
        self._bucketing = False
        self._early_buckets.clear()
        self._pending = None
        self._newest_bucket = self._refit_bucket = 0
        self._samples = 0
        self._estimate = None

    def add(self, device_ns: int, host_ns: int) -> bool:
        """Add one observation; returns True if the estimate changed."""
        est = self._estimate
        mapped = 0
        if est is not None:
            mapped = est.ref_host_ns + round((device_ns - est.ref_device_ns) * (1.0 + est.drift))  # est.map, inlined
            if mapped - host_ns > self._max_step_ns:
                # Far below the envelope: the host clock stepped back (or the device clock jumped).
                self.steps_detected += 1
                self.reset()
                est = None
            elif self._pending is not None and host_ns >= mapped and self._x0 is not None:
                # Most frames: in the newest bucket and above the line, they only compete for their bucket.
                b, (px, py) = self._pending
                x = device_ns - self._x0
                if x // self._bucket_ns == b:
                    self._samples += 1
                    y = host_ns - self._y0
                    if y - py < (x - px) * (1.0 + est.drift):
                        self._pending = (b, (x, y))
                    return False
        if self._x0 is None:
            self._x0, self._y0 = device_ns, host_ns
        x = device_ns - self._x0
        y = host_ns - self._y0
        self._samples += 1
        b = x // self._bucket_ns
        if self._bucketing:
            if not self._add_to_bucket(b, x, y, est):
                return False
        elif not self._add_early(b, x, y):
            return False
        # Refit when a point falls below the current line, at each of the first prior_points points; otherwise
        # when a bucket opens, once per refit_ns when fitted (an older estimate stays valid, its bound widens).
        if (est is None or host_ns < mapped or len(self._hull.points) <= self.config.prior_points
                or b >= self._refit_bucket + (self._refit_buckets if est.fitted else 1)):
            self._refit()
            return True
        return False

    def _add_to_bucket(self, b: int, x: int, y: int, est: ClockEstimate | None) -> bool:
        """Keep (x, y) if it is the lowest of its bucket (relative to the estimate's slope); True if kept.

        The newest bucket's lowest point is held aside (``_pending``) and joins the hull when the next bucket
        opens or the estimate is refitted: most frames only compete for their bucket.
        """
        slope = 1.0 + (est.drift if est is not None else 0.0)
        pending = self._pending
        if b > self._newest_bucket:
            if pending is not None:
                self._put(*pending)
            self._pending = (b, (x, y))
            self._newest_bucket = b
            for gone in self._hull.expire_before(b - self._window_buckets):
                self._low.removed(gone)
            return True
        held = pending is not None and pending[0] == b
        current = pending[1] if held and pending is not None else self._hull.get(b)
        if current is not None and y - current[1] >= (x - current[0]) * slope:
            return False  # not the lowest of its bucket: cannot touch the envelope
        if held:
            self._pending = (b, (x, y))
        else:
            self._put(b, (x, y))
        return True

    def _add_early(self, b: int, x: int, y: int) -> bool:
        """Until there are enough buckets, every point counts (the lowest per device time); True if kept."""
        lowest = self._early_buckets.get(b)
        if lowest is None or y - x < lowest[1] - lowest[0]:
            self._early_buckets[b] = (x, y)
        self._newest_bucket = max(self._newest_bucket, b)
        same = self._hull.get(x)
        if same is not None and same[1] <= y:
            return False
        self._put(x, (x, y))
        return True

    # --- internals ------------------------------------------------------------------------------

    def _put(self, key: int, p: Point) -> None:
        others = len(self._hull.points)
        old = self._hull.put(key, p)
        if old is not None:
            self._low.removed(old)
            others -= 1
        self._low.added(p, others)

    def _refit(self) -> None:
        cfg = self.config
        hull = self._hull
        if self._pending is not None:
            self._put(*self._pending)
            self._pending = None
        if not self._bucketing:
            self._start_bucketing_if_enough()
        self._refit_bucket = self._newest_bucket
        pts = hull.points
        n = len(pts)
        span = pts[-1][0] - pts[0][0]
        fitted = n >= 3 and span >= cfg.min_span_ns
        vertices = hull.vertices()
        pin = float(cfg.initial_bound_ns)
        edge = 0
        if n == 1:
            ref, slope, pivot = pts[0], 1.0, float(pts[0][0])
        else:
            x_sum = hull.sum_x
            while vertices[edge + 1][0] * n <= x_sum:  # the edge spanning the pivot (the mean abscissa)
                edge += 1
            line = (vertices[edge], vertices[edge + 1])
            if n >= 4:
                pin = self._pin_bound(line, pts)
            pivot = x_sum / n
            if fitted:
                (ax, ay), (bx, by) = line
                ref, slope = line[0], (by - ay) / (bx - ax)
            else:  # unit slope through the lowest point
                ref, slope = min(vertices, key=lambda v: v[1] - v[0]), 1.0
        x0 = self._x0 if self._x0 is not None else 0
        self._estimate = ClockEstimate(
            ref_device_ns=ref[0] + x0,
            ref_host_ns=ref[1] + self._y0,
            drift=slope - 1.0,
            pin_bound_ns=pin,
            span_ns=span,
            first_device_ns=pts[0][0] + x0,
            last_device_ns=pts[-1][0] + x0,
            samples=self._samples,
            fitted=fitted,
            max_drift=cfg.max_drift,
            envelope=envelope_bound(vertices, edge, pivot, pin, (ref, slope), None if fitted else self._prior),
        )

    def _pin_bound(self, line: tuple[Point, Point], pts: list[Point]) -> float:
        """How far above the true line the envelope may sit at the pivot: a multiple of the delay scale.

        The scale is the mean gap between the lowest residuals above the line (its two points have residual 0),
        over every gap up to ``scale_gaps`` or over those of the lower half of the points only (away from a
        heavy tail); the smaller pin bound of the two is taken, each at half the miss probability.
        """
        cfg = self.config
        n = len(pts)
        pin = float(cfg.initial_bound_ns) if n < cfg.prior_points else math.inf
        for gaps in {min(cfg.scale_gaps, n - 2), max(2, min(cfg.scale_gaps, (n - 2) // 2))}:
            pin = min(pin, self._pin_factors[gaps] * self._low.residual(gaps + 1, line, pts) / gaps)
        return max(pin, float(cfg.min_bound_ns))

    def _start_bucketing_if_enough(self) -> None:
        """Once there are enough buckets for the full delay-scale estimate, keep one point per bucket."""
        cfg, buckets = self.config, self._early_buckets
        if len(buckets) < min(2 * cfg.scale_gaps + 2, cfg.window_ns // cfg.bucket_ns):
            return
        self._bucketing = True
        self._hull.clear()
        self._low.line = None
        for b in sorted(buckets):
            self._hull.put(b, buckets[b])
        buckets.clear()
