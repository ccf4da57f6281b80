"""A capture: open the rig's devices, start them in plan order, stamp every frame in rig time, match
framesets, record everything into one MCAP file, and stop cleanly (Ctrl-C included).

Data flows one way: driver -> timebase -> aligner -> recorder. Frames are recorded when they arrive (so a
frame is never lost because its frameset is late); framesets are recorded when the aligner emits them.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from rigsync.align import Aligner, AlignerConfig
from rigsync.capture.clocks import RigClocks
from rigsync.capture.intake import EVENTS_TOPIC, CaptureIntake
from rigsync.capture.options import CaptureOptions, CaptureResult, PlanError
from rigsync.capture.pacing import Pacer
from rigsync.capture.report import clock_summaries, dropped_by_reason, host_status_json, recording_stats
from rigsync.capture.start import StartTracker, start_devices
from rigsync.capture.status import CaptureStatus, StatusTracker
from rigsync.capture.streams import align_stream, device_config, device_timebase, encoding, sync_groups
from rigsync.core.errors import DriverError, RecordingError, RigsyncError
from rigsync.core.frame import StampedFrame
from rigsync.core.frameset import FramesetRecord
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import CaptureClock, Device, DeviceTiming, Driver, PtpSource
from rigsync.drivers.factory import open_drivers
from rigsync.net.link import HostLink, LinkSource, LinkStats, local_link
from rigsync.plan.model import Plan
from rigsync.record.json_schemas import topic_schema
from rigsync.record.recorder import Recorder, RecorderConfig
from rigsync.timebase.stamper import DeviceTimebase

DRAIN_NS = 1_000_000_000
"""After stopping the devices, how long the capture still takes the frames they deliver."""
HOSTS_RECORD_NS = 1_000_000_000
"""A capture across hosts records each host's status (``/rigsync/hosts/<host>``) this often (capture clock)."""


ACROSS_HOSTS_LATENESS_FLOOR_NS = 20_000_000
"""A capture across hosts waits at least this much past its streams' 99th-percentile latency before it calls a
frame late (the aligner's ``lateness_floor_ns``; 1 ms on one host): a network's jitter has a longer tail than a USB
bus's (bench_net_e2e: p99 18 ms, max 48 ms for 320x240 RGB-D cameras over 4 agents)."""


