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
    """Smallest margin added to the latency quantile (see ``lateness_quantile``)."""
    latency_window: int = 256
    """Frames per stream whose latency sets the allowance."""
    lateness_quantile: float = 0.99
    """Latency quantile the allowance starts from; the allowance adds half the spread between that quantile and
    the smallest recent latency (at least ``lateness_floor_ns``). Frames slower than it may be dropped late."""
    lateness_small_n: int = 32
    """While only ``n`` latencies have been seen, the margin is widened by ``1 + lateness_small_n / n``."""
    max_pending: int = 512
    """Frames per stream held while waiting; beyond that the oldest is dropped (overflow)."""
    early_ns: int = 200_000
    """How far a steady stream's next stamp may stray from its prediction (the last stamp plus a period): this,
    plus twice the last frame's error bound, plus 0.1% of a period (frequency error)."""
    startup_grace_ns: int = 1_000_000_000
    """How long after the first frame a stream that has not started is still waited for."""
    settle_ns: int = 2_000_000_000
    """How long a frameset waits for the frames that tell why a member is missing (the stream's next frame, or
    its disconnection) before the reason is settled as ``not_received``."""

    def __post_init__(self) -> None:
        if self.lateness_initial_ns <= 0 or self.lateness_floor_ns < 0 or self.latency_window < 8:
            raise ValueError("lateness_initial_ns > 0, lateness_floor_ns >= 0, latency_window >= 8 needed")
        if self.lateness_small_n < 0:
            raise ValueError("lateness_small_n >= 0 needed")
        if self.max_pending < 2 or self.early_ns < 0 or self.startup_grace_ns < 0 or self.settle_ns <= 0:
            raise ValueError("max_pending >= 2, early_ns >= 0, startup_grace_ns >= 0, settle_ns > 0 needed")
        if not 0.5 <= self.lateness_quantile <= 1.0:
            raise ValueError("lateness_quantile must be within 0.5 to 1")


class Mark:
    """What the aligner knows of one frame of a stream, for settling why sets lack it (not public API)."""

    __slots__ = ("claimed", "fate", "ref_ns", "seq")

    def __init__(self, ref_ns: int | None, seq: int, fate: str) -> None:
        self.ref_ns = ref_ns
        """Reference time (interpolated for frames known only from the frame counter; None until then)."""
        self.seq = seq
        self.fate = fate
        """``pending``, ``member`` (in a set), ``lost`` (a gap in the frame counter) or the drop reason."""
        self.claimed = False
        """A set already lists its stream missing because of this frame."""


class Entry(Mark, Generic[T]):
    """A frame inside the aligner."""

    __slots__ = ("arrival_ns", "corrupt", "error_ns", "half_window_ns", "off_period", "payload", "rig_time_ns",
                 "stream")
    ref_ns: int
    """rig time minus the stream's declared offset."""

    def __init__(self, stream: int, seq: int, ref_ns: int, rig_time_ns: int, error_ns: int, arrival_ns: int,
                 payload: T, half_window_ns: int, corrupt: bool, off_period: bool) -> None:
        self.stream = stream
        self.seq = seq
        self.ref_ns = ref_ns
        self.rig_time_ns = rig_time_ns
        self.error_ns = error_ns
        self.arrival_ns = arrival_ns
        self.payload = payload
        self.half_window_ns = half_window_ns
        """Half the stream's period minus the stamp's error bound (not shrunk while the stamp's clock is
        acquired or slewing): the frame's matching window."""
        self.corrupt = corrupt
        self.off_period = off_period
        """It came within its allowance but its stamp fell outside the windows its steady stream's period
        predicted (dropped as ``off_period``, not ``late``, if its set left without it)."""
        self.fate = "pending"
        self.claimed = False

    def __repr__(self) -> str:
        return f"Entry(stream={self.stream}, seq={self.seq}, ref_ns={self.ref_ns}, fate={self.fate})"


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
    """``now`` when the set's members were decided (for latency accounting). The set is returned once the
    reasons of its missing members are settled too, which can be a frame later."""

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass
class StreamStats:
    frames: int = 0
    """Frames received after the recording started (pushed, or refused before it)."""
    matched: int = 0
    dropped: dict[DropReason, int] = field(default_factory=dict)
    """Frames in no frameset, by reason; ``warmup`` counts frames received before the recording started and
    ``device`` / ``host_overrun`` frames never received."""
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
        return sum(n for s in self.streams.values() for r, n in s.dropped.items() if r is not DropReason.WARMUP)
