"""The RealSense options a plan asks for, in the SDK's terms but without the SDK: which sensor, which
``rs.option`` (by name), which value, in the order they are set, and whether the camera must have it.

``inter_cam_sync_mode`` (0 default, 1 master, 2 slave, 3 full slave, 4-258 Genlock, burst = mode - 3) goes on the
Stereo Module BEFORE streaming (seeds/004, section 5); manual exposure turns auto exposure off first; global time
is turned off on both sensors (rigsync maps the device clock itself; a camera without the option is fine).
"""

from __future__ import annotations

from dataclasses import dataclass

from rigsync.core.errors import DriverError
from rigsync.core.frame import StreamKind
from rigsync.drivers.base import DeviceConfig
from rigsync.plan.emit.realsense import RGB_EXPOSURE_UNIT_US

STEREO = "Stereo Module"
RGB = "RGB Camera"
SYNC_MODE = "inter_cam_sync_mode"
GLOBAL_TIME = "global_time_enabled"


@dataclass(frozen=True)
class OptionSetting:
    sensor: str
    """The sensor's ``rs.camera_info.name``."""
    option: str
    """The ``rs.option`` member's name."""
    value: float
    needed: bool
    """The plan depends on it: a camera without the option cannot follow the plan."""


def wanted_options(config: DeviceConfig) -> list[OptionSetting]:
    """The options to set, in order. Raises :class:`DriverError` if the plan's role is not a sync mode number."""
    try:
        mode = int(config.sync.vendor_role)
    except ValueError:
        raise DriverError("realsense", config.serial,
                          f"plan role {config.sync.vendor_role!r} is not an inter_cam_sync_mode number",
                          "0 default, 1 master, 2 slave, 3 full slave, 4-258 Genlock") from None
    wanted = [OptionSetting(STEREO, GLOBAL_TIME, 0.0, False), OptionSetting(RGB, GLOBAL_TIME, 0.0, False),
              OptionSetting(STEREO, SYNC_MODE, float(mode), mode != 0)]
    for s in config.streams:
        if s.exposure_us is None:
            continue
        sensor = RGB if s.kind is StreamKind.COLOR else STEREO
        units = max(1, round(s.exposure_us / RGB_EXPOSURE_UNIT_US)) if sensor == RGB else s.exposure_us
        wanted += [OptionSetting(sensor, "enable_auto_exposure", 0.0, True),
                   OptionSetting(sensor, "exposure", float(units), True)]
    return wanted
