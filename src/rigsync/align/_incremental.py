"""The aligner's decisions, one frame or wake-up at a time (not public API).

:class:`~rigsync.align._match.Matcher` decides from scratch over every stream. Between its full decisions,
:class:`IncrementalMatcher` keeps what they depend on (for every stream outside the open set, its first pending
frame or the bound below which its next frame cannot come) and applies each new frame, or the passing of time,
to it: it opens, grows and closes sets as the full decision would, so that a frame costs O(log N) and a set O(N)
(its members and absent streams). The full decision runs only where that is not clear (a frame refused, a frame
stamped before the open set, a stream the decision did not know of). The wake-up it leaves may be early, never
late: one bound's passing, made exact (the last bound's) when time reaches it.

``incremental = False`` runs the full decision for every frame and wake-up instead: tests hold the two to the
same sets, drops and decision instants.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import TypeVar

from rigsync.align._match import AGAIN, CLOSE, WAIT, Matcher
from rigsync.align._settle import Settler
from rigsync.align._state import INF, StreamState
from rigsync.align.types import AlignerConfig, Entry
from rigsync.core.frameset import DropReason

T = TypeVar("T")
IDLE = 3  # after WAIT, CLOSE, AGAIN: nothing pending, no set open


class IncrementalMatcher(Matcher[T]):
    """The aligner's matcher: full decisions where needed, incremental ones for the frames that follow."""

    def __init__(self, streams: Sequence[StreamState[T]], config: AlignerConfig, settle: Settler[T],
                 drop: Callable[[StreamState[T], DropReason, int], None]) -> None:
        super().__init__(streams, config, settle, drop)
        self.incremental = True
        """False: every frame and wake-up runs the full decision (for tests)."""

    def decided_fast(self, i: int, s: StreamState[T]) -> bool:
        """After a frame of stream ``i``: True if the decisions it allows were taken without deciding again over
        every stream (the wake-up left may then be early, never late); False if the full decision is needed."""
        if not self._tracked or not self.incremental:
            return False
        waiting = self._waiting
        if i in self._in_set:
            return True  # a member's next frame: for a later set
        pending = s.pending
        if len(pending) != 1:
            # It had a frame pending already (this one comes after it), or its frame was refused (its bound
            # moved): decide again.
            return bool(pending)
        if i in waiting:
            waiting.discard(i)
            lows = self._lows
            del lows[bisect_left(lows, (self._low_of.pop(i), i))]
            if i == self._witness:
                self._witness = -1
        else:
            low = self._outside_low.pop(i, None)
            if low is None:
                return False  # a stream the decision did not know of
            outside = self._outside
            del outside[bisect_left(outside, (low, i))]
        heappush(self._heads, (pending[0].ref_ns, i))
        return self._stands()

    def wake_up(self) -> None:
        """Time reached ``wake``: take the decisions that became possible. The bounds that held the decision are
        read again at ``now``, and the frames they no longer hold back taken as the full decision would."""
        if not self._tracked or not self.incremental or not self._refreshed():
            self.process()

    def awaits(self, i: int) -> bool:
        """A change of stream ``i``'s bound (a frame of it refused) may change the current decision."""
        return not self._tracked or not self.incremental or i in self._waiting or i in self._outside_low

    def _refreshed(self) -> bool:
        """The bounds up to the threshold read again: True if the decision stands (see :meth:`_stands`)."""
        lows = self._lows
        n = bisect_right(lows, (self._threshold, INF))
        self._witness = -1
        if n:
            held = lows[:n]
            del lows[:n]
            low_of, waiting, streams = self._low_of, self._waiting, self._streams
            for _, idx in held:
                low = self._low(streams[idx], False)
                if low < INF:
                    insort(lows, (low, idx))
                    low_of[idx] = low
                else:  # no longer waited for (disconnected, or never started within the grace)
                    waiting.discard(idx)
                    del low_of[idx]
        return self._stands()

    def _stands(self) -> bool:
        """After the decision's inputs changed: open, grow and close sets as the full decision would; True if
        that ended in a decision to wait, with ``wake`` after ``now``; False if the full decision is needed."""
        heads, lows = self._heads, self._lows
        # Most frames change nothing but the wake-up: a set is open and the first pending frame, like the set's
        # limit, is at or above the lowest bound (a stream with nothing pending may still deliver before it).
        if self._open and lows and lows[0][0] <= self._limit and (not heads or lows[0][0] <= heads[0][0]):
            step = WAIT
        else:
            step = self._next_decisions()
            if step == IDLE:
                return True
        if step == AGAIN or not self._rebound():
            return False
        if self.wake <= self.now:  # an early wake-up has passed: is the decision still standing?
            self._rearm()
        return self.wake > self.now

    def _next_decisions(self) -> int:
        """Open, grow and close sets until one waits (WAIT), nothing is pending and no set is open (IDLE, ``wake``
        set), or a frame stamped before the open set's members is to be dropped (AGAIN: the full decision does
        it)."""
        heads = self._heads
        while True:
            if not self._open:
                if not heads:  # only a frame changes the decision
                    self._threshold = self.wake = INF
                    self._witness = -1
                    return IDLE
                outside = self._outside
                if outside and outside[0][0] <= heads[0][0]:
                    self._reach(heads[0][0])
                lows = self._lows
                if lows and lows[0][0] <= heads[0][0]:
                    return WAIT  # a stream with nothing pending may deliver a frame before the first one
                self._open_first()
            step = self._take_heads()
            if step != CLOSE:
                return step
            self._reopen(self._close())

    def _rebound(self) -> bool:
        """After a frame changed what the decision waits for: its threshold, and an early wake-up, when the bound
        of the awaited stream closest below the threshold passes it (O(log N), made exact by :meth:`_rearm`
        when time reaches it). False if no bound holds the decision any more."""
        heads, lows = self._heads, self._lows
        threshold = heads[0][0] if heads and heads[0][0] < self._limit else self._limit
        if threshold >= self._threshold and self._witness in self._waiting:
            # The stream that set the wake-up still holds the decision, and its bound passes a higher threshold no
            # earlier: the wake-up stays early, never late.
            self._threshold = threshold
            return True
        n = bisect_right(lows, (threshold, INF))
        if not n:
            return False
        self._threshold = threshold
        idx = lows[n - 1][1]
        self.wake, self._witness = self._pass_of(self._streams[idx], threshold), idx
        return True

    def _reach(self, bound: int) -> None:
        """The streams whose bound is at most ``bound`` may hold the decision: from ``_outside`` to ``_lows``."""
        outside, lows, waiting, low_of, outside_low = (self._outside, self._lows, self._waiting, self._low_of,
                                                       self._outside_low)
        n = 0
        for low, idx in outside:
            if low > bound:
                break
            insort(lows, (low, idx))
            waiting.add(idx)
            low_of[idx] = low
            del outside_low[idx]
            n += 1
        del outside[:n]

    def _open_first(self) -> None:
        """Open a set with the first pending frame (no stream may deliver an earlier one): :meth:`_open_set`."""
        ref, idx = heappop(self._heads)
        head = self._streams[idx].pending.popleft()
        self._open = [head]
        self._in_set = {idx}
        self._set_lo = self._set_hi = ref
        self._win_lo, self._win_hi = ref - head.half_window_ns, ref + head.half_window_ns
        self._limit = limit = ref + self._half_cadence
        outside = self._outside
        if outside and outside[0][0] <= limit:
            self._reach(limit)

    def _take_heads(self) -> int:
        """A set is open: take the pending frames that are next in order, as :meth:`_extend` would; WAIT when
        the set waits for a stream, CLOSE when it must close (with ``_next_ref`` set), AGAIN when a frame
        stamped before its members is to be dropped (the full decision does it)."""
        heads, lows, streams, outside = self._heads, self._lows, self._streams, self._outside
        members, in_set = self._open, self._in_set
        lo_ref, hi_ref, win_lo, win_hi, limit = self._set_lo, self._set_hi, self._win_lo, self._win_hi, self._limit
        step = WAIT
        while heads and (not lows or heads[0][0] < lows[0][0]):
            ref, idx = heads[0]
            pending = streams[idx].pending
            head = pending[0]
            hw = head.half_window_ns
            if ref < lo_ref:
                step = AGAIN
                break
            if ref > limit or ref - hw > win_hi or ref + hw < win_lo:  # limit: the set's centre + half the cadence
                self._next_ref = ref
                step = CLOSE
                break
            heappop(heads)
            pending.popleft()
            members.append(head)
            in_set.add(idx)
            if ref > hi_ref:
                hi_ref = ref
                limit = (lo_ref + hi_ref) // 2 + self._half_cadence
            if ref - hw > win_lo:  # noqa: PLR1730 (hot path: cheaper than max())
                win_lo = ref - hw
            if ref + hw < win_hi:  # noqa: PLR1730 (hot path: cheaper than min())
                win_hi = ref + hw
            if outside and outside[0][0] <= limit:
                self._reach(limit)  # streams now within the set's reach hold it too
        self._set_hi, self._win_lo, self._win_hi, self._limit = hi_ref, win_lo, win_hi, limit
        if step == WAIT and (not lows or lows[0][0] > limit):
            self._next_ref = heads[0][0] if heads else INF
            return CLOSE  # nothing can join any more
        return step

    def _reopen(self, members: list[Entry[T]]) -> None:
        """After :meth:`_close`: the members' streams are outside a set again, with a pending frame or a bound."""
        streams, heads, outside, outside_low = self._streams, self._heads, self._outside, self._outside_low
        bounds = []
        for e in members:
            idx = e.stream
            s = streams[idx]
            if s.pending:
                heappush(heads, (s.pending[0].ref_ns, idx))
                continue
            low = self._bound(s, False)
            if low < INF:
                bounds.append((low, idx))
                outside_low[idx] = low
        outside += bounds
        outside.sort()  # two sorted runs, mostly: linear
        self._limit = INF
