"""D435-like cameras made of librealsense's own software devices, and ``.db3`` recordings of them made with
``rs.recorder``, for the RealSense driver's tests. Import only after ``pytest.importorskip("pyrealsense2")``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyrealsense2 as rs

SENSOR_TS0_US = 4_294_000_000
"""First injected sensor timestamp: near the 32-bit wrap (2**32 us), so a recording of a second crosses it."""
READOUT_AFTER_CENTER_US = 4_250
"""FRAME_TIMESTAMP (start of readout) minus SENSOR_TIMESTAMP (middle of exposure) in the injected frames."""
EXPOSURE_US = 8_500


@dataclass(frozen=True)
class Stream:
    stream: Any
    index: int
    fmt: Any
    bpp: int
    sensor: str


DEPTH = Stream(rs.stream.depth, 0, rs.format.z16, 2, "Stereo Module")
COLOR = Stream(rs.stream.color, 0, rs.format.rgb8, 3, "RGB Camera")
W, H, FPS = 848, 480, 30
DEPTH_UNITS_RANGE = (0.000001, 0.01)
"""A D400's ``depth_units`` range in metres (librealsense's advanced-mode depth_scale_option: firmware min/max, step
0.000001, default 0.001)."""


def option_range(lo: float, hi: float, step: float, default: float) -> Any:
    """An ``rs.option_range`` built field by field: pyrealsense2 2.59.1's 4-argument constructor stores its step
    argument as the default and its default argument as the step (``option_range(1, 2, 3, 4)`` has step 4,
    default 3)."""
    r = rs.option_range()
    r.min, r.max, r.step, r.default = lo, hi, step, default
    return r


class SoftD435:
    """A software device that says it is a D435: a Stereo Module (depth) and an RGB Camera (colour) with the
    options the driver sets, each set explicitly after ``add_option`` (it would read 1.0 otherwise).

    ``depth_units`` (metres per z16 value; None: no such option) is the Stereo Module's, writable over
    ``depth_units_range`` or, with None, read-only (a camera without advanced mode). The writable option's step is
    0 here: a software sensor's option checks a value against its step in float32 (``fmod``) and refuses 0.001
    with the camera's step of 0.000001, which a real D400's depth_scale_option does not (it checks only the
    range)."""

    def __init__(self, serial: str, *, sync_mode: int = 0, name: str = "Intel RealSense D435",
                 metadata: tuple[Any, ...] = (rs.frame_metadata_value.sensor_timestamp,
                                              rs.frame_metadata_value.frame_timestamp),
                 depth_units: float | None = 0.001,
                 depth_units_range: tuple[float, float] | None = DEPTH_UNITS_RANGE) -> None:
        self.dev = rs.software_device()
        self.metadata = metadata
        for field, value in ((rs.camera_info.name, name), (rs.camera_info.serial_number, serial),
                             (rs.camera_info.firmware_version, "5.16.0.1"), (rs.camera_info.product_line, "D400"),
                             (rs.camera_info.usb_type_descriptor, "3.2")):
            self.dev.register_info(field, value)
        self.sensors: dict[str, Any] = {}
        self.profiles: dict[Any, Any] = {}
        for s in (DEPTH, COLOR):
            sensor = self.sensors.setdefault(s.sensor, self.dev.add_sensor(s.sensor))
            vs = rs.video_stream()
            vs.type, vs.index, vs.uid, vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = (
                s.stream, s.index, len(self.profiles), W, H, FPS, s.bpp, s.fmt)
            k = rs.intrinsics()
            k.width, k.height, k.fx, k.fy, k.ppx, k.ppy = W, H, 420.0, 421.0, 424.5, 239.5
            vs.intrinsics = k
            self.profiles[s.stream] = sensor.add_video_stream(vs)
        options = {"Stereo Module": ((rs.option.inter_cam_sync_mode, 0, 260, sync_mode),
                                     (rs.option.exposure, 1, 165_000, EXPOSURE_US),
                                     (rs.option.enable_auto_exposure, 0, 1, 1)),
                   "RGB Camera": ((rs.option.exposure, 1, 10_000, 156), (rs.option.enable_auto_exposure, 0, 1, 1))}
        for sensor_name, opts in options.items():
            for option, lo, hi, value in opts:
                self.sensors[sensor_name].add_option(option, rs.option_range(lo, hi, 1, 1), True)
                self.sensors[sensor_name].set_option(option, value)
            self.sensors[sensor_name].add_option(rs.option.global_time_enabled, rs.option_range(0, 1, 1, 1), True)
            self.sensors[sensor_name].set_option(rs.option.global_time_enabled, 1)
        stereo = self.sensors["Stereo Module"]
        if depth_units is None:
            pass
        elif depth_units_range is None:
            stereo.add_read_only_option(rs.option.depth_units, depth_units)
        else:
            stereo.add_option(rs.option.depth_units, option_range(*depth_units_range, 0.0, depth_units), True)

    def inject(self, s: Stream, i: int, pixels: np.ndarray | None = None) -> None:
        """Frame ``i`` (counter i + 1) of a stream, stamped ``sensor_ts_us(i)`` / ``frame_ts_us(i)``; its pixels
        ``pixels`` (H x W) or all ``i % 200``."""
        sensor = self.sensors[s.sensor]
        md = rs.frame_metadata_value
        values = {md.frame_counter: i + 1, md.sensor_timestamp: sensor_ts_us(i) % (1 << 32),
                  md.frame_timestamp: frame_ts_us(i) % (1 << 32), md.actual_exposure: EXPOSURE_US,
                  md.actual_fps: FPS * 1000}
        for key, value in values.items():
            if key in self.metadata or key not in (md.sensor_timestamp, md.frame_timestamp):
                sensor.set_metadata(key, value)
        f = rs.software_video_frame()
        shape = (H, W) if s.bpp == 2 else (H, W, 3)
        f.pixels = pixels if pixels is not None else np.full(shape, i % 200, np.uint16 if s.bpp == 2 else np.uint8)
        f.stride, f.bpp = W * s.bpp, s.bpp
        f.timestamp = frame_ts_us(i) / 1000.0
        f.domain = rs.timestamp_domain.hardware_clock
        f.frame_number = 1000 + i
        f.profile = self.profiles[s.stream].as_video_stream_profile()
        sensor.on_video_frame(f)


def sensor_ts_us(i: int) -> int:
    """Unwrapped middle of exposure of frame ``i``: 1/30 s apart, to the microsecond."""
    return SENSOR_TS0_US + (i * 1_000_000) // FPS


def frame_ts_us(i: int) -> int:
    return sensor_ts_us(i) + READOUT_AFTER_CENTER_US


def record(path: Path, serial: str, frames: int, *, sync_mode: int = 0, pace_s: float = 0.0,
           depth_pixels: np.ndarray | None = None, **kwargs: Any) -> Path:
    """A ``.db3`` of a SoftD435 streaming depth and colour (``frames`` of each), made by ``rs.recorder``; frames
    ``pace_s`` apart in host time (playback in real time replays that pace); every depth frame ``depth_pixels``
    if given."""
    cam = SoftD435(serial, sync_mode=sync_mode, **kwargs)
    recorder = rs.recorder(str(path), cam.dev)
    sensors = list(cam.sensors.values())
    for s in (DEPTH, COLOR):
        cam.sensors[s.sensor].open(cam.profiles[s.stream])
    for sensor in sensors:
        sensor.start(lambda f: None)
    for i in range(frames):
        cam.inject(DEPTH, i, depth_pixels)
        cam.inject(COLOR, i)
        if pace_s:
            time.sleep(pace_s)
    for sensor in sensors:
        sensor.stop()
        sensor.close()
    del recorder  # the recorder writes the file when it is released
    return path


class SoftContext:
    """A strict stand-in for ``rs.context`` (its names and parameters checked against pyrealsense2 by the tests):
    the devices it lists are real software devices. Hot-plug cannot happen here, so :meth:`unplug` and
    :meth:`plug` fire the registered devices-changed callback as the SDK's device watcher would, with a
    :class:`SoftChange`."""

    def __init__(self, *devices: Any) -> None:
        self.devices = list(devices)
        self.callbacks: list[Any] = []

    def query_devices(self) -> list[Any]:
        return list(self.devices)

    def set_devices_changed_callback(self, callback: Any) -> None:
        self.callbacks.append(callback)

    def unplug(self, dev: Any) -> None:
        self.devices.remove(dev)
        self._changed(SoftChange(removed=[dev], added=[]))

    def plug(self, dev: Any) -> None:
        self.devices.append(dev)
        self._changed(SoftChange(removed=[], added=[dev]))

    def _changed(self, event: SoftChange) -> None:
        for callback in self.callbacks:
            callback(event)


class SoftChange:
    """A strict stand-in for ``rs.event_information``: which devices went and came (the SDK matches the device,
    this stand-in the device object itself)."""

    def __init__(self, removed: list[Any], added: list[Any]) -> None:
        self._removed = removed
        self._added = added

    def was_removed(self, dev: Any) -> bool:
        return any(d is dev for d in self._removed)

    def was_added(self, dev: Any) -> bool:
        return any(d is dev for d in self._added)

    def get_new_devices(self) -> list[Any]:
        return list(self._added)
