"""The RealSense driver against librealsense's own code: software devices (D435-like, options and metadata
injected) opened as live cameras, and ``.db3`` recordings made with ``rs.recorder`` played back through
``rs.pipeline``."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed: pip install 'rigsync[realsense]'")

from tests.drivers.realsense_devices import (  # noqa: E402
    COLOR,
    DEPTH,
    EXPOSURE_US,
    SoftD435,
    frame_ts_us,
    record,
    sensor_ts_us,
)
from tests.drivers.test_driver_contract import config_for  # noqa: E402

from rigsync.capture.preflight import run_check  # noqa: E402
from rigsync.core.errors import DriverError, RigsyncError  # noqa: E402
from rigsync.core.frame import ClockDomain, Frame, TimestampSemantics  # noqa: E402
from rigsync.drivers.base import DeviceConfig, DeviceEvent, EventKind  # noqa: E402
from rigsync.drivers.realsense import RealSenseDriver, make_driver  # noqa: E402
from rigsync.plan import build_plan  # noqa: E402
from rigsync.spec import loads_rig  # noqa: E402
from rigsync.spec.model import RigSpec  # noqa: E402

SERIAL = "827312070001"


def rig_text(serial: str = SERIAL, file: str | None = None, exposure: str = "") -> str:
    line = f'file = "{file}"\n' if file else ""
    return f"""
[[hosts]]
name = "h"

[[devices]]
id = "cam"
model = "realsense-d435"
serial = "{serial}"
host = "h"
driver = "realsense"
{line}connection = "usb:c0"
streams = [
  {{ kind = "depth", width = 848, height = 480, fps = 30{exposure} }},
  {{ kind = "color", width = 848, height = 480, fps = 30 }},
]
"""


def rig_at(tmp_path: Path, **kwargs: str) -> RigSpec:
    return loads_rig(rig_text(**kwargs), str(tmp_path / "rig.toml"))


def with_role(config: DeviceConfig, vendor_role: str) -> DeviceConfig:
    return dataclasses.replace(config, sync=dataclasses.replace(config.sync, vendor_role=vendor_role))


def live(cam: SoftD435, rig: RigSpec, **kwargs: int) -> RealSenseDriver:
    return RealSenseDriver(rig, devices=lambda: [cam.dev], **kwargs)


def frames_of(items: list[Frame | DeviceEvent], stream: str) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame) and i.stream == stream]


def test_discovery_names_serial_catalog_model_firmware_and_usb(tmp_path: Path) -> None:
    """A D435 is found by serial with its catalog key, firmware and USB type; a D435I maps to its own key."""
    cams = [SoftD435(SERIAL), SoftD435("827312070002", name="Intel RealSense D435I")]
    driver = RealSenseDriver(rig_at(tmp_path), devices=lambda: [c.dev for c in cams])
    found = {i.serial: i for i in driver.discover()}
    assert (found[SERIAL].model, found[SERIAL].firmware, found[SERIAL].connection) == (
        "realsense-d435", "5.16.0.1", "usb 3.2")
    assert found["827312070002"].model == "realsense-d435i"


def test_a_missing_serial_names_what_was_found(tmp_path: Path) -> None:
    """Opening a serial nobody has is a DriverError naming the serial and the serials found."""
    cam = SoftD435(SERIAL)
    with pytest.raises(DriverError, match=r"device 999: no RealSense camera or recording .*found 827312070001"):
        live(cam, rig_at(tmp_path)).open("999")


@pytest.mark.parametrize(("vendor_role", "mode"), [("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4), ("8", 8),
                                                   ("258", 258)])
def test_the_plans_role_is_the_sync_mode_read_back(tmp_path: Path, vendor_role: str, mode: int) -> None:
    """The plan's vendor role is written as inter_cam_sync_mode while stopped and reads back exactly; global
    time is turned off on both sensors."""
    cam = SoftD435(SERIAL, sync_mode=7)
    rig = rig_at(tmp_path)
    with live(cam, rig).open(SERIAL) as device:
        device.configure(with_role(config_for(rig, "cam"), vendor_role))
        settings = device.settings()
    assert settings["Stereo Module"]["inter_cam_sync_mode"] == mode
    assert settings["Stereo Module"]["global_time_enabled"] == 0
    assert settings["RGB Camera"]["global_time_enabled"] == 0


GENLOCK_GROUP = """
[[triggers]]
name = "gen"
rate_hz = 15
level_v = 1.8
pulse_width_us = 200

