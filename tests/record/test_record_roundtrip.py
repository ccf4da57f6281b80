"""Recorder -> file -> reader round trips, and the file as the mcap library sees it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from mcap._chunk_builder import ChunkBuilder
from mcap.data_stream import RecordBuilder
from mcap.reader import NonSeekingReader, SeekingReader, make_reader
from mcap.records import Chunk, Message

import rigsync
from rigsync.core.errors import RecordingError
from rigsync.core.frameset import FramesetMember, FramesetMissing, FramesetRecord, MissingReason
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.truth import FrameTruth
from rigsync.record import Compression, Recorder, RecorderConfig, open_recording
from rigsync.record import schemas as sc
from rigsync.record.file_sink import FileSink, Piece
from rigsync.record.json_schemas import DEVICE_EVENT_SCHEMA
from rigsync.record.mcap_writer import McapChunkWriter

W, H = 40, 30
INTR = Intrinsics.from_hfov(W, H, 70.0)
STREAMS = {("cam0", "color"): ("rgb8", (H, W, 3), "u1"), ("cam0", "depth"): ("16UC1", (H, W), "<u2"),
           ("cam1", "ir"): ("mono8", (H, W), "u1")}  # fmt: skip
N = 24
EVENT = {"device": "cam1", "kind": "disconnected", "rig_ns": 7, "host_ns": 5, "reason": ""}


def _record(path: Path, h: SimpleNamespace, compression: Compression, *, drop: int | None = None) -> None:
    """N frames per stream, a frameset per frame (member cam1/ir missing on frame ``drop``), truth, status."""
    config = RecorderConfig(compression=compression, chunk_size_bytes=16 << 10)
    with Recorder(path, config, rig_toml='[rig]\nname = "t"\n', rig_path="rigs/t.toml", metadata={"host": "a"}) as rec:
        for (device, stream), (encoding, _, _) in STREAMS.items():
            rec.add_stream(device, stream, INTR, encoding)
        for seq in range(N):
            members, missing = [], []
            for (device, stream), (encoding, shape, dtype) in STREAMS.items():
                if seq == drop and stream == "ir":
                    missing.append(FramesetMissing(device, stream, MissingReason.DROPPED))
                    continue
                assert rec.write_image(h.stamped(device, stream, seq, h.pattern(seq, shape, dtype), encoding))
                members.append(FramesetMember(device, stream, seq, h.rig_time(seq), seq * 1000, 0, 50_000))
            rec.write_frameset(FramesetRecord(seq, h.rig_time(seq), 1234, tuple(members), tuple(missing)))
            rec.write_truth(FrameTruth("cam0", "color", seq, h.rig_time(seq) - 10, h.rig_time(seq) + 990, f"g/{seq}"))
        rec.write_json("/rigsync/events", EVENT, h.rig_time(N), schema=DEVICE_EVENT_SCHEMA)
        rec.close(clocks={"cam0": json.dumps({"offset_ns": 12})}, stats={"capture": json.dumps({"frames": N})})


@pytest.mark.parametrize("compression", list(Compression))
def test_images_round_trip_byte_exact(tmp_path: Path, h: SimpleNamespace, compression: Compression) -> None:
    """rgb8, 16UC1 and mono8 images come back byte-exact with rig time, host time and seq, in every compression."""
    path = tmp_path / "rig.mcap"
    _record(path, h, compression)
    with open_recording(path) as rec:
        assert not rec.recovered
        assert {(s.device, s.stream, s.encoding, s.width, s.height, s.message_count) for s in rec.streams} == {
            (d, s, enc, W, H, N) for (d, s), (enc, _, _) in STREAMS.items()
        }
        for (device, stream), (encoding, shape, dtype) in STREAMS.items():
            images = list(rec.images(device, stream))
            assert [i.seq for i in images] == list(range(N))
            for img in images:
                assert img.image.dtype == np.dtype(dtype) and img.encoding == encoding
                assert img.image.tobytes() == h.pattern(img.seq, shape, dtype).tobytes()
                assert img.rig_time_ns == h.rig_time(img.seq)
                assert img.host_rx_ns == h.rig_time(img.seq) + 4_000_000


def test_framesets_truth_json_and_metadata_round_trip(tmp_path: Path, h: SimpleNamespace) -> None:
    """Framesets, truth, generic JSON and the start/end metadata read back as written."""
    path = tmp_path / "rig.mcap"
    _record(path, h, Compression.ZSTD, drop=5)
    with open_recording(path) as rec:
        framesets = list(rec.framesets())
        assert [f.frameset_id for f in framesets] == list(range(N))
        assert framesets[5].missing == (FramesetMissing("cam1", "ir", MissingReason.DROPPED),)
        assert framesets[6].members[2] == FramesetMember("cam1", "ir", 6, h.rig_time(6), 6000, 0, 50_000)
        truth = list(rec.truth())
        assert truth[3] == FrameTruth("cam0", "color", 3, h.rig_time(3) - 10, h.rig_time(3) + 990, "g/3")
        assert list(rec.json_messages("/rigsync/events")) == [(h.rig_time(N), EVENT)]
        assert rec.rig_toml == '[rig]\nname = "t"\n' and rec.version == rigsync.__version__
        assert rec.metadata["rigsync"]["rig_path"] == "rigs/t.toml" and rec.metadata["rigsync"]["host"] == "a"
        assert json.loads(rec.metadata["rigsync.clocks"]["cam0"]) == {"offset_ns": 12}
        stats = rec.metadata["rigsync.stats"]
        assert json.loads(stats["capture"]) == {"frames": N}
        assert json.loads(stats["recorder"])["images"] == 3 * N - 1
        summary = rec.summary()
        assert (summary.framesets_total, summary.framesets_complete, summary.framesets_incomplete) == (N, N - 1, 1)
        assert summary.missing_reasons == {"dropped": 1}
        assert summary.devices == ("cam0", "cam1") and not summary.recovered
        assert summary.duration_s == pytest.approx((N - 1) * h.period_ns / 1e9)


def test_camera_info_accompanies_every_image(tmp_path: Path, h: SimpleNamespace) -> None:
    """Each image has a CameraCalibration with the stream's K at the same log time."""
    path = tmp_path / "rig.mcap"
    _record(path, h, Compression.LZ4)
    with open(path, "rb") as f:
        infos = [(m.log_time, m.sequence, CameraCalibration.FromString(m.data))
                 for _, _, m in make_reader(f).iter_messages(["/cam0/color/camera_info"])]  # fmt: skip
    assert [(t, s) for t, s, _ in infos] == [(h.rig_time(i), i) for i in range(N)]
    for log_time, _, info in infos:
        assert list(info.K) == list(INTR.k) and sc.timestamp_ns(info) == log_time
        assert (info.width, info.height, info.frame_id) == (W, H, "cam0/color")


