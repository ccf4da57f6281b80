"""Intel RealSense D400 cameras through pyrealsense2 (the only module that imports it): live devices, and
recordings (``.db3`` written by ``rs.recorder``) played back through ``rs.pipeline`` standing in for a camera.

Frames come from each sensor's own callback (every frame reaches rigsync's aligner; the SDK's syncer never sees
them) into a bounded queue that ``poll()`` empties. Settings are applied only while stopped and read back:
``inter_cam_sync_mode`` (0 default, 1 master, 2 slave, 3 full slave, 4-258 Genlock, burst = mode - 3) is set
BEFORE streaming (seeds/004, section 5), manual exposure, and global time off (rigsync maps the device clock
itself). A recording's options are what was recorded: they are read back and must match the plan.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyrealsense2 as rs

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.catalog.realsense import CLOCK, MODELS
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, StreamKind, TimestampSemantics
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers._realsense_frames import US_NS, Unwrapper, pick_stamp
from rigsync.drivers.base import (
    CaptureClock,
    Device,
    DeviceConfig,
    DeviceEvent,
    DeviceInfo,
    DeviceTiming,
    Driver,
    SystemClock,
)
from rigsync.drivers.queue import FrameQueue
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec

NAME = "realsense"
QUEUE_FRAMES = 64
"""Frames held for ``poll()`` per device (about a second of depth and colour at 30 fps)."""
LATENCY_UNCERTAINTY_NS = 1_000_000
"""Assumption: USB transfer and the SDK's callback thread vary a frame's arrival by up to ~1 ms."""
STARTUP_NS = 200_000_000
"""Assumption: sensor start-up from ``start()`` to the first exposure."""
RGB_EXPOSURE_UNIT_US = 100
"""The RGB Camera's ``exposure`` option counts 100 us units; the Stereo Module's counts microseconds."""

_STREAMS = {StreamKind.DEPTH: (rs.stream.depth, 0), StreamKind.COLOR: (rs.stream.color, 0),
            StreamKind.IR: (rs.stream.infrared, 1)}
_FORMATS = {"z16": rs.format.z16, "y8": rs.format.y8, "rgb8": rs.format.rgb8, "bgr8": rs.format.bgr8,
            "yuyv": rs.format.yuyv}
_MD = rs.frame_metadata_value
SYNC_MODE = rs.option.inter_cam_sync_mode

DeviceSource = Callable[[], Sequence[Any]]
"""Where live devices come from: ``rs.context().query_devices()``, or a test's software devices."""


def live_devices() -> Sequence[Any]:
    return list(rs.context().query_devices())


def _info(dev: Any, field: Any) -> str:
    return str(dev.get_info(field)) if dev.supports(field) else ""


def model_key(product_name: str) -> str:
    """The catalog key of a product name (``Intel RealSense D435I`` -> ``realsense-d435i``); "" if unknown."""
    wanted = product_name.strip().casefold()
    return next((m.key for m in MODELS if m.name.casefold() == wanted), "")


def device_info(dev: Any, connection: str | None = None) -> DeviceInfo:
    if connection is None:
        usb = _info(dev, rs.camera_info.usb_type_descriptor)
        port = _info(dev, rs.camera_info.physical_port)
        connection = " ".join(p for p in (f"usb {usb}" if usb else "", port) if p) or "usb"
    name = _info(dev, rs.camera_info.name)
    return DeviceInfo(driver=NAME, serial=_info(dev, rs.camera_info.serial_number), model=model_key(name),
                      name=name, connection=connection, firmware=_info(dev, rs.camera_info.firmware_version))


@dataclass(frozen=True)
class _Route:
    """Where one SDK stream's frames go."""

    stream: str
    encoding: str
    profile: Any


