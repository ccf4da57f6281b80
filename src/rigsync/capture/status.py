"""Live capture statistics per stream: rate, drops, skew within framesets, clock error bound."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from rigsync.align import AlignerStats
from rigsync.core.frame import TimeFlags
from rigsync.core.frameset import DropReason
from rigsync.net.link import HostLink
from rigsync.timebase.host import HostSyncStatus


@dataclass(frozen=True)
class StreamStatus:
    key: str
    frames: int
    fps: float
    dropped: int
    """Frames of this stream that are in no frameset (lost on the way, late, corrupt, overrun), warm-up aside."""
    skew_p50_us: float | None
    skew_p99_us: float | None
    """Distance of this stream's frames from the centre of their sync group's frames in each frameset
    (declared delays removed), or from the frameset's centre for streams aligned by timestamp only."""
    error_bound_us: float | None
    locked: bool
    time_flags: TimeFlags = TimeFlags.NONE
    """The last frame's: why its stamp is less certain (PTP unlocked or beyond its levels, slewing...)."""
    dropped_by: dict[str, int] = field(default_factory=dict)
    """``dropped`` by reason (:class:`~rigsync.core.frameset.DropReason` values), reasons with no drop left out."""


@dataclass(frozen=True)
class CaptureStatus:
    elapsed_s: float
    seconds: float | None
    streams: tuple[StreamStatus, ...]
    framesets: int
    complete: int
    written_mb: float
    recorder_queue_mb: float
    warnings: tuple[str, ...] = ()
    hosts: tuple[HostSyncStatus, ...] = ()
    """Each host's tie to the rig reference (PTP state, offset, level)."""
    links: tuple[HostLink, ...] = ()
    """A capture across hosts: each host's link (the capture's own host ``local``), in the rig's host order."""
    rig_time_ns: int | None = None
    """When the status was taken, in rig time."""


@dataclass
class _Track:
    frames: int = 0
    arrivals: deque[int] = field(default_factory=lambda: deque(maxlen=512))
    skews: deque[int] = field(default_factory=lambda: deque(maxlen=512))
    error_bound_ns: int | None = None
    locked: bool = False
    flags: TimeFlags = TimeFlags.NONE
    overruns: int = 0


class StatusTracker:
    """Accumulates what the live status shows; fed by the capture loop."""

    def __init__(self, keys: list[str]) -> None:
        self._tracks = {k: _Track() for k in keys}

    def frame(self, key: str, arrival_rig_ns: int, error_bound_ns: int, locked: bool,
              flags: TimeFlags = TimeFlags.NONE) -> None:
        t = self._tracks[key]
        t.frames += 1
        t.arrivals.append(arrival_rig_ns)
        t.error_bound_ns = error_bound_ns
        t.locked = locked
        t.flags = flags

    def skew(self, key: str, skew_ns: int) -> None:
        self._tracks[key].skews.append(abs(skew_ns))

    def overrun(self, key: str, count: int) -> None:
        self._tracks[key].overruns += count

    def streams(self, aligner: AlignerStats, now_rig_ns: int) -> tuple[StreamStatus, ...]:
        out = []
        for key, t in self._tracks.items():
            recent = [a for a in t.arrivals if now_rig_ns - a <= 1_000_000_000]
            fps = float(len(recent))
            skews = sorted(t.skews)
            st = aligner.streams.get(key)
            dropped_by = {r.value: n for r, n in st.dropped.items() if r is not DropReason.WARMUP and n} if st else {}
            if t.overruns:  # overruns a driver could not tie to frames: host overruns all the same
                overrun = DropReason.HOST_OVERRUN.value
                dropped_by[overrun] = dropped_by.get(overrun, 0) + t.overruns
            dropped = sum(dropped_by.values())
            out.append(StreamStatus(
                key=key, frames=t.frames, fps=fps, dropped=dropped,
                skew_p50_us=skews[len(skews) // 2] / 1000 if skews else None,
                skew_p99_us=skews[min(len(skews) - 1, int(len(skews) * 0.99))] / 1000 if skews else None,
                error_bound_us=t.error_bound_ns / 1000 if t.error_bound_ns is not None else None,
                locked=t.locked, time_flags=t.flags, dropped_by=dropped_by,
            ))
        return tuple(out)
