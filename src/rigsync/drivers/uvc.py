"""UVC webcams through OpenCV's V4L2 backend, and video files standing in for them (replay, tests).

The only module that captures through OpenCV (``cv2``). A webcam has no device clock rigsync can read: each
frame is stamped with the capture host's monotonic clock when ``VideoCapture.read`` returns it
(``HOST_RECEIVE``), and the timebase's frame-clock estimator turns the frame counter (the read count) and those
receive times into exposure times. A reader thread per device fills a bounded queue that :meth:`UvcDevice.poll`
drains without blocking; a full queue drops the frame just read and says so (OVERRUN with its number), a failing
read is a DISCONNECTED event, and a device that opens again (re-configured) is RECONNECTED.

A video file (e.g. a lossless FFV1 ``.mkv``) is delivered the same way, paced at its own frame rate on the
capture clock; its end is a DISCONNECTED event (nothing more will come).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from rigsync.catalog.uvc import UVC_WEBCAM
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind, TimestampSemantics
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.units import period_ns
from rigsync.drivers.base import (
    CaptureClock,
    Device,
    DeviceConfig,
    DeviceEvent,
    DeviceInfo,
    DeviceTiming,
    Driver,
    EventKind,
    StreamConfig,
    SystemClock,
)
from rigsync.drivers.uvc_by_id import BY_ID_DIR, scan_by_id
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec

NAME = "uvc"
MODEL = UVC_WEBCAM.key

TRANSFER_UNCERTAINTY_NS = 10_000_000
"""How far a webcam frame's delay from end of readout to ``read()`` returning may vary: the last USB packet,
uvcvideo's completion, the V4L2 dequeue, OpenCV's decoding (MJPEG) and the reader thread's wake-up (assumption:
a third of a 30 fps frame)."""
STARTUP_NS = 500_000_000
"""From ``start()`` to a webcam's first exposure (stream-on and the sensor's first frames; assumption)."""
RECONNECT_S = 0.5
"""How often a disconnected webcam is looked for again."""
QUEUE_FRAMES = 64
"""Frames a device holds for :meth:`UvcDevice.poll` before it drops new ones (about 2 s at 30 fps)."""

V4L2_EXPOSURE_MANUAL = 1.0
V4L2_EXPOSURE_APERTURE_PRIORITY = 3.0
"""``CAP_PROP_AUTO_EXPOSURE`` on the V4L2 backend is V4L2's ``exposure_auto`` menu: 1 manual, 3 auto."""
V4L2_EXPOSURE_UNIT_US = 100
"""``CAP_PROP_EXPOSURE`` on the V4L2 backend is ``exposure_time_absolute``, in 100 us units."""
FOURCC = {"yuyv": "YUYV", "mjpeg": "MJPG"}
"""rigsync pixel formats (catalog ``uvc``) as V4L2 FourCC codes."""


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the driver calls."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


CaptureOpener = Callable[[str, int], Capture]
"""Opens a capture: (path, OpenCV backend, ``cv2.CAP_V4L2`` or ``cv2.CAP_FFMPEG``). ``cv2.VideoCapture`` itself."""


@dataclass(frozen=True)
class UvcSettings:
    """What a device reports after configuration (``VideoCapture.get``)."""

    width: int
    height: int
    fps: float
    fourcc: str
    auto_exposure: bool | None
    """None for a video file (no exposure control)."""
    exposure_us: float | None


@dataclass(frozen=True)
class _Source:
    serial: str
    path: str
    is_file: bool
    info: DeviceInfo


def _fourcc(code: float) -> str:
    value = int(code)
    return "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4)).strip("\0")


