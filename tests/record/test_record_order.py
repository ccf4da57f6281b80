"""Log-time order: the reorder buffer's exact release order, late and early messages counted, never lost."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from mcap.reader import make_reader
from mcap.records import Message
from mcap.stream_reader import StreamReader

from rigsync.core.intrinsics import Intrinsics
from rigsync.record import Compression, Recorder, RecorderConfig
from rigsync.record._reorder import ReorderBuffer
from rigsync.record.json_schemas import STEP_SCHEMA as STEP

W, H = 64, 48
SHAPE = (H, W, 3)


def _file_order(path: Path) -> list[tuple[int, int]]:
    """``(channel id, log time)`` of every message, in file order (the ``mcap`` streaming reader)."""
    with path.open("rb") as f:
        return [(r.channel_id, r.log_time) for r in StreamReader(f).records if isinstance(r, Message)]


def test_items_come_out_by_log_time_then_arrival_once_the_watermark_passes_them() -> None:
    """Released: exactly the items below the watermark, by (log time, arrival); equal times keep arrival order."""
    buf: ReorderBuffer[str] = ReorderBuffer(window_ns=10)
    for t, name in ((30, "a"), (10, "b"), (20, "c"), (10, "d")):
        assert buf.push(t, name, 1)
    buf.advance(5)
    assert buf.release() == [] and buf.bytes == 4
    buf.advance(20)
    assert buf.release() == [("b", 1), ("d", 1)]
    buf.advance(15)  # a lower watermark changes nothing
    assert buf.release() == []
    buf.advance(31)
    assert buf.release() == [("c", 1), ("a", 1)] and buf.bytes == 0 and len(buf) == 0
    assert buf.late == buf.early == 0


def test_without_a_watermark_items_wait_the_window_behind_the_newest() -> None:
    """Before any watermark, an item is released once one at least ``window_ns`` newer came; not before."""
    buf: ReorderBuffer[str] = ReorderBuffer(window_ns=10)
    buf.push(100, "a")
    buf.push(95, "b")
    assert buf.release() == []
    buf.push(105, "c")  # limit 95: "b" (95) is not below it
    assert buf.release() == []
    buf.push(106, "d")  # limit 96
    assert buf.release() == [("b", 0)]
    buf.advance(0)  # from the first watermark on, the window no longer applies
    buf.push(200, "e")
    assert buf.release() == []
    assert buf.drain() == [("a", 0), ("c", 0), ("d", 0), ("e", 0)]


def test_a_late_item_is_released_at_once_and_counted() -> None:
    """An item older than one released already is not lost: counted late, it comes out at the next release."""
    buf: ReorderBuffer[str] = ReorderBuffer(window_ns=0)
    buf.advance(0)
    buf.push(50, "a")
    buf.advance(60)
    assert buf.release() == [("a", 0)]
    assert buf.push(55, "b")  # older than the watermark, not than anything released: in order, not late
    assert not buf.push(40, "c")
    assert buf.late == 1
    assert buf.release() == [("c", 0), ("b", 0)]


def test_the_oldest_can_be_released_early_and_is_counted() -> None:
    """release_oldest takes the oldest item whatever the watermark (counted early); an item older than it that
    comes later is late."""
    buf: ReorderBuffer[str] = ReorderBuffer(window_ns=0)
    buf.advance(0)
    buf.push(50, "a", 7)
    buf.push(40, "b", 3)
    assert buf.release_oldest() == ("b", 3) and buf.early == 1 and buf.bytes == 7
    assert not buf.push(30, "c")
    assert buf.late == 1
    assert buf.release() == [("c", 0)]
    assert buf.release_oldest() == ("a", 7) and buf.early == 2
    assert buf.release_oldest() is None


def test_a_recorder_writes_a_late_message_counts_it_and_says_so(tmp_path: Path) -> None:
    """A message older than one already written is still written (after it) and counted in the stats and in the
    ``rigsync.stats`` metadata; messages within the watermark come out in log-time order."""
    path = tmp_path / "late.mcap"
    with Recorder(path, RecorderConfig(compression=Compression.NONE), rig_toml="", rig_path="") as rec:
        rec.advance(0)
        rec.write_json("/rigsync/steps", {"n": 1}, 300, schema=STEP)
        rec.write_json("/rigsync/steps", {"n": 2}, 100, schema=STEP)
        rec.advance(1000)
        rec.write_json("/rigsync/steps", {"n": 3}, 2000, schema=STEP)
        rec.write_json("/rigsync/steps", {"n": 4}, 50, schema=STEP)  # 100 and 300 were out: late
    assert [t for _, t in _file_order(path)] == [100, 300, 50, 2000]
    with path.open("rb") as f:
        stats = {m.name: m.metadata for m in make_reader(f).iter_metadata()}["rigsync.stats"]
    recorder = json.loads(stats["recorder"])
    assert recorder["late_messages"] == 1 and recorder["early_releases"] == 0 and recorder["messages"] == 4


def test_a_full_queue_releases_the_oldest_images_early_instead_of_waiting_on_the_watermark(
        tmp_path: Path, h: SimpleNamespace) -> None:
    """With room for two images and a watermark that never comes, a third image does not wait for it: the
    writer writes the oldest early (counted), no frame is refused, and the file is still in log-time order."""
    path = tmp_path / "early.mcap"
    nbytes = W * H * 3
    config = RecorderConfig(compression=Compression.NONE, queue_max_bytes=2 * nbytes, put_timeout_s=5.0)
    with Recorder(path, config, rig_toml="", rig_path="") as rec:
        rec.add_stream("cam0", "color", Intrinsics.from_hfov(W, H, 70.0), "rgb8")
        rec.advance(0)
        for seq in range(6):
            assert rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, SHAPE, "u1"), "rgb8"))
    stats = rec.stats
    assert stats.overruns == 0 and stats.images == 6 and stats.late_messages == 0
    assert 4 <= stats.early_releases <= 6 * 3  # the third to sixth images waited: at least their predecessors
    times = [t for _, t in _file_order(path)]
    assert times == sorted(times) and len(times) == 18
