"""Simulated device clocks: free crystals (offset, drift, slow wander, tick, counter wrap) and PTP-disciplined
camera clocks. Host clocks are in ``hosts``.

"True time" is the simulation's physical timeline, in nanoseconds; every clock is a model of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rigsync.drivers.sim.hosts import Reference


@dataclass(frozen=True)
class CrystalParams:
    drift: float
    """Relative frequency error (50e-6 = +50 ppm)."""
    start_ns: int
    """Device time at true time 0."""
    wander_ppm: float = 0.3
    """Amplitude of a slow sinusoidal frequency wander (temperature), in ppm."""
    wander_period_s: float = 240.0
    wander_phase: float = 0.0


class CrystalClock:
    """``device_ns(t) = start + t*(1 + drift) + wander(t)``: a device's free-running time base."""

    def __init__(self, params: CrystalParams, epoch_ns: int) -> None:
        self.params = params
        self._epoch = epoch_ns
        self._scale = 1.0 + params.drift
        self._w = 2.0 * math.pi / params.wander_period_s * 1e-9  # rad per ns
        self._amp_ns = params.wander_ppm * 1e-6 / self._w if self._w else 0.0  # phase amplitude, ns

    def _wander(self, dt: float) -> float:
        p = self.params
        return self._amp_ns * (math.cos(p.wander_phase) - math.cos(self._w * dt + p.wander_phase))

    def device_ns(self, t_true_ns: int) -> int:
        dt = t_true_ns - self._epoch
        return self.params.start_ns + round(dt * self._scale + self._wander(dt))

    def true_ns(self, device_ns: int) -> int:
        """Inverse of :meth:`device_ns` (to within a nanosecond)."""
        target = device_ns - self.params.start_ns
        dt = target / self._scale
        for _ in range(3):
            err = dt * self._scale + self._wander(dt) - target
            dt -= err / self._scale
        return self._epoch + round(dt)

    def rate(self) -> float:
        return self._scale


class DeviceClock(Protocol):
    """A device's clock over true time."""

    def device_ns(self, t_true_ns: int) -> int: ...

    def true_ns(self, device_ns: int) -> int: ...


class PtpCameraClock:
    """A camera clock disciplined by PTP with hardware timestamps in the camera (GigE Vision): the reference
    plus tens of ns of servo noise, drawn per Sync interval. A step of the reference reaches the camera at its
    next Sync, which it follows with a step of its own (a camera clock has no slewing IMAGE timestamp)."""

    def __init__(self, reference: Reference, rng: np.random.Generator, sync_interval_ns: int,
                 sigma_ns: float = 15.0) -> None:
        self._reference = reference
        self._rng = rng
        self._interval = sync_interval_ns
        self._phase = int(rng.uniform(0, sync_interval_ns))
        self._sigma = sigma_ns
        self._noise: dict[int, int] = {}
        self._next_k: int | None = None

    def _offset(self, t_true_ns: int) -> int:
        k = (t_true_ns - self._phase) // self._interval
        if k not in self._noise:
            start = k if self._next_k is None or k < self._next_k else self._next_k
            for j in range(start, k + 1):
                self._noise[j] = round(self._rng.normal(0.0, self._sigma))
            self._next_k = max(self._next_k or k, k) + 1
            if len(self._noise) > 512:
                for old in sorted(self._noise)[:256]:
                    del self._noise[old]
        sync_k = self._phase + k * self._interval  # the camera's last Sync at or before t
        return self._reference.offset_ns(sync_k) + self._noise[k]

    def device_ns(self, t_true_ns: int) -> int:
        return t_true_ns + self._offset(t_true_ns)

    def true_ns(self, device_ns: int) -> int:
        t = device_ns
        for _ in range(3):
            t = device_ns - self._offset(t)
        return t


def ticks(device_ns: int, tick_ns: int, width_bits: int) -> int:
    """The raw counter a device with this tick and width shows at ``device_ns``."""
    return (device_ns // tick_ns) % (1 << width_bits)
