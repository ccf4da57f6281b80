"""Azure Kinect DK through pyk4a (Microsoft's Sensor SDK, libk4a): the only module importing pyk4a.

Devices are found by index (``connected_device_count``) and opened by serial. ``configure`` builds the pyk4a
``Config`` from the plan while the device is stopped: ``wired_sync_mode`` from the plan's vendor role,
``subordinate_delay_off_master_usec`` / ``depth_delay_off_color_usec`` from its delays, the frame rate, colour
resolution and depth mode from the streams, and manual colour exposure. A reader thread per started device
takes captures into a bounded queue that :meth:`KinectDevice.poll` empties without blocking; a device
that goes away is DISCONNECTED, and RECONNECTED once it is back, configured from the plan again.

Timestamps: the device clock in microseconds, the mid-point of exposure standalone and the start of frame in
master/subordinate roles (the catalog's ``azure-kinect-dk`` clock); the host receive time is the image's system
timestamp (CLOCK_MONOTONIC on Linux), or the monotonic clock at the read if the SDK gives none.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np
import pyk4a
from pyk4a import (
    FPS,
    CalibrationType,
    ColorResolution,
    Config,
    DepthMode,
    ImageFormat,
    K4AException,
    K4ATimeoutException,
    PyK4A,
    PyK4ACapture,
    WiredSyncMode,
)

from rigsync.catalog import get_model
from rigsync.catalog.azure_kinect import AZURE_KINECT_DK
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind, TimestampSemantics
from rigsync.core.intrinsics import Intrinsics
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
from rigsync.drivers.queue import FrameQueue
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec

NAME = "kinect"
MODEL = AZURE_KINECT_DK
QUEUE_FRAMES = 64
"""Frames a device's queue holds before it drops (about 1 s of colour and depth at 30 fps)."""
READ_TIMEOUT_MS = 100
"""``get_capture`` timeout: how long ``stop()`` may wait for the reader thread."""
LATENCY_UNCERTAINTY_NS = 1_000_000
"""How far the nominal start-of-exposure-to-host latency may be off (USB transfer; a modelling value until the
hardware first light measures it)."""
STARTUP_NS = 500_000_000
"""From ``start_cameras`` to the first capture (colour sensor start-up; a modelling value)."""
RECONNECT_POLL_S = 0.2
"""How often a disconnected device is looked for again."""
PASSIVE_IR_EXPOSURE_US = 1_600
"""Passive IR exposure (catalog note: depth exposure is fixed per mode, passive IR 1.6 ms)."""

_ROLES = {"standalone": WiredSyncMode.STANDALONE, "master": WiredSyncMode.MASTER,
          "subordinate": WiredSyncMode.SUBORDINATE}
_FPS = {5.0: FPS.FPS_5, 15.0: FPS.FPS_15, 30.0: FPS.FPS_30}
_COLOR_FORMATS = {"bgra8": ImageFormat.COLOR_BGRA32}
"""Colour formats the driver asks the SDK for (it decodes the device's MJPEG to BGRA on the host)."""


@dataclass(frozen=True)
class _Plan:
    """A device's pyk4a configuration, and what the driver delivers of it."""

    config: Config
    streams: tuple[StreamConfig, ...]
    semantics: TimestampSemantics
    period_ns: int


def _mode_name(stream: StreamConfig, serial: str) -> str:
    mode = MODEL.mode(stream.kind, stream.width, stream.height)
    if mode is None or not mode.supports_fps(stream.fps):
        allowed = ", ".join(f"{m.width}x{m.height} at {m.describe_fps()} fps" for m in MODEL.modes_for(stream.kind))
        raise DriverError(NAME, serial, f"stream {stream.name!r}: {stream.kind} {stream.width}x{stream.height} at "
                          f"{stream.fps:g} fps is not an Azure Kinect mode", f"use one of: {allowed}")
    return mode.name


