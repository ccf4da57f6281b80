"""A recording's stamps as arrays: every stream's frames, the framesets, each host's PTP samples, the device
events and the capture statistics, with the rig and plan the recording embeds (which streams each sync group
syncs, and their declared delays).

Reads ``/rigsync/frames``, ``/rigsync/framesets``, ``/rigsync/ptp/<host>``, ``/rigsync/events`` and the
``rigsync.stats`` metadata (docs/recording.md); never the simulator's truth.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from rigsync.core.errors import RecordingError
from rigsync.core.frame import StreamKind
from rigsync.core.frameset import FramesetRecord
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.record import FRAMES_TOPIC, FRAMESETS_TOPIC, Recording
from rigsync.spec import loads_rig
from rigsync.verify.limits import FREE_RUNNING

EVENTS_TOPIC = "/rigsync/events"
PTP_PREFIX = "/rigsync/ptp/"
ONE_PER_TRIGGER = ("hardware", "genlock", "ptp")
TIME_FLAGS = ("acquiring", "slewing", "host_unsynced", "ptp_unlocked", "ptp_warn", "ptp_error")


@dataclass(frozen=True)
class StreamStamps:
    """One stream's recorded frames, in file (capture) order."""

    device: str
    stream: str
    group: str
    """The sync group that syncs this stream, or ``FREE_RUNNING``."""
    offset_ns: int
    """Declared delay after the group's trigger (member delay, stagger, depth delay), removed before comparing."""
    period_ns: int
    """The interval its frames come at: its group's trigger period when synced (one burst per trigger), else its
    own."""
    burst: int
    seq: np.ndarray
    rig_time_ns: np.ndarray
    error_bound_ns: np.ndarray
    device_ts_ns: np.ndarray
    locked: np.ndarray
    after_reconnect: np.ndarray
    time_flags: dict[str, np.ndarray]
    """Flag -> bool per frame."""

    @property
    def key(self) -> str:
        return f"{self.device}/{self.stream}"


@dataclass(frozen=True)
class Framesets:
    """Every frameset: its time, and which streams it holds or names missing (and why)."""

    rig_time_ns: np.ndarray
    members: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    """Stream key -> (frameset index, member rig_time_ns, member seq), for the sets holding it."""
    missing: dict[str, list[tuple[int, str]]]
    """Stream key -> (frameset index, reason) of the sets naming it missing."""

    def __len__(self) -> int:
        return len(self.rig_time_ns)


@dataclass(frozen=True)
class PtpTrace:
    """One host's PTP samples (``/rigsync/ptp/<host>``)."""

    host: str
    rig_ns: np.ndarray
    offset_ns: np.ndarray
    """ptp4l offsetFromMaster; nan where the sample had none (no master)."""
    port_state: tuple[str, ...]
    level: tuple[str, ...]


@dataclass(frozen=True)
class DeviceEvent:
    device: str
    kind: str
    rig_ns: int
    reason: str


@dataclass(frozen=True)
class StampData:
    """Everything stamp-based verification reads, from one recording."""

    path: str
    plan: Plan
    streams: dict[str, StreamStamps]
    framesets: Framesets
    ptp: dict[str, PtpTrace]
    events: tuple[DeviceEvent, ...]
    stats: dict[str, Any]
    start_rig_ns: int
    """Time zero of the plots: the recording's start (rigsync.stats), else its first frameset or frame."""

    def seconds(self, rig_ns: np.ndarray | int) -> np.ndarray:
        return (np.asarray(rig_ns, dtype=np.float64) - self.start_rig_ns) / 1e9

    def group_streams(self, group: str) -> list[StreamStamps]:
        return [s for s in self.streams.values() if s.group == group]

    def one_per_trigger(self, group: str) -> bool:
        """Whether every stream the group syncs takes one frame per trigger of a steady trigger (a hardware,
        Genlock or PTP group at one rate, no bursts): then each of its framesets is due a frame of every one."""
        if group == FREE_RUNNING:
            return False
        g = self.plan.group(group)
        streams = self.group_streams(group)
        return (g.method.value in ONE_PER_TRIGGER and not g.random_triggers and bool(streams)
                and len({s.period_ns for s in streams}) == 1 and all(s.burst == 1 for s in streams))


def rig_plan(rec: Recording) -> Plan:
    """The plan of the rig the recording embeds."""
    if not rec.rig_toml:
        raise RecordingError(rec.path, "holds no rig file (its rigsync metadata has no rig_toml): give it with --rig")
    return build_plan(loads_rig(rec.rig_toml, rec.metadata.get("rigsync", {}).get("rig_path") or "<embedded rig>"))


