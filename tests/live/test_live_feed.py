"""The live feed on the capture's side: which frames it takes for a preview, and how many."""

from __future__ import annotations

import numpy as np

from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics
from rigsync.live.feed import LiveFeed

PERIOD_NS = 33_333_333  # 30 fps
IMAGE = np.zeros((2, 2, 3), np.uint8)


def _frame(key: str, seq: int, rig_ns: int) -> StampedFrame:
    device, stream = key.split("/")
    f = Frame(device=device, stream=stream, seq=seq, device_ts_ns=rig_ns, host_rx_ns=rig_ns,
              semantics=TimestampSemantics.START_OF_EXPOSURE, domain=ClockDomain.HOST, min_latency_ns=0,
              exposure_ns=None, image=IMAGE, encoding="rgb8")
    return StampedFrame(f, rig_ns, 1000)


def _run(feed: LiveFeed, keys: list[str], seconds: float, start_ns: int = 1_000_000_000) -> dict[str, list[int]]:
    """Frames of every stream at 30 fps for ``seconds`` of rig time; the server takes after each: what it took."""
    taken: dict[str, list[int]] = {k: [] for k in keys}
    for n in range(round(seconds * 30)):
        for k in keys:
            feed.frame(_frame(k, n, start_ns + n * PERIOD_NS + 7))
        for k, f in feed.take().frames.items():
            taken[k].append(f.rig_time_ns)
    return taken


def test_nothing_is_taken_for_a_stream_nobody_watches() -> None:
    """Only watched streams are taken; unwatched ones are not even counted."""
    feed = LiveFeed(["a/c", "b/c"], fps=10)
    feed.subscribe(["a/c"], framesets=False)
    taken = _run(feed, ["a/c", "b/c"], 1.0)
    assert taken["b/c"] == [] and feed.taken["b/c"] == 0
    assert len(taken["a/c"]) == 10


def test_many_watched_streams_share_the_total_rate() -> None:
    """24 watched streams at --live-fps 10 and 120 previews a second in all: 5 a second each, one per 200 ms slot."""
    keys = [f"d{i}/c" for i in range(24)]
    feed = LiveFeed(keys, fps=10, total_fps=120)
    feed.subscribe(keys, framesets=False)
    assert feed.period_ns == 200_000_000
    taken = _run(feed, keys, 2.0)
    for times in taken.values():
        assert len(times) == 10
        assert len({t // 200_000_000 for t in times}) == 10


def test_a_longer_period_never_stalls_the_previews() -> None:
    """When more streams are watched the period grows at once: the next preview comes one new period on, not later."""
    keys = [f"d{i}/c" for i in range(24)]
    feed = LiveFeed(keys, fps=10, total_fps=120)
    feed.subscribe(keys[:1], framesets=False)
    first = _run(feed, keys[:1], 1.0)
    feed.subscribe(keys, framesets=False)
    after = _run(feed, keys[:1], 1.0, start_ns=2_000_000_000)
    assert len(first[keys[0]]) == 10 and len(after[keys[0]]) == 5


def test_a_frame_unsent_when_the_next_is_taken_is_replaced_and_counted() -> None:
    """The slot keeps the newest frame; the one it replaced unsent is counted."""
    feed = LiveFeed(["a/c"], fps=30)
    feed.subscribe(["a/c"], framesets=False)
    for n in range(3):
        feed.frame(_frame("a/c", n, n * PERIOD_NS))
    batch = feed.take()
    assert batch.frames["a/c"].frame.seq == 2
    assert (feed.taken["a/c"], feed.replaced["a/c"]) == (3, 2)
