"""Intel RealSense D400 cameras through pyrealsense2 (the only module that imports it): live devices, and
recordings (``.db3`` written by ``rs.recorder``) played back through ``rs.pipeline`` standing in for a camera.

Frames come from each sensor's own callback (every frame reaches rigsync's aligner; the SDK's syncer never sees
them) into a bounded queue that ``poll()`` empties. Settings are applied only while stopped and read back:
``inter_cam_sync_mode`` (0 default, 1 master, 2 slave, 3 full slave, 4-258 Genlock, burst = mode - 3) is set
BEFORE streaming (seeds/004, section 5), manual exposure, and global time off (rigsync maps the device clock
itself). A recording's options are what was recorded: they are read back and must match the plan.

Depth is recorded in millimetres: the depth sensor's ``depth_units`` is set to 0.001 where it can be; where it
cannot (read-only, out of range, a recording), each depth frame is converted from the unit it carries
(``_realsense_depth``). A depth sensor without ``depth_units`` is refused (its values' unit is unknown).

The driver holds the SDK context its live cameras come from and watches it (``set_devices_changed_callback``): a
camera that disappears is a DISCONNECTED event (its sensors stopped); when a camera of that serial is added again
it is opened, configured from the plan (read back) and restarted if it was streaming: RECONNECTED, its counters
and stamps starting afresh, the first frame of each stream flagged AFTER_RECONNECT. A recording played to its end
is DISCONNECTED too (nothing more will come), as a webcam's video file is.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrealsense2 as rs

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.catalog.realsense import CLOCK, MODELS
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, StreamKind
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers._realsense_depth import MM_UM, DepthUnit, settable_to_mm, unit_text, unit_um
from rigsync.drivers._realsense_frames import US_NS
from rigsync.drivers._realsense_options import GLOBAL_TIME, wanted_options
from rigsync.drivers._realsense_receiver import MetadataKeys, SensorReceiver, StreamReceiver
from rigsync.drivers._realsense_watch import DeviceWatch, PlaybackEnd, ignore_status
from rigsync.drivers.base import (
    CaptureClock,
    Device,
    DeviceConfig,
    DeviceEvent,
    DeviceInfo,
    DeviceTiming,
    Driver,
    EventKind,
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

_STREAMS = {StreamKind.DEPTH: (rs.stream.depth, 0), StreamKind.COLOR: (rs.stream.color, 0),
            StreamKind.IR: (rs.stream.infrared, 1)}
_FORMATS = {"z16": rs.format.z16, "y8": rs.format.y8, "rgb8": rs.format.rgb8, "bgr8": rs.format.bgr8,
            "yuyv": rs.format.yuyv}
_MD = rs.frame_metadata_value
SYNC_MODE = rs.option.inter_cam_sync_mode
DEPTH_UNITS = rs.option.depth_units


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
    """One opened camera or recording; its sensors are started directly, each with its own callback.

    A live camera follows the SDK's device changes (:meth:`devices_changed`, from the driver's context): removed,
    it is DISCONNECTED and its sensors stopped; back (a camera of its serial added), it is opened again,
    configured as before (read back), restarted if it was streaming, and RECONNECTED. Each change is handled on a
    thread of its own, after the one before, so the SDK's thread never waits on a device. A camera that comes back
    refusing the plan's settings stays disconnected (its next return is tried again)."""

    def __init__(self, dev: Any, info: DeviceInfo, *, playback: Any = None, keep: tuple[Any, ...] = (),
                 queue_frames: int = QUEUE_FRAMES, watch: DeviceWatch | None = None) -> None:
        self.info = info
        self._dev = dev
        self._playback = playback
        self._keep = keep  # the playback's pipeline and config live as long as the device
        self._queue_frames = queue_frames
        self._watch = watch
        self._config: DeviceConfig | None = None
        self._routes: dict[tuple[Any, int], _Route] = {}
        self._depth_unit: DepthUnit | None = None
        self._running: list[Any] = []
        self._queue = FrameQueue(queue_frames)
        self._readout_ns = 0
        self._lock = threading.RLock()  # the caller's calls and the device-change threads, one at a time
        self._change: threading.Thread | None = None
        self._change_lock = threading.Lock()
        self._gone = False
        self._resume = False  # streaming when it went: restart when it is back
        self._closed = False
        self._end = PlaybackEnd(rs.playback_status.stopped)

    def _error(self, problem: str, fix: str | None = None) -> DriverError:
        return DriverError(NAME, self.info.serial, problem, fix)

    @property
    def _device_id(self) -> str:
        return self._config.device_id if self._config is not None else self.info.serial

    # -- configuration -------------------------------------------------------------------------------------
    def configure(self, config: DeviceConfig) -> None:
        with self._lock:
            if self._running:
                raise self._error("settings can only change while stopped", "stop() first")
            if self._gone:
                raise self._error("disconnected", "plug the camera back in")
            self._configure(config)

    def _configure(self, config: DeviceConfig) -> None:
        routes: dict[tuple[Any, int], _Route] = {}
        model = get_model(config.model)
        for s in config.streams:
            stream, index = _STREAMS[s.kind]
            fmt = model.pixel_format(s.pixel_format)
            profile = self._profile(stream, index, s.pixel_format, s.width, s.height, s.fps)
            routes[(stream, index)] = _Route(s.name, fmt.encoding if fmt is not None else "rgb8", profile)
        self._apply_options(config)
        depth = routes.get((rs.stream.depth, 0))
        self._depth_unit = self._depth_units(depth.profile) if depth is not None else None
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

    def _apply_options(self, config: DeviceConfig) -> None:
        sensors = {_info(s, rs.camera_info.name): s for s in self._dev.query_sensors()}
        for want in wanted_options(config):
            sensor, option, value = sensors.get(want.sensor), getattr(rs.option, want.option), want.value
            if sensor is None or not sensor.supports(option):
                if want.needed and (sensor is not None or option == SYNC_MODE):
                    raise self._error(f"{want.sensor} has no option {want.option} (the plan needs {value:g})",
                                      "a D400 camera with firmware 5.9.15 or later")
                continue
            recorded = self._playback is not None or sensor.is_option_read_only(option)
            if recorded and want.option == GLOBAL_TIME:
                continue  # a recording's stamps come from the hardware counter's metadata either way
            if not recorded:
                try:
                    sensor.set_option(option, value)
                except RuntimeError as err:
                    raise self._error(f"{want.sensor} refused {want.option} = {value:g}: {err}") from None
            got = sensor.get_option(option)
            if got != value:
                what = "recorded" if recorded else "read back"
                raise self._error(f"{want.sensor} {want.option} {what} as {got:g}, the plan wants {value:g}",
                                  "record the camera with the plan's settings" if recorded else None)

    def _sensor_of(self, profile: Any) -> Any:
        return next(s for s in self._dev.query_sensors()
                    if any(p.unique_id() == profile.unique_id() for p in s.get_stream_profiles()))

    def _depth_units(self, profile: Any) -> DepthUnit:
        """``depth_units`` of the sensor streaming ``profile`` set to 0.001 (1 mm) where the sensor allows it, and
        the unit read back (``get_depth_scale``); where it cannot be set, the unit its frames are converted from."""
        sensor = self._sensor_of(profile)
        name = _info(sensor, rs.camera_info.name)
        if not sensor.supports(DEPTH_UNITS):
            raise self._error(f"{name} has no option depth_units: the unit of its depth values is unknown",
                              "a D400 camera (librealsense reports depth_units on every D400 depth sensor)")
        if self._playback is not None:
            reason = "recorded so (a recording cannot be written)"
        else:
            r = sensor.get_option_range(DEPTH_UNITS)
            reason = settable_to_mm(sensor.is_option_read_only(DEPTH_UNITS), r.min, r.max)
        if not reason:
            try:
                sensor.set_option(DEPTH_UNITS, MM_UM / 1e6)
            except RuntimeError as err:
                reason = f"the camera refused depth_units = 0.001 ({err})"
        um = unit_um(sensor.as_depth_sensor().get_depth_scale())
        if um <= 0:
            raise self._error(f"{name} reports depth_units = {unit_text(um)}: the unit of its depth values is unknown",
                              "a D400 camera (depth_units 0.000001 to 0.01 m)")
        if not reason and um != MM_UM:
            reason = f"read back as {unit_text(um)} after setting 0.001"
        return DepthUnit(um, reason)

    def readback(self) -> dict[str, str]:
        """The inter-cam sync mode and the depth sensor's ``depth_units`` as the device reports them now (a
        recording: as recorded), for ``rigsync check``; a depth unit other than 0.001 says why and that depth is
        converted to mm, one that changed since configure says both."""
        found: dict[str, str] = {}
        for sensor in self._dev.query_sensors():
            if sensor.supports(SYNC_MODE):
                found[SYNC_MODE.name] = f"{sensor.get_option(SYNC_MODE):g}"
                break
        depth = self._routes.get((rs.stream.depth, 0))
        if depth is not None and self._depth_unit is not None:
            now = unit_um(self._sensor_of(depth.profile).as_depth_sensor().get_depth_scale())
            configured = self._depth_unit
            found[DEPTH_UNITS.name] = configured.readback() if now == configured.um else (
                f"{unit_text(now)} (configured as {unit_text(configured.um)}; depth converted to mm on the host from "
                "each frame's own unit)")
        return found

    def settings(self) -> dict[str, dict[str, float]]:
        """Every option of every sensor as the device reports it now (a recording: as recorded)."""
        return {_info(s, rs.camera_info.name): {o.name: s.get_option(o) for o in s.get_supported_options()}
                for s in self._dev.query_sensors()}

    # -- streaming -----------------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._config is None:
                raise self._error("not configured", "call configure() before start()")
            if self._gone:
                raise self._error("disconnected", "plug the camera back in")
            if self._running:
                return
            self._queue = FrameQueue(self._queue_frames)
            self._start()

    def _start(self, *, after_reconnect: bool = False) -> None:
        """Each sensor opened with its configured profiles and started with its receiver (a sensor with one
        stream gets that stream's receiver itself)."""
        assert self._config is not None
        keys = MetadataKeys(_MD.sensor_timestamp, _MD.frame_timestamp, _MD.frame_counter, _MD.actual_exposure)
        by_sensor: dict[str, tuple[Any, dict[tuple[Any, int], _Route]]] = {}
        for key, route in self._routes.items():
            for sensor in self._dev.query_sensors():
                if any(p.unique_id() == route.profile.unique_id() for p in sensor.get_stream_profiles()):
                    by_sensor.setdefault(_info(sensor, rs.camera_info.name), (sensor, {}))[1][key] = route
        if self._playback is not None:
            self._end = PlaybackEnd(rs.playback_status.stopped)
            self._playback.set_status_changed_callback(self._end)
        try:
            started = []
            for sensor, routes in by_sensor.values():
                sensor.open([r.profile for r in routes.values()])
                receivers = {key: StreamReceiver(self._config.device_id, r.stream, r.encoding, self._queue,
                                                 self._readout_ns, keys, after_reconnect=after_reconnect,
                                                 depth_um=self._depth_unit.um if key == (rs.stream.depth, 0)
                                                 and self._depth_unit is not None else None)
                             for key, r in routes.items()}
                started.append((sensor, next(iter(receivers.values())) if len(receivers) == 1
                                else SensorReceiver(receivers)))
            if self._playback is not None:
                self._playback.pause()  # no recorded frame plays before every sensor has its callback
            for sensor, receiver in started:
                sensor.start(receiver)
                self._running.append(sensor)
            if self._playback is not None:
                self._playback.resume()
        except RuntimeError as err:
            self._stop_sensors()
            raise self._error(f"could not start streaming: {err}") from None

    def poll(self) -> list[Frame | DeviceEvent]:
        if self._end.ended and self._running:  # a recording played to its end: nothing more will come
            with self._lock:
                self._stop_sensors()  # its last frames are queued before the event
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.DISCONNECTED, time.monotonic_ns()))
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
        with self._lock:
            self._resume = False
            self._stop_sensors()

    def _stop_sensors(self) -> None:
        running, self._running = self._running, []
        for sensor in running:
            for step in (sensor.stop, sensor.close):
                with contextlib.suppress(RuntimeError):  # already stopped (a playback at its end, a removed camera)
                    step()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.stop()
            if self._watch is not None:
                self._watch.discard(self)
            if self._playback is not None:
                self._playback.set_status_changed_callback(ignore_status)
            self._keep = ()
            self._playback = None
        change = self._change
        if change is not None and change is not threading.current_thread():
            change.join()

    # -- device changes --------------------------------------------------------------------------------------
    def devices_changed(self, event: Any, host_ns: int) -> None:
        """The SDK's device-watcher thread: ``event`` (``rs.event_information``) removed this camera, or added one
        of its serial. Handed to a thread of its own that runs after the previous change's."""
        dev = self._dev
        removed = event.was_removed(dev)
        back = [d for d in event.get_new_devices() if _info(d, rs.camera_info.serial_number) == self.info.serial]
        if not removed and not back:
            return
        with self._change_lock:
            change = threading.Thread(target=self._follow, args=(self._change, host_ns, dev if removed else None,
                                                                 back[0] if back else None),
                                      name=f"realsense-{self.info.serial}", daemon=True)
            self._change = change
        change.start()

    def _follow(self, previous: threading.Thread | None, host_ns: int, removed: Any, back: Any) -> None:
        if previous is not None:
            previous.join()
        with self._lock:
            if self._closed:
                return
            if removed is not None and removed is self._dev and not self._gone:
                self._gone, self._resume = True, bool(self._running)
                self._stop_sensors()
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.DISCONNECTED, host_ns))
            if back is not None and self._gone:
                self._reopen(back)

    def _reopen(self, dev: Any) -> None:
        """The camera is back: configured from the plan as before, RECONNECTED, restarted if it was streaming
        (its frames after the event, counters and unwrapping afresh, each stream's first frame flagged)."""
        self._dev = dev
        try:
            if self._config is not None:
                self._configure(self._config)
        except DriverError:
            return  # it refuses the plan's settings: still disconnected
        self._gone = False
        self._queue.put_event(DeviceEvent(self._device_id, EventKind.RECONNECTED, time.monotonic_ns()))
        if self._resume:
            try:
                self._start(after_reconnect=True)
            except DriverError:
                self._gone = True
                self._queue.put_event(DeviceEvent(self._device_id, EventKind.DISCONNECTED, time.monotonic_ns()))