def _stream_layout(plan: Plan) -> dict[str, tuple[str, int, int, int]]:
    """key -> (group, declared offset, period, burst), as the capture's aligner matches the stream."""
    layout = {}
    for device in plan.rig.devices:
        dp = plan.device(device.id)
        for s in device.streams:
            if dp.group is None or s.name not in dp.synced_streams:
                layout[f"{device.id}/{s.name}"] = (FREE_RUNNING, 0, s.period_ns, 1)
                continue
            offset = dp.delay_ns + (dp.depth_delay_ns if s.kind is not StreamKind.COLOR else 0)
            trigger_period = plan.group(dp.group).trigger_period_ns
            period = s.period_ns if dp.burst > 1 or not trigger_period else trigger_period
            layout[f"{device.id}/{s.name}"] = (dp.group, offset, period, dp.burst)
    return layout


def load_stamps(rec: Recording, plan: Plan | None = None) -> StampData:
    """Read the stamps of ``rec`` (its embedded rig's plan unless ``plan`` is given), in one pass over the file."""
    plan = plan if plan is not None else rig_plan(rec)
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    framesets: list[FramesetRecord] = []
    ptp: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    events: list[DeviceEvent] = []
    topics = [FRAMES_TOPIC, FRAMESETS_TOPIC, EVENTS_TOPIC, *(t for t in rec.json_topics() if t.startswith(PTP_PREFIX))]
    for topic, log_ns, p in rec.json_messages_of(topics):
        if topic == FRAMES_TOPIC:
            f = rec.frame_stamp(p)
            rows[f"{f.device}/{f.stream}"].append((f.seq, f.rig_time_ns, f.error_bound_ns, f.device_ts_ns, f.locked,
                                                   "after_reconnect" in f.flags, f.time_flags))
        elif topic == FRAMESETS_TOPIC:
            framesets.append(_frameset(rec, p))
        elif topic == EVENTS_TOPIC:
            events.append(DeviceEvent(str(p.get("device")), str(p.get("kind")), int(p.get("rig_ns", log_ns)),
                                      str(p.get("reason", ""))))
        else:
            ptp[topic.removeprefix(PTP_PREFIX)].append((log_ns, p))
    streams = _streams(plan, rows)
    sets = _framesets(framesets)
    stats = {k: _json(v) for k, v in rec.metadata.get("rigsync.stats", {}).items()}
    start = stats.get("recording_start_rig_ns")
    if not isinstance(start, int):
        firsts = [s.rig_time_ns[0] for s in streams.values() if len(s.rig_time_ns)]
        start = int(sets.rig_time_ns[0]) if len(sets) else int(min(firsts, default=0))
    return StampData(rec.path, plan, streams, sets, {h: _ptp(h, samples) for h, samples in ptp.items()},
                     tuple(events), stats, start)


def _streams(plan: Plan, rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, StreamStamps]:
    streams = {}
    for key, (group, offset, period, burst) in _stream_layout(plan).items():
        device, stream = key.split("/", 1)
        r = rows.get(key, [])
        cols = list(zip(*r, strict=True)) if r else [()] * 7
        streams[key] = StreamStamps(
            device, stream, group, offset, period, burst,
            seq=np.array(cols[0], dtype=np.int64), rig_time_ns=np.array(cols[1], dtype=np.int64),
            error_bound_ns=np.array(cols[2], dtype=np.int64), device_ts_ns=np.array(cols[3], dtype=np.int64),
            locked=np.array(cols[4], dtype=bool), after_reconnect=np.array(cols[5], dtype=bool),
            time_flags={name: np.array([name in fl for fl in cols[6]], dtype=bool) for name in TIME_FLAGS})
    return streams


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _frameset(rec: Recording, payload: dict[str, Any]) -> FramesetRecord:
    try:
        return FramesetRecord.from_json(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(rec.path, f"a {FRAMESETS_TOPIC} message is not a frameset ({exc!r})") from exc


def _framesets(records: list[FramesetRecord]) -> Framesets:
    members: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    missing: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, fs in enumerate(records):
        for m in fs.members:
            members[f"{m.device}/{m.stream}"].append((i, m.rig_time_ns, m.seq))
        for x in fs.missing:
            missing[f"{x.device}/{x.stream}"].append((i, x.reason.value))
    arrays = {k: tuple(np.array(c, dtype=np.int64) for c in zip(*v, strict=True)) for k, v in members.items()}
    times = np.array([fs.rig_time_ns for fs in records], dtype=np.int64)
    return Framesets(times, arrays, dict(missing))  # type: ignore[arg-type]


def _ptp(host: str, samples: list[tuple[int, dict[str, Any]]]) -> PtpTrace:
    return PtpTrace(host, np.array([int(p.get("rig_ns", t)) for t, p in samples], dtype=np.int64),
                    np.array([np.nan if p.get("offset_ns") is None else float(p["offset_ns"]) for _, p in samples],
                             dtype=np.float64),
                    tuple(str(p.get("port_state")) for _, p in samples), tuple(str(p.get("level")) for _, p in samples))
