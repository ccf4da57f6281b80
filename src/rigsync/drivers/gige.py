"""GigE Vision cameras through Aravis 0.8 (PyGObject, imported by :mod:`rigsync.drivers._aravis` alone for the
driver's modules: this one, ``gige_config`` and its streaming side ``gige_stream``).

The configuration from the plan (feature names, acquisition per role, read-back) is
:mod:`rigsync.drivers.gige_config`; settings change only while the camera is stopped (seeds/003 "stop streaming
before you configure"). Frames come from one reader thread per camera (:mod:`rigsync.drivers.gige_stream`: stamps,
frame ids, corrupt frames) into a bounded :class:`FrameQueue` that :meth:`GigeDevice.poll` drains without blocking
(frames the full queue cannot take are OVERRUN events). A camera lost while streaming is a DISCONNECTED event; once
discovery finds its serial again, ``poll()`` configures it from the plan, starts it and reports RECONNECTED (frame
ids and the camera's clock restart; the first frame is flagged AFTER_RECONNECT).

A PTP camera is armed for a scheduled start (:meth:`GigeDevice.arm`) through the PTP acquisition gate (the names and
their sources in :mod:`rigsync.drivers.gige_schedule`) or, without one, a scheduled action command
(:mod:`rigsync.drivers.gvcp_action`) sent to the camera when it starts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rigsync.catalog import get_model
from rigsync.core.errors import DriverError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers._aravis import Aravis, GLib
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
from rigsync.drivers.gige_config import (
    OUTPUT_LINE,
    OUTPUT_LINE_SETTINGS,
    PACKET_SIZE,
    CameraFeatures,
    Configured,
    Start,
    configure_camera,
    err,
    read_acquisition,
)
from rigsync.drivers.gige_schedule import gate_ns, latch_now_ns, write_gate
from rigsync.drivers.gige_stream import NAME, BufferCounts, Framing, StreamReader, discover
from rigsync.drivers.gvcp_action import GVCP_PORT, ActionAckError, ActionCommand, send_action
from rigsync.drivers.queue import FrameQueue
from rigsync.plan.model import Plan, Role
from rigsync.spec.model import RigSpec

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


class GigeDevice(Device):
    """One GigE Vision camera, under this host's exclusive control while open."""

    def __init__(self, camera: Aravis.Camera, info: DeviceInfo, queue_frames: int, rig_name: str = "rigsync") -> None:
        self.info = info
        self._camera: Aravis.Camera | None = camera
        self._features_of: CameraFeatures | None = None
        self._rig_name = rig_name
        self._config: DeviceConfig | None = None
        self._configured: Configured | None = None
        self._action_time_ns: int | None = None
        self._request_id = 0
        self.action_address = (info.connection.removeprefix("gige:"), GVCP_PORT)
        """Where the scheduled action command goes: the camera's GVCP port (unicast)."""
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
            raise err(self.info.serial, "the camera is closed", "open it again")
        return self._camera

    @property
    def _features(self) -> CameraFeatures:
        """The open camera's features (dropped with the camera: it holds a reference to it)."""
        cam = self._cam
        if self._features_of is None or self._features_of.camera is not cam:
            self._features_of = CameraFeatures(cam, self.info.serial)
        return self._features_of

    @property
    def _ptp_on(self) -> bool:
        return self._config is not None and self._config.sync.role == Role.PTP.value

    def settings(self) -> dict[str, str]:
        """Each feature :meth:`configure` (and :meth:`arm`) wrote, as the camera read it back."""
        return dict(self._configured.settings) if self._configured is not None else {}

    def ptp_state(self) -> PtpState:
        """The camera's PTP state now (``PtpStatus`` must be Slave before a PTP take, seeds/003)."""
        cam, names = self._cam, self._features.names
        enable, status, offset = (names[c] for c in ("ptp_enable", "ptp_status", "ptp_offset"))
        if status is None:
            return PtpState(False, "unsupported", None)
        return PtpState(enabled=bool(cam.get_boolean(enable)) if enable is not None else True,
                        status=str(cam.get_string(status)),
                        offset_from_master_ns=int(cam.get_integer(offset)) if offset is not None else None)

    def readback(self) -> dict[str, str]:
        """The sync settings and PTP state as the camera reports them now, for ``rigsync check``: under their SFNC
        names (``PtpEnable``, ``PtpStatus``, ``PtpOffsetFromMaster`` where the camera has them; the acquisition and
        trigger settings, :func:`~rigsync.drivers.gige_config.read_acquisition`), so that the plan's GigE roles
        (``PtpStatus=Slave``, ``TriggerSource=Line0``, ``LineSource=ExposureActive``) are judged on them; with
        ``acquisition`` (``free-run``, ``triggered``, ``ptp-frame-sync`` or ``ptp-timestamps``) and, for a PTP
        camera, ``start`` (``gate``, ``action`` or ``none``). A camera that drives an output line (a master, or a
        plan's ``trigger_out``) reports ``LineSelector``, ``LineMode`` and ``LineSource`` of :data:`OUTPUT_LINE`;
        one whose rig file sets ``packet_size``, ``GevSCPSPacketSize``."""
        if self._config is None or self._configured is None:
            return {}
        out: dict[str, str] = {}
        ptp = self.ptp_state()
        if ptp.status != "unsupported":
            out["PtpEnable"], out["PtpStatus"] = str(ptp.enabled), ptp.status
            if ptp.offset_from_master_ns is not None:
                out["PtpOffsetFromMaster"] = str(ptp.offset_from_master_ns)
        out |= read_acquisition(self._features, self._configured)
        if self._config.packet_size is not None:
            out[PACKET_SIZE] = self._features.read(PACKET_SIZE)
        if self._config.sync.role == Role.MASTER.value or self._config.sync.trigger_out:
            self._features.set("LineSelector", OUTPUT_LINE)
            out |= {name: self._features.read(name) for name in OUTPUT_LINE_SETTINGS}
        return out

    # -- configuration ------------------------------------------------------------------------------------------

    def configure(self, config: DeviceConfig) -> None:
        """The plan's settings (:func:`~rigsync.drivers.gige_config.configure_camera`), only while stopped."""
        if self._running.is_set():
            raise err(self.info.serial, "settings can only change while stopped (seeds/003)", "stop() first")
        self._configured = configure_camera(self._features, config, self._rig_name)
        self._config, self._action_time_ns = config, None

    # -- scheduled start ----------------------------------------------------------------------------------------

    def arm(self, start_rig_ns: int) -> int | None:
        """Schedule a PTP camera's first exposure at rig time ``start_rig_ns`` and return it. A PTP camera's clock is
        the rig's reference (its frames are stamped in rig time as they are, timebase/stamper.py), so the time is the
        camera's PTP ns. A start closer to the camera's latched time than
        :data:`~rigsync.drivers.gige_schedule.GATE_LEAD_NS` moves to the first frame slot after that (never earlier
        than asked). Through the acquisition gate (``PtpAcquisitionGateTime``, or its High/Low pair), written now
        and read back; or, on a camera without it but with action control, a scheduled action command for that
        time, sent by :meth:`start` once the camera waits for it. None - the capture starts the camera early and
        discards what comes before -: not a PTP role, streaming (settings only while stopped, seeds/003), or
        neither a gate nor action control."""
        if self._configured is None:
            raise err(self.info.serial, "not configured", "call configure() before arm()")
        start = self._configured.start
        if not self._ptp_on or start is Start.NONE or self._running.is_set():
            return None
        first_ns = gate_ns(start_rig_ns, self._camera_now_ns(), round(1e9 / self._configured.stream.fps))
        if start is Start.ACTION:
            self._action_time_ns = first_ns
            return first_ns
        gate = self._features.names["ptp_gate"]
        assert gate is not None
        try:
            read_ns = write_gate(self._cam, gate, first_ns)
        except GLib.Error as error:
            raise err(self.info.serial, f"could not set {gate} = {first_ns}: {error.message}",
                      "check the gate feature in the camera's GenICam description") from None
        if read_ns != first_ns:
            raise err(self.info.serial, f"{gate} reads back {read_ns}, written {first_ns}",
                      "check the gate feature's range in the camera's GenICam description")
        self._configured.settings[gate] = str(read_ns)
        return first_ns

    def _camera_now_ns(self) -> int | None:
        """The camera's clock now (latched; ns on a PTP camera), None if it cannot latch it."""
        latch, value = self._features.names["timestamp_latch"], self._features.names["timestamp_value"]
        if latch is None or value is None:
            return None
        try:
            return latch_now_ns(self._cam, latch, value)
        except GLib.Error as error:
            raise err(self.info.serial, f"could not latch the camera's time ({latch}, {value}): {error.message}",
                      "check the network path to the camera") from None

    def _send_action(self) -> None:
        """The action that starts a camera waiting on its AcquisitionStart trigger: scheduled at the armed time, or
        immediate when not armed (``rigsync check``'s short start, a reconnect). Sent to this camera only: a
        scheduled action fires at its time, not on receipt, so one unicast command per camera (each acknowledged)
        starts the group as one broadcast would, and a camera that did not take it is named."""
        configured = self._configured
        if configured is None or configured.action_keys is None:
            return
        self._request_id = self._request_id % 0xFFFF + 1
        command = ActionCommand(configured.action_keys, self._action_time_ns, self._request_id)
        self._action_time_ns = None
        try:
            send_action(self.action_address, command)
        except (ActionAckError, OSError) as error:
            raise err(self.info.serial, f"the scheduled action command was not acknowledged: {error}",
                      "check the camera's PTP status (Slave) and the network path to its GVCP port") from None

    # -- streaming ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._config is None:
            raise err(self.info.serial, "not configured", "call configure() before start()")
        if self._running.is_set():
            return
        self._start_reader(FrameFlags.NONE)
        self._running.set()
        try:
            self._send_action()
        except DriverError:
            self.stop()  # waiting for an action that never came: nothing would stream
            raise

    def _start_reader(self, first_flags: FrameFlags) -> None:
        cam, config, configured = self._cam, self._config, self._configured
        assert config is not None and configured is not None
        stream = configured.stream
        try:
            self._reader = StreamReader(cam, self.info.serial, Framing(config.device_id, stream, self._ptp_on),
                                        self._queue, self.buffer_counts, self._on_lost, first_flags)
        except GLib.Error as error:
            raise err(self.info.serial, f"could not open the stream channel: {error.message}",
                      "check the network path to the camera") from None
        cam.start_acquisition()

    def _on_lost(self) -> None:
        """The reader found the camera gone (on its thread): it releases the camera's Aravis objects."""
        self._camera = self._features_of = None

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
            self._running.set()
            self._send_action()  # immediate: the planned start has passed
        except DriverError as error:
            self.stop()
            self.reconnect_error, self._config = str(error), None  # start() asks for configure() again
            return
        self._queue.put_event(DeviceEvent(config.device_id, EventKind.RECONNECTED, time.monotonic_ns()))

    def intrinsics(self, stream: str) -> Intrinsics:
        s = self._configured.stream if self._configured is not None else None
        if s is None or s.name != stream:
            raise err(self.info.serial, f"no configured stream {stream!r}")
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
            self._camera = self._features_of = None  # the last references: Aravis releases the control channel