[[sync]]
name = "g"
method = "genlock"
source = { trigger = "gen" }
topology = "star"
burst = 5
members = [{ device = "cam", role = "genlock" }]
"""


def test_genlock_burst_role_from_the_plan(tmp_path: Path) -> None:
    """A Genlock group with burst 5 plans mode 8 (burst + 3), and the device reads back 8."""
    text = rig_text() + GENLOCK_GROUP
    try:
        rig = loads_rig(text, str(tmp_path / "rig.toml"))
    except RigsyncError as err:
        pytest.fail(f"rig fragment out of date: {err}")
    from rigsync.capture.streams import device_config
    config = device_config(build_plan(rig), rig.device("cam"))
    cam = SoftD435(SERIAL)
    with live(cam, rig).open(SERIAL) as device:
        device.configure(config)
        assert device.settings()["Stereo Module"]["inter_cam_sync_mode"] == 8


def test_manual_exposure_is_set_and_read_back(tmp_path: Path) -> None:
    """A stream's exposure_us turns auto exposure off and sets the Stereo Module's exposure in microseconds."""
    cam = SoftD435(SERIAL)
    rig = rig_at(tmp_path, exposure=", exposure_us = 3300")
    with live(cam, rig).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        stereo = device.settings()["Stereo Module"]
    assert (stereo["enable_auto_exposure"], stereo["exposure"]) == (0, 3300)


def test_an_out_of_range_role_is_refused_by_the_sdk(tmp_path: Path) -> None:
    """A sync mode the device's option range does not allow is a DriverError naming the option and value."""
    cam = SoftD435(SERIAL)
    rig = rig_at(tmp_path)
    with live(cam, rig).open(SERIAL) as device, pytest.raises(DriverError, match="inter_cam_sync_mode = 300"):
        device.configure(with_role(config_for(rig, "cam"), "300"))


def test_a_stream_the_device_lacks_names_what_it_offers(tmp_path: Path) -> None:
    """Asking for a profile the device does not have lists the profiles it has."""
    cam = SoftD435(SERIAL)
    rig = rig_at(tmp_path)
    config = config_for(rig, "cam")
    config = dataclasses.replace(config, streams=(dataclasses.replace(config.streams[0], fps=90.0),))
    with live(cam, rig).open(SERIAL) as device, pytest.raises(DriverError, match="offers 848x480 z16 30 fps"):
        device.configure(config)


def test_live_frames_carry_centre_of_exposure_stamps_counter_and_host_time(tmp_path: Path) -> None:
    """Injected frames come back through the sensor callbacks: device time = SENSOR_TIMESTAMP (middle of
    exposure) in ns, unwrapped across the 32-bit wrap, seq = frame_counter, host time taken at the callback."""
    cam = SoftD435(SERIAL)
    rig = rig_at(tmp_path)
    with live(cam, rig, queue_frames=80).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        before_ns = time.monotonic_ns()
        device.start()
        for i in range(40):
            cam.inject(DEPTH, i)
            cam.inject(COLOR, i)
        after_ns = time.monotonic_ns()
        items = device.poll()
        device.stop()
    for name in ("depth", "color"):
        frames = frames_of(items, name)
        assert [f.seq for f in frames] == list(range(1, 41))
        assert [f.device_ts_ns for f in frames] == [sensor_ts_us(i) * 1000 for i in range(40)]
        assert sensor_ts_us(39) >= 1 << 32  # the wrap was crossed
        assert all(f.semantics is TimestampSemantics.CENTER_OF_EXPOSURE for f in frames)
        assert all(f.domain is ClockDomain.DEVICE and f.exposure_ns == EXPOSURE_US * 1000 for f in frames)
        assert all(before_ns <= f.host_rx_ns <= after_ns for f in frames)
    assert frames_of(items, "depth")[3].image is not None
    assert int(frames_of(items, "depth")[3].image[0, 0]) == 3


def test_frame_timestamp_alone_is_the_start_of_readout(tmp_path: Path) -> None:
    """Without SENSOR_TIMESTAMP the FRAME_TIMESTAMP is used, flagged as the end of exposure (readout start)."""
    cam = SoftD435(SERIAL, metadata=(rs.frame_metadata_value.frame_timestamp,))
    rig = rig_at(tmp_path)
    with live(cam, rig).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        for i in range(5):
            cam.inject(DEPTH, i)
        frames = frames_of(device.poll(), "depth")
        device.stop()
    assert [f.device_ts_ns for f in frames] == [frame_ts_us(i) * 1000 for i in range(5)]
    assert {f.semantics for f in frames} == {TimestampSemantics.END_OF_EXPOSURE}


def test_overflow_is_an_overrun_event_with_the_frame_numbers(tmp_path: Path) -> None:
    """A full queue keeps the first frames and reports the rest as one OVERRUN per stream, from the first lost
    frame's number, counting every lost frame; nothing goes missing silently."""
    cam = SoftD435(SERIAL)
    rig = rig_at(tmp_path)
    with live(cam, rig, queue_frames=10).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        for i in range(12):
            cam.inject(DEPTH, i)
        for i in range(3):
            cam.inject(COLOR, i)
        items = device.poll()
        device.stop()
    assert [f.seq for f in frames_of(items, "depth")] == list(range(1, 11))
    events = [i for i in items if isinstance(i, DeviceEvent)]
    assert [(e.kind, e.device, e.stream, e.seq, e.count) for e in events] == [
        (EventKind.OVERRUN, "cam", "depth", 11, 2), (EventKind.OVERRUN, "cam", "color", 1, 3)]


