"""The options a plan asks of a RealSense camera, worked out without the SDK."""

from __future__ import annotations

import pytest

from rigsync.core.errors import DriverError
from rigsync.core.frame import StreamKind
from rigsync.drivers._realsense_options import OptionSetting, wanted_options
from rigsync.drivers.base import DeviceConfig, StreamConfig, SyncConfig


def config(vendor_role: str, color_exposure_us: int | None, depth_exposure_us: int | None) -> DeviceConfig:
    streams = (StreamConfig("depth", StreamKind.DEPTH, 848, 480, 30, "z16", depth_exposure_us),
               StreamConfig("color", StreamKind.COLOR, 1280, 720, 30, "rgb8", color_exposure_us))
    return DeviceConfig("cam", "8273", "realsense-d435", streams,
                        SyncConfig("g", None, "genlock", vendor_role, 0, 0, 1, ()))


def test_sync_mode_before_exposure_and_the_rgb_camera_in_100_us_units() -> None:
    """Global time off on both sensors, the sync mode on the Stereo Module, then per stream auto exposure off and
    the exposure: microseconds on the Stereo Module, 100 us units (rounded) on the RGB Camera."""
    assert wanted_options(config("7", 3260, 8500)) == [
        OptionSetting("Stereo Module", "global_time_enabled", 0.0, False),
        OptionSetting("RGB Camera", "global_time_enabled", 0.0, False),
        OptionSetting("Stereo Module", "inter_cam_sync_mode", 7.0, True),
        OptionSetting("Stereo Module", "enable_auto_exposure", 0.0, True),
        OptionSetting("Stereo Module", "exposure", 8500.0, True),
        OptionSetting("RGB Camera", "enable_auto_exposure", 0.0, True),
        OptionSetting("RGB Camera", "exposure", 33.0, True),
    ]


def test_default_mode_is_not_needed_and_auto_exposure_is_left_alone() -> None:
    """Mode 0 is what a camera without the option does anyway; streams in auto exposure set nothing."""
    wanted = wanted_options(config("0", None, None))
    assert [(w.option, w.value, w.needed) for w in wanted] == [
        ("global_time_enabled", 0.0, False), ("global_time_enabled", 0.0, False), ("inter_cam_sync_mode", 0.0, False)]


def test_a_role_that_is_not_a_mode_number_is_refused() -> None:
    """A plan role that is not an inter_cam_sync_mode number names itself and the allowed modes."""
    with pytest.raises(DriverError, match=r"plan role 'master' is not an inter_cam_sync_mode number.*4-258 Genlock"):
        wanted_options(config("master", None, None))
