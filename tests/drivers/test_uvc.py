"""The UVC driver: video files through OpenCV's own VideoCapture, webcams through a strict fake of V4L2."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from tests.drivers.uvc_fakes import (
    CAPTURE_METHODS,
    PROPERTIES,
    WEBCAM_RIG,
    FakeV4l2,
    FakeWebcam,
    VirtualClock,
    clip_images,
    flat_images,
    write_clip,
)

from rigsync.capture.options import CaptureOptions
from rigsync.capture.preflight import run_check
from rigsync.capture.session import CaptureSession
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StampedFrame, StreamKind, TimestampSemantics
from rigsync.core.units import period_ns
from rigsync.drivers.base import (
    CaptureClock,
    DeviceConfig,
    DeviceEvent,
    EventKind,
    StreamConfig,
    SyncConfig,
    SystemClock,
)
from rigsync.drivers.registry import driver_factory
from rigsync.drivers.uvc import TRANSFER_UNCERTAINTY_NS, Capture, UvcDevice, UvcDriver
from rigsync.drivers.uvc_by_id import parse_by_id, scan_by_id
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

W, H, FPS = 160, 120, 30.0
C920 = "usb-046d_HD_Pro_Webcam_C920_8A3F12B0-video-index0"


def config(width: int = W, height: int = H, fps: float = FPS, exposure_us: int | None = None,
           pixel_format: str = "yuyv") -> DeviceConfig:
    stream = StreamConfig("color", StreamKind.COLOR, width, height, fps, pixel_format, exposure_us)
    return DeviceConfig("cam", "S1", "uvc-webcam", (stream,), SyncConfig(None, None, "standalone", "", 0, 0, 1, ()))


def clip_driver(tmp_path: Path, images: list[np.ndarray], clock: CaptureClock, fps: float = FPS,
                queue_frames: int = 64) -> UvcDriver:
    clip = write_clip(tmp_path / "clip.mkv", images, fps)
    return UvcDriver(by_id_dir=tmp_path / "none", files={"S1": clip}, clock=clock, queue_frames=queue_frames)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait (real time) for the reader thread to get somewhere; the assertions never depend on how long."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the reader thread did not get there"
        time.sleep(0.002)


def poll_until(device: UvcDevice, items: list[Frame | DeviceEvent], done: Callable[[], bool]) -> None:
    """Poll ``device`` into ``items`` until ``done()``."""
    def step() -> bool:
        items.extend(device.poll())
        return done()
    wait_for(step)


def play(device: UvcDevice) -> list[Frame | DeviceEvent]:
    """Everything a started clip delivers, polled until it ends."""
    items: list[Frame | DeviceEvent] = []
    poll_until(device, items, lambda: device.ended)
    return items + device.poll()


def frames_of(items: list[Frame | DeviceEvent]) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame)]


def test_clip_frames_arrive_in_order_with_exact_pixels(tmp_path: Path) -> None:
    """Every frame of a lossless clip arrives once, in order, pixel for pixel, counted from 0, host-receive
    stamped on the host clock, and the clip's end is a DISCONNECTED event after the last frame."""
    images = clip_images(12, W, H)
    with clip_driver(tmp_path, images, VirtualClock()).open("S1") as device:
        device.configure(config())
        device.start()
        items = play(device)
    frames = frames_of(items)
    assert [f.seq for f in frames] == list(range(12))
    assert all(np.array_equal(f.image, image) for f, image in zip(frames, images, strict=True))
    assert all(f.device == "cam" and f.stream == "color" and f.encoding == "bgr8" for f in frames)
    assert all(f.semantics is TimestampSemantics.HOST_RECEIVE and f.domain is ClockDomain.HOST for f in frames)
    assert all(f.device_ts_ns == f.host_rx_ns for f in frames)
    end = items[-1]
    assert isinstance(end, DeviceEvent) and end.kind is EventKind.DISCONNECTED and end.device == "cam"
    assert sum(isinstance(i, DeviceEvent) for i in items) == 1


