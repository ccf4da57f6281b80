"""The matching decisions of the aligner: open a set, grow it in order, wait, close (not public API).

See :mod:`rigsync.align.aligner` for the rule. :meth:`Matcher.process` takes every decision the pending
frames and the time ``now`` allow, from scratch over every stream, and leaves what the decision to wait
depends on for :mod:`rigsync.align._incremental`, which applies each frame and wake-up to it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from heapq import heapify
from typing import Generic, TypeVar

from rigsync.align._settle import MEMBER, Settler
from rigsync.align._state import INF, StreamState
from rigsync.align.types import AlignerConfig, Entry
from rigsync.core.frameset import DropReason, MissingReason

T = TypeVar("T")
WAIT, CLOSE, AGAIN = range(3)


class Matcher(Generic[T]):
    """The open set and the current waiting decision over the aligner's streams."""

    def __init__(self, streams: Sequence[StreamState[T]], config: AlignerConfig, settle: Settler[T],
                 drop: Callable[[StreamState[T], DropReason, int], None]) -> None:
        self._streams = streams
        self.config = config
        self._settle = settle
        self._drop = drop
        self._half_cadence = min(s.period_ns for s in streams) // 2
        self.now = -INF
        self.first_arrival: int | None = None
        self._next_id = 0
        self._open: list[Entry[T]] = []
        self._in_set: set[int] = set()
        self._set_lo = self._set_hi = self._win_lo = self._win_hi = 0
        self._next_ref = INF  # ref of the first pending frame left for a later set when the open set closes
        # What the decisions depend on, for every stream outside the open set: ``_heads``, the first pending frame
        # of each stream with one (a heap of (ref, stream)); for the others, the lowest reference time of an
        # on-time next frame (its bound, read when last decided: it only rises), as sorted (bound, stream), in
        # ``_lows`` if within the open set's limit (or the first head, when no set is open) and else in
        # ``_outside`` (moved into ``_lows`` as the limit moves up). The decision changes once every bound up to
        # ``_threshold`` = min(first head, limit) has passed it. ``wake`` is when the last of them does (after a
        # full decision), or, after a frame changed the decision's inputs, when one of them does (an early
        # wake-up: made exact when time reaches it).
        self._tracked = False  # the above is known (after a full decision; False: decide in full on the next frame)
        self._waiting: set[int] = set()  # the streams in _lows
        self._lows: list[tuple[int, int]] = []
        self._low_of: dict[int, int] = {}
        self._outside: list[tuple[int, int]] = []
        self._outside_low: dict[int, int] = {}
        self._heads: list[tuple[int, int]] = []
        self._limit = self._threshold = INF
        self.wake = INF
        """The first moment the decision can change without new frames (INF: none)."""
        self._witness = -1  # a stream whose bound passes the threshold at ``wake`` (-1: none)

    def _low(self, s: StreamState[T], final: bool) -> int:
        """Lowest reference time of an on-time next frame of a stream with nothing pending (INF: none)."""
        if final or not s.connected:
            return INF
        if not s.started:
            first = self.first_arrival
            if first is not None and self.now > first + self.config.startup_grace_ns:
                return INF
            return self.now - s.lateness_ns
        return s.low(self.now)

    def _bound(self, s: StreamState[T], final: bool) -> int:
        """:meth:`_low`, with the common case inlined: a steady stream whose next frame is not yet late."""
        base = s.base_ns
        if base is not None and s.connected and not final:
            watermark = self.now - s.lateness_ns
            if base + s.margin_ns >= watermark:  # StreamState.low() without skipping a passed prediction
                low = base - s.margin_ns
                return low if low > watermark else watermark
        return self._low(s, final)

    def _pass(self, s: StreamState[T], threshold: int) -> int:
        """When :meth:`_low` of a waited-for stream exceeds ``threshold``."""
        if not s.started:
            first = self.first_arrival if self.first_arrival is not None else self.now
            return min(threshold + s.lateness_ns + 1, first + self.config.startup_grace_ns + 1)
        return s.passes(threshold)

    def process(self, final: bool = False) -> None:
        """Take every decision the frames and the time allow."""
        while True:
            if not self._open and not self._open_set(final):
                return
            step = self._extend(final)
            if step == WAIT:
                return
            if step == CLOSE:
                self._close()

    def _open_set(self, final: bool) -> bool:
        heads = [(s.pending[0].ref_ns, idx) for idx, s in enumerate(self._streams) if s.pending]
        first, first_stream = min(heads) if heads else (-INF, -1)
        waiting = []
        outside = []
        for idx, s in enumerate(self._streams):
            if not s.pending:
                low = self._low(s, final)
                if low <= first:
                    waiting.append((low, idx))
                elif low < INF:
                    outside.append((low, idx))
        if not heads:  # nothing to decide until a frame comes
            self._wait(waiting, outside, heads, INF)
            return False
        if waiting:
            self._wait(waiting, outside, heads, INF)
            return False
        head = self._streams[first_stream].pending.popleft()
        self._open = [head]
        self._in_set = {head.stream}
        self._set_lo = self._set_hi = head.ref_ns
        self._win_lo, self._win_hi = head.ref_ns - head.half_window_ns, head.ref_ns + head.half_window_ns
        return True

    def _wait(self, waiting: list[tuple[int, int]], outside: list[tuple[int, int]], heads: list[tuple[int, int]],
              limit: int) -> None:
        """Remember what a waiting decision depends on, so that frames which cannot change it skip it:
        ``waiting``, the streams with nothing pending whose next frame may still count, and ``outside``, the
        other ones, as (bound, stream); ``heads``, the pending frames not yet taken, as (ref, stream)."""
        waiting.sort()
        outside.sort()
        heapify(heads)
        self._lows, self._outside, self._heads = waiting, outside, heads
        self._waiting = {idx for _, idx in waiting}
        self._tracked = True
        self._low_of = {idx: low for low, idx in waiting}
        self._outside_low = {idx: low for low, idx in outside}
        self._limit = limit
        if heads or limit < INF:
            self._rearm()
        else:
            self._threshold = self.wake = INF
            self._witness = -1

    def _rearm(self) -> None:
        """The exact wake-up: when the last bound that holds the decision passes the threshold (-INF: none holds
        it, decide now)."""
        heads = self._heads
        threshold = min(heads[0][0] if heads else INF, self._limit)
        self._threshold = threshold
        streams = self._streams
        lows = self._lows
        wake, witness = -INF, -1
        for n in range(bisect_right(lows, (threshold, INF))):
            idx = lows[n][1]
            passed = self._pass_of(streams[idx], threshold)
            if passed > wake:
                wake, witness = passed, idx
        self.wake, self._witness = wake, witness

    def _pass_of(self, s: StreamState[T], threshold: int) -> int:
        """When a waited-for stream's bound exceeds ``threshold`` (:meth:`_pass`, with the common case inlined)."""
        base = s.base_ns
        if base is not None and s.started:  # StreamState.passes(), inlined (hot path)
            margin = s.margin_ns
            k = (threshold + margin - base) // s.period_ns
            if k < 0:
                return -INF
            edge = base + k * s.period_ns + margin
            return (edge if edge < threshold else threshold) + s.lateness_ns + 1
        return self._pass(s, threshold)

    def _extend(self, final: bool) -> int:
        """Grow the open set: CLOSE when it must close, WAIT when it has to wait, AGAIN to look again."""
        members = self._open
        in_set = self._in_set
        half_cadence = self._half_cadence
        lo_ref, hi_ref, win_lo, win_hi = self._set_lo, self._set_hi, self._win_lo, self._win_hi
        heads: list[Entry[T]] = []
        unknown: dict[int, int] = {}
        unknown_low = INF
        for idx, s in enumerate(self._streams):
            if idx in in_set:
                continue
            if s.pending:
                heads.append(s.pending[0])
                continue
            low = self._bound(s, final)
            if low < INF:
                unknown[idx] = low
                if low < unknown_low:  # noqa: PLR1730 (hot path: cheaper than min())
                    unknown_low = low
        if len(heads) > 1:
            heads.sort(key=_ref_of)
        self._next_ref = next_ref = INF
        blocked = len(heads)
        for n, head in enumerate(heads):
            ref = head.ref_ns
            if ref >= unknown_low:
                next_ref = ref
                blocked = n
                break  # a stream with nothing pending may still deliver an earlier frame
            hw = head.half_window_ns
            mid = (lo_ref + hi_ref) // 2
            if ref > mid + half_cadence or ref < mid - half_cadence or ref - hw > win_hi or ref + hw < win_lo:
                if ref < lo_ref:  # stamped before the set's members: no later set can take it either
                    self._drop_head(head, DropReason.OFF_PERIOD if head.off_period else DropReason.LATE)
                    self._save_set(lo_ref, hi_ref, win_lo, win_hi)
                    return AGAIN
                self._save_set(lo_ref, hi_ref, win_lo, win_hi)
                self._next_ref = ref
                return CLOSE
            self._streams[head.stream].pending.popleft()
            members.append(head)
            in_set.add(head.stream)
            if ref < lo_ref:
                lo_ref = ref
            elif ref > hi_ref:
                hi_ref = ref
            win_lo, win_hi = max(win_lo, ref - hw), min(win_hi, ref + hw)
        self._save_set(lo_ref, hi_ref, win_lo, win_hi)
        limit = (lo_ref + hi_ref) // 2 + half_cadence
        if unknown_low > limit:
            self._next_ref = next_ref
            return CLOSE
        waiting: list[tuple[int, int]] = []
        outside: list[tuple[int, int]] = []
        for idx, low in unknown.items():
            (waiting if low <= limit else outside).append((low, idx))
        self._wait(waiting, outside, [(h.ref_ns, h.stream) for h in heads[blocked:]], limit)
        return WAIT

    def _save_set(self, lo_ref: int, hi_ref: int, win_lo: int, win_hi: int) -> None:
        self._set_lo, self._set_hi, self._win_lo, self._win_hi = lo_ref, hi_ref, win_lo, win_hi

    def _drop_head(self, head: Entry[T], reason: DropReason) -> None:
        s = self._streams[head.stream]
        s.pending.popleft()
        head.fate = reason
        self._drop(s, reason, head.seq)
        self._settle.changed(head.stream)

    def open_floor_ns(self) -> int:
        """The lowest reference time of the open set's members (INF: no set open)."""
        return self._set_lo if self._open else INF

    def _close(self) -> list[Entry[T]]:
        """Close the open set (``_next_ref``: the first frame left for a later one); returns its members."""
        members = self._open
        self._open = []
        lo, hi = self._set_lo, self._set_hi
        centre = (lo + hi) // 2
        half_cadence = self._half_cadence
        missing: list[tuple[int, MissingReason | None]] = []
        good: list[Entry[T]] = []
        streams = self._streams
        good_lo, good_hi = INF, -INF
        for e in members:
            s = streams[e.stream]
            ref = e.ref_ns
            s.frontier_ns = max(s.frontier_ns, ref)
            if e.corrupt:
                e.fate = DropReason.CORRUPT
                e.claimed = True
                self._drop(s, DropReason.CORRUPT, e.seq)
                missing.append((e.stream, MissingReason.CORRUPT))
            else:
                e.fate = MEMBER
                s.stats.matched += 1
                good.append(e)
                good_lo = min(good_lo, ref)
                good_hi = max(good_hi, ref)
        # Frames below this can no longer join a set: they belong to this one (an absent stream's frame here
        # was provably late or off its period), or precede the frame the next set starts with.
        frontier = min(centre + half_cadence, self._next_ref - 1)
        in_set = self._in_set
        for idx, s in enumerate(streams):
            if idx in in_set:
                continue
            if not s.pending and s.frontier_ns < frontier:
                s.frontier_ns = frontier
            if not s.started:
                continue  # not due before its first frame
            base = s.base_ns
            if (base is not None and not s.pending and s.last_ref_ns < centre - half_cadence
                    and base - s.margin_ns > centre + half_cadence):
                continue  # a slower steady stream with no frame within this set's reach: not due
            missing.append((idx, None))
        spread = good_hi - good_lo if good else 0
        self._settle.decided(self._next_id, centre, spread, tuple(good), missing, self.now,
                             [e.stream for e in members])
        self._next_id += 1
        self._in_set = set()
        return members


def _ref_of(e: Entry[T]) -> int:
    return e.ref_ns
