"""GigE Vision cameras through Aravis 0.8 (PyGObject): the only module that imports ``gi``.

Features are set by their GenICam SFNC names; where a vendor (Emergent's eSDK, older SFNC revisions) names one
differently, :data:`FEATURE_NAMES` lists the alternatives and the first one the camera implements is used.
Settings change only while the camera is stopped (seeds/003 "stop streaming before you configure") and are read
back after writing. Frames come from one reader thread per camera, which pops buffers from an Aravis stream into a
bounded queue that :meth:`GigeDevice.poll` drains without blocking. A frame's ``device_ts_ns`` is the buffer's
timestamp (the camera's clock in ns: the PTP time when the camera's PTP is on), ``host_rx_ns`` the host's monotonic
clock when the reader thread received the completed buffer. Frame ids (16-bit block ids, 1..65535 then 1 again:
GigE Vision never sends block id 0) are unwrapped; a buffer with missing packets (or timed out) is delivered
flagged CORRUPT without an image (Aravis closes it only when later packets or its retention timeout show it
incomplete, so it may arrive after frames that follow it); a frame the full queue cannot take is an OVERRUN event
naming its id.

A master (or a camera the plan gives ``trigger_out``) drives :data:`OUTPUT_LINE` with ExposureActive; a PTP camera is
armed for a scheduled start through the PTP acquisition gate (:meth:`GigeDevice.arm`; the names and their sources in
:mod:`rigsync.drivers.gige_schedule`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import cv2
import gi
import numpy as np

try:
    gi.require_version("Aravis", "0.8")
except ValueError as err:  # PyGObject is there, Aravis's typelib is not: the registry names the install
    raise ImportError(f"Aravis 0.8 typelib: {err}") from None
from gi.repository import Aravis, GLib

from rigsync.catalog import get_model
from rigsync.catalog.gige import GIGE_PTP_AREA_SCAN
from rigsync.core.counter import CounterUnwrapper
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimestampSemantics
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
from rigsync.drivers.gige_schedule import gate_ns, latch_now_ns, write_gate
from rigsync.plan.model import Plan, Role
from rigsync.spec.model import RigSpec

NAME = "gige"

FEATURE_NAMES: dict[str, tuple[str, ...]] = {
    "frame_rate": ("AcquisitionFrameRate", "FrameRate"),  # FrameRate: Emergent eSDK
    "exposure": ("ExposureTime", "ExposureTimeAbs", "Exposure"),  # Abs: SFNC < 2.0; Exposure: Emergent
    "ptp_enable": ("PtpEnable", "GevIEEE1588"),  # GevIEEE1588: SFNC < 2.4 (Emergent, older firmware)
    "ptp_status": ("PtpStatus", "GevIEEE1588Status"),
    "ptp_offset": ("PtpOffsetFromMaster", "PtpOffset"),  # PtpOffset: Emergent eSDK
    # The scheduled start (sources in rigsync.drivers.gige_schedule): one 64-bit gate (Allied Vision), or the upper
    # half of a 32-bit pair, GATE_PAIRS naming its lower half (High/Low: Emergent eSDK; Hi/Lo: older Allied Vision).
    "ptp_gate": ("PtpAcquisitionGateTime", "PtpAcquisitionGateTimeHigh", "PtpAcquisitionGateTimeHi"),
    "timestamp_latch": ("TimestampLatch", "GevTimestampControlLatch"),  # Gev...: GigE Vision 1.x / SFNC < 2.0
    "timestamp_value": ("TimestampLatchValue", "GevTimestampValue"),
}
"""Concept -> the feature names cameras use for it, SFNC first."""

PIXEL_FORMATS = {"mono8": "Mono8", "bayer_rggb8": "BayerRG8", "rgb8": "RGB8"}
"""Rig-file pixel format -> PFNC name (as in the plan's ``.genicam.txt``)."""

OUTPUT_LINE = "Line1"
"""The output line a camera drives for the cameras it triggers (as the plan's ``.genicam.txt`` says: model-specific,
wire it there)."""
OUTPUT_LINE_SETTINGS = {"LineSelector": OUTPUT_LINE, "LineMode": "Output", "LineSource": "ExposureActive"}
"""The output line of a master (vendor role ``LineSource=ExposureActive``) or of a plan's ``trigger_out``, in the
order they are set (SFNC; the emitted ``.genicam.txt``)."""

PTP_SLAVE = "Slave"
"""``PtpStatus`` once the camera's clock follows the grandmaster (seeds/003: check before streaming)."""

STREAM_BUFFERS = 16
"""Aravis buffers per stream: frames in flight between the socket and the reader thread."""

LATENCY_UNCERTAINTY_NS = 2_000_000
"""How far ``min_latency_ns`` (the image's time on a 1 Gbit/s link) may be off: exposure end, readout, resends."""

_POP_TIMEOUT_US = 50_000
_UNFILLED = frozenset({Aravis.BufferStatus.UNKNOWN, Aravis.BufferStatus.CLEARED, Aravis.BufferStatus.FILLING,
                       Aravis.BufferStatus.ABORTED})
_RECENT_SEQS = 256
"""Frame ids remembered to recognise a late duplicate (Aravis's frame retention is 100 ms by default)."""


@dataclass(frozen=True)
class PtpState:
    """A camera's PTP as it reports it."""

    enabled: bool
    status: str
    """``PtpStatus`` (SFNC: Initializing, Faulty, Disabled, Listening, PreMaster, Master, Passive, Uncalibrated,
    Slave), or ``unsupported`` if the camera has no PTP features."""
    offset_from_master_ns: int | None
    """``PtpOffsetFromMaster`` where the camera reports it."""

    @property
    def is_slave(self) -> bool:
        return self.status == PTP_SLAVE


def _err(serial: str | None, problem: str, fix: str | None = None) -> DriverError:
    return DriverError(NAME, serial, problem, fix)


def _unwrap_block_id(unwrapper: CounterUnwrapper, block_id: int) -> int:
    """Consecutive sequence numbers from GigE Vision block ids (16-bit, skipping 0 at each wrap; extended 64-bit
    ids of GEV 2.x are used as they are)."""
    if block_id > 0xFFFF:
        return block_id
    unwrapped = unwrapper.unwrap(block_id)
    return unwrapped - (unwrapped >> 16)


class GigeDevice(Device):
    """One GigE Vision camera, under this host's exclusive control while open."""

    def __init__(self, camera: Aravis.Camera, info: DeviceInfo, queue_frames: int) -> None:
        self.info = info
        self._camera: Aravis.Camera | None = camera
        self._queue_frames = queue_frames
        self._config: DeviceConfig | None = None
        self._stream_config: StreamConfig | None = None
        self._names = {concept: self._first_available(names) for concept, names in FEATURE_NAMES.items()}
        self._settings: dict[str, str] = {}
        self._ptp_on = False
        self._stream: Aravis.Stream | None = None
        self._reader: threading.Thread | None = None
        self._running = threading.Event()
        self._lock = threading.Lock()
        self._frames: deque[Frame] = deque()
        self._events: list[DeviceEvent] = []
        self._unwrapper = CounterUnwrapper(16)
        self.unnamed_buffers = 0
        """Buffers that cannot be stamped: they lost their leader packet (no frame id, no timestamp) or were cut
        off by :meth:`stop`; they show as a gap in ``seq``, the way frames lost before the host do."""
        self.duplicate_buffers = 0
        """Buffers for a frame id already delivered (late packets of a frame Aravis already closed open a second,
        incomplete buffer): the first one delivered stands for the frame."""
        self._recent_seqs: deque[int] = deque(maxlen=_RECENT_SEQS)
        self.stream_statistics: dict[str, int] = {}
        """Aravis's counters of the last stream, read at :meth:`stop` (``n_completed_buffers``, ``n_failures``,
        ``n_missing_packets``...)."""

    # -- features -----------------------------------------------------------------------------------------------

    @property
    def _cam(self) -> Aravis.Camera:
        if self._camera is None:
            raise _err(self.info.serial, "the camera is closed", "open it again")
        return self._camera

    def _first_available(self, names: tuple[str, ...]) -> str | None:
        return next((n for n in names if self._cam.is_feature_available(n)), None)

    def _set(self, feature: str, value: str | float | bool) -> str:
        """Write one feature and return what the camera reads back."""
        cam = self._cam
        try:
            if isinstance(value, bool):
                cam.set_boolean(feature, value)
                return str(cam.get_boolean(feature))
            if isinstance(value, float):
                cam.set_float(feature, value)
                return repr(cam.get_float(feature))
            cam.set_string(feature, value)
            return str(cam.get_string(feature))
        except GLib.Error as err:
            raise _err(self.info.serial, f"could not set {feature} = {value}: {err.message}",
                       "check the feature in the camera's GenICam description (arv-tool-0.8 features)") from None

    def settings(self) -> dict[str, str]:
        """Each feature :meth:`configure` wrote, as the camera read it back."""
        return dict(self._settings)

    def ptp_state(self) -> PtpState:
        """The camera's PTP state now (``PtpStatus`` must be Slave before a PTP take, seeds/003)."""
        cam = self._cam
        enable, status, offset = (self._names[c] for c in ("ptp_enable", "ptp_status", "ptp_offset"))
        if status is None:
            return PtpState(False, "unsupported", None)
        return PtpState(enabled=bool(cam.get_boolean(enable)) if enable is not None else True,
                        status=str(cam.get_string(status)),
                        offset_from_master_ns=int(cam.get_integer(offset)) if offset is not None else None)

    def readback(self) -> dict[str, str]:
        """The sync settings and PTP state as the camera reports them now, for ``rigsync check``: under their SFNC
        names (``PtpEnable``, ``PtpStatus``, ``PtpOffsetFromMaster`` where the camera has them; ``TriggerMode``,
        and ``TriggerSource`` when the trigger is on), so that the plan's GigE roles (``PtpStatus=Slave``,
        ``TriggerSource=Line0``, ``LineSource=ExposureActive``) are judged on them, and ``acquisition``: ``free-run``
        with the trigger off. A camera that drives an output line (a master, or a plan's ``trigger_out``) reports
        ``LineSelector``, ``LineMode`` and ``LineSource`` of :data:`OUTPUT_LINE`."""
        if self._config is None:
            return {}
        cam = self._cam
        out: dict[str, str] = {}
        ptp = self.ptp_state()
        if ptp.status != "unsupported":
            out["PtpEnable"], out["PtpStatus"] = str(ptp.enabled), ptp.status
            if ptp.offset_from_master_ns is not None:
                out["PtpOffsetFromMaster"] = str(ptp.offset_from_master_ns)
        out["TriggerMode"] = str(cam.get_string("TriggerMode"))
        if out["TriggerMode"] == "On":
            out["TriggerSource"] = str(cam.get_string("TriggerSource"))
        out["acquisition"] = "triggered" if out["TriggerMode"] == "On" else "free-run"
        if self._drives_line(self._config):
            cam.set_string("LineSelector", OUTPUT_LINE)
            out |= {name: str(cam.get_string(name)) for name in OUTPUT_LINE_SETTINGS}
        return out

    # -- configuration ------------------------------------------------------------------------------------------

    def configure(self, config: DeviceConfig) -> None:
        if self._running.is_set():
            raise _err(self.info.serial, "settings can only change while stopped (seeds/003)", "stop() first")
        if len(config.streams) != 1:
            raise _err(self.info.serial, f"a GigE Vision camera has one stream, the plan gives "
                       f"{[s.name for s in config.streams]}", "give the device one stream in the rig file")
        stream = config.streams[0]
        fmt = PIXEL_FORMATS.get(stream.pixel_format)
        if fmt is None:
            raise _err(self.info.serial, f"pixel format {stream.pixel_format!r} is not supported",
                       f"use one of {', '.join(PIXEL_FORMATS)}")
        settings: dict[str, str] = {}
        role = config.sync.role
        settings |= self._configure_ptp(role == Role.PTP.value)
        settings["AcquisitionMode"] = self._set("AcquisitionMode", "Continuous")
        if self._cam.is_feature_available("TriggerSelector"):
            settings["TriggerSelector"] = self._set("TriggerSelector", "FrameStart")
        if role == Role.SUBORDINATE.value:
            settings["TriggerMode"] = self._set("TriggerMode", "On")
            settings["TriggerSource"] = self._set("TriggerSource", "Line0")
            settings["TriggerActivation"] = self._set("TriggerActivation", "RisingEdge")
        else:
            settings["TriggerMode"] = self._set("TriggerMode", "Off")
        if self._drives_line(config):
            settings |= self._configure_output_line()
        try:
            self._cam.set_region(0, 0, stream.width, stream.height)
        except GLib.Error as err:
            raise _err(self.info.serial, f"could not set the image to {stream.width}x{stream.height}: {err.message}",
                       "choose a size the camera supports") from None
        settings["Width"], settings["Height"] = (str(v) for v in self._cam.get_region()[2:])
        settings["PixelFormat"] = self._set("PixelFormat", fmt)
        if stream.exposure_us is not None:
            settings |= self._set_concept("exposure", float(stream.exposure_us))
        settings |= self._set_concept("frame_rate", float(stream.fps))  # last: after the format (seeds/003)
        self._check_read_back(settings, stream, fmt)
        self._settings, self._config, self._stream_config = settings, config, stream
        self._ptp_on = role == Role.PTP.value

    def _configure_ptp(self, on: bool) -> dict[str, str]:
        name = self._names["ptp_enable"]
        if name is None:
            if on:
                raise _err(self.info.serial, "the plan gives this camera a PTP role but it has no PtpEnable "
                           "(or GevIEEE1588) feature", "use a PTP-capable camera or another sync method")
            return {}
        return {name: self._set(name, on)}

    @staticmethod
    def _drives_line(config: DeviceConfig) -> bool:
        return config.sync.role == Role.MASTER.value or config.sync.trigger_out

    def _configure_output_line(self) -> dict[str, str]:
        """:data:`OUTPUT_LINE` as an output carrying ExposureActive (the emitted ``.genicam.txt``'s lines), read
        back; a camera without these features cannot trigger others."""
        missing = [f for f in OUTPUT_LINE_SETTINGS if not self._cam.is_feature_available(f)]
        if missing:
            raise _err(self.info.serial, f"the plan has this camera drive an output line but it has no "
                       f"{', '.join(missing)}", "use a camera with a digital output, or another sync method")
        out = {name: self._set(name, value) for name, value in OUTPUT_LINE_SETTINGS.items()}
        wrong = [f"{k} = {out[k]} (wanted {v})" for k, v in OUTPUT_LINE_SETTINGS.items() if out[k] != v]
        if wrong:
            raise _err(self.info.serial, "the camera did not keep its output line: " + "; ".join(wrong),
                       "check the line's name and sources in the camera's GenICam description")
        return out

    def _set_concept(self, concept: str, value: float) -> dict[str, str]:
        name = self._names[concept]
        if name is None:
            raise _err(self.info.serial, f"the camera has no {concept} feature (tried "
                       f"{', '.join(FEATURE_NAMES[concept])})")
        return {name: self._set(name, value)}

    def _check_read_back(self, settings: dict[str, str], stream: StreamConfig, fmt: str) -> None:
        rate = self._names["frame_rate"]
        wanted = {"Width": str(stream.width), "Height": str(stream.height), "PixelFormat": fmt}
        wrong = [f"{k} = {settings[k]} (wanted {v})" for k, v in wanted.items() if settings[k] != v]
        if rate is not None and abs(float(settings[rate]) - stream.fps) > 0.01 * stream.fps:
            wrong.append(f"{rate} = {settings[rate]} (wanted {stream.fps})")
        if wrong:
            raise _err(self.info.serial, "the camera did not keep the plan's settings: " + "; ".join(wrong),
                       "choose values the camera supports (arv-tool-0.8 features shows its ranges)")

    # -- scheduled start ----------------------------------------------------------------------------------------

    def arm(self, start_rig_ns: int) -> int | None:
        """Write the PTP acquisition gate (``PtpAcquisitionGateTime``, or its High/Low pair) for rig time
        ``start_rig_ns`` and read it back; returns the gate, the camera's first exposure. A PTP camera's clock is
        the rig's reference (its frames are stamped in rig time as they are, timebase/stamper.py), so the gate is
        written in the rig's ns. A gate closer to the camera's latched time than
        :data:`~rigsync.drivers.gige_schedule.GATE_LEAD_NS` moves to the first frame slot after that (never
        earlier than asked). None - the capture starts the camera early and discards what comes before -: not a
        PTP role, streaming (settings only while stopped, seeds/003), or no gate feature."""
        if self._config is None or self._stream_config is None:
            raise _err(self.info.serial, "not configured", "call configure() before arm()")
        gate = self._names["ptp_gate"]
        if not self._ptp_on or gate is None or self._running.is_set():
            return None
        first_ns = gate_ns(start_rig_ns, self._camera_now_ns(), round(1e9 / self._stream_config.fps))
        try:
            read_ns = write_gate(self._cam, gate, first_ns)
        except GLib.Error as err:
            raise _err(self.info.serial, f"could not set {gate} = {first_ns}: {err.message}",
                       "check the gate feature in the camera's GenICam description") from None
        if read_ns != first_ns:
            raise _err(self.info.serial, f"{gate} reads back {read_ns}, written {first_ns}",
                       "check the gate feature's range in the camera's GenICam description")
        self._settings[gate] = str(read_ns)
        return first_ns

    def _camera_now_ns(self) -> int | None:
        """The camera's clock now (latched; ns on a PTP camera), None if it cannot latch it."""
        latch, value = self._names["timestamp_latch"], self._names["timestamp_value"]
        if latch is None or value is None:
            return None
        try:
            return latch_now_ns(self._cam, latch, value)
        except GLib.Error as err:
            raise _err(self.info.serial, f"could not latch the camera's time ({latch}, {value}): {err.message}",
                       "check the network path to the camera") from None

    # -- streaming ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._config is None:
            raise _err(self.info.serial, "not configured", "call configure() before start()")
        if self._running.is_set():
            return
        cam = self._cam
        try:
            stream = cam.create_stream(None, None)
        except GLib.Error as err:
            raise _err(self.info.serial, f"could not open the stream channel: {err.message}",
                       "check the network path to the camera") from None
        payload = cam.get_payload()
        for _ in range(STREAM_BUFFERS):
            stream.push_buffer(Aravis.Buffer.new_allocate(payload))
        self._stream = stream
        self._unwrapper.reset()
        self._recent_seqs.clear()
        self._running.set()
        self._reader = threading.Thread(target=self._read, args=(stream, payload), name=f"gige-{self.info.serial}",
                                        daemon=True)
        self._reader.start()
        cam.start_acquisition()

    def _read(self, stream: Aravis.Stream, payload: int) -> None:
        while True:
            running = self._running.is_set()  # after stop: take what the stream still holds, then end
            buffer = stream.timeout_pop_buffer(_POP_TIMEOUT_US) if running else stream.try_pop_buffer()
            if buffer is None:
                if running:
                    continue
                return
            host_rx_ns = time.monotonic_ns()
            frame = self._frame(buffer, host_rx_ns, payload)
            stream.push_buffer(buffer)
            if frame is not None:
                self._deliver(frame)

    def _frame(self, buffer: Aravis.Buffer, host_rx_ns: int, payload: int) -> Frame | None:
        status = buffer.get_status()
        if status in _UNFILLED:
            self.unnamed_buffers += 1  # cut off by stop() or never filled
            return None
        config, stream = self._config, self._stream_config
        assert config is not None and stream is not None
        corrupt = status != Aravis.BufferStatus.SUCCESS  # missing packets, timeout, wrong size...
        if buffer.get_frame_id() == 0 or buffer.get_timestamp() == 0:
            self.unnamed_buffers += 1
            return None
        seq = _unwrap_block_id(self._unwrapper, buffer.get_frame_id())
        if seq in self._recent_seqs:
            self.duplicate_buffers += 1
            return None
        self._recent_seqs.append(seq)
        image, encoding = (None, "mono8") if corrupt else _image(buffer, stream.pixel_format)
        return Frame(
            device=config.device_id, stream=stream.name,
            seq=seq,
            device_ts_ns=buffer.get_timestamp(), host_rx_ns=host_rx_ns,
            semantics=TimestampSemantics.START_OF_EXPOSURE,
            domain=ClockDomain.PTP if self._ptp_on else ClockDomain.DEVICE,
            min_latency_ns=max(1_000, payload * 8),
            exposure_ns=None if stream.exposure_us is None else stream.exposure_us * 1_000,
            image=image, encoding=encoding,
            flags=FrameFlags.CORRUPT if corrupt else FrameFlags.NONE,
        )

    def _deliver(self, frame: Frame) -> None:
        with self._lock:
            if len(self._frames) < self._queue_frames:
                self._frames.append(frame)
                return
            self._events.append(DeviceEvent(frame.device, EventKind.OVERRUN, frame.host_rx_ns, stream=frame.stream,
                                            count=1, seq=frame.seq))

    def poll(self) -> list[Frame | DeviceEvent]:
        with self._lock:
            frames, self._frames = list(self._frames), deque()
            events, self._events = self._events, []
        items: list[Frame | DeviceEvent] = [*frames, *events]
        items.sort(key=lambda i: i.host_rx_ns if isinstance(i, Frame) else i.host_ns)
        return items

    def intrinsics(self, stream: str) -> Intrinsics:
        s = self._stream_config
        if s is None or s.name != stream:
            raise _err(self.info.serial, f"no configured stream {stream!r}")
        return Intrinsics.from_hfov(s.width, s.height, get_model(self.info.model).hfov_for(s.kind))

    def timing(self) -> DeviceTiming:
        return DeviceTiming(ClockDomain.PTP if self._ptp_on else ClockDomain.DEVICE, 1, LATENCY_UNCERTAINTY_NS)

    def stop(self) -> None:
        if not self._running.is_set():
            return
        try:
            self._cam.stop_acquisition()
        finally:
            self._running.clear()
            if self._reader is not None:
                self._reader.join()
            if self._stream is not None:
                stream = self._stream
                self.stream_statistics = {stream.get_info_name(i): stream.get_info_uint64(i)
                                          for i in range(stream.get_n_infos())}
            self._reader, self._stream = None, None

    def close(self) -> None:
        if self._camera is not None:
            try:
                self.stop()
            finally:
                self._camera = None  # the last reference: Aravis releases the camera's control channel


def _image(buffer: Aravis.Buffer, pixel_format: str) -> tuple[np.ndarray, str]:
    """The buffer's pixels as a recorded image and its Foxglove encoding."""
    height, width = buffer.get_image_height(), buffer.get_image_width()
    data = np.frombuffer(buffer.get_data(), dtype=np.uint8)
    if pixel_format == "rgb8":
        return data.reshape(height, width, 3).copy(), "rgb8"
    raw = data.reshape(height, width)
    if pixel_format == "bayer_rggb8":
        return cv2.cvtColor(raw, cv2.COLOR_BayerRG2BGR), "bgr8"
    return raw.copy(), "mono8"


class GigeDriver(Driver):
    """GigE Vision cameras found by Aravis's discovery (GVCP broadcast on every interface)."""

    name = NAME

    def __init__(self, queue_frames: int = 64) -> None:
        if queue_frames < 1:
            raise ValueError(f"queue_frames must be at least 1, got {queue_frames}")
        self.queue_frames = queue_frames
        self._clock = SystemClock()

    def _found(self) -> list[tuple[str, DeviceInfo]]:
        """(Aravis device id, info) of each GigE Vision camera that answers discovery."""
        Aravis.update_device_list()
        found = []
        for i in range(Aravis.get_n_devices()):
            if Aravis.get_device_protocol(i) != "GigEVision":
                continue
            info = DeviceInfo(driver=NAME, serial=Aravis.get_device_serial_nbr(i), model=GIGE_PTP_AREA_SCAN.key,
                              name=f"{Aravis.get_device_vendor(i)} {Aravis.get_device_model(i)}",
                              connection=f"gige:{Aravis.get_device_address(i)}")
            found.append((Aravis.get_device_id(i), info))
        return found

    def discover(self) -> list[DeviceInfo]:
        return [info for _, info in self._found()]

    def open(self, serial: str) -> GigeDevice:
        found = self._found()
        for device_id, info in found:
            if info.serial == serial:
                try:
                    camera = Aravis.Camera.new(device_id)
                except GLib.Error as err:
                    raise _err(serial, f"could not take control of the camera at {info.connection}: {err.message}",
                               "close other programs using it (only one host controls a GigE camera)") from None
                return GigeDevice(camera, info, self.queue_frames)
        raise _err(serial, "no GigE Vision camera with this serial answered discovery",
                   "found: " + (", ".join(f"{i.serial} at {i.connection}" for _, i in found) or "none") +
                   "; check the camera's power, link and IP subnet")

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> Driver:
    """The GigE Vision driver for a rig (discovery finds its cameras by serial)."""
    return GigeDriver()
