"""A correction that shrinks to zero at a bounded rate: how rigsync follows a changed estimate, or a step of a
clock, without a jump. Pure code."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SLEW_PPM = 500.0
"""The slow rate, once a clock is locked: a 1 ms correction takes 2 s."""
FAST_SLEW_PPM = 100_000.0
"""The fast rate, while a clock is acquired or a step absorbed: frame intervals stay within 10 % of the frame
rate, and a 1 s step is absorbed in 10 s."""


@dataclass(frozen=True, slots=True)
class Slew:
    """``corr0_ns`` at ``at_ns``, shrinking towards zero by ``rate`` ns per ns after it (before it: all of it)."""

    corr0_ns: float = 0.0
    at_ns: int = 0
    rate: float = 0.0

    def remaining(self, t_ns: int) -> float:
        corr = self.corr0_ns
        if not corr:
            return 0.0
        used = self.rate * max(t_ns - self.at_ns, 0)
        return max(corr - used, 0.0) if corr > 0 else min(corr + used, 0.0)