def kinect_config(config: DeviceConfig) -> _Plan:
    """The pyk4a ``Config`` a device's plan asks for; DriverError naming the field if the Kinect cannot do it."""
    serial = config.serial

    def refuse(problem: str, fix: str) -> DriverError:
        return DriverError(NAME, serial, problem, fix)

    rates = {s.fps for s in config.streams}
    if len(rates) != 1 or next(iter(rates)) not in _FPS:
        raise refuse(f"stream rates {sorted(rates)}: the Kinect runs all its cameras at one rate",
                     "give every stream the same fps, one of 5, 15, 30")
    fps = next(iter(rates))
    by_kind = {s.kind: s for s in config.streams}
    if len(by_kind) != len(config.streams):
        raise refuse("two streams of one kind", "give the device at most one colour, one depth and one IR stream")
    role = _ROLES.get(config.sync.vendor_role)
    if role is None and config.sync.group is None:
        role = WiredSyncMode.STANDALONE  # in no sync group, whatever another vendor's term says
    if role is None:
        raise refuse(f"vendor role {config.sync.vendor_role!r} is not a wired sync mode",
                     f"one of {', '.join(_ROLES)}")
    color_res, color_format = ColorResolution.OFF, ImageFormat.COLOR_BGRA32
    if (color := by_kind.get(StreamKind.COLOR)) is not None:
        color_res = ColorResolution[f"RES_{_mode_name(color, serial)}"]
        if color.pixel_format not in _COLOR_FORMATS:
            raise refuse(f"colour pixel format {color.pixel_format!r} is not supported by this driver",
                         f"use {', '.join(_COLOR_FORMATS)}")
        color_format = _COLOR_FORMATS[color.pixel_format]
    elif role is WiredSyncMode.MASTER:
        color_res = ColorResolution.RES_720P  # the master's colour camera drives Sync out (k4a_wired_sync_mode_t)
    depth_mode = DepthMode.OFF
    depth, ir = by_kind.get(StreamKind.DEPTH), by_kind.get(StreamKind.IR)
    if depth is not None:  # the IR image, if asked for, comes with the depth mode at its size
        depth_mode = DepthMode[_mode_name(depth, serial)]
        if ir is not None and (ir.width, ir.height) != (depth.width, depth.height):
            raise refuse(f"IR {ir.width}x{ir.height} with depth {depth.width}x{depth.height}",
                         "the IR image comes with the depth mode: give it the depth stream's size")
    elif ir is not None:
        depth_mode = DepthMode[_mode_name(ir, serial)]  # PASSIVE_IR at 1024x1024
    delay_us, depth_delay_us = round(config.sync.delay_ns / 1000), round(config.sync.depth_delay_ns / 1000)
    if delay_us and role is not WiredSyncMode.SUBORDINATE:
        raise refuse(f"a capture delay of {delay_us} us as {role.name.lower()}",
                     "only subordinates take a delay off the master (subordinate_delay_off_master_usec)")
    model = get_model(config.model) if config.model else MODEL
    synced = role is not WiredSyncMode.STANDALONE
    semantics = model.clock.semantics_synced if synced else model.clock.semantics_free
    return _Plan(
        config=Config(color_resolution=color_res, color_format=color_format, depth_mode=depth_mode,
                      camera_fps=_FPS[fps], synchronized_images_only=False,
                      depth_delay_off_color_usec=depth_delay_us, wired_sync_mode=role,
                      subordinate_delay_off_master_usec=delay_us if role is WiredSyncMode.SUBORDINATE else 0),
        streams=config.streams, semantics=semantics, period_ns=round(1e9 / fps))


def _depth_exposure_ns(mode: DepthMode) -> int:
    laser = MODEL.laser_for(mode.name)
    return round((laser.exposure_us if laser is not None else PASSIVE_IR_EXPOSURE_US) * 1000)


