"""The RealSense driver against librealsense's own code: software devices (D435-like, options and metadata
injected) opened as live cameras, and ``.db3`` recordings made with ``rs.recorder`` played back through
``rs.pipeline``."""

from __future__ import annotations

import dataclasses
import inspect
import re
import time
from pathlib import Path

import pytest

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed: pip install 'rigsync[realsense]'")

from tests.drivers.polling import poll_until  # noqa: E402
from tests.drivers.realsense_devices import (  # noqa: E402
    COLOR,
    DEPTH,
    EXPOSURE_US,
    SoftChange,
    SoftContext,
    SoftD435,
    frame_ts_us,
    record,
    sensor_ts_us,
)
from tests.drivers.test_driver_contract import config_for  # noqa: E402

from rigsync.capture.preflight import run_check  # noqa: E402
from rigsync.core.errors import DriverError, RigsyncError  # noqa: E402
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimestampSemantics  # noqa: E402
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
    return RealSenseDriver(rig, context=SoftContext(cam.dev), **kwargs)


def frames_of(items: list[Frame | DeviceEvent], stream: str) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame) and i.stream == stream]


def test_discovery_names_serial_catalog_model_firmware_and_usb(tmp_path: Path) -> None:
    """A D435 is found by serial with its catalog key, firmware and USB type; a D435I maps to its own key."""
    cams = [SoftD435(SERIAL), SoftD435("827312070002", name="Intel RealSense D435I")]
    driver = RealSenseDriver(rig_at(tmp_path), context=SoftContext(*(c.dev for c in cams)))
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
    driver = RealSenseDriver(rig, context=SoftContext(), real_time=False)
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
    with RealSenseDriver(rig, context=SoftContext(), real_time=False).open(SERIAL) as device, pytest.raises(
            DriverError, match="inter_cam_sync_mode recorded as 2, the plan wants 1"):
        device.configure(with_role(config_for(rig, "cam"), "1"))


def test_a_recording_of_another_serial_or_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """The rig's serial must be the recorded one; a missing file is named."""
    record(tmp_path / "cam1.db3", "827312070005", 2)
    driver = RealSenseDriver(rig_at(tmp_path, file="cam1.db3"), context=SoftContext())
    with pytest.raises(DriverError, match="holds device 827312070005"):
        driver.open(SERIAL)
    with pytest.raises(DriverError, match=r"cam2.db3 does not exist"):
        RealSenseDriver(rig_at(tmp_path, file="cam2.db3"), context=SoftContext()).open(SERIAL)


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
    rows = run_check(build_plan(rig), {"realsense": RealSenseDriver(rig, context=SoftContext())}, seconds=0.2)
    [settings] = [r for r in rows if r.check == "settings"]
    assert settings.ok is passed and line in settings.detail


@pytest.mark.parametrize(("fake", "sdk"), [(SoftContext, rs.context), (SoftChange, rs.event_information)])
def test_the_context_stand_ins_have_the_sdks_names_and_parameters(fake: type, sdk: type) -> None:
    """Every public method of the stand-ins for rs.context / rs.event_information exists in pyrealsense2 with
    the same parameters (one of its overloads), as its pybind11 signature says."""
    for name, method in inspect.getmembers(fake, inspect.isfunction):
        if name.startswith("_") or name in ("unplug", "plug"):
            continue
        assert hasattr(sdk, name), f"{sdk.__name__} has no {name}"
        ours = list(inspect.signature(method).parameters)[1:]
        overloads = [re.findall(r"(\w+): ", signature)[1:]
                     for signature in re.findall(rf"^(?:\d+\. )?{name}\(self: .*$", getattr(sdk, name).__doc__, re.M)]
        assert ours in overloads, (name, ours, overloads)


def unplug_and_replug(tmp_path: Path, *, running: bool) -> tuple[list[Frame | DeviceEvent], dict[str, float],
                                                                 tuple[int, int]]:
    """A master camera (mode 1, depth exposure 3300 us) streams 40 frames of each stream (past the counter's
    wrap), is unplugged, comes back (a fresh camera of that serial: sync mode 7, auto exposure) and streams 3."""
    cam, again = SoftD435(SERIAL), SoftD435(SERIAL, sync_mode=7)
    rig = rig_at(tmp_path, exposure=", exposure_us = 3300")
    ctx = SoftContext(cam.dev)
    with RealSenseDriver(rig, context=ctx, queue_frames=200).open(SERIAL) as device:
        device.configure(with_role(config_for(rig, "cam"), "1"))
        if running:
            device.start()
            for i in range(40):
                cam.inject(DEPTH, i)
                cam.inject(COLOR, i)
        before_ns = time.monotonic_ns()
        ctx.unplug(cam.dev)
        items = poll_until(device, EventKind.DISCONNECTED)
        for i in range(40, 43):  # the removed camera's sensors are stopped: nothing more from them
            cam.inject(DEPTH, i)
        ctx.plug(again.dev)
        items += poll_until(device, EventKind.RECONNECTED)
        for i in range(3):
            again.inject(DEPTH, i)
            again.inject(COLOR, i)
        items += device.poll()
        settings = device.settings()["Stereo Module"]
        device.stop()
    return items, settings, (before_ns, time.monotonic_ns())


