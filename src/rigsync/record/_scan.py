"""The records of an MCAP file, read through its summary or recovered up to its first damaged or missing
record, and what a reading error means in words. Not public API (``rigsync.record.reader`` uses it)."""

from __future__ import annotations

import io
import json
import os
import struct
from collections import Counter
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import IO, Final, cast

import lz4.frame
import zstandard
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from mcap.data_stream import ReadDataStream
from mcap.exceptions import EndOfFile, McapError
from mcap.reader import SeekingReader
from mcap.records import Attachment, Channel, Chunk, Header, Message, Metadata, Schema
from mcap.stream_reader import StreamReader

from rigsync.record.mcap_writer import MCAP_MAGIC
from rigsync.record.schemas import RAW_IMAGE_SCHEMA

CORRUPT = (McapError, struct.error, ValueError, KeyError, IndexError, TypeError, EOFError, OSError, MemoryError,
           OverflowError, RecursionError, zstandard.ZstdError, DecodeError, RuntimeError)
"""What reading a damaged or foreign file can raise: the ``mcap`` library's record parsing (struct, str and
length errors), zstd (``ZstdError``) and lz4 (``RuntimeError``) frames, protobuf, JSON and our own decoding."""


def why(exc: BaseException) -> str:
    """What a reading error says, in words."""
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}" if exc.args else "something missing"
    if isinstance(exc, EndOfFile):
        return "a record runs past the end of the file (cut short, or its length is damaged)"
    kind = {zstandard.ZstdError: "zstd", DecodeError: "protobuf", json.JSONDecodeError: "not JSON",
            RuntimeError: "lz4", RecursionError: "nested too deeply"}.get(type(exc), type(exc).__name__)
    text = str(exc)
    return f"{kind}: {text[:200]}" if text else kind


@dataclass
class Contents:
    """What opening a file found: its header's writer, metadata, schemas, channels, message counts."""

    library: str | None = None
    """The header's writer; None: no header could be read."""
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    schemas: dict[int, Schema] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)
    time_span: tuple[int, int] = (0, 0)
    recovered: bool = False
    chunks: list[tuple[int, int, frozenset[int]]] = field(default_factory=list)
    """(offset, length, channel ids) of every chunk, in file order: from the chunk indexes, or (recovered) of every
    complete chunk kept."""
    stopped: str = ""
    """Recovered: why reading stopped."""
    recovery: str = ""
    """Recovered: what was kept and why reading stopped, in words."""
    file_bytes: int = 0
    """Recovered: the file's size."""
    kept_bytes: int = 0
    """Recovered: the bytes kept (up to the end of the last chunk kept and its message indexes)."""
    records_end: int = 0
    """Recovered: the end of the last complete record (where the torn or invalid one, if any, starts)."""
    left_out: dict[int, int] = field(default_factory=dict)
    """Recovered: messages per channel of the complete chunks of images left out (their stamps were lost)."""
    left_out_chunks: int = 0
    attachments: list[tuple[int, int]] = field(default_factory=list)
    """Recovered: (offset, length) of every complete attachment record."""
    profile: str = ""
    """The header's profile (recovered files)."""


class ExactReader:
    """A file reader whose ``read(n)`` returns exactly ``n`` bytes or raises ``EndOfFile``.

    It also stops at opcode 0, which no MCAP record has: the ``mcap`` stream reader skips records of unknown
    opcodes, and would walk a tail of zeros (what a power loss leaves after the last written page) nine bytes at
    a time. The only one-byte reads of that reader are a record's opcode and a summary offset's group opcode,
    which is never 0 either."""

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
        if n == 1 and data == b"\x00":
            raise McapError(f"no MCAP record at byte {self.pos:,} (opcode 0: zeros or garbage from there on)")
        self.pos += n
        return data


_RECORD: Final = struct.Struct("<BQ")  # opcode, length
_MESSAGE: Final = struct.Struct("<HIQQ")  # channel_id, sequence, log_time, publish_time
_IN_CHUNK: Final = frozenset({0x03, 0x04, 0x05})  # schema, channel, message


def _chunk_data(chunk: Chunk) -> bytes:
    if chunk.compression == "zstd":
        data: bytes = zstandard.decompress(chunk.data, chunk.uncompressed_size)
        return data
    if chunk.compression == "lz4":
        return cast(bytes, lz4.frame.decompress(chunk.data))
    if chunk.compression == "":
        return chunk.data
    raise McapError(f"unknown chunk compression {chunk.compression[:40]!r}")


