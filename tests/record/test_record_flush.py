"""When chunks are written: full, or young enough that a crash loses little; and how old the queue may get."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcap.reader import make_reader

from rigsync.core.intrinsics import Intrinsics
from rigsync.record import Compression, Recorder, RecorderConfig, open_recording
from rigsync.record._queue import ByteBoundedQueue
from rigsync.record.file_sink import FileSink
from rigsync.record.mcap_writer import McapChunkWriter

W, H = 64, 48
SHAPE = (H, W, 3)


class FakeClock:
    """A clock the test sets (seconds)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _writer(tmp_path: Path, clock: FakeClock, *, chunk_size: int = 1 << 20,
            flush_age_s: float | None = 0.5) -> McapChunkWriter:
    writer = McapChunkWriter(FileSink(str(tmp_path / "w.mcap")), compression="", chunk_size=chunk_size,
                             flush_age_s=flush_age_s, clock=clock)
    writer.start("", "t")
    writer.add_channel(1, "/a", "json", 0, {})
    return writer


def _group(writer: McapChunkWriter, put_s: float, *sizes: int) -> None:
    for i, size in enumerate(sizes or (2,)):
        writer.add_message(1, 1000 + i, 1000 + i, i, b"x" * size)
    writer.end_group(put_s)


def test_a_chunk_is_written_flush_age_after_its_oldest_message_was_handed_over(tmp_path: Path) -> None:
    """A chunk that is not full stays open until flush_age_s after its oldest message was handed over, no longer."""
    clock = FakeClock(10.0)
    writer = _writer(tmp_path, clock)
    _group(writer, 9.9)  # handed over 0.1 s before the writer took it
    clock.t = 10.3
    _group(writer, 10.3)
    assert writer.flush_due_s() == 9.9 + 0.5
    clock.t = 10.39
    writer.flush_if_due()
    assert writer.counters().messages == 0
    clock.t = 9.9 + 0.5
    writer.flush_if_due()
    assert writer.counters().messages == 2 and writer.flush_due_s() is None


def test_after_a_stall_a_chunk_stays_open_half_the_flush_age(tmp_path: Path) -> None:
    """Messages handed over long ago (the writer was stalled) are written in chunks open flush_age_s / 2, not one
    chunk per message."""
    clock = FakeClock(20.0)
    writer = _writer(tmp_path, clock)
    for i in range(5):
        clock.t = 20.0 + 0.05 * i
        _group(writer, 17.0 + 0.05 * i)  # each handed over 3 s before the writer got to it
    assert writer.flush_due_s() == 20.25 and writer.counters().messages == 0
    clock.t = 20.25
    _group(writer, 17.3)
    assert writer.counters().messages == 6


def test_a_full_chunk_is_written_after_the_group_that_filled_it(tmp_path: Path) -> None:
    """The chunk size is reached inside a group: nothing is written until the group ends, then all of it at once."""
    clock = FakeClock()
    writer = _writer(tmp_path, clock, chunk_size=1024, flush_age_s=None)
    writer.add_message(1, 1, 1, 0, b"i" * 4000)  # an image far past the chunk size
    writer.add_message(1, 1, 1, 0, b"c" * 100)  # its camera_info and stamp
    writer.add_message(1, 1, 1, 0, b"s" * 50)
    assert writer.counters().messages == 0
    writer.end_group(0.0)
    assert writer.counters().messages == 3 and writer.flush_due_s() is None


def test_an_image_shares_its_chunk_with_its_camera_info_and_stamp(tmp_path: Path, h: SimpleNamespace) -> None:
    """Every image fills a chunk (1 KiB chunks) that holds exactly its group: its stamp, camera_info and image; a
    crash keeps all three or none."""
    path = tmp_path / "g.mcap"
    with Recorder(path, RecorderConfig(compression=Compression.NONE, chunk_size_bytes=1024), rig_toml="",
                  rig_path="") as rec:
        rec.add_stream("cam0", "color", Intrinsics.from_hfov(W, H, 70.0), "rgb8")
        for seq in range(12):
            assert rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, SHAPE, "u1"), "rgb8"))
    scan = h.scan(str(path))
    images, infos, stamps = h.kept_frames(scan)
    frames = {("cam0/color", seq, h.rig_time(seq)) for seq in range(12)}
    assert images.keys() == infos.keys() == stamps.keys() == frames
    assert all(images[frame] == stamps[frame] == infos[frame] for frame in frames)
    assert [[t for t, _ in chunk] for chunk in scan.chunks] == [
        ["/rigsync/frames", "/cam0/color/camera_info", "/cam0/color/image"]] * 12


