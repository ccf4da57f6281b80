"""StereoLabs ZED stereo cameras through the ZED SDK's Python API (``pyzed.sl``): the only module importing it.

Discovery is ``sl.Camera.get_device_list()`` (serial, ``sl.MODEL``, state, id); a device is opened by serial
(``InitParameters.set_from_serial_number``). The SDK takes resolution, frame rate and depth mode only when a
camera is opened, so :meth:`ZedDevice.configure` (while stopped) reopens it with the plan's ``InitParameters``,
then sets manual exposure, and reads both back (a camera the SDK opened in another mode is a DriverError).
``readback()`` is empty: the SDK reports no sync setting (USB ZEDs have none; a ZED Link card's trigger mode is
set in its ``zed_x_daemon`` service, outside the SDK). A grab thread per started device calls ``grab()`` into a
bounded :class:`~rigsync.drivers.queue.FrameQueue` that :meth:`ZedDevice.poll` empties without blocking. A grab
that fails (``CAMERA_NOT_DETECTED``...) is DISCONNECTED; the camera is opened again from the plan until it is back
(RECONNECTED). Monocular ZED X One cameras (``sl.CameraOne``) are listed but not opened.

Timestamps: ``get_timestamp(TIME_REFERENCE.IMAGE)`` is "the UNIX nanosecond timestamp ... at which the entire
image was available in the PC memory" (pyzed ``sl.pyx``, ``Camera.get_timestamp``): the host's system clock
(CLOCK_REALTIME), at the host-receive instant (the catalog's ``HOST_RECEIVE``). Each frame's stamp is moved onto
the host's monotonic clock with both clocks read together at the grab, so a step of the system clock (NTP, PTP)
between frames moves no frame. The SDK gives no frame number for a live camera: a frame's ``seq`` counts the
grabs since the camera was opened plus ``get_frame_dropped_count()`` (frames that never reached ``grab``), so a
dropped frame is a gap. GMSL2 cameras (ZED X family) are listed as one hardware group: the frames of cameras on
a ZED Link card are triggered together by the card (``pyzed``'s device list carries no card or port, so every
GMSL2 camera of the host is in the group).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyzed import sl

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel, DepthTech
from rigsync.catalog.stereolabs import ZED_2I
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.sync import LinkKind
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

NAME = "zed"
QUEUE_FRAMES = 64
"""Frames a device's queue holds before it drops (about 1 s of colour and depth at 30 fps)."""
RECONNECT_POLL_S = 0.2
"""How often a disconnected camera is opened again."""
LATENCY_UNCERTAINTY_NS = 2_000_000
"""How far the nominal start-of-exposure-to-host-memory latency may be off (USB/GMSL2 transfer and ISP; a modelling
value until the hardware first light measures it), beyond an unknown automatic exposure."""
STARTUP_NS = 500_000_000
"""From ``open``/``grab`` to the first image (a modelling value)."""
DEPTH_MODE = "NEURAL_LIGHT"
"""The depth mode when the plan asks for depth: the catalog's GPU memory figure (750 MB) is for NEURAL LIGHT."""
USB_EXPOSURE_MAX_US = {15.0: 19_970.0, 30.0: 19_970.0, 60.0: 10_840.72, 100.0: 10_106.624}
"""USB cameras' ``VIDEO_SETTINGS.EXPOSURE`` is 0-100 % of these exposures (pyzed ``VIDEO_SETTINGS`` docs)."""
HOST_GROUP = "zed-link"
"""Name of the hardware group of a host's GMSL2 cameras in their connection."""

