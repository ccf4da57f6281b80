"""Camera poses in the rig's world frame (metres, right-handed, Z up)."""

from __future__ import annotations

from dataclasses import dataclass

Vec3 = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Pose:
    """Where a camera is and where it looks. World frame: metres, right-handed, Z up."""

    position_m: Vec3
    look_at_m: Vec3 = (0.0, 0.0, 1.0)
    up: Vec3 = (0.0, 0.0, 1.0)
