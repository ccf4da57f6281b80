"""Orbbec cameras (Femto Bolt, Gemini 2) through pyorbbecsdk2 (OrbbecSDK v2): the only module importing it.

The device layer - ``Context``, the ``Device`` objects it finds and a ``Pipeline`` per device - is a seam
(:class:`OrbbecApi`): the real SDK's in use, a strict fake in the tests (no camera is attached to CI). Everything
else is the SDK's own: ``OBMultiDeviceSyncConfig`` and its modes, stream ``Config``, and the ``Frame`` objects
the pipeline's callback delivers.

Configuration (seeds/002): the sync fields are the plan's, computed by the same function that writes
``multi_device_sync_config.json`` (:func:`rigsync.plan.emit.orbbec.device_sync_config`), set while stopped
after checking the mode against the device's supported-mode bitmap, and read back from the device. The context
re-syncs device clocks to the host every 60 s (``enable_multi_device_sync(60000)``) and stamps frames' system
timestamps on CLOCK_MONOTONIC, the clock of ``Frame.host_rx_ns``.

Frames: device timestamps in microseconds (``get_timestamp_us``) become ``device_ts_ns``; the system timestamp
(the SDK's host receive time) becomes ``host_rx_ns``. The callback fills a bounded queue; ``poll()`` never
blocks; a full queue drops the frame and reports OVERRUN with its number; a device-changed callback that
removes the device reports DISCONNECTED; when it comes back, the next ``poll()`` re-configures it from the plan,
restarts its stream if it was running and reports RECONNECTED (frame numbers restart, as its clock does).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel
from rigsync.catalog.orbbec import MODELS
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind
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
from rigsync.drivers.pixels import ENCODINGS, decode_pixels
from rigsync.drivers.queue import FrameQueue
from rigsync.plan.emit.orbbec import device_sync_config
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """The SDK's native library prints a line on stdout when it loads: keep rigsync's stdout (JSON) clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


with _stdout_to_stderr():
    import pyorbbecsdk as ob

    # The SDK otherwise writes a Log/ directory into whatever directory rigsync runs in.
    ob.Context.set_logger_to_file(ob.OBLogLevel.NONE, "")

NAME = "orbbec"
RESYNC_INTERVAL_MS = 60_000
"""Device clocks re-synced to the host this often (seeds/002: ``ctx.enable_multi_device_sync(60000)``)."""
QUEUE_FRAMES = 64
"""Frames held per device until ``poll()`` takes them; further frames are dropped and reported (OVERRUN)."""
USB_LATENCY_UNCERTAINTY_NS = 2_000_000
"""How far the nominal readout + USB transfer delay may be off (modelling value, as for other USB cameras)."""
FREE_MODES = frozenset({"FREE_RUN", "STANDALONE"})
"""Modes in which the device free-runs (its timestamps follow the catalog's free-running semantics)."""

SENSORS = {StreamKind.COLOR: "COLOR", StreamKind.DEPTH: "DEPTH", StreamKind.IR: "IR"}
"""rigsync stream kind -> the SDK's ``OBSensorType`` / ``OBFrameType`` prefix."""
FORMATS = {"bgra8": "BGRA", "mjpeg": "MJPG", "yuyv": "YUYV", "nv12": "NV12", "z16": "Z16", "y16": "Y16",
           "rgb8": "RGB", "y8": "Y8"}
"""Catalog pixel format -> ``OBFormat``."""


@dataclass(frozen=True)
class OrbbecApi:
    """The SDK's device layer: a context and how a pipeline is made for a device (a fake in tests)."""

    context: Any
    pipeline: Callable[[Any], Any]

    @classmethod
    def real(cls) -> OrbbecApi:
        return cls(ob.Context(), ob.Pipeline)


def model_key(sdk_name: str) -> str:
    """The catalog key of a device the SDK names (``Orbbec Femto Bolt``, ``Gemini 2``), or ``""`` for a model
    rigsync does not know (a Gemini 2 L is not a Gemini 2)."""
    name = sdk_name.strip().lower().removeprefix("orbbec ")
    return next((m.key for m in MODELS if m.name.lower().removeprefix("orbbec ") == name), "")


def supported_modes(bitmap: int) -> list[str]:
    """Names of the sync modes a ``get_supported_multi_device_sync_mode_bitmap`` value allows."""
    return [n for n, m in ob.OBMultiDeviceSyncMode.__members__.items() if bitmap & int(m)]


