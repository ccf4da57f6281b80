"""Per-stream state of the aligner (pending frames, predictions, latency window). Not public API."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from typing import Generic, TypeVar

from rigsync.align.types import AlignerConfig, AlignStream, Entry, StreamStats

T = TypeVar("T")
INF = 1 << 62


class Latency:
    """A stream's recent latencies (arrival minus reference time), for its lateness allowance."""

    def __init__(self, window: int) -> None:
        self._recent: deque[int] = deque(maxlen=window)
        self._sorted: list[int] = []

    def add(self, value: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            del self._sorted[bisect_left(self._sorted, self._recent[0])]
        self._recent.append(value)
        insort(self._sorted, value)

    def allowance(self, config: AlignerConfig) -> int:
        """The ``lateness_quantile`` of recent latencies plus a margin of a quarter of their spread."""
        n = len(self._sorted)
        if n == 0:
            return config.lateness_initial_ns
        q = self._sorted[min(n - 1, int(config.lateness_quantile * n))]
        return q + max(config.lateness_floor_ns, (q - self._sorted[0]) // 2)


class StreamState(Generic[T]):
    __slots__ = ("cfg", "connected", "early", "early_base", "frontier", "half_period", "last_ref", "last_seq",
                 "latency", "lateness", "offset", "pending", "period", "predicted", "prev_seq", "regular", "started",
                 "stats")

    def __init__(self, cfg: AlignStream, config: AlignerConfig, stats: StreamStats) -> None:
        self.cfg = cfg
        self.pending: deque[Entry[T]] = deque()
        self.latency = Latency(config.latency_window)
        self.lateness = config.lateness_initial_ns
        # Copies of the configuration the hot path reads.
        self.period = cfg.period_ns
        self.half_period = cfg.period_ns // 2
        self.offset = cfg.offset_ns
        self.regular = cfg.regular
        self.early_base = config.early_ns + cfg.period_ns // 1000
        self.early = self.early_base
        self.predicted: int | None = None  # next expected ref (steady streams)
        self.frontier = -INF  # frames with ref <= frontier are late
        self.last_ref = -INF  # ref of the last frame accepted from this stream
        self.last_seq: int | None = None  # highest seq pushed
        self.prev_seq: int | None = None  # seq of the last frame that left the aligner in a set
        self.started = False
        self.connected = True
        self.stats = stats
