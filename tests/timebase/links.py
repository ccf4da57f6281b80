"""Simulated camera links for the clock tests: a drifting, wandering device clock and heavy-tailed, bursty delays."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

HOST_EPOCH_NS = 1_790_000_000_000_000_000  # host time of the first exposure
FIRST_BURST_S = 0.07
"""Bursts start after this: a stream's first frame (at >= 15 fps) is never held up."""
DEVICE_EPOCH_NS = 5_000_000_000  # the device clock's reading then


@dataclass(frozen=True)
class Link:
    """A device clock and its link to the host. Delays are beyond the driver's nominal minimum (>= 0)."""

    drift_ppm: float = 0.0
    """The device clock runs this much fast: ``device = true * (1 + drift)`` (plus the wander)."""
    fps: float = 30.0
    streams: int = 1
    """Streams on the device clock, each at ``fps`` with its own phase; a stream's frames arrive in order."""
    body_ns: float = 60_000.0
    """Mean of the exponential body of the delays."""
    mid_p: float = 0.0
    """Share of frames whose delay comes from a second exponential, of mean ``mid_ns``."""
    mid_ns: float = 1_000_000.0
    tail_p: float = 0.0
    """Share of frames in the Pareto tail: ``tail_xm_ns * (1 + pareto(alpha))``, capped at ``tail_cap_ns``."""
    tail_xm_ns: float = 1_000_000.0
    tail_alpha: float = 1.5
    tail_cap_ns: float = 20_000_000.0
    bursts: tuple[tuple[float, int, float], ...] = ()
    """(start s, frames, extra delay ns): that many consecutive frames of every stream are held up together."""
    wander_ppm: float = 0.0
    """Amplitude of a sinusoidal wander of the device clock's frequency."""
    wander_period_s: float = 120.0

    def frames(self, seed: int, seconds: float) -> list[tuple[int, int, int, int]]:
        """(device_ns, host_rx_ns, true host time of the stamped instant, stream) per frame, in arrival order."""
        rng = np.random.default_rng(seed)
        period = 1e9 / self.fps
        out: list[tuple[int, int, int, int]] = []
        for stream in range(self.streams):
            t = rng.uniform(0, period) + np.arange(int(seconds * self.fps)) * period
            pick = rng.random(len(t))
            delay = rng.exponential(self.body_ns, len(t))
            delay = np.where(pick < self.mid_p, rng.exponential(self.mid_ns, len(t)), delay)
            tail = np.minimum(self.tail_xm_ns * (1 + rng.pareto(self.tail_alpha, len(t))), self.tail_cap_ns)
            delay = np.where(pick > 1 - self.tail_p, tail, delay)
            for start_s, count, extra in self.bursts:
                first = np.searchsorted(t, start_s * 1e9)
                delay[first:first + count] += extra
            w = 2 * math.pi / (self.wander_period_s * 1e9)
            phase = self.wander_ppm * 1e-6 * (1 - np.cos(w * t)) / w  # integral of the frequency wander
            device = DEVICE_EPOCH_NS + (t * (1 + self.drift_ppm * 1e-6) + phase).astype(np.int64)
            true = HOST_EPOCH_NS + t.astype(np.int64)
            rx = true + delay.astype(np.int64)
            step = np.arange(len(rx)) * 1_000  # a stream's frames arrive in order, at least 1 us apart
            rx = np.maximum.accumulate(rx - step) + step
            rows = zip(device.tolist(), rx.tolist(), true.tolist(), strict=True)
            out += ((d, r, tt, stream) for d, r, tt in rows)
        out.sort(key=lambda f: f[1])
        return out


def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


links = st.builds(
    Link,
    drift_ppm=st.floats(-300.0, 300.0),
    fps=st.sampled_from([15.0, 30.0, 60.0, 90.0]),
    streams=st.integers(1, 2),
    body_ns=_log_uniform(5e3, 10e6),
    mid_p=st.floats(0.0, 0.2),
    mid_ns=_log_uniform(5e4, 10e6),
    tail_p=st.floats(0.0, 0.1),
    tail_xm_ns=_log_uniform(2e5, 10e6),
    tail_alpha=st.floats(1.1, 3.0),
    tail_cap_ns=_log_uniform(1e6, 50e6),
    bursts=st.lists(st.tuples(st.floats(FIRST_BURST_S, 25.0), st.integers(2, 10), _log_uniform(1e6, 20e6)),
                    max_size=4).map(tuple),
    wander_ppm=st.floats(0.0, 0.3),
    wander_period_s=st.floats(100.0, 600.0),
)
"""Links: exponential bodies from 5 us to 10 ms (and a second component of up to 20%), Pareto tails (alpha
1.1-3, capped up to 50 ms), bursts of 2-10 frames held up by 1-20 ms (not the first), drifts of +-300 ppm, a
frequency wander of up to 0.3 ppm over 100-600 s."""
