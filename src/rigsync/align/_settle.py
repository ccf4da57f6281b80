"""Settling why a frameset lacks a stream, once the stream's later frames tell (not public API).

When a set leaves without a stream, the reason is not known yet: the frame may come late, or the stream's
next frame may show, by a gap in its frame counter, that it was lost on the way; the device may turn out to
have been disconnected. Each such *slot* waits until the stream's frames around the set's centre are all
known (a frame beyond half a cadence after it has been received, or the stream's connection ended), then
takes the reason of the stream's frame nearest the centre within half a cadence:

* a frame lost on the way (counter gap) or in rigsync's queues (overrun, overflow): ``dropped``;
* a frame that came after the set had left (late, or off its stream's period): ``not_received``;
* a frame that is in another set: ``unmatched``;
* only a frame from before the recording began (warm-up, or before a scheduled start): none, the slot is removed
  (that moment's frame is not part of the recording, as for a stream that had not started);
* none: before the first frame after a reconnect, ``disconnected``; after the last frame of a connection
  that ended, the end's reason (``disconnected``, ``stopped``, or ``not_received`` when the stream just fell
  silent for ``settle_ns``) if a frame was due there by the stream's period; otherwise the stream was not due
  in that set (a slower stream between two of its frames) and the slot is removed.

Each lost or late frame explains at most one slot, the nearest. Sets are released in the order they were
decided.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

from rigsync.align.types import AlignerStats, Entry, Frameset, Mark
from rigsync.core.frameset import DropReason, MissingReason

T = TypeVar("T")
INF = 1 << 62

PENDING, MEMBER, LOST = "pending", "member", "lost"
_CLAIMS = {LOST: MissingReason.DROPPED, DropReason.HOST_OVERRUN: MissingReason.DROPPED,
           DropReason.RECORDER_OVERRUN: MissingReason.DROPPED, DropReason.OVERFLOW: MissingReason.DROPPED,
           DropReason.LATE: MissingReason.NOT_RECEIVED, DropReason.OFF_PERIOD: MissingReason.NOT_RECEIVED}


class _Unsettled(Generic[T]):
    __slots__ = ("decided_ns", "frameset_id", "members", "missing", "open", "rig_time_ns", "spread_ns")

    def __init__(self, frameset_id: int, rig_time_ns: int, spread_ns: int, members: tuple[Entry[T], ...],
                 missing: list[tuple[str, MissingReason | None]], decided_ns: int) -> None:
        self.frameset_id = frameset_id
        self.rig_time_ns = rig_time_ns
        self.spread_ns = spread_ns
        self.members = members
        self.missing = missing
        self.decided_ns = decided_ns
        self.open = 0  # slots still unsettled


class _Track:
    """One stream's recent frames (this connection) and the slots waiting on them."""

    __slots__ = ("begun_by_reconnect", "ended", "key", "marks", "period", "slots")

    def __init__(self, key: str, period_ns: int) -> None:
        self.key = key
        self.period = period_ns
        self.marks: list[Mark] = []
        self.slots: deque[tuple[_Unsettled[object], int]] = deque()
        self.ended: MissingReason | None = None  # why this connection ended (no later frame will come)
        self.begun_by_reconnect = False


