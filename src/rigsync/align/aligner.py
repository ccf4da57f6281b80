"""Online frameset matching across N streams on rig time.

**What a frameset is.** A set of frames, at most one per stream, for which one instant ``c`` lies within
half of each member's own frame period of that member's start of exposure (after removing the member's
declared delay or stagger): every member is its stream's nearest frame to ``c``. The aligner builds each
set around its centre and shrinks every member's window by the member's stamp error bound, so the property
holds for the *true* exposure times whenever the error bounds hold.

**How sets are built.** Frames are taken in order of their reference time ``ref = rig_time - offset``.
The earliest pending frame opens a set; frames of other streams join while they are within half the rig's
shortest period of the set's centre (so a set never spans more than that period, and sets never cross) and
their windows intersect the set's. A set closes as soon as no stream can still contribute:

* every stream is in it (complete: emitted on the arrival of its last member), or
* for each absent stream, its next frame is known to fall after the set: it is pending already, or it is
  *provably late*: a steady stream is predicted at ``last + period`` and is late once that prediction plus
  the stream's lateness allowance (the largest latency seen recently, plus a margin) has passed; an
  irregular stream (Genlock on random triggers, bursts) is bounded by the watermark ``now - lateness``.

So a set never waits a fixed number of periods: at most one lateness allowance for a frame that will not
come. Streams that never started (after a start-up grace) or are disconnected are not waited for.

**Accounting.** Every frame pushed ends in exactly one set or is counted dropped with a reason; every
stream that was due in a set and is absent is listed with a reason. Memory is bounded by the per-stream
pending limit and the latency windows. No dependence on arrival order across streams.

Pure: no clocks are read; ``now`` comes with every call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from rigsync.align._state import INF, StreamState
from rigsync.align.types import AlignerConfig, AlignerStats, AlignStream, Entry, Frameset, StreamStats
from rigsync.core.frameset import DropReason, MissingReason

T = TypeVar("T")


class Aligner(Generic[T]):
    """Matches frames of many streams into framesets. See the module docstring for the rule."""

    def __init__(self, streams: Sequence[AlignStream], config: AlignerConfig | None = None) -> None:
        if not streams:
            raise ValueError("the aligner needs at least one stream")
        self.config = config or AlignerConfig()
        keys = [s.key for s in streams]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate stream keys: {keys}")
        self.stats = AlignerStats()
        self._streams: list[StreamState[T]] = []
        for s in streams:
            st = StreamStats()
            self.stats.streams[s.key] = st
            self._streams.append(StreamState(s, self.config, st))
        self._index = {s.key: i for i, s in enumerate(streams)}
        self._cadence = min(s.period_ns for s in streams)
        self._max_pending = self.config.max_pending
        self._now = -INF
        self._first_arrival: int | None = None
        self._next_id = 0
        self._open: list[Entry[T]] = []
        self._in_set: set[int] = set()
        self._set_lo = self._set_hi = self._win_lo = self._win_hi = 0
        self._wake_ns: int | None = None
        # A waiting decision: the streams it waits on with their lowest possible next ref, and the earliest
        # pending candidate; a push can only change the decision if it beats every other waiting bound.
        self._blocked_low: dict[int, int] | None = None
        self._blocked_head_ref = INF
        # open set waiting: every stream not in it with nothing pending, with its bound and wake time
        self._unknown_low: dict[int, int] = {}
        self._unknown_wake: dict[int, int] = {}

    # --- public API -----------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return [s.cfg.key for s in self._streams]

    def push(self, key: str, payload: T, *, seq: int, rig_time_ns: int, error_ns: int, arrival_ns: int,
             corrupt: bool = False) -> list[Frameset[T]]:
        """Add one frame (``arrival_ns`` on the rig clock is also the current time)."""
        i = self._index[key]
        s = self._streams[i]
        stats = s.stats
        stats.frames += 1
        self._now = max(self._now, arrival_ns)
        if self._first_arrival is None:
            self._first_arrival = arrival_ns
        ref = rig_time_ns - s.offset
        latency = arrival_ns - ref
        s.latency.add(latency)
        if stats.frames & 7 == 1 or latency > s.lateness:
            s.lateness = s.latency.allowance(self.config)
        last_seq = s.last_seq
        if last_seq is not None and seq > last_seq + 1:
            stats.dropped[DropReason.DEVICE] = stats.dropped.get(DropReason.DEVICE, 0) + seq - last_seq - 1
        if ref <= s.last_ref:
            self._drop(s, DropReason.OUT_OF_ORDER)
        elif ref <= s.frontier:
            self._drop(s, DropReason.LATE)
        else:
            s.last_ref = ref
            pending = s.pending
            if len(pending) >= self._max_pending:
                pending.popleft()
                self._drop(s, DropReason.OVERFLOW)
            hw = s.half_period - error_ns
            pending.append(Entry(i, seq, ref, rig_time_ns, error_ns, arrival_ns, payload, hw if hw > 0 else 0,
                                 corrupt))
            s.started = True
            s.predicted = ref + s.period if s.regular else None
            s.early = s.early_base + 2 * error_ns
        if last_seq is None or seq > last_seq:
            s.last_seq = seq
        blocked = self._blocked_low
        if blocked is not None and (self._wake_ns is None or self._now < self._wake_ns):
            if i not in blocked:
                return []  # the waiting decision depends on other streams or on time only
            if len(s.pending) == 1:
                del blocked[i]
                self._unknown_low.pop(i, None)
                self._blocked_head_ref = min(self._blocked_head_ref, ref)
                if blocked and min(blocked.values()) < self._blocked_head_ref:
                    return []  # another waited-for stream may still deliver an earlier frame
                if blocked and self._open and self._blocked_head_ref == ref and self._join_fast(s):
                    return []
        return self._process()

    def _join_fast(self, s: StreamState[T]) -> bool:
        """The common case of a waiting set: the one new frame is the next in order. Join it from the
        cached bounds of the streams still awaited; False if the full decision is needed."""
        head = s.pending[0]
        ref, hw = head.ref_ns, head.half_window_ns
        half_cadence = self._cadence // 2
        limit = (self._set_lo + self._set_hi) // 2 + half_cadence
        if ref > limit or ref - hw > self._win_hi or ref + hw < self._win_lo:
            return False
        lo_ref = ref if ref < self._set_lo else self._set_lo
        hi_ref = ref if ref > self._set_hi else self._set_hi
        limit = (lo_ref + hi_ref) // 2 + half_cadence
        waiting = {idx: low for idx, low in self._unknown_low.items() if low <= limit}
        if not waiting:
            return False
        wake = min([self._unknown_wake[idx] for idx in waiting])
        self._wake_ns = wake if wake < INF else None
        s.pending.popleft()
        self._open.append(head)
        self._in_set.add(head.stream)
        self._set_lo, self._set_hi = lo_ref, hi_ref
        self._win_lo = max(self._win_lo, ref - hw)
        self._win_hi = min(self._win_hi, ref + hw)
        self._blocked_low = waiting
        self._blocked_head_ref = INF
        return True

    def drop(self, key: str, seq: int, reason: DropReason) -> None:
        """A frame of this stream was received but will not be pushed (e.g. the recorder refused it): count
        it, so that its gap in the frame counter is not taken for a device drop."""
        s = self._streams[self._index[key]]
        s.stats.frames += 1
        self._drop(s, reason)
        s.last_seq = seq if s.last_seq is None else max(seq, s.last_seq)

    def advance(self, now_ns: int) -> list[Frameset[T]]:
        """Let time pass: emits sets whose absent members became provably late."""
        self._tick(now_ns)
        return self._process()

    def set_connected(self, key: str, connected: bool, now_ns: int) -> list[Frameset[T]]:
        """A stream's device disconnected (not waited for) or came back (its phase and its frame counter are
        new: it is due in sets again once a frame of it has joined one)."""
        s = self._streams[self._index[key]]
        s.connected = connected
        s.predicted = None
        if connected:
            s.last_seq = s.prev_seq = None
        self._tick(now_ns)
        return self._process()

    def next_deadline_ns(self) -> int | None:
        """When :meth:`advance` may next emit something without new frames (None: only frames will)."""
        return self._wake_ns

    def flush(self) -> list[Frameset[T]]:
        """Emit everything still pending (end of capture)."""
        out: list[Frameset[T]] = []
        while self._open or any(s.pending for s in self._streams):
            emitted = self._process(final=True)
            if not emitted:
                break
            out.extend(emitted)
        return out

    # --- internals ------------------------------------------------------------------------------

    def _drop(self, s: StreamState[T], reason: DropReason) -> None:
        s.stats.dropped[reason] = s.stats.dropped.get(reason, 0) + 1

    def _tick(self, now_ns: int) -> None:
        self._now = max(self._now, now_ns)

    def _bound(self, s: StreamState[T], final: bool, threshold: int) -> tuple[int, int]:
        """For a stream with nothing pending: the lowest reference time its next frame can have, and the
        time at which that bound may pass ``threshold`` without any frame arriving (``INF``: never)."""
        if final or not s.connected:
            return INF, INF
        lateness = s.lateness
        now = self._now
        wake = threshold + lateness + 1
        predicted = s.predicted
        if predicted is not None:
            if predicted + lateness < now:  # the predicted frame is provably late
                period = s.cfg.period_ns
                predicted += ((now - predicted - lateness) // period + 1) * period
                s.predicted = predicted
            low = predicted - s.early
            deadline = predicted + lateness + 1
            watermark = now - lateness
            return (low if low > watermark else watermark), (deadline if deadline < wake else wake)
        if not s.started:
            first = self._first_arrival
            if first is not None:
                if now - first > self.config.startup_grace_ns:
                    return INF, INF
                wake = min(wake, first + self.config.startup_grace_ns + 1)
        return now - lateness, wake

    def _process(self, final: bool = False) -> list[Frameset[T]]:
        out: list[Frameset[T]] = []
        self._wake_ns = None
        self._blocked_low = None
        while True:
            if not self._open and not self._open_set(final):
                return out
            if not self._extend(final):
                return out
            out.append(self._close(final))

    def _open_set(self, final: bool) -> bool:
        head: Entry[T] | None = None
        for s in self._streams:
            if s.pending and (head is None or s.pending[0].ref_ns < head.ref_ns):
                head = s.pending[0]
        if head is None:
            return False
        waiting = []
        for idx, s in enumerate(self._streams):
            if not s.pending:
                low, wake = self._bound(s, final, head.ref_ns)
                if low <= head.ref_ns:
                    waiting.append((idx, low, wake))
        if waiting:
            self._block(waiting, head.ref_ns)
            self._unknown_low = {}
            return False
        self._streams[head.stream].pending.popleft()
        self._open = [head]
        self._in_set = {head.stream}
        self._set_lo = self._set_hi = head.ref_ns
        self._win_lo, self._win_hi = head.ref_ns - head.half_window_ns, head.ref_ns + head.half_window_ns
        return True

    def _note_wake(self, wake: int | None) -> None:
        if wake is not None and (self._wake_ns is None or wake < self._wake_ns):
            self._wake_ns = wake

    def _extend(self, final: bool) -> bool:
        """Grow the open set; True when it must close, False when it has to wait."""
        members = self._open
        in_set = self._in_set
        half_cadence = self._cadence // 2
        lo_ref, hi_ref, win_lo, win_hi = self._set_lo, self._set_hi, self._win_lo, self._win_hi
        limit = (lo_ref + hi_ref) // 2 + half_cadence
        heads: list[Entry[T]] = []
        unknown: list[tuple[int, int, int]] = []  # (stream, lowest next ref, wake)
        unknown_low = INF
        bound = self._bound
        horizon = limit + half_cadence
        now = self._now
        for idx, s in enumerate(self._streams):
            if idx in in_set:
                continue
            if s.pending:
                heads.append(s.pending[0])
                continue
            predicted = s.predicted
            lateness = s.lateness
            if predicted is not None and s.connected and not final and predicted + lateness >= now:
                # The common case of _bound(), inlined: a steady stream whose next frame is not yet late.
                low = predicted - s.early
                low = max(low, now - lateness)
                wake = predicted + lateness + 1
                wake = min(wake, horizon + lateness + 1)
            else:
                low, wake = bound(s, final, horizon)
            unknown.append((idx, low, wake))
            if low < unknown_low:  # noqa: PLR1730 (hot path: cheaper than min())
                unknown_low = low
        if len(heads) > 1:
            heads.sort(key=_ref_of)
        next_ref = INF
        for head in heads:
            ref = head.ref_ns
            if ref > unknown_low:
                next_ref = ref
                break  # a stream with nothing pending may still deliver an earlier frame
            hw = head.half_window_ns
            if ref > limit or ref - hw > win_hi or ref + hw < win_lo:
                return True
            self._streams[head.stream].pending.popleft()
            members.append(head)
            in_set.add(head.stream)
            if ref < lo_ref:
                lo_ref = ref
            elif ref > hi_ref:
                hi_ref = ref
            win_lo, win_hi = max(win_lo, ref - hw), min(win_hi, ref + hw)
            limit = (lo_ref + hi_ref) // 2 + half_cadence
        self._set_lo, self._set_hi, self._win_lo, self._win_hi = lo_ref, hi_ref, win_lo, win_hi
        waiting = [w for w in unknown if w[1] <= limit]
        if not waiting:
            return True
        self._block(waiting, next_ref)
        self._unknown_low = {idx: low for idx, low, _ in unknown}
        self._unknown_wake = {idx: wake for idx, _, wake in unknown}
        return False

    def _block(self, waiting: list[tuple[int, int, int]], head_ref: int) -> None:
        """Remember what a waiting decision depends on, so pushes that cannot change it skip it."""
        self._blocked_low = {idx: low for idx, low, _ in waiting}
        self._blocked_head_ref = head_ref
        wake = min(w for _, _, w in waiting)
        if wake < INF:
            self._note_wake(wake)

    def _close(self, final: bool) -> Frameset[T]:
        members = self._open
        self._open = []
        refs = [e.ref_ns for e in members]
        centre = (min(refs) + max(refs)) // 2
        present = {e.stream for e in members}
        missing: list[tuple[str, MissingReason]] = []
        good: list[Entry[T]] = []
        for e in members:
            s = self._streams[e.stream]
            s.frontier = max(s.frontier, e.ref_ns)
            s.prev_seq = e.seq
            if e.corrupt:
                self._drop(s, DropReason.CORRUPT)
                missing.append((s.cfg.key, MissingReason.CORRUPT))
            else:
                s.stats.matched += 1
                good.append(e)
        limit = centre + self._cadence // 2
        for idx, s in enumerate(self._streams):
            if idx in present:
                continue
            reason = self._absence(s, centre, final)
            if not s.pending:
                s.frontier = max(s.frontier, limit)
            if reason is not None:
                missing.append((s.cfg.key, reason))
        for key, reason in missing:
            st = self.stats.streams[key]
            st.missing[reason] = st.missing.get(reason, 0) + 1
        self.stats.framesets += 1
        if not missing:
            self.stats.complete += 1
        spread = max(e.ref_ns for e in good) - min(e.ref_ns for e in good) if good else 0
        fs = Frameset(self._next_id, centre, spread, tuple(good), tuple(missing), self._now)
        self._next_id += 1
        return fs

    def _absence(self, s: StreamState[T], centre: int, final: bool) -> MissingReason | None:
        """Why a stream absent from a set was due there, or None if it was not due.

        A stream is due once it has delivered a frame into an earlier set; then a stream running at the set
        cadence is due in every set, a slower stream only in the set nearest one of its (predicted) frames.
        """
        if s.prev_seq is None:
            return None  # not started yet, as far as sets go
        if not s.connected:
            return MissingReason.DISCONNECTED
        period = s.cfg.period_ns
        half = self._cadence // 2
        every_set = period < self._cadence * 3 // 2
        if s.pending:
            head = s.pending[0]
            if not every_set and abs(head.ref_ns - period - centre) > half:
                return None
            dropped = head.seq > s.prev_seq + 1
            return MissingReason.DROPPED if dropped else MissingReason.UNMATCHED
        if final:
            return MissingReason.STOPPED
        if every_set:
            return MissingReason.NOT_RECEIVED
        if s.predicted is None:
            return None
        p = s.predicted
        while p - period >= centre - half:
            p -= period
        return MissingReason.NOT_RECEIVED if abs(p - centre) <= half else None


def _ref_of(e: Entry[T]) -> int:
    return e.ref_ns
