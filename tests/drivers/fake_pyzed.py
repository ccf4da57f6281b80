"""A strict fake of the ZED SDK's Python module ``pyzed.sl``, installed into ``sys.modules`` by the tests only.

The ZED SDK ships only with StereoLabs' installer (CUDA, a camera's firmware), so nothing of ``pyzed.sl`` runs here
(the PyPI package named ``pyzed`` is an unrelated project). This fake implements only what the driver calls, with
the names, enum members, argument lists and return values of StereoLabs' own binding: zed-python-api
``src/pyzed/sl.pyx`` at release 5.4 (commit 0b750e3, github.com/stereolabs/zed-python-api):
``Camera.open(InitParameters) -> ERROR_CODE``, ``close()``, ``grab(RuntimeParameters=None) -> ERROR_CODE``,
``retrieve_image(Mat, view=VIEW.LEFT, mem_type=MEM.CPU, resolution=None)``, ``retrieve_measure(Mat,
measure=MEASURE.DEPTH, ...)``, ``get_timestamp(TIME_REFERENCE) -> Timestamp`` ("the UNIX nanosecond timestamp of
the latest grabbed image ... the time at which the entire image was available in the PC memory"),
``get_frame_dropped_count()`` ("frames dropped since grab() was called for the first time"),
``set_camera_settings(VIDEO_SETTINGS, value=-1)``, ``get_camera_settings(VIDEO_SETTINGS) -> (ERROR_CODE, int)``,
``get_camera_information()`` (``serial_number``, ``camera_model``, ``input_type``, ``camera_configuration`` with
``resolution``, ``fps``, ``firmware_version``, ``calibration_parameters.left_cam``), the static
``Camera.get_device_list()`` (which in pyzed copies only ``camera_state``, ``id``, ``path``, ``camera_model``,
``serial_number``), ``InitParameters.set_from_serial_number``, ``Mat.get_data()``, ``Timestamp.get_nanoseconds()``.

Strict: every class has ``__slots__`` and the module only the names below, so anything else the driver touched
would raise AttributeError. Devices run in real time: camera ``k``'s image is complete in host memory at
``open + STARTUP_NS + (k + 1) * period`` on the monotonic clock (the first grab after open takes the newest
frame; frames before it are not counted as dropped); its IMAGE timestamp is that instant on the fake system clock
(monotonic + ``sys_offset_ns``). Tests unplug cameras, drop frames before ``grab`` and wait.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

STARTUP_NS = 100_000_000
"""From open() to the first image (long enough that a test starting the grab loop right away takes frame 0)."""
SIZES = {"HD2K": (2208, 1242), "HD1080": (1920, 1080), "HD1200": (1920, 1200), "HD720": (1280, 720),
         "SVGA": (960, 600), "VGA": (672, 376)}
LEFT_CAM = (700.5, 701.5, 640.25, 360.75)
"""fx, fy, cx, cy of every fake camera's rectified left image."""
FIRMWARE = 1523


class ERROR_CODE(enum.Enum):  # noqa: N801 - the SDK's names
    CORRUPTED_FRAME = -2
    CAMERA_REBOOTING = -1
    SUCCESS = 0
    FAILURE = 1
    CAMERA_NOT_DETECTED = 4
    INVALID_RESOLUTION = 7
    INVALID_FUNCTION_PARAMETERS = 17
    CAMERA_NOT_INITIALIZED = 19
    INVALID_FUNCTION_CALL = 21


MODEL = enum.Enum("MODEL", "ZED ZED_M ZED2 ZED2i ZED_X ZED_XM ZED_X_NANO ZED_X_HDR ZED_X_HDR_MINI ZED_X_HDR_MAX "
                  "VIRTUAL_ZED_X ZED_XONE_GS ZED_XONE_UHD ZED_XONE_HDR", start=0)