class OrbbecDevice(Device):
    def __init__(self, driver: OrbbecDriver, sdk_device: Any, info: DeviceInfo) -> None:
        self.info = info
        self._driver = driver
        self._sdk = sdk_device
        self._model: CameraModel | None = get_model(info.model) if info.model else None
        self._config: DeviceConfig | None = None
        self._mode_name = ""
        self._pipeline: Any = None
        self._queue = FrameQueue(driver.queue_frames)
        self._seq: dict[str, int] = {}
        self._reconnected: set[str] = set()
        """Streams whose first frame since a reconnect is still to come (it is flagged AFTER_RECONNECT)."""
        """Frames the SDK delivered per stream since the device was opened (dropped ones included)."""
        self._open = True
        self._gone = False
        self._back: tuple[Any, int] | None = None
        """The device's new SDK handle and host time, when it came back after a disconnect (set by the SDK's
        hot-plug thread, acted on by ``poll()``)."""
        self._lock = threading.Lock()

    @property
    def _device_id(self) -> str:
        return self._config.device_id if self._config else self.info.serial

    def _error(self, problem: str, fix: str | None = None) -> DriverError:
        return DriverError(NAME, self.info.serial, problem, fix)

    def configure(self, config: DeviceConfig) -> None:
        if self._pipeline is not None:
            raise self._error("settings can only change while stopped", "stop() first")
        if self._model is None:
            raise self._error(f"model {self.info.name!r} is not in rigsync's catalog",
                              f"rigsync knows {', '.join(m.name for m in MODELS)}")
        for stream in config.streams:
            if stream.pixel_format not in FORMATS:
                raise self._error(f"stream {stream.name!r}: pixel format {stream.pixel_format!r} is not supported",
                                  f"use one of {', '.join(FORMATS)}")
        fields = device_sync_config(self.info.model, self._driver.plan.device(config.device_id))
        mode_name = str(fields["mode"])
        mode = ob.OBMultiDeviceSyncMode.__members__.get(mode_name)
        if mode is None:
            raise self._error(f"the plan's sync mode {mode_name!r} is not an OBMultiDeviceSyncMode",
                              f"the SDK has {', '.join(ob.OBMultiDeviceSyncMode.__members__)}")
        bitmap = self._sdk.get_supported_multi_device_sync_mode_bitmap()
        if not bitmap & int(mode):
            raise self._error(f"sync mode {mode_name} is not supported by this {self.info.name} "
                              f"(it supports {', '.join(supported_modes(bitmap)) or 'none'})",
                              "give the device a role its model supports, or update its firmware")
        sync = ob.OBMultiDeviceSyncConfig()
        sync.mode = mode
        for key, value in fields.items():
            if key != "mode":
                setattr(sync, key, value)
        self._sdk.set_multi_device_sync_config(sync)
        self._config = config
        self._mode_name = mode_name

    def readback(self) -> dict[str, str]:
        """``OBMultiDeviceSyncConfig`` as the device reports it (mode by its SDK name), and its supported modes."""
        if self._config is None:
            return {}
        sync = self._sdk.get_multi_device_sync_config()
        fields = ("depth_delay_us", "color_delay_us", "trigger_to_image_delay_us", "trigger_out_enable",
                  "trigger_out_delay_us", "frames_per_trigger")
        supported = supported_modes(self._sdk.get_supported_multi_device_sync_mode_bitmap())
        return {"mode": sync.mode.name, **{f: str(getattr(sync, f)) for f in fields},
                "supported_modes": " ".join(supported)}

    def _stream_config(self) -> Any:
        assert self._config is not None
        config = ob.Config()
        for s in self._config.streams:
            config.enable_video_stream(getattr(ob.OBSensorType, f"{SENSORS[s.kind]}_SENSOR"), s.width, s.height,
                                       round(s.fps), getattr(ob.OBFormat, FORMATS[s.pixel_format]))
        return config

    def start(self) -> None:
        if self._config is None:
            raise self._error("not configured", "call configure() before start()")
        if self._pipeline is not None:
            return
        pipeline = self._driver.api.pipeline(self._sdk)
        try:
            pipeline.start(self._stream_config(), self._on_frames)
        except ob.OBError as err:
            raise self._error(f"the pipeline did not start: {err}", "check the stream modes against the "
                              "device's profiles and that no other program holds the device") from None
        self._pipeline = pipeline

    def _on_frames(self, frames: Any) -> None:
        """The SDK's callback thread: convert and queue; never raise into the SDK."""
        assert self._config is not None
        for stream in self._config.streams:
            frame = frames.get_frame(getattr(ob.OBFrameType, f"{SENSORS[stream.kind]}_FRAME"))
            if frame is not None:
                self._queue.put_frame(self._convert(stream, frame.as_video_frame()))

    def _convert(self, stream: StreamConfig, frame: Any) -> Frame:
        assert self._model is not None
        seq = self._seq.get(stream.name, -1) + 1
        self._seq[stream.name] = seq
        flags = FrameFlags.NONE
        if stream.name in self._reconnected:
            self._reconnected.discard(stream.name)
            flags = FrameFlags.AFTER_RECONNECT
        image = decode_pixels(frame.get_data(), stream.pixel_format, frame.get_width(), frame.get_height())
        if image is None:
            flags |= FrameFlags.CORRUPT
        exposure_ns = stream.exposure_us * 1000 if stream.exposure_us is not None else None
        semantics = (self._model.clock.semantics_free if self._mode_name in FREE_MODES
                     else self._model.clock.semantics_synced)
        return Frame(device=self._device_id, stream=stream.name,
                     seq=seq, device_ts_ns=frame.get_timestamp_us() * 1000,
                     host_rx_ns=frame.get_system_timestamp_us() * 1000, semantics=semantics,
                     domain=ClockDomain.DEVICE, min_latency_ns=self._model.readout_ns + (exposure_ns or 0),
                     exposure_ns=exposure_ns, image=image,
                     encoding=ENCODINGS[stream.pixel_format], flags=flags)

    def on_removed(self, host_ns: int) -> None:
        with self._lock:
            self._gone, self._back = True, None
        self._queue.put_event(DeviceEvent(self._device_id, EventKind.DISCONNECTED, host_ns))

    def on_added(self, sdk_device: Any, host_ns: int) -> None:
        with self._lock:
            if self._gone:
                self._back = (sdk_device, host_ns)

    def _reconnect(self) -> None:
        """The device came back (power-cycled: its clock and frame counters restarted): re-configure it from the
        plan, restart its stream if it was running, and say so."""
        with self._lock:
            back, self._back = self._back, None
        if back is None:
            return
        running = self._pipeline is not None
        self.stop()
        self._sdk, self._gone = back[0], False
        self._seq = {}
        if self._config is not None:
            self.configure(self._config)
            self._reconnected = {s.name for s in self._config.streams}
        self._queue.put_event(DeviceEvent(self._device_id, EventKind.RECONNECTED, back[1]))
        if running:
            self.start()

    def poll(self) -> list[Frame | DeviceEvent]:
        self._reconnect()
        return self._queue.take()

    def intrinsics(self, stream: str) -> Intrinsics:
        spec = next((s for s in self._config.streams if s.name == stream), None) if self._config else None
        if spec is None or self._model is None:
            raise self._error(f"no configured stream {stream!r}")
        return Intrinsics.from_hfov(spec.width, spec.height, self._model.hfov_for(spec.kind))

    def timing(self) -> DeviceTiming:
        tick_ns = self._model.clock.tick_ns if self._model else 1_000
        return DeviceTiming(ClockDomain.DEVICE, tick_ns, USB_LATENCY_UNCERTAINTY_NS)

    def stop(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except ob.OBError:
                if not self._gone:
                    raise

    def close(self) -> None:
        if self._open:
            self._open = False
            self.stop()
            self._driver.forget(self)


class OrbbecDriver(Driver):
    """Orbbec devices the SDK's context finds, opened by serial."""

    name = NAME

    def __init__(self, rig: RigSpec, plan: Plan, api: OrbbecApi, clock: CaptureClock | None = None,
                 queue_frames: int = QUEUE_FRAMES) -> None:
        self.rig = rig
        self.plan = plan
        self.api = api
        self.queue_frames = queue_frames
        self._clock = clock or SystemClock()
        self._ready = False
        self._opened: dict[str, OrbbecDevice] = {}

    def _context(self) -> Any:
        """The SDK's context, set up once: monotonic system timestamps, periodic clock re-sync, hot-plug."""
        ctx = self.api.context
        if not self._ready:
            ctx.set_timestamp_clock_type(ob.OBClockType.MONOTONIC)
            ctx.enable_multi_device_sync(RESYNC_INTERVAL_MS)
            ctx.set_device_changed_callback(self._on_device_changed)
            self._ready = True
        return ctx

    def _on_device_changed(self, removed: Any, added: Any) -> None:
        now_ns = self._clock.now_ns()
        for i in range(removed.get_count()):
            device = self._opened.get(removed.get_device_serial_number_by_index(i))
            if device is not None:
                device.on_removed(now_ns)
        for i in range(added.get_count()):
            device = self._opened.get(added.get_device_serial_number_by_index(i))
            if device is not None:
                device.on_added(added.get_device_by_index(i), now_ns)

    def _info(self, sdk_device: Any) -> DeviceInfo:
        info = sdk_device.get_device_info()
        name = info.get_name()
        return DeviceInfo(driver=NAME, serial=info.get_serial_number(), model=model_key(name), name=name,
                          connection=f"{info.get_connection_type()} (firmware {info.get_firmware_version()})")

    def discover(self) -> list[DeviceInfo]:
        """Every connected device (each opened briefly: the firmware version is only on the device)."""
        found = self._context().query_devices()
        return [self._info(found.get_device_by_index(i)) for i in range(found.get_count())]

    def open(self, serial: str) -> OrbbecDevice:
        """Only the device asked for is opened (others may be in another program's hands)."""
        found = self._context().query_devices()
        serials = [found.get_device_serial_number_by_index(i) for i in range(found.get_count())]
        if serial not in serials:
            raise DriverError(NAME, serial, "no Orbbec device with this serial is connected",
                              f"connected: {', '.join(serials) or 'none'}; check the USB cable and udev rules")
        sdk_device = found.get_device_by_index(serials.index(serial))
        device = OrbbecDevice(self, sdk_device, self._info(sdk_device))
        self._opened[serial] = device
        return device

    def forget(self, device: OrbbecDevice) -> None:
        self._opened.pop(device.info.serial, None)

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> OrbbecDriver:
    return OrbbecDriver(rig, plan, OrbbecApi.real())
