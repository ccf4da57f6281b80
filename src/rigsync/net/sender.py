"""An agent's send path: a queue bounded in bytes between the poll thread and the network, drained by a sender
thread, with the backpressure the network gives (a publisher that blocks, never one that drops silently).

The poll thread never waits for the network: :meth:`SendQueue.offer` takes a message if it fits under the byte
limit (one larger than the limit only into an empty queue) and refuses it otherwise - the agent then writes the
frame to its spill file (:mod:`rigsync.net.spill`). The sender thread hands messages to Zenoh in order; Zenoh's
publishers are declared with ``CongestionControl.BLOCK`` (:func:`rigsync.net.zenoh_session.declare_reliable_publisher`),
so a slow or cut link makes ``put`` wait, the queue fills, and the congestion shows in the heartbeat's
``queue_depth`` and ``queue_bytes`` instead of vanishing inside Zenoh (whose default, ``DROP``, drops messages
under congestion without telling anyone). Memory stays bounded by the limit.

The queue *stays full* when it has refused a message and has not since drained below half its limit: after
``spill_after_s`` of that (:meth:`SendQueue.full_for_s`), the agent starts its local copy (every later frame,
event, PTP sample and truth record also goes to the spill file), since what is handed to a congested link may
not get through. Pure timing logic: the clock (seconds, monotonic) is passed in.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from rigsync.core.errors import FieldError

DEFAULT_SEND_QUEUE_MB = 64
DEFAULT_SPILL_AFTER_S = 0.5
DEFAULT_RECENT_MB = 16


@dataclass(frozen=True)
class SendQueueConfig:
    """The send queue's byte limit and how long it must stay full before the local copy starts."""

    limit_bytes: int = DEFAULT_SEND_QUEUE_MB << 20
    spill_after_s: float = DEFAULT_SPILL_AFTER_S
    recent_bytes: int = DEFAULT_RECENT_MB << 20
    """The messages handed to the network most recently, kept up to this many bytes (of their encoded size): what
    a congested link may still hold in its buffers (Zenoh's and the kernel's socket buffer, up to a few MB) when
    the local copy starts."""

    def __post_init__(self) -> None:
        if self.limit_bytes < 1 << 20 or self.limit_bytes > 64 << 30:
            raise FieldError("send_queue_mb", self.limit_bytes / (1 << 20), "out of range", "1 to 65536 (MiB)")
        if not 0 <= self.recent_bytes <= 64 << 30:
            raise FieldError("recent_bytes", self.recent_bytes, "out of range", "0 to 64 GiB")
        if not 0 <= self.spill_after_s <= 3600:
            raise FieldError("spill_after_s", self.spill_after_s, "out of range", "0 to 3600 (s)")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish: its key and bytes, and what the agent's spill file would take of it."""

    key: str
    payload: bytes
    local: Any = None


class SendQueue:
    """FIFO of :class:`Outgoing` bounded in bytes (thread-safe)."""

    def __init__(self, config: SendQueueConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._items: deque[Outgoing] = deque()
        self._bytes = 0
        self._recent: deque[Outgoing] = deque()
        self._recent_bytes = 0
        self._full_since_s: float | None = None
        self._closed = False
        self._cond = threading.Condition()
        self.high_water_bytes = 0

    @property
    def depth(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def offer(self, item: Outgoing) -> bool:
        """Queue ``item`` if it fits (never waits); False if the queue is full or closed."""
        n = len(item.payload)
        with self._cond:
            if self._closed or (self._items and self._bytes + n > self.config.limit_bytes):
                if not self._closed and self._full_since_s is None:
                    self._full_since_s = self._clock()
                return False
            self._items.append(item)
            self._bytes += n
            self.high_water_bytes = max(self.high_water_bytes, self._bytes)
            self._cond.notify()
            return True

    def full_for_s(self) -> float:
        """How long the queue has stayed full (0 if it is not): since it first refused a message without draining
        below half its limit since."""
        with self._cond:
            return 0.0 if self._full_since_s is None else self._clock() - self._full_since_s

    def stays_full(self) -> bool:
        """The queue has stayed full for ``spill_after_s`` (and has refused at least one message)."""
        with self._cond:
            return self._full_since_s is not None and self._clock() - self._full_since_s >= self.config.spill_after_s

    def take(self, timeout_s: float) -> Outgoing | None:
        """The oldest message (its bytes still counted until :meth:`done`), or None after ``timeout_s`` or once
        closed and empty."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout_s)
            return self._items[0] if self._items else None

    def done(self) -> None:
        """The message :meth:`take` returned has been handed over: release it."""
        with self._cond:
            item = self._items.popleft()
            self._bytes -= len(item.payload)
            if item.local is not None and self.config.recent_bytes:
                self._recent.append(item)
                self._recent_bytes += len(item.payload)
                while self._recent_bytes > self.config.recent_bytes:
                    self._recent_bytes -= len(self._recent.popleft().payload)
            if self._bytes <= self.config.limit_bytes // 2:
                self._full_since_s = None
            self._cond.notify_all()

    def recent_and_queued(self) -> list[Outgoing]:
        """The messages handed over most recently (up to ``recent_bytes``) and those still queued, oldest first."""
        with self._cond:
            return [*self._recent, *self._items]

    def unsent(self) -> list[Outgoing]:
        """The messages still queued (not handed over, or being handed over), oldest first."""
        with self._cond:
            return list(self._items)

    def close(self) -> None:
        """Refuse new messages; :meth:`take` returns what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_empty(self, timeout_s: float) -> bool:
        """Wait until every queued message was handed over; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._items:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True


class Sender:
    """The thread that drains a :class:`SendQueue` into ``publish(key, payload)`` (which may block: that is the
    backpressure). A context manager: on exit it closes the queue and hands over what is left (for at most
    ``drain_s``), then stops."""

    def __init__(self, queue: SendQueue, publish: Callable[[str, bytes], None], *, name: str = "rigsync-sender",
                 drain_s: float = 5.0) -> None:
        self.queue = queue
        self._publish = publish
        self._drain_s = drain_s
        self._stop = threading.Event()
        self.sent = 0
        self.failed = 0
        """Messages ``publish`` raised on (a session closing under the sender)."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.queue.close()
        self.queue.wait_empty(self._drain_s)
        self._stop.set()
        self._thread.join(self._drain_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self.queue.take(0.1)
            if item is None:
                continue
            try:
                self._publish(item.key, item.payload)
                self.sent += 1
            except Exception:  # a session closing under us: counted, the queue drains on
                self.failed += 1
            self.queue.done()
