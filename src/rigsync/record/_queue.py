"""The recorder's bounded queue: bounded by bytes (and, if asked, by age), drained by one consumer, failed once
for good."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C")

GIVE_UP_CHECK_S = 0.1
"""How often a waiting producer asks its ``give_up`` whether to stop waiting."""


class QueueFailedError(Exception):
    """The consumer failed (``cause``) or the queue was closed (``cause`` None): nothing more can be put."""

    def __init__(self, cause: BaseException | None) -> None:
        self.cause = cause
        super().__init__("the recorder is closed" if cause is None else f"the recorder's writer failed: {cause}")


class ByteBoundedQueue(Generic[T, C]):
    """FIFO of ``(item, nbytes)``. Producers wait (up to a timeout) while the held bytes exceed the bound, or,
    with ``max_age_s``, while the oldest item of non-zero size not taken yet was put longer ago than that.

    Bytes stay counted until the consumer calls :meth:`release`, i.e. until the item is processed (the recorder:
    until it reaches a chunk, past its reorder buffer), so the byte bound covers the items waiting, those the
    consumer holds and the one being written; an item's age counts until the consumer has :meth:`taken` it. An
    item is always accepted when nothing is held. Closing carries a payload of type ``C`` that the consumer
    receives once the queue is drained.
    Times (put times, ages, the consumer's deadline) are on ``clock`` (seconds); timeouts are waits.
    """

    def __init__(self, max_bytes: int, *, max_age_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_bytes
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._items: deque[tuple[T, int, float]] = deque()
        self._held = 0
        self._held_put_s: deque[float] = deque()  # put times of the items of non-zero size not taken yet
        self._high_water = 0
        self._waiting = 0  # producers waiting for room
        self._wanted = 0  # the bytes the latest of them wants to put
        self._closing: tuple[C] | None = None
        self._failed: BaseException | None = None

    @property
    def high_water_bytes(self) -> int:
        """The most bytes ever held at once."""
        return self._high_water

    def put(self, item: T, nbytes: int, timeout_s: float | None,
            give_up: Callable[[], bool] | None = None) -> bool:
        """Append ``item``; with a timeout, wait for room and return False if none came in time, or as soon as
        ``give_up()`` says so (asked every :data:`GIVE_UP_CHECK_S`).

        ``timeout_s=None`` never waits (small control messages); ``math.inf`` waits as long as the consumer
        needs. Raises :class:`QueueFailedError` once the consumer has failed or the queue is closed.
        """
        with self._lock:
            self._check()
            if timeout_s is not None and self._full(nbytes):
                deadline = time.monotonic() + timeout_s
                self._waiting += 1
                self._wanted = nbytes
                self._not_empty.notify()  # (a consumer holding items may release some: get_batch)
                try:
                    while self._full(nbytes):
                        remaining = deadline - time.monotonic()
                        if remaining <= 0.0 or (give_up is not None and give_up()):
                            return False
                        self._not_full.wait(min(remaining, GIVE_UP_CHECK_S))
                        self._check()
                finally:
                    self._waiting -= 1
            put_s = self._clock()
            self._items.append((item, nbytes, put_s))
            if nbytes:
                self._held += nbytes
                self._held_put_s.append(put_s)
                self._high_water = max(self._high_water, self._held)
            self._not_empty.notify()
            return True

    def _full(self, nbytes: int) -> bool:
        if self._held == 0:
            return False
        if self._held + nbytes > self._max:
            return True
        return (self._max_age_s is not None and bool(self._held_put_s)
                and self._clock() - self._held_put_s[0] > self._max_age_s)

    def _check(self) -> None:
        if self._failed is not None:
            raise QueueFailedError(self._failed)
        if self._closing is not None:
            raise QueueFailedError(None)

    def get_batch(self, deadline_s: float | None = None, *,
                  holding: bool = False) -> tuple[list[tuple[T, int, float]], tuple[C] | None]:
        """Wait for items or closing: all waiting items as ``(item, nbytes, put_s)``, or ``([], (payload,))``
        once closed and drained; ``([], None)`` if ``clock`` reaches ``deadline_s`` first, or, when the consumer
        is ``holding`` items it has not released, as soon as a producer waits for bytes (see :meth:`waiting`).
        An item's age counts until the consumer calls :meth:`taken`."""
        with self._lock:
            while not self._items and self._closing is None:
                if holding and self._short_of_bytes():
                    return [], None
                if deadline_s is None:
                    self._not_empty.wait()
                    continue
                remaining = deadline_s - self._clock()
                if remaining <= 0.0:
                    return [], None
                self._not_empty.wait(remaining)
            if self._items:
                batch = list(self._items)
                self._items.clear()
                return batch, None
            return [], self._closing

    def taken(self) -> None:
        """The consumer took the oldest item of non-zero size it got from :meth:`get_batch` (into its reorder
        buffer, or into a chunk): its age no longer counts (its bytes do, until :meth:`release`)."""
        with self._lock:
            self._held_put_s.popleft()
            self._not_full.notify_all()

    def waiting(self) -> bool:
        """A producer is waiting for room that only bytes released would make (not for the age bound)."""
        with self._lock:
            return self._short_of_bytes()

    def _short_of_bytes(self) -> bool:
        return self._waiting > 0 and self._held > 0 and self._held + self._wanted > self._max

    def release(self, nbytes: int) -> None:
        """The consumer is done with items of ``nbytes`` (> 0) in all."""
        with self._lock:
            self._held -= nbytes
            self._not_full.notify_all()

    def close(self, payload: C) -> None:
        """No more puts; the consumer gets ``payload`` after draining (the first payload wins)."""
        with self._lock:
            if self._closing is None:
                self._closing = (payload,)
            self._not_empty.notify_all()
            self._not_full.notify_all()

    def fail(self, cause: BaseException) -> None:
        """The consumer failed: drop waiting items, refuse new ones, wake every producer."""
        with self._lock:
            self._failed = cause
            self._items.clear()
            self._held = 0
            self._held_put_s.clear()
            self._not_full.notify_all()

    def wait_closed(self) -> C:
        """Block until :meth:`close` is called (the consumer, after failing); return its payload."""
        with self._lock:
            while self._closing is None:
                self._not_empty.wait()
            return self._closing[0]
