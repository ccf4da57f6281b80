"""What a capture does with what it polls (:class:`CaptureSession`'s half that handles it): the hosts' clocks read
and their PTP samples recorded; each device's frames stamped in rig time, gated by the warm-up or a scheduled
start, recorded and handed to the aligner (or dropped with their reason); its disconnects, reconnects and queue
overruns; the framesets the aligner emits, recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from rigsync.align import Aligner, AlignStream, Frameset
from rigsync.capture.clocks import RigClocks
from rigsync.capture.framesets import frameset_record
from rigsync.capture.start import StartTracker
from rigsync.capture.status import StatusTracker
from rigsync.core.errors import DriverError, RecordingError
from rigsync.core.frame import Frame, FrameFlags, StampedFrame
from rigsync.core.frameset import DropReason, FramesetRecord
from rigsync.drivers.base import CaptureClock, Device, DeviceEvent, Driver, EventKind
from rigsync.net.link import LinkStats
from rigsync.record.json_schemas import DEVICE_EVENT_SCHEMA
from rigsync.record.recorder import Recorder
from rigsync.spec.model import RigSpec
from rigsync.timebase.stamper import DeviceTimebase

EVENTS_TOPIC = "/rigsync/events"
"""Devices' disconnects and reconnects, as the capture learned of them."""
MAX_RECORD_LAG_NS = 1_000_000_000
"""The most the recorder's watermark waits behind now for hosts' PTP samples (their largest lag seen so far)."""
_NO_FRAME_FLAGS = FrameFlags.NONE  # testing a flag runs Python code in enum: a frame with none skips it