def _open_index(index: int, config: Config | None = None) -> tuple[PyK4A, str] | None:
    """The device at ``index``, opened, and its serial; None if it cannot be opened (gone, or held elsewhere)."""
    k4a = PyK4A(config or Config(), device_id=index)
    try:
        k4a.open()
    except K4AException:
        return None
    try:
        return k4a, k4a.serial
    except K4AException:
        k4a.close()
        return None


def _open_serial(serial: str, config: Config | None = None, first: int | None = None) -> tuple[PyK4A, int]:
    """Open the device with ``serial`` (trying index ``first`` before the others); DriverError if absent."""
    count = pyk4a.connected_device_count()
    order = sorted(range(count), key=lambda i: i != first)
    seen = []
    for index in order:
        found = _open_index(index, config)
        if found is None:
            continue
        k4a, got = found
        if got == serial:
            return k4a, index
        seen.append(got)
        k4a.close()
    raise DriverError(NAME, serial, f"not found ({count} Azure Kinect attached: {', '.join(seen) or 'none free'})",
                      "connect it, or correct its serial in the rig file (rigsync devices RIG lists what is there)")


class KinectDevice(Device):
    """One opened Azure Kinect."""

    def __init__(self, k4a: PyK4A, index: int, info: DeviceInfo, *, queue_frames: int = QUEUE_FRAMES) -> None:
        self.info = info
        self._k4a = k4a
        self._index = index
        self._plan: _Plan | None = None
        self._device_id = info.serial
        self._queue = FrameQueue(queue_frames)
        self._last: dict[str, tuple[int, int]] = {}
        """Per stream: (device timestamp in us, seq) of the last frame."""
        self._reconnected: set[str] = set()
        """Streams whose first frame since a reconnect is still to come (it is flagged AFTER_RECONNECT)."""
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None

    def _refuse(self, problem: str, fix: str | None = None) -> DriverError:
        return DriverError(NAME, self.info.serial, problem, fix)

    def _reopen(self, config: Config | None) -> None:
        if self._k4a.opened:
            self._k4a.close()
        self._k4a, self._index = _open_serial(self.info.serial, config, self._index)

    def configure(self, config: DeviceConfig) -> None:
        if self._reader is not None:
            raise self._refuse("settings can only change while stopped", "stop() first")
        plan = kinect_config(config)
        self._apply(plan)
        self._device_id = config.device_id
        self._plan = plan

    def _apply(self, plan: _Plan) -> None:
        """Open the device with the plan's Config (pyk4a takes it when the device object is made) and set the
        colour exposure."""
        self._reopen(plan.config)
        color = next((s for s in plan.streams if s.kind is StreamKind.COLOR), None)
        exposure_us = color.exposure_us if color is not None else None
        try:
            if exposure_us is not None:
                self._k4a.exposure = exposure_us  # sets EXPOSURE_TIME_ABSOLUTE to MANUAL
            elif color is not None:
                self._k4a.exposure_mode_auto = True
        except K4AException:
            raise self._refuse(f"the SDK refused colour exposure {exposure_us} us" if exposure_us is not None
                               else "the SDK refused auto exposure",
                               f"use {MODEL.exposure_range_us[0]:g} to {MODEL.exposure_range_us[1]:g} us") from None

    def readback(self) -> dict[str, str]:
        """The sync settings start_cameras will be given (k4a has no getter for them), with the sync jacks as the
        device reports them. A role whose cable is missing reads back as refused: k4a_device_start_cameras
        refuses a subordinate without a cable in Sync in and a master without one in Sync out."""
        if self._plan is None:
            return {}
        if not self._k4a.opened:
            self._reopen(self._plan.config)
        cfg = self._plan.config
        jack_in, jack_out = self._k4a.sync_jack_status
        mode = WiredSyncMode(cfg.wired_sync_mode).name.lower()
        missing = {WiredSyncMode.SUBORDINATE: None if jack_in else "in",
                   WiredSyncMode.MASTER: None if jack_out else "out"}.get(cfg.wired_sync_mode)
        out = {
            "wired_sync_mode": mode if missing is None else f"{mode} refused: no cable in Sync {missing}",
            "subordinate_delay_off_master_usec": str(cfg.subordinate_delay_off_master_usec),
            "depth_delay_off_color_usec": str(cfg.depth_delay_off_color_usec),
            "sync_jack_in": "connected" if jack_in else "not connected",
            "sync_jack_out": "connected" if jack_out else "not connected",
        }
        if any(s.kind is StreamKind.COLOR for s in self._plan.streams):
            out["color_exposure_usec"] = "auto" if self._k4a.exposure_mode_auto else str(self._k4a.exposure)
        return out

    def start(self) -> None:
        """Start the cameras and the reader thread; returns at once (a subordinate waits for its trigger in the
        reader thread, not here)."""
        if self._plan is None:
            raise self._refuse("not configured", "call configure() before start()")
        if self._reader is not None:
            return
        if not self._k4a.opened:
            self._reopen(self._plan.config)
        try:
            self._k4a.start()
        except K4AException:
            role = WiredSyncMode(self._plan.config.wired_sync_mode).name.lower()
            raise self._refuse(f"the SDK refused to start the cameras as {role}",
                               {"subordinate": "plug the cable from the master's Sync out into Sync in",
                                "master": "plug a cable into Sync out (to the first subordinate)"}.get(
                                   role, "check the USB connection and that no other program holds it")) from None
        self._last.clear()
        self._stopping.clear()
        self._reader = threading.Thread(target=self._read, args=(self._plan,), name=f"kinect-{self.info.serial}",
                                        daemon=True)
        self._reader.start()

    def _read(self, plan: _Plan) -> None:
        while not self._stopping.is_set():
            try:
                capture = self._k4a.get_capture(timeout=READ_TIMEOUT_MS)
            except K4ATimeoutException:
                continue
            except K4AException:  # the device went away (unplugged, powered off)
                if self._stopping.is_set():
                    return
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.DISCONNECTED, time.monotonic_ns()))
                if not self._reconnect(plan):
                    return
                self._reconnected = {s.name for s in plan.streams}
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.RECONNECTED, time.monotonic_ns()))
                continue
            self._take(capture, plan, time.monotonic_ns())

    def _reconnect(self, plan: _Plan) -> bool:
        """Wait for the device to come back, configure it from the plan again and restart it (its clock and
        frame counts restart); False if stopped first."""
        while not self._stopping.wait(RECONNECT_POLL_S):
            if self._k4a.opened:
                with contextlib.suppress(K4AException):
                    self._k4a.stop()  # releases the dead handle
            try:
                self._apply(plan)
                self._k4a.start()
            except (DriverError, K4AException):
                continue
            self._last.clear()
            return True
        return False

    def _take(self, capture: PyK4ACapture, plan: _Plan, read_ns: int) -> None:
        for stream in plan.streams:
            if stream.kind is StreamKind.COLOR:
                image, ts_us, sys_ns = capture.color, capture.color_timestamp_usec, capture.color_system_timestamp_nsec
            elif stream.kind is StreamKind.DEPTH:
                image, ts_us, sys_ns = capture.depth, capture.depth_timestamp_usec, capture.depth_system_timestamp_nsec
            else:
                image, ts_us, sys_ns = capture.ir, capture.ir_timestamp_usec, capture.ir_system_timestamp_nsec
            if image is None:
                continue
            self._queue.put_frame(self._frame(stream, plan, capture, image, ts_us, sys_ns or read_ns))

    def _frame(self, stream: StreamConfig, plan: _Plan, capture: PyK4ACapture, image: np.ndarray, ts_us: int,
               host_rx_ns: int) -> Frame:
        last = self._last.get(stream.name)
        # The Kinect has no frame counter: count frame periods on the device clock (a gap is a lost frame).
        seq = 0 if last is None else last[1] + max(1, round((ts_us - last[0]) * 1000 / plan.period_ns))
        self._last[stream.name] = (ts_us, seq)
        if stream.kind is StreamKind.COLOR:
            try:
                exposure_ns: int | None = capture.color_exposure_usec * 1000
            except K4AException:
                exposure_ns = None
            min_latency_ns = (exposure_ns or 0) + round(MODEL.readout_us * 1000)
            image, encoding = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), "bgr8"
        else:
            exposure_ns = _depth_exposure_ns(DepthMode(plan.config.depth_mode))
            min_latency_ns = exposure_ns  # depth readout lies inside the capture (catalog note)
            encoding = "16UC1" if stream.kind is StreamKind.DEPTH else "mono16"
        flags = FrameFlags.NONE
        if stream.name in self._reconnected:
            self._reconnected.discard(stream.name)
            flags = FrameFlags.AFTER_RECONNECT
        return Frame(device=self._device_id, stream=stream.name, seq=seq, device_ts_ns=ts_us * 1000,
                     host_rx_ns=host_rx_ns, semantics=plan.semantics, domain=ClockDomain.DEVICE,
                     min_latency_ns=min_latency_ns, exposure_ns=exposure_ns, image=image, encoding=encoding,
                     flags=flags)

    def poll(self) -> list[Frame | DeviceEvent]:
        return self._queue.take()

    def intrinsics(self, stream: str) -> Intrinsics:
        spec = next((s for s in self._plan.streams if s.name == stream), None) if self._plan else None
        if spec is None:
            raise self._refuse(f"no configured stream {stream!r}")
        if not self._k4a.opened:
            self._reopen(self._plan.config if self._plan else None)
        camera = CalibrationType.COLOR if spec.kind is StreamKind.COLOR else CalibrationType.DEPTH
        calibration = self._k4a.calibration
        k = calibration.get_camera_matrix(camera)
        dist = calibration.get_distortion_coefficients(camera)
        return Intrinsics(width=spec.width, height=spec.height, fx=float(k[0, 0]), fy=float(k[1, 1]),
                          cx=float(k[0, 2]), cy=float(k[1, 2]), distortion_model="rational_polynomial",
                          distortion=tuple(float(d) for d in dist))

    def timing(self) -> DeviceTiming:
        return DeviceTiming(ClockDomain.DEVICE, MODEL.clock.tick_ns, LATENCY_UNCERTAINTY_NS, startup_ns=STARTUP_NS)

    def stop(self) -> None:
        if self._reader is None:
            return
        self._stopping.set()
        self._reader.join()
        self._reader = None
        if self._k4a.opened:  # not if it went away and is not back
            with contextlib.suppress(K4AException):
                self._k4a.stop()  # stops the cameras and the IMU, and closes the handle (pyk4a)

    def close(self) -> None:
        self.stop()
        if self._k4a.opened:
            with contextlib.suppress(K4AException):
                self._k4a.close()


class KinectDriver(Driver):
    """Azure Kinect devices on this host, by serial."""

    name = NAME

    def __init__(self, *, queue_frames: int = QUEUE_FRAMES) -> None:
        self._clock = SystemClock()
        self._queue_frames = queue_frames

    def discover(self) -> list[DeviceInfo]:
        found = []
        for index in range(pyk4a.connected_device_count()):
            opened = _open_index(index)
            if opened is None:
                continue
            k4a, serial = opened
            k4a.close()
            found.append(self._info(serial, index))
        return found

    @staticmethod
    def _info(serial: str, index: int) -> DeviceInfo:
        return DeviceInfo(driver=NAME, serial=serial, model=MODEL.key, name=MODEL.name,
                          connection=f"usb (k4a device index {index})")

    def open(self, serial: str) -> KinectDevice:
        k4a, index = _open_serial(serial)
        return KinectDevice(k4a, index, self._info(serial, index), queue_frames=self._queue_frames)

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> Driver:
    """The Kinect driver for a rig (devices are opened by the serials the rig file gives)."""
    return KinectDriver()
