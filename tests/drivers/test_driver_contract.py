"""The driver contract: what every driver must do. Parametrized over drivers; vendor drivers join the list."""

from __future__ import annotations

import functools
import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.drivers.uvc_fakes import WEBCAM_RIG, flat_images, write_clip

from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame
from rigsync.drivers.base import Device, DeviceConfig, DeviceEvent, Driver, StreamConfig, SyncConfig
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.uvc import UvcDriver
from rigsync.plan import build_plan
from rigsync.spec import loads_rig
from rigsync.spec.model import RigSpec

RIG = """
[sim]
render_width = 64

[[hosts]]
name = "h"

[[devices]]
id = "cam"
model = "realsense-d435"
serial = "827312070001"
host = "h"
connection = "usb:c0"
streams = [
  { kind = "depth", width = 848, height = 480, fps = 30 },
  { kind = "color", width = 848, height = 480, fps = 30 },
]

[[devices]]
id = "kin"
model = "azure-kinect-dk"
serial = "000555112912"
host = "h"
connection = "usb:c1"
streams = [{ kind = "depth", width = 640, height = 576, fps = 30 }]
"""


def sim_driver() -> tuple[Driver, RigSpec]:
    rig = loads_rig(RIG, "contract.toml")
    return open_drivers(rig, build_plan(rig), fast=True)["sim"], rig


_CLIPS = tempfile.TemporaryDirectory(prefix="rigsync-contract-")


def uvc_driver() -> tuple[Driver, RigSpec]:
    """The UVC driver over a 2 s lossless clip (written once) through OpenCV's own VideoCapture."""
    rig = loads_rig(WEBCAM_RIG, "contract-uvc.toml")
    clip = Path(_CLIPS.name) / "webcam.mkv"
    if not clip.exists():
        write_clip(clip, flat_images(60, 640, 480), 30.0)
    return UvcDriver(by_id_dir=Path(_CLIPS.name) / "by-id", files={"UVCCLIP1": clip}), rig


@functools.cache
def realsense_recording() -> Path:
    """A 1.5 s recording (depth and colour at 30 fps, paced in real time) made once with ``rs.recorder``."""
    from tests.drivers.realsense_devices import FPS, record

    return record(Path(_CLIPS.name) / "cam1.db3", "827312070001", 45, pace_s=1 / FPS)


def realsense_driver() -> tuple[Driver, RigSpec]:
    """The RealSense driver playing a recording through ``rs.pipeline`` in real time, as the rig's camera."""
    pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed: pip install 'rigsync[realsense]'")
    from tests.drivers.realsense_devices import SoftContext

    from rigsync.drivers.realsense import RealSenseDriver

    path = realsense_recording()
    text = RIG.replace('connection = "usb:c0"', f'driver = "realsense"\nfile = "{path.name}"\nconnection = "usb:c0"')
    text = text[:text.index('[[devices]]\nid = "kin"')]
    rig = loads_rig(text, str(path.parent / "contract.toml"))
    return RealSenseDriver(rig, context=SoftContext()), rig


GIGE_CAMERA = ("RSG-CONTRACT-5", "127.0.0.5")
GIGE_RIG = f"""
[[hosts]]
name = "h"

[[devices]]
id = "gige"
model = "gige-ptp-area-scan"
serial = "{GIGE_CAMERA[0]}"
host = "h"
driver = "gige"
connection = "eth:lo"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 30, format = "mono8" }}]
"""


@pytest.fixture(scope="module")
def gige_camera() -> Iterator[None]:
    """An ``arv-fake-gv-camera-0.8`` process on a loopback alias (skipped without Aravis, or without root for the
    alias), for the module's GigE tests."""
    from tests.drivers.gige_fakes import fake_gige_cameras

    serial, addr = GIGE_CAMERA
    with fake_gige_cameras({serial: (addr, [])}):
        yield


def gige_driver() -> tuple[Driver, RigSpec]:
    """The GigE Vision driver (Aravis's own GVCP control and GVSP streaming) over the fake camera."""
    from rigsync.drivers.gige import GigeDriver

    return GigeDriver(), loads_rig(GIGE_RIG, "contract-gige.toml")


DRIVERS: dict[str, Callable[[], tuple[Driver, RigSpec]]] = {"sim": sim_driver, "uvc": uvc_driver,
                                                            "realsense": realsense_driver, "gige": gige_driver}
try:  # a strict fake of StereoLabs' pyzed.sl (the SDK installs only with StereoLabs' installer)
    from tests.drivers.test_zed import zed_driver

    DRIVERS["zed"] = zed_driver
except ImportError:
    pass
try:  # pyk4a's own Python layer over a strict fake native module (skipped where pyk4a's sources cannot be had)
    from tests.drivers.test_kinect import kinect_driver

    DRIVERS["kinect"] = kinect_driver
except ImportError:
    pass
try:  # the real pyorbbecsdk2 structs and frames under a fake device layer (skipped where the SDK cannot load)
    from tests.drivers.orbbec_fakes import orbbec_driver

    DRIVERS["orbbec"] = orbbec_driver
except ImportError:
    pass


