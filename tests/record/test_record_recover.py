"""``rigsync.record.recover``: a file cut anywhere becomes a complete, indexed file holding exactly what the reader's
recovery keeps, readable by the ``mcap`` seeking reader and by rigsync; a complete file is reported as such."""

from __future__ import annotations

import io
import struct
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import zstandard
from mcap.data_stream import ReadDataStream
from mcap.reader import make_reader
from mcap.records import ChunkIndex, MessageIndex

from rigsync.core.errors import RecordingError
from rigsync.core.intrinsics import Intrinsics
from rigsync.record import Compression, Recorder, RecorderConfig, open_recording
from rigsync.record.file_sink import FileSink
from rigsync.record.mcap_writer import McapChunkWriter
from rigsync.record.recover import RECOVERY_METADATA, recover
from rigsync.record.schemas import RAW_IMAGE_SCHEMA, raw_image_schema

W, H = 64, 48
SHAPE = (H, W, 3)
INTR = Intrinsics.from_hfov(W, H, 70.0)
FRAMES = 30


def _record(path: Path, h: SimpleNamespace, compression: str) -> None:
    config = RecorderConfig(compression=Compression(compression), chunk_size_bytes=20 << 10)
    with Recorder(path, config, rig_toml="x = 1", rig_path="r.toml") as rec:
        rec.add_stream("cam0", "color", INTR, "rgb8")
        for seq in range(FRAMES):
            rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, SHAPE, "u1"), "rgb8"))


def _layout(path: Path) -> tuple[list[ChunkIndex], set[int], int]:
    """The chunk indexes in file order, the image channels and where the summary starts (from the footer)."""
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
        f.seek(-8 - 20, io.SEEK_END)  # footer body: summary_start, summary_offset_start, crc; then the magic
        summary_start = struct.unpack("<Q", f.read(8))[0]
    assert summary is not None
    images = {cid for cid, ch in summary.channels.items() if ch.topic.endswith("/image")}
    return sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset), images, summary_start


def _messages(path: Path) -> Counter[tuple[str, int, int, int, bytes]]:
    """Every message through the summary (``mcap``'s seeking reader), as (topic, log, publish, sequence, data)."""
    with open(path, "rb") as f:
        reader = make_reader(f)
        return Counter((ch.topic, m.log_time, m.publish_time, m.sequence, m.data)
                       for _, ch, m in reader.iter_messages())


def _assert_indexed(path: Path) -> None:
    """The summary's statistics match the messages, and every message index entry points at a message of its
    channel with its log time in its chunk."""
    with open(path, "rb") as f:
        data = f.read()
        f.seek(0)
        reader = make_reader(f)
        summary = reader.get_summary()
        messages = [(ch.id, m.log_time) for _, ch, m in reader.iter_messages()]
    assert summary is not None and summary.statistics is not None
    stats = summary.statistics
    assert stats.message_count == len(messages)
    assert stats.channel_message_counts == dict(Counter(c for c, _ in messages))
    assert stats.chunk_count == len(summary.chunk_indexes)
    assert stats.channel_count == len(summary.channels) and stats.schema_count == len(summary.schemas)
    if messages:
        assert (stats.message_start_time, stats.message_end_time) == (min(t for _, t in messages),
                                                                      max(t for _, t in messages))
    indexed = 0
    for ci in summary.chunk_indexes:
        body = data[ci.chunk_start_offset + 9 + 8 * 3 + 4 + 4 + len(ci.compression) + 8 :
                    ci.chunk_start_offset + ci.chunk_length]
        records = zstandard.decompress(body, ci.uncompressed_size) if ci.compression == "zstd" else body
        assert len(records) == ci.uncompressed_size
        for cid, offset in ci.message_index_offsets.items():
            index = MessageIndex.read(ReadDataStream(io.BytesIO(data[offset + 9 :])))
            assert index.channel_id == cid
            for log_time, at in index.records:
                opcode, _, channel, _, logged = struct.unpack_from("<BQHIQ", records, at)
                assert (opcode, channel, logged) == (0x05, cid, log_time)
                indexed += 1
    assert indexed == len(messages)


