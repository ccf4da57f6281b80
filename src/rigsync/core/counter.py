"""Unwrapping of device counters that wrap (a 32-bit microsecond counter wraps every ~71.6 minutes)."""

from __future__ import annotations


class CounterUnwrapper:
    """Extends a ``width_bits`` counter to an unbounded integer, assuming readings move forward by less
    than half the counter range between calls (backward steps of less than half the range are kept as
    small backward steps, so a reordered reading does not fake a wrap)."""

    def __init__(self, width_bits: int) -> None:
        if not 1 <= width_bits <= 64:
            raise ValueError(f"counter width must be 1 to 64 bits, got {width_bits}")
        self._range = 1 << width_bits
        self._half = self._range >> 1
        self._last: int | None = None
        self._epoch = 0

    def unwrap(self, raw: int) -> int:
        if not 0 <= raw < self._range:
            raise ValueError(f"counter value {raw} outside 0..{self._range - 1}")
        if self._last is not None:
            delta = raw - self._last
            if delta < -self._half:
                self._epoch += self._range
            elif delta > self._half:
                self._epoch -= self._range
        self._last = raw
        return self._epoch + raw

    def reset(self) -> None:
        """Forget the history (the device restarted its counter)."""
        self._last = None
        self._epoch = 0