def _records(data: bytes, opcodes: AbstractSet[int] = frozenset({0x05})) -> Iterator[tuple[int, int, int, int]]:
    """``(opcode, record start, body start, body end)`` of each record of ``opcodes`` in a chunk's decompressed
    records (messages by default)."""
    length = len(data)
    pos = 0
    while pos < length:
        if pos + 9 > length:
            raise McapError("record runs past the end of its chunk")
        opcode, record_length = _RECORD.unpack_from(data, pos)
        end = pos + 9 + record_length
        if end > length:
            raise McapError("record runs past the end of its chunk")
        if opcode in opcodes:
            if opcode == 0x05 and record_length < _MESSAGE.size:
                raise McapError(f"a message record of {record_length} bytes (at least {_MESSAGE.size})")
            yield opcode, pos, pos + 9, end
        pos = end


def _chunk_records(chunk: Chunk) -> bytes:
    data = _chunk_data(chunk)
    if len(data) != chunk.uncompressed_size:
        raise McapError(f"chunk holds {len(data)} bytes, declares {chunk.uncompressed_size}")
    return data


def chunk_messages(chunk: Chunk, channels: AbstractSet[int] | None = None) -> list[Message]:
    """The messages of a chunk (only those of ``channels`` if given); raises if it does not decompress to
    exactly its declared records."""
    return records_messages(_chunk_records(chunk), channels)


def read_chunk_records(fd: int, offset: int, length: int) -> bytes:
    """The decompressed records of the chunk record at ``offset`` (``length`` bytes, opcode included) of the file
    ``fd`` (``pread``: safe from several threads; zstd and lz4 release the GIL while they decompress)."""
    record = os.pread(fd, length, offset)
    if len(record) != length:
        raise EndOfFile()
    data = _chunk_records(chunk_of_record(record))
    return data if isinstance(data, bytes) else bytes(data)  # (uncompressed: a view into the record)


def records_messages(data: bytes, channels: AbstractSet[int] | None = None) -> list[Message]:
    """The messages of a chunk's decompressed records (only those of ``channels`` if given)."""
    messages = []
    for _, _, pos, end in _records(data):
        channel_id, sequence, log_time, publish_time = _MESSAGE.unpack_from(data, pos)
        if channels is None or channel_id in channels:
            messages.append(Message(channel_id, log_time, data[pos + _MESSAGE.size : end], publish_time, sequence))
    return messages


def chunk_index(chunk: Chunk) -> dict[int, list[tuple[int, int]]]:
    """A chunk's message index entries: per channel, ``(log_time, offset of the record in the decompressed
    records)`` of each message, in chunk order."""
    data = _chunk_records(chunk)
    index: dict[int, list[tuple[int, int]]] = {}
    for _, start, pos, _ in _records(data):
        channel_id, _, log_time, _ = _MESSAGE.unpack_from(data, pos)
        index.setdefault(channel_id, []).append((log_time, start))
    return index


_CHUNK_HEAD: Final = struct.Struct("<BQQQQII")  # opcode, length, start, end, uncompressed size, crc, name length


def chunk_of_record(record: bytes) -> Chunk:
    """The chunk of a whole chunk record (opcode and length included), its data a view into ``record`` (no copy)."""
    opcode, length, start, end, uncompressed_size, crc, name_length = _CHUNK_HEAD.unpack_from(record)
    if opcode != 0x06 or length != len(record) - 9:
        raise McapError(f"not a chunk record of {len(record) - 9} bytes (opcode {opcode}, length {length})")
    data_at = _CHUNK_HEAD.size + name_length + 8
    view = memoryview(record)
    compression = bytes(view[_CHUNK_HEAD.size : data_at - 8]).decode()
    return Chunk(compression=compression, data=cast(bytes, view[data_at:]), message_end_time=end,
                 message_start_time=start, uncompressed_crc=crc, uncompressed_size=uncompressed_size)


def chunk_length(chunk: Chunk) -> int:
    return 9 + 8 + 8 + 8 + 4 + 4 + len(chunk.compression.encode()) + 8 + len(chunk.data)



def load_indexed(f: IO[bytes]) -> Contents | None:
    """A complete file, through its summary; None if it has no valid summary and footer."""
    try:
        f.seek(-len(MCAP_MAGIC), io.SEEK_END)
        if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
            return None
        f.seek(0)
        reader = SeekingReader(f)
        summary = reader.get_summary()
        if summary is None or summary.statistics is None:
            return None
        library = reader.get_header().library
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    except CORRUPT:
        return None
    stats = summary.statistics
    chunks = [(c.chunk_start_offset, c.chunk_length, frozenset(c.message_index_offsets))
              for c in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)]
    return Contents(library, metadata, dict(summary.schemas), dict(summary.channels),
                    dict(stats.channel_message_counts), (stats.message_start_time, stats.message_end_time),
                    chunks=chunks)


