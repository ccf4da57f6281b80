"""The agent's send queue: bounded in bytes, first in first out, the backpressure of a publisher that blocks, and
when it counts as staying full (on a clock the test sets)."""

from __future__ import annotations

import threading

import pytest

from rigsync.core.errors import FieldError
from rigsync.net.sender import Outgoing, Sender, SendQueue, SendQueueConfig

MIB = 1 << 20


class Clock:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def msg(n: int, size: int = 256 << 10) -> Outgoing:
    return Outgoing(f"k/{n}", n.to_bytes(4, "little") + bytes(size - 4))


def test_the_queue_takes_messages_up_to_its_byte_limit_and_refuses_the_next() -> None:
    """Four 256 KiB messages fill a 1 MiB queue exactly; the fifth is refused and the bytes stay at the limit;
    a message larger than the limit goes only into an empty queue."""
    q = SendQueue(SendQueueConfig(limit_bytes=MIB))
    assert [q.offer(msg(i)) for i in range(5)] == [True, True, True, True, False]
    assert (q.depth, q.nbytes, q.high_water_bytes) == (4, MIB, MIB)
    big = SendQueue(SendQueueConfig(limit_bytes=MIB))
    assert big.offer(msg(0, 2 * MIB))
    assert not big.offer(msg(1, 4))
    assert big.nbytes == 2 * MIB


def test_messages_leave_in_the_order_they_came_and_release_their_bytes() -> None:
    """The sender thread publishes every queued message once, in order; the queue ends empty."""
    q = SendQueue(SendQueueConfig(limit_bytes=MIB))
    got: list[str] = []
    with Sender(q, lambda key, payload: got.append(key)) as sender:
        for i in range(20):
            while not q.offer(msg(i, 64 << 10)):
                q.wait_empty(1.0)
        assert q.wait_empty(5.0)
    assert got == [f"k/{i}" for i in range(20)]
    assert (q.depth, q.nbytes, sender.sent, sender.failed) == (0, 0, 20, 0)


def test_a_blocked_publisher_fills_the_queue_to_its_limit_and_nothing_is_lost_when_it_resumes() -> None:
    """While publishing blocks (a congested link), the queue fills to its limit and refuses more (memory stays
    bounded); once it resumes, every message taken is delivered in order."""
    q = SendQueue(SendQueueConfig(limit_bytes=MIB))
    link_up = threading.Event()
    got: list[str] = []

    def publish(key: str, payload: bytes) -> None:
        link_up.wait()
        got.append(key)

    with Sender(q, publish):
        taken = [i for i in range(10) if q.offer(msg(i))]
        assert taken == [0, 1, 2, 3] and q.nbytes == MIB  # the one being published still counts
        link_up.set()
        assert q.wait_empty(5.0)
    assert got == [f"k/{i}" for i in taken]


def test_the_queue_stays_full_after_spill_after_s_of_refusing_until_it_drains_below_half() -> None:
    """Full at t=0 (a refusal): not yet staying full at 0.49 s, staying full at 0.5 s; draining to 3/4 does not
    end it, draining to half does."""
    clock = Clock()
    q = SendQueue(SendQueueConfig(limit_bytes=MIB, spill_after_s=0.5), clock)
    for i in range(4):
        assert q.offer(msg(i))
    assert q.full_for_s() == 0.0 and not q.stays_full()
    clock.s = 10.0
    assert not q.offer(msg(4))
    clock.s = 10.49
    assert not q.stays_full() and q.full_for_s() == pytest.approx(0.49)
    clock.s = 10.5
    assert q.stays_full()
    assert q.take(0) is not None
    q.done()  # 3/4 full
    assert q.stays_full()
    assert q.take(0) is not None
    q.done()  # half
    assert not q.stays_full() and q.full_for_s() == 0.0


def test_bad_send_queue_settings_name_the_setting() -> None:
    """A limit under 1 MiB and a negative spill delay are refused, naming the setting."""
    with pytest.raises(FieldError, match="send_queue_mb"):
        SendQueueConfig(limit_bytes=1000)
    with pytest.raises(FieldError, match="spill_after_s"):
        SendQueueConfig(spill_after_s=-1)


def test_the_messages_handed_over_last_are_kept_up_to_recent_bytes_for_the_local_copy() -> None:
    """After six 256 KiB messages with spill copies were handed over, a 1 MiB window keeps the last four; with the
    two still queued, the local copy would get messages 2 to 7 in order (a message without a copy is not kept)."""
    q = SendQueue(SendQueueConfig(limit_bytes=4 * MIB, recent_bytes=MIB))
    for i in range(8):
        assert q.offer(Outgoing(f"k/{i}", bytes(256 << 10), local=i))
    assert q.offer(Outgoing("k/none", bytes(4)))
    for _ in range(6):
        assert q.take(0) is not None
        q.done()
    assert [m.local for m in q.recent_and_queued()] == [2, 3, 4, 5, 6, 7, None]
    assert [m.local for m in q.unsent()] == [6, 7, None]