class CaptureIntake:
    """The polling half of :class:`~rigsync.capture.session.CaptureSession` (a base class of it, which sets the
    state declared here)."""

    rig: RigSpec
    clock: CaptureClock
    clocks: RigClocks
    aligner: Aligner[StampedFrame]
    _drivers: dict[str, Driver]
    _devices: dict[str, Device]
    _failed: dict[str, str]
    _warnings: list[str]
    _host_of: dict[str, str]
    _timebases: dict[str, DeviceTimebase]
    _periods: dict[str, int]
    _sync_group: dict[str, str]
    _align_streams: dict[str, AlignStream]
    _local_links: dict[str, LinkStats]
    _observer: Callable[[StampedFrame], None] | None
    _frameset_observer: Callable[[FramesetRecord], None] | None
    _tracker: StatusTracker
    _recorder: Recorder | None
    _record_error: str | None
    _start: StartTracker | None
    _gate_ns: int
    _gated_frames: int
    _overrun_count: int
    _next_level_check: int
    _poll_rig_ns: int
    _poll_clock_ns: int
    _poll_base_ns: int
    _record_lag_ns: int

    def _rig_ns(self, device_id: str, mono_ns: int) -> int:
        """A device's host's monotonic clock -> rig clock."""
        return self.clocks.to_rig(self._host_of[device_id], mono_ns).rig_ns

    def _poll_clocks(self) -> None:
        """Read the hosts' clocks and PTP state; record the PTP samples; report level changes."""
        records = self.clocks.poll()
        if records and self._poll_rig_ns:
            # A host's PTP samples reach the capture some time after they were taken: the recorder's watermark
            # stays behind the poll by the most a sample has been behind the poll before the one bringing it.
            lag = self._poll_rig_ns - min(r.at.rig_ns for r in records)
            self._record_lag_ns = max(self._record_lag_ns, min(lag, MAX_RECORD_LAG_NS))
        for record in records:
            if self._recorder is not None and self._record_error is None:
                try:
                    self._recorder.write_json(record.topic, record.to_json(), record.at.rig_ns, schema=record.schema)
                except RecordingError as err:
                    self._record_error = str(err)
        now = self.clock.now_ns()
        if records or now >= self._next_level_check:
            self._next_level_check = now + 500_000_000
            self._warnings.extend(self.clocks.changes(self.clocks.statuses()))
            self._take_driver_warnings()
        self._poll_rig_ns, self._poll_clock_ns = self.clocks.rig_now(), now
        self._poll_base_ns = self.clocks.base_ns(self._poll_rig_ns)

    def _take_driver_warnings(self) -> None:
        for driver in self._drivers.values():
            self._warnings.extend(driver.take_warnings())

    def _poll_all(self) -> None:
        self._poll_clocks()
        items: list[Frame | DeviceEvent] = []
        for device_id, device in self._devices.items():
            if device_id in self._failed:
                continue
            try:
                items.extend(device.poll())
            except DriverError as err:  # one failing device must not end the capture
                self._failed[device_id] = str(err)
                self._warnings.append(f"{device_id} failed and was dropped from the capture: {err}")
                self._device_gone(device_id, self._poll_rig_ns)
        # Hosts' monotonic clocks start at boot: order what arrived on the rig clock. A driver reports a queue
        # overrun when it is read, but the frames it lost came before every frame of that read: first.
        order = sorted((not (isinstance(item, DeviceEvent) and item.kind is EventKind.OVERRUN),
                        self._rig_ns(item.device, item.host_rx_ns if isinstance(item, Frame) else item.host_ns), n)
                       for n, item in enumerate(items))
        for _, rx_rig_ns, n in order:
            item = items[n]
            if isinstance(item, Frame):
                self._frame(item, rx_rig_ns)
            else:
                self._event(item)

    def _frame(self, f: Frame, rx_rig_ns: int) -> None:
        """A frame that reached its host at ``rx_rig_ns`` (rig time)."""
        key = f.key
        local = self._local_links.get(self._host_of[f.device]) if self._local_links else None
        if local is not None:
            local.frame(f.image.nbytes if f.image is not None else 0, self._poll_clock_ns)
        stamp = self._timebases[f.device].stamp(f, self._periods[key])
        locked = stamp.locked
        stamped = StampedFrame(f, stamp.start_ns, stamp.error_bound_ns, locked, stamp.flags, rx_rig_ns)
        arrival = max(rx_rig_ns, self._poll_rig_ns)
        base = self.clocks.base_ns  # the aligner works on the base timeline (rig time without a step's hold)
        # A scheduled start records what may be exposed at or after it, to within each stamp's bound (a PTP
        # camera armed for the start stamps its first frame a few ns either side of it).
        if stamped.rig_time_ns + (stamp.error_bound_ns if self._start is not None else 0) < self._gate_ns:
            # Warm-up or before the scheduled start: the clocks and the aligner learn, the recording does not;
            # counted per stream (``warmup``), so that every frame a device delivered is accounted for.
            self._gated_frames += 1
            self._emit(self.aligner.drop(key, f.seq, DropReason.WARMUP, rig_time_ns=base(stamped.rig_time_ns),
                                         error_ns=stamp.error_bound_ns, arrival_ns=base(arrival)))
            return
        if self._start is not None:
            self._start.frame(key, stamped.rig_time_ns, stamp.error_bound_ns)
        if self._observer is not None:
            self._observer(stamped)
        self._tracker.frame(key, arrival, stamp.error_bound_ns, locked, stamp.flags)
        if self._recorder is None or self._record_error is not None:
            return
        # A frame damaged past decoding (a GigE frame missing packets) comes without an image: nothing to record.
        # It still goes to the aligner as a corrupt frame, like a damaged one with its image: left out of its set,
        # which names it ``corrupt``, and counted a ``corrupt`` drop.
        if f.image is not None:
            try:
                recorded = self._recorder.write_image(stamped)
            except RecordingError as err:
                self._record_error = str(err)
                return
            if not recorded:  # the recorder's queue stayed full: no frameset may name this frame
                self._emit(self.aligner.drop(key, f.seq, DropReason.RECORDER_OVERRUN,
                                             rig_time_ns=base(stamped.rig_time_ns), error_ns=stamp.error_bound_ns,
                                             arrival_ns=base(arrival)))
                return
        self._emit(self.aligner.push(key, stamped, seq=f.seq, rig_time_ns=base(stamped.rig_time_ns),
                                     error_ns=stamp.error_bound_ns, arrival_ns=base(arrival),
                                     corrupt=f.image is None or (f.flags is not _NO_FRAME_FLAGS
                                                                 and bool(f.flags & FrameFlags.CORRUPT)),
                                     locked=locked))

    def _advance_recorder(self) -> None:
        """Tell the recorder what it may write in log-time order: nothing older than the aligner's floor (the
        sets it holds, its pending frames, each stream's lateness allowance behind now) will be written any more,
        nor than the largest lag of a PTP sample seen; but a frame later than its allowance (recorded, and counted
        late by the recorder)."""
        if self._recorder is None or self._record_error is not None:
            return
        floor = self.aligner.floor_ns()
        now = self._poll_rig_ns - self._record_lag_ns
        try:
            self._recorder.advance(min(self.clocks.rig_of_base(floor), now) if floor < self._poll_base_ns else now)
        except RecordingError as err:
            self._record_error = str(err)

    def _event(self, event: DeviceEvent) -> None:
        if event.kind is EventKind.DISCONNECTED:
            rig_ns = self._rig_ns(event.device, event.host_ns)
            self._warnings.append(f"{event.device} disconnected{f': {event.reason}' if event.reason else ''}")
            self._record_event(event, rig_ns)
            self._device_gone(event.device, rig_ns)
        elif event.kind is EventKind.RECONNECTED:
            rig_ns = self._rig_ns(event.device, event.host_ns)
            self._warnings.append(f"{event.device} reconnected (its clock restarted)"
                                  f"{f': {event.reason}' if event.reason else ''}")
            self._record_event(event, rig_ns)
            self._timebases[event.device].reset()
            for s in self.rig.device(event.device).streams:
                self._emit(self.aligner.set_connected(f"{event.device}/{s.name}", True, self.clocks.base_ns(rig_ns)))
        elif event.kind is EventKind.OVERRUN:
            self._overrun_count += event.count
            if event.stream is not None and event.seq is not None:
                for seq in range(event.seq, event.seq + event.count):
                    self._emit(self.aligner.drop(f"{event.device}/{event.stream}", seq, DropReason.HOST_OVERRUN))
            elif event.stream is not None:
                self._tracker.overrun(f"{event.device}/{event.stream}", event.count)

    def _record_event(self, event: DeviceEvent, rig_ns: int) -> None:
        """A device's disconnect or reconnect on ``/rigsync/events`` (docs/recording.md)."""
        if self._recorder is not None and self._record_error is None:
            try:
                self._recorder.write_json(EVENTS_TOPIC, {"device": event.device, "kind": event.kind.value,
                                                         "rig_ns": rig_ns, "host_ns": event.host_ns,
                                                         "reason": event.reason}, rig_ns, schema=DEVICE_EVENT_SCHEMA)
            except RecordingError as err:
                self._record_error = str(err)

    def _device_gone(self, device_id: str, rig_ns: int) -> None:
        for s in self.rig.device(device_id).streams:
            self._emit(self.aligner.set_connected(f"{device_id}/{s.name}", False, self.clocks.base_ns(rig_ns)))

    def _emit(self, framesets: list[Frameset[StampedFrame]]) -> None:
        if not framesets or self._recorder is None:
            return
        for fs in framesets:
            by_group: dict[str, list[int]] = {}
            for e in fs.members:
                group = self._sync_group.get(e.payload.frame.key)
                if group is not None:
                    by_group.setdefault(group, []).append(e.ref_ns)
            for e in fs.members:
                # Skew within the stream's own sync group (the trigger's quality); streams aligned by
                # timestamp only are measured against the frameset's centre.
                group = self._sync_group.get(e.payload.frame.key)
                refs = by_group.get(group, []) if group is not None else []
                centre = (min(refs) + max(refs)) // 2 if len(refs) > 1 else fs.rig_time_ns
                self._tracker.skew(e.payload.frame.key, e.ref_ns - centre)
            record = frameset_record(fs, self._align_streams, self.clocks.rig_of_base)
            try:
                self._recorder.write_frameset(record, publish_time_ns=self._poll_rig_ns)
            except RecordingError as err:
                self._record_error = str(err)
                return
            if self._frameset_observer is not None:
                self._frameset_observer(record)
