"""The ZED driver over a strict fake ``pyzed.sl`` (:mod:`fake_pyzed`; the SDK ships only with StereoLabs' installer).

``zed_driver()`` is this driver's entry for the driver contract suite.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from tests.drivers.fake_pyzed import LEFT_CAM, MODEL, FakeZed, FakeZedSDK
from tests.drivers.polling import frames_of, poll_until

from rigsync.capture.options import CaptureOptions
from rigsync.capture.preflight import run_check
from rigsync.capture.session import CaptureSession
from rigsync.capture.streams import device_config
from rigsync.catalog.stereolabs import ZED_2I
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimestampSemantics
from rigsync.drivers.base import Device, DeviceConfig, DeviceEvent, Driver, EventKind, StreamConfig
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import loads_rig
from rigsync.spec.model import RigSpec

ZED_SOURCE = Path(__file__).parents[2] / "src" / "rigsync" / "drivers" / "zed.py"

RIG = """
[[hosts]]
name = "h"
gpu_memory_mb = 8192
usb_controllers = [{ name = "c0" }, { name = "c1" }]

[[devices]]
id = "left"
model = "zed-2i"
driver = "zed"
serial = "31234561"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 9985 },
           { kind = "depth", width = 1280, height = 720, fps = 30 }]

[[devices]]
id = "right"
model = "zed-2i"
driver = "zed"
serial = "31234562"
host = "h"
connection = "usb:c1"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]

[[sync]]
name = "zeds"
method = "software"
members = [{ device = "left" }, { device = "right" }]
"""


GMSL_RIG = """
[[hosts]]
name = "jetson"
platform = "jetson"
zed_link_driver = true
gpu_memory_mb = 16384
capture_cards = [{ name = "card0", model = "zed-link-duo" }]

[[devices]]
id = "left"
model = "zed-x"
driver = "zed"
serial = "45000000"
host = "jetson"
connection = "gmsl:card0:0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30, exposure_us = 5000 }]
"""


def _drop_modules() -> None:
    for name in ("pyzed", "pyzed.sl", "rigsync.drivers.zed"):
        sys.modules.pop(name, None)


def load_zed(sdk: FakeZedSDK) -> ModuleType:
    """``rigsync.drivers.zed`` freshly imported over ``sdk``'s fake ``pyzed.sl``."""
    _drop_modules()
    package = ModuleType("pyzed")
    package.__path__ = []
    package.sl = sdk.sl  # type: ignore[attr-defined]
    sys.modules["pyzed"], sys.modules["pyzed.sl"] = package, sdk.sl
    return importlib.import_module("rigsync.drivers.zed")


def two_zeds() -> FakeZedSDK:
    return FakeZedSDK([FakeZed(31234561), FakeZed(31234562)])


@pytest.fixture
def sdk() -> FakeZedSDK:
    return two_zeds()


@pytest.fixture
def zed(sdk: FakeZedSDK) -> Iterator[ModuleType]:
    yield load_zed(sdk)
    _drop_modules()


@pytest.fixture
def rig_plan() -> tuple[RigSpec, Plan]:
    rig = loads_rig(RIG, "zed.toml")
    return rig, build_plan(rig)


def zed_driver() -> tuple[Driver, RigSpec]:
    """This driver for the driver contract suite: two ZED 2i over the fake SDK."""
    module = load_zed(two_zeds())
    rig = loads_rig(RIG, "zed.toml")
    driver: Driver = module.make_driver(rig, build_plan(rig))
    return driver, rig


def configured(driver: Driver, rig: RigSpec, plan: Plan, device_id: str) -> Device:
    device = driver.open(rig.device(device_id).serial)
    device.configure(device_config(plan, rig.device(device_id)))
    return device


# --- discovery and opening ---------------------------------------------------------------------------------