class UvcDevice(Device):
    """One webcam (or video file) opened through OpenCV."""

    def __init__(self, source: _Source, opener: CaptureOpener, clock: CaptureClock, *,
                 queue_frames: int = QUEUE_FRAMES, reconnect_s: float = RECONNECT_S) -> None:
        self.info = source.info
        self._source = source
        self._opener = opener
        self._clock = clock
        self._queue_frames = queue_frames
        self._reconnect_s = reconnect_s
        self._config: StreamConfig | None = None
        self._device_id = ""
        self.settings: UvcSettings | None = None
        """What the device reported at the last configuration (None before)."""
        self._lock = threading.Lock()
        self._items: list[Frame | DeviceEvent] = []
        self._queued = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._ended = False
        self._capture: Capture | None = self._open_capture()
        if self._capture is None:
            raise DriverError(NAME, source.serial, f"cannot open {source.path}",
                              "check the file" if source.is_file else "is the camera plugged in and not in use?")

    def _open_capture(self) -> Capture | None:
        capture = self._opener(self._source.path, cv2.CAP_FFMPEG if self._source.is_file else cv2.CAP_V4L2)
        if capture.isOpened():
            return capture
        capture.release()
        return None

    def configure(self, config: DeviceConfig) -> None:
        if self._thread is not None:
            raise DriverError(NAME, self.info.serial, "settings can only change while stopped", "stop() first")
        if len(config.streams) != 1 or config.streams[0].kind is not StreamKind.COLOR:
            raise DriverError(NAME, self.info.serial, f"a webcam has one colour stream, the plan asks for "
                              f"{[f'{s.name} ({s.kind})' for s in config.streams]}")
        if self._capture is None:
            raise DriverError(NAME, self.info.serial, "disconnected", "plug the camera back in")
        self.settings = self._apply(self._capture, config.streams[0])
        self._device_id, self._config = config.device_id, config.streams[0]

    def _apply(self, capture: Capture, stream: StreamConfig) -> UvcSettings:
        """Set the plan's mode and exposure (a webcam; a file has fixed ones) and check what the device reports."""
        if not self._source.is_file:
            code = FOURCC.get(stream.pixel_format)
            if code is not None:
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*code))
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, stream.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, stream.height)
            capture.set(cv2.CAP_PROP_FPS, stream.fps)
            manual = stream.exposure_us is not None
            capture.set(cv2.CAP_PROP_AUTO_EXPOSURE, V4L2_EXPOSURE_MANUAL if manual else V4L2_EXPOSURE_APERTURE_PRIORITY)
            if stream.exposure_us is not None:
                capture.set(cv2.CAP_PROP_EXPOSURE, stream.exposure_us / V4L2_EXPOSURE_UNIT_US)
        auto = None if self._source.is_file else capture.get(cv2.CAP_PROP_AUTO_EXPOSURE) != V4L2_EXPOSURE_MANUAL
        settings = UvcSettings(
            width=round(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), height=round(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=capture.get(cv2.CAP_PROP_FPS), fourcc=_fourcc(capture.get(cv2.CAP_PROP_FOURCC)), auto_exposure=auto,
            exposure_us=None if auto is None else capture.get(cv2.CAP_PROP_EXPOSURE) * V4L2_EXPOSURE_UNIT_US)
        fix = "make the clip in the plan's mode" if self._source.is_file else \
            "choose a mode the camera lists (v4l2-ctl --list-formats-ext)"
        if (settings.width, settings.height) != (stream.width, stream.height):
            raise DriverError(NAME, self.info.serial, f"{self._source.path} delivers {settings.width}x"
                              f"{settings.height}, the plan asks for {stream.width}x{stream.height}", fix)
        if abs(settings.fps - stream.fps) > 0.01 * stream.fps:
            raise DriverError(NAME, self.info.serial, f"{self._source.path} runs at {settings.fps:g} fps, the plan "
                              f"asks for {stream.fps:g}", fix)
        return settings

    def start(self) -> None:
        if self._config is None:
            raise DriverError(NAME, self.info.serial, "not configured", "call configure() before start()")
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"uvc-{self.info.serial}", daemon=True)
        self._thread.start()

    def poll(self) -> list[Frame | DeviceEvent]:
        with self._lock:
            items, self._items, self._queued = self._items, [], 0
        return items

    @property
    def ended(self) -> bool:
        """A video file played to its end (its DISCONNECTED event is queued): nothing more will come."""
        return self._ended

    def intrinsics(self, stream: str) -> Intrinsics:
        if self._config is None or stream != self._config.name:
            raise DriverError(NAME, self.info.serial, f"no configured stream {stream!r}")
        return Intrinsics.from_hfov(self._config.width, self._config.height, UVC_WEBCAM.hfov_for(StreamKind.COLOR))

    def _exposure_ns(self) -> int | None:
        """The exposure in force: a webcam's as it reports it in manual mode (None in auto: unknown); a clip's is
        the plan's."""
        settings, stream = self.settings, self._config
        if settings is None or stream is None:
            return None
        if settings.auto_exposure is None:
            return None if stream.exposure_us is None else stream.exposure_us * 1_000
        return None if settings.auto_exposure or settings.exposure_us is None else round(settings.exposure_us * 1_000)

    def timing(self) -> DeviceTiming:
        """Host-receive stamps: only the host's clock (1 ns reads), a delay known to within the transfer's
        variation - and, in auto exposure, the unknown exposure (up to a frame period)."""
        low_us, high_us = UVC_WEBCAM.exposure_range_us
        if self._config is None:
            unknown_exposure_ns = int((high_us - low_us) * 1_000)
        elif self._exposure_ns() is None:
            unknown_exposure_ns = max(0, period_ns(self._config.fps) - int(low_us * 1_000))
        else:
            unknown_exposure_ns = 0
        return DeviceTiming(ClockDomain.HOST, 1, TRANSFER_UNCERTAINTY_NS + unknown_exposure_ns,
                            startup_ns=0 if self._source.is_file else STARTUP_NS)

    def _min_latency_ns(self) -> int:
        """Start of exposure to ``read()``: the exposure (the shortest one when automatic) and the readout."""
        exposure_ns = self._exposure_ns()
        if exposure_ns is None:
            exposure_ns = int(UVC_WEBCAM.exposure_range_us[0] * 1_000)
        return exposure_ns + UVC_WEBCAM.readout_ns

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def close(self) -> None:
        self.stop()
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    # The reader thread.

    def _run(self) -> None:
        stream = self._config
        assert stream is not None
        latency_ns, exposure_ns = self._min_latency_ns(), self._exposure_ns()
        frame_ns = period_ns(stream.fps)
        paced_from_ns, reads = self._clock.now_ns(), 0
        flags = FrameFlags.NONE
        while not self._stop.is_set() and not self._ended:
            capture = self._capture
            if capture is None:
                if self._reconnect(stream):
                    flags = FrameFlags.AFTER_RECONNECT
                    latency_ns, exposure_ns = self._min_latency_ns(), self._exposure_ns()
                continue
            if self._source.is_file:  # a clip plays at its own rate on the capture clock
                due_ns = paced_from_ns + reads * frame_ns
                while self._clock.now_ns() < due_ns and not self._stop.is_set():
                    self._clock.wait_until(due_ns)
            try:
                ok, image = capture.read()
            except cv2.error:
                ok, image = False, None
            host_rx_ns = self._clock.now_ns()
            reads += 1
            if not ok or image is None:
                self._lost(capture, host_rx_ns)
                continue
            frame = Frame(device=self._device_id, stream=stream.name, seq=self._seq, device_ts_ns=host_rx_ns,
                          host_rx_ns=host_rx_ns, semantics=TimestampSemantics.HOST_RECEIVE, domain=ClockDomain.HOST,
                          min_latency_ns=latency_ns, exposure_ns=exposure_ns, image=image, encoding="bgr8",
                          flags=flags)
            self._seq += 1
            flags = FrameFlags.NONE
            self._push(frame, stream.name)

    def _push(self, frame: Frame, stream: str) -> None:
        with self._lock:
            if self._queued < self._queue_frames:
                self._items.append(frame)
                self._queued += 1
            else:
                self._items.append(DeviceEvent(self._device_id, EventKind.OVERRUN, frame.host_rx_ns, stream=stream,
                                               count=1, seq=frame.seq))

    def _event(self, kind: EventKind, host_ns: int) -> None:
        with self._lock:
            self._items.append(DeviceEvent(self._device_id, kind, host_ns))

    def _lost(self, capture: Capture, host_ns: int) -> None:
        """A read failed: the device is gone (or the clip ended)."""
        self._event(EventKind.DISCONNECTED, host_ns)
        if self._source.is_file:
            self._ended = True
            return
        self._capture = None
        capture.release()

    def _reconnect(self, stream: StreamConfig) -> bool:
        """Look for the webcam again; once it opens, configure it as planned: RECONNECTED, counters restart."""
        if self._stop.wait(self._reconnect_s):
            return False
        capture = self._open_capture()
        if capture is None:
            return False
        try:
            self.settings = self._apply(capture, stream)
        except DriverError:
            capture.release()
            return False
        self._capture = capture
        self._seq = 0
        self._event(EventKind.RECONNECTED, self._clock.now_ns())
        return True