class RealSenseDriver(Driver):
    """Live RealSense cameras, and the rig's recordings (``file = "cam1.db3"``) as devices."""

    name = NAME

    def __init__(self, rig: RigSpec, *, context: Any = None, real_time: bool = True,
                 queue_frames: int = QUEUE_FRAMES) -> None:
        """``context``: where live cameras come from and where their changes are watched (an ``rs.context``,
        made on first use if None; a test's stand-in)."""
        self._rig = rig
        self._context = context
        self._watch: DeviceWatch | None = None
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

    def _live(self) -> list[Any]:
        if self._context is None:
            self._context = rs.context()
        return list(self._context.query_devices())

    def _watched(self) -> DeviceWatch:
        """The watch over the context's device changes, registered with it when the first camera opens (the
        context must live as long as its callback is wanted: the driver holds it)."""
        if self._watch is None:
            self._watch = DeviceWatch()
            self._context.set_devices_changed_callback(self._watch)
        return self._watch

    def discover(self) -> list[DeviceInfo]:
        found = [device_info(d) for d in self._live()]
        for path in self._recordings().values():
            found.append(device_info(self._playback(path)[0], connection=f"file {path}"))
        return found

    def open(self, serial: str) -> RealSenseDevice:
        live = self._live()
        for dev in live:
            if _info(dev, rs.camera_info.serial_number) == serial:
                watch = self._watched()
                device = RealSenseDevice(dev, device_info(dev), queue_frames=self._queue_frames, watch=watch)
                watch.add(device)
                return device
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