def test_discovery_names_serial_model_and_connection(zed: ModuleType, sdk: FakeZedSDK,
                                                     rig_plan: tuple[RigSpec, Plan]) -> None:
    """Every camera in the SDK's device list is listed by serial with its catalog model; a camera another program
    holds says so."""
    driver = zed.make_driver(*rig_plan)
    sdk.cameras.append(FakeZed(10000003, model=MODEL.ZED_M))
    sdk.cameras[2].owner = object()
    found = driver.discover()
    assert [(i.serial, i.model, i.name) for i in found] == [("31234561", "zed-2i", "ZED 2i"),
                                                            ("31234562", "zed-2i", "ZED 2i"),
                                                            ("10000003", "zed-mini", "ZED Mini")]
    assert [i.connection for i in found] == ["usb (ZED id 0, /dev/video0)", "usb (ZED id 1, /dev/video2)",
                                             "usb (ZED id 2, /dev/video4), in use by another program"]


def test_gmsl_cameras_are_one_hardware_group(zed: ModuleType, sdk: FakeZedSDK,
                                             rig_plan: tuple[RigSpec, Plan]) -> None:
    """The ZED X family cameras of the host (GMSL2 on the ZED Link card) are listed as one hardware group naming
    every member; USB cameras beside them are not in it."""
    sdk.cameras += [FakeZed(45000000, model=MODEL.ZED_X), FakeZed(45000001, model=MODEL.ZED_XM)]
    found = {i.serial: i for i in zed.make_driver(*rig_plan).discover()}
    group = "gmsl zed-link (hardware group of 2: 45000000, 45000001)"
    assert (found["45000000"].model, found["45000000"].connection) == ("zed-x", group)
    assert (found["45000001"].model, found["45000001"].connection) == ("zed-x-mini", group)
    assert found["31234561"].connection.startswith("usb ")


def test_open_by_serial_and_missing_serial(zed: ModuleType, sdk: FakeZedSDK,
                                           rig_plan: tuple[RigSpec, Plan]) -> None:
    """open() opens the camera with that serial (set_from_serial_number) and reads its firmware; a serial that is
    not attached is a DriverError naming it and what is there; close() releases the camera."""
    driver = zed.make_driver(*rig_plan)
    with driver.open("31234562") as device:
        assert sdk.device(31234562).owner is not None and sdk.device(31234561).owner is None
        assert device.info.firmware == "1523"
    assert sdk.device(31234562).owner is None
    with pytest.raises(DriverError, match=r"zed device 999: not found \(2 ZED attached: 31234561, 31234562\)"):
        driver.open("999")
    sdk.cameras[0].owner = object()
    with pytest.raises(DriverError, match=r"zed device 31234561: the SDK could not open it: CAMERA_NOT_DETECTED"):
        driver.open("31234561")


# --- configuration and read-back ---------------------------------------------------------------------------


def test_plan_becomes_init_parameters_and_reads_back(zed: ModuleType, sdk: FakeZedSDK,
                                                     rig_plan: tuple[RigSpec, Plan]) -> None:
    """configure() reopens the camera with the plan's resolution, rate and depth mode (depth streams: NEURAL_LIGHT,
    millimetres; none: NONE) and sets manual exposure as the USB percentage, auto exposure where none is planned."""
    rig, plan = rig_plan
    driver = zed.make_driver(rig, plan)
    with configured(driver, rig, plan, "left") as left, configured(driver, rig, plan, "right") as right:
        cam = sdk.device(31234561)
        assert cam.opened is not None
        assert (cam.opened["resolution"].name, cam.opened["fps"], cam.opened["depth_mode"].name,
                cam.opened["units"].name) == ("HD720", 30, "NEURAL_LIGHT", "MILLIMETER")
        assert cam.settings["EXPOSURE"] == 50 and cam.settings["AEC_AGC"] == 0  # 9985 us of 19970 us
        assert sdk.device(31234562).opened["depth_mode"].name == "NONE"  # type: ignore[index]
        assert sdk.device(31234562).settings["AEC_AGC"] == 1
        assert left.readback() == right.readback() == {}  # no sync setting the SDK reports