MODELS: dict[Any, str] = {
    sl.MODEL.ZED: "zed", sl.MODEL.ZED_M: "zed-mini", sl.MODEL.ZED2: "zed-2", sl.MODEL.ZED2i: "zed-2i",
    sl.MODEL.ZED_X: "zed-x", sl.MODEL.ZED_XM: "zed-x-mini", sl.MODEL.ZED_X_NANO: "zed-x-nano",
    sl.MODEL.ZED_XONE_GS: "zed-x-one-gs", sl.MODEL.ZED_XONE_UHD: "zed-x-one-4k",
}
"""``sl.MODEL`` -> catalog key (models the catalog lacks keep their SDK name and no key)."""
_LOST = (sl.ERROR_CODE.CAMERA_NOT_DETECTED, sl.ERROR_CODE.CAMERA_REBOOTING, sl.ERROR_CODE.FAILURE)
"""``grab`` results after which the camera is gone until it is opened again."""

HostClocks = Callable[[], tuple[int, int]]
"""(system clock, monotonic clock) of the host now, read together, in ns."""


def host_clocks() -> tuple[int, int]:
    return time.time_ns(), time.monotonic_ns()


@dataclass(frozen=True)
class ZedSettings:
    """What the plan asks of one ZED: the ``InitParameters`` values, the manual exposure, the streams."""

    resolution: str
    """``sl.RESOLUTION`` member name."""
    fps: int
    depth_mode: str
    """``sl.DEPTH_MODE`` member name."""
    exposure_us: int | None
    streams: tuple[StreamConfig, ...]
    model: CameraModel


def zed_settings(config: DeviceConfig) -> ZedSettings:
    """The SDK settings a device's plan asks for; DriverError naming the field if the ZED cannot do it."""
    model = get_model(config.model) if config.model else ZED_2I

    def refuse(problem: str, fix: str) -> DriverError:
        return DriverError(NAME, config.serial, problem, fix)

    if model.depth_tech is DepthTech.NONE:
        raise refuse(f"{model.name} is a monocular camera (sl.CameraOne), which this driver does not open",
                     "use a stereo ZED (ZED 2i, ZED X...)")
    kinds = [s.kind for s in config.streams]
    if len(set(kinds)) != len(kinds) or not set(kinds) <= {StreamKind.COLOR, StreamKind.DEPTH}:
        raise refuse(f"streams {[k.value for k in kinds]}", "give a ZED at most one colour and one depth stream")
    sizes = {(s.width, s.height, s.fps) for s in config.streams}
    if len(sizes) != 1:
        raise refuse("streams of different sizes or rates: the SDK computes depth at the image's size and rate",
                     "give the colour and depth streams the same size and fps")
    width, height, fps = next(iter(sizes))
    mode = model.mode(config.streams[0].kind, width, height)
    if mode is None or not mode.supports_fps(fps):
        allowed = ", ".join(f"{m.width}x{m.height} ({m.name}) at {m.describe_fps()} fps"
                            for m in model.modes_for(StreamKind.COLOR))
        raise refuse(f"{width}x{height} at {fps:g} fps is not a {model.name} mode", f"use one of: {allowed}")
    color = next((s for s in config.streams if s.kind is StreamKind.COLOR), None)
    exposure_us = color.exposure_us if color is not None else None
    low, high = model.exposure_range_us
    if exposure_us is not None and not low <= exposure_us <= high:
        raise refuse(f"colour exposure {exposure_us} us", f"use {low:g} to {high:g} us, or auto")
    return ZedSettings(resolution=mode.name, fps=int(fps),
                       depth_mode=DEPTH_MODE if StreamKind.DEPTH in kinds else "NONE",
                       exposure_us=exposure_us, streams=config.streams, model=model)


def _init_parameters(serial: str, settings: ZedSettings | None) -> Any:
    init = sl.InitParameters()
    init.set_from_serial_number(int(serial))
    init.coordinate_units = sl.UNIT.MILLIMETER
    if settings is None:
        init.depth_mode = sl.DEPTH_MODE.NONE  # just open it: no GPU work
    else:
        init.camera_resolution = getattr(sl.RESOLUTION, settings.resolution)
        init.camera_fps = settings.fps
        init.depth_mode = getattr(sl.DEPTH_MODE, settings.depth_mode)
    return init