class RealSenseDevice(Device):
    """One opened camera or recording; its sensors are started directly, each with its own callback."""

    def __init__(self, dev: Any, info: DeviceInfo, *, playback: Any = None, keep: tuple[Any, ...] = (),
                 queue_frames: int = QUEUE_FRAMES) -> None:
        self.info = info
        self._dev = dev
        self._playback = playback
        self._keep = keep  # the playback's pipeline and config live as long as the device
        self._queue_frames = queue_frames
        self._config: DeviceConfig | None = None
        self._routes: dict[tuple[Any, int], _Route] = {}
        self._running: list[Any] = []
        self._queue = FrameQueue(queue_frames)
        self._readout_ns = 0

    def _error(self, problem: str, fix: str | None = None) -> DriverError:
        return DriverError(NAME, self.info.serial, problem, fix)

    # -- configuration -------------------------------------------------------------------------------------
    def configure(self, config: DeviceConfig) -> None:
        if self._running:
            raise self._error("settings can only change while stopped", "stop() first")
        routes: dict[tuple[Any, int], _Route] = {}
        model = get_model(config.model)
        for s in config.streams:
            stream, index = _STREAMS[s.kind]
            fmt = model.pixel_format(s.pixel_format)
            profile = self._profile(stream, index, s.pixel_format, s.width, s.height, s.fps)
            routes[(stream, index)] = _Route(s.name, fmt.encoding if fmt is not None else "rgb8", profile)
        self._apply_options(config)
        self._routes = routes
        self._config = config
        self._readout_ns = round(model.readout_us * US_NS) if model.vendor is Vendor.INTEL else 0

    def _profile(self, stream: Any, index: int, pixel_format: str, width: int, height: int, fps: float) -> Any:
        fmt = _FORMATS.get(pixel_format)
        offered = []
        for sensor in self._dev.query_sensors():
            for p in sensor.get_stream_profiles():
                if p.stream_type() != stream or p.stream_index() != index or not p.is_video_stream_profile():
                    continue
                v = p.as_video_stream_profile()
                offered.append(f"{v.width()}x{v.height()} {v.format().name} {v.fps()} fps")
                if (v.format() == fmt and v.width() == width and v.height() == height
                        and abs(v.fps() - fps) < 1e-6):
                    return v
        raise self._error(f"no {stream.name} stream {width}x{height} {pixel_format} at {fps:g} fps",
                          f"the device offers {', '.join(offered) or 'no such stream'}")

    def _wanted_options(self, config: DeviceConfig) -> list[tuple[str, Any, float]]:
        """(sensor name, option, value) in the order they are applied."""
        try:
            mode = int(config.sync.vendor_role)
        except ValueError:
            raise self._error(f"plan role {config.sync.vendor_role!r} is not an inter_cam_sync_mode number",
                              "0 default, 1 master, 2 slave, 3 full slave, 4-258 Genlock") from None
        wanted: list[tuple[str, Any, float]] = [("Stereo Module", rs.option.global_time_enabled, 0.0),
                                                ("RGB Camera", rs.option.global_time_enabled, 0.0),
                                                ("Stereo Module", SYNC_MODE, float(mode))]
        for s in config.streams:
            if s.exposure_us is None:
                continue
            sensor = "RGB Camera" if s.kind is StreamKind.COLOR else "Stereo Module"
            units = max(1, round(s.exposure_us / RGB_EXPOSURE_UNIT_US)) if sensor == "RGB Camera" else s.exposure_us
            wanted += [(sensor, rs.option.enable_auto_exposure, 0.0), (sensor, rs.option.exposure, float(units))]
        return wanted

    def _apply_options(self, config: DeviceConfig) -> None:
        sensors = {_info(s, rs.camera_info.name): s for s in self._dev.query_sensors()}
        for sensor_name, option, value in self._wanted_options(config):
            sensor = sensors.get(sensor_name)
            needed = option != rs.option.global_time_enabled and not (option == SYNC_MODE and value == 0)
            if sensor is None or not sensor.supports(option):
                if needed and (sensor is not None or option == SYNC_MODE):
                    raise self._error(f"{sensor_name} has no option {option.name} (the plan needs {value:g})",
                                      "a D400 camera with firmware 5.9.15 or later")
                continue
            recorded = self._playback is not None or sensor.is_option_read_only(option)
            if recorded and option == rs.option.global_time_enabled:
                continue  # a recording's stamps come from the hardware counter's metadata either way
            if not recorded:
                try:
                    sensor.set_option(option, value)
                except RuntimeError as err:
                    raise self._error(f"{sensor_name} refused {option.name} = {value:g}: {err}") from None
            got = sensor.get_option(option)
            if got != value:
                what = "recorded" if recorded else "read back"
                raise self._error(f"{sensor_name} {option.name} {what} as {got:g}, the plan wants {value:g}",
                                  "record the camera with the plan's settings" if recorded else None)

    def readback(self) -> dict[str, str]:
        """The inter-cam sync mode as the device reports it (a recording: as recorded), for ``rigsync check``."""
        for sensor in self._dev.query_sensors():
            if sensor.supports(SYNC_MODE):
                return {SYNC_MODE.name: f"{sensor.get_option(SYNC_MODE):g}"}
        return {}

    def settings(self) -> dict[str, dict[str, float]]:
        """Every option of every sensor as the device reports it now (a recording: as recorded)."""
        return {_info(s, rs.camera_info.name): {o.name: s.get_option(o) for o in s.get_supported_options()}
                for s in self._dev.query_sensors()}

    # -- streaming -----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._config is None:
            raise self._error("not configured", "call configure() before start()")
        if self._running:
            return
        self._queue = FrameQueue(self._queue_frames)
        receiver = _Receiver(self._config.device_id, self._queue, self._readout_ns,
                             {key: (r.stream, r.encoding) for key, r in self._routes.items()})
        by_sensor: dict[str, tuple[Any, list[Any]]] = {}
        for route in self._routes.values():
            for sensor in self._dev.query_sensors():
                if any(p.unique_id() == route.profile.unique_id() for p in sensor.get_stream_profiles()):
                    by_sensor.setdefault(_info(sensor, rs.camera_info.name), (sensor, []))[1].append(route.profile)
        try:
            for sensor, profiles in by_sensor.values():
                sensor.open(profiles)
            if self._playback is not None:
                self._playback.pause()  # no recorded frame plays before every sensor has its callback
            for sensor, _ in by_sensor.values():
                sensor.start(receiver)
                self._running.append(sensor)
            if self._playback is not None:
                self._playback.resume()
        except RuntimeError as err:
            self.stop()
            raise self._error(f"could not start streaming: {err}") from None

    def poll(self) -> list[Frame | DeviceEvent]:
        return self._queue.take()

    def intrinsics(self, stream: str) -> Intrinsics:
        for route in self._routes.values():
            if route.stream == stream:
                k = route.profile.get_intrinsics()
                return Intrinsics(k.width, k.height, k.fx, k.fy, k.ppx, k.ppy, "plumb_bob",
                                  tuple(float(c) for c in k.coeffs))
        raise self._error(f"no configured stream {stream!r}")

    def timing(self) -> DeviceTiming:
        return DeviceTiming(ClockDomain.DEVICE, CLOCK.tick_ns, LATENCY_UNCERTAINTY_NS, startup_ns=STARTUP_NS)

    def stop(self) -> None:
        running, self._running = self._running, []
        for sensor in running:
            for step in (sensor.stop, sensor.close):
                with contextlib.suppress(RuntimeError):  # already stopped (a playback that reached its end)
                    step()

    def close(self) -> None:
        self.stop()
        self._keep = ()
        self._playback = None


