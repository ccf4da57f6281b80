"""Reading a rigsync recording back: images, framesets, truth, JSON topics, metadata and a summary.

A complete file is read through its summary and chunk indexes (``mcap``'s seeking reader). A file without a
valid summary or footer (a capture killed, a disk that filled up) is *recovered*: it is streamed with
``mcap``'s stream reader over a reader that refuses short reads, and reading stops cleanly at the first
truncated or invalid record, so every message of every complete chunk is returned and nothing else.
"""

from __future__ import annotations

import io
import json
import os
import struct
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Self, cast

import numpy as np
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from mcap.data_stream import ReadDataStream
from mcap.exceptions import EndOfFile, McapError
from mcap.reader import SeekingReader
from mcap.records import Channel, Chunk, Message, Metadata, Schema
from mcap.stream_reader import StreamReader, get_chunk_data_stream

from rigsync.core.errors import RecordingError
from rigsync.core.frameset import FramesetRecord
from rigsync.core.truth import FrameTruth
from rigsync.record import schemas as sc
from rigsync.record.mcap_writer import MCAP_MAGIC
from rigsync.record.recorder import FRAMES_TOPIC, FRAMESETS_TOPIC, TRUTH_TOPIC

_CORRUPT = (McapError, struct.error, ValueError, KeyError, IndexError, EOFError, OSError, MemoryError)
_SEQ_MOD = 1 << 32


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """An image stream of the recording."""

    device: str
    stream: str
    topic: str
    encoding: str
    width: int
    height: int
    message_count: int


@dataclass(frozen=True, slots=True)
class RecordedImage:
    """One recorded image; ``image`` is a read-only array, (height, width) or (height, width, channels)."""

    device: str
    stream: str
    seq: int
    """The frame counter, unwrapped from the MCAP sequence (recorded modulo 2**32)."""
    rig_time_ns: int
    """Rig clock, start of exposure (the message log time)."""
    host_rx_ns: int
    """Host clock, when the frame was received (the message publish time)."""
    image: np.ndarray
    encoding: str


@dataclass(frozen=True, slots=True)
class FrameStamp:
    """One recorded frame's ``/rigsync/frames`` record."""

    device: str
    stream: str
    seq: int
    rig_time_ns: int
    """Rig clock, estimated start of exposure."""
    error_bound_ns: int
    locked: bool
    device_ts_ns: int
    host_rx_ns: int
    exposure_ns: int | None
    flags: tuple[str, ...]
    """``corrupt``, ``interfered``, ``after_reconnect``."""
    time_flags: tuple[str, ...] = ()
    """``acquiring``, ``slewing``, ``host_unsynced``, ``ptp_unlocked``, ``ptp_warn``, ``ptp_error``."""


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    """What ``rigsync info`` shows."""

    path: str
    version: str
    recovered: bool
    devices: tuple[str, ...]
    streams: tuple[StreamInfo, ...]
    framesets_total: int
    framesets_complete: int
    framesets_incomplete: int
    missing_reasons: dict[str, int]
    """Missing members by reason (``not_received``, ``dropped``...) over all framesets."""
    duration_s: float
    """From the first to the last frameset (rig clock); from the first to the last message without framesets."""


class _ExactReader:
    """A file reader whose ``read(n)`` returns exactly ``n`` bytes or raises ``EndOfFile``."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self._f = f
        self._size = size
        self.pos = f.tell()

    def read(self, n: int) -> bytes:
        if n > self._size - self.pos:
            raise EndOfFile()
        data = self._f.read(n)
        if len(data) != n:
            raise EndOfFile()
        self.pos += n
        return data


def _chunk_messages(chunk: Chunk) -> list[Message]:
    """The messages of a chunk; raises if it does not decompress to exactly its declared records."""
    stream, length = get_chunk_data_stream(chunk)
    if length != chunk.uncompressed_size:
        raise McapError(f"chunk holds {length} bytes, declares {chunk.uncompressed_size}")
    messages = []
    while stream.count < length:
        opcode, record_length = stream.read1(), stream.read8()
        if stream.count + record_length > length:
            raise McapError("record runs past the end of its chunk")
        if opcode == 0x05:
            messages.append(Message.read(stream, record_length))
        else:
            stream.read(record_length)
    return messages


def _chunk_length(chunk: Chunk) -> int:
    return 9 + 8 + 8 + 8 + 4 + 4 + len(chunk.compression.encode()) + 8 + len(chunk.data)


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open a recording (recovering it if it was not closed properly). Raises :class:`RecordingError`."""
    return Recording(path)


