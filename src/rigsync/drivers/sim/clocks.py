"""Simulated clocks: device crystals (offset, drift, slow wander, tick, counter wrap) and host clocks.

"True time" is the simulation's reference timeline, in nanoseconds. The primary host's clock *is* true
time (it is the rig clock until PTP ties hosts together); every other clock is a model of true time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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


@dataclass(frozen=True)
class HostClockModel:
    """A host's system clock: ``host(t) = t + offset + drift * (t - epoch)``."""

    offset_ns: int = 0
    drift: float = 0.0
    epoch_ns: int = 0

    def host_ns(self, t_true_ns: int) -> int:
        return t_true_ns + self.offset_ns + round(self.drift * (t_true_ns - self.epoch_ns))

    def true_ns(self, host_ns: int) -> int:
        return self.epoch_ns + round((host_ns - self.offset_ns - self.epoch_ns) / (1.0 + self.drift))


def ticks(device_ns: int, tick_ns: int, width_bits: int) -> int:
    """The raw counter a device with this tick and width shows at ``device_ns``."""
    return (device_ns // tick_ns) % (1 << width_bits)
