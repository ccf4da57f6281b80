"""``rigsync recover``: a complete, indexed MCAP file from one that was not closed properly (a capture killed, a
full disk, a torn write).

What is kept is exactly what the reader's recovery keeps (:func:`rigsync.record._scan.load_recovered`): every
complete chunk up to the first truncated or invalid record, without the trailing chunks of images whose stamps
were cut off. The kept chunk records are copied as they are (no decompression into memory beyond one chunk at a
time, no recompression) by our own writer, which adds their message indexes, the chunk indexes, statistics and
the summary. As in a recording, the header, the ``rigsync`` metadata (the rig file), schemas and channels come
before the first chunk and any other metadata (the end metadata, if the crash spared it) after the last, with a
``rigsync.recovery`` record saying what was kept and lost.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from mcap.data_stream import ReadDataStream
from mcap.records import Attachment

from rigsync.core.errors import RecordingError
from rigsync.record._scan import CORRUPT, Contents, chunk_index, chunk_of_record, load_indexed, load_recovered, why
from rigsync.record.file_sink import FileSink
from rigsync.record.mcap_writer import MCAP_MAGIC, McapChunkWriter

RECOVERY_METADATA: Final = "rigsync.recovery"
_TORN: Final = struct.Struct("<BQQQ")  # opcode, length, and a chunk's message start and end time
_OPCODES: Final = {0x01: "header", 0x02: "footer", 0x03: "schema", 0x04: "channel", 0x05: "message", 0x06: "chunk",
                   0x07: "message index", 0x08: "chunk index", 0x09: "attachment", 0x0C: "metadata",
                   0x0F: "data end"}


@dataclass(frozen=True, slots=True)
class TornRecord:
    """The record cut short where reading stopped, as far as its first bytes tell."""

    offset: int
    kind: str
    """``chunk``, ``metadata``...; ``opcode 0xNN`` for an unknown one."""
    declared_bytes: int
    present_bytes: int
    log_time_range: tuple[int, int] | None = None
    """A chunk: the first and last log time of the messages it held (lost with it)."""


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What ``rigsync recover`` found and wrote."""

    source: str
    output: str | None
    """The file written; None: nothing written (the input was already complete and no output was asked for)."""
    complete: bool
    """The input was already complete (valid summary and footer)."""
    kept: dict[str, int]
    """Messages kept per topic (sorted by topic)."""
    chunks_kept: int
    bytes_kept: int
    """Of the input: up to the end of the last record kept."""
    bytes_total: int
    time_span_ns: tuple[int, int]
    """Log time of the first and last message kept (0, 0: none)."""
    stopped: str = ""
    """Why reading stopped (recovered inputs)."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Messages per topic of the complete chunks of images left out because their stamps were cut off."""
    chunks_left_out: int = 0
    torn: TornRecord | None = None
    """The record cut short or invalid where reading stopped, if its opcode and length could be read."""
    attachments: int = 0
    """Attachments kept (rigsync writes none; another writer's are copied)."""


def recover(source: str | os.PathLike[str], output: str | os.PathLike[str] | None = None, *,
            force: bool = False) -> RecoveryReport:
    """Recover ``source`` into ``output`` (default: ``<source stem>.recovered.mcap`` beside it). A complete input
    is reported as such and copied only if ``output`` is given. Raises :class:`RecordingError` naming the file
    (not MCAP, unreadable, nothing readable, an existing output without ``force``, output = input)."""
    src = os.fspath(source)
    try:
        with open(src, "rb") as f:
            if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                raise RecordingError(src, "not an MCAP file (it does not start with the MCAP magic bytes)")
            indexed = load_indexed(f)
            if indexed is not None:
                return _complete(src, indexed, output, force)
            dst = _output_path(src, output, force)
            contents = load_recovered(f)
            if contents.library is None:
                raise RecordingError(src, f"nothing to recover: no MCAP header after the magic bytes "
                                     f"({contents.stopped})")
            torn = _torn(f, contents)
            _write(f, contents, dst, src, torn)
    except OSError as exc:
        raise RecordingError(src, f"cannot read: {exc.strerror or exc}") from exc
    return _report(src, dst, contents, torn)


def _output_path(src: str, output: str | os.PathLike[str] | None, force: bool) -> str:
    dst = os.fspath(output) if output is not None else str(Path(src).with_suffix("")) + ".recovered.mcap"
    if os.path.exists(dst):
        if os.path.samefile(dst, src):
            raise RecordingError(dst, "is the input: recover never overwrites the file it reads (give another -o)")
        if not force:
            raise RecordingError(dst, "exists (give --force to replace it)")
    return dst