def test_a_camera_opened_in_another_mode_is_refused(zed: ModuleType, sdk: FakeZedSDK,
                                                    rig_plan: tuple[RigSpec, Plan]) -> None:
    """If the SDK opens the camera at another rate than planned (its configuration fallback), configure() reads it
    back and raises a DriverError naming both."""
    rig, plan = rig_plan
    sdk.device(31234561).fallback_fps = 15
    with zed.make_driver(rig, plan).open("31234561") as device, pytest.raises(
            DriverError, match=r"zed device 31234561: opened at 1280x720 15 fps, not the planned 1280x720 30 fps"):
        device.configure(device_config(plan, rig.device("left")))


def test_gmsl_exposure_is_set_in_microseconds(zed: ModuleType, sdk: FakeZedSDK) -> None:
    """A ZED X takes manual exposure as EXPOSURE_TIME in microseconds, at its own resolutions (HD1200)."""
    sdk.cameras.append(FakeZed(45000000, model=MODEL.ZED_X))
    text = GMSL_RIG
    rig = loads_rig(text, "zedx.toml")
    plan = build_plan(rig)
    with configured(zed.make_driver(rig, plan), rig, plan, "left"):
        cam = sdk.device(45000000)
        assert cam.settings["EXPOSURE_TIME"] == 5000 and cam.settings["AEC_AGC"] == 0
        assert cam.opened is not None and cam.opened["resolution"].name == "HD1200"


def test_settings_the_zed_cannot_do_are_refused(zed: ModuleType, rig_plan: tuple[RigSpec, Plan]) -> None:
    """A size or rate the model lacks, colour and depth of different sizes, an out-of-range exposure and a
    monocular ZED X One are DriverErrors naming the device and what is allowed."""
    rig, plan = rig_plan
    config = device_config(plan, rig.device("left"))
    color, depth = config.streams

    def bad(*streams: StreamConfig) -> DeviceConfig:
        return dataclasses.replace(config, streams=streams)

    with pytest.raises(DriverError, match=r"zed device 31234561: 1280x720 at 100 fps is not a ZED 2i mode.*HD720"):
        zed.zed_settings(bad(dataclasses.replace(color, fps=100.0), dataclasses.replace(depth, fps=100.0)))
    with pytest.raises(DriverError, match="same size and fps"):
        zed.zed_settings(bad(color, dataclasses.replace(depth, width=672, height=376)))
    with pytest.raises(DriverError, match=r"colour exposure 70000 us.*use 26 to 66667 us"):
        zed.zed_settings(bad(dataclasses.replace(color, exposure_us=70_000), depth))
    with pytest.raises(DriverError, match=r"ZED X One GS is a monocular camera \(sl.CameraOne\)"):
        zed.zed_settings(dataclasses.replace(config, model="zed-x-one-gs", streams=(color,)))
    assert zed.zed_settings(config).resolution == "HD720"


def test_configure_only_while_stopped_and_start_needs_configure(zed: ModuleType,
                                                                rig_plan: tuple[RigSpec, Plan]) -> None:
    """Settings change only while stopped; start() before configure() is refused."""
    rig, plan = rig_plan
    with zed.make_driver(rig, plan).open("31234561") as device:
        with pytest.raises(DriverError, match="configure"):
            device.start()
        device.configure(device_config(plan, rig.device("left")))
        device.start()
        with pytest.raises(DriverError, match="stopped"):
            device.configure(device_config(plan, rig.device("left")))
        device.stop()
        device.configure(device_config(plan, rig.device("left")))


# --- frames and timestamps -------------------------------------------------------------------------------