class GigeDriver(Driver):
    """GigE Vision cameras found by Aravis's discovery (GVCP broadcast on every interface)."""

    name = NAME

    def __init__(self, queue_frames: int = 64, rig_name: str = "rigsync") -> None:
        if queue_frames < 1:
            raise ValueError(f"queue_frames must be at least 1, got {queue_frames}")
        self.queue_frames = queue_frames
        self.rig_name = rig_name
        """The rig whose cameras this driver opens: their scheduled action's device key (ActionKeys.for_rig)."""
        self._clock = SystemClock()

    def discover(self) -> list[DeviceInfo]:
        return [info for _, info in discover()]

    def open(self, serial: str) -> GigeDevice:
        found = discover()
        for device_id, info in found:
            if info.serial == serial:
                try:
                    camera = Aravis.Camera.new(device_id)
                except GLib.Error as error:
                    raise err(serial, f"could not take control of the camera at {info.connection}: {error.message}",
                              "close other programs using it (only one host controls a GigE camera)") from None
                return GigeDevice(camera, info, self.queue_frames, self.rig_name)
        raise err(serial, "no GigE Vision camera with this serial answered discovery",
                  "found: " + (", ".join(f"{i.serial} at {i.connection}" for _, i in found) or "none") +
                  "; check the camera's power, link and IP subnet")

    def clock(self) -> CaptureClock:
        return self._clock


def make_driver(rig: RigSpec, plan: Plan) -> Driver:
    """The GigE Vision driver for a rig (discovery finds its cameras by serial)."""
    return GigeDriver(rig_name=rig.name)
