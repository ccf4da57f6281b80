"""The Azure Kinect driver over pyk4a's own Python layer (from its sdist) and a strict fake native ``k4a_module``.

pyk4a cannot be installed without Microsoft's libk4a, so its Python files are taken from the sdist (downloaded
once into a cache, sha256 checked; ``RIGSYNC_PYK4A_SDIST`` may name a local copy) and run over
:mod:`fake_k4a`, which stands in for the C extension. ``kinect_driver()`` is this driver's entry for the driver
contract suite.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import inspect
import itertools
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from tests.drivers.fake_k4a import AUTO_EXPOSURE_US, CONTROLS, INTRINSICS, STARTUP_US, FakeK4A, FakeKinect
from tests.drivers.polling import frames_of, poll_until

from rigsync.capture.options import CaptureOptions
from rigsync.capture.preflight import run_check
from rigsync.capture.session import CaptureSession
from rigsync.capture.streams import device_config
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind, TimestampSemantics
from rigsync.drivers.base import Device, DeviceEvent, Driver, EventKind, StreamConfig
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import loads_rig
from rigsync.spec.model import RigSpec

PYK4A_URL = ("https://files.pythonhosted.org/packages/5a/f9/92c3f43caf0a8ad5ca1414be0096b8e046604a90cabe84f1217379"
             "4ac130/pyk4a-1.5.0.tar.gz")
PYK4A_SHA256 = "57e1c69a39e936e1610771401ad68f0c9b3788d14c2f4998678854904d3c2d1b"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rigsync-test" / "pyk4a-1.5.0"

RIG = """
[[hosts]]
name = "h"

[[devices]]
id = "k0"
model = "azure-kinect-dk"
driver = "kinect"
serial = "000111"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
driver = "kinect"
serial = "000222"
host = "h"
connection = "usb:c1"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[sync]]
name = "chain"
method = "hardware"
topology = "daisy-chain"
source = { device = "k0" }
members = [{ device = "k0", depth_delay_us = 80 }, { device = "k1", delay_us = 160, depth_delay_us = 80 }]
"""

STANDALONE_RIG = """
[[hosts]]
name = "h"

[[devices]]
id = "solo"
model = "azure-kinect-dk"
driver = "kinect"
serial = "000333"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]
"""


def _fetch_sdist() -> bytes:
    local = os.environ.get("RIGSYNC_PYK4A_SDIST")
    if local:
        return Path(local).read_bytes()
    with urllib.request.urlopen(PYK4A_URL, timeout=60) as response:
        data: bytes = response.read()
    return data


def pyk4a_source() -> Path:
    """The directory holding pyk4a 1.5.0's Python package (its ``.py`` files only), cached; skips if unobtainable."""
    if (CACHE / "pyk4a" / "pyk4a.py").exists():
        return CACHE
    try:
        data = _fetch_sdist()
    except OSError as err:
        pytest.skip(f"pyk4a 1.5.0 sdist unavailable ({err}); set RIGSYNC_PYK4A_SDIST to a local copy of {PYK4A_URL}")
    digest = hashlib.sha256(data).hexdigest()
    assert digest == PYK4A_SHA256, f"pyk4a sdist sha256 {digest}, expected {PYK4A_SHA256}"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=CACHE.parent))
    with tempfile.TemporaryFile() as tmp:
        tmp.write(data)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp, mode="r:gz") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.isfile() and parts[1:2] == ("pyk4a",) and len(parts) == 3 and \
                        (member.name.endswith(".py") or parts[2] == "py.typed"):
                    source = tar.extractfile(member)
                    assert source is not None
                    (staging / "pyk4a").mkdir(exist_ok=True)
                    (staging / "pyk4a" / parts[2]).write_bytes(source.read())
    try:
        staging.rename(CACHE)
    except OSError:  # another process cached it first
        shutil.rmtree(staging)
    return CACHE


@pytest.fixture(scope="session")
def pyk4a_dir() -> Path:
    return pyk4a_source()


def _drop_modules() -> None:
    for name in [n for n in sys.modules if n == "pyk4a" or n.startswith("pyk4a.") or n == "rigsync.drivers.kinect"]:
        del sys.modules[name]