class ScriptedClocks:
    """The host's (system, monotonic) clocks: monotonic is real, the system clock is it plus a scripted offset per
    read (a step of 1.5 s at the fourth read, like an NTP or PTP step)."""

    def __init__(self) -> None:
        self.reads: list[tuple[int, int]] = []

    def __call__(self) -> tuple[int, int]:
        mono = time.monotonic_ns()
        offset = 1_700_000_000_123_456_789 + (1_500_000_000 if len(self.reads) >= 3 else 0) + 7 * len(self.reads)
        self.reads.append((mono + offset, mono))
        return self.reads[-1]


def test_system_clock_stamps_become_monotonic_exactly(zed: ModuleType, sdk: FakeZedSDK,
                                                      rig_plan: tuple[RigSpec, Plan]) -> None:
    """Each frame's IMAGE timestamp (system clock) is moved onto the monotonic clock by the two clocks read
    together at its grab, exact to the ns, through a system-clock step; host-receive semantics, host domain,
    latency = exposure + readout."""
    rig, plan = rig_plan
    clocks = ScriptedClocks()
    driver = zed.ZedDriver(clocks=clocks)
    with configured(driver, rig, plan, "left") as device:
        device.start()
        sdk.wait_delivered(31234561, 6)
        device.stop()
        items = device.poll()
        cam = sdk.device(31234561)
        truth_sys = [cam.ready_mono_ns(cam.first_frame + k) + sdk.sys_offset_ns for k in range(6)]
    color, depth = frames_of(items, "color"), frames_of(items, "depth")
    assert [f.seq for f in color] == list(range(len(clocks.reads)))
    for f, (sys_ns, mono_ns) in zip(color, clocks.reads, strict=True):
        if f.seq < 6:
            assert f.host_rx_ns == truth_sys[f.seq] + mono_ns - sys_ns
        assert f.device_ts_ns == f.host_rx_ns
        assert f.semantics is TimestampSemantics.HOST_RECEIVE and f.domain is ClockDomain.HOST
        assert f.exposure_ns == 9_985_000  # 50 % of 19.97 ms
        assert f.min_latency_ns == f.exposure_ns + ZED_2I.readout_ns
    assert [(f.seq, f.host_rx_ns) for f in depth] == [(f.seq, f.host_rx_ns) for f in color]


def test_real_clocks_put_frames_at_their_arrival(zed: ModuleType, sdk: FakeZedSDK,
                                                 rig_plan: tuple[RigSpec, Plan]) -> None:
    """With the host's own clocks (the fake SDK stamps on the real system clock), host_rx_ns is the instant the
    image was complete in host memory, within 1 ms (two clock reads apart)."""
    rig, plan = rig_plan
    with configured(zed.make_driver(rig, plan), rig, plan, "right") as device:
        device.start()
        sdk.wait_delivered(31234562, 4)
        device.stop()
        color = frames_of(device.poll(), "color")
        cam = sdk.device(31234562)
        errors = [f.host_rx_ns - cam.ready_mono_ns(cam.first_frame + f.seq) for f in color]
    assert len(errors) >= 4 and all(abs(e) < 1_000_000 for e in errors)
    assert all(f.exposure_ns is None and f.min_latency_ns == 26_000 + ZED_2I.readout_ns for f in color)


def test_dropped_frames_are_gaps_in_seq_and_images_are_kept(zed: ModuleType, sdk: FakeZedSDK,
                                                            rig_plan: tuple[RigSpec, Plan]) -> None:
    """Frames the SDK dropped before grab (get_frame_dropped_count) leave gaps in seq; a CORRUPTED_FRAME grab is a
    frame flagged CORRUPT; each frame keeps its own pixels (BGR 720p, depth 16UC1 in mm) though the SDK reuses its
    buffers."""
    rig, plan = rig_plan
    cam = sdk.device(31234561)
    cam.dropped, cam.corrupt = {2, 3}, {5}
    with configured(zed.make_driver(rig, plan), rig, plan, "left") as device:
        device.start()
        sdk.wait_delivered(31234561, 5)
        device.stop()
        items = device.poll()
    color, depth = frames_of(items, "color"), frames_of(items, "depth")
    assert [f.seq for f in color[:5]] == [0, 1, 4, 5, 6]
    assert [f.flags for f in color[:5]] == [FrameFlags.NONE] * 3 + [FrameFlags.CORRUPT, FrameFlags.NONE]
    for f in color:
        assert f.image is not None and f.image.shape == (720, 1280, 3) and f.encoding == "bgr8"
        assert f.image[0, 0].tolist() == [f.seq % 250, 1, 2]
    for f in depth:
        assert f.image is not None and f.image.shape == (720, 1280) and f.encoding == "16UC1"
        assert int(f.image[0, 0]) == 1000 + f.seq