def _complete(src: str, contents: Contents, output: str | os.PathLike[str] | None, force: bool) -> RecoveryReport:
    dst = None
    if output is not None:
        dst = _output_path(src, output, force)
        _replace_with(dst, lambda part: shutil.copyfile(src, part))
    size = os.path.getsize(src)
    kept = dict(sorted((contents.channels[c].topic, n) for c, n in contents.counts.items() if c in contents.channels))
    return RecoveryReport(src, dst, True, kept, len(contents.chunks), size, size, contents.time_span)


def _replace_with(dst: str, write: Callable[[str], object]) -> None:
    """Write ``dst`` through ``write(partial_path)``, then move it into place (no half-written ``dst``)."""
    part = dst + ".part"
    try:
        write(part)
        os.replace(part, dst)
    except BaseException as exc:
        if os.path.exists(part):
            os.unlink(part)
        if isinstance(exc, OSError):
            raise RecordingError(dst, f"cannot write: {exc.strerror or exc}") from exc
        raise


def _torn(f: IO[bytes], contents: Contents) -> TornRecord | None:
    """The record starting where the last complete one ends, if its opcode and length are there."""
    offset = contents.records_end
    f.seek(offset)
    head = f.read(_TORN.size)
    if len(head) < 9 or head[0] == 0:
        return None
    opcode, length = struct.unpack_from("<BQ", head)
    present = min(contents.file_bytes - offset - 9, length)
    times = None
    if opcode == 0x06 and len(head) == _TORN.size:
        times = _TORN.unpack(head)[2:]
    kind = _OPCODES.get(opcode, f"opcode 0x{opcode:02x}")
    return TornRecord(offset, kind, length, max(present, 0), times)


def _write(f: IO[bytes], contents: Contents, dst: str, src: str, torn: TornRecord | None) -> None:
    def write(part: str) -> None:
        sink = FileSink(part)
        try:
            writer = McapChunkWriter(sink, compression="", chunk_size=1)
            writer.start(contents.profile, contents.library or "")
            first = {name: data for name, data in contents.metadata.items() if name == "rigsync"}
            for name, data in first.items():  # as a recording: the rig file first, the end metadata at the end
                writer.add_metadata(name, data)
            for schema in contents.schemas.values():
                writer.add_schema(schema.id, schema.name, schema.encoding, schema.data)
            for channel in contents.channels.values():
                writer.add_channel(channel.id, channel.topic, channel.message_encoding, channel.schema_id,
                                   channel.metadata)
            for offset, length, _ in contents.chunks:
                f.seek(offset)
                record = f.read(length)
                try:
                    index = chunk_index(chunk_of_record(record))
                except CORRUPT as exc:  # read once by the recovery already: the file changed meanwhile
                    raise RecordingError(src, f"the chunk at byte {offset:,} changed while recovering ({why(exc)})"
                                         ) from exc
                writer.add_chunk(record, index)
            for offset, length in contents.attachments:
                f.seek(offset + 9)
                writer.add_attachment(Attachment.read(ReadDataStream(io.BytesIO(f.read(length - 9)))))
            for name, data in contents.metadata.items():
                if name not in first and name != RECOVERY_METADATA:  # (an earlier recovery's: replaced)
                    writer.add_metadata(name, data)
            writer.add_metadata(RECOVERY_METADATA, _recovery_metadata(src, contents, torn))
            writer.finish()
            sink.fsync()
        finally:
            sink.close()

    _replace_with(dst, write)


def _recovery_metadata(src: str, contents: Contents, torn: TornRecord | None) -> dict[str, str]:
    meta = {"source": os.path.basename(src), "source_bytes": str(contents.file_bytes),
            "kept_bytes": str(contents.kept_bytes), "chunks_kept": str(len(contents.chunks)),
            "chunks_left_out": str(contents.left_out_chunks), "stopped": contents.stopped}
    if torn is not None:
        meta["torn"] = (f"{torn.kind} at byte {torn.offset}: {torn.present_bytes} of {torn.declared_bytes} bytes"
                        + (f", log times {torn.log_time_range[0]}..{torn.log_time_range[1]}"
                           if torn.log_time_range else ""))
    return meta


def _report(src: str, dst: str, contents: Contents, torn: TornRecord | None) -> RecoveryReport:
    topic = {cid: ch.topic for cid, ch in contents.channels.items()}
    return RecoveryReport(
        source=src, output=dst, complete=False,
        kept=dict(sorted((topic.get(c, f"channel {c}"), n) for c, n in contents.counts.items())),
        chunks_kept=len(contents.chunks), bytes_kept=contents.kept_bytes, bytes_total=contents.file_bytes,
        time_span_ns=contents.time_span, stopped=contents.stopped,
        left_out=dict(sorted((topic.get(c, f"channel {c}"), n) for c, n in contents.left_out.items())),
        chunks_left_out=contents.left_out_chunks, torn=torn, attachments=len(contents.attachments),
    )