INPUT_TYPE = enum.Enum("INPUT_TYPE", "USB SVO STREAM GMSL", start=0)
CAMERA_STATE = enum.Enum("CAMERA_STATE", "AVAILABLE NOT_AVAILABLE", start=0)
RESOLUTION = enum.Enum("RESOLUTION", "HD4K QHDPLUS HD2K HD1080 HD1200 HD1536 HD720 SVGA VGA XVGA TXGA AUTO",
                       start=0)
DEPTH_MODE = enum.Enum("DEPTH_MODE", "NONE PERFORMANCE QUALITY ULTRA NEURAL_LIGHT NEURAL NEURAL_PLUS CUSTOM",
                       start=0)
UNIT = enum.Enum("UNIT", "MILLIMETER CENTIMETER METER INCH FOOT", start=0)
VIEW = enum.Enum("VIEW", "LEFT RIGHT LEFT_GRAY RIGHT_GRAY", start=0)
MEASURE = enum.Enum("MEASURE", "DISPARITY DEPTH CONFIDENCE DEPTH_U16_MM", start=0)
MEM = enum.Enum("MEM", "CPU GPU BOTH", start=1)
TIME_REFERENCE = enum.Enum("TIME_REFERENCE", "IMAGE CURRENT", start=0)
VIDEO_SETTINGS = enum.Enum("VIDEO_SETTINGS", "BRIGHTNESS CONTRAST HUE SATURATION SHARPNESS GAMMA GAIN EXPOSURE "
                           "AEC_AGC AEC_AGC_ROI WHITEBALANCE_TEMPERATURE WHITEBALANCE_AUTO LED_STATUS EXPOSURE_TIME",
                           start=0)
GMSL_MODELS = {MODEL.ZED_X, MODEL.ZED_XM, MODEL.ZED_X_NANO, MODEL.ZED_XONE_GS, MODEL.ZED_XONE_UHD}
FPS = {"HD2K": (15,), "HD1080": (15, 30, 60), "HD1200": (15, 30, 60), "HD720": (15, 30, 60), "SVGA": (15, 30, 60, 120),
       "VGA": (15, 30, 60, 100)}


@dataclass
class FakeZed:
    """One simulated camera: what it is, how it fails, and what has been done to it."""

    serial: int
    model: Any = MODEL.ZED2i
    plugged: bool = True
    dropped: set[int] = field(default_factory=set)
    """Frame indices the SDK drops before grab (get_frame_dropped_count counts them)."""
    corrupt: set[int] = field(default_factory=set)
    """Frame indices grab returns as CORRUPTED_FRAME (green/purple image)."""
    no_depth: set[int] = field(default_factory=set)
    """Frame indices whose depth retrieve_measure fails on (FAILURE)."""
    fallback_fps: int | None = None
    """The rate the SDK opens the camera at whatever is asked (CONFIGURATION_FALLBACK), if set."""
    # state
    owner: object | None = None
    opened: dict[str, Any] | None = None
    """The InitParameters of the open camera (resolution, fps, depth mode, units)."""
    opened_mono_ns: int = 0
    opens: int = 0
    settings: dict[str, int] = field(default_factory=lambda: {"AEC_AGC": 1, "EXPOSURE": 50, "EXPOSURE_TIME": 16_000})
    next_frame: int = 0
    first_frame: int = 0
    """Index of the first frame grabbed since open()."""
    delivered: int = 0
    """Frames grab returned since the camera was last opened."""

    @property
    def gmsl(self) -> bool:
        return self.model in GMSL_MODELS

    @property
    def period_ns(self) -> int:
        assert self.opened is not None
        return 1_000_000_000 // self.opened["fps"]

    def ready_mono_ns(self, k: int) -> int:
        """When frame ``k`` is complete in host memory (monotonic clock)."""
        return self.opened_mono_ns + STARTUP_NS + (k + 1) * self.period_ns


