"""An agent's local spill file: its own frames (and events, PTP samples, simulated truth) in an MCAP recording of
the same format as the central one (:class:`~rigsync.record.recorder.Recorder`), so that
:mod:`rigsync.record.reader` reads it - also after the agent was killed: the file then ends at its last complete
chunk - and ``rigsync merge`` joins it to the central recording.

Frames are stamped in rig time as the capture stamps them, by the same code: a
:class:`~rigsync.timebase.host.HostTimebase` of the agent's host (fed with its clocks and PTP samples) under each
device's :class:`~rigsync.timebase.stamper.DeviceTimebase` (:func:`~rigsync.capture.streams.device_timebase`).

The file is made at the first thing to spill, named ``<rig>-<host>-<UTC start>.spill.mcap`` (:func:`spill_name`)
in the spill folder; its ``rigsync`` metadata carries ``spill_host`` and ``agent_start_realtime_ns``. A write
that fails (a full disk, the recorder's queue full for ``put_timeout_s``) never raises: the frame is counted
in ``dropped`` and named, (device, stream, seq) and why, through ``log``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from rigsync.capture.clocks import PtpRecord, host_config, step_policy
from rigsync.capture.merge import SPILL_EVENTS_TOPIC, SPILL_HOST_KEY
from rigsync.capture.streams import device_timebase, encoding
from rigsync.core.errors import RecordingError
from rigsync.core.frame import Frame, StampedFrame
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.ptp import HostRole, PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, DeviceTiming
from rigsync.plan.model import Plan
from rigsync.record.json_schemas import AGENT_EVENT_SCHEMA
from rigsync.record.recorder import Recorder, RecorderConfig
from rigsync.timebase.host import HostTimebase
from rigsync.timebase.stamper import DeviceTimebase
from rigsync.timebase.steps import RigSteps

SPILL_PUT_TIMEOUT_S = 1.0
"""How long a frame waits for room in the spill recorder's queue before it is counted dropped."""
Local = StampedFrame | FrameTruth | PtpRecord | tuple[DeviceEvent, int]
"""What the spill file takes of a message an agent sends: a stamped frame, a truth record, a PTP record, or a
device event with its rig time."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def spill_name(rig: str, host: str, start_realtime_ns: int) -> str:
    """``<rig>-<host>-<YYYYmmddTHHMMSSZ>.spill.mcap`` (characters other than letters, digits, ``.``, ``_`` and ``-``
    in the names become ``_``)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start_realtime_ns / 1e9))
    return f"{_UNSAFE.sub('_', rig)}-{_UNSAFE.sub('_', host)}-{stamp}.spill.mcap"


class HostStamper:
    """Rig-time stamps for one host's frames, as the capture makes them (the same timebases)."""

    def __init__(self, plan: Plan, host: str) -> None:
        setup = next(h for h in plan.hosts if h.host == host)
        self._periods = {f"{d.id}/{s.name}": s.period_ns for d in plan.rig.devices for s in d.streams}
        self.host = HostTimebase(host, host_config(plan, setup), RigSteps(step_policy(plan)))
        self._devices: dict[str, DeviceTimebase] = {}

    def add_device(self, device_id: str, timing: DeviceTiming) -> None:
        self._devices[device_id] = device_timebase(timing, self.host)

    def add_clocks(self, realtime_ns: int, monotonic_ns: int) -> None:
        self.host.add_clock(realtime_ns, monotonic_ns)

    def add_ptp(self, sample: PtpSample) -> PtpRecord:
        """Feed a PTP sample; its record as the capture writes it on ``/rigsync/ptp/<host>``."""
        tb = self.host
        tb.add(sample)
        mode = tb.config.mode if tb.config.role is HostRole.PTP else None
        return PtpRecord(sample, tb.to_rig(sample.mono_ns, stamp=False), tb.status(sample.mono_ns).level, mode)

    def stamp(self, frame: Frame) -> StampedFrame:
        s = self._devices[frame.device].stamp(frame, self._periods[frame.key])
        return StampedFrame(frame, s.start_ns, s.error_bound_ns, s.locked, s.flags,
                            self.host.to_rig(frame.host_rx_ns, stamp=False).rig_ns)