def _expected(path: Path, h: SimpleNamespace) -> tuple[Counter[tuple[str, int, int, int, bytes]], Counter[str]]:
    """What recovery keeps, found without rigsync: the messages of the complete chunks up to the last one holding
    anything but images; and the messages per topic of the complete image chunks after it."""
    scan = h.scan(str(path))
    last = max((i for i, chunk in enumerate(scan.chunks) if any(not t.endswith("/image") for t, _ in chunk)),
               default=-1)
    kept = Counter((t, m.log_time, m.publish_time, m.sequence, m.data) for c in scan.chunks[: last + 1] for t, m in c)
    left_out = Counter(t for c in scan.chunks[last + 1 :] for t, _ in c)
    return kept, left_out


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_a_file_cut_anywhere_recovers_into_a_complete_indexed_file(
    tmp_path: Path, h: SimpleNamespace, compression: str
) -> None:
    """Cut inside a chunk, between two chunks, inside the next chunk's header, inside the summary and the
    footer: the output opens with the seeking reader, its statistics and indexes match its messages, it holds
    exactly the messages recovery keeps (byte-exact images, seq 0..n-1) and the report counts kept and lost."""
    full = tmp_path / "full.mcap"
    _record(full, h, compression)
    data = full.read_bytes()
    chunks, images, summary_start = _layout(full)
    assert all(images & c.message_index_offsets.keys() for c in chunks)  # every chunk holds images
    mid = chunks[2]
    after = mid.chunk_start_offset + mid.chunk_length + mid.message_index_length
    cuts = {"inside a chunk": mid.chunk_start_offset + mid.chunk_length // 2,
            "between two chunks": after,
            "inside the next chunk's header": after + 20,
            "inside the summary": summary_start + 30,
            "inside the footer": len(data) - 1}
    cut = tmp_path / "cut.mcap"
    for where, offset in cuts.items():
        cut.write_bytes(data[:offset])
        out = tmp_path / f"{where.replace(' ', '_')}.mcap"
        report = recover(cut, out)
        kept, left_out = _expected(cut, h)
        assert _messages(out) == kept, where
        _assert_indexed(out)
        assert report.output == str(out) and not report.complete and report.bytes_total == offset
        assert report.kept == dict(Counter(t for t, *_ in kept.elements())), where
        assert report.left_out == dict(left_out) == {} and report.chunks_left_out == 0, where
        if where == "inside a chunk":  # the torn chunk: its size and its messages' log times, from its header
            assert report.torn is not None and report.torn.kind == "chunk"
            assert report.torn.offset == mid.chunk_start_offset == report.bytes_kept
            assert report.torn.declared_bytes == mid.chunk_length - 9
            assert report.torn.log_time_range == (mid.message_start_time, mid.message_end_time)
        if where in ("inside the summary", "inside the footer"):  # all before the summary: every message
            assert kept == _messages(full)
            with open_recording(out) as rec, open_recording(full) as original:
                assert rec.metadata["rigsync.stats"] == original.metadata["rigsync.stats"]
        with open_recording(out) as rec:
            assert not rec.recovered and rec.rig_toml == "x = 1"
            assert rec.metadata[RECOVERY_METADATA]["stopped"] == report.stopped
            recovered = list(rec.images("cam0", "color"))
            assert [i.seq for i in recovered] == list(range(report.kept["/cam0/color/image"]))
            assert all(i.image.tobytes() == h.pattern(i.seq, SHAPE, "u1").tobytes() for i in recovered)
            assert [f.seq for f in rec.frames()] == [i.seq for i in recovered]  # every image with its stamp
        with open_recording(cut) as broken:
            assert broken.recovered and [s.message_count for s in broken.streams] == [len(recovered)]


def test_a_file_of_the_old_layout_cut_between_images_and_stamps(tmp_path: Path) -> None:
    """A file of the old two-chunk layout (images in chunks of their own, their stamps in the chunk written after
    it) cut between the two: the trailing chunk of images is left out, counted, and said so."""
    path, cut = tmp_path / "old.mcap", tmp_path / "old-cut.mcap"
    sink = FileSink(str(path))
    w = McapChunkWriter(sink, compression="", chunk_size=1 << 20)
    w.start("", "rigsync/0.old")
    w.add_metadata("rigsync", {"rig_toml": "x = 1", "rig_path": "r.toml", "version": "0.old"})
    w.add_schema(1, RAW_IMAGE_SCHEMA, "protobuf", raw_image_schema())
    w.add_channel(1, "/cam0/color/image", "protobuf", 1, {"device": "cam0", "stream": "color"})
    w.add_channel(2, "/rigsync/frames", "json", 0, {})
    ends = []
    for seq in range(2):
        w.add_message(1, 1000 + seq, 1000 + seq, seq, b"i" * 100)
        w.end_group(0.0)
        w.flush_chunk()
        ends.append(w.good_offset)
        w.add_message(2, 1000 + seq, 1000 + seq, seq, b"{}")
        w.end_group(0.0)
        w.flush_chunk()
    w.finish()
    sink.close()
    cut.write_bytes(path.read_bytes()[: ends[1]])  # just after the second image's chunk
    report = recover(cut, tmp_path / "out.mcap")
    assert report.kept == {"/cam0/color/image": 1, "/rigsync/frames": 1}
    assert report.left_out == {"/cam0/color/image": 1} and report.chunks_left_out == 1
    assert "1 chunk(s) of images written after the last chunk of stamps, left out" in report.stopped