def test_clip_is_paced_at_its_fps_on_the_capture_clock(tmp_path: Path) -> None:
    """Frame n of a clip is read at the start plus n periods of the clip's fps, on the clock passed in."""
    clock = VirtualClock()
    start_ns = clock.now_ns()
    with clip_driver(tmp_path, clip_images(10, W, H), clock, fps=25.0).open("S1") as device:
        device.configure(config(fps=25.0))
        device.start()
        frames = frames_of(play(device))
    assert [f.host_rx_ns - start_ns for f in frames] == [n * period_ns(25.0) for n in range(10)]


def test_clip_pacing_on_the_real_clock_is_never_early(tmp_path: Path) -> None:
    """On the host's monotonic clock a clip's frame n is never received before n periods after start()."""
    clip = write_clip(tmp_path / "clip.mkv", clip_images(6, W, H), FPS)
    with UvcDriver(by_id_dir=tmp_path / "none", files={"S1": clip}).open("S1") as device:
        device.configure(config())
        before_ns = time.monotonic_ns()
        device.start()
        frames = frames_of(play(device))
    assert len(frames) == 6
    assert all(f.host_rx_ns >= before_ns + f.seq * period_ns(FPS) for f in frames)
    assert all(b.host_rx_ns > a.host_rx_ns for a, b in itertools.pairwise(frames))


def test_overflow_is_an_overrun_per_frame_with_its_number(tmp_path: Path) -> None:
    """With poll not called, a queue of 3 keeps frames 0-2; frames 3-7 are each an OVERRUN naming the frame."""
    images = clip_images(8, W, H)
    with clip_driver(tmp_path, images, VirtualClock(), queue_frames=3).open("S1") as device:
        device.configure(config())
        device.start()
        wait_for(lambda: device.ended)
        items = device.poll()
    assert [f.seq for f in frames_of(items)] == [0, 1, 2]
    overruns = [i for i in items if isinstance(i, DeviceEvent) and i.kind is EventKind.OVERRUN]
    assert [(o.seq, o.count, o.stream) for o in overruns] == [(n, 1, "color") for n in range(3, 8)]
    assert [o.host_ns for o in overruns] == [1_000_000_000 + n * period_ns(FPS) for n in range(3, 8)]


def test_clip_settings_are_read_back_and_checked_against_the_plan(tmp_path: Path) -> None:
    """A clip reports its own size and rate; one that differs from the plan is refused, naming the file."""
    with clip_driver(tmp_path, clip_images(2, W, H), VirtualClock()).open("S1") as device:
        device.configure(config())
        assert device.settings is not None
        assert (device.settings.width, device.settings.height, device.settings.fps) == (W, H, FPS)
        assert device.settings.fourcc == "ffv1" and device.settings.auto_exposure is None
        with pytest.raises(DriverError, match=r"clip\.mkv delivers 160x120, the plan asks for 640x480"):
            device.configure(config(width=640, height=480))
        with pytest.raises(DriverError, match=r"clip\.mkv runs at 30 fps, the plan asks for 15"):
            device.configure(config(fps=15.0))
        device.start()  # the refused settings left the accepted ones in force
        frames = frames_of(play(device))
    assert [f.seq for f in frames] == [0, 1] and frames[1].host_rx_ns - frames[0].host_rx_ns == period_ns(FPS)


def test_timing_is_honest_about_host_receive_stamps(tmp_path: Path) -> None:
    """Host clock domain; the latency is uncertain by the transfer's variation, plus a frame period of unknown
    exposure when it is automatic; frames' nominal latency is the exposure and the readout."""
    with clip_driver(tmp_path, clip_images(3, W, H), VirtualClock()).open("S1") as device:
        device.configure(config(exposure_us=8_000))
        manual = device.timing()
        device.start()
        frames = frames_of(play(device))
        device.stop()
        device.configure(config())
        auto = device.timing()
    assert manual.domain is ClockDomain.HOST and manual.tick_ns == 1
    assert manual.latency_uncertainty_ns == TRANSFER_UNCERTAINTY_NS
    assert auto.latency_uncertainty_ns == TRANSFER_UNCERTAINTY_NS + period_ns(FPS) - 100_000
    assert {(f.min_latency_ns, f.exposure_ns) for f in frames} == {(8_000_000 + 15_000_000, 8_000_000)}


