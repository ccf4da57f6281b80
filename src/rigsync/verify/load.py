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
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.record import Recording
from rigsync.spec import loads_rig
from rigsync.verify.limits import FREE_RUNNING

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
    """Read the stamps of ``rec`` (its embedded rig's plan unless ``plan`` is given)."""
    plan = plan if plan is not None else rig_plan(rec)
    layout = _stream_layout(plan)
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for f in rec.frames():
        rows[f"{f.device}/{f.stream}"].append((f.seq, f.rig_time_ns, f.error_bound_ns, f.device_ts_ns, f.locked,
                                               "after_reconnect" in f.flags, f.time_flags))
    streams = {}
    for key, (group, offset, period, burst) in layout.items():
        device, stream = key.split("/", 1)
        r = rows.get(key, [])
        cols = list(zip(*r, strict=True)) if r else [()] * 7
        flags = cols[6]
        streams[key] = StreamStamps(
            device, stream, group, offset, period, burst,
            seq=np.array(cols[0], dtype=np.int64), rig_time_ns=np.array(cols[1], dtype=np.int64),
            error_bound_ns=np.array(cols[2], dtype=np.int64), device_ts_ns=np.array(cols[3], dtype=np.int64),
            locked=np.array(cols[4], dtype=bool), after_reconnect=np.array(cols[5], dtype=bool),
            time_flags={name: np.array([name in fl for fl in flags], dtype=bool) for name in TIME_FLAGS})
    framesets = _framesets(rec)
    stats = {k: _json(v) for k, v in rec.metadata.get("rigsync.stats", {}).items()}
    start = stats.get("recording_start_rig_ns")
    if not isinstance(start, int):
        firsts = [s.rig_time_ns[0] for s in streams.values() if len(s.rig_time_ns)]
        start = int(framesets.rig_time_ns[0]) if len(framesets) else int(min(firsts, default=0))
    return StampData(rec.path, plan, streams, framesets, _ptp(rec), _events(rec), stats, start)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _framesets(rec: Recording) -> Framesets:
    times: list[int] = []
    members: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    missing: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, fs in enumerate(rec.framesets()):
        times.append(fs.rig_time_ns)
        for m in fs.members:
            members[f"{m.device}/{m.stream}"].append((i, m.rig_time_ns, m.seq))
        for x in fs.missing:
            missing[f"{x.device}/{x.stream}"].append((i, x.reason.value))
    arrays = {k: tuple(np.array(c, dtype=np.int64) for c in zip(*v, strict=True)) for k, v in members.items()}
    return Framesets(np.array(times, dtype=np.int64), arrays, dict(missing))  # type: ignore[arg-type]


def _ptp(rec: Recording) -> dict[str, PtpTrace]:
    out = {}
    for topic in rec.json_topics():
        if not topic.startswith("/rigsync/ptp/"):
            continue
        host = topic.removeprefix("/rigsync/ptp/")
        rig_ns, offset, state, level = [], [], [], []
        for log_ns, p in rec.json_messages(topic):
            rig_ns.append(int(p.get("rig_ns", log_ns)))
            offset.append(np.nan if p.get("offset_ns") is None else float(p["offset_ns"]))
            state.append(str(p.get("port_state")))
            level.append(str(p.get("level")))
        out[host] = PtpTrace(host, np.array(rig_ns, dtype=np.int64), np.array(offset, dtype=np.float64),
                             tuple(state), tuple(level))
    return out


def _events(rec: Recording) -> tuple[DeviceEvent, ...]:
    return tuple(DeviceEvent(str(p.get("device")), str(p.get("kind")), int(p.get("rig_ns", t)),
                             str(p.get("reason", ""))) for t, p in rec.json_messages("/rigsync/events"))