def _catalog(model: Any) -> tuple[str, str]:
    """(catalog key or "", display name) of an ``sl.MODEL``."""
    key = MODELS.get(model, "")
    return key, get_model(key).name if key else str(model.name)


class ZedDevice(Device):
    """One opened ZED."""

    def __init__(self, camera: Any, info: DeviceInfo, *, queue_frames: int, clocks: HostClocks) -> None:
        self.info = info
        self._camera = camera
        self._queue = FrameQueue(queue_frames)
        self._clocks = clocks
        self._settings: ZedSettings | None = None
        self._device_id = info.serial
        self._stopping = threading.Event()
        self._grabber: threading.Thread | None = None

    def _refuse(self, problem: str, fix: str | None = None) -> DriverError:
        return DriverError(NAME, self.info.serial, problem, fix)

    def configure(self, config: DeviceConfig) -> None:
        if self._grabber is not None:
            raise self._refuse("settings can only change while stopped", "stop() first")
        settings = zed_settings(config)
        self._camera.close()
        self._camera, err = _open(self.info.serial, settings)
        if err != sl.ERROR_CODE.SUCCESS:
            raise self._refuse(f"the SDK refused to open it at {settings.resolution} {settings.fps} fps, depth "
                               f"{settings.depth_mode}: {err.name}",
                               "check the connection and that no other program holds it")
        self._set_exposure(settings)
        self._check_opened_as(settings)
        self._settings = settings
        self._device_id = config.device_id

    def _check_opened_as(self, settings: ZedSettings) -> None:
        """Read the resolution and rate back from the opened camera: the SDK falls back to another mode rather than
        fail (``CONFIGURATION_FALLBACK``), which a rig's timing must not silently take."""
        conf = self._camera.get_camera_information().camera_configuration
        stream = settings.streams[0]
        got = (conf.resolution.width, conf.resolution.height, round(conf.fps))
        if got != (stream.width, stream.height, settings.fps):
            raise self._refuse(f"opened at {got[0]}x{got[1]} {got[2]} fps, not the planned {stream.width}x"
                               f"{stream.height} {settings.fps} fps", "check the model and link bandwidth "
                               "(USB 3, one controller per camera)")

    def _set_exposure(self, settings: ZedSettings) -> None:
        if settings.exposure_us is None:
            setting, value = sl.VIDEO_SETTINGS.AEC_AGC, 1
        elif settings.model.link is LinkKind.GMSL:
            setting, value = sl.VIDEO_SETTINGS.EXPOSURE_TIME, settings.exposure_us
        else:
            top_us = USB_EXPOSURE_MAX_US[float(settings.fps)]
            setting, value = sl.VIDEO_SETTINGS.EXPOSURE, min(100, max(0, round(settings.exposure_us / top_us * 100)))
        err = self._camera.set_camera_settings(setting, value)
        if err != sl.ERROR_CODE.SUCCESS:
            raise self._refuse(f"the SDK refused {setting.name} = {value}: {err.name}")
        err, back = self._camera.get_camera_settings(setting)
        if err != sl.ERROR_CODE.SUCCESS or back != value:
            raise self._refuse(f"{setting.name} reads back {back}, not {value} ({err.name})")

    def _exposure_ns(self, settings: ZedSettings) -> int | None:
        """The exposure the camera was set to (None in auto exposure)."""
        if settings.exposure_us is None:
            return None
        if settings.model.link is LinkKind.GMSL:
            return settings.exposure_us * 1000
        _, percent = self._camera.get_camera_settings(sl.VIDEO_SETTINGS.EXPOSURE)
        return round(int(percent) / 100 * USB_EXPOSURE_MAX_US[float(settings.fps)] * 1000)

    def start(self) -> None:
        """Start the grab thread; returns at once."""
        if self._settings is None:
            raise self._refuse("not configured", "call configure() before start()")
        if self._grabber is not None:
            return
        self._stopping.clear()
        self._grabber = threading.Thread(target=self._grab_loop, args=(self._settings,),
                                         name=f"zed-{self.info.serial}", daemon=True)
        self._grabber.start()

    def _grab_loop(self, settings: ZedSettings) -> None:
        images = {s.name: sl.Mat() for s in settings.streams}
        # seq: frames grabbed plus frames the SDK dropped since this start (its count runs from the first grab of
        # the opened camera, through earlier starts)
        grabbed, dropped_before, exposure_ns = 0, self._camera.get_frame_dropped_count(), self._exposure_ns(settings)
        reconnected = FrameFlags.NONE  # AFTER_RECONNECT on the first grab after a reconnect
        min_latency_ns = (exposure_ns if exposure_ns is not None else round(settings.model.exposure_range_us[0] * 1000)
                          ) + settings.model.readout_ns  # start of exposure -> image in host memory
        while not self._stopping.is_set():
            err = self._camera.grab()
            if err in _LOST:
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.DISCONNECTED, time.monotonic_ns()))
                if not self._reconnect(settings):
                    return
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.RECONNECTED, time.monotonic_ns()))
                grabbed, dropped_before = 0, 0  # a new camera object: its counts start again
                reconnected = FrameFlags.AFTER_RECONNECT
                continue
            if err not in (sl.ERROR_CODE.SUCCESS, sl.ERROR_CODE.CORRUPTED_FRAME):
                continue  # a warning without a new image
            sys_ns, mono_ns = self._clocks()
            image_sys_ns = self._camera.get_timestamp(sl.TIME_REFERENCE.IMAGE).get_nanoseconds()
            seq = grabbed + self._camera.get_frame_dropped_count() - dropped_before
            grabbed += 1
            host_rx_ns = image_sys_ns + (mono_ns - sys_ns)  # CLOCK_REALTIME -> CLOCK_MONOTONIC
            flags = (FrameFlags.CORRUPT if err == sl.ERROR_CODE.CORRUPTED_FRAME else FrameFlags.NONE) | reconnected
            reconnected = FrameFlags.NONE
            for stream in settings.streams:
                mat = images[stream.name]
                color = stream.kind is StreamKind.COLOR
                got = self._camera.retrieve_image(mat, sl.VIEW.LEFT) if color else \
                    self._camera.retrieve_measure(mat, sl.MEASURE.DEPTH_U16_MM)
                if got != sl.ERROR_CODE.SUCCESS:
                    continue  # no image of this frame: a gap in the stream's seq, never a stale buffer
                if color:
                    image, encoding = np.ascontiguousarray(mat.get_data()[:, :, :3]), "bgr8"  # BGRA -> BGR
                else:
                    image, encoding = mat.get_data().reshape(stream.height, stream.width).copy(), "16UC1"
                self._queue.put_frame(Frame(
                    device=self._device_id, stream=stream.name, seq=seq, device_ts_ns=host_rx_ns,
                    host_rx_ns=host_rx_ns, semantics=settings.model.clock.semantics_free, domain=ClockDomain.HOST,
                    min_latency_ns=min_latency_ns, exposure_ns=exposure_ns, image=image, encoding=encoding,
                    flags=flags))

    def _reconnect(self, settings: ZedSettings) -> bool:
        """Open the camera again from the plan until it is back (its dropped-frame count restarts); False if
        stopped first."""
        self._camera.close()
        while not self._stopping.wait(RECONNECT_POLL_S):
            camera, err = _open(self.info.serial, settings)
            if err != sl.ERROR_CODE.SUCCESS:
                continue
            self._camera = camera
            try:
                self._set_exposure(settings)
            except DriverError:
                camera.close()
                continue
            return True
        return False

    def poll(self) -> list[Frame | DeviceEvent]:
        return self._queue.take()

    def intrinsics(self, stream: str) -> Intrinsics:
        """The rectified left camera's (colour and depth are both in it: no distortion)."""
        spec = next((s for s in self._settings.streams if s.name == stream), None) if self._settings else None
        if spec is None:
            raise self._refuse(f"no configured stream {stream!r}")
        left = self._camera.get_camera_information().camera_configuration.calibration_parameters.left_cam
        return Intrinsics(width=spec.width, height=spec.height, fx=float(left.fx), fy=float(left.fy),
                          cx=float(left.cx), cy=float(left.cy))

    def timing(self) -> DeviceTiming:
        """Host-clock stamps (1 ns); the latency is known to within the transfer's variation and, in auto exposure,
        the exposure's range."""
        model = self._settings.model if self._settings else ZED_2I
        low_us, high_us = model.exposure_range_us
        unknown_ns = 0 if self._settings and self._settings.exposure_us is not None else round((high_us - low_us)
                                                                                                  * 1000)
        return DeviceTiming(ClockDomain.HOST, 1, LATENCY_UNCERTAINTY_NS + unknown_ns, startup_ns=STARTUP_NS)

    def stop(self) -> None:
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            self._stopping.set()
            grabber.join()

    def close(self) -> None:
        self.stop()
        self._camera.close()


