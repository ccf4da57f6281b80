"""How a simulator recording is laid out for its readers: the stamps in chunks of their own (stamps-only
verification decompresses no image), and every message in log-time order for any MCAP reader."""

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
    """Two hosts with PTP, 3 s, written in 16 KiB chunks: many chunks of images and of stamps."""
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


def test_images_have_chunks_of_their_own_followed_by_their_stamps(small_chunks: Path) -> None:
    """Every chunk holds images only or no image, and each chunk of images is followed by the chunk holding
    exactly those images' stamps (same log times and sequences)."""
    chunks, images, frames = _chunks(small_chunks)
    contents = []
    with open(small_chunks, "rb") as f:
        for index in sorted(chunks, key=lambda c: c.chunk_start_offset):
            f.seek(index.chunk_start_offset + 9)
            contents.append([r for r in breakup_chunk(Chunk.read(ReadDataStream(f))) if isinstance(r, Message)])
    image_chunks = [i for i, messages in enumerate(contents) if messages[0].channel_id in images]
    assert len(image_chunks) >= 3
    for i, messages in enumerate(contents):
        assert all((m.channel_id in images) == (i in image_chunks) for m in messages)
    for i in image_chunks:
        stamps = sorted((m.log_time, m.sequence) for m in contents[i + 1] if m.channel_id in frames)
        assert stamps == sorted((m.log_time, m.sequence) for m in contents[i])


def test_stamps_only_verification_decompresses_no_image(small_chunks: Path) -> None:
    """load_stamps decompresses every chunk holding stamps, once, and not one chunk holding images; it still
    loads every recorded stamp, framesets and PTP samples."""
    chunks, images, frames = _chunks(small_chunks)
    image_chunks = {c.chunk_start_offset for c in chunks if c.message_index_offsets.keys() & images}
    stamp_chunks = {c.chunk_start_offset for c in chunks if c.message_index_offsets.keys() & frames}
    with open_recording(small_chunks) as rec:
        data = load_stamps(rec)
        read = rec.chunks_decompressed
        recorded = {s.topic: s.message_count for s in rec.streams}
    assert image_chunks and not set(read) & image_chunks
    assert stamp_chunks <= set(read) and len(read) == len(set(read))
    assert {f"/{k}/image": len(s.seq) for k, s in data.streams.items() if len(s.seq)} == recorded
    assert len(data.framesets) > 0 and data.ptp


def test_every_mcap_reader_yields_every_message_in_log_time_order(small_chunks: Path) -> None:
    """mcap's ordered read yields every message in log-time order although image and stamp chunks overlap in
    time; its streaming (non-indexed) reader yields the same messages."""
    with open(small_chunks, "rb") as f:
        reader = make_reader(f)
        assert isinstance(reader, SeekingReader)
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        ordered = [(m.log_time, m.channel_id, m.sequence) for _, _, m in reader.iter_messages(log_time_order=True)]
    assert len(ordered) == summary.statistics.message_count
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(ordered))
    spans = sorted((c.message_start_time, c.message_end_time) for c in summary.chunk_indexes)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))  # they overlap
    with open(small_chunks, "rb") as f:
        streamed = [(m.log_time, m.channel_id, m.sequence) for _, _, m in NonSeekingReader(f).iter_messages(
            log_time_order=False)]
    assert sorted(streamed) == sorted(ordered)