def test_fake_v4l2_matches_the_installed_opencv() -> None:
    """The fake's property names are cv2's constants and its methods are cv2.VideoCapture's."""
    assert set(PROPERTIES.values()) == {
        "CAP_PROP_FRAME_WIDTH", "CAP_PROP_FRAME_HEIGHT", "CAP_PROP_FPS", "CAP_PROP_FOURCC", "CAP_PROP_AUTO_EXPOSURE",
        "CAP_PROP_EXPOSURE"}
    assert all(getattr(cv2, name) == prop for prop, name in PROPERTIES.items())
    assert all(callable(getattr(cv2.VideoCapture, m)) for m in CAPTURE_METHODS)
    assert {m for m in dir(Capture) if not m.startswith("_")} == set(CAPTURE_METHODS)


def test_by_id_names_give_the_serial_of_capture_nodes() -> None:
    """udev's by-id name gives bus, serial (ID_SERIAL's last part) and product; metadata nodes are skipped."""
    assert parse_by_id(C920) == ("usb", "8A3F12B0", "046d HD Pro Webcam C920")
    assert parse_by_id(C920.replace("index0", "index1")) is None
    assert parse_by_id("video0") is None


def test_discovery_lists_webcams_and_clips(tmp_path: Path) -> None:
    """Discovery lists each by-id capture node by serial and each named clip; no by-id folder: no webcams."""
    v4l2 = FakeV4l2(tmp_path)
    v4l2.attach(C920, FakeWebcam())
    v4l2.attach(C920.replace("index0", "index1"), FakeWebcam())
    clip = write_clip(tmp_path / "c.mkv", clip_images(1, W, H), FPS)
    found = UvcDriver(by_id_dir=v4l2.by_id, files={"CLIP1": clip, "GONE": tmp_path / "gone.mkv"}).discover()
    assert [(i.serial, i.model, i.connection) for i in found] == [
        ("CLIP1", "uvc-webcam", f"file:{clip}"), ("8A3F12B0", "uvc-webcam", f"usb:{v4l2.by_id / C920}")]
    assert scan_by_id(tmp_path / "missing") == []


def test_open_by_serial_or_by_id_path_and_refuse_others(tmp_path: Path) -> None:
    """A webcam opens by serial or by its by-id path; anything else is a DriverError naming what is there."""
    v4l2 = FakeV4l2(tmp_path)
    camera = FakeWebcam()
    link = v4l2.attach(C920, camera)
    driver = UvcDriver(by_id_dir=v4l2.by_id, opener=v4l2.open, files={"GONE": tmp_path / "gone.mkv"})
    for name in ("8A3F12B0", str(link)):
        with driver.open(name) as device:
            assert device.info.serial == "8A3F12B0"
    assert camera.opens == 2
    with pytest.raises(DriverError, match=r"NOPE: no webcam with this serial or by-id path.*found: 8A3F12B0"):
        driver.open("NOPE")
    with pytest.raises(DriverError, match=r"gone\.mkv not found"):
        driver.open("GONE")
    camera.unplug()
    with pytest.raises(DriverError, match=r"cannot open .*C920"):
        driver.open("8A3F12B0")


def test_webcam_is_configured_from_the_plan_and_read_back(tmp_path: Path) -> None:
    """Format, size, rate and manual exposure (V4L2 units of 100 us) are set in that order and read back; auto
    exposure is V4L2's aperture-priority mode; a size the camera does not list is refused."""
    v4l2 = FakeV4l2(tmp_path)
    camera = FakeWebcam()
    v4l2.attach(C920, camera)
    with UvcDriver(by_id_dir=v4l2.by_id, opener=v4l2.open).open("8A3F12B0") as device:
        device.configure(config(1280, 720, 15.0, exposure_us=10_000, pixel_format="mjpeg"))
        assert camera.writes == [("CAP_PROP_FOURCC", cv2.VideoWriter.fourcc(*"MJPG")),
                                 ("CAP_PROP_FRAME_WIDTH", 1280), ("CAP_PROP_FRAME_HEIGHT", 720),
                                 ("CAP_PROP_FPS", 15.0), ("CAP_PROP_AUTO_EXPOSURE", 1.0), ("CAP_PROP_EXPOSURE", 100.0)]
        assert device.settings is not None
        assert (device.settings.width, device.settings.height, device.settings.fps) == (1280, 720, 15.0)
        assert (device.settings.fourcc, device.settings.auto_exposure, device.settings.exposure_us) == (
            "MJPG", False, 10_000)
        device.configure(config(640, 480, 30.0))
        assert camera.controls["CAP_PROP_AUTO_EXPOSURE"] == 3.0 and device.settings.auto_exposure
        with pytest.raises(DriverError, match=r"delivers 640x480, the plan asks for 800x600.*v4l2-ctl"):
            device.configure(config(800, 600, 30.0))