@pytest.mark.parametrize("compression", list(Compression))
def test_mcap_library_readers_accept_the_file(tmp_path: Path, h: SimpleNamespace, compression: Compression) -> None:
    """make_reader gives a SeekingReader with right statistics; the NonSeekingReader streams the same messages."""
    path = tmp_path / "rig.mcap"
    _record(path, h, compression)
    with open(path, "rb") as f:
        reader = make_reader(f)
        assert isinstance(reader, SeekingReader)
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        stats = summary.statistics
        topics = {ch.id: ch.topic for ch in summary.channels.values()}
        counts = {topics[cid]: n for cid, n in stats.channel_message_counts.items()}
        assert counts["/cam0/color/image"] == counts["/cam0/color/camera_info"] == N
        assert counts["/rigsync/framesets"] == counts["/rigsync/sim/truth"] == N
        assert counts["/rigsync/frames"] == 3 * N  # one stamp record per image
        assert stats.message_count == sum(counts.values()) == 3 * N * 3 + 2 * N + 1
        assert stats.chunk_count == len(summary.chunk_indexes) > 1
        # the five schemas written at the start, and rigsync.DeviceEvent written with /rigsync/events
        assert stats.metadata_count == 3 and stats.schema_count == 6 and stats.channel_count == len(topics)
        assert stats.message_start_time == h.rig_time(0) - 10 and stats.message_end_time == h.rig_time(N)
        assert {ci.compression for ci in summary.chunk_indexes} == {"" if compression == "none" else compression}
        decoded = [RawImage.FromString(m.data) for _, _, m in reader.iter_messages(["/cam0/depth/image"])]
        assert [sc.timestamp_ns(d) for d in decoded] == [h.rig_time(i) for i in range(N)]
        assert all(d.frame_id == "cam0/depth" and d.encoding == "16UC1" and d.step == 2 * W for d in decoded)
        assert [m.name for m in reader.iter_metadata()] == ["rigsync", "rigsync.clocks", "rigsync.stats"]
    with open(path, "rb") as f:
        streamed = list(NonSeekingReader(f).iter_messages(log_time_order=False))
    assert len(streamed) == stats.message_count


