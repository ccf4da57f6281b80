"""RealSense depth is recorded in millimetres whatever the camera's ``depth_units``: set to 0.001 where the sensor
allows it, else each frame converted. Against librealsense's own software devices (a D405-like Stereo Module
with depth_units 0.0001, writable or read-only) and a ``.db3`` recording played back through ``rs.pipeline``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed: pip install 'rigsync[realsense]'")

from tests.drivers.polling import poll_until  # noqa: E402
from tests.drivers.realsense_devices import DEPTH, H, SoftContext, SoftD435, W, record  # noqa: E402
from tests.drivers.test_driver_contract import config_for  # noqa: E402
from tests.drivers.test_realsense import SERIAL, frames_of, rig_at  # noqa: E402

from rigsync.capture.preflight import run_check  # noqa: E402
from rigsync.core.errors import DriverError  # noqa: E402
from rigsync.core.frame import Frame  # noqa: E402
from rigsync.drivers._realsense_depth import settable_to_mm, to_mm  # noqa: E402
from rigsync.drivers.base import DeviceEvent, EventKind  # noqa: E402
from rigsync.drivers.realsense import RealSenseDriver  # noqa: E402
from rigsync.plan import build_plan  # noqa: E402

TRUE_MM = np.array([0, 70, 500, 1234, 4999, 6553], np.uint16)
"""True depths in whole millimetres (0: no depth), all representable in 0.1 mm z16 (up to 6553.5 mm)."""
RAW_0_1_MM = np.array([0, 4, 5, 700, 12344, 12345, 12346, 65535], np.uint16)
"""z16 values in 0.1 mm units: 0, 0.4 mm, 0.5 mm, 70 mm, 1234.4 / 1234.5 / 1234.6 mm, 6553.5 mm ..."""
MM_OF_RAW_0_1_MM = [0, 0, 1, 70, 1234, 1235, 1235, 6554]
"""... recorded as millimetres, rounded to the nearer mm, an exact half up."""


def frame_of(row: np.ndarray) -> np.ndarray:
    """A depth frame whose first row starts with ``row`` (the rest no depth)."""
    pixels = np.zeros((H, W), np.uint16)
    pixels[0, :row.size] = row
    return pixels


def firmware_z16(cam: SoftD435, true_mm: np.ndarray) -> np.ndarray:
    """What the camera sends for ``true_mm``: the depths in the Stereo Module's unit at that moment."""
    unit_um = round(cam.sensors["Stereo Module"].get_option(rs.option.depth_units) * 1e6)
    return (true_mm.astype(np.int64) * 1000 // unit_um).astype(np.uint16)


def stream_depth(cam: SoftD435, tmp_path: Path, rows: list[np.ndarray]) -> tuple[list[Frame], dict[str, str]]:
    """Configure the camera from the plan, stream one depth frame per row (a row computed when it is sent), and
    return the depth frames and the readback."""
    rig = rig_at(tmp_path)
    with RealSenseDriver(rig, context=SoftContext(cam.dev)).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        readback = device.readback()
        device.start()
        for i, row in enumerate(rows):
            cam.inject(DEPTH, i, frame_of(row))
        items = device.poll()
        device.stop()
    return frames_of(items, "depth"), readback


def first_row(frame: Frame, n: int) -> list[int]:
    assert frame.image is not None and frame.image.dtype == np.uint16 and frame.encoding == "16UC1"
    return [int(v) for v in frame.image[0, :n]]


def test_a_d405s_0_1_mm_default_is_set_to_1_mm_and_its_depth_recorded_in_mm(tmp_path: Path) -> None:
    """A Stereo Module whose depth_units is 0.0001 (the D405's default), writable: configure sets 0.001 and reads
    it back; the camera then sends millimetres, recorded exactly as the true depths."""
    cam = SoftD435(SERIAL, name="Intel RealSense D405", depth_units=0.0001)
    rig = rig_at(tmp_path)
    with RealSenseDriver(rig, context=SoftContext(cam.dev)).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        assert round(device.settings()["Stereo Module"]["depth_units"] * 1e6) == 1000
        assert device.readback()["depth_units"] == "0.001"
        device.start()
        cam.inject(DEPTH, 0, frame_of(firmware_z16(cam, TRUE_MM)))
        [frame] = frames_of(device.poll(), "depth")
        device.stop()
    assert first_row(frame, TRUE_MM.size) == TRUE_MM.tolist()


@pytest.mark.parametrize(("units", "units_range", "why"), [
    (0.0001, None, "not 0.001: depth_units is read-only"),
    (0.0001, (0.00005, 0.0005), "not 0.001: depth_units allows 5e-05 to 0.0005"),
])
def test_a_unit_that_cannot_be_1_mm_is_converted_to_mm(tmp_path: Path, units: float,
                                                       units_range: tuple[float, float] | None, why: str) -> None:
    """0.1 mm units that cannot be set (read-only, as without advanced mode; or 0.001 outside the option's range):
    each frame converted to the nearer millimetre (half up), the unit left as it is and named by the check's
    readback with the reason."""
    cam = SoftD435(SERIAL, depth_units=units, depth_units_range=units_range)
    [frame], readback = stream_depth(cam, tmp_path, [RAW_0_1_MM])
    assert first_row(frame, RAW_0_1_MM.size) == MM_OF_RAW_0_1_MM
    assert round(cam.sensors["Stereo Module"].get_option(rs.option.depth_units) * 1e6) == 100
    assert readback["depth_units"].startswith(f"0.0001 ({why}; depth converted to mm on the host")


def test_a_read_only_unit_of_1_mm_is_recorded_as_sent(tmp_path: Path) -> None:
    """Read-only 0.001 (a D435 without advanced mode): millimetres already, recorded unchanged, check says 0.001."""
    cam = SoftD435(SERIAL, depth_units=0.001, depth_units_range=None)
    [frame], readback = stream_depth(cam, tmp_path, [RAW_0_1_MM])
    assert first_row(frame, RAW_0_1_MM.size) == RAW_0_1_MM.tolist() and readback["depth_units"] == "0.001"


def test_a_unit_changed_while_streaming_is_followed_frame_by_frame(tmp_path: Path) -> None:
    """Each frame is converted from the unit it carries: set to 0.0001 behind the driver's back while streaming,
    the camera's next frames (in 0.1 mm) are still recorded as the true millimetres."""
    cam = SoftD435(SERIAL, depth_units=0.0001)
    rig = rig_at(tmp_path)
    with RealSenseDriver(rig, context=SoftContext(cam.dev)).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        cam.inject(DEPTH, 0, frame_of(firmware_z16(cam, TRUE_MM)))
        cam.sensors["Stereo Module"].set_option(rs.option.depth_units, 0.0001)
        cam.inject(DEPTH, 1, frame_of(firmware_z16(cam, TRUE_MM)))
        frames = frames_of(device.poll(), "depth")
        readback = device.readback()
        device.stop()
    assert [first_row(f, TRUE_MM.size) for f in frames] == [TRUE_MM.tolist()] * 2
    assert readback["depth_units"].startswith("0.0001 (configured as 0.001;")


def test_a_depth_sensor_without_depth_units_is_refused(tmp_path: Path) -> None:
    """A Stereo Module that reports no depth_units: its values' unit is unknown, configure refuses naming both."""
    cam = SoftD435(SERIAL, depth_units=None)
    rig = rig_at(tmp_path)
    with RealSenseDriver(rig, context=SoftContext(cam.dev)).open(SERIAL) as device, pytest.raises(
            DriverError, match="Stereo Module has no option depth_units: the unit of its depth values is unknown"):
        device.configure(config_for(rig, "cam"))


def test_a_recording_in_0_1_mm_plays_back_in_mm_and_check_names_its_unit(tmp_path: Path) -> None:
    """A D405 recorded with depth_units 0.0001 (read-only on playback): its frames are recorded in millimetres
    (nearer mm, half up) and rigsync check's settings row names the recorded unit and the conversion."""
    record(tmp_path / "cam1.db3", SERIAL, 2, depth_units=0.0001, depth_pixels=frame_of(RAW_0_1_MM))
    rig = rig_at(tmp_path, file="cam1.db3")
    with RealSenseDriver(rig, context=SoftContext(), real_time=False).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        items: list[Frame | DeviceEvent] = poll_until(device, EventKind.DISCONNECTED)
        device.stop()
    frames = frames_of(items, "depth")
    assert [first_row(f, RAW_0_1_MM.size) for f in frames] == [MM_OF_RAW_0_1_MM] * 2
    rows = run_check(build_plan(rig), {"realsense": RealSenseDriver(rig, context=SoftContext())}, seconds=0.2)
    [settings] = [r for r in rows if r.check == "settings"]
    assert settings.ok
    assert "depth_units = 0.0001 (not 0.001: recorded so (a recording cannot be written); depth converted to mm" \
        in settings.detail


def test_conversion_rounds_half_up_and_drops_what_16_bit_mm_cannot_hold() -> None:
    """Pure arithmetic: 1 mm units untouched (same array), 0.1 mm to the nearer mm, 2.5 mm units multiplied
    exactly with depths beyond 65535 mm recorded as 0 (no depth); 1 um units (the finest) rounded likewise."""
    raw = np.array([0, 1, 2, 26214, 26215, 65535], np.uint16)
    assert to_mm(raw, 1000) is raw
    assert to_mm(raw, 2500).tolist() == [0, 3, 5, 65535, 0, 0]
    assert to_mm(raw, 100).tolist() == [0, 0, 0, 2621, 2622, 6554]
    assert to_mm(np.array([499, 500, 65535], np.uint16), 1).tolist() == [0, 1, 66]


def test_why_a_unit_cannot_be_set() -> None:
    """Read-only, or 0.001 outside the option's range (compared in whole micrometres, as the firmware keeps it)."""
    assert settable_to_mm(False, 0.000001, 0.01) == ""
    assert settable_to_mm(False, 0.0010000000474974513, 0.0010000000474974513) == ""
    assert settable_to_mm(True, 0.000001, 0.01) == "depth_units is read-only"
    assert settable_to_mm(False, 0.00005, 0.0005) == "depth_units allows 5e-05 to 0.0005"