def test_chunks_follow_one_another_in_log_time(tmp_path: Path) -> None:
    """One chunk is open at a time: messages added in log-time order give chunks whose time ranges do not
    overlap, and a reader in file order sees every log time in order."""
    clock = FakeClock(10.0)
    writer = _writer(tmp_path, clock, chunk_size=4096)
    writer.add_channel(2, "/cam/image", "protobuf", 0, {})
    writer.add_message(1, 900, 900, 0, b"s" * 100)
    writer.end_group(10.0)
    writer.add_message(1, 1000, 1000, 0, b"t" * 100)
    writer.add_message(2, 1000, 1000, 0, b"i" * 5000)  # fills the chunk
    writer.end_group(10.0)
    assert writer.counters().messages == 3 and writer.flush_due_s() is None
    clock.t = 10.2
    writer.add_message(1, 2000, 2000, 1, b"u" * 100)
    writer.add_message(2, 2000, 2000, 1, b"j" * 100)
    writer.end_group(10.2)
    assert writer.flush_due_s() == 10.7
    clock.t = 10.7
    writer.flush_if_due()
    assert writer.counters().messages == 5 and writer.flush_due_s() is None
    writer.finish()
    with open(tmp_path / "w.mcap", "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
        assert [sorted(c.message_index_offsets) for c in chunks] == [[1, 2], [1, 2]]
        assert [(c.message_start_time, c.message_end_time) for c in chunks] == [(900, 1000), (2000, 2000)]
        assert [m.log_time for _, _, m in reader.iter_messages(log_time_order=False)] == [900, 1000, 1000, 2000, 2000]


def test_an_idle_recorder_writes_its_open_chunk_when_due(tmp_path: Path, h: SimpleNamespace) -> None:
    """With nothing more to write (the watermark past the image), the writer thread wakes up and writes the open
    chunk once due."""
    clock = FakeClock(100.0)
    path = tmp_path / "idle.mcap"
    rec = Recorder(path, RecorderConfig(compression=Compression.NONE, flush_age_s=0.5), rig_toml="", rig_path="",
                   clock=clock)
    rec.add_stream("cam0", "color", Intrinsics.from_hfov(W, H, 70.0), "rgb8")
    assert rec.write_image(h.stamped("cam0", "color", 0, h.pattern(0, SHAPE, "u1"), "rgb8"))
    rec.advance(h.rig_time(0) + 1)
    while not rec.stats.images:  # the clock moves on at about real speed; nothing else is written
        assert clock.t < 102.0, "the open chunk was never written"
        clock.t += 0.01
        time.sleep(0.01)
    assert clock.t >= 100.5  # not before it was due (it was seen written after this clock time)
    groups = h.chunk_groups(h.scan(str(path)))  # the file is still open: the chunks are complete on disk
    frame = {("cam0/color", 0, h.rig_time(0))}
    assert groups == [(frame, frame, frame)]
    rec.close()
    with open_recording(path) as read:
        assert not read.recovered and [i.seq for i in read.images("cam0", "color")] == [0]


def test_an_age_bounded_queue_holds_producers_back() -> None:
    """With max_age_s, a put waits while the oldest item not taken by the writer is older than that (control
    messages never wait), and goes in once the writer has taken it; put times come back with the items."""
    clock = FakeClock()
    queue: ByteBoundedQueue[str, None] = ByteBoundedQueue(1 << 30, max_age_s=0.25, clock=clock)
    assert queue.put("a", 10, 0.0)
    clock.t = 0.25
    assert queue.put("b", 10, 0.0)  # "a" is exactly 0.25 s old: not older than the bound
    clock.t = 0.3
    assert not queue.put("c", 10, 0.0)  # "a" is 0.3 s old
    assert queue.put("j", 0, None)
    batch, closing = queue.get_batch()
    assert batch == [("a", 10, 0.0), ("b", 10, 0.25), ("j", 0, 0.3)] and closing is None
    assert not queue.put("c", 10, 0.0)  # in the writer's batch, not taken yet: "a" still counts
    queue.taken()  # "a" is taken (its bytes still held); the oldest not taken is "b", 0.05 s old
    assert queue.put("c", 10, 0.0)
    unbounded: ByteBoundedQueue[str, None] = ByteBoundedQueue(1 << 30, clock=clock)
    clock.t = 0.0
    assert unbounded.put("a", 10, 0.0)
    clock.t = 1000.0
    assert unbounded.put("b", 10, 0.0)


def test_the_writers_wait_ends_at_the_deadline() -> None:
    """get_batch returns empty (not closing) once the clock reaches the deadline, and at once if it has."""
    clock = FakeClock(5.0)
    queue: ByteBoundedQueue[str, None] = ByteBoundedQueue(1 << 20, clock=clock)
    assert queue.get_batch(5.0) == ([], None)
    queue.close(None)
    assert queue.get_batch(5.0) == ([], (None,))


def test_recorder_config_checks_the_ages() -> None:
    """flush_age_s and queue_max_age_s must be positive (and sane); the error names the field."""
    with pytest.raises(ValueError, match="flush_age_s"):
        RecorderConfig(flush_age_s=0.0)
    with pytest.raises(ValueError, match="queue_max_age_s"):
        RecorderConfig(queue_max_age_s=-1.0)
    assert RecorderConfig().flush_age_s == 0.5 and RecorderConfig().queue_max_age_s is None
