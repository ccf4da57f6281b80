"""What a capture reports when it ends: the statistics and clock summaries it writes into the recording
(docs/recording.md, ``rigsync.stats`` and ``rigsync.clocks``) and the drops it returns to its caller."""

from __future__ import annotations

import json
from collections.abc import Mapping

from rigsync.align import AlignerStats
from rigsync.capture.start import StartTracker
from rigsync.core.frameset import DropReason
from rigsync.net.link import HostLink
from rigsync.timebase.host import HostSyncStatus
from rigsync.timebase.stamper import DeviceTimebase


def recording_stats(stats: AlignerStats, warmup_frames: int, hosts: tuple[HostSyncStatus, ...],
                    start: StartTracker | None, links: tuple[HostLink, ...] = ()) -> dict[str, str]:
    """``rigsync.stats``: framesets, warm-up frames, hosts' PTP status, a capture across hosts' final host links,
    the scheduled start and per stream its frames, matches, drops and missing entries by reason (JSON strings)."""
    out = {"framesets": str(stats.framesets), "complete": str(stats.complete),
           "warmup_frames_discarded": str(warmup_frames),
           "hosts": json.dumps([h.to_json() for h in hosts])}
    if links:
        out["links"] = json.dumps([link.to_json() for link in links])
    if start is not None:
        out["scheduled_start"] = json.dumps({"rig_ns": start.start_ns, "late_ns": start.late_ns})
    for key, st in stats.streams.items():
        out[key] = json.dumps({
            "frames": st.frames, "matched": st.matched,
            "dropped": {r.value: n for r, n in st.dropped.items()},
            "missing": {r.value: n for r, n in st.missing.items()},
        })
    return out


def host_status_json(link: HostLink, sync: HostSyncStatus | None) -> dict[str, object]:
    """A ``/rigsync/hosts/<host>`` message: the host's link and its PTP status (``ptp``, null for a host the rig
    ties to nothing)."""
    return {**link.to_json(), "ptp": sync.to_json() if sync is not None else None}


def clock_summaries(timebases: Mapping[str, DeviceTimebase]) -> dict[str, str]:
    """``rigsync.clocks``: each device's clock model summary (a JSON string)."""
    return {d: json.dumps(tb.summary().to_json()) for d, tb in timebases.items()}


def dropped_by_reason(stats: AlignerStats) -> dict[str, int]:
    """Frames in no frameset over every stream, by reason; warm-up frames are reported as such, not here."""
    dropped: dict[str, int] = {}
    for st in stats.streams.values():
        for reason, n in st.dropped.items():
            if reason is not DropReason.WARMUP:
                dropped[reason.value] = dropped.get(reason.value, 0) + n
    return dropped