def test_a_failed_retrieve_is_a_gap_never_a_stale_image(zed: ModuleType, sdk: FakeZedSDK,
                                                         rig_plan: tuple[RigSpec, Plan]) -> None:
    """A frame whose depth the SDK fails to retrieve has no depth frame (a gap in the depth seq), not the previous
    frame's buffer again; its colour frame is delivered."""
    rig, plan = rig_plan
    sdk.device(31234561).no_depth = {1}
    with configured(zed.make_driver(rig, plan), rig, plan, "left") as device:
        device.start()
        sdk.wait_delivered(31234561, 3)
        device.stop()
        items = device.poll()
    assert [f.seq for f in frames_of(items, "color")][:3] == [0, 1, 2]
    depth = frames_of(items, "depth")
    assert [f.seq for f in depth][:2] == [0, 2]
    assert [int(f.image[0, 0]) for f in depth[:2] if f.image is not None] == [1000, 1002]


def test_seq_restarts_with_each_start(zed: ModuleType, sdk: FakeZedSDK, rig_plan: tuple[RigSpec, Plan]) -> None:
    """After stop and start, seq counts from 0 again: frames the SDK dropped during the earlier start do not shift
    it (its dropped count runs from the camera's first grab)."""
    rig, plan = rig_plan
    sdk.device(31234562).dropped = {1, 2}
    with configured(zed.make_driver(rig, plan), rig, plan, "right") as device:
        device.start()
        sdk.wait_delivered(31234562, 3)
        device.stop()
        first = [f.seq for f in frames_of(device.poll(), "color")]
        device.start()
        sdk.wait_delivered(31234562, 6)
        device.stop()
        second = [f.seq for f in frames_of(device.poll(), "color")]
    assert first[:3] == [0, 3, 4]
    assert second[:2] == [0, 1]


def test_queue_overflow_is_an_overrun_with_the_frame_number(zed: ModuleType, sdk: FakeZedSDK,
                                                            rig_plan: tuple[RigSpec, Plan]) -> None:
    """With nobody polling, frames beyond the queue's bound are dropped and reported: one OVERRUN per stream
    naming its first dropped frame and how many consecutive frames it lost, none lost silently."""
    rig, plan = rig_plan
    with configured(zed.ZedDriver(queue_frames=4), rig, plan, "left") as device:
        device.start()
        sdk.wait_delivered(31234561, 5)
        device.stop()
        items = device.poll()
    delivered = sdk.device(31234561).delivered
    frames = [i for i in items if isinstance(i, Frame)]
    events = [i for i in items if isinstance(i, DeviceEvent)]
    assert [(f.stream, f.seq) for f in frames] == [("color", 0), ("depth", 0), ("color", 1), ("depth", 1)]
    assert [(e.kind, e.stream, e.seq, e.count) for e in events] == [
        (EventKind.OVERRUN, stream, 2, delivered - 2) for stream in ("color", "depth")]
    assert delivered >= 5