class Settler(Generic[T]):
    """Holds decided sets until the reasons of their missing members are known."""

    def __init__(self, keys: Sequence[str], periods: Sequence[int], cadence_ns: int, settle_ns: int,
                 stats: AlignerStats) -> None:
        self._tracks = [_Track(k, p) for k, p in zip(keys, periods, strict=True)]
        self._half = cadence_ns // 2
        self._settle_ns = settle_ns
        self._stats = stats
        self._queue: deque[_Unsettled[T]] = deque()
        self.out: list[Frameset[T]] = []
        """Settled sets not taken yet."""
        self.expiry_ns = INF
        """When the oldest held set's centre is ``settle_ns`` old (INF: no set held)."""

    # --- what the aligner learns ----------------------------------------------------------------

    def mark(self, stream: int, mark: Mark, lost_before: int) -> None:
        """A frame of ``stream`` was received (pending, or dropped with ``mark.fate``); ``lost_before`` frames
        just before it never were (a gap in its counter)."""
        t = self._tracks[stream]
        marks = t.marks
        if lost_before:
            marks.extend(Mark(None, mark.seq - lost_before + k, LOST) for k in range(lost_before))
        marks.append(mark)
        if mark.ref_ns is not None and len(marks) > 1 and marks[-2].ref_ns is None:
            _interpolate(marks, t.period)
        if t.slots and (t.ended is not None or mark.ref_ns is None or mark.ref_ns > t.slots[0][0].rig_time_ns):
            self._resolve(t)
        elif len(marks) > 128:  # nothing waits on them: keep the recent ones (a later set may be older)
            del marks[:-64]

    def changed(self, stream: int) -> None:
        """Frames of ``stream`` left the pending state (joined a set, or were dropped)."""
        t = self._tracks[stream]
        if t.slots:
            self._resolve(t)

    def floor_ns(self) -> int:
        """The earliest time of a set held or not taken yet (INF: none)."""
        return min(min((u.rig_time_ns for u in self._queue), default=INF),
                   min((fs.rig_time_ns for fs in self.out), default=INF))

    def decided(self, frameset_id: int, rig_time_ns: int, spread_ns: int, members: tuple[Entry[T], ...],
                missing: list[tuple[int, MissingReason | None]], decided_ns: int, joined: list[int]) -> None:
        """A set was decided. ``missing``: absent streams that may have been due (reason None: to settle);
        ``joined``: the streams whose frames it took (their fates are now known)."""
        tracks = self._tracks
        for i in joined:
            if tracks[i].slots:
                self._resolve(tracks[i])
        u = _Unsettled(frameset_id, rig_time_ns, spread_ns, members,
                       [(tracks[i].key, r) for i, r in missing], decided_ns)
        self._queue.append(u)
        first = []
        for k, (i, reason) in enumerate(missing):
            if reason is None:
                t = self._tracks[i]
                u.open += 1
                t.slots.append((u, k))  # type: ignore[arg-type]
                if len(t.slots) == 1:
                    first.append(t)
        for t in first:
            self._resolve(t)
        self._release()

    def ended(self, stream: int, reason: MissingReason) -> None:
        """The stream's connection ended (disconnected, or the capture stops): no later frame will come."""
        t = self._tracks[stream]
        t.ended = reason
        self._resolve(t)

    def reconnected(self, stream: int) -> None:
        t = self._tracks[stream]
        self._resolve(t, force=MissingReason.DISCONNECTED)
        t.marks = []
        t.ended = None
        t.begun_by_reconnect = True

    def expire(self, now_ns: int) -> None:
        """Settle the slots of sets whose centre is more than ``settle_ns`` before ``now_ns``."""
        limit = now_ns - self._settle_ns
        while self._queue and self._queue[0].rig_time_ns < limit:
            head = self._queue[0]
            for t in self._tracks:
                if t.slots and t.slots[0][0] is head:
                    self._resolve(t, force=MissingReason.NOT_RECEIVED, until=head)
            self._release()
            if self._queue and self._queue[0] is head:
                break  # cannot happen: every open slot is the first of its stream's

    def take(self) -> list[Frameset[T]]:
        out, self.out = self.out, []
        return out

    # --- settling -------------------------------------------------------------------------------

    def _resolve(self, t: _Track, *, force: MissingReason | None = None, until: _Unsettled[T] | None = None,
                 ) -> None:
        """Settle the stream's slots whose reasons are known (``force``: settle them now with what is known, the
        frames after the last one counted missing for that reason)."""
        marks = t.marks
        half = self._half
        end = t.ended or force
        resolved = released = False
        while t.slots:
            u, k = t.slots[0]
            centre = u.rig_time_ns
            if end is None and not _known_around(marks, centre + half):
                break
            u.missing[k] = (u.missing[k][0], self._reason(t, centre, end))
            u.open -= 1
            t.slots.popleft()
            resolved = True
            released = released or u.open == 0
            if u is until:
                break
        if resolved and len(marks) > 8:  # keep what later slots may need
            lowest = (t.slots[0][0].rig_time_ns if t.slots else marks[-1].ref_ns or 0) - 2 * half - t.period
            cut = next((n for n, m in enumerate(marks) if m.ref_ns is None or m.ref_ns >= lowest), len(marks))
            del marks[:min(cut, len(marks) - 4)]
        if released:
            self._release()

    def _reason(self, t: _Track, centre: int, end: MissingReason | None) -> MissingReason | None:
        half = self._half
        best: Mark | None = None
        seen = False  # a frame of the stream near the centre that is not explained by a loss
        before_recording = False  # ... or only by the recording's start (a warm-up frame)
        first = last = None
        for m in t.marks:
            ref = m.ref_ns
            if ref is None:
                continue
            if first is None:
                first = ref
            last = ref
            if abs(ref - centre) > half:
                continue
            if m.fate == DropReason.WARMUP:
                before_recording = True
            elif m.fate not in _CLAIMS:
                seen = True
            elif not m.claimed and (best is None or abs(ref - centre) < abs(best.ref_ns - centre)):  # type: ignore[operator]
                best = m
        if best is not None:
            best.claimed = True
            return _CLAIMS[best.fate]
        if seen:
            return MissingReason.UNMATCHED
        if before_recording:
            return None
        period = t.period
        if first is not None and centre < first and t.begun_by_reconnect:
            return MissingReason.DISCONNECTED if _due(first - centre, period, half) else None
        if end is not None and (last is None or centre > last):
            return end if last is None or _due(centre - last, period, half) else None
        return None

    def _release(self) -> None:
        queue = self._queue
        stats = self._stats
        while queue and not queue[0].open:
            u = queue.popleft()
            missing = tuple((key, r) for key, r in u.missing if r is not None)
            stats.framesets += 1
            if not missing:
                stats.complete += 1
            for key, reason in missing:
                st = stats.streams[key]
                st.missing[reason] = st.missing.get(reason, 0) + 1
            self.out.append(Frameset(u.frameset_id, u.rig_time_ns, u.spread_ns, u.members, missing,
                                      u.decided_ns))
        self.expiry_ns = queue[0].rig_time_ns + self._settle_ns + 1 if queue else INF


