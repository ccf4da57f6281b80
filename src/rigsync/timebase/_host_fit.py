"""The host map's fit: a Theil-Sen line of the monotonic clock's offset from the base timeline over the recent PTP
samples, and the applied map (the fit plus a correction slewing to zero). Pure code."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from rigsync.timebase.slew import Slew


def robust_sigma(values: list[float]) -> float:
    """1.4826 x the median absolute deviation: the standard deviation of the bulk, blind to spikes."""
    if len(values) < 3:
        return 0.0
    med = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - med) for v in values)


@dataclass(frozen=True, slots=True)
class Point:
    mono_ns: int
    offset_ns: int
    """Monotonic clock minus the base timeline (the reference with the rig's registered steps taken out)."""
    path_ns: int


@dataclass(frozen=True)
class Fit:
    """offset(m) = anchor + a + slope (m - m0): a Theil-Sen line over the recent points (m0: the newest). The
    large offset (~1.8e18 ns for a reference host's -D) is an integer ``anchor_ns``; the float part stays small."""

    mono0_ns: int
    """m0: the newest point's monotonic-clock reading."""
    anchor_ns: int
    a_ns: float
    slope: float
    """ns of offset per ns of the monotonic clock."""
    residual_ns: float
    sigma_ns: float
    span_ns: int
    n: int

    def offset(self, mono_ns: int) -> int:
        return self.anchor_ns + round(self.a_ns + self.slope * (mono_ns - self.mono0_ns))

    @classmethod
    def of(cls, points: list[Point], slope_hint: float) -> Fit:
        last = points[-1]
        anchor = last.offset_ns
        if len(points) == 1:
            b = slope_hint
        else:
            b = statistics.median((q.offset_ns - p.offset_ns) / (q.mono_ns - p.mono_ns)
                                  for i, p in enumerate(points) for q in points[i + 1:] if q.mono_ns > p.mono_ns)
        a = statistics.median((p.offset_ns - anchor) - b * (p.mono_ns - last.mono_ns) for p in points)
        residuals = [(p.offset_ns - anchor) - (a + b * (p.mono_ns - last.mono_ns)) for p in points]
        return cls(last.mono_ns, anchor, a, b, max(abs(r) for r in residuals), robust_sigma(residuals),
                   last.mono_ns - points[0].mono_ns, len(points))


@dataclass(frozen=True)
class AppliedMap:
    """An applied map: the fit, plus a correction slewing to zero (continuity with the map before it)."""

    fit: Fit
    slew: Slew = field(default_factory=Slew)

    def base(self, mono_ns: int) -> int:
        """The base-timeline reading of the monotonic clock at ``mono_ns``."""
        return mono_ns - self.fit.offset(mono_ns) + round(self.slew.remaining(mono_ns))