def load_kinect(pyk4a_dir: Path, fake: FakeK4A) -> ModuleType:
    """``rigsync.drivers.kinect`` freshly imported over pyk4a's Python layer and ``fake`` as ``k4a_module``."""
    _drop_modules()
    sys.modules["k4a_module"] = fake  # type: ignore[assignment]
    if str(pyk4a_dir) not in sys.path:
        sys.path.insert(0, str(pyk4a_dir))
    return importlib.import_module("rigsync.drivers.kinect")


def chain_fake() -> FakeK4A:
    """k0 master (Sync out cabled to k1's Sync in), k1 subordinate, each device clock on its own offset."""
    return FakeK4A([FakeKinect("000111", jack_out=True, clock_offset_us=5_000_000),
                    FakeKinect("000222", jack_in=True, master="000111", clock_offset_us=-3_000_000)])


@pytest.fixture
def fake() -> FakeK4A:
    return chain_fake()


@pytest.fixture
def kinect(pyk4a_dir: Path, fake: FakeK4A) -> Iterator[ModuleType]:
    yield load_kinect(pyk4a_dir, fake)
    _drop_modules()
    sys.modules.pop("k4a_module", None)


@pytest.fixture
def chain() -> tuple[RigSpec, Plan]:
    rig = loads_rig(RIG, "kinect.toml")
    return rig, build_plan(rig)


def kinect_driver() -> tuple[Driver, RigSpec]:
    """This driver for the driver contract suite (like its ``sim_driver``): the chain rig's devices as standalone
    cameras over the fake (the contract configures them standalone)."""
    fake = FakeK4A([FakeKinect("000111"), FakeKinect("000222")])
    module = load_kinect(pyk4a_source(), fake)
    rig = loads_rig(RIG, "kinect.toml")
    driver: Driver = module.make_driver(rig, build_plan(rig))
    return driver, rig


def started(driver: Driver, plan: Plan, rig: RigSpec) -> dict[str, Device]:
    """Open and configure every device, start them in the plan's order."""
    devices = {}
    for device_id in plan.start_order:
        spec = rig.device(device_id)
        devices[device_id] = driver.open(spec.serial)
        devices[device_id].configure(device_config(plan, spec))
    for device_id in plan.start_order:
        devices[device_id].start()
    return devices


# --- discovery and opening ---------------------------------------------------------------------------------


def test_discovery_names_each_device_by_serial(kinect: ModuleType, chain: tuple[RigSpec, Plan]) -> None:
    """Every attached Kinect is listed by its serial (read through pyk4a), with the catalog model."""
    driver = kinect.make_driver(*chain)
    found = driver.discover()
    assert [(i.serial, i.model, i.driver) for i in found] == [("000111", "azure-kinect-dk", "kinect"),
                                                               ("000222", "azure-kinect-dk", "kinect")]
    assert [i.connection for i in found] == ["usb (k4a device index 0)", "usb (k4a device index 1)"]


def test_open_by_serial_and_missing_serial(kinect: ModuleType, fake: FakeK4A, chain: tuple[RigSpec, Plan]) -> None:
    """open() finds a device by serial whatever its index; a serial that is not attached is a DriverError naming
    it and what is there; the devices it tried are closed again."""
    driver = kinect.make_driver(*chain)
    with driver.open("000222") as device:
        assert device.info.serial == "000222"
        assert fake.device("000222").handle is not None and fake.device("000111").handle is None
    assert fake.device("000222").handle is None
    with pytest.raises(DriverError, match=r"kinect device 999: not found \(2 Azure Kinect attached: 000111, 000222"):
        driver.open("999")
    assert all(d.handle is None for d in fake.devices)


# --- configuration and read-back ---------------------------------------------------------------------------