def test_configure_while_streaming_is_refused(tmp_path: Path) -> None:
    """Sync mode and other settings change only while stopped."""
    cam = SoftD435(SERIAL)
    rig = rig_at(tmp_path)
    with live(cam, rig).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        with pytest.raises(DriverError, match="only change while stopped"):
            device.configure(with_role(config_for(rig, "cam"), "1"))
        device.stop()
        assert device.settings()["Stereo Module"]["inter_cam_sync_mode"] == 0


def test_a_recording_plays_back_through_the_pipeline_as_the_rig_device(tmp_path: Path) -> None:
    """A rig device with file = "cam1.db3" is the recording: found with its recorded serial and model, its
    frames with their recorded stamps and counters, and its recorded sync mode read back."""
    record(tmp_path / "cam1.db3", SERIAL, 30, sync_mode=8)
    rig = rig_at(tmp_path, file="cam1.db3")
    driver = RealSenseDriver(rig, devices=lambda: [], real_time=False)
    [info] = driver.discover()
    assert (info.serial, info.model, info.connection) == (SERIAL, "realsense-d435", f"file {tmp_path / 'cam1.db3'}")
    with driver.open(SERIAL) as device:
        assert device.settings()["Stereo Module"]["inter_cam_sync_mode"] == 8
        assert device.readback() == {"inter_cam_sync_mode": "8"}
        device.configure(with_role(config_for(rig, "cam"), "8"))
        device.start()
        items: list[Frame | DeviceEvent] = []
        deadline = time.monotonic() + 10
        while len(items) < 60 and time.monotonic() < deadline:
            items += device.poll()
            time.sleep(0.01)
        device.stop()
    for name in ("depth", "color"):
        frames = frames_of(items, name)
        assert [f.seq for f in frames] == list(range(1, 31))
        assert [f.device_ts_ns for f in frames] == [sensor_ts_us(i) * 1000 for i in range(30)]


def test_a_recording_with_another_sync_mode_fails_configure(tmp_path: Path) -> None:
    """A recording made in slave mode cannot stand in for the plan's master: the error names both modes."""
    record(tmp_path / "cam1.db3", SERIAL, 3, sync_mode=2)
    rig = rig_at(tmp_path, file="cam1.db3")
    with RealSenseDriver(rig, real_time=False).open(SERIAL) as device, pytest.raises(
            DriverError, match="inter_cam_sync_mode recorded as 2, the plan wants 1"):
        device.configure(with_role(config_for(rig, "cam"), "1"))


def test_a_recording_of_another_serial_or_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """The rig's serial must be the recorded one; a missing file is named."""
    record(tmp_path / "cam1.db3", "827312070005", 2)
    driver = RealSenseDriver(rig_at(tmp_path, file="cam1.db3"), devices=lambda: [])
    with pytest.raises(DriverError, match="holds device 827312070005"):
        driver.open(SERIAL)
    with pytest.raises(DriverError, match=r"cam2.db3 does not exist"):
        RealSenseDriver(rig_at(tmp_path, file="cam2.db3"), devices=lambda: []).open(SERIAL)


def test_make_driver_is_the_registry_entry(tmp_path: Path) -> None:
    """The registry's factory builds the RealSense driver for a rig naming it."""
    rig = rig_at(tmp_path)
    assert isinstance(make_driver(rig, build_plan(rig)), RealSenseDriver)




def genlock_rig(tmp_path: Path, burst: int) -> RigSpec:
    return loads_rig(rig_text(file="cam1.db3") + GENLOCK_GROUP.replace("burst = 5", f"burst = {burst}"),
                     str(tmp_path / "rig.toml"))


@pytest.mark.parametrize(("recorded_mode", "passed", "line"), [
    (5, True, "reads back inter_cam_sync_mode = 5"),
    (8, False, "inter_cam_sync_mode recorded as 8, the plan wants 5"),
])
def test_check_compares_a_recordings_sync_mode_with_the_plan(tmp_path: Path, recorded_mode: int, passed: bool,
                                                             line: str) -> None:
    """rigsync check over a recording: the plan's Genlock burst 2 (mode 5) passes on a recording made in mode 5
    and fails, naming both modes, on one made in mode 8."""
    record(tmp_path / "cam1.db3", SERIAL, 3, sync_mode=recorded_mode)
    rig = genlock_rig(tmp_path, burst=2)
    rows = run_check(build_plan(rig), {"realsense": RealSenseDriver(rig, devices=lambda: [])}, seconds=0.2)
    [settings] = [r for r in rows if r.check == "settings"]
    assert settings.ok is passed and line in settings.detail