def test_webcam_unplugged_and_back_is_disconnected_then_reconnected(tmp_path: Path) -> None:
    """A failing read is DISCONNECTED; the webcam opening again is re-configured from the plan and RECONNECTED,
    its frame counter restarted and its first frame flagged."""
    v4l2 = FakeV4l2(tmp_path)
    camera = FakeWebcam()
    v4l2.attach(C920, camera)
    images = clip_images(5, 640, 480)
    clock = VirtualClock()
    driver = UvcDriver(by_id_dir=v4l2.by_id, opener=v4l2.open, clock=clock, reconnect_s=0.001)
    items: list[Frame | DeviceEvent] = []
    with driver.open("8A3F12B0") as device:
        device.configure(config(640, 480, 30.0, exposure_us=5_000))
        device.start()
        camera.push(*images[:3])
        poll_until(device, items, lambda: len(items) == 3)
        camera.unplug()
        poll_until(device, items, lambda: len(items) == 4)
        camera.controls["CAP_PROP_EXPOSURE"] = 156.0  # a power cycle forgets the settings
        writes = len(camera.writes)
        camera.replug()
        poll_until(device, items, lambda: len(items) == 5)
        camera.push(*images[3:])
        poll_until(device, items, lambda: len(items) == 7)
        camera.unplug()
    kinds = [i.kind if isinstance(i, DeviceEvent) else i.seq for i in items]
    assert kinds == [0, 1, 2, EventKind.DISCONNECTED, EventKind.RECONNECTED, 0, 1]
    frames = frames_of(items)
    assert all(np.array_equal(f.image, image) for f, image in zip(frames, images, strict=True))
    assert [f.flags for f in frames] == [FrameFlags.NONE] * 3 + [FrameFlags.AFTER_RECONNECT, FrameFlags.NONE]
    assert ("CAP_PROP_EXPOSURE", 50.0) in camera.writes[writes:] and camera.controls["CAP_PROP_EXPOSURE"] == 50.0
    assert camera.opens == 2


def test_one_colour_stream_and_settings_only_while_stopped(tmp_path: Path) -> None:
    """A webcam or clip has one colour stream (a depth stream is refused); settings change only while stopped."""
    with clip_driver(tmp_path, clip_images(40, W, H), VirtualClock()).open("S1") as device:
        bad = config()
        depth = DeviceConfig("cam", "S1", "uvc-webcam", (StreamConfig("depth", StreamKind.DEPTH, W, H, FPS,
                                                                      "z16", None),), bad.sync)
        with pytest.raises(DriverError, match="one colour stream"):
            device.configure(depth)
        device.configure(bad)
        device.start()
        with pytest.raises(DriverError, match="while stopped"):
            device.configure(bad)


def test_registry_loads_the_driver_and_a_rig_file_names_clips_relative_to_itself(tmp_path: Path) -> None:
    """The registry's ``uvc`` is this module's make_driver; a uvc device with a ``file`` plays that clip, found
    next to the rig file; the other rig devices are not clips."""
    clip = write_clip(tmp_path / "clip.mkv", clip_images(1, W, H), FPS)
    rig = SimpleNamespace(path=str(tmp_path / "rig.toml"), devices=[
        SimpleNamespace(driver="uvc", serial="S1", file="clip.mkv"), SimpleNamespace(driver="uvc", serial="S2"),
        SimpleNamespace(driver="sim", serial="S3", file="clip.mkv")])
    driver = driver_factory("uvc")(rig, None)  # type: ignore[arg-type]
    assert isinstance(driver, UvcDriver) and isinstance(driver.clock(), SystemClock)
    assert [(i.serial, i.connection) for i in driver.discover() if i.connection.startswith("file:")] == [
        ("S1", f"file:{clip}")]


