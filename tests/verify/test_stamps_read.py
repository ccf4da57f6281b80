"""How a simulator recording is laid out for its readers: each image in the chunk of its stamp, chunks in log-time
order (stamps-only verification reads each chunk once), every message in log-time order for any MCAP reader."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import pytest
from mcap.data_stream import ReadDataStream
from mcap.reader import NonSeekingReader, SeekingReader, make_reader
from mcap.records import Chunk, ChunkIndex, Message
from mcap.stream_reader import breakup_chunk
from tests.verify.rigs import TWO_HOSTS_PTP, capture

from rigsync.capture import session
from rigsync.record import FRAMES_TOPIC, RecorderConfig, open_recording
from rigsync.verify.load import load_stamps


@pytest.fixture(scope="module")
def small_chunks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hosts with PTP, 3 s, written in 16 KiB chunks: many chunks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session, "RecorderConfig", functools.partial(RecorderConfig, chunk_size_bytes=16 << 10))
        return capture(TWO_HOSTS_PTP, tmp_path_factory.mktemp("chunks") / "ptp.mcap", 3)


def _chunks(path: Path) -> tuple[list[ChunkIndex], set[int], set[int]]:
    """The file's chunk indexes, and the ids of its image channels and of its ``/rigsync/frames`` channel."""
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None
    images = {cid for cid, ch in summary.channels.items() if ch.topic.endswith("/image")}
    frames = {cid for cid, ch in summary.channels.items() if ch.topic == FRAMES_TOPIC}
    return summary.chunk_indexes, images, frames


def test_each_image_is_in_the_chunk_of_its_stamp_and_chunks_do_not_overlap_in_time(small_chunks: Path) -> None:
    """Every chunk holds, for each of its images, that image's stamp (same log time and sequence); the chunks
    follow one another in log time without overlapping."""
    chunks, images, frames = _chunks(small_chunks)
    ordered = sorted(chunks, key=lambda c: c.chunk_start_offset)
    assert len(ordered) >= 3
    with open(small_chunks, "rb") as f:
        for index in ordered:
            f.seek(index.chunk_start_offset + 9)
            messages = [r for r in breakup_chunk(Chunk.read(ReadDataStream(f))) if isinstance(r, Message)]
            image_keys = sorted((m.log_time, m.sequence) for m in messages if m.channel_id in images)
            stamp_keys = sorted((m.log_time, m.sequence) for m in messages if m.channel_id in frames)
            assert image_keys and image_keys == stamp_keys
    assert all(a.message_end_time <= b.message_start_time for a, b in itertools.pairwise(ordered))


def test_stamps_only_verification_reads_each_chunk_once_in_file_order(small_chunks: Path) -> None:
    """load_stamps decompresses every chunk once, in file order (the stamps share the images' chunks); it loads
    every recorded stamp, framesets and PTP samples."""
    chunks, _, _ = _chunks(small_chunks)
    with open_recording(small_chunks) as rec:
        data = load_stamps(rec)
        read = rec.chunks_decompressed
        recorded = {s.topic: s.message_count for s in rec.streams}
    assert read == sorted(c.chunk_start_offset for c in chunks)
    assert {f"/{k}/image": len(s.seq) for k, s in data.streams.items() if len(s.seq)} == recorded
    assert len(data.framesets) > 0 and data.ptp


def test_every_mcap_reader_yields_every_message_in_log_time_order(small_chunks: Path) -> None:
    """mcap's streaming (non-indexed) reader yields every message in file order with no log time going back, the
    very sequence its ordered read gives."""
    with open(small_chunks, "rb") as f:
        reader = make_reader(f)
        assert isinstance(reader, SeekingReader)
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        ordered = [(m.log_time, m.channel_id, m.sequence) for _, _, m in reader.iter_messages(log_time_order=True)]
    assert len(ordered) == summary.statistics.message_count
    with open(small_chunks, "rb") as f:
        streamed = [(m.log_time, m.channel_id, m.sequence) for _, _, m in NonSeekingReader(f).iter_messages(
            log_time_order=False)]
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(streamed))
    assert [t for t, _, _ in streamed] == [t for t, _, _ in ordered] and sorted(streamed) == sorted(ordered)
