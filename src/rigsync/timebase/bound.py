"""Error bounds of a clock mapping estimated under a lower envelope: the set of lines consistent with the data.

The points (device time x, host arrival y) lie above the true line ``y = a + s x`` (every delay is >= 0). Their
lower convex hull ``H`` is the envelope. The estimator pins its line at the *pivot*, the points' mean abscissa
``x̄``, where the envelope is supported by its lowest points (Moon et al.'s linear-programming estimator), and
bounds how far above the true line the envelope sits there by the *pin bound* ``P``. The lines consistent with
the data then form a 2-variable LP feasible region:

    F = { lines L : L <= H over the points' span,  L(x̄) >= H(x̄) - P }        (optionally: slope in a prior range)

and the error bound of the estimate ``L̂`` at x is the largest vertical distance between ``L̂(x)`` and any line of
F. Its extreme lines are read off the hull: the two tangents from the pivot ``(x̄, H(x̄) - P)`` to the hull
(the flattest and steepest lines of F), and the hull itself. For ``x >= x̄`` (``t = x - x̄``):

* the truth lies at most ``L̂(x) - (H(x̄) - P) - s_lo t`` below the estimate (the flattest tangent, through the
  pivot);
* and at most ``max(chord(x), T(x)) - L̂(x)`` above it, where ``T`` is the support line of the hull with the
  steepest slope ``s_hi`` (it touches the hull at a vertex w) and ``chord`` joins ``(x̄, H(x̄))`` to w: every line
  of F is below H, which is below the chord between x̄ and w, and below T beyond w.

Mirrored for ``x < x̄``. This holds inside the span (where the slope's uncertainty matters as much as outside
it) and outside it, and a new lowest point that tilts the estimate is covered by construction: the region
contains every line the data cannot rule out. The bound fails only if the truth is outside F, i.e. if the
envelope sits more than P above the true line at the pivot; :func:`pin_factor` chooses P for that to have a
given small probability.

Pure code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Point = tuple[int, int]


def pin_factor(gaps: int, miss_probability: float) -> float:
    """Pin bound over the estimated delay scale, for a scale estimated from ``gaps`` residual gaps.

    Near the floor the delays have some density; the envelope's height above the true line at the pivot has
    a tail ``~ exp(-t / θ)`` at the scale θ of the lowest gaps. θ is estimated as the mean of ``gaps`` gaps,
    a Gamma(gaps) variable; averaging the tail over that uncertainty, ``P = f θ̂`` is exceeded with
    probability ``(1 + f / gaps) ** -gaps``, which this solves for ``miss_probability``. In simulations (a flat
    or an exponential delay density near the floor, hundreds of thousands of windows) the empirical miss rate
    at this factor is within a few times ``miss_probability`` for 8 to 24 gaps, and lower for fewer gaps.
    """
    return float(gaps * (miss_probability ** (-1.0 / gaps) - 1.0))


@dataclass(frozen=True, slots=True)
class EnvelopeBound:
    """How far the true line may lie below / above an estimated line, as lines in ``|x - pivot|``.

    Each side (right: ``x >= pivot``, left: below it) holds ``(below_slope, chord0, chord_slope, tangent0,
    tangent_slope)``; at distance u from the pivot the truth is at most ``below0 + below_slope u`` below
    the estimate and at most ``max(chord0 + chord_slope u, tangent0 + tangent_slope u)`` above it.
    """

    pivot_ns: float
    """Pivot, as device time relative to the estimate's reference point."""
    below0: float
    right: tuple[float, float, float, float, float]
    left: tuple[float, float, float, float, float]

    def range_at(self, offset_ns: float) -> tuple[float, float]:
        """(how far below, how far above the estimate the truth may lie) at ``offset_ns`` from the reference."""
        u = offset_ns - self.pivot_ns
        below_slope, chord0, chord_slope, tangent0, tangent_slope = self.right if u >= 0 else self.left
        u = abs(u)
        return self.below0 + below_slope * u, max(chord0 + chord_slope * u, tangent0 + tangent_slope * u)


def envelope_bound(hull: list[Point], edge: int, pivot_x: float, pin_bound: float, line: tuple[Point, float],
                   prior: tuple[float, float] | None = None) -> EnvelopeBound:
    """The error bound of ``line`` = (reference point, slope) under the envelope ``hull`` (vertices, x strictly
    increasing), pinned within ``pin_bound`` at ``pivot_x``, which lies from ``hull[edge]`` (included) to
    ``hull[edge + 1]`` (excluded).

    ``prior`` is a range the true slope is assumed to lie in (before the data pin it); where it is narrower
    than the data's range it is used, where the two do not overlap the data win.
    """
    (rx, ry), slope = line
    # Coordinates relative to the reference point: differences within a window are exact in floats.
    xb = pivot_x - rx
    ax, ay = hull[edge]
    hb = float(ay - ry)
    if ax - rx < xb:
        bx, by = hull[edge + 1]
        hb += (by - ay) * (xb - (ax - rx)) / (bx - ax)
    c = hb - pin_bound  # the lowest the truth may be at the pivot
    s_lo, s_hi = -math.inf, math.inf
    w_lo = w_hi = (ax - rx, ay - ry)
    for vx, vy in hull[:edge + 1]:  # the flattest line through (xb, c) below the hull touches a vertex on the left
        x, y = vx - rx, vy - ry
        if x < xb and (s := (c - y) / (xb - x)) > s_lo:
            s_lo, w_lo = s, (x, y)
    for vx, vy in hull[edge + 1:]:  # the steepest one touches a vertex on the right
        x, y = vx - rx, vy - ry
        if (s := (y - c) / (x - xb)) < s_hi:
            s_hi, w_hi = s, (x, y)
    if prior is not None and max(s_lo, prior[0]) <= min(s_hi, prior[1]):
        if s_lo < prior[0]:
            s_lo = prior[0]
            w_lo = _support(hull, rx, ry, s_lo)
        if s_hi > prior[1]:
            s_hi = prior[1]
            w_hi = _support(hull, rx, ry, s_hi)
    if not (math.isfinite(s_lo) and math.isfinite(s_hi)):  # one side has no points and no prior: unbounded
        inf = (math.inf,) * 5
        return EnvelopeBound(xb, math.inf, inf, inf)
    lb = slope * xb  # the estimate at the pivot
    # Right of the pivot: below through the pivot at the flattest slope; above, the chord to the steepest support
    # vertex, then the support line. Left: mirrored.
    # (With the support vertex on the other side of the pivot, the support line alone bounds the whole side.)
    wx, wy = w_hi
    tangent = (wy + s_hi * (xb - wx) - lb, s_hi - slope)
    chord = (hb - lb, (wy - hb) / (wx - xb) - slope) if wx > xb else tangent
    right = (slope - s_lo, *chord, *tangent)
    wx, wy = w_lo
    tangent = (wy + s_lo * (xb - wx) - lb, slope - s_lo)
    chord = (hb - lb, (wy - hb) / (xb - wx) + slope) if wx < xb else tangent
    left = (s_hi - slope, *chord, *tangent)
    return EnvelopeBound(xb, lb - c, right, left)


def _support(hull: list[Point], rx: int, ry: int, slope: float) -> tuple[int, int]:
    """The vertex where the hull's support line of ``slope`` touches, relative to (rx, ry)."""
    x, y = min(hull, key=lambda v: v[1] - slope * (v[0] - rx))
    return x - rx, y - ry
