"""The recorder's reorder buffer: messages handed over out of log-time order come out in it (not public API).

Items are ordered by ``(log_time_ns, arrival order)`` and released once a *watermark* passes them: every item
with a log time below it. The watermark says that nothing older can still come; a capture gives it
(:meth:`ReorderBuffer.advance`, from its aligner's lateness); a recorder used without one falls back on a window
behind the newest log time seen (``window_ns``), until the first watermark is given.

Nothing is ever lost: an item that comes after a later one was released (a *late* item) is released at the next
:meth:`ReorderBuffer.release`, out of order, and counted in ``late``. :meth:`ReorderBuffer.release_oldest`
releases the oldest item before the watermark passes it (counted in ``early``): the recorder does so when the
buffer holds what its queue's byte bound allows, so that a capture waiting for room never waits on itself.

Pure: no clock, no thread; the caller serializes calls.
"""

from __future__ import annotations

import heapq
from typing import Generic, TypeVar

T = TypeVar("T")


class ReorderBuffer(Generic[T]):
    """Holds items until a watermark passes their log time; releases them in ``(log_time_ns, arrival)`` order."""

    def __init__(self, window_ns: int) -> None:
        """``window_ns``: until :meth:`advance` is first called, items are released once an item at least this
        much newer has come."""
        if window_ns < 0:
            raise ValueError(f"window_ns = {window_ns}: must be >= 0")
        self._window_ns = window_ns
        self._heap: list[tuple[int, int, T, int]] = []
        self._arrivals = 0
        self._watermark_ns: int | None = None
        self._newest_ns: int | None = None
        self._released_ns: int | None = None  # the log time of the newest item released
        self.bytes = 0
        """The ``nbytes`` of the items held."""
        self.late = 0
        """Items that came after an item with a later log time had been released (written out of order)."""
        self.early = 0
        """Items released by :meth:`release_oldest` before a watermark passed them."""

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def limit_ns(self) -> int | None:
        """Items with a log time below this are released (None: none yet)."""
        if self._watermark_ns is not None:
            return self._watermark_ns
        if self._newest_ns is None:
            return None
        return self._newest_ns - self._window_ns

    def push(self, log_time_ns: int, item: T, nbytes: int = 0) -> bool:
        """Hold ``item``; False if it is late (an item with a later log time was released already): it is still
        released, first, by the next :meth:`release`."""
        late = self._released_ns is not None and log_time_ns < self._released_ns
        if late:
            self.late += 1
        heapq.heappush(self._heap, (log_time_ns, self._arrivals, item, nbytes))
        self._arrivals += 1
        self.bytes += nbytes
        if self._newest_ns is None or log_time_ns > self._newest_ns:
            self._newest_ns = log_time_ns
        return not late

    def advance(self, watermark_ns: int) -> None:
        """Nothing with a log time below ``watermark_ns`` will come any more (a lower watermark than one given
        before changes nothing). From the first call on, the window no longer applies."""
        if self._watermark_ns is None or watermark_ns > self._watermark_ns:
            self._watermark_ns = watermark_ns

    def release(self) -> list[tuple[T, int]]:
        """``(item, nbytes)`` of the items below the limit (and late ones), in order."""
        limit = self.limit_ns
        heap = self._heap
        out: list[tuple[T, int]] = []
        while heap and ((limit is not None and heap[0][0] < limit)
                        or (self._released_ns is not None and heap[0][0] < self._released_ns)):
            out.append(self._pop())
        return out

    def release_oldest(self) -> tuple[T, int] | None:
        """The oldest item, released now whatever the watermark (None: none held); counted in ``early`` unless
        the limit had passed it already."""
        if not self._heap:
            return None
        limit = self.limit_ns
        if limit is None or self._heap[0][0] >= limit:
            self.early += 1
        return self._pop()

    def drain(self) -> list[tuple[T, int]]:
        """Every item held, in order (the end of the recording)."""
        return [self._pop() for _ in range(len(self._heap))]

    def _pop(self) -> tuple[T, int]:
        log_time_ns, _, item, nbytes = heapq.heappop(self._heap)
        self.bytes -= nbytes
        if self._released_ns is None or log_time_ns > self._released_ns:
            self._released_ns = log_time_ns
        return item, nbytes