class SpillFile:
    """The agent's spill recording, made on first use (a context manager: closed and finished on exit)."""

    def __init__(self, plan: Plan, host: str, folder: Path, start_realtime_ns: int,
                 intrinsics: Callable[[str, str], Intrinsics], *, log: Callable[[str], None] = lambda _: None,
                 config: RecorderConfig | None = None) -> None:
        self.plan, self.host = plan, host
        self.path = Path(folder) / spill_name(plan.rig.name, host, start_realtime_ns)
        self._start_realtime_ns = start_realtime_ns
        self._intrinsics = intrinsics
        self._log = log
        self._config = config or RecorderConfig(put_timeout_s=SPILL_PUT_TIMEOUT_S)
        self._recorder: Recorder | None = None
        self._streams: set[tuple[str, str]] = set()
        self._failed: str | None = None
        self._made = False
        self.frames = 0
        """Frames written."""
        self.dropped = 0
        """Frames that could not be written (each named through ``log``)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def made(self) -> bool:
        """The file was made (something was spilled)."""
        return self._made

    def _open(self) -> Recorder | None:
        if self._recorder is None and self._failed is None:
            rig = self.plan.rig
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._recorder = Recorder(self.path, self._config, rig_toml=rig.text, rig_path=rig.path,
                                          metadata={SPILL_HOST_KEY: self.host, "seed": str(rig.sim.seed),
                                                    "agent_start_realtime_ns": str(self._start_realtime_ns)})
                self._made = True
            except (RecordingError, OSError) as err:
                self._fail(f"cannot make the spill file {self.path}: {err}")
        return self._recorder

    def _fail(self, why: str) -> None:
        if self._failed is None:
            self._failed = why
            self._log(f"agent {self.host}: spilling stopped: {why}")

    def write_frame(self, frame: StampedFrame, *, copy: bool = False) -> bool:
        """Write a frame; False if it could not be: counted in ``dropped`` and named in the log, unless it is only a
        ``copy`` of a frame also sent to the network."""
        f = frame.frame
        recorder = self._open()
        ok = False
        if recorder is not None:
            try:
                if (f.device, f.stream) not in self._streams:
                    spec = self.plan.rig.device(f.device)
                    recorder.add_stream(f.device, f.stream, self._intrinsics(f.device, f.stream),
                                        encoding(spec, spec.stream(f.stream)))
                    self._streams.add((f.device, f.stream))
                ok = recorder.write_image(frame)
            except RecordingError as err:
                self._fail(str(err))
        if ok:
            self.frames += 1
        elif not copy:
            self.dropped += 1
            why = self._failed or "the spill file's writer stayed behind (its queue full)"
            self._log(f"agent {self.host}: frame {f.device}/{f.stream} seq {f.seq} dropped: sent nowhere ({why})")
        return ok

    def write(self, local: Local, *, copy: bool = False) -> bool:
        """Write what an agent queued for the network (:data:`Local`); False if it could not be written (for a
        frame: see :meth:`write_frame`)."""
        if isinstance(local, StampedFrame):
            return self.write_frame(local, copy=copy)
        if isinstance(local, FrameTruth):
            return self.write_truth(local)
        if isinstance(local, PtpRecord):
            return self.write_ptp(local)
        return self.write_event(*local)

    def write_truth(self, truth: FrameTruth) -> bool:
        return self._write(lambda r: r.write_truth(truth))

    def write_ptp(self, record: PtpRecord) -> bool:
        return self._write(lambda r: r.write_json(record.topic, record.to_json(), max(record.at.rig_ns, 0),
                                                  schema=record.schema))

    def write_event(self, event: DeviceEvent, rig_ns: int) -> bool:
        payload = {"device": event.device, "kind": event.kind.value, "host_ns": event.host_ns,
                   "stream": event.stream, "seq": event.seq, "count": event.count}
        return self._write(lambda r: r.write_json(SPILL_EVENTS_TOPIC, payload, max(rig_ns, 0),
                                                  schema=AGENT_EVENT_SCHEMA))

    def _write(self, put: Callable[[Recorder], None]) -> bool:
        recorder = self._open()
        if recorder is not None:
            try:
                put(recorder)
                return True
            except RecordingError as err:
                self._fail(str(err))
        return False

    def close(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            try:
                recorder.close(stats={"spill": f'{{"frames": {self.frames}, "dropped": {self.dropped}}}'})
            except RecordingError as err:
                self._log(f"agent {self.host}: the spill file {self.path} ended on an error: {err}")
