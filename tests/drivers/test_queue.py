"""A device's bounded frame queue: what it keeps, and how it reports what it could not."""

from __future__ import annotations

from rigsync.core.frame import ClockDomain, Frame, TimestampSemantics
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.drivers.queue import FrameQueue


def frame(stream: str, seq: int) -> Frame:
    return Frame("cam", stream, seq, seq * 1000, 10_000 + seq, TimestampSemantics.START_OF_EXPOSURE,
                 ClockDomain.DEVICE, 1, None, None, "mono8")


def test_drops_are_one_overrun_per_run_of_consecutive_frames_of_a_stream() -> None:
    """Past its capacity the queue keeps nothing new: consecutive frame numbers of one stream make one OVERRUN
    (first seq, count), whatever other streams drop between; a gap in the numbers starts a new one, and so does
    a drop after an event (events keep their order)."""
    q = FrameQueue(2)
    for item in (frame("depth", 1), frame("depth", 2), frame("depth", 3), frame("depth", 4), frame("depth", 5),
                 frame("depth", 7), frame("color", 7), frame("depth", 8)):
        q.put_frame(item)
    q.put_event(DeviceEvent("cam", EventKind.DISCONNECTED, 99))
    q.put_frame(frame("depth", 9))
    got = q.take()
    assert [f.seq for f in got[:2] if isinstance(f, Frame)] == [1, 2]
    assert [(e.kind, e.stream, e.seq, e.count, e.host_ns) for e in got[2:] if isinstance(e, DeviceEvent)] == [
        (EventKind.OVERRUN, "depth", 3, 3, 10_003),
        (EventKind.OVERRUN, "depth", 7, 2, 10_007),
        (EventKind.OVERRUN, "color", 7, 1, 10_007),
        (EventKind.DISCONNECTED, None, None, 0, 99),
        (EventKind.OVERRUN, "depth", 9, 1, 10_009),
    ]
    assert len(got) == 7


def test_a_take_empties_it_and_frees_its_capacity() -> None:
    """After take() the queue is empty and takes ``capacity`` frames again."""
    q = FrameQueue(1)
    q.put_frame(frame("depth", 1))
    q.put_frame(frame("depth", 2))
    assert len(q.take()) == 2 and q.take() == []
    q.put_frame(frame("depth", 3))
    assert [f.seq for f in q.take() if isinstance(f, Frame)] == [3]