class Recording:
    """A recording opened for reading. A context manager; each iterator reads the file on its own handle."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.recovered = False
        self.metadata: dict[str, dict[str, str]] = {}
        self._schemas: dict[int, Schema] = {}
        self._channels: dict[int, Channel] = {}
        self._counts: dict[int, int] = {}
        self._time_span = (0, 0)
        self._chunks: list[tuple[int, int]] = []  # recovered: (offset, length) of every complete chunk
        try:
            with open(self.path, "rb") as f:
                if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                    raise RecordingError(self.path, "not an MCAP file (bad magic)")
                if not self._load_indexed(f):
                    self.recovered = True
                    self._load_recovered(f)
        except OSError as exc:
            raise RecordingError(self.path, f"cannot read: {exc.strerror}") from exc
        rigsync_meta = self.metadata.get("rigsync", {})
        self.rig_toml: str = rigsync_meta.get("rig_toml", "")
        self.version: str = rigsync_meta.get("version", "")
        self.streams: list[StreamInfo] = [
            StreamInfo(
                device=ch.metadata.get("device", ch.topic.split("/")[1]),
                stream=ch.metadata.get("stream", ch.topic.split("/")[2]),
                topic=ch.topic,
                encoding=ch.metadata.get("encoding", ""),
                width=int(ch.metadata.get("width", 0)),
                height=int(ch.metadata.get("height", 0)),
                message_count=self._counts.get(ch.id, 0),
            )
            for ch in self._channels.values()
            if ch.topic.endswith("/image") and self._schema_name(ch) == sc.RAW_IMAGE_SCHEMA
        ]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between iterations; kept for the context-manager contract."""

    def _schema_name(self, channel: Channel) -> str:
        schema = self._schemas.get(channel.schema_id)
        return "" if schema is None else schema.name

    def _load_indexed(self, f: IO[bytes]) -> bool:
        try:
            f.seek(-len(MCAP_MAGIC), io.SEEK_END)
            if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                return False
            f.seek(0)
            reader = SeekingReader(f)
            summary = reader.get_summary()
            if summary is None or summary.statistics is None:
                return False
            self.metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
        except _CORRUPT:
            return False
        self._schemas, self._channels = dict(summary.schemas), dict(summary.channels)
        stats = summary.statistics
        self._counts = dict(stats.channel_message_counts)
        self._time_span = (stats.message_start_time, stats.message_end_time)
        return True

    def _load_recovered(self, f: IO[bytes]) -> None:
        size = f.seek(0, io.SEEK_END)
        f.seek(0)
        exact = _ExactReader(f, size)
        counts: Counter[int] = Counter()
        start: int | None = None
        end = 0
        try:
            for record in StreamReader(cast(IO[bytes], exact), emit_chunks=True, record_size_limit=None).records:
                if isinstance(record, Schema):
                    self._schemas[record.id] = record
                elif isinstance(record, Channel):
                    self._channels[record.id] = record
                elif isinstance(record, Metadata):
                    self.metadata[record.name] = dict(record.metadata)
                elif isinstance(record, Chunk):
                    messages = _chunk_messages(record)
                    length = _chunk_length(record)
                    self._chunks.append((exact.pos - length, length))
                    for m in messages:
                        counts[m.channel_id] += 1
                        start = m.log_time if start is None else min(start, m.log_time)
                        end = max(end, m.log_time)
        except _CORRUPT:
            pass  # the first truncated or invalid record: everything before it has been taken
        self._counts = dict(counts)
        self._time_span = (start or 0, end)

    # -- messages ----------------------------------------------------------------------------------------

    def _messages(self, topics: Iterable[str]) -> Iterator[tuple[Channel, Message]]:
        """Messages of ``topics`` in file order."""
        wanted = {cid for cid, ch in self._channels.items() if ch.topic in set(topics)}
        if not wanted:
            return
        with open(self.path, "rb") as f:
            if not self.recovered:
                topic_list = sorted({self._channels[c].topic for c in wanted})
                for _, channel, message in SeekingReader(f).iter_messages(topic_list, log_time_order=False):
                    yield channel, message
                return
            for offset, length in self._chunks:
                f.seek(offset + 9)
                chunk = Chunk.read(ReadDataStream(io.BytesIO(f.read(length - 9))))
                for message in _chunk_messages(chunk):
                    if message.channel_id in wanted:
                        yield self._channels[message.channel_id], message

    def json_messages(self, topic: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(log_time_ns, payload)`` of a JSON topic, in file order."""
        for _, message in self._messages([topic]):
            yield message.log_time, json.loads(message.data)

    def framesets(self) -> Iterator[FramesetRecord]:
        for _, payload in self.json_messages(FRAMESETS_TOPIC):
            yield FramesetRecord.from_json(payload)

    def frames(self) -> Iterator[FrameStamp]:
        """Every recorded frame's stamps and flags (``/rigsync/frames``), in file order."""
        for _, p in self.json_messages(FRAMES_TOPIC):
            yield FrameStamp(p["device"], p["stream"], int(p["seq"]), int(p["rig_time_ns"]), int(p["error_bound_ns"]),
                             bool(p["locked"]), int(p["device_ts_ns"]), int(p["host_rx_ns"]), p["exposure_ns"],
                             tuple(p["flags"]), tuple(p.get("time_flags", ())))

    def truth(self) -> Iterator[FrameTruth]:
        for _, payload in self.json_messages(TRUTH_TOPIC):
            yield FrameTruth.from_json(payload)

    def _stream(self, device: str, stream: str) -> StreamInfo:
        for info in self.streams:
            if (info.device, info.stream) == (device, stream):
                return info
        raise RecordingError(self.path, f"no image stream {device}/{stream} (streams: "
                             f"{', '.join(f'{s.device}/{s.stream}' for s in self.streams)})")  # fmt: skip

    @staticmethod
    def _decode(info: StreamInfo, message: Message, seq: int) -> RecordedImage:
        raw = RawImage.FromString(message.data)
        return RecordedImage(
            device=info.device,
            stream=info.stream,
            seq=seq,
            rig_time_ns=message.log_time,
            host_rx_ns=message.publish_time,
            image=sc.image_array(raw),
            encoding=raw.encoding,
        )

    def images(self, device: str, stream: str) -> Iterator[RecordedImage]:
        """The images of one stream in file order (= capture order)."""
        info = self._stream(device, stream)
        base, last = 0, -1
        for _, message in self._messages([info.topic]):
            if message.sequence < last:
                base += _SEQ_MOD
            last = message.sequence
            yield self._decode(info, message, base + message.sequence)

    def framesets_with_images(
        self, max_pending_per_stream: int = 256
    ) -> Iterator[tuple[FramesetRecord, dict[tuple[str, str], RecordedImage]]]:
        """Each frameset with its members' images, found by topic and log time (or sequence).

        Streams the file once. Images are held until a frameset references them; per stream at most
        ``max_pending_per_stream`` unreferenced images are kept (older ones are dropped), and a match drops
        the stream's older pending images. A member whose image was not recorded is absent from the dict.
        """
        by_topic = {info.topic: info for info in self.streams}
        by_key = {(info.device, info.stream): info for info in self.streams}
        pending: dict[tuple[str, str], deque[Message]] = {
            (i.device, i.stream): deque(maxlen=max_pending_per_stream) for i in self.streams
        }
        for channel, message in self._messages([FRAMESETS_TOPIC, *by_topic]):
            info = by_topic.get(channel.topic)
            if info is not None:
                pending[(info.device, info.stream)].append(message)
                continue
            record = FramesetRecord.from_json(json.loads(message.data))
            found: dict[tuple[str, str], RecordedImage] = {}
            for member in record.members:
                key = (member.device, member.stream)
                queue = pending.get(key)
                if not queue:
                    continue
                hit = next((m for m in queue if m.log_time == member.rig_time_ns), None)
                if hit is None:
                    hit = next((m for m in queue if m.sequence == member.seq % _SEQ_MOD), None)
                if hit is None:
                    continue
                while queue[0] is not hit:
                    queue.popleft()
                queue.popleft()
                found[key] = self._decode(by_key[key], hit, member.seq)
            yield record, found

    def summary(self) -> RecordingSummary:
        """Devices, streams with frame counts, frameset completeness and missing reasons, duration."""
        total = complete = 0
        reasons: Counter[str] = Counter()
        first = last = None
        for record in self.framesets():
            total += 1
            complete += not record.missing
            reasons.update(m.reason.value for m in record.missing)
            first = record.rig_time_ns if first is None else first
            last = record.rig_time_ns
        span = (last - first) if first is not None and last is not None else self._time_span[1] - self._time_span[0]
        return RecordingSummary(
            path=self.path,
            version=self.version,
            recovered=self.recovered,
            devices=tuple(dict.fromkeys(s.device for s in self.streams)),
            streams=tuple(self.streams),
            framesets_total=total,
            framesets_complete=complete,
            framesets_incomplete=total - complete,
            missing_reasons=dict(reasons),
            duration_s=max(span, 0) / 1e9,
        )
