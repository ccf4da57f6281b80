"""The aligner's value types: stream descriptions, configuration, framesets and statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rigsync.core.frameset import DropReason, MissingReason

T = TypeVar("T")


@dataclass(frozen=True)
class AlignStream:
    """A stream as the aligner sees it."""

    key: str
    period_ns: int
    """Nominal frame period (for Genlock, the trigger period; for bursts, the native period)."""
    offset_ns: int = 0
    """Declared capture delay (sync delay, stagger slot) removed before matching."""
    regular: bool = True
    """Frames come at a steady period (False: random-time triggers or bursts)."""

    def __post_init__(self) -> None:
        if self.period_ns <= 0:
            raise ValueError(f"stream {self.key}: period_ns must be positive, got {self.period_ns}")


@dataclass(frozen=True)
class AlignerConfig:
    lateness_initial_ns: int = 200_000_000
    """Lateness allowance before a stream's latency has been observed."""
    lateness_floor_ns: int = 1_000_000
    """Smallest margin added to the largest recent latency."""
    latency_window: int = 256
    """Frames per stream whose latency sets the allowance."""
    lateness_quantile: float = 0.99
    """Latency quantile the allowance starts from: frames slower than the allowance are dropped late."""
    max_pending: int = 512
    """Frames per stream held while waiting; beyond that the oldest is dropped (overflow)."""
    early_ns: int = 200_000
    """A steady stream's next frame is expected no earlier than its prediction minus this, minus twice the
    last frame's error bound, minus 0.1% of a period (frequency error)."""
    startup_grace_ns: int = 1_000_000_000
    """How long after the first frame a stream that has not started is still waited for."""

    def __post_init__(self) -> None:
        if self.lateness_initial_ns <= 0 or self.lateness_floor_ns < 0 or self.latency_window < 8:
            raise ValueError("lateness_initial_ns > 0, lateness_floor_ns >= 0, latency_window >= 8 needed")
        if self.max_pending < 2 or self.early_ns < 0 or self.startup_grace_ns < 0:
            raise ValueError("max_pending >= 2, early_ns >= 0, startup_grace_ns >= 0 needed")
        if not 0.5 <= self.lateness_quantile <= 1.0:
            raise ValueError("lateness_quantile must be within 0.5 to 1")


@dataclass(slots=True)
class Entry(Generic[T]):
    """A frame inside the aligner."""

    stream: int
    seq: int
    ref_ns: int
    """rig time minus the stream's declared offset."""
    rig_time_ns: int
    error_ns: int
    arrival_ns: int
    payload: T
    half_window_ns: int
    """Half the stream's period minus the stamp's error bound: the frame's matching window."""
    corrupt: bool = False


@dataclass(frozen=True)
class Frameset(Generic[T]):
    frameset_id: int
    rig_time_ns: int
    """Centre of the set (midrange of the members' reference times)."""
    spread_ns: int
    """Max minus min reference time of the members (declared offsets removed)."""
    members: tuple[Entry[T], ...]
    missing: tuple[tuple[str, MissingReason], ...]
    emitted_ns: int
    """``now`` when the set was emitted (for latency accounting)."""

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass
class StreamStats:
    frames: int = 0
    matched: int = 0
    dropped: dict[DropReason, int] = field(default_factory=dict)
    missing: dict[MissingReason, int] = field(default_factory=dict)


@dataclass
class AlignerStats:
    framesets: int = 0
    complete: int = 0
    streams: dict[str, StreamStats] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.streams.values())

    @property
    def dropped(self) -> int:
        return sum(sum(s.dropped.values()) for s in self.streams.values())
