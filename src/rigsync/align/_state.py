"""Per-stream state of the aligner (pending frames, prediction, lateness allowance). Not public API."""

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
        self._window = window
        self._count = 0

    def add(self, value: int) -> int:
        """Add a latency; returns how many were added so far."""
        if self._count >= self._window:
            del self._sorted[bisect_left(self._sorted, self._recent[0])]
        self._recent.append(value)
        insort(self._sorted, value)
        self._count += 1
        return self._count

    def allowance(self, config: AlignerConfig) -> int:
        """The ``lateness_quantile`` of recent latencies, plus a margin: half the spread between that quantile
        and the smallest recent latency (at least ``lateness_floor_ns``), widened by ``1 + small_n / n`` while
        only ``n`` latencies have been seen (a few samples understate the tail)."""
        n = len(self._sorted)
        if n == 0:
            return config.lateness_initial_ns
        q = self._sorted[min(n - 1, int(config.lateness_quantile * n))]
        margin = max(config.lateness_floor_ns, (q - self._sorted[0]) // 2)
        return q + margin + margin * config.lateness_small_n // n


class StreamState(Generic[T]):
    """One stream: its pending frames and what bounds its next frame.

    ``low(now)`` is the lowest reference time an on-time next frame can have: frames with a smaller one
    would arrive more than the lateness allowance ``L`` after it (the watermark ``now - L``), or fall before a
    steady stream's prediction window ``[p - margin, p + margin]`` (``p = base + k * period`` for the first
    ``k`` whose window the watermark has not passed).
    """

    __slots__ = ("base_ns", "cfg", "connected", "frontier_ns", "half_period_ns", "last_ref_ns", "last_seq",
                 "latency", "lateness_ns", "margin_base_ns", "margin_ns", "offset_ns", "pending", "period_ns",
                 "regular", "started", "stats")

    def __init__(self, cfg: AlignStream, config: AlignerConfig, stats: StreamStats) -> None:
        self.cfg = cfg
        self.pending: deque[Entry[T]] = deque()
        self.latency = Latency(config.latency_window)
        self.lateness_ns = config.lateness_initial_ns
        # Copies of the configuration the hot path reads.
        self.period_ns = cfg.period_ns
        self.half_period_ns = cfg.period_ns // 2
        self.offset_ns = cfg.offset_ns
        self.regular = cfg.regular
        self.margin_base_ns = config.early_ns + cfg.period_ns // 1000
        self.margin_ns = self.margin_base_ns
        self.base_ns: int | None = None  # predicted ref of the next frame (steady streams; None: no prediction)
        self.frontier_ns = -INF  # frames with ref <= frontier belong to sets that have left
        self.last_ref_ns = -INF  # ref of the last frame received from this stream
        self.last_seq: int | None = None  # highest seq received since (re)connecting
        self.started = False  # has delivered a frame since the aligner began
        self.connected = True
        self.stats = stats

    def low(self, now: int) -> int:
        """Lowest reference time of an on-time next frame at ``now`` (streams that are started and connected)."""
        watermark = now - self.lateness_ns
        base = self.base_ns
        if base is None:
            return watermark
        margin = self.margin_ns
        behind = watermark - margin - base
        if behind > 0:  # the watermark passed the prediction's window: that frame is late or lost
            base += -(-behind // self.period_ns) * self.period_ns
        return base - margin if base - margin > watermark else watermark

    def off_period(self, ref: int) -> bool:
        """A frame stamped ``ref`` lies outside every window the stream's prediction allows."""
        base = self.base_ns
        if base is None:
            return False
        if ref < base - self.margin_ns:
            return True
        k = (ref - base + self.half_period_ns) // self.period_ns
        return abs(ref - base - k * self.period_ns) > self.margin_ns

    def passes(self, threshold: int) -> int:
        """The time from which ``low`` exceeds ``threshold`` (started and connected streams; -INF: it does
        already, the prediction's window starts above it)."""
        base = self.base_ns
        edge = threshold
        if base is not None:
            margin = self.margin_ns
            # the last predicted frame whose window starts at or below the threshold; its window's end
            k = (threshold + margin - base) // self.period_ns
            if k < 0:
                return -INF
            edge = min(edge, base + k * self.period_ns + margin)
        return edge + self.lateness_ns + 1