def _known_around(marks: list[Mark], horizon: int) -> bool:
    """Every frame of the stream up to ``horizon`` is known, with its fate, and a later one was received."""
    if not marks or marks[-1].ref_ns is None or marks[-1].ref_ns <= horizon:
        return False
    for m in marks:
        ref = m.ref_ns
        if ref is not None and ref > horizon:
            return True
        if ref is None or m.fate == PENDING:
            return False
    return False


def _due(distance_ns: int, period_ns: int, half_ns: int) -> bool:
    """A stream with frames every ``period_ns`` had one within ``half_ns`` of a point ``distance_ns`` after (or
    before) one of its frames."""
    k = max(1, (distance_ns + period_ns // 2) // period_ns)
    return abs(distance_ns - k * period_ns) <= half_ns


def _interpolate(marks: list[Mark], period_ns: int) -> None:
    """Give the frames known only by their counter the reference times between their known neighbours (one
    period apart before the first known frame)."""
    end = len(marks) - 1
    right = marks[end]
    n = end - 1
    while n >= 0 and marks[n].ref_ns is None:
        n -= 1
    if n == end - 1:
        return
    assert right.ref_ns is not None
    if n < 0:
        for m in marks[:end]:
            m.ref_ns = right.ref_ns - (right.seq - m.seq) * period_ns
        return
    left = marks[n]
    assert left.ref_ns is not None
    span = right.seq - left.seq
    for m in marks[n + 1:end]:
        m.ref_ns = left.ref_ns + (right.ref_ns - left.ref_ns) * (m.seq - left.seq) // span
