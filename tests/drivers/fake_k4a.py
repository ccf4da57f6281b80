"""A strict fake of pyk4a's native ``k4a_module`` (the C extension over libk4a), for pyk4a's own Python layer.

Implements only the functions pyk4a calls on the driver's path, with the argument lists and return tuples of
pyk4a 1.5.0's ``pyk4a.cpp``, and libk4a's own checks (``k4a_device_start_cameras``: a subordinate needs a cable
in Sync in, a master one in Sync out and its colour camera; a subordinate delay only as subordinate; one open
handle per device). Devices run in real time on the host's monotonic clock: a master or standalone device
exposes at ``start + STARTUP_US + k * period``; a subordinate exposes at its master's instants plus its delay,
and only while the master runs (it waits for the trigger). Each device's clock is the monotonic clock plus its
own offset (microseconds). Tests unplug devices, drop frames on the device and wait for deliveries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUCCEEDED, FAILED, TIMEOUT = 0, 1, 2
STARTUP_US = 20_000
"""From start_cameras to a master's or standalone device's first exposure."""
FPS_HZ = {0: 5, 1: 15, 2: 30}
COLOR_SIZES = {1: (1280, 720), 2: (1920, 1080), 3: (2560, 1440), 4: (2048, 1536), 5: (3840, 2160), 6: (4096, 3072)}
DEPTH_SIZES = {1: (320, 288), 2: (640, 576), 3: (512, 512), 4: (1024, 1024), 5: (1024, 1024)}
BGRA32, DEPTH16 = 3, 4
EXPOSURE_CMD, MANUAL, AUTO = 0, 1, 0
EXPOSURE_RANGE_US = (500, 133_330)
AUTO_EXPOSURE_US = 16_670
"""The exposure a colour image reports under auto exposure."""
INTRINSICS = (639.5, 359.5, 600.0, 601.0, 0.1, -0.2, 0.01, 0.02, -0.03, 0.04, 0.0, 0.0, 0.001, 0.002)
"""cx, cy, fx, fy, k1..k6, codx, cody, p2, p1 (k4a_calibration_intrinsic_parameters_t order)."""


CONTROLS = ("device", "unplug", "replug", "wait_delivered", "exposure_start_us")
"""The fake's methods that are test controls, not k4a_module functions."""


@dataclass
class FakeKinect:
    """One simulated device: its serial, cables, clock and what it has done."""

    serial: str
    jack_in: bool = False
    jack_out: bool = False
    master: str | None = None
    """Serial of the device whose Sync out feeds this one's Sync in."""
    clock_offset_us: int = 0
    system_timestamps: bool = True
    """Whether images carry the SDK's system timestamp (else 0)."""
    plugged: bool = True
    dropped: set[int] = field(default_factory=set)
    """Frame indices the device loses before the host (never delivered)."""
    # state
    handle: object | None = None
    config: tuple[int, ...] | None = None
    """The arguments of the last successful start_cameras (format, resolution, depth mode, fps, sync only, depth
    delay, wired sync mode, subordinate delay, indicator)."""
    started_mono_us: int | None = None
    next_frame: int = 0
    delivered: int = 0
    handled: int = 0
    """Captures the caller has handled: all delivered before its latest get_capture (one reader per device)."""
    exposure: tuple[int, int] = (AUTO, AUTO_EXPOSURE_US)
    imu: bool = False
    starts: list[int] = field(default_factory=list)
    """Monotonic microseconds of each start_cameras, for start-order checks."""

    @property
    def period_us(self) -> int:
        assert self.config is not None
        return 1_000_000 // FPS_HZ[self.config[3]]


@dataclass(frozen=True)
class _Capture:
    device: FakeKinect
    exposure_start_us: int
    """True start of the colour exposure on the host's monotonic clock (microseconds)."""
    system_ns: int


