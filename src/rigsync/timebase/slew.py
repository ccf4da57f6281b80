"""A correction that shrinks to zero at a bounded rate: how rigsync follows a changed estimate, or a step of a
clock, without a jump. Pure code."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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
    until_ns: float = field(init=False, repr=False, compare=False)
    """From this time on nothing remains (``remaining`` is 0; -inf: nothing ever did, inf: it never shrinks)."""

    def __post_init__(self) -> None:
        corr, rate = abs(self.corr0_ns), self.rate
        if not corr or rate <= 0:
            until = -math.inf if not corr else math.inf
        else:  # a little beyond corr / rate, so that the float product in remaining() has reached corr for sure
            until = self.at_ns + math.ceil(corr / rate * (1 + 1e-9)) + 2
        object.__setattr__(self, "until_ns", until)

    def remaining(self, t_ns: int) -> float:
        corr = self.corr0_ns
        if not corr or t_ns >= self.until_ns:
            return 0.0
        used = self.rate * max(t_ns - self.at_ns, 0)
        return max(corr - used, 0.0) if corr > 0 else min(corr + used, 0.0)
