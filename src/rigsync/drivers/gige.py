"""GigE Vision cameras through Aravis 0.8 (PyGObject): with :mod:`rigsync.drivers.gige_stream`, its streaming side,
the only modules that import ``gi``.

Features are set by their GenICam SFNC names; where a vendor (Emergent's eSDK, older SFNC revisions) names one
differently, :data:`FEATURE_NAMES` lists the alternatives and the first one the camera implements is used.
Settings change only while the camera is stopped (seeds/003 "stop streaming before you configure") and are read
back after writing. Frames come from one reader thread per camera (:mod:`rigsync.drivers.gige_stream`: stamps,
frame ids, corrupt frames) into a bounded :class:`FrameQueue` that :meth:`GigeDevice.poll` drains without blocking
(frames the full queue cannot take are OVERRUN events). A camera lost while streaming is a DISCONNECTED event; once
discovery finds its serial again, ``poll()`` configures it from the plan, starts it and reports RECONNECTED (frame
ids and the camera's clock restart; the first frame is flagged AFTER_RECONNECT).

A master (or a camera the plan gives ``trigger_out``) drives :data:`OUTPUT_LINE` with ExposureActive; a PTP camera is
armed for a scheduled start through the PTP acquisition gate (:meth:`GigeDevice.arm`; the names and their sources in
:mod:`rigsync.drivers.gige_schedule`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rigsync.drivers.gige_stream import NAME, BufferCounts, Framing, StreamReader, discover

from gi.repository import Aravis, GLib  # isort: skip (gige_stream asks for Aravis 0.8 first)

from rigsync.catalog import get_model
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags
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
from rigsync.drivers.queue import FrameQueue
from rigsync.plan.model import Plan, Role
from rigsync.spec.model import RigSpec

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

LATENCY_UNCERTAINTY_NS = 2_000_000
"""How far ``min_latency_ns`` (the image's time on a 1 Gbit/s link) may be off: exposure end, readout, resends."""


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


class GigeDevice(Device):
    """One GigE Vision camera, under this host's exclusive control while open."""

    def __init__(self, camera: Aravis.Camera, info: DeviceInfo, queue_frames: int) -> None:
        self.info = info
        self._camera: Aravis.Camera | None = camera
        self._config: DeviceConfig | None = None
        self._stream_config: StreamConfig | None = None
        self._names = {concept: self._first_available(names) for concept, names in FEATURE_NAMES.items()}
        self._settings: dict[str, str] = {}
        self._ptp_on = False
        self._reader: StreamReader | None = None
        self._running = threading.Event()
        self._queue = FrameQueue(queue_frames)
        self.buffer_counts = BufferCounts()
        """Buffers that were no frame (no leader packet, cut off by a stop; late duplicates)."""
        self.stream_statistics: dict[str, int] = {}
        """Aravis's counters of the last stream, read at :meth:`stop` (``n_completed_buffers``, ``n_failures``,
        ``n_missing_packets``...)."""
        self.reconnect_error: str | None = None
        """Why a camera that came back could not be configured from the plan again (it then stays stopped)."""

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
        self._start_reader(FrameFlags.NONE)
        self._running.set()

    def _start_reader(self, first_flags: FrameFlags) -> None:
        cam, config, stream = self._cam, self._config, self._stream_config
        assert config is not None and stream is not None
        try:
            self._reader = StreamReader(cam, self.info.serial, Framing(config.device_id, stream, self._ptp_on),
                                        self._queue, self.buffer_counts, self._on_lost, first_flags)
        except GLib.Error as err:
            raise _err(self.info.serial, f"could not open the stream channel: {err.message}",
                       "check the network path to the camera") from None
        cam.start_acquisition()

    def _on_lost(self) -> None:
        """The reader found the camera gone (on its thread): it releases the camera's Aravis objects."""
        self._camera = None

    def poll(self) -> list[Frame | DeviceEvent]:
        self._reconnect()
        return self._queue.take()

    def _reconnect(self) -> None:
        """The lost camera answered discovery again and opened: configure it from the plan and start it again
        (its frame ids and clock restart). If it no longer takes the plan's settings it stays stopped and
        unconfigured (its DISCONNECTED stands; :attr:`reconnect_error` says why)."""
        reader, config = self._reader, self._config
        if reader is None or reader.found is None or config is None:
            return
        camera, reader.found = reader.found, None
        reader.stop()
        self._reader, self._camera = None, camera
        self._running.clear()
        try:
            self.configure(config)
            self._start_reader(FrameFlags.AFTER_RECONNECT)
        except DriverError as err:
            self.reconnect_error, self._config = str(err), None  # start() asks for configure() again
            return
        self._running.set()
        self._queue.put_event(DeviceEvent(config.device_id, EventKind.RECONNECTED, time.monotonic_ns()))

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
        reader, self._reader = self._reader, None
        try:
            if self._camera is not None:  # None: lost (the reader is looking for it)
                self._camera.stop_acquisition()
        finally:
            self._running.clear()
            if reader is not None:
                reader.stop()
                self.stream_statistics = reader.statistics

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._camera = None  # the last reference: Aravis releases the camera's control channel


class GigeDriver(Driver):
    """GigE Vision cameras found by Aravis's discovery (GVCP broadcast on every interface)."""

    name = NAME

    def __init__(self, queue_frames: int = 64) -> None:
        if queue_frames < 1:
            raise ValueError(f"queue_frames must be at least 1, got {queue_frames}")
        self.queue_frames = queue_frames
        self._clock = SystemClock()

    def discover(self) -> list[DeviceInfo]:
        return [info for _, info in discover()]

    def open(self, serial: str) -> GigeDevice:
        found = discover()
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