def test_plan_role_and_delays_become_the_wired_sync_settings(kinect: ModuleType, fake: FakeK4A,
                                                             chain: tuple[RigSpec, Plan]) -> None:
    """The plan's vendor role reads back as wired_sync_mode exactly; start_cameras gets the role, the plan's
    subordinate delay and depth delay in microseconds exactly, the rate, resolution and depth mode."""
    rig, plan = chain
    assert (plan.device("k1").delay_ns, plan.device("k1").depth_delay_ns) == (160_000, 80_000)
    devices = started(kinect.make_driver(rig, plan), plan, rig)
    try:
        for device_id, device in devices.items():
            dp = plan.device(device_id)
            back = device.readback()
            assert back["wired_sync_mode"] == dp.vendor_role
            assert back["subordinate_delay_off_master_usec"] == str(dp.delay_ns // 1000)
            assert back["depth_delay_off_color_usec"] == str(dp.depth_delay_ns // 1000)
            assert back["color_exposure_usec"] == "8000"
            cfg = fake.device(rig.device(device_id).serial).config
            # (BGRA32, 720P, NFOV_UNBINNED, 30 fps, sync only, depth delay, mode, subordinate delay, indicator)
            assert cfg == (3, 1, 2, 2, False, dp.depth_delay_ns // 1000, {"master": 1, "subordinate": 2}[
                dp.vendor_role], dp.delay_ns // 1000, False)
        assert devices["k0"].readback()["sync_jack_out"] == "connected"
        assert devices["k1"].readback()["sync_jack_in"] == "connected"
    finally:
        for device in devices.values():
            device.close()


def test_subordinate_without_its_cable_reads_back_refused(kinect: ModuleType, fake: FakeK4A,
                                                          chain: tuple[RigSpec, Plan]) -> None:
    """With no cable in the subordinate's Sync in, the read-back says so (rigsync check fails on it) and
    start() is a DriverError naming the cable, as k4a_device_start_cameras refuses it."""
    rig, plan = chain
    fake.device("000222").jack_in = False
    with kinect.make_driver(rig, plan).open("000222") as device:
        device.configure(device_config(plan, rig.device("k1")))
        back = device.readback()
        assert back["wired_sync_mode"] == "subordinate refused: no cable in Sync in"
        assert back["sync_jack_in"] == "not connected"
        with pytest.raises(DriverError, match=r"refused to start the cameras as subordinate.*Sync in"):
            device.start()


def test_standalone_rig_and_bad_settings(kinect: ModuleType, fake: FakeK4A) -> None:
    """A device in no sync group is standalone with auto exposure; a stream the Kinect cannot do is a DriverError
    naming the modes it can."""
    rig = loads_rig(STANDALONE_RIG, "solo.toml")
    plan = build_plan(rig)
    fake.devices.append(FakeKinect("000333"))
    with kinect.make_driver(rig, plan).open("000333") as device:
        config = device_config(plan, rig.device("solo"))
        device.configure(config)
        assert device.readback()["wired_sync_mode"] == "standalone"
        assert device.readback()["color_exposure_usec"] == "auto"
        bad = dataclasses.replace(config.streams[1], width=600)
        with pytest.raises(DriverError, match=r"600x576 at 30 fps is not an Azure Kinect mode.*640x576"):
            device.configure(dataclasses.replace(config, streams=(config.streams[0], bad)))


def test_streams_choose_the_depth_mode(kinect: ModuleType, chain: tuple[RigSpec, Plan]) -> None:
    """IR with a depth stream takes the depth mode (WFOV unbinned 1024x1024 at 15 fps); IR alone at 1024x1024 is
    PASSIVE_IR; IR of another size than depth, or mixed rates, are DriverErrors naming the device."""
    rig, plan = chain
    config = device_config(plan, rig.device("k0"))
    color = config.streams[0]

    def streams(*specs: tuple[str, int, int]) -> object:
        kinds = {"depth": StreamKind.DEPTH, "ir": StreamKind.IR}
        out = tuple(StreamConfig(name, kinds[name], w, h, 15.0, "z16" if name == "depth" else "y16", None)
                    for name, w, h in specs)
        c15 = dataclasses.replace(color, fps=15.0)
        return dataclasses.replace(config, streams=(c15, *out))

    both = kinect.kinect_config(streams(("depth", 1024, 1024), ("ir", 1024, 1024)))
    assert both.config.depth_mode == 4 and both.config.camera_fps == 1  # WFOV_UNBINNED, FPS_15
    assert kinect.kinect_config(streams(("ir", 1024, 1024))).config.depth_mode == 5  # PASSIVE_IR
    with pytest.raises(DriverError, match=r"kinect device 000111: IR 1024x1024 with depth 640x576"):
        kinect.kinect_config(streams(("depth", 640, 576), ("ir", 1024, 1024)))
    with pytest.raises(DriverError, match=r"stream rates \[15.0, 30.0\]: the Kinect runs all its cameras at one"):
        kinect.kinect_config(dataclasses.replace(config, streams=(color, dataclasses.replace(
            config.streams[1], fps=15.0))))


def test_configure_only_while_stopped_and_start_needs_configure(kinect: ModuleType,
                                                                chain: tuple[RigSpec, Plan]) -> None:
    """Settings change only while stopped; start() before configure() is refused."""
    rig, plan = chain
    with kinect.make_driver(rig, plan).open("000111") as device:
        with pytest.raises(DriverError, match="configure"):
            device.start()
        device.configure(device_config(plan, rig.device("k0")))
        device.start()
        with pytest.raises(DriverError, match="stopped"):
            device.configure(device_config(plan, rig.device("k0")))
        device.stop()
        device.configure(device_config(plan, rig.device("k0")))
        assert device.readback()["wired_sync_mode"] == "master"


# --- frames and timestamps -------------------------------------------------------------------------------


def test_synced_timestamps_are_start_of_frame_in_ns(kinect: ModuleType, fake: FakeK4A,
                                                    chain: tuple[RigSpec, Plan]) -> None:
    """In master/subordinate roles the device timestamp (us) becomes ns exactly, start of exposure, device clock;
    the subordinate exposes at the master's instants plus its delay, depth after colour by the depth delay; the
    host receive time is the SDK's system timestamp."""
    rig, plan = chain
    devices = started(kinect.make_driver(rig, plan), plan, rig)
    try:
        fake.wait_delivered("000222", 5)
        fake.wait_delivered("000111", 5)
        items = {d: dev.poll() for d, dev in devices.items()}
    finally:
        for device in devices.values():
            device.close()
    master, sub = fake.device("000111"), fake.device("000222")
    for device_id, dev in (("k0", master), ("k1", sub)):
        color, depth = frames_of(items[device_id], "color"), frames_of(items[device_id], "depth")
        assert len(color) >= 5 and len(depth) >= 5
        for f in color + depth:
            assert f.semantics is TimestampSemantics.START_OF_EXPOSURE and f.domain is ClockDomain.DEVICE
            assert f.device_ts_ns % 1000 == 0 and f.host_rx_ns > f.device_ts_ns - dev.clock_offset_us * 1000
        for c, d in zip(color, depth, strict=False):
            assert d.device_ts_ns - c.device_ts_ns == plan.device(device_id).depth_delay_ns
        assert [b.device_ts_ns - a.device_ts_ns for a, b in itertools.pairwise(color)] == [33_333_000] * (
            len(color) - 1)
        assert color[0].exposure_ns == 8_000_000
    # both on the monotonic clock once each device's offset is removed: subordinate = master + its delay
    m0 = frames_of(items["k0"], "color")[0].device_ts_ns - master.clock_offset_us * 1000
    s0 = frames_of(items["k1"], "color")[0].device_ts_ns - sub.clock_offset_us * 1000
    assert (s0 - m0) % 33_333_000 == plan.device("k1").delay_ns
    assert master.started_mono_us is None and sub.starts[0] < master.starts[0]  # subordinate started first


def test_standalone_timestamps_are_mid_exposure_and_host_time_falls_back(kinect: ModuleType,
                                                                         fake: FakeK4A) -> None:
    """Standalone, the timestamp is the mid-point of exposure (centre semantics, the reported exposure on the
    frame); without an SDK system timestamp the host receive time is the monotonic clock at the read."""
    rig = loads_rig(STANDALONE_RIG, "solo.toml")
    plan = build_plan(rig)
    fake.devices.append(FakeKinect("000333", system_timestamps=False, clock_offset_us=777))
    with kinect.make_driver(rig, plan).open("000333") as device:
        device.configure(device_config(plan, rig.device("solo")))
        before = time.monotonic_ns()
        device.start()
        fake.wait_delivered("000333", 3)
        items = device.poll()
        after = time.monotonic_ns()
    color = frames_of(items, "color")
    dev = fake.device("000333")
    assert color and all(f.semantics is TimestampSemantics.CENTER_OF_EXPOSURE for f in color)
    assert color[0].exposure_ns == AUTO_EXPOSURE_US * 1000
    start_us = dev.starts[0] + STARTUP_US  # first exposure on the monotonic clock
    assert color[0].device_ts_ns == (start_us + AUTO_EXPOSURE_US // 2 + 777) * 1000
    assert all(before < f.host_rx_ns <= after for f in color)
    assert all(f.host_rx_ns >= (start_us + 33_333) * 1000 for f in color)


def test_a_frame_lost_on_the_device_is_a_gap_in_seq(kinect: ModuleType, fake: FakeK4A,
                                                    chain: tuple[RigSpec, Plan]) -> None:
    """The Kinect has no frame counter: seq counts frame periods on the device clock, so a frame the device
    lost leaves a gap; images are BGR / 16UC1 of the configured size."""
    rig, plan = chain
    fake.device("000111").jack_out = False
    fake.device("000111").dropped = {2}
    standalone = device_config(plan, rig.device("k0"))
    standalone = dataclasses.replace(standalone, sync=dataclasses.replace(
        standalone.sync, vendor_role="standalone", delay_ns=0, depth_delay_ns=0))
    with kinect.make_driver(rig, plan).open("000111") as device:
        device.configure(standalone)
        device.start()
        fake.wait_delivered("000111", 4)
        items = device.poll()
    color, depth = frames_of(items, "color"), frames_of(items, "depth")
    assert [f.seq for f in color[:4]] == [0, 1, 3, 4]
    assert [f.seq for f in depth[:4]] == [0, 1, 3, 4]
    assert color[0].image is not None and color[0].image.shape == (720, 1280, 3) and color[0].encoding == "bgr8"
    assert depth[0].image is not None and depth[0].image.shape == (576, 640) and depth[0].encoding == "16UC1"


def test_subordinate_start_does_not_wait_for_the_master(kinect: ModuleType, fake: FakeK4A,
                                                        chain: tuple[RigSpec, Plan]) -> None:
    """start() of a subordinate returns while its master is stopped; it delivers nothing until the master runs."""
    rig, plan = chain
    driver = kinect.make_driver(rig, plan)
    with driver.open("000222") as sub, driver.open("000111") as master:
        sub.configure(device_config(plan, rig.device("k1")))
        master.configure(device_config(plan, rig.device("k0")))
        sub.start()
        assert fake.device("000222").started_mono_us is not None
        assert fake.exposure_start_us(fake.device("000222"), 0) is None  # waiting for its trigger
        assert sub.poll() == []
        master.start()
        fake.wait_delivered("000222", 2)
        assert frames_of(sub.poll(), "color")


# --- overflow and disconnect -------------------------------------------------------------------------------


def test_queue_overflow_is_an_overrun_with_the_frame_number(kinect: ModuleType, fake: FakeK4A,
                                                            chain: tuple[RigSpec, Plan]) -> None:
    """With nobody polling, frames beyond the queue's bound are dropped and reported: one OVERRUN per stream
    until the next poll, with the first dropped frame's seq and the count of drops."""
    rig, plan = chain
    driver = kinect.KinectDriver(queue_frames=4)
    devices = started(driver, plan, rig)
    try:
        fake.wait_delivered("000111", 5)
        devices["k0"].stop()  # what was queued or dropped stays to be polled
        items = devices["k0"].poll()
    finally:
        for device in devices.values():
            device.close()
    frames = [i for i in items if isinstance(i, Frame)]
    events = [i for i in items if isinstance(i, DeviceEvent)]
    assert len(frames) == 4 and [(f.stream, f.seq) for f in frames] == [("color", 0), ("depth", 0), ("color", 1),
                                                                        ("depth", 1)]
    assert events and all(e.kind is EventKind.OVERRUN and e.device == "k0" for e in events)
    dropped = fake.device("000111").delivered - 2
    assert [(e.stream, e.seq, e.count) for e in events] == [("color", 2, dropped), ("depth", 2, dropped)]
    assert dropped >= 3


def test_unplugged_device_is_disconnected(kinect: ModuleType, fake: FakeK4A, chain: tuple[RigSpec, Plan]) -> None:
    """A failing get_capture (device unplugged) is one DISCONNECTED event after the frames before it; stop and
    close still succeed."""
    rig, plan = chain
    devices = started(kinect.make_driver(rig, plan), plan, rig)
    try:
        fake.wait_delivered("000222", 2)
        fake.unplug("000222")
        items = poll_until(devices["k1"], EventKind.DISCONNECTED)
    finally:
        for device in devices.values():
            device.close()
    assert isinstance(items[-1], DeviceEvent) and items[-1].kind is EventKind.DISCONNECTED
    assert items[-1].device == "k1"
    assert sum(isinstance(i, DeviceEvent) for i in items) == 1
    assert len(frames_of(items, "color")) >= 2


def test_a_device_that_comes_back_is_reconnected_and_configured_again(kinect: ModuleType, fake: FakeK4A,
                                                                      chain: tuple[RigSpec, Plan]) -> None:
    """An unplugged subordinate that comes back is RECONNECTED after its DISCONNECTED: set up from the plan again
    (role, delay, manual exposure), restarted, its frames counted from 0 on its restarted clock, the first of each
    stream flagged AFTER_RECONNECT."""
    rig, plan = chain
    devices = started(kinect.make_driver(rig, plan), plan, rig)
    sub = fake.device("000222")
    try:
        fake.wait_delivered("000222", 2)
        fake.unplug("000222")
        before = poll_until(devices["k1"], EventKind.DISCONNECTED)
        fake.replug("000222", clock_offset_us=42)
        after = poll_until(devices["k1"], EventKind.RECONNECTED)
        fake.wait_delivered("000222", sub.delivered + 3)
        after += devices["k1"].poll()
        first_us = fake.exposure_start_us(sub, 0)
    finally:
        for device in devices.values():
            device.close()
    items = before + after
    events = [i for i in items if isinstance(i, DeviceEvent)]
    assert [e.kind for e in events] == [EventKind.DISCONNECTED, EventKind.RECONNECTED]
    back = items.index(events[1])
    assert all(isinstance(i, Frame) for i in items[:items.index(events[0])] + items[back + 1:])
    color = frames_of(items[back + 1:], "color")
    assert [f.seq for f in color[:3]] == [0, 1, 2]
    assert [f.flags for f in color[:3]] == [FrameFlags.AFTER_RECONNECT, FrameFlags.NONE, FrameFlags.NONE]
    assert frames_of(items[back + 1:], "depth")[0].flags is FrameFlags.AFTER_RECONNECT
    assert all(f.flags is FrameFlags.NONE for f in items[:back] if isinstance(f, Frame))
    assert sub.config is not None and (sub.config[6], sub.config[7]) == (2, 160)
    assert sub.exposure == (1, 8000) and color[0].exposure_ns == 8_000_000
    assert first_us is not None and color[0].device_ts_ns == (first_us + 42) * 1000


# --- intrinsics, timing, and the fake against pyk4a's source ---------------------------------------------


def test_intrinsics_come_from_the_device_calibration(kinect: ModuleType, chain: tuple[RigSpec, Plan]) -> None:
    """Intrinsics are the calibration's camera matrix and rational-polynomial distortion, at the stream's size;
    timing is the device clock in microsecond ticks."""
    rig, plan = chain
    with kinect.make_driver(rig, plan).open("000111") as device:
        device.configure(device_config(plan, rig.device("k0")))
        k = device.intrinsics("color")
        cx, cy, fx, fy, k1, k2, k3, k4, k5, k6, _, _, p2, p1 = INTRINSICS
        assert (k.width, k.height, k.fx, k.fy, k.cx, k.cy) == (1280, 720, fx, fy, cx, cy)
        assert k.distortion == (k1, k2, p1, p2, k3, k4, k5, k6)
        timing = device.timing()
        assert timing.domain is ClockDomain.DEVICE and timing.tick_ns == 1000
        with pytest.raises(DriverError, match="no configured stream 'ir'"):
            device.intrinsics("ir")


def _module_calls(pyk4a_dir: Path) -> dict[str, set[int]]:
    """Every ``k4a_module.<name>(...)`` call in pyk4a's Python source: name -> positional argument counts."""
    calls: dict[str, set[int]] = {}
    unpacked = len(inspect.signature(FakeK4A.device_start_cameras).parameters) - 3  # *Config.unpack()
    for path in sorted((pyk4a_dir / "pyk4a").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "k4a_module":
                n = sum(unpacked if isinstance(a, ast.Starred) else 1 for a in node.args)
                calls.setdefault(node.func.attr, set()).add(n)
    return calls


NOT_SIMULATED = {
    # never reached by the driver: recordings, transformations, IMU samples, raw calibration, other controls
    "device_get_imu_sample", "device_get_raw_calibration", "device_get_color_control_capabilities",
    "color_image_get_iso_speed", "color_image_get_white_balance", "calibration_get_from_raw",
    "calibration_3d_to_3d", "calibration_2d_to_3d", "calibration_3d_to_2d", "calibration_get_extrinsics",
    "transformation_create",
}
NOT_SIMULATED_PREFIXES = ("playback_", "record_", "transformation_")


def test_the_fake_matches_pyk4a_source(pyk4a_dir: Path) -> None:
    """Every function the fake k4a_module defines is one pyk4a calls, with the argument count of every call
    site; every function pyk4a calls is simulated or deliberately left out (so a new pyk4a cannot drift)."""
    calls = _module_calls(pyk4a_dir)
    assert "device_start_cameras" in calls and calls["device_start_cameras"] == {11}
    fake_functions = {name: fn for name, fn in inspect.getmembers(FakeK4A, inspect.isfunction)
                      if not name.startswith("_") and name not in CONTROLS}
    for name, fn in fake_functions.items():
        assert name in calls, f"the fake defines {name}, which pyk4a never calls"
        arity = len(inspect.signature(fn).parameters) - 1
        assert calls[name] == {arity}, f"{name}: pyk4a passes {calls[name]} arguments, the fake takes {arity}"
    left_out = {n for n in calls if n not in fake_functions}
    assert left_out == {n for n in calls if n in NOT_SIMULATED or n.startswith(NOT_SIMULATED_PREFIXES)}
    assert set(calls) >= NOT_SIMULATED


def test_core_imports_without_pyk4a() -> None:
    """The core, the registry and the CLI import with no pyk4a anywhere; naming the driver then says how to
    install it."""
    code = ("import sys; sys.modules['pyk4a'] = None\n"
            "import rigsync.cli.main, rigsync.drivers.factory\n"
            "from rigsync.drivers.registry import driver_factory\n"
            "from rigsync.core.errors import RigsyncError\n"
            "assert 'rigsync.drivers.kinect' not in sys.modules\n"
            "try:\n    driver_factory('kinect')\nexcept RigsyncError as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "driver 'kinect' needs pyk4a" in out and "rigsync[kinect]" in out


# --- rigsync check over the driver -------------------------------------------------------------------------


def test_check_passes_on_a_wired_chain(kinect: ModuleType, chain: tuple[RigSpec, Plan]) -> None:
    """rigsync check over the Kinect driver: each device present, its role read back, frames at the rate after a
    start in plan order (subordinate first)."""
    rig, plan = chain
    rows = run_check(plan, {"kinect": kinect.make_driver(rig, plan)}, seconds=1.0)
    assert [(r.device, r.check, r.ok) for r in rows] == [
        ("k1", "present", True), ("k1", "settings", True), ("k1", "frames", True),
        ("k0", "present", True), ("k0", "settings", True), ("k0", "frames", True)]
    assert "wired_sync_mode = subordinate" in rows[1].detail and "sync_jack_in = connected" in rows[1].detail


def test_check_names_the_missing_sync_cable(kinect: ModuleType, fake: FakeK4A, chain: tuple[RigSpec, Plan]) -> None:
    """With no cable in the subordinate's Sync in, the check fails its settings and its frames, each in one line
    that names the cable; the master still passes."""
    rig, plan = chain
    fake.device("000222").jack_in = False
    rows = {(r.device, r.check): r for r in run_check(plan, {"kinect": kinect.make_driver(rig, plan)}, seconds=1.0)}
    settings, frames = rows[("k1", "settings")], rows[("k1", "frames")]
    assert not settings.ok and "reads back wired_sync_mode = subordinate refused: no cable in Sync in" in \
        settings.detail
    assert not frames.ok and "refused to start the cameras as subordinate" in frames.detail
    assert frames.fix == "plug the cable from the master's Sync out into Sync in"
    assert rows[("k0", "settings")].ok and rows[("k0", "frames")].ok


def test_capture_records_the_chain_aligned(kinect: ModuleType, chain: tuple[RigSpec, Plan], tmp_path: Path) -> None:
    """A 2 s capture of the chain through the capture session records every stream of both devices, matched
    into framesets (nearly all complete: a loaded host may make a frame late), with no error."""
    rig, plan = chain
    out = tmp_path / "kinect.mcap"
    with CaptureSession(plan, CaptureOptions(out=out, seconds=2.0), drivers={"kinect": kinect.make_driver(rig, plan)}) \
            as session:
        result = session.run()
    assert result.error is None and not result.interrupted
    assert result.framesets >= 40 and result.complete >= 0.9 * result.framesets
    assert set(result.dropped) <= {"late", "host_overrun"}
    assert out.stat().st_size > 0
