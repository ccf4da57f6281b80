"""The matching decisions of the aligner: open a set, grow it in order, wait, close (not public API).

See :mod:`rigsync.align.aligner` for the rule. :meth:`Matcher.process` takes every decision the pending
frames and the time ``now`` allow, from scratch over every stream; :meth:`Matcher.decided_fast` applies one
new frame to the current waiting decision from what that decision cached (bounds in sorted lists, pending
frames in a heap), so that a frame costs O(log N) but for the few that change the decision.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush
from typing import Generic, TypeVar

from rigsync.align._settle import MEMBER, Settler
from rigsync.align._state import INF, StreamState
from rigsync.align.types import AlignerConfig, Entry
from rigsync.core.frameset import DropReason, MissingReason

T = TypeVar("T")
_WAIT, _CLOSE, _AGAIN = range(3)


class Matcher(Generic[T]):
    """The open set and the current waiting decision over the aligner's streams."""

    def __init__(self, streams: Sequence[StreamState[T]], config: AlignerConfig, settle: Settler[T],
                 drop: Callable[[StreamState[T], DropReason, int], None]) -> None:
        self._streams = streams
        self.config = config
        self._settle = settle
        self._drop = drop
        self._half_cadence = min(s.period for s in streams) // 2
        self.now = -INF
        self.first_arrival: int | None = None
        self._next_id = 0
        self._open: list[Entry[T]] = []
        self._in_set: set[int] = set()
        self._set_lo = self._set_hi = self._win_lo = self._win_hi = 0
        self._next_ref = INF  # ref of the first pending frame left for a later set when the open set closes
        # The current waiting decision. ``_lows``: the streams with nothing pending that may still deliver a
        # frame the decision waits for, as sorted (bound, stream); ``_outside``: the other streams with nothing
        # pending (for a set whose limit moves up); ``_heads``: the pending frames not yet taken (a heap); the
        # set's limit. The decision changes once every bound up to ``_threshold`` = min(first head, limit) has
        # passed it: ``_passes`` says when for each, ``wake`` is the last of them.
        self._waiting: set[int] | None = None  # None: decide again on the next frame
        self._lows: list[tuple[int, int]] = []
        self._low_of: dict[int, int] = {}
        self._outside: list[tuple[int, int]] = []
        self._outside_low: dict[int, int] = {}
        self._heads: list[tuple[int, int]] = []
        self._limit = self._threshold = INF
        self._passes: dict[int, int] = {}
        self.wake = INF
        """The first moment the decision can change without new frames (INF: none)."""

    def _low(self, s: StreamState[T], final: bool) -> int:
        """Lowest reference time of an on-time next frame of a stream with nothing pending (INF: none)."""
        if final or not s.connected:
            return INF
        if not s.started:
            first = self.first_arrival
            if first is not None and self.now > first + self.config.startup_grace_ns:
                return INF
            return self.now - s.lateness
        return s.low(self.now)

    def _pass(self, s: StreamState[T], threshold: int) -> int:
        """When :meth:`_low` of a waited-for stream exceeds ``threshold``."""
        if not s.started:
            first = self.first_arrival if self.first_arrival is not None else self.now
            return min(threshold + s.lateness + 1, first + self.config.startup_grace_ns + 1)
        return s.passes(threshold)

    def process(self, final: bool = False) -> None:
        """Take every decision the frames and the time allow."""
        while True:
            if not self._open and not self._open_set(final):
                return
            step = self._extend(final)
            if step == _WAIT:
                return
            if step == _CLOSE:
                self._close()

    def _open_set(self, final: bool) -> bool:
        head: Entry[T] | None = None
        for s in self._streams:
            if s.pending and (head is None or s.pending[0].ref_ns < head.ref_ns):
                head = s.pending[0]
        if head is None:
            self._waiting = None
            self.wake = INF
            return False
        waiting = []
        outside = []
        for idx, s in enumerate(self._streams):
            if not s.pending:
                low = self._low(s, final)
                if low <= head.ref_ns:
                    waiting.append((low, idx))
                elif low < INF:
                    outside.append((low, idx))
        if waiting:
            self._wait(waiting, outside, [(head.ref_ns, head.stream)], INF)
            return False
        self._streams[head.stream].pending.popleft()
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
        self._low_of = {idx: low for low, idx in waiting}
        self._outside_low = {idx: low for low, idx in outside}
        self._limit = limit
        self._rearm()

    def _rearm(self) -> None:
        """When each bound that holds the decision passes what it waits for, and when the last one does."""
        heads = self._heads
        threshold = min(heads[0][0] if heads else INF, self._limit)
        self._threshold = threshold
        streams = self._streams
        lows = self._lows
        self._passes = passes = {}
        wake = -INF
        for n in range(bisect_right(lows, (threshold, INF))):
            idx = lows[n][1]
            s = streams[idx]
            base = s.base
            if base is not None and s.started:  # StreamState.passes(), inlined (hot path)
                margin = s.margin
                edge = base + (threshold + margin - base) // s.period * s.period + margin
                passed = (edge if edge < threshold else threshold) + s.lateness + 1
            else:
                passed = self._pass(s, threshold)
            passes[idx] = passed
            if passed > wake:  # noqa: PLR1730 (hot path: cheaper than max())
                wake = passed
        self.wake = wake if passes else INF

    def awaits(self, i: int) -> bool:
        """A frame of stream ``i`` (or a change of its bound) may change the current decision."""
        return self._waiting is None or i in self._waiting

    def decided_fast(self, i: int, s: StreamState[T]) -> bool:
        """After a frame of stream ``i``: True if the waiting decision stands, or the frames now next in order
        were taken in, without deciding again over every stream (the wake-up left may then be early, never
        late); False if the full decision is needed."""
        waiting = self._waiting
        if waiting is None:
            return False
        if self._open and i in self._in_set:
            return True  # a member's next frame: for a later set
        pending = s.pending
        if len(pending) != 1:
            # It had a frame pending already (this one comes after it), or its frame was refused (its bound
            # moved): only the latter can change the decision.
            return bool(pending) or i not in waiting
        ref = pending[0].ref_ns
        if i in waiting:
            self._unwait(i)
        elif not self._unoutside(i):
            return False  # a stream the decision did not know of
        heappush(self._heads, (ref, i))
        standing = self._still_blocked() if not self._open else self._take_heads()
        # a bound cached by the last full decision may have passed already: then decide in full now
        return standing and self.wake > self.now

    def _unwait(self, i: int) -> None:
        """Stream ``i`` delivered: its bound no longer holds the decision."""
        assert self._waiting is not None
        self._waiting.discard(i)
        lows = self._lows
        del lows[bisect_left(lows, (self._low_of.pop(i), i))]
        passes = self._passes
        passed = passes.pop(i, None)
        if passed is not None and passed >= self.wake:
            self.wake = max(passes.values()) if passes else INF

    def _unoutside(self, i: int) -> bool:
        """Stream ``i``, not awaited, delivered: False if the decision did not know it (its bound was INF)."""
        low = self._outside_low.pop(i, None)
        if low is None:
            return False
        outside = self._outside
        del outside[bisect_left(outside, (low, i))]
        return True

    def _still_blocked(self) -> bool:
        """No set open: the earliest frame still waits for a stream that may deliver an earlier one."""
        heads, lows = self._heads, self._lows
        if not lows or heads[0][0] < lows[0][0]:
            return False  # the earliest frame can open a set now
        if heads[0][0] < self._threshold:
            self._rearm()  # it waits for fewer streams, on a lower threshold
        return bool(self._passes)

    def _take_heads(self) -> bool:
        """A set is open: take the pending frames that are next in order, as the full decision would (a join
        made here stands); False when the set must close or the full decision is needed."""
        heads, lows, streams = self._heads, self._lows, self._streams
        half_cadence = self._half_cadence
        while heads and (not lows or heads[0][0] < lows[0][0]):
            ref, idx = heads[0]
            head = streams[idx].pending[0]
            hw = head.half_window_ns
            lo_ref, hi_ref = self._set_lo, self._set_hi
            if (ref > (lo_ref + hi_ref) // 2 + half_cadence or ref < lo_ref or ref - hw > self._win_hi
                    or ref + hw < self._win_lo):
                return False  # it closes the set (or is dropped): the full decision does both
            heappop(heads)
            streams[idx].pending.popleft()
            self._open.append(head)
            self._in_set.add(idx)
            if ref > hi_ref:
                self._set_hi = hi_ref = ref
            self._win_lo = max(self._win_lo, ref - hw)
            self._win_hi = min(self._win_hi, ref + hw)
            self._limit = limit = (lo_ref + hi_ref) // 2 + half_cadence
            # Streams now within the set's reach hold it too.
            outside = self._outside
            if outside and outside[0][0] <= limit:
                n = 0
                for low, other in outside:
                    if low > limit:
                        break
                    insort(lows, (low, other))
                    self._waiting.add(other)  # type: ignore[union-attr]
                    self._low_of[other] = low
                    del self._outside_low[other]
                    n += 1
                del outside[:n]
        if not lows or lows[0][0] > self._limit:
            return False  # nothing can join any more: the set closes
        threshold = min(heads[0][0] if heads else INF, self._limit)
        if threshold < self._threshold or not self._passes:
            self._rearm()
        return bool(self._passes)

    def _extend(self, final: bool) -> int:
        """Grow the open set: _CLOSE when it must close, _WAIT when it has to wait, _AGAIN to look again."""
        members = self._open
        in_set = self._in_set
        half_cadence = self._half_cadence
        lo_ref, hi_ref, win_lo, win_hi = self._set_lo, self._set_hi, self._win_lo, self._win_hi
        heads: list[Entry[T]] = []
        unknown: dict[int, int] = {}
        unknown_low = INF
        now = self.now
        for idx, s in enumerate(self._streams):
            if idx in in_set:
                continue
            if s.pending:
                heads.append(s.pending[0])
                continue
            base = s.base
            if base is not None and s.connected and not final and base + s.margin >= now - s.lateness:
                # The common case of StreamState.low(), inlined: a steady stream whose next frame is not yet late.
                low = base - s.margin
                watermark = now - s.lateness
                if watermark > low:  # noqa: PLR1730 (hot path: cheaper than max())
                    low = watermark
            else:
                low = self._low(s, final)
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
                    return _AGAIN
                self._save_set(lo_ref, hi_ref, win_lo, win_hi)
                self._next_ref = ref
                return _CLOSE
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
            return _CLOSE
        waiting: list[tuple[int, int]] = []
        outside: list[tuple[int, int]] = []
        for idx, low in unknown.items():
            (waiting if low <= limit else outside).append((low, idx))
        self._wait(waiting, outside, [(h.ref_ns, h.stream) for h in heads[blocked:]], limit)
        return _WAIT

    def _save_set(self, lo_ref: int, hi_ref: int, win_lo: int, win_hi: int) -> None:
        self._set_lo, self._set_hi, self._win_lo, self._win_hi = lo_ref, hi_ref, win_lo, win_hi

    def _drop_head(self, head: Entry[T], reason: DropReason) -> None:
        s = self._streams[head.stream]
        s.pending.popleft()
        head.fate = reason
        self._drop(s, reason, head.seq)
        self._settle.changed(head.stream)

    def _close(self) -> None:
        members = self._open
        self._open = []
        lo, hi = self._set_lo, self._set_hi
        centre = (lo + hi) // 2
        half_cadence = self._half_cadence
        missing: list[tuple[int, MissingReason | None]] = []
        good: list[Entry[T]] = []
        streams = self._streams
        for e in members:
            s = streams[e.stream]
            s.frontier = max(s.frontier, e.ref_ns)
            if e.corrupt:
                e.fate = DropReason.CORRUPT
                e.claimed = True
                self._drop(s, DropReason.CORRUPT, e.seq)
                missing.append((e.stream, MissingReason.CORRUPT))
            else:
                e.fate = MEMBER
                s.stats.matched += 1
                good.append(e)
        # Frames below this can no longer join a set: they belong to this one (an absent stream's frame here
        # was provably late or off its period), or precede the frame the next set starts with.
        frontier = min(centre + half_cadence, self._next_ref - 1)
        in_set = self._in_set
        for idx, s in enumerate(streams):
            if idx in in_set:
                continue
            if not s.pending and s.frontier < frontier:
                s.frontier = frontier
            if not s.started:
                continue  # not due before its first frame
            base = s.base
            if (base is not None and not s.pending and s.last_ref < centre - half_cadence
                    and base - s.margin > centre + half_cadence):
                continue  # a slower steady stream with no frame within this set's reach: not due
            missing.append((idx, None))
        spread = max(e.ref_ns for e in good) - min(e.ref_ns for e in good) if good else 0
        self._settle.decided(self._next_id, centre, spread, tuple(good), missing, self.now,
                             [e.stream for e in members])
        self._next_id += 1


def _ref_of(e: Entry[T]) -> int:
    return e.ref_ns