@pytest.fixture(params=sorted(DRIVERS))
def setup(request: pytest.FixtureRequest) -> Iterator[tuple[Driver, RigSpec]]:
    if request.param == "gige":
        request.getfixturevalue("gige_camera")
    yield DRIVERS[request.param]()


def config_for(rig: RigSpec, device_id: str) -> DeviceConfig:
    spec = rig.device(device_id)
    return DeviceConfig(
        device_id=spec.id, serial=spec.serial, model=spec.model,
        streams=tuple(StreamConfig(s.name, s.kind, s.width, s.height, s.fps, s.pixel_format, s.exposure_us)
                      for s in spec.streams),
        sync=SyncConfig(None, None, "standalone", "0", 0, 0, 1, ()),
    )


def collect(driver: Driver, device: Device, seconds: float,
            enough: Callable[[list[Frame | DeviceEvent]], bool] | None = None) -> list[Frame | DeviceEvent]:
    """What the device delivers in ``seconds``, or sooner once ``enough`` holds of it."""
    clock = driver.clock()
    end = clock.now_ns() + int(seconds * 1e9)
    items: list[Frame | DeviceEvent] = []
    while clock.now_ns() < end and not (enough is not None and enough(items)):
        items += device.poll()
        nxt = device.next_ready_ns(end)
        clock.wait_until(min(nxt, end) if nxt is not None else clock.now_ns() + 5_000_000)
    return items + device.poll()


def test_discover_lists_devices_by_serial(setup: tuple[Driver, RigSpec]) -> None:
    """Discovery names every attached device by its serial, with its model."""
    driver, rig = setup
    found = {info.serial: info for info in driver.discover()}
    for device in rig.devices:
        assert found[device.serial].model == device.model
        assert found[device.serial].driver == driver.name


def test_open_unknown_serial_is_a_clear_error(setup: tuple[Driver, RigSpec]) -> None:
    """Opening a serial that is not there raises DriverError naming it."""
    driver, _ = setup
    with pytest.raises(DriverError, match="NOPE"):
        driver.open("NOPE")


def test_start_before_configure_is_refused(setup: tuple[Driver, RigSpec]) -> None:
    """A device must be configured before it starts."""
    driver, rig = setup
    with driver.open(rig.devices[0].serial) as device, pytest.raises(DriverError, match="configure"):
        device.start()


def test_frames_carry_device_and_host_times(setup: tuple[Driver, RigSpec]) -> None:
    """Every frame has the device's own timestamp and the host receive time; both increase per stream, and
    the host receive time is never in the future."""
    driver, rig = setup
    spec = rig.devices[0]
    with driver.open(spec.serial) as device:
        device.configure(config_for(rig, spec.id))
        device.start()
        # 20 frames of every stream (~0.7 s at 30 fps), waiting up to 10 s on a loaded machine
        names = {s.name for s in spec.streams}
        items = collect(driver, device, 10.0, lambda got: all(
            sum(isinstance(i, Frame) and i.stream == n for i in got) >= 20 for n in names))
        device.stop()
    frames = [i for i in items if isinstance(i, Frame)]
    assert {f.stream for f in frames} == {s.name for s in spec.streams}
    now = driver.clock().now_ns()
    for name in {f.stream for f in frames}:
        mine = [f for f in frames if f.stream == name]
        assert len(mine) >= 20
        assert all(b.host_rx_ns > a.host_rx_ns for a, b in itertools.pairwise(mine))
        assert all(b.device_ts_ns > a.device_ts_ns for a, b in itertools.pairwise(mine))
        assert all(b.seq > a.seq for a, b in itertools.pairwise(mine))
        assert all(f.host_rx_ns <= now for f in mine)
        assert all(f.image is not None and f.min_latency_ns > 0 for f in mine)


def test_intrinsics_and_timing_describe_the_streams(setup: tuple[Driver, RigSpec]) -> None:
    """Each configured stream has intrinsics matching its images; timing names the clock domain."""
    driver, rig = setup
    spec = rig.devices[0]
    with driver.open(spec.serial) as device:
        device.configure(config_for(rig, spec.id))
        device.start()
        frames = [i for i in collect(driver, device, 0.5) if isinstance(i, Frame)]
        for name in {f.stream for f in frames}:
            k = device.intrinsics(name)
            image = next(f.image for f in frames if f.stream == name)
            assert image is not None and image.shape[:2] == (k.height, k.width)
        timing = device.timing()
        assert timing.domain in ClockDomain and timing.tick_ns >= 1


def test_configure_only_while_stopped(setup: tuple[Driver, RigSpec]) -> None:
    """Settings change only while the device is stopped."""
    driver, rig = setup
    spec = rig.devices[0]
    with driver.open(spec.serial) as device:
        device.configure(config_for(rig, spec.id))
        device.start()
        with pytest.raises(DriverError, match="stopped"):
            device.configure(config_for(rig, spec.id))
        device.stop()
        device.configure(config_for(rig, spec.id))


def test_close_is_idempotent_and_context_managed(setup: tuple[Driver, RigSpec]) -> None:
    """Leaving the context closes the device; closing twice is harmless."""
    driver, rig = setup
    spec = rig.devices[0]
    device = driver.open(spec.serial)
    with device:
        device.configure(config_for(rig, spec.id))
        device.start()
    device.close()
