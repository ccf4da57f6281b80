"""Pinhole intrinsics of a stream, as recorded on ``/<device>/<stream>/camera_info``."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Intrinsics:
    """A pinhole camera (pixels), with an optional plumb-bob distortion."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = "plumb_bob"
    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float) -> Intrinsics:
        """Square pixels, principal point at the image centre, the given horizontal field of view."""
        fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width=width, height=height, fx=fx, fy=fx, cx=(width - 1) / 2.0, cy=(height - 1) / 2.0)

    @property
    def k(self) -> tuple[float, ...]:
        """Row-major 3x3 camera matrix."""
        return (self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0)

    @property
    def p(self) -> tuple[float, ...]:
        """Row-major 3x4 projection matrix (monocular: no baseline term)."""
        return (self.fx, 0.0, self.cx, 0.0, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0)