def _scan_chunk(chunk: Chunk, found: Contents) -> tuple[Counter[int], list[int]]:
    """A chunk's messages per channel and their log times; the schemas and channels it defines (other writers put
    them in chunks) are added to ``found``."""
    data = _chunk_records(chunk)
    counts: Counter[int] = Counter()
    times = []
    for opcode, _, body, end in _records(data, _IN_CHUNK):
        if opcode == 0x05:
            channel_id, _, log_time, _ = _MESSAGE.unpack_from(data, body)
            counts[channel_id] += 1
            times.append(log_time)
        elif opcode == 0x03:
            schema = Schema.read(ReadDataStream(io.BytesIO(data[body:end])))
            found.schemas.setdefault(schema.id, schema)
        else:
            channel = Channel.read(ReadDataStream(io.BytesIO(data[body:end])))
            found.channels.setdefault(channel.id, channel)
    return counts, times


def load_recovered(f: IO[bytes]) -> Contents:
    """A file without a valid summary: every record up to the first truncated or invalid one."""
    size = f.seek(0, io.SEEK_END)
    f.seek(0)
    exact = ExactReader(f, size)
    found = Contents(recovered=True, stopped="the file ends after its last complete record")
    # offset, length, messages per channel, first and last log time of each complete chunk
    kept_chunks: list[tuple[int, int, Counter[int], int | None, int | None]] = []
    kept = exact.pos
    try:
        for record in StreamReader(cast(IO[bytes], exact), emit_chunks=True, record_size_limit=None).records:
            if isinstance(record, Header):
                found.library, found.profile = record.library, record.profile
            elif isinstance(record, Schema):
                found.schemas[record.id] = record
            elif isinstance(record, Channel):
                found.channels[record.id] = record
            elif isinstance(record, Metadata):
                found.metadata[record.name] = dict(record.metadata)
            elif isinstance(record, Attachment):
                # opcode, length; log and create time, name, media type, data (each with its length), crc
                length = 9 + 8 + 8 + 4 + len(record.name.encode()) + 4 + len(record.media_type.encode()) + 8 + len(
                    record.data) + 4
                found.attachments.append((exact.pos - length, length))
            elif isinstance(record, Chunk):
                length = chunk_length(record)
                chunk_counts, times = _scan_chunk(record, found)
                kept_chunks.append((exact.pos - length, length, chunk_counts, min(times, default=None),
                                    max(times, default=None)))
            kept = exact.pos
    except CORRUPT as exc:  # the first truncated or invalid record: everything before it has been taken
        found.stopped = why(exc)
    images = {cid for cid, ch in found.channels.items()
              if (s := found.schemas.get(ch.schema_id)) is not None and s.name == RAW_IMAGE_SCHEMA}
    found.records_end = kept
    unstamped: Counter[int] = Counter()
    while kept_chunks and kept_chunks[-1][2] and kept_chunks[-1][2].keys() <= images:
        # images written after the last chunk of small messages: their stamps were lost
        kept, _, chunk_counts, _, _ = kept_chunks.pop()
        unstamped.update(chunk_counts)
        found.left_out_chunks += 1
    counts: Counter[int] = Counter()
    for _, _, chunk_counts, _, _ in kept_chunks:
        counts.update(chunk_counts)
    found.chunks = [(offset, length, frozenset(c)) for offset, length, c, _, _ in kept_chunks]
    found.counts = dict(counts)
    found.time_span = (min((c[3] for c in kept_chunks if c[3] is not None), default=0),
                       max((c[4] for c in kept_chunks if c[4] is not None), default=0))
    found.file_bytes, found.kept_bytes, found.left_out = size, kept, dict(unstamped)
    if unstamped:
        found.stopped = (f"{found.left_out_chunks} chunk(s) of images written after the last chunk of stamps, left "
                         f"out (their stamps were lost), and {found.stopped}")
    found.recovery = (f"the file was not closed properly; kept {len(found.chunks):,} complete chunk(s) "
                      f"({sum(counts.values()):,} messages), the first {kept:,} of {size:,} bytes; then "
                      f"{found.stopped}")
    return found