class _Receiver:
    """The sensors' frame callback. It holds only the queue and the stream routes, never the SDK device: the SDK
    may drop its last reference on its own thread, and a device destroyed there would join that very thread."""

    def __init__(self, device_id: str, queue: FrameQueue, readout_ns: int,
                 routes: dict[tuple[Any, int], tuple[str, str]]) -> None:
        self._device_id = device_id
        self._queue = queue
        self._readout_ns = readout_ns
        self._routes = routes
        self._unwrap = {stream: Unwrapper() for stream, _ in routes.values()}

    def __call__(self, f: Any) -> None:
        """SDK callback thread: stamp the arrival first, then build the frame and queue it."""
        host_rx_ns = time.monotonic_ns()
        p = f.get_profile()
        route = self._routes.get((p.stream_type(), p.stream_index()))
        if route is None:
            return
        stream, encoding = route
        md = _metadata(f)
        stamp = pick_stamp(md(_MD.sensor_timestamp), md(_MD.frame_timestamp))
        if stamp is None:  # no metadata: the frame timestamp (hardware clock, ms) is the start of readout
            stamp = pick_stamp(None, round(f.get_timestamp() * 1_000))
        assert stamp is not None
        counter = md(_MD.frame_counter)
        exposure_us = md(_MD.actual_exposure)
        exposure_ns = exposure_us * US_NS if exposure_us is not None else None
        latency_ns = self._readout_ns
        if stamp.semantics is TimestampSemantics.CENTER_OF_EXPOSURE and exposure_ns is not None:
            latency_ns += exposure_ns // 2
        self._queue.put_frame(Frame(
            device=self._device_id, stream=stream, seq=counter if counter is not None else f.get_frame_number(),
            device_ts_ns=self._unwrap[stream](stamp.counter_us) * US_NS, host_rx_ns=host_rx_ns,
            semantics=stamp.semantics, domain=ClockDomain.DEVICE, min_latency_ns=max(latency_ns, 1),
            exposure_ns=exposure_ns, image=np.asanyarray(f.get_data()).copy(), encoding=encoding))