def test_unplug_and_replug_are_disconnected_and_reconnected(zed: ModuleType, sdk: FakeZedSDK,
                                                            rig_plan: tuple[RigSpec, Plan]) -> None:
    """A grab that fails with CAMERA_NOT_DETECTED is one DISCONNECTED after the frames before it; once the camera
    is back it is opened again with the plan's settings and exposure, RECONNECTED, its seq restarting at 0 and
    its first frame of each stream flagged AFTER_RECONNECT."""
    rig, plan = rig_plan
    cam = sdk.device(31234561)
    with configured(zed.make_driver(rig, plan), rig, plan, "left") as device:
        device.start()
        sdk.wait_delivered(31234561, 2)
        sdk.unplug(31234561)
        before = poll_until(device, EventKind.DISCONNECTED)
        assert cam.opens == 2
        cam.settings["EXPOSURE"], cam.settings["AEC_AGC"] = 50, 1  # a power cycle resets the camera's settings
        sdk.replug(31234561)
        after = poll_until(device, EventKind.RECONNECTED)
        sdk.wait_delivered(31234561, 4)  # the third frame is queued once the fourth is grabbed
        after += device.poll()
    events = [i for i in before + after if isinstance(i, DeviceEvent)]
    assert [(e.kind, e.device) for e in events] == [(EventKind.DISCONNECTED, "left"), (EventKind.RECONNECTED, "left")]
    assert isinstance(before[-1], DeviceEvent) and len(frames_of(before, "color")) >= 2
    back = after.index(events[1])
    color = frames_of(after[back + 1:], "color")
    assert [f.seq for f in color[:3]] == [0, 1, 2]
    assert [f.flags for f in color[:3]] == [FrameFlags.AFTER_RECONNECT, FrameFlags.NONE, FrameFlags.NONE]
    assert frames_of(after[back + 1:], "depth")[0].flags is FrameFlags.AFTER_RECONNECT
    assert all(f.flags is FrameFlags.NONE for f in before if isinstance(f, Frame))
    assert cam.opens == 3 and cam.opened is None  # reopened once, closed at the end
    assert cam.settings["AEC_AGC"] == 0


# --- intrinsics, timing, check ---------------------------------------------------------------------------


def test_intrinsics_and_timing(zed: ModuleType, rig_plan: tuple[RigSpec, Plan]) -> None:
    """Intrinsics are the rectified left camera's calibration (no distortion) at the stream's size; timing is the
    host clock, with the unknown exposure range in the uncertainty only under auto exposure."""
    rig, plan = rig_plan
    driver = zed.make_driver(rig, plan)
    with configured(driver, rig, plan, "left") as left, configured(driver, rig, plan, "right") as right:
        k = left.intrinsics("depth")
        assert (k.width, k.height, k.fx, k.fy, k.cx, k.cy) == (1280, 720, *LEFT_CAM)
        assert set(k.distortion) == {0.0}
        with pytest.raises(DriverError, match="no configured stream 'ir'"):
            left.intrinsics("ir")
        assert left.timing().domain is ClockDomain.HOST and left.timing().tick_ns == 1
        assert left.timing().latency_uncertainty_ns == zed.LATENCY_UNCERTAINTY_NS
        assert right.timing().latency_uncertainty_ns == zed.LATENCY_UNCERTAINTY_NS + 66_641_000


def test_check_passes_on_two_usb_zeds(zed: ModuleType, rig_plan: tuple[RigSpec, Plan]) -> None:
    """rigsync check over the ZED driver: both cameras present and configured (no sync setting to read back),
    frames at the rate."""
    rig, plan = rig_plan
    rows = run_check(plan, {"zed": zed.make_driver(rig, plan)}, seconds=1.0)
    assert {(r.device, r.check): r.ok for r in rows} == {
        (d, c): True for d in ("left", "right") for c in ("present", "settings", "frames")}


# --- the fake is strict, and the core needs no pyzed -------------------------------------------------------


