"""A small chunked MCAP writer for the capture hot path.

Message records are packed here, and an image's pixels join the chunk by reference (a memoryview, no copy):
with compression ``none`` a finished chunk goes to the file as its pieces, by ``pwritev`` (no join, no copy);
with lz4/zstd the pieces are joined once and compressed (both libraries release the GIL). Every other record
(header, schema, channel, message index, chunk index, statistics, metadata, attachment, summary, footer) is
serialized by the ``mcap`` library's own record classes. :meth:`McapChunkWriter.add_chunk` writes a chunk record
copied from another file as it is (``rigsync recover``). No CRCs are computed (the format's CRC fields are 0,
meaning "not computed").

The writer is single-threaded: one thread calls everything except :meth:`McapChunkWriter.counters`. Each
write hands the file one complete record group (the open chunk with its message indexes, a metadata
record...), so ``good_offset`` is always the end of the last complete group: after a write error,
:meth:`finish_after_error` cuts the file back to it and tries to end the file properly; if that fails too, the
file ends at the last complete chunk, which :func:`rigsync.record.reader.open_recording` recovers.

Every message goes to one open chunk, in the order it is added: the recorder adds them in log-time order (its
reorder buffer, :mod:`rigsync.record._reorder`), so chunks follow one another in log time, never overlapping, and
a streaming reader sees no log time go back. The chunk is closed only between message groups
(:meth:`McapChunkWriter.end_group`; an image with its camera_info and ``/rigsync/frames`` stamp is one group),
when it reaches the chunk size or is due by age (:meth:`McapChunkWriter.flush_due_s`), so an image is always in
the same chunk as its stamp and camera_info: a crash loses what the open chunk holds (at most a chunk, and
``flush_age_s`` old), and what is in the file keeps every image with its stamp.
"""

from __future__ import annotations

import errno
import functools
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import lz4.frame
import zstandard
from mcap.data_stream import RecordBuilder
from mcap.opcode import Opcode
from mcap.records import (
    Attachment,
    AttachmentIndex,
    Channel,
    ChunkIndex,
    DataEnd,
    Footer,
    Header,
    MessageIndex,
    Metadata,
    MetadataIndex,
    Schema,
    Statistics,
    SummaryOffset,
)

from rigsync.record.file_sink import FileSink, Piece

_SummaryRecord = Schema | Channel | Statistics | ChunkIndex | AttachmentIndex | MetadataIndex

MCAP_MAGIC: Final = b"\x89MCAP0\r\n"
COMPRESSIONS: Final = ("", "lz4", "zstd")
"""MCAP compression names: ``""`` means uncompressed."""

_MESSAGE_HEADER: Final = struct.Struct("<BQHIQQ")  # opcode, length, channel_id, sequence, log, publish
_MESSAGE_FIXED: Final = 2 + 4 + 8 + 8
_CHUNK_HEADER: Final = struct.Struct("<BQQQQI")  # opcode, length, start, end, uncompressed_size, crc
_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")
_BY_REFERENCE_MIN: Final = 16 << 10
"""Payloads at least this large join the chunk by reference; smaller ones are copied into the chunk."""


def _end(builder: RecordBuilder) -> bytes:
    data: bytes = builder.end()  # type: ignore[no-untyped-call]
    return data


@dataclass(frozen=True, slots=True)
class WriterCounters:
    """What has reached the file (messages count only once their chunk is written)."""

    messages: int
    payload_messages: int
    """Messages written with a by-reference payload (images)."""
    payload_bytes: int
    bytes_written: int
    channel_message_counts: Mapping[int, int]


def _compressor(compression: str, zstd_level: int) -> Callable[[bytes], bytes]:
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=zstd_level).compress
    if compression == "lz4":
        # Independent 4 MB blocks: ~1.5x faster than the defaults for about the same size.
        return functools.partial(lz4.frame.compress, block_size=lz4.frame.BLOCKSIZE_MAX4MB, block_linked=False)
    return bytes


@dataclass(slots=True)
class _OpenChunk:
    """A chunk being filled: its records (small ones packed, big payloads by reference) and message indexes."""

    pieces: list[Piece] = field(default_factory=list)
    small: bytearray = field(default_factory=bytearray)
    size: int = 0
    index: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    messages: int = 0
    payload_messages: int = 0
    payload_bytes: int = 0
    start: int = 0
    end: int = 0
    due_s: float | None = None
    """When it is due by age (set by its first group)."""