class FakeK4A:
    """Placed in ``sys.modules['k4a_module']``: its methods are the module's functions, but for the test controls
    (:data:`CONTROLS`)."""

    def __init__(self, devices: list[FakeKinect]) -> None:
        self.devices = devices
        self._cond = threading.Condition()

    # --- test controls ------------------------------------------------------------------------------

    def device(self, serial: str) -> FakeKinect:
        return next(d for d in self.devices if d.serial == serial)

    def unplug(self, serial: str) -> None:
        """The device loses power: captures fail, its cameras stop; its handle is dead but still to be closed."""
        with self._cond:
            dev = self.device(serial)
            dev.plugged, dev.started_mono_us = False, None
            self._cond.notify_all()

    def replug(self, serial: str, clock_offset_us: int) -> None:
        """The device is back, its clock restarted and its settings at their power-on defaults."""
        with self._cond:
            dev = self.device(serial)
            dev.plugged, dev.clock_offset_us, dev.exposure, dev.config = True, clock_offset_us, (AUTO,
                                                                                                 AUTO_EXPOSURE_US), None
            self._cond.notify_all()

    def wait_delivered(self, serial: str, count: int, timeout_s: float = 10.0) -> None:
        """Block until the device has handed ``count`` captures to get_capture and the caller came back for the
        next one, i.e. has handled them (AssertionError on timeout)."""
        dev = self.device(serial)
        with self._cond:
            ok = self._cond.wait_for(lambda: dev.handled >= count, timeout_s)
        assert ok, f"{serial}: {dev.handled} captures handled, not {count}, in {timeout_s} s"

    def exposure_start_us(self, dev: FakeKinect, k: int) -> int | None:
        """Monotonic start of colour exposure of frame ``k``, or None while the device waits for its trigger."""
        if dev.started_mono_us is None:
            return None
        if dev.config is not None and dev.config[6] == 2:  # subordinate: the master's instants + its delay
            master = self.device(dev.master) if dev.master else None
            if master is None or master.started_mono_us is None:
                return None
            m0 = master.started_mono_us + STARTUP_US
            first = max(0, -(-(dev.started_mono_us - m0) // master.period_us))
            return m0 + (first + k) * master.period_us + dev.config[7]
        return dev.started_mono_us + STARTUP_US + k * dev.period_us

    def _dev(self, handle: object) -> FakeKinect:
        dev = next((d for d in self.devices if d.handle is handle and handle is not None), None)
        assert dev is not None, f"fake k4a_module: {handle!r} is not an open device handle"
        return dev

    # --- k4a_module ---------------------------------------------------------------------------------

    def device_get_installed_count(self) -> int:
        return sum(d.plugged for d in self.devices)

    def device_open(self, device_id: int, thread_safe: bool) -> tuple[int, object | None]:
        assert isinstance(device_id, int) and isinstance(thread_safe, bool)
        plugged = [d for d in self.devices if d.plugged]
        if not 0 <= device_id < len(plugged) or plugged[device_id].handle is not None:
            return FAILED, None  # no such index, or held by another handle (k4a opens a device once)
        plugged[device_id].handle = object()
        return SUCCEEDED, plugged[device_id].handle

    def device_close(self, handle: object, thread_safe: bool) -> int:
        dev = self._dev(handle)
        with self._cond:  # k4a_device_close stops what runs (void: pyk4a always returns success)
            dev.started_mono_us, dev.imu, dev.handle = None, False, None
            self._cond.notify_all()
        return SUCCEEDED

    def device_get_serialnum(self, handle: object, thread_safe: bool) -> str:
        dev = self._dev(handle)
        return dev.serial if dev.plugged else ""

    def device_get_sync_jack(self, handle: object, thread_safe: bool) -> tuple[int, int, int]:
        dev = self._dev(handle)
        return (SUCCEEDED, int(dev.jack_in), int(dev.jack_out)) if dev.plugged else (FAILED, 0, 0)

    def device_get_color_control(self, handle: object, thread_safe: bool, cmd: int) -> tuple[int, int, int]:
        dev = self._dev(handle)
        assert cmd == EXPOSURE_CMD, f"fake k4a_module simulates only the exposure control, not {cmd}"
        return SUCCEEDED, dev.exposure[0], dev.exposure[1]

    def device_set_color_control(self, handle: object, thread_safe: bool, cmd: int, mode: int, value: int) -> int:
        dev = self._dev(handle)
        assert cmd == EXPOSURE_CMD, f"fake k4a_module simulates only the exposure control, not {cmd}"
        if mode == MANUAL and not EXPOSURE_RANGE_US[0] <= value <= EXPOSURE_RANGE_US[1]:
            return FAILED
        dev.exposure = (int(mode), int(value) if mode == MANUAL else AUTO_EXPOSURE_US)
        return SUCCEEDED

    def device_start_cameras(self, handle: object, thread_safe: bool, color_format: int, color_resolution: int,
                             depth_mode: int, camera_fps: int, synchronized_images_only: bool,
                             depth_delay_off_color_usec: int, wired_sync_mode: int,
                             subordinate_delay_off_master_usec: int, disable_streaming_indicator: bool) -> int:
        dev = self._dev(handle)
        args = (color_format, color_resolution, depth_mode, camera_fps, synchronized_images_only,
                depth_delay_off_color_usec, wired_sync_mode, subordinate_delay_off_master_usec,
                disable_streaming_indicator)
        assert all(isinstance(a, int) for a in args), f"k4a_module parses ints/bools: {args}"
        period = 1_000_000 // FPS_HZ[camera_fps]
        invalid = (
            dev.started_mono_us is not None or not dev.plugged
            or (color_resolution == 0 and depth_mode == 0)
            or (synchronized_images_only and (color_resolution == 0 or depth_mode == 0))
            or (camera_fps == 2 and (color_resolution == 6 or depth_mode == 4))
            or abs(depth_delay_off_color_usec) >= period
            or (subordinate_delay_off_master_usec and wired_sync_mode != 2)
            or subordinate_delay_off_master_usec >= period
            or (wired_sync_mode == 1 and color_resolution == 0)
            or (wired_sync_mode == 2 and not dev.jack_in)
            or (wired_sync_mode == 1 and not dev.jack_out)
        )
        if invalid:
            return FAILED
        with self._cond:
            dev.config = args
            dev.started_mono_us = time.monotonic_ns() // 1000
            dev.starts.append(dev.started_mono_us)
            dev.next_frame = 0
            self._cond.notify_all()
        return SUCCEEDED

    def device_stop_cameras(self, handle: object, thread_safe: bool) -> int:
        dev = self._dev(handle)
        with self._cond:  # k4a_device_stop_cameras is void: pyk4a always returns success
            dev.started_mono_us = None
            self._cond.notify_all()
        return SUCCEEDED

    def device_start_imu(self, handle: object, thread_safe: bool) -> int:
        dev = self._dev(handle)
        if dev.started_mono_us is None:
            return FAILED  # k4a: the IMU needs the cameras running
        dev.imu = True
        return SUCCEEDED

    def device_stop_imu(self, handle: object, thread_safe: bool) -> int:
        self._dev(handle).imu = False  # k4a_device_stop_imu is void: pyk4a always returns success
        return SUCCEEDED

    def device_get_capture(self, handle: object, thread_safe: bool, timeout: int) -> tuple[int, _Capture | None]:
        dev = self._dev(handle)
        deadline = time.monotonic() + timeout / 1000 if timeout >= 0 else float("inf")
        with self._cond:
            dev.handled = dev.delivered
            self._cond.notify_all()
            while True:
                if not dev.plugged or dev.started_mono_us is None:
                    return FAILED, None
                while dev.next_frame in dev.dropped:
                    dev.next_frame += 1
                start_us = self.exposure_start_us(dev, dev.next_frame)
                # a capture reaches the host one period after its exposure starts
                due = None if start_us is None else (start_us + dev.period_us) / 1e6
                now = time.monotonic()
                if due is not None and due <= now:
                    dev.next_frame += 1
                    dev.delivered += 1
                    self._cond.notify_all()
                    assert start_us is not None
                    return SUCCEEDED, _Capture(dev, start_us, time.monotonic_ns() if dev.system_timestamps else 0)
                if now >= deadline:
                    return TIMEOUT, None
                self._cond.wait(min(deadline, due if due is not None else deadline, now + 0.05) - now)

    def device_get_calibration(self, handle: object, thread_safe: bool, depth_mode: int,
                               color_resolution: int) -> tuple[int, tuple[int, int]]:
        self._dev(handle)
        return SUCCEEDED, (int(depth_mode), int(color_resolution))

    def calibration_get_intrinsics(self, calibration: tuple[int, int], thread_safe: bool,
                                   camera: int) -> tuple[float, ...]:
        assert camera in (0, 1), f"intrinsics of camera {camera}"
        return INTRINSICS

    def _device_ts(self, capture: _Capture, depth: bool) -> int:
        dev, cfg = capture.device, capture.device.config
        assert cfg is not None
        start = capture.exposure_start_us + (cfg[5] if depth else 0)
        if cfg[6] == 0:  # standalone: mid-point of exposure (k4a_image_get_device_timestamp_usec)
            start += (dev.exposure[1] if not depth else 12_725) // 2
        return start + dev.clock_offset_us

    def capture_get_color_image(self, capture: _Capture, thread_safe: bool) -> tuple[Any, int, int]:
        cfg = capture.device.config
        assert cfg is not None
        if cfg[1] == 0:
            return None, 0, 0
        assert cfg[0] == BGRA32, "the fake gives BGRA32 colour only"
        w, h = COLOR_SIZES[cfg[1]]
        image = np.broadcast_to(np.uint8(7), (h, w, 4))  # read-only, like the SDK's buffer view
        return image, self._device_ts(capture, False), capture.system_ns

    def _depth16(self, capture: _Capture, passive_ok: bool) -> tuple[Any, int, int]:
        cfg = capture.device.config
        assert cfg is not None
        if cfg[2] == 0 or (cfg[2] == 5 and not passive_ok):
            return None, 0, 0
        w, h = DEPTH_SIZES[cfg[2]]
        return np.broadcast_to(np.uint16(1000), (h, w)), self._device_ts(capture, True), capture.system_ns

    def capture_get_depth_image(self, capture: _Capture, thread_safe: bool) -> tuple[Any, int, int]:
        return self._depth16(capture, passive_ok=False)

    def capture_get_ir_image(self, capture: _Capture, thread_safe: bool) -> tuple[Any, int, int]:
        return self._depth16(capture, passive_ok=True)

    def color_image_get_exposure_usec(self, capture: _Capture) -> int:
        return capture.device.exposure[1]