class CaptureSession(CaptureIntake):
    """One capture of a planned rig. Use as a context manager, then :meth:`run`. A capture across hosts passes its
    agents' ``links`` (:func:`rigsync.net.router.remote_drivers`): the status, summary and recording then show
    every host's link, the capture's own host's as ``local``. ``frame_observer`` sees every frame past the warm-up
    (before it is recorded) and ``frameset_observer`` every frameset recorded, on the capture's thread: they must not
    block."""

    def __init__(self, plan: Plan, options: CaptureOptions, *, drivers: dict[str, Driver] | None = None,
                 ptp_sources: dict[str, PtpSource] | None = None,
                 frame_observer: Callable[[StampedFrame], None] | None = None,
                 frameset_observer: Callable[[FramesetRecord], None] | None = None,
                 links: Sequence[LinkSource] = ()) -> None:
        if plan.errors and not options.force:
            raise PlanError(plan)
        self.plan = plan
        self.rig = plan.rig
        self.options = options
        self._drivers = drivers if drivers is not None else open_drivers(self.rig, plan, fast=options.fast,
                                                                         seed=options.seed)
        clocks = {d.clock() for d in self._drivers.values()}  # equal clocks are one (SystemClock)
        if len(clocks) > 1:
            raise RigsyncError("simulated and real devices cannot be captured together (they run on different "
                               "clocks); give every device the same driver")
        driver = next(iter(self._drivers.values()))
        self.clock: CaptureClock = driver.clock()
        self.clocks = RigClocks(plan, driver, ptp_sources, state_dir=options.ptp_state_dir)
        self._host_of = {d.id: d.host for d in self.rig.devices}
        self._observer = frame_observer
        self._frameset_observer = frameset_observer
        self.intrinsics: dict[str, Intrinsics] = {}
        """``<device>/<stream>`` -> the stream's intrinsics as its device reports them (once entered)."""
        self._links = {link.host: link for link in links}
        self._local_links: dict[str, LinkStats] = {
            h: local_link(h) for h in dict.fromkeys(d.host for d in self.rig.devices) if h not in self._links
        } if self._links else {}
        self._next_hosts_record_ns = 0
        self._final_links: tuple[HostLink, ...] | None = None
        self._devices: dict[str, Device] = {}
        self._timebases: dict[str, DeviceTimebase] = {}
        self._timing: dict[str, DeviceTiming] = {}
        self._failed: dict[str, str] = {}
        self._warnings: list[str] = []
        self._recorder: Recorder | None = None
        self._record_error: str | None = None
        self._overrun_count = 0
        self._poll_rig_ns = 0  # rig time of the current poll: when rigsync learns of the frames it returns
        self._poll_clock_ns = 0  # ... and the capture clock's time then (rig time runs apart from it in a step)
        # The aligner matches on the base timeline: rig time without the correction the rig's step schedule holds
        # back (the same on every host, 0 outside a step), so a slew does not stretch the streams' cadence.
        self._poll_base_ns = 0
        self._record_lag_ns = 0  # the largest lag of a PTP sample behind the poll that brought it (rig time)
        self._gate_ns = 0  # rig time from which frames are recorded (end of warm-up, or the scheduled start)
        self._gated_frames = 0
        self._start: StartTracker | None = None
        self._ptp_start_ns: int | None = None  # rig time the PTP cameras were armed to start at
        self._stop: threading.Event | None = None  # run()'s
        self._next_level_check = 0
        self._pacer = Pacer(fast=options.fast, status_interval_s=options.status_interval_s,
                            poll_interval_s=options.poll_interval_s)
        streams = [align_stream(plan, d, s) for d in self.rig.devices for s in d.streams]
        self._periods = {f"{d.id}/{s.name}": s.period_ns for d in self.rig.devices for s in d.streams}
        self._sync_group = sync_groups(plan)
        self._align_streams = {a.key: a for a in streams}
        self.aligner: Aligner[StampedFrame] = Aligner(
            streams, AlignerConfig(lateness_floor_ns=ACROSS_HOSTS_LATENESS_FLOOR_NS) if links else None)
        self._tracker = StatusTracker([s.key for s in streams])

    # --- set-up ---------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        rig = self.rig
        config = RecorderConfig(compression=self.options.compression)
        if self.options.fast:
            # Virtual time: waiting for the writer costs nothing. Bound the queue's age too, and wait for the writer
            # however slow the disk (a frame is never refused: the recording does not depend on the disk's speed),
            # until a stop is asked for.
            config = dataclasses.replace(config, queue_max_age_s=config.flush_age_s / 2, put_timeout_s=math.inf)
        self._recorder = Recorder(self.options.out, config, rig_toml=rig.text, rig_path=rig.path,
                                  metadata={"seed": str(self.options.seed if self.options.seed is not None
                                                        else rig.sim.seed)},
                                  give_up=lambda: self._stop is not None and self._stop.is_set())
        self._recorder.advance(0)  # the capture gives the watermarks (_advance_recorder), not the window
        try:
            for driver in self._drivers.values():
                driver.send_truth_to(self._write_truth)
                driver.send_records_to(self._write_record)
            for device_id in self.plan.start_order:
                spec = rig.device(device_id)
                device = self._drivers[spec.driver].open(spec.serial)
                self._devices[device_id] = device
                device.configure(device_config(self.plan, spec))
                timing = self._timing[device_id] = device.timing()
                self._timebases[device_id] = device_timebase(timing, self.clocks.timebases[spec.host])
                for s in spec.streams:
                    intrinsics = self.intrinsics[f"{device_id}/{s.name}"] = device.intrinsics(s.name)
                    self._recorder.add_stream(device_id, s.name, intrinsics, encoding(spec, s))
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        for device in reversed(list(self._devices.values())):
            try:
                device.close()
            except RigsyncError as err:
                self._warnings.append(f"closing {device.info.serial}: {err}")
        self._devices.clear()
        self._close_recorder()

    def _close_recorder(self) -> None:
        """Finish the file: end metadata, summary. A writer failure is reported, never raised: what was
        written stays readable. An exception raised into the wait (a KeyboardInterrupt) leaves the recorder in
        place, so the next call (``__exit__``) waits again for the writer to finish the file."""
        recorder = self._recorder
        if recorder is None:
            return
        links = self._final_links if self._final_links is not None else self._host_links()
        try:
            recorder.close(clocks=clock_summaries(self._timebases),
                           stats={**recording_stats(self.aligner.stats, self._gated_frames, self.clocks.statuses(),
                                                    self._start, links),
                                  "recording_start_rig_ns": str(self._gate_ns)})
        except RecordingError as err:
            self._record_error = self._record_error or str(err)
        self._recorder = None

    def _write_truth(self, truth: FrameTruth) -> None:
        if self._recorder is not None and self._record_error is None:
            try:
                self._recorder.write_truth(truth)
            except RecordingError as err:
                self._record_error = str(err)

    def _write_record(self, topic: str, payload: dict[str, Any]) -> None:
        """A driver's observation (``Driver.send_records_to``), at the rig time of the current poll; one on a topic
        with no JSON schema is left out, with a warning (once per topic)."""
        schema = topic_schema(topic)
        if schema is None:
            warning = f"a driver's records on {topic} are not recorded: the topic has no JSON schema"
            if warning not in self._warnings:
                self._warnings.append(warning)
            return
        if self._recorder is not None and self._record_error is None:
            try:
                self._recorder.write_json(topic, payload, self._poll_rig_ns, schema=schema)
            except RecordingError as err:
                self._record_error = str(err)

    # --- the loop -------------------------------------------------------------------------------

    def run(self, on_status: Callable[[CaptureStatus], None] | None = None,
            stop: threading.Event | None = None) -> CaptureResult:
        """Capture until ``seconds`` have passed or ``stop`` is set, then finish the file; ``interrupted`` in the
        result says the capture was stopped early. To stop on signals, set ``stop`` from a signal handler (the
        CLI does): a KeyboardInterrupt is caught too, but it can land anywhere in the capture's code."""
        if self._recorder is None:
            raise RigsyncError("use the session as a context manager: with CaptureSession(...) as s: s.run()")
        self._stop = stop
        clock = self.clock
        interrupted = False
        error: str | None = None
        t0 = clock.now_ns()
        t_end: int | None = None
        try:
            t0 = self._start_devices(stop)
            t_end = t0 + round(self.options.seconds * 1e9) if self.options.seconds is not None else None
            next_status = time.monotonic()
            while True:
                now = clock.now_ns()
                if (t_end is not None and now >= t_end) or (stop is not None and stop.is_set()):
                    break
                self._poll_all()
                self._emit(self.aligner.advance(self._poll_base_ns))
                self._advance_recorder()
                if self._recorder.error is not None or self._record_error is not None:
                    break
                if self._links and now >= self._next_hosts_record_ns:
                    self._next_hosts_record_ns = now + HOSTS_RECORD_NS
                    self._record_hosts(self._host_links())
                if on_status is not None and time.monotonic() >= next_status:
                    next_status = time.monotonic() + self.options.status_interval_s
                    on_status(self.status(now - t0))
                clock.wait_until(self._next_wake(now, t_end))
        except KeyboardInterrupt:
            interrupted = True
        interrupted = interrupted or (stop is not None and stop.is_set())
        elapsed = max(clock.now_ns() - t0, 0)
        for device_id in reversed(self.plan.start_order):
            if device_id not in self._failed:
                try:
                    self._devices[device_id].stop()
                except DriverError as err:  # (a remote host's agent gone silent): the others still stop
                    self._warnings.append(f"stopping {device_id}: {err}")
        self._drain(stop)
        self._emit(self.aligner.flush())
        status = self.status(elapsed)
        if self._links:
            self._final_links = status.links
            self._record_hosts(status.links)
        self._close_recorder()
        if self._record_error is not None:
            error = f"recording stopped: {self._record_error} (the file holds everything written before)"
        if self._overrun_count:
            self._warnings.append(f"{self._overrun_count} frames were overwritten in driver queues before rigsync "
                                  "read them (the capture host is too slow for this rig)")
        self._take_driver_warnings()
        if self._start is not None:
            self._warnings.extend(self._start.messages())
        ptp_start = self._ptp_start_ns if self.options.start_at is None else None  # (a scheduled start: stopped)
        if ptp_start is not None and self.clocks.rig_now() < ptp_start:
            self._warnings.append(
                f"the capture ended before the PTP cameras' start ({(ptp_start - self._gate_ns) / 1e9:.1f} "
                "s after the recording's, [sync.ptp] start_delay_s): they recorded nothing")
        if on_status is not None:
            on_status(status)
        stats = self.aligner.stats
        return CaptureResult(path=self.options.out, duration_s=elapsed / 1e9, frames=stats.frames,
                             framesets=stats.framesets, complete=stats.complete, dropped=dropped_by_reason(stats),
                             interrupted=interrupted, error=error, status=status, warnings=tuple(self._warnings),
                             start_rig_ns=self._start.start_ns if self._start is not None else None,
                             late=dict(self._start.late_ns) if self._start is not None else {})

    # --- start ----------------------------------------------------------------------------------

    def _start_devices(self, stop: threading.Event | None) -> int:
        """Start the devices (capture/start.py); with a scheduled start, take frames until it. Returns the
        capture-clock time the recording's duration counts from."""
        started = start_devices(self.plan, self._devices, self._timing, self.clocks, self.options.start_at,
                                {k: a.period_ns for k, a in self._align_streams.items()},
                                poll_clocks=self._poll_clocks,
                                wait_for_rig=lambda rig_ns: self._wait_for_rig(rig_ns, stop),
                                warn=self._warnings.append)
        self._start, self._gate_ns = started.tracker, started.gate_rig_ns
        self._ptp_start_ns = started.ptp_start_rig_ns
        if self._start is not None:
            self._wait_for_rig(self._gate_ns, stop, poll=True)
        return self.clock.now_ns()

    def _wait_for_rig(self, target_rig_ns: int, stop: threading.Event | None, *, poll: bool = False) -> None:
        """Wait until rig time ``target_rig_ns``, reading the clocks (and, with ``poll``, the devices)."""
        while True:
            now_rig = self.clocks.rig_now()
            if now_rig >= target_rig_ns or (stop is not None and stop.is_set()):
                return
            now = self.clock.now_ns()
            wake = now + min(target_rig_ns - now_rig, 100_000_000)
            if poll:
                self._poll_all()
                self._emit(self.aligner.advance(self._poll_base_ns))
                self._advance_recorder()
                wake = min(wake, self._next_wake(now, None, horizon=wake))
            else:
                self._poll_clocks()
            self.clock.wait_until(max(wake, now + 1))

    def _next_wake(self, now: int, t_end: int | None, *, horizon: int | None = None) -> int:
        """The loop's next wake-up: a frame due, an aligner deadline or ``t_end``; the devices look ahead to
        ``horizon`` (default ``t_end``)."""
        deadline = self.aligner.next_deadline_ns()  # base timeline: on the capture clock, from the last poll
        candidates = [t_end, deadline - self._poll_base_ns + self._poll_clock_ns if deadline is not None else None]
        until = self._pacer.horizon(now, t_end if horizon is None else horizon)
        candidates += [d.next_ready_ns(until) for k, d in self._devices.items() if k not in self._failed]
        return self._pacer.wake(now, candidates)

    def _drain(self, stop: threading.Event | None) -> None:
        """After the devices stopped: take the frames they had exposed and still deliver (up to a second of the
        capture clock), so that every frame exposed during the capture reaches the recording or is accounted
        for. A stop asked for while draining ends it at once (the file is then finished)."""
        clock = self.clock
        deadline = clock.now_ns() + DRAIN_NS
        stopped_before = stop is not None and stop.is_set()
        while True:
            self._poll_all()
            now = clock.now_ns()
            ready = [t for k, d in self._devices.items() if k not in self._failed
                     if (t := d.next_ready_ns(deadline)) is not None]
            if not ready or now >= deadline or (stop is not None and stop.is_set() and not stopped_before):
                return
            clock.wait_until(max(min(ready), now + 1))

    # --- reporting ------------------------------------------------------------------------------

    def _host_links(self) -> tuple[HostLink, ...]:
        """Each host's link now, in the rig's host order (none for a capture on one host)."""
        now = self.clock.now_ns()
        rows = {h: link.status(now) for h, link in self._local_links.items()}
        rows.update((h, source.link_status()) for h, source in self._links.items())
        return tuple(rows[h] for h in dict.fromkeys(d.host for d in self.rig.devices) if h in rows)

    def _record_hosts(self, links: tuple[HostLink, ...]) -> None:
        """``/rigsync/hosts/<host>``: each host's link and PTP status now."""
        if self._recorder is None or self._record_error is not None:
            return
        sync = {h.host: h for h in self.clocks.statuses()}
        rig_ns = self.clocks.rig_now()
        try:
            for link in links:
                self._recorder.write_host_status(link.host, host_status_json(link, sync.get(link.host)), rig_ns)
        except RecordingError as err:
            self._record_error = str(err)

    def status(self, elapsed_ns: int) -> CaptureStatus:
        rec = self._recorder.stats if self._recorder is not None else None
        stats = self.aligner.stats
        hosts = self.clocks.statuses()
        return CaptureStatus(
            elapsed_s=elapsed_ns / 1e9, seconds=self.options.seconds,
            streams=self._tracker.streams(stats, self.clocks.rig_now()),
            framesets=stats.framesets, complete=stats.complete,
            written_mb=(rec.bytes_written / 1e6) if rec else 0.0,
            recorder_queue_mb=(rec.queue_high_water_bytes / 1e6) if rec else 0.0,
            warnings=tuple(self._warnings[-5:]), hosts=hosts, links=self._host_links(),
            rig_time_ns=self.clocks.rig_now(),
        )


__all__ = ["EVENTS_TOPIC", "CaptureOptions", "CaptureResult", "CaptureSession", "PlanError"]