class McapChunkWriter:
    """Writes an MCAP file (chunked, indexed, summary) to a :class:`FileSink`, one chunk open at a time."""

    def __init__(self, sink: FileSink, *, compression: str, chunk_size: int, zstd_level: int = 1,
                 flush_age_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """``flush_age_s``: see :meth:`flush_due_s` (None: chunks are written only when full); ``clock``: seconds,
        the clock of the groups' ``put_s``."""
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression {compression!r} is not one of {COMPRESSIONS}")
        self._flush_age_s = flush_age_s
        self._clock = clock
        self._sink = sink
        self._compression = compression
        self._compress = _compressor(compression, zstd_level)
        self._chunk_size = chunk_size
        self._offset = 0
        self._good_offset = 0
        self._failed: BaseException | None = None
        self._schemas: dict[int, Schema] = {}
        self._channels: dict[int, Channel] = {}
        self._chunk_indexes: list[ChunkIndex] = []
        self._metadata_indexes: list[MetadataIndex] = []
        self._attachment_indexes: list[AttachmentIndex] = []
        self._lock = threading.Lock()
        # Totals of written chunks.
        self._messages = 0
        self._payload_messages = 0
        self._payload_bytes = 0
        self._counts: dict[int, int] = {}
        self._start_time = 0
        self._end_time = 0
        self._open = _OpenChunk()

    @property
    def good_offset(self) -> int:
        """End of the last complete record group in the file."""
        return self._good_offset

    def counters(self) -> WriterCounters:
        """A consistent snapshot of what has been written (safe from any thread)."""
        with self._lock:
            return WriterCounters(
                messages=self._messages,
                payload_messages=self._payload_messages,
                payload_bytes=self._payload_bytes,
                bytes_written=self._good_offset,
                channel_message_counts=dict(self._counts),
            )

    def _write(self, pieces: Sequence[Piece]) -> None:
        if self._failed is not None:
            raise OSError(errno.EIO, f"an earlier write failed: {self._failed}", self._sink.path)
        try:
            self._sink.write_at(self._offset, pieces)
        except BaseException as exc:
            self._failed = exc
            raise
        self._offset += sum(len(p) if not isinstance(p, memoryview) else p.nbytes for p in pieces)
        with self._lock:
            self._good_offset = self._offset

    def _write_record(self, *records: Header | Schema | Channel | Metadata) -> None:
        builder = RecordBuilder()
        for record in records:
            record.write(builder)
        self._write([_end(builder)])

    def start(self, profile: str, library: str) -> None:
        """Magic and header record."""
        builder = RecordBuilder()
        Header(profile=profile, library=library).write(builder)
        self._write([MCAP_MAGIC, _end(builder)])

    def add_schema(self, schema_id: int, name: str, encoding: str, data: bytes) -> None:
        schema = Schema(id=schema_id, data=data, encoding=encoding, name=name)
        self._write_record(schema)
        self._schemas[schema_id] = schema

    def add_channel(
        self, channel_id: int, topic: str, message_encoding: str, schema_id: int, metadata: Mapping[str, str],
    ) -> None:
        channel = Channel(
            id=channel_id,
            topic=topic,
            message_encoding=message_encoding,
            metadata=dict(metadata),
            schema_id=schema_id,
        )
        self._write_record(channel)
        self._channels[channel_id] = channel

    def add_metadata(self, name: str, data: Mapping[str, str]) -> None:
        offset = self._offset
        builder = RecordBuilder()
        Metadata(name=name, metadata=dict(data)).write(builder)
        record = _end(builder)
        self._write([record])
        self._metadata_indexes.append(MetadataIndex(offset=offset, length=len(record), name=name))

    def add_attachment(self, attachment: Attachment) -> None:
        offset = self._offset
        builder = RecordBuilder()
        attachment.write(builder)
        record = _end(builder)
        self._write([record])
        self._attachment_indexes.append(AttachmentIndex(
            offset=offset, length=len(record), log_time=attachment.log_time, create_time=attachment.create_time,
            data_size=len(attachment.data), name=attachment.name, media_type=attachment.media_type))

    def add_message(
        self,
        channel_id: int,
        log_time: int,
        publish_time: int,
        sequence: int,
        data: bytes,
        *,
        payload: memoryview | None = None,
        trailer: bytes = b"",
    ) -> None:
        """Add a message whose content is ``data + payload + trailer`` to the open chunk (never writes it: call
        :meth:`end_group` once the group the message belongs to is complete).

        ``payload`` (1-D bytes) is kept by reference until the chunk is written: it must not change meanwhile.
        """
        c = self._open
        payload_len = 0 if payload is None else payload.nbytes
        length = _MESSAGE_FIXED + len(data) + payload_len + len(trailer)
        records = c.index.get(channel_id)
        if records is None:
            records = c.index[channel_id] = []
        records.append((log_time, c.size))
        small = c.small
        small += _MESSAGE_HEADER.pack(Opcode.MESSAGE, length, channel_id, sequence & 0xFFFFFFFF, log_time, publish_time)
        small += data
        if payload is not None:
            if payload_len >= _BY_REFERENCE_MIN:
                c.pieces.append(small)
                c.pieces.append(payload)
                c.small = small = bytearray()
            else:
                small += payload
            c.payload_messages += 1
            c.payload_bytes += payload_len
        small += trailer
        c.size += 9 + length
        if c.messages == 0:
            c.start = c.end = log_time
        elif log_time < c.start:
            c.start = log_time
        elif log_time > c.end:
            c.end = log_time
        c.messages += 1

    def end_group(self, put_s: float) -> None:
        """The messages added since the previous group are complete (a chunk ends only between groups); they were
        handed over at ``put_s`` (``clock`` time). Writes the chunk if it has reached the chunk size or is due."""
        c = self._open
        if c.messages == 0:
            return
        if self._flush_age_s is not None and c.due_s is None:
            # Due flush_age_s after its oldest message was handed over, but open at least half of that: a
            # writer catching up after a stall still writes big chunks.
            c.due_s = max(put_s + self._flush_age_s, self._clock() + self._flush_age_s / 2)
        if c.size >= self._chunk_size:
            self.flush_chunk()
        else:
            self.flush_if_due()

    def flush_due_s(self) -> float | None:
        """When (``clock`` time) the open chunk must be written even if not full; None: no chunk is open (or
        there is no flush age)."""
        return self._open.due_s

    def flush_if_due(self) -> None:
        """Write the open chunk if it is due by age."""
        due = self._open.due_s
        if due is not None and self._clock() >= due:
            self.flush_chunk()

    def flush_chunk(self) -> None:
        """Write the open chunk, if it holds a message, followed by its message indexes, in one write."""
        c = self._open
        if not c.messages:
            return
        pieces, index = self._chunk_records(c, self._offset)
        self._open = _OpenChunk()
        self._write(pieces)
        with self._lock:
            self._count_chunk(index, c.index)
            self._payload_messages += c.payload_messages
            self._payload_bytes += c.payload_bytes

    def add_chunk(self, record: Piece, index: Mapping[int, Sequence[tuple[int, int]]]) -> None:
        """Write a complete chunk record as it is (``record``: opcode, length and body, e.g. copied from another
        file), with message indexes from ``index``: per channel, ``(log_time, offset in the decompressed
        records)`` of each of its messages. The open chunk is written first."""
        self.flush_chunk()
        view = memoryview(record)
        _, _, _, _, uncompressed_size, _ = _CHUNK_HEADER.unpack_from(view)
        name_end = _CHUNK_HEADER.size + 4 + _U32.unpack_from(view, _CHUNK_HEADER.size)[0]
        compression = bytes(view[_CHUNK_HEADER.size + 4 : name_end]).decode()
        compressed_size = _U64.unpack_from(view, name_end)[0]
        times = [t for entries in index.values() for t, _ in entries]
        messages, offsets = self._message_indexes(index, self._offset + view.nbytes)
        chunk_index = ChunkIndex(
            message_start_time=min(times, default=0),
            message_end_time=max(times, default=0),
            chunk_start_offset=self._offset,
            chunk_length=view.nbytes,
            message_index_offsets=offsets,
            message_index_length=len(messages),
            compression=compression,
            compressed_size=compressed_size,
            uncompressed_size=uncompressed_size,
        )
        self._write([view, messages])
        with self._lock:
            self._count_chunk(chunk_index, index)

    def _count_chunk(self, index: ChunkIndex, entries: Mapping[int, Sequence[tuple[int, int]]]) -> None:
        """Add a written chunk to the chunk indexes and the statistics (holding the lock)."""
        self._chunk_indexes.append(index)
        if not any(entries.values()):  # no message: no time range
            return
        if self._messages == 0:
            self._start_time, self._end_time = index.message_start_time, index.message_end_time
        else:
            self._start_time = min(self._start_time, index.message_start_time)
            self._end_time = max(self._end_time, index.message_end_time)
        for channel_id, records in entries.items():
            self._counts[channel_id] = self._counts.get(channel_id, 0) + len(records)
            self._messages += len(records)

    @staticmethod
    def _message_indexes(index: Mapping[int, Sequence[tuple[int, int]]], start: int) -> tuple[bytes, dict[int, int]]:
        """The message index records of a chunk whose messages are ``index`` (per channel, ``(log_time, offset)``),
        written at ``start``, and the offset of each channel's."""
        builder = RecordBuilder()
        offsets: dict[int, int] = {}
        for channel_id in sorted(index):
            offsets[channel_id] = start + builder.count
            MessageIndex(channel_id, sorted(index[channel_id], key=lambda r: r[0])).write(builder)
        return _end(builder), offsets

    def _chunk_records(self, c: _OpenChunk, chunk_start: int) -> tuple[list[Piece], ChunkIndex]:
        """The records of chunk ``c`` written at ``chunk_start`` (the chunk, compressed, and its message indexes)."""
        pieces = c.pieces
        if c.small:
            pieces.append(c.small)
        if self._compression:
            body: list[Piece] = [self._compress(b"".join(pieces))]
            stored = len(body[0])
        else:
            body, stored = pieces, c.size
        name = self._compression.encode()
        head = (
            _CHUNK_HEADER.pack(Opcode.CHUNK, 8 + 8 + 8 + 4 + 4 + len(name) + 8 + stored, c.start, c.end, c.size, 0)
            + _U32.pack(len(name))
            + name
            + _U64.pack(stored)
        )
        chunk_length = len(head) + stored
        message_indexes, offsets = self._message_indexes(c.index, chunk_start + chunk_length)
        index = ChunkIndex(
            message_start_time=c.start,
            message_end_time=c.end,
            chunk_start_offset=chunk_start,
            chunk_length=chunk_length,
            message_index_offsets=offsets,
            message_index_length=len(message_indexes),
            compression=self._compression,
            compressed_size=stored,
            uncompressed_size=c.size,
        )
        return [head, *body, message_indexes], index

    def finish(self) -> None:
        """Write the open chunk, DataEnd, the summary (schemas, channels, statistics, indexes) and footer."""
        self.flush_chunk()
        end = RecordBuilder()
        DataEnd(data_section_crc=0).write(end)
        summary_start = self._offset + end.count
        builder = RecordBuilder()
        offsets: list[SummaryOffset] = []

        def group(opcode: Opcode, records: Sequence[_SummaryRecord]) -> None:
            if not records:
                return
            start = builder.count
            for record in records:
                record.write(builder)
            offsets.append(SummaryOffset(opcode, summary_start + start, builder.count - start))

        statistics = Statistics(
            attachment_count=len(self._attachment_indexes),
            channel_count=len(self._channels),
            channel_message_counts=dict(self._counts),
            chunk_count=len(self._chunk_indexes),
            message_count=self._messages,
            message_end_time=self._end_time,
            message_start_time=self._start_time,
            metadata_count=len(self._metadata_indexes),
            schema_count=len(self._schemas),
        )
        group(Opcode.SCHEMA, list(self._schemas.values()))
        group(Opcode.CHANNEL, list(self._channels.values()))
        group(Opcode.STATISTICS, [statistics])
        group(Opcode.CHUNK_INDEX, self._chunk_indexes)
        group(Opcode.ATTACHMENT_INDEX, self._attachment_indexes)
        group(Opcode.METADATA_INDEX, self._metadata_indexes)
        summary_offset_start = summary_start + builder.count
        for offset in offsets:
            offset.write(builder)
        Footer(summary_start=summary_start, summary_offset_start=summary_offset_start, summary_crc=0).write(builder)
        self._write([_end(end), _end(builder), MCAP_MAGIC])

    def finish_after_error(self, end_metadata: Sequence[tuple[str, Mapping[str, str]]] = ()) -> bool:
        """After a failed write: cut the file to the last complete group and try to end it properly.

        The open chunk is dropped. Returns True if the summary and footer were written; otherwise the file
        ends at its last complete record group (readable by recovery). Raises only if truncation fails.
        """
        self._open = _OpenChunk()
        self._sink.truncate(self._good_offset)
        self._offset = self._good_offset
        self._failed = None
        try:
            for name, data in end_metadata:
                self.add_metadata(name, data)
            self.finish()
        except OSError:
            self._sink.truncate(self._good_offset)
            return False
        return True