def test_a_cut_inside_the_header_or_before_any_chunk(tmp_path: Path, h: SimpleNamespace) -> None:
    """A file cut inside its header has nothing to recover (an error naming it); one cut before its first chunk
    recovers into a valid file with the rig file, the channels and no message."""
    full = tmp_path / "full.mcap"
    _record(full, h, "none")
    data = full.read_bytes()
    chunks, _, _ = _layout(full)
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[:13])
    with pytest.raises(RecordingError, match="nothing to recover: no MCAP header") as err:
        recover(cut)
    assert err.value.path == str(cut) and not (tmp_path / "cut.recovered.mcap").exists()
    cut.write_bytes(data[: chunks[0].chunk_start_offset + 100])
    report = recover(cut)
    out = tmp_path / "cut.recovered.mcap"
    assert report.output == str(out) and report.kept == {} and report.time_span_ns == (0, 0)
    assert _messages(out) == Counter()
    _assert_indexed(out)
    with open_recording(out) as rec:
        assert rec.rig_toml == "x = 1" and [s.topic for s in rec.streams] == ["/cam0/color/image"]


def test_outputs_are_never_the_input_nor_replaced_without_force(tmp_path: Path, h: SimpleNamespace) -> None:
    """The default output sits beside the input; an existing output is refused unless forced; the input itself is
    refused even with force; a complete input is reported and written only when an output is given (a copy)."""
    full = tmp_path / "full.mcap"
    _record(full, h, "zstd")
    data = full.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) // 2])
    default = tmp_path / "cut.recovered.mcap"
    assert recover(cut).output == str(default)
    first = default.read_bytes()
    with pytest.raises(RecordingError, match=r"exists \(give --force to replace it\)"):
        recover(cut)
    assert recover(cut, force=True).output == str(default) and default.read_bytes() == first
    with pytest.raises(RecordingError, match="is the input"):
        recover(cut, cut, force=True)
    assert cut.read_bytes() == data[: len(data) // 2]
    report = recover(full)
    assert report.complete and report.output is None and not (tmp_path / "full.recovered.mcap").exists()
    assert report.kept == {ch: n for ch, n in Counter(t for t, *_ in _messages(full).elements()).items()}
    copy = tmp_path / "copy.mcap"
    assert recover(full, copy).output == str(copy) and copy.read_bytes() == data


def test_bad_input_is_an_error_naming_the_file(tmp_path: Path) -> None:
    """A missing file, a directory and a file that is not MCAP are RecordingErrors naming the file."""
    text = tmp_path / "notes.mcap"
    text.write_text("not a recording\n")
    for path, problem in ((tmp_path / "missing.mcap", "cannot read: No such file"),
                          (tmp_path, "cannot read: Is a directory"), (text, "not an MCAP file")):
        with pytest.raises(RecordingError, match=problem) as err:
            recover(path)
        assert err.value.path == str(path)


def test_an_unwritable_output_is_an_error_naming_it(tmp_path: Path, h: SimpleNamespace) -> None:
    """An output in a missing folder: a RecordingError naming the output, and no partial file left."""
    full = tmp_path / "full.mcap"
    _record(full, h, "none")
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(full.read_bytes()[:-100])
    out = tmp_path / "no" / "such" / "out.mcap"
    with pytest.raises(RecordingError, match="cannot write: No such file or directory") as err:
        recover(cut, out)
    assert err.value.path == str(out) and not out.parent.exists()


def test_another_writers_file_keeps_its_attachments(tmp_path: Path) -> None:
    """A file of another MCAP writer (``mcap``'s own) cut inside its summary: its messages and its attachment are in
    the output, with an attachment index and count."""
    from mcap.writer import Writer

    full = tmp_path / "other.mcap"
    with open(full, "wb") as f:
        writer = Writer(f)
        writer.start("", "other-writer")
        schema = writer.register_schema("s", "jsonschema", b"{}")
        channel = writer.register_channel("/t", "json", schema)
        for i in range(50):
            writer.add_message(channel, log_time=i, data=b'{"i": %d}' % i, publish_time=i, sequence=i)
        writer.add_attachment(create_time=7, log_time=8, name="calib.yaml", media_type="text/yaml", data=b"k: 1\n")
        writer.finish()
    _, _, summary_start = _layout(full)
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(full.read_bytes()[: summary_start + 10])
    report = recover(cut)
    out = tmp_path / "cut.recovered.mcap"
    assert report.attachments == 1 and report.kept == {"/t": 50}
    assert _messages(out) == _messages(full)
    _assert_indexed(out)
    with open(out, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        assert summary.statistics.attachment_count == len(summary.attachment_indexes) == 1
        [attachment] = list(reader.iter_attachments())
    assert (attachment.name, attachment.media_type, attachment.data) == ("calib.yaml", "text/yaml", b"k: 1\n")
    assert (attachment.create_time, attachment.log_time) == (7, 8)