class FakeZedSDK:
    """The host's cameras and its system clock as the SDK reads it (``monotonic + sys_offset_ns``), and the
    ``pyzed.sl`` over them."""

    def __init__(self, cameras: list[FakeZed], sys_offset_ns: int | None = None) -> None:
        self.cameras = cameras
        self.sys_offset_ns = time.time_ns() - time.monotonic_ns() if sys_offset_ns is None else sys_offset_ns
        """The host's system clock minus its monotonic clock (the real one unless a test sets another)."""
        self.lock = threading.Lock()
        self.sl = _module(self)

    def device(self, serial: int) -> FakeZed:
        return next(c for c in self.cameras if c.serial == serial)

    def unplug(self, serial: int) -> None:
        with self.lock:
            cam = self.device(serial)
            cam.plugged, cam.owner, cam.opened = False, None, None

    def replug(self, serial: int) -> None:
        with self.lock:
            self.device(serial).plugged = True

    def wait_delivered(self, serial: int, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.device(serial).delivered < count:
            assert time.monotonic() < deadline, f"camera {serial}: {self.device(serial).delivered} frames, not {count}"
            time.sleep(0.002)


CONTROLS = ("device", "unplug", "replug", "wait_delivered")


def _module(sdk: FakeZedSDK) -> ModuleType:
    """A ``pyzed.sl`` module over ``sdk``'s cameras."""

    class Timestamp:
        __slots__ = ("data_ns",)

        def __init__(self) -> None:
            self.data_ns = 0

        def get_nanoseconds(self) -> int:
            return self.data_ns

    class Resolution:
        __slots__ = ("height", "width")

        def __init__(self, width: int = 0, height: int = 0) -> None:
            self.width, self.height = width, height

    class CameraParameters:
        __slots__ = ("cx", "cy", "fx", "fy")

        def __init__(self) -> None:
            self.fx, self.fy, self.cx, self.cy = LEFT_CAM

    class CalibrationParameters:
        __slots__ = ("left_cam",)

        def __init__(self) -> None:
            self.left_cam = CameraParameters()

    class CameraConfiguration:
        __slots__ = ("calibration_parameters", "firmware_version", "fps", "resolution")

        def __init__(self, cam: FakeZed) -> None:
            assert cam.opened is not None
            self.resolution = Resolution(*SIZES[cam.opened["resolution"].name])
            self.fps = float(cam.opened["fps"])
            self.firmware_version = FIRMWARE
            self.calibration_parameters = CalibrationParameters()

    class CameraInformation:
        __slots__ = ("camera_configuration", "camera_model", "input_type", "serial_number")

        def __init__(self, cam: FakeZed) -> None:
            self.serial_number = cam.serial
            self.camera_model = cam.model
            self.input_type = INPUT_TYPE.GMSL if cam.gmsl else INPUT_TYPE.USB
            self.camera_configuration = CameraConfiguration(cam)

    class DeviceProperties:
        __slots__ = ("camera_model", "camera_state", "id", "path", "serial_number")

    class InitParameters:
        __slots__ = ("_serial", "camera_fps", "camera_resolution", "coordinate_units", "depth_mode")

        def __init__(self) -> None:
            self._serial: int | None = None
            self.camera_resolution, self.camera_fps = RESOLUTION.AUTO, 0
            self.depth_mode, self.coordinate_units = DEPTH_MODE.NEURAL, UNIT.MILLIMETER

        def set_from_serial_number(self, serial_number: int | str) -> None:
            self._serial = int(serial_number)

    class Mat:
        __slots__ = ("_data",)

        def __init__(self) -> None:
            self._data: np.ndarray | None = None

        def _fill(self, value: np.ndarray) -> None:
            # the SDK reuses the Mat's memory: the driver must copy what it keeps
            if self._data is None or self._data.shape != value.shape or self._data.dtype != value.dtype:
                self._data = value.copy()
            else:
                np.copyto(self._data, value)

        def get_data(self, memory_type: Any = MEM.CPU, deep_copy: bool = False) -> np.ndarray:
            assert self._data is not None
            return self._data.copy() if deep_copy else self._data

    class Camera:
        __slots__ = ("_cam", "_dropped", "_frame", "_grabbed")

        def __init__(self) -> None:
            self._cam: FakeZed | None = None
            self._frame = -1
            self._dropped = 0
            self._grabbed = False

        @staticmethod
        def get_device_list() -> list[DeviceProperties]:
            out = []
            for i, cam in enumerate(c for c in sdk.cameras if c.plugged):
                props = DeviceProperties()
                props.camera_state = CAMERA_STATE.AVAILABLE if cam.owner is None else CAMERA_STATE.NOT_AVAILABLE
                props.id, props.serial_number, props.camera_model = i, cam.serial, cam.model
                props.path = "" if cam.gmsl else f"/dev/video{2 * i}"
                out.append(props)
            return out

        def open(self, py_init: InitParameters | None = None) -> Any:
            assert py_init is not None and py_init._serial is not None
            with sdk.lock:
                cam = next((c for c in sdk.cameras if c.serial == py_init._serial and c.plugged), None)
                if cam is None or cam.owner is not None:
                    return ERROR_CODE.CAMERA_NOT_DETECTED
                res = py_init.camera_resolution
                if res is RESOLUTION.AUTO:
                    res = RESOLUTION.HD1200 if cam.gmsl else RESOLUTION.HD720
                if res.name not in SIZES or (res.name in ("HD1200", "SVGA")) != cam.gmsl:
                    return ERROR_CODE.INVALID_RESOLUTION
                fps = cam.fallback_fps or py_init.camera_fps or 30
                if fps not in FPS[res.name]:
                    return ERROR_CODE.INVALID_FUNCTION_PARAMETERS
                cam.owner, cam.opens, cam.next_frame, cam.delivered = self, cam.opens + 1, 0, 0
                cam.opened = {"resolution": res, "fps": fps, "depth_mode": py_init.depth_mode,
                              "units": py_init.coordinate_units}
                cam.opened_mono_ns = time.monotonic_ns()
                self._cam, self._frame, self._dropped, self._grabbed = cam, -1, 0, False
            return ERROR_CODE.SUCCESS

        def close(self) -> None:
            with sdk.lock:
                if self._cam is not None and self._cam.owner is self:
                    self._cam.owner, self._cam.opened = None, None
                self._cam = None

        def _live(self) -> FakeZed | None:
            cam = self._cam
            return cam if cam is not None and cam.owner is self and cam.plugged else None

        def grab(self, py_runtime: object | None = None) -> Any:
            cam = self._live()
            if cam is None:
                if self._cam is None:
                    return ERROR_CODE.CAMERA_NOT_INITIALIZED
                time.sleep(0.01)
                return ERROR_CODE.CAMERA_NOT_DETECTED
            k = cam.next_frame
            if not self._grabbed:  # the camera streams from open(): the first grab takes the newest frame
                k = max(k, (time.monotonic_ns() - cam.opened_mono_ns - STARTUP_NS) // cam.period_ns - 1)
                cam.first_frame = k
            while k in cam.dropped:
                k += 1
                if self._grabbed:
                    self._dropped += 1
            ready_ns = cam.ready_mono_ns(k)
            while (wait_ns := ready_ns - time.monotonic_ns()) > 0:
                time.sleep(min(wait_ns / 1e9, 0.005))
                if self._live() is None:
                    return ERROR_CODE.CAMERA_NOT_DETECTED
            cam.next_frame, self._frame, self._grabbed = k + 1, k, True
            cam.delivered += 1
            return ERROR_CODE.CORRUPTED_FRAME if k in cam.corrupt else ERROR_CODE.SUCCESS

        def get_timestamp(self, time_reference: Any) -> Timestamp:
            ts = Timestamp()
            if time_reference is TIME_REFERENCE.IMAGE and self._cam is not None and self._frame >= 0:
                ts.data_ns = self._cam.ready_mono_ns(self._frame) + sdk.sys_offset_ns
            elif time_reference is TIME_REFERENCE.CURRENT:
                ts.data_ns = time.monotonic_ns() + sdk.sys_offset_ns
            return ts

        def get_frame_dropped_count(self) -> int:
            return self._dropped

        def _size(self) -> tuple[int, int]:
            assert self._cam is not None and self._cam.opened is not None
            return SIZES[self._cam.opened["resolution"].name]

        def retrieve_image(self, py_mat: Mat, view: Any = VIEW.LEFT, mem_type: Any = MEM.CPU,
                           resolution: Resolution | None = None) -> Any:
            if self._live() is None or self._frame < 0 or view is not VIEW.LEFT:
                return ERROR_CODE.FAILURE
            w, h = self._size()
            py_mat._fill(np.full((h, w, 4), (self._frame % 250, 1, 2, 255), dtype=np.uint8))
            return ERROR_CODE.SUCCESS

        def retrieve_measure(self, py_mat: Mat, measure: Any = MEASURE.DEPTH, mem_type: Any = MEM.CPU,
                             resolution: Resolution | None = None) -> Any:
            cam = self._live()
            if cam is None or self._frame < 0 or cam.opened is None or cam.opened["depth_mode"] is DEPTH_MODE.NONE:
                return ERROR_CODE.INVALID_FUNCTION_PARAMETERS
            if measure is not MEASURE.DEPTH_U16_MM or self._frame in cam.no_depth:
                return ERROR_CODE.FAILURE
            w, h = self._size()
            py_mat._fill(np.full((h, w), 1000 + self._frame, dtype=np.uint16))
            return ERROR_CODE.SUCCESS

        def set_camera_settings(self, settings: Any, value: int = -1) -> Any:
            cam = self._live()
            if cam is None:
                return ERROR_CODE.CAMERA_NOT_DETECTED
            name = settings.name
            if name == "EXPOSURE_TIME" and not cam.gmsl:
                return ERROR_CODE.INVALID_FUNCTION_CALL  # "Only available for ZED X/X Mini, ZED-XOne" cameras
            limits = {"EXPOSURE": (0, 100), "AEC_AGC": (0, 1), "EXPOSURE_TIME": (28, 30_000)}.get(name)
            if limits is None or not limits[0] <= value <= limits[1]:
                return ERROR_CODE.INVALID_FUNCTION_PARAMETERS
            cam.settings[name] = value
            if name != "AEC_AGC":
                cam.settings["AEC_AGC"] = 0  # "Setting GAIN or EXPOSURE values will automatically set this to 0"
            return ERROR_CODE.SUCCESS

        def get_camera_settings(self, setting: Any) -> tuple[Any, int]:
            cam = self._live()
            if cam is None:
                return ERROR_CODE.CAMERA_NOT_DETECTED, -1
            return ERROR_CODE.SUCCESS, cam.settings[setting.name]

        def get_camera_information(self, resizer: Resolution | None = None) -> CameraInformation:
            assert self._cam is not None
            return CameraInformation(self._cam)

    module = ModuleType("pyzed.sl", "fake pyzed.sl (tests only)")
    for name, value in {
        "Camera": Camera, "InitParameters": InitParameters, "Mat": Mat, "Timestamp": Timestamp,
        "Resolution": Resolution, "DeviceProperties": DeviceProperties, "CameraInformation": CameraInformation,
        "ERROR_CODE": ERROR_CODE, "MODEL": MODEL, "INPUT_TYPE": INPUT_TYPE, "CAMERA_STATE": CAMERA_STATE,
        "RESOLUTION": RESOLUTION, "DEPTH_MODE": DEPTH_MODE, "UNIT": UNIT, "VIEW": VIEW, "MEASURE": MEASURE,
        "MEM": MEM, "TIME_REFERENCE": TIME_REFERENCE, "VIDEO_SETTINGS": VIDEO_SETTINGS,
    }.items():
        setattr(module, name, value)
    return module