def test_an_unplugged_camera_is_disconnected_then_reconnected_with_the_plans_settings(tmp_path: Path) -> None:
    """Unplugged while streaming: one DISCONNECTED (host time of the SDK's notice), its sensors stopped; back:
    re-configured from the plan (sync mode 1 and exposure 3300 read back, not the returned camera's 7 and auto),
    one RECONNECTED, then its frames restart: counters from 1, stamps unwrapped afresh, each stream's first frame
    flagged AFTER_RECONNECT."""
    items, settings, (before_ns, after_ns) = unplug_and_replug(tmp_path, running=True)
    events = [i for i in items if isinstance(i, DeviceEvent)]
    assert [(e.kind, e.device) for e in events] == [(EventKind.DISCONNECTED, "cam"), (EventKind.RECONNECTED, "cam")]
    assert before_ns <= events[0].host_ns <= events[1].host_ns <= after_ns
    assert (settings["inter_cam_sync_mode"], settings["enable_auto_exposure"], settings["exposure"]) == (1, 0, 3300)
    gone, back = items.index(events[0]), items.index(events[1])
    assert all(isinstance(i, Frame) for i in items[:gone]) and items[gone + 1:back] == []
    for name in ("depth", "color"):
        before, after = frames_of(items[:gone], name), frames_of(items[back:], name)
        assert [f.seq for f in before] == list(range(1, 41))
        assert [(f.seq, f.device_ts_ns) for f in after] == [(i + 1, sensor_ts_us(i) * 1000) for i in range(3)]
        assert [f.flags for f in after] == [FrameFlags.AFTER_RECONNECT, FrameFlags.NONE, FrameFlags.NONE]
        assert {f.flags for f in before} == {FrameFlags.NONE}


def test_a_stopped_camera_that_comes_back_is_configured_but_not_started(tmp_path: Path) -> None:
    """Unplugged while configured but stopped: DISCONNECTED then RECONNECTED with the plan's settings read back,
    and no frame (it was not streaming, so it is not restarted)."""
    items, settings, _ = unplug_and_replug(tmp_path, running=False)
    assert [(i.kind, i.device) for i in items if isinstance(i, DeviceEvent)] == [
        (EventKind.DISCONNECTED, "cam"), (EventKind.RECONNECTED, "cam")]
    assert not [i for i in items if isinstance(i, Frame)]
    assert (settings["inter_cam_sync_mode"], settings["exposure"]) == (1, 3300)


def test_another_camera_coming_and_going_changes_nothing(tmp_path: Path) -> None:
    """A camera of another serial unplugged and plugged is no event of this device, whose frames keep coming."""
    cam, other = SoftD435(SERIAL), SoftD435("827312070009")
    rig = rig_at(tmp_path)
    ctx = SoftContext(cam.dev, other.dev)
    with RealSenseDriver(rig, context=ctx).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        ctx.unplug(other.dev)
        ctx.plug(other.dev)
        cam.inject(DEPTH, 0)
        items = device.poll()
        device.stop()
    assert [(type(i), i.seq) for i in items if isinstance(i, Frame)] == [(Frame, 1)] and len(items) == 1


def test_a_recording_played_to_its_end_is_disconnected_after_its_last_frame(tmp_path: Path) -> None:
    """A recording's end is reported as a webcam clip's is: one DISCONNECTED event, after all its frames."""
    record(tmp_path / "cam1.db3", SERIAL, 10)
    rig = rig_at(tmp_path, file="cam1.db3")
    with RealSenseDriver(rig, context=SoftContext(), real_time=False).open(SERIAL) as device:
        device.configure(config_for(rig, "cam"))
        device.start()
        items = poll_until(device, EventKind.DISCONNECTED)
        items += device.poll()
        device.stop()
    assert [(i.kind, i.device) for i in items if isinstance(i, DeviceEvent)] == [(EventKind.DISCONNECTED, "cam")]
    assert isinstance(items[-1], DeviceEvent)
    assert sorted(f.seq for f in frames_of(items, "depth")) == list(range(1, 11))