def _open(serial: str, settings: ZedSettings | None) -> tuple[Any, Any]:
    """A new ``sl.Camera`` opened on ``serial`` (closed again if the SDK refused), and the SDK's answer."""
    camera = sl.Camera()
    err = camera.open(_init_parameters(serial, settings))
    if err != sl.ERROR_CODE.SUCCESS:
        camera.close()
    return camera, err


class ZedDriver(Driver):
    """ZED cameras on this host, by serial."""

    name = NAME

    def __init__(self, *, queue_frames: int = QUEUE_FRAMES, clocks: HostClocks = host_clocks) -> None:
        self._clock = SystemClock()
        self._queue_frames = queue_frames
        self._clocks = clocks

    def discover(self) -> list[DeviceInfo]:
        listed = sl.Camera.get_device_list()
        gmsl = [str(p.serial_number) for p in listed
                if (key := MODELS.get(p.camera_model)) and get_model(key).link is LinkKind.GMSL]
        found = []
        for props in listed:
            serial = str(props.serial_number)
            key, name = _catalog(props.camera_model)
            if serial in gmsl:
                connection = f"gmsl {HOST_GROUP} (hardware group of {len(gmsl)}: {', '.join(gmsl)})"
            else:
                connection = f"usb (ZED id {props.id}{', ' + props.path if props.path else ''})"
            if props.camera_state != sl.CAMERA_STATE.AVAILABLE:
                connection += ", in use by another program"
            found.append(DeviceInfo(driver=NAME, serial=serial, model=key, name=name, connection=connection))
        return found

    def open(self, serial: str) -> ZedDevice:
        listed = self.discover()
        info = next((i for i in listed if i.serial == serial), None)
        if info is None or not serial.isdigit():
            raise DriverError(NAME, serial, f"not found ({len(listed)} ZED attached: "
                              f"{', '.join(i.serial for i in listed) or 'none'})",
                              "connect it, or correct its serial in the rig file (rigsync devices RIG lists what is "
                              "there)")
        camera, err = _open(serial, None)
        if err != sl.ERROR_CODE.SUCCESS:
            raise DriverError(NAME, serial, f"the SDK could not open it: {err.name}",
                              "check that no other program holds it (ZED Explorer, another capture)")
        firmware = camera.get_camera_information().camera_configuration.firmware_version
        info = DeviceInfo(driver=NAME, serial=serial, model=info.model, name=info.name, connection=info.connection,
                          firmware=str(firmware))
        return ZedDevice(camera, info, queue_frames=self._queue_frames, clocks=self._clocks)

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> Driver:
    """The ZED driver for a rig (devices are opened by the serials the rig file gives)."""
    return ZedDriver()