def test_a_clip_is_captured_into_a_recording(tmp_path: Path) -> None:
    """A capture session takes a clip's frames through the frame-clock timebase into a recording: every frame
    after the warm-up is recorded, in order, none dropped, each bound no tighter than the driver's latency
    uncertainty."""
    rig = loads_rig(WEBCAM_RIG, str(tmp_path / "rig.toml"))
    clip = write_clip(tmp_path / "clip.mkv", flat_images(60, 640, 480), 30.0)
    stamped: list[StampedFrame] = []
    driver = UvcDriver(by_id_dir=tmp_path / "none", files={"UVCCLIP1": clip})
    options = CaptureOptions(out=tmp_path / "take.mcap", seconds=1.0)
    with CaptureSession(build_plan(rig), options, drivers={"uvc": driver}, frame_observer=stamped.append) as s:
        result = s.run()
    assert result.error is None and result.dropped == {} and result.frames == len(stamped) >= 5
    assert [f.frame.seq for f in stamped] == list(range(stamped[0].frame.seq, stamped[0].frame.seq + len(stamped)))
    assert all(b.rig_time_ns > a.rig_time_ns for a, b in itertools.pairwise(stamped))
    assert all(f.error_bound_ns >= TRANSFER_UNCERTAINTY_NS + period_ns(FPS) - 100_000 for f in stamped)
    assert (tmp_path / "take.mcap").stat().st_size > 0


def test_a_webcam_that_stays_in_auto_exposure_is_timed_as_auto(tmp_path: Path) -> None:
    """A webcam without manual exposure reads back auto: its frames carry no exposure and its latency is
    uncertain by a frame period, whatever the plan asked."""
    v4l2 = FakeV4l2(tmp_path)
    camera = FakeWebcam(manual_exposure=False)
    v4l2.attach(C920, camera)
    with UvcDriver(by_id_dir=v4l2.by_id, opener=v4l2.open).open("8A3F12B0") as device:
        device.configure(config(640, 480, 30.0, exposure_us=5_000))
        assert device.settings is not None and device.settings.auto_exposure
        assert device.timing().latency_uncertainty_ns == TRANSFER_UNCERTAINTY_NS + period_ns(30.0) - 100_000
        device.start()
        camera.push(*clip_images(1, 640, 480))
        items: list[Frame | DeviceEvent] = []
        poll_until(device, items, lambda: len(items) == 1)
        camera.unplug()
    assert [(f.exposure_ns, f.min_latency_ns) for f in frames_of(items)] == [(None, 100_000 + 15_000_000)]


def test_rigsync_check_passes_a_clip_and_names_one_of_the_wrong_size(tmp_path: Path) -> None:
    """The preflight finds a clip as a webcam, configures it and sees its frames at its rate; a clip of another
    size fails the settings check with the driver's message."""
    plan = build_plan(loads_rig(WEBCAM_RIG, str(tmp_path / "rig.toml")))
    good = write_clip(tmp_path / "good.mkv", flat_images(45, 640, 480), 30.0)
    rows = run_check(plan, {"uvc": UvcDriver(by_id_dir=tmp_path / "none", files={"UVCCLIP1": good})}, seconds=0.5)
    assert [(r.check, r.ok) for r in rows] == [("present", True), ("settings", True), ("frames", True)]
    small = write_clip(tmp_path / "small.mkv", flat_images(2, W, H), 30.0)
    rows = run_check(plan, {"uvc": UvcDriver(by_id_dir=tmp_path / "none", files={"UVCCLIP1": small})}, seconds=0.5)
    assert [(r.check, r.ok) for r in rows] == [("present", True), ("settings", False)]
    assert "small.mkv delivers 160x120, the plan asks for 640x480" in rows[1].detail