class UvcDriver(Driver):
    """Webcams listed in ``/dev/v4l/by-id`` (opened by serial or by-id path) and video files named by serial."""

    name = NAME

    def __init__(self, *, by_id_dir: Path = BY_ID_DIR, files: Mapping[str, Path] | None = None,
                 opener: CaptureOpener = cv2.VideoCapture, clock: CaptureClock | None = None,
                 queue_frames: int = QUEUE_FRAMES, reconnect_s: float = RECONNECT_S) -> None:
        self._by_id_dir = by_id_dir
        self._files = dict(files or {})
        self._opener = opener
        self._clock = clock or SystemClock()
        self._queue_frames = queue_frames
        self._reconnect_s = reconnect_s

    def _sources(self) -> list[_Source]:
        sources = [_Source(serial, str(path), True, DeviceInfo(NAME, serial, MODEL, f"video file {path.name}",
                                                                 f"file:{path}"))
                   for serial, path in sorted(self._files.items()) if path.is_file()]
        sources += [_Source(e.serial, str(e.path), False, DeviceInfo(NAME, e.serial, MODEL, e.product,
                                                                     f"{e.bus}:{e.path}"))
                    for e in scan_by_id(self._by_id_dir)]
        return sources

    def discover(self) -> list[DeviceInfo]:
        return [s.info for s in self._sources()]

    def open(self, serial: str) -> UvcDevice:
        """Open by serial, or by ``/dev/v4l/by-id`` path."""
        sources = self._sources()
        for source in sources:
            if serial in (source.serial, source.path):
                return UvcDevice(source, self._opener, self._clock, queue_frames=self._queue_frames,
                                 reconnect_s=self._reconnect_s)
        if serial in self._files:
            raise DriverError(NAME, serial, f"video file {self._files[serial]} not found")
        found = ", ".join(s.serial for s in sources) or f"none in {self._by_id_dir}"
        raise DriverError(NAME, serial, "no webcam with this serial or by-id path", f"found: {found}")

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> UvcDriver:
    """The rig's webcams; a device with a ``file`` (relative to the rig file) is that video file instead."""
    base = Path(rig.path).parent
    files = {d.serial: base / str(file) for d in rig.devices
             if d.driver == NAME and (file := getattr(d, "file", None)) is not None}
    return UvcDriver(files=files)