def _sl_names(source: str) -> tuple[set[tuple[str, ...]], set[str]]:
    """(``sl.A`` / ``sl.A.B`` chains, methods called on a camera object) in the driver's source."""
    chains, calls = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "sl":
                chains.add(tuple(parts[:2]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if (isinstance(target, ast.Name) and target.id == "camera") or (
                    isinstance(target, ast.Attribute) and target.attr == "_camera"):
                calls.add(node.func.attr)
    return chains, calls


def test_the_driver_uses_only_what_the_fake_implements(sdk: FakeZedSDK) -> None:
    """Every ``sl`` name and enum member the driver names, and every camera method it calls, exists in the fake
    (which follows StereoLabs' sl.pyx); the fake refuses anything else."""
    chains, calls = _sl_names(ZED_SOURCE.read_text())
    assert ("Camera", "get_device_list") in chains and {"grab", "get_frame_dropped_count", "get_timestamp"} <= calls
    for chain in chains:
        obj: object = sdk.sl
        for part in chain:
            obj = getattr(obj, part)  # AttributeError names what the fake lacks
    public = {n for n, _ in inspect.getmembers(sdk.sl.Camera, inspect.isfunction) if not n.startswith("_")}
    assert calls <= public | {"get_device_list"}
    with pytest.raises(AttributeError):
        sdk.sl.RuntimeParameters  # noqa: B018
    with pytest.raises(AttributeError):
        sdk.sl.Camera().enable_recording  # noqa: B018
    with pytest.raises(AttributeError):
        sdk.sl.InitParameters().camera_fsp = 30  # a typo in a field name fails instead of being ignored


def test_core_imports_without_pyzed() -> None:
    """The core, the registry and the CLI import with no pyzed; naming the driver then says to run StereoLabs'
    installer (and not to pip install the unrelated pyzed)."""
    code = ("import sys; sys.modules['pyzed'] = None\n"
            "import rigsync.cli.main, rigsync.drivers.factory\n"
            "from rigsync.drivers.registry import driver_factory\n"
            "from rigsync.core.errors import RigsyncError\n"
            "assert 'rigsync.drivers.zed' not in sys.modules\n"
            "try:\n    driver_factory('zed')\nexcept RigsyncError as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "driver 'zed' needs pyzed.sl" in out and "StereoLabs' ZED SDK installer" in out


def test_several_devices_grab_at_once(zed: ModuleType, sdk: FakeZedSDK, rig_plan: tuple[RigSpec, Plan]) -> None:
    """Two started ZEDs each deliver their own frames from their own grab thread, seq consecutive."""
    rig, plan = rig_plan
    driver = zed.make_driver(rig, plan)
    with configured(driver, rig, plan, "left") as left, configured(driver, rig, plan, "right") as right:
        left.start()
        right.start()
        sdk.wait_delivered(31234561, 3)
        sdk.wait_delivered(31234562, 3)
        for device, streams in ((left, {"color", "depth"}), (right, {"color"})):
            items = device.poll()
            assert {f.stream for f in items if isinstance(f, Frame)} == streams
            seqs = [f.seq for f in frames_of(items, "color")]
            assert seqs and all(b == a + 1 for a, b in itertools.pairwise(seqs))


def test_capture_records_both_zeds(zed: ModuleType, tmp_path: Path) -> None:
    """A 2 s capture (VGA) through the capture session records both ZEDs' streams matched into framesets (nearly
    all complete: a loaded host may make a frame late), with no error."""
    rig = loads_rig(RIG.replace("width = 1280, height = 720", "width = 672, height = 376"), "zed-vga.toml")
    plan = build_plan(rig)
    out = tmp_path / "zed.mcap"
    with CaptureSession(plan, CaptureOptions(out=out, seconds=2.0), drivers={"zed": zed.make_driver(rig, plan)}) \
            as session:
        result = session.run()
    assert result.error is None and not result.interrupted
    assert result.framesets >= 40 and result.complete >= 0.9 * result.framesets
    assert set(result.dropped) <= {"late", "host_overrun"}
    assert out.stat().st_size > 0
