"""RealSense depth units without the SDK: rigsync records depth as 16UC1 millimetres, a RealSense depth sensor
sends z16 values in its ``depth_units`` option (metres per unit: 0.001 on most D400 models, 0.0001 by default on
the D405, user-settable on all).

The driver sets ``depth_units`` to 0.001 where the sensor allows it. Where it cannot (a read-only option, as on a
camera without advanced mode and on every recording, or 0.001 outside the option's range), each depth frame is
converted on the host from the unit it carries: librealsense keeps the unit as a whole number of micrometres
(the firmware's depth table), so the conversion is integer arithmetic, exact up to one stated rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MM_UM = 1_000
"""One millimetre, the unit rigsync records depth in, in micrometres."""
Z16_MAX = 0xFFFF


def unit_um(depth_units_m: float) -> int:
    """A depth unit as the SDK reports it (float32 metres, e.g. 9.99999974e-05) in whole micrometres (100)."""
    return round(depth_units_m * 1e6)


def unit_text(um: int) -> str:
    """A unit in metres as the SDK's option is written (``0.001``, ``0.0001``)."""
    return f"{um / 1e6:g}"


def to_mm(z16: np.ndarray, um: int) -> np.ndarray:
    """z16 values in units of ``um`` micrometres as millimetres (uint16): rounded to the nearer millimetre, an exact
    half up (0.1 mm units: 12344 -> 1234, 12345 -> 1235). 0 (no depth) stays 0; so does a depth under 0.5 mm;
    a depth beyond 65535 mm (possible only with units coarser than 1 mm) becomes 0 (no depth). In 1 mm units the
    frame is returned as it is."""
    if um == MM_UM:
        return z16
    mm = (z16.astype(np.uint64) * um + MM_UM // 2) // MM_UM
    mm[mm > Z16_MAX] = 0
    return mm.astype(np.uint16)


@dataclass(frozen=True)
class DepthUnit:
    """A depth sensor's unit after configure: ``um`` micrometres per z16 value, and why it is not 1 mm."""

    um: int
    reason: str = ""
    """Empty when the sensor records millimetres; else why 0.001 could not be set (frames converted on the host)."""

    def readback(self) -> str:
        """The value ``rigsync check`` shows for ``depth_units``."""
        if self.um == MM_UM:
            return unit_text(self.um)
        return (f"{unit_text(self.um)} (not 0.001: {self.reason}; depth converted to mm on the host, rounded to the "
                "nearer mm)")


def settable_to_mm(read_only: bool, min_m: float, max_m: float) -> str:
    """Why ``depth_units`` cannot be set to 0.001 (``""`` if it can), from the option's read-only flag and range."""
    if read_only:
        return "depth_units is read-only"
    if not unit_um(min_m) <= MM_UM <= unit_um(max_m):
        return f"depth_units allows {unit_text(unit_um(min_m))} to {unit_text(unit_um(max_m))}"
    return ""
