"""Helpers for the recording tests: deterministic frames and an independent scan of complete chunks."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from mcap.data_stream import ReadDataStream
from mcap.records import Channel, Chunk, Message
from mcap.stream_reader import breakup_chunk

from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics

RIG_T0_NS = 1_700_000_000_000_000_000
PERIOD_NS = 33_333_333


def rig_time(seq: int) -> int:
    return RIG_T0_NS + seq * PERIOD_NS


def pattern(seq: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A deterministic image for frame ``seq``: a gradient shifted by the frame number."""
    count = int(np.prod(shape))
    values = (np.arange(count, dtype=np.uint64) * 7 + seq * 131) % (256 if dtype == "u1" else 65536)
    return values.astype(dtype).reshape(shape)


def stamped(device: str, stream: str, seq: int, image: np.ndarray, encoding: str) -> StampedFrame:
    frame = Frame(
        device=device,
        stream=stream,
        seq=seq,
        device_ts_ns=seq * 1_000,
        host_rx_ns=rig_time(seq) + 4_000_000,
        semantics=TimestampSemantics.START_OF_EXPOSURE,
        domain=ClockDomain.DEVICE,
        min_latency_ns=1_000_000,
        exposure_ns=None,
        image=image,
        encoding=encoding,
    )
    return StampedFrame(frame=frame, rig_time_ns=rig_time(seq), error_bound_ns=50_000)


@dataclass
class ChunkScan:
    """What the complete chunks of a file hold, found without rigsync's reader."""

    end: int
    """Offset just past the last complete record."""
    messages: dict[str, list[Message]]
    """Messages by topic."""
    chunks: list[list[tuple[str, Message]]]
    """Each complete chunk's ``(topic, message)`` pairs, in file order."""


def scan_complete_chunks(path: str) -> ChunkScan:
    """Walk the record framing and keep every record that fits entirely in the file."""
    with open(path, "rb") as f:
        data = f.read()
    pos, channels = 8, {}
    messages: dict[str, list[Message]] = {}
    chunks: list[list[tuple[str, Message]]] = []
    while pos + 9 <= len(data):
        opcode, length = struct.unpack_from("<BQ", data, pos)
        if pos + 9 + length > len(data):
            break
        body = ReadDataStream(io.BytesIO(data[pos + 9 : pos + 9 + length]))
        if opcode == 0x04:
            channel = Channel.read(body)
            channels[channel.id] = channel.topic
        elif opcode == 0x06:
            chunks.append([(channels[r.channel_id], r) for r in breakup_chunk(Chunk.read(body))
                           if isinstance(r, Message)])
            for topic, message in chunks[-1]:
                messages.setdefault(topic, []).append(message)
        elif opcode == 0x02:  # footer
            pos += 9 + length + 8
            break
        pos += 9 + length
    return ChunkScan(end=pos, messages=messages, chunks=chunks)


def chunk_groups(scan: ChunkScan) -> list[tuple[set[tuple[str, int, int]], ...]]:
    """Per complete chunk: the ``(device/stream, sequence, log_time)`` of its images, of its camera_infos and
    of its ``/rigsync/frames`` stamps."""
    out = []
    for chunk in scan.chunks:
        images, infos, stamps = set(), set(), set()
        for topic, m in chunk:
            if topic.endswith("/image"):
                images.add((topic[1 : -len("/image")], m.sequence, m.log_time))
            elif topic.endswith("/camera_info"):
                infos.add((topic[1 : -len("/camera_info")], m.sequence, m.log_time))
            elif topic == "/rigsync/frames":
                stamp = json.loads(m.data)
                stamps.add((f"{stamp['device']}/{stamp['stream']}", m.sequence, stamp["rig_time_ns"]))
        out.append((images, infos, stamps))
    return out


def kept_frames(scan: ChunkScan) -> tuple[dict[tuple[str, int, int], int], ...]:
    """What recovery keeps of a frame's records: of the complete chunks (up to the last that holds anything but
    images: files of the old layout had chunks of images only), the index of the chunk holding each image, each
    camera_info and each stamp (by ``(device/stream, sequence, log_time)``). Asserts that no record is in two
    chunks."""
    last = max((i for i, chunk in enumerate(scan.chunks) if any(not t.endswith("/image") for t, _ in chunk)),
               default=-1)
    groups = chunk_groups(scan)[: last + 1]
    found: tuple[dict[tuple[str, int, int], int], ...] = ({}, {}, {})
    for i, group in enumerate(groups):
        for records, where in zip(group, found, strict=True):
            for record in records:
                assert record not in where, f"{record} is in two chunks"
                where[record] = i
    return found


@pytest.fixture
def h() -> SimpleNamespace:
    """The helpers above (test modules here must not import conftest: their basenames are not unique)."""
    return SimpleNamespace(
        rig_time=rig_time, pattern=pattern, stamped=stamped, scan=scan_complete_chunks, period_ns=PERIOD_NS,
        chunk_groups=chunk_groups, kept_frames=kept_frames,
    )