def test_fast_chunk_equals_library_chunk(tmp_path: Path) -> None:
    """An uncompressed chunk and its message index are byte-identical to the mcap library's records."""
    path = tmp_path / "c.mcap"
    messages = [Message(1 + i % 2, 1000 + i, bytes([i]) * (10 + 20_000 * (i % 3)), 2000 + i, i) for i in range(7)]
    sink = FileSink(str(path))
    writer = McapChunkWriter(sink, compression="", chunk_size=1 << 20)
    writer.start("", "t")
    start = writer.good_offset
    for m in messages:
        payload = memoryview(m.data[5:]) if len(m.data) > 5 else None
        writer.add_message(m.channel_id, m.log_time, m.publish_time, m.sequence, m.data[:5], payload=payload)
    writer.flush_chunk()
    sink.close()
    builder = ChunkBuilder()
    for m in messages:
        builder.add_message(m)
    data = builder.end()  # type: ignore[no-untyped-call]
    expected = RecordBuilder()
    Chunk("", data, 1000 + 6, 1000, 0, len(data)).write(expected)
    for channel_id in sorted(builder.message_indices):
        builder.message_indices[channel_id].write(expected)
    assert path.read_bytes()[start:] == expected.end()  # type: ignore[no-untyped-call]


def test_framesets_with_images_pairs_members_with_their_images(tmp_path: Path, h: SimpleNamespace) -> None:
    """Each frameset comes with exactly its members' images (a dropped member has none)."""
    path = tmp_path / "rig.mcap"
    _record(path, h, Compression.NONE, drop=7)
    with open_recording(path) as rec:
        pairs = list(rec.framesets_with_images())
    assert [f.frameset_id for f, _ in pairs] == list(range(N))
    for record, images in pairs:
        assert set(images) == {(m.device, m.stream) for m in record.members}
        for member in record.members:
            img = images[(member.device, member.stream)]
            _, shape, dtype = STREAMS[(member.device, member.stream)]
            assert img.seq == member.seq and img.rig_time_ns == member.rig_time_ns
            assert img.image.tobytes() == h.pattern(member.seq, shape, dtype).tobytes()
    assert ("cam1", "ir") not in pairs[7][1]


def test_a_member_whose_image_was_not_recorded_holds_back_no_frameset(tmp_path: Path, h: SimpleNamespace) -> None:
    """A frameset naming a member whose image the recorder never got (an overrun) comes without that image, in
    order, and the framesets after it still get theirs; 1 KiB chunks: the images are far ahead of their sets."""
    path = tmp_path / "o.mcap"
    with Recorder(path, RecorderConfig(compression=Compression.NONE, chunk_size_bytes=1024), rig_toml="",
                  rig_path="") as rec:
        rec.add_stream("cam0", "color", INTR, "rgb8")
        for seq in range(N):
            if seq != 5:
                assert rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, (H, W, 3), "u1"), "rgb8"))
            member = FramesetMember("cam0", "color", seq, h.rig_time(seq), seq * 1000, 0, 50_000)
            rec.write_frameset(FramesetRecord(seq, h.rig_time(seq), 0, (member,), ()))
    with open_recording(path) as read:
        pairs, chunks_read_at = [], {}
        for record, images in read.framesets_with_images():
            pairs.append((record.frameset_id, sorted((k, i.seq) for k, i in images.items())))
            chunks_read_at[record.frameset_id] = len(read.chunks_decompressed)
    assert pairs == [(seq, [] if seq == 5 else [(("cam0", "color"), seq)]) for seq in range(N)]
    assert chunks_read_at[5] - chunks_read_at[0] == 5  # given once image 6 was read (its chunk), not at the end


