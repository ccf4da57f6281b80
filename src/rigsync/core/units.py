"""Time units. Inside rigsync every time is an integer number of nanoseconds.

Names carry the unit and the clock (``host_rx_ns``, ``device_ts_ns``, ``rig_time_ns``); these helpers
convert at the edges (rig file values in microseconds or seconds, frame rates in Hz).
"""

from __future__ import annotations

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def us_to_ns(value_us: float) -> int:
    """Microseconds to integer nanoseconds (rounded to nearest)."""
    return round(value_us * NS_PER_US)


def ms_to_ns(value_ms: float) -> int:
    """Milliseconds to integer nanoseconds (rounded to nearest)."""
    return round(value_ms * NS_PER_MS)


def s_to_ns(value_s: float) -> int:
    """Seconds to integer nanoseconds (rounded to nearest)."""
    return round(value_s * NS_PER_S)


def period_ns(fps: float) -> int:
    """The nominal frame period of a rate in Hz, in integer nanoseconds."""
    if fps <= 0:
        raise ValueError(f"frame rate must be positive, got {fps}")
    return round(NS_PER_S / fps)


def ns_to_us(value_ns: int) -> float:
    """Nanoseconds to (fractional) microseconds, for display."""
    return value_ns / NS_PER_US


def ns_to_ms(value_ns: int) -> float:
    """Nanoseconds to (fractional) milliseconds, for display."""
    return value_ns / NS_PER_MS
