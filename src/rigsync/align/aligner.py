"""Online frameset matching across N streams on rig time.

**What a frameset is.** A set of frames, at most one per stream, for which one instant ``c`` lies within
half of each member's own frame period of that member's start of exposure (after removing the member's
declared delay or stagger): every member is its stream's nearest frame to ``c``. The aligner builds each
set around its centre and shrinks every member's window by the member's stamp error bound, so the property
holds for the *true* exposure times whenever the error bounds hold. A frame stamped while its clock is still
being acquired or a step is being slewed (``locked=False``) is matched on its unshrunk window: its bound is
then a transient of the estimate, and shrinking by it would split every set while the rig's clocks lock.

**How sets are built.** Frames are taken in order of their reference time ``ref = rig_time - offset``.
The earliest frame opens a set; the next frames, in order, join while they lie within half the rig's
shortest period (the *cadence*) of the set's centre (so a set never spans more than the cadence, and sets
never cross) and their windows intersect the set's; the first one that does not closes the set and belongs
to a later one. A frame is only taken once no stream can still deliver an earlier one, and a set closes once
no absent stream can still deliver a frame that joins it. What a stream with nothing pending can still deliver
on time is bounded below by

* the *watermark* ``now - L``: a frame stamped earlier would arrive more than the stream's lateness
  allowance ``L`` after its stamp (``L``: a high quantile of its recent latencies plus a margin, see
  ``Latency.allowance``); and
* for a steady stream, its prediction: the next frame is stamped within a small margin of the last stamp
  plus a period (a prediction the watermark has passed is taken as lost, and the next one applies).

So a set never waits a fixed number of periods: at most the allowance after the moment a waited-for frame
was due. Streams that never started (after a start-up grace) or are disconnected are not waited for.
``next_deadline_ns`` is the moment the decision changes if no frame comes: when the last of the bounds that
hold it passes what it waits on (the next frame in order, or the set's limit). Between full decisions it may
be earlier than that, never later.

**Decisions do not depend on when** :meth:`advance` **is called.** The bounds only rise with time, and
every call first takes the decisions its time allows (a frame arriving at ``t`` finds every set that could
leave before ``t`` gone). The same pushes, with the same arrival times, give the same sets, members,
missing reasons and drops, whether time is advanced to every deadline, at random, or never.

**Late and off-period frames.** A frame whose set has left (its reference time is below its stream's
*frontier*: the set's centre plus half the cadence, or just below the frame the next set starts with) or
that would come before an open set's members is dropped: as ``off_period`` if it arrived within its allowance
but its stamp lies outside every window its steady stream's prediction allowed (so the set did not wait for
it); otherwise as ``late``: its set left because the watermark had passed it, i.e. its stream was provably
late. A frame within its allowance and its prediction is never dropped.

**Accounting.** Every frame received ends in exactly one set or is counted dropped with a reason; every
stream due in a set and absent from it is listed with the reason its later frames show (see ``_settle``):
sets are returned once those reasons are known, usually one frame after they were decided. Memory is
bounded by the per-stream pending limit, the latency windows and ``settle_ns``. No dependence on arrival
order across streams.

Pure: no clocks are read; ``now`` comes with every call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from rigsync.align._incremental import IncrementalMatcher
from rigsync.align._settle import Settler
from rigsync.align._state import INF, StreamState
from rigsync.align.types import AlignerConfig, AlignerStats, AlignStream, Entry, Frameset, Mark, StreamStats
from rigsync.core.frameset import DropReason, MissingReason

T = TypeVar("T")


class Aligner(Generic[T]):
    """Matches frames of many streams into framesets. See the module docstring for the rule."""

    def __init__(self, streams: Sequence[AlignStream], config: AlignerConfig | None = None, *,
                 on_drop: Callable[[str, int, DropReason], None] | None = None) -> None:
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
        self._max_pending = self.config.max_pending
        self._on_drop = on_drop
        self._settle: Settler[T] = Settler(keys, [s.period_ns for s in streams], min(s.period_ns for s in streams),
                                           self.config.settle_ns, self.stats)
        self._m: IncrementalMatcher[T] = IncrementalMatcher(self._streams, self.config, self._settle, self._drop)

    # --- public API -----------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return [s.cfg.key for s in self._streams]

    def allowance_ns(self, key: str) -> int:
        """The stream's current lateness allowance (what a frame's latency is compared with)."""
        return self._streams[self._index[key]].lateness_ns

    def push(self, key: str, payload: T, *, seq: int, rig_time_ns: int, error_ns: int, arrival_ns: int,
             corrupt: bool = False, locked: bool = True) -> list[Frameset[T]]:
        """Add one frame (``arrival_ns`` on the rig clock is also the current time). ``locked=False``: the
        stamp's clock was still being acquired or slewed, so its error bound does not shrink its window.
        Returns the sets whose missing reasons became known (see the module docstring)."""
        m = self._m
        if arrival_ns > m.now:
            if arrival_ns >= m.wake or arrival_ns >= self._settle.expiry_ns or m.first_arrival is None:
                self._at(arrival_ns)
            else:
                m.now = arrival_ns
        i = self._index[key]
        s = self._streams[i]
        s.stats.frames += 1
        ref = rig_time_ns - s.offset_ns
        latency = arrival_ns - ref
        # A frame that came within its allowance but off its steady period is not late if dropped.
        off_period = s.base_ns is not None and latency <= s.lateness_ns and s.off_period(ref)
        if s.latency.add(latency) & 7 == 1 or latency > s.lateness_ns:  # _learn(), inlined (hot path)
            s.lateness_ns = s.latency.allowance(self.config)
        last_seq = s.last_seq
        if last_seq is not None and seq == last_seq + 1:
            s.last_seq, lost = seq, 0
        else:
            lost = self._counter(s, seq)
        if ref <= s.last_ref_ns:
            self._refuse(i, s, seq, ref, error_ns, DropReason.OUT_OF_ORDER, lost)
        elif ref <= s.frontier_ns:
            self._refuse(i, s, seq, ref, error_ns, DropReason.OFF_PERIOD if off_period else DropReason.LATE, lost)
        else:
            s.last_ref_ns = ref
            pending = s.pending
            if len(pending) >= self._max_pending:
                old = pending.popleft()
                old.fate = DropReason.OVERFLOW
                self._drop(s, DropReason.OVERFLOW, old.seq)
                self._settle.changed(i)
            hw = s.half_period_ns - error_ns if locked else s.half_period_ns
            entry = Entry(i, seq, ref, rig_time_ns, error_ns, arrival_ns, payload, hw if hw > 0 else 0, corrupt,
                          off_period)
            pending.append(entry)
            self._settle.mark(i, entry, lost)
            s.started = True
            s.base_ns = ref + s.period_ns if s.regular else None
            s.margin_ns = s.margin_base_ns + 2 * error_ns
        if not m.decided_fast(i, s):
            m.process()
        return self._settle.take() if self._settle.out else []

    def drop(self, key: str, seq: int, reason: DropReason, *, rig_time_ns: int | None = None, error_ns: int = 0,
             arrival_ns: int | None = None) -> list[Frameset[T]]:
        """A frame of this stream will not be pushed: refused by the recorder, received before the recording
        started (``WARMUP``: not counted in ``frames``), or lost in the driver's queue (``HOST_OVERRUN``: never
        received, no stamp). Counted with its reason, so its gap in the frame counter is not taken for a device
        drop; with its stamp (and error bound), it also tells when the stream's next frame is due."""
        if arrival_ns is not None and arrival_ns > self._m.now:
            self._at(arrival_ns)
        i = self._index[key]
        s = self._streams[i]
        if reason not in (DropReason.WARMUP, DropReason.HOST_OVERRUN):
            s.stats.frames += 1
        ref = rig_time_ns - s.offset_ns if rig_time_ns is not None else None
        if ref is not None and arrival_ns is not None:
            self._learn(s, arrival_ns - ref)
        lost = self._counter(s, seq)
        self._refuse(i, s, seq, ref, error_ns, reason, lost)
        if self._m.awaits(i):
            self._m.process()
        return self._settle.take()

    def advance(self, now_ns: int) -> list[Frameset[T]]:
        """Let time pass: sets whose absent members became provably late leave."""
        if now_ns > self._m.now:
            self._at(now_ns)
        return self._settle.take()

    def set_connected(self, key: str, connected: bool, now_ns: int) -> list[Frameset[T]]:
        """A stream's device disconnected (not waited for) or came back (its phase and its frame counter are
        new; until its first frame it is listed missing as disconnected). A stream whose device went away
        before its first frame is due from then on, as one that had started."""
        if now_ns > self._m.now:
            self._at(now_ns)
        i = self._index[key]
        s = self._streams[i]
        s.connected = connected
        s.base_ns = None
        if connected:
            s.last_seq = None
            self._settle.reconnected(i)
        else:
            s.started = True
            self._settle.ended(i, MissingReason.DISCONNECTED)
        self._m.process()
        return self._settle.take()

    def next_deadline_ns(self) -> int | None:
        """When :meth:`advance` may next decide or return something without new frames (None: only frames
        will)."""
        wake = min(self._m.wake, self._settle.expiry_ns)
        return wake if wake < INF else None

    def floor_ns(self) -> int:
        """A lower bound of the time (base timeline) of everything the aligner may still return or be given on
        time, as of the last call: the sets it holds, its pending frames, and each stream's next on-time frame
        (stamped no earlier than the last ``now`` minus the stream's lateness allowance, less a negative declared
        offset). A frame later than its allowance can still come below it (the aligner drops it ``late``).
        A recorder writes what is older in log-time order (``Recorder.advance``)."""
        m = self._m
        floor = min(self._settle.floor_ns(), m.open_floor_ns())
        for s in self._streams:
            if s.pending:
                floor = min(floor, s.pending[0].ref_ns)
            floor = min(floor, m.now - s.lateness_ns + min(s.offset_ns, 0))
        return floor

    def flush(self) -> list[Frameset[T]]:
        """Decide and return everything still held (end of capture)."""
        self._m.process(final=True)
        for i, s in enumerate(self._streams):
            if s.connected:
                self._settle.ended(i, MissingReason.STOPPED if s.last_seq is not None or not s.started
                                   else MissingReason.DISCONNECTED)
        return self._settle.take()

    # --- internals ------------------------------------------------------------------------------

    def _at(self, now: int) -> None:
        """Time is ``now``: take the decisions that became possible before it."""
        m = self._m
        m.now = now
        if m.first_arrival is None:
            m.first_arrival = now
        if now >= m.wake:
            m.wake_up()
        if now >= self._settle.expiry_ns:
            self._settle.expire(now)

    def _learn(self, s: StreamState[T], latency: int) -> None:
        if s.latency.add(latency) & 7 == 1 or latency > s.lateness_ns:
            s.lateness_ns = s.latency.allowance(self.config)

    def _counter(self, s: StreamState[T], seq: int) -> int:
        """Frames lost before this one (a gap in the stream's frame counter); counted as device drops."""
        last = s.last_seq
        if last is None or seq > last:
            s.last_seq = seq
        if last is None or seq <= last + 1:
            return 0
        self._drop(s, DropReason.DEVICE, seq, seq - last - 1)
        return seq - last - 1

    def _refuse(self, i: int, s: StreamState[T], seq: int, ref: int | None, error_ns: int, reason: DropReason,
                lost: int) -> None:
        """A frame received (or known from its counter) that joins no set: counted, and what it tells of the
        stream's next frame kept."""
        self._drop(s, reason, seq)
        self._settle.mark(i, Mark(ref, seq, reason), lost)
        if ref is not None and reason is not DropReason.OUT_OF_ORDER:
            s.started = True
            if ref > s.last_ref_ns:
                s.last_ref_ns = ref
                s.base_ns = ref + s.period_ns if s.regular else None
                s.margin_ns = s.margin_base_ns + 2 * error_ns

    def _drop(self, s: StreamState[T], reason: DropReason, seq: int, count: int = 1) -> None:
        s.stats.dropped[reason] = s.stats.dropped.get(reason, 0) + count
        if self._on_drop is not None:
            for k in range(count):
                self._on_drop(s.cfg.key, seq - count + k if reason is DropReason.DEVICE else seq, reason)

