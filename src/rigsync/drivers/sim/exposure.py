"""Exposure: manual, or auto following the scene's slowly changing light with a lag.

Auto exposure matters to sync: "Because the exposure affects the timing, such changes quickly push the
cameras out of sync" (seeds/001, Azure Kinect). A triggered rolling-shutter colour camera ends its exposure
on its frame clock, so under auto exposure its exposure *start* moves with the exposure time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LightModel:
    """Scene brightness over true time (shared by every camera): 1 +- depth, slow sinusoid."""

    depth: float = 0.35
    period_s: float = 17.0
    phase: float = 0.0

    def brightness(self, t_true_ns: int) -> float:
        return 1.0 + self.depth * math.sin(2.0 * math.pi * t_true_ns * 1e-9 / self.period_s + self.phase)


class ExposureModel:
    """Exposure of one stream; ``nominal_ns`` is what a triggered camera's frame timing is laid out for."""

    def __init__(
        self,
        manual_ns: int | None,
        nominal_ns: int,
        max_ns: int,
        light: LightModel,
        sensitivity: float,
        lag: float = 0.3,
    ) -> None:
        self.manual_ns = manual_ns
        self.nominal_ns = manual_ns if manual_ns is not None else nominal_ns
        self.max_ns = max_ns
        self._light = light
        self._sensitivity = sensitivity
        self._lag = lag
        self._current = float(self.nominal_ns)

    @property
    def auto(self) -> bool:
        return self.manual_ns is None

    def next_ns(self, t_true_ns: int) -> int:
        """Exposure of a frame exposed at ``t_true_ns`` (auto exposure converges frame by frame)."""
        if self.manual_ns is not None:
            return self.manual_ns
        target = self.nominal_ns / (self._light.brightness(t_true_ns) * self._sensitivity)
        self._current += self._lag * (target - self._current)
        return int(min(max(self._current, 50_000.0), self.max_ns))
