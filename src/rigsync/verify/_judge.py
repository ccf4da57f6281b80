"""Small helpers the stamp checks share: a figure against its limit, a skipped check, a percentile. Not public API."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rigsync.verify.result import Check, Series, Status


def against(id: str, title: str, subject: str, value: float, limit: float, unit: str, detail: str, method: str,
            devices: Iterable[str] = ()) -> Check:
    """A measured ``value`` held to ``limit`` (fail when above it); a failure names ``devices``."""
    status = Status.FAIL if value > limit else Status.PASS
    named = tuple(devices) if status is Status.FAIL else ()
    return Check(id, title, subject, status, round(float(value), 6), float(limit), unit, detail, method, named)


def skipped(id: str, title: str, subject: str, unit: str, why: str, method: str) -> Check:
    """Nothing to measure: never a pass."""
    return Check(id, title, subject, Status.SKIP, None, None, unit, why, method)


def quantiles_us(values_ns: np.ndarray) -> tuple[float, float, float]:
    """p50, p99 and max of nanosecond values, in microseconds."""
    p50, p99 = np.percentile(values_ns, [50, 99])
    return float(p50) / 1e3, float(p99) / 1e3, float(np.max(values_ns)) / 1e3


MAX_POINTS = 2000
"""A plotted line keeps at most this many points (every n-th), so a long recording's report stays small."""


def series(label: str, x: np.ndarray, y: np.ndarray) -> Series:
    step = max(1, -(-len(x) // MAX_POINTS))
    return Series(label, tuple(round(float(v), 6) for v in x[::step]), tuple(round(float(v), 6) for v in y[::step]))


def names(devices: Iterable[str]) -> str:
    return ", ".join(sorted(set(devices)))