def _metadata(f: Any) -> Callable[[Any], int | None]:
    def read(key: Any) -> int | None:
        return int(f.get_frame_metadata(key)) if f.supports_frame_metadata(key) else None
    return read


class RealSenseDriver(Driver):
    """Live RealSense cameras, and the rig's recordings (``file = "cam1.db3"``) as devices."""

    name = NAME

    def __init__(self, rig: RigSpec, *, devices: DeviceSource = live_devices, real_time: bool = True,
                 queue_frames: int = QUEUE_FRAMES) -> None:
        self._rig = rig
        self._devices = devices
        self._real_time = real_time
        self._queue_frames = queue_frames
        self._clock = SystemClock()

    def _recordings(self) -> dict[str, Path]:
        """Rig serial -> recording path (relative paths from the rig file's folder)."""
        base = Path(self._rig.path).parent
        return {d.serial: base / d.file for d in self._rig.devices if d.driver == NAME and d.file is not None}

    def _playback(self, path: Path) -> tuple[Any, Any, Any]:
        """(device, playback, pipeline + config) of a recording, resolved through a real ``rs.pipeline``."""
        if not path.is_file():
            raise DriverError(NAME, None, f"recording {path} does not exist", "check the device's file in the rig")
        cfg = rs.config()
        cfg.enable_device_from_file(str(path), False)
        pipe = rs.pipeline()
        try:
            dev = cfg.resolve(rs.pipeline_wrapper(pipe)).get_device()
        except RuntimeError as err:
            raise DriverError(NAME, None, f"cannot play {path}: {err}", "a .db3 written by rs.recorder") from None
        playback = dev.as_playback()
        playback.set_real_time(self._real_time)
        return dev, playback, (pipe, cfg)

    def discover(self) -> list[DeviceInfo]:
        found = [device_info(d) for d in self._devices()]
        for path in self._recordings().values():
            found.append(device_info(self._playback(path)[0], connection=f"file {path}"))
        return found

    def open(self, serial: str) -> RealSenseDevice:
        live = list(self._devices())
        for dev in live:
            if _info(dev, rs.camera_info.serial_number) == serial:
                return RealSenseDevice(dev, device_info(dev), queue_frames=self._queue_frames)
        path = self._recordings().get(serial)
        if path is not None:
            dev, playback, keep = self._playback(path)
            info = device_info(dev, connection=f"file {path}")
            if info.serial != serial:
                raise DriverError(NAME, serial, f"recording {path} holds device {info.serial or '(no serial)'}",
                                  "give the rig device the recorded serial")
            return RealSenseDevice(dev, info, playback=playback, keep=keep, queue_frames=self._queue_frames)
        seen = [_info(d, rs.camera_info.serial_number) for d in live] + sorted(self._recordings())
        raise DriverError(NAME, serial, "no RealSense camera or recording has this serial",
                          f"found {', '.join(seen)}" if seen else "no RealSense camera is connected")

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> RealSenseDriver:
    """The registry's entry point (``driver = "realsense"`` in a rig file)."""
    return RealSenseDriver(rig)