def test_write_image_validates_frames(tmp_path: Path, h: SimpleNamespace) -> None:
    """Unknown streams, wrong shapes/dtypes and negative times are refused with RecordingError."""
    with Recorder(tmp_path / "v.mcap", RecorderConfig(), rig_toml="", rig_path="") as rec:
        rec.add_stream("cam0", "color", INTR, "rgb8")
        with pytest.raises(RecordingError, match="was not added"):
            rec.write_image(h.stamped("cam9", "color", 0, np.zeros((H, W, 3), np.uint8), "rgb8"))
        with pytest.raises(RecordingError, match="shape"):
            rec.write_image(h.stamped("cam0", "color", 0, np.zeros((H, W), np.uint8), "rgb8"))
        with pytest.raises(RecordingError, match="dtype"):
            rec.write_image(h.stamped("cam0", "color", 0, np.zeros((H, W, 3), np.uint16), "rgb8"))
        with pytest.raises(RecordingError, match="already added"):
            rec.add_stream("cam0", "color", INTR, "rgb8")
        with pytest.raises(RecordingError, match="image topic"):
            rec.write_json("/cam0/color/image", {}, 0, schema=DEVICE_EVENT_SCHEMA)
        # a non-contiguous (sliced) array is recorded as its pixels; big-endian depth as little-endian 16UC1
        wide = h.pattern(1, (H, 2 * W, 3), "u1")
        assert rec.write_image(h.stamped("cam0", "color", 1, wide[:, ::2], "rgb8"))
        rec.add_stream("cam0", "depth", INTR, "16UC1")
        depth = h.pattern(1, (H, W), ">u2")
        assert rec.write_image(h.stamped("cam0", "depth", 1, depth, "16UC1"))
    with open_recording(tmp_path / "v.mcap") as read:
        (img,) = read.images("cam0", "color")
        np.testing.assert_array_equal(img.image, wide[:, ::2])
        (dimg,) = read.images("cam0", "depth")
        assert dimg.image.dtype == np.dtype("<u2")
        np.testing.assert_array_equal(dimg.image, depth)


def test_config_is_validated() -> None:
    """Bad RecorderConfig values raise ValueError naming the field."""
    with pytest.raises(ValueError, match="chunk_size_bytes"):
        RecorderConfig(chunk_size_bytes=0)
    with pytest.raises(ValueError, match="compression"):
        RecorderConfig(compression="gzip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="put_timeout_s"):
        RecorderConfig(put_timeout_s=-1)
    assert RecorderConfig(compression="lz4").compression is Compression.LZ4  # type: ignore[arg-type]


def test_reader_rejects_a_non_mcap_file(tmp_path: Path) -> None:
    """A file that is not MCAP is a RecordingError naming the file."""
    bad = tmp_path / "x.mcap"
    bad.write_bytes(b"not an mcap file")
    with pytest.raises(RecordingError, match=r"x\.mcap"):
        open_recording(bad)


def test_file_sink_resumes_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short pwritev returns are resumed mid-piece and big pieces are sliced: the file holds every byte in order."""
    real = os.pwritev
    calls: list[int] = []

    def short_pwritev(fd: int, buffers: list[memoryview], offset: int) -> int:
        calls.append(sum(b.nbytes for b in buffers))
        head = b"".join(buffers)[:1000]  # at most 1000 bytes per call, as a signal-interrupted write may do
        return real(fd, [head], offset)

    monkeypatch.setattr(os, "pwritev", short_pwritev)
    pieces: list[Piece] = [b"abc", bytearray(b"defg" * 300), memoryview(bytes(range(256)) * 2000), b"", b"xyz"]
    sink = FileSink(str(tmp_path / "s.bin"))
    sink.write_at(5, pieces)
    sink.close()
    assert (tmp_path / "s.bin").read_bytes() == b"\0" * 5 + b"".join(pieces)
    assert max(calls) <= 256 << 10



def test_every_image_has_its_frame_record(tmp_path: Path, h: SimpleNamespace) -> None:
    """Each recorded image comes with a /rigsync/frames record: stamps, error bound and flags."""
    import dataclasses

    from rigsync.core.frame import FrameFlags

    path = tmp_path / "f.mcap"
    frames = []
    for i in range(4):
        f = h.stamped("cam0", "depth", i, h.pattern(i, (H, W), "<u2"), "16UC1")
        if i == 2:
            f = dataclasses.replace(f, frame=dataclasses.replace(f.frame, flags=FrameFlags.INTERFERED))
        frames.append(f)
    with Recorder(path, RecorderConfig(), rig_toml="", rig_path="t.toml") as rec:
        rec.add_stream("cam0", "depth", INTR, "16UC1")
        for f in frames:
            assert rec.write_image(f)
    with open_recording(path) as r:
        stamps = list(r.frames())
    assert [s.seq for s in stamps] == [0, 1, 2, 3]
    assert [s.flags for s in stamps] == [(), (), ("interfered",), ()]
    assert all(s.rig_time_ns == f.rig_time_ns and s.error_bound_ns == f.error_bound_ns
               for s, f in zip(stamps, frames, strict=True))
