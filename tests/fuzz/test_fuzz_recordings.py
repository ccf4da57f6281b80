"""``rigsync info`` and the reader on cut, damaged and foreign files: a recording (a recovered one saying what it
kept) or a RecordingError naming the file, never another exception, never an empty recovered recording."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from mcap.records import Channel, Chunk, Header, Message
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap.writer import Writer
from tests.fuzz import mcapfuzz

from rigsync.cli.main import main
from rigsync.core.errors import RecordingError
from rigsync.record.reader import open_recording

CASES = 200
CLI_CASES = 30


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A small real capture (zstd: one chunk, every topic and metadata of a capture) and recordings of many
    16 KiB chunks (zstd, lz4)."""
    folder = tmp_path_factory.mktemp("sources")
    return [mcapfuzz.capture(folder, "zstd", 0.3), mcapfuzz.chunked(folder, "zstd"), mcapfuzz.chunked(folder, "lz4")]


def test_damaged_and_foreign_recordings_give_a_recording_or_a_named_error(tmp_path: Path,
                                                                          sources: list[bytes]) -> None:
    """200 seeded cases (cuts, bit flips, zeroed and overwritten ranges, huge record lengths, foreign MCAP files,
    magic bytes alone, other files) through open, summary, info tables, frames, images and framesets."""
    rng = random.Random(7)
    outcomes = [mcapfuzz.run_case(rng, sources, tmp_path, 10.0) for _ in range(CASES)]
    failures = [o for o in outcomes if o.result not in ("read", "recovered", "rejected")]
    assert not failures, "\n".join(f"{o.kind}: {o.result}: {o.detail}" for o in failures[:10])
    counts = Counter(o.result for o in outcomes)
    assert min(counts["read"], counts["recovered"], counts["rejected"]) >= 20, counts


def test_info_exits_2_naming_the_file_or_0(tmp_path: Path, sources: list[bytes],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """rigsync info on damaged and foreign files: exit 0 with the tables, or exit 2 with one line naming the file."""
    rng = random.Random(11)
    exits: Counter[int] = Counter()
    for i in range(CLI_CASES):
        path = tmp_path / f"case{i}.mcap"
        path.write_bytes(mcapfuzz.mutated(rng, sources)[1])
        code = main(["info", str(path)])
        err = capsys.readouterr().err
        exits[code] += 1
        assert code in (0, 2) and (code == 0) == (err == ""), err
        if code == 2:
            assert err.startswith(f"error: {path}: ") and err.count("\n") == 1, err
    assert exits[0] >= 5 and exits[2] >= 5, exits


def _chunk_ends(data: bytes) -> list[tuple[int, bool]]:
    """End offset of every chunk record of a file, and whether it holds images only, found by walking its records
    (independently of the reader)."""
    ends, pos, topics = [], 8, {}
    stream = io.BytesIO(data)
    for record in StreamReader(stream, skip_magic=False, emit_chunks=True).records:
        pos = stream.tell()
        if isinstance(record, Channel):
            topics[record.id] = record.topic
        elif isinstance(record, Chunk):
            messages = [r for r in breakup_chunk(record) if isinstance(r, Message)]
            ends.append((pos, bool(messages) and all(topics[m.channel_id].endswith("/image") for m in messages)))
    return ends


def _kept(ends: list[tuple[int, bool]], cut: int) -> int:
    """How many chunks recovery keeps of a file cut at ``cut``: the complete ones up to the last that holds more
    than images (images after it have lost their stamps)."""
    complete = [images_only for end, images_only in ends if end <= cut]
    while complete and complete[-1]:
        complete.pop()
    return len(complete)


def test_a_cut_recording_says_how_many_chunks_it_kept(tmp_path: Path, sources: list[bytes]) -> None:
    """Cut anywhere, a rigsync recording is recovered with exactly its complete chunks, and says so."""
    data = sources[1]
    ends = _chunk_ends(data)
    assert len(ends) >= 3
    path = tmp_path / "cut.mcap"
    for cut in (ends[0][0] - 1, ends[0][0], ends[1][0] + 100, ends[-1][0] + 1):
        path.write_bytes(data[:cut])
        with open_recording(path) as rec:
            kept = _kept(ends, cut)
            assert rec.recovered
            assert rec.summary().recovery.startswith(f"the file was not closed properly; kept {kept} complete "
                                                     f"chunk(s)")
            assert f"of {cut:,} bytes" in rec.recovery


def test_a_tail_of_zeros_after_the_last_chunk_is_recovered_at_once(tmp_path: Path, sources: list[bytes]) -> None:
    """What a power loss leaves (the last pages never written: zeros) after a crashed recording's last complete
    chunk: recovered with exactly its chunks, reading stops at the first zero byte (it used to walk 64 MiB of
    zeros nine bytes at a time, ~30 s)."""
    data = sources[1]
    ends = _chunk_ends(data)
    end = ends[1][0]
    path = tmp_path / "zeros.mcap"
    with path.open("wb") as f:
        f.write(data[:end])
        f.truncate(end + (64 << 20))  # a sparse tail of zeros
    with open_recording(path) as rec:
        assert rec.recovered and rec.recovery.startswith(f"the file was not closed properly; kept {_kept(ends, end)} "
                                                         "complete chunk(s)")
        assert rec.recovery.endswith(f"no MCAP record at byte {end:,} (opcode 0: zeros or garbage from there on)")


def test_a_foreign_mcap_file_is_named_as_such(tmp_path: Path) -> None:
    """A valid MCAP file rigsync did not write is refused saying so, with its writer and topics."""
    path = tmp_path / "other.mcap"
    with path.open("wb") as f:
        writer = Writer(f)
        writer.start(profile="", library="someone-else/2")
        schema = writer.register_schema("foxglove.RawImage", "protobuf", b"")
        channel = writer.register_channel("/cam/color/image", "protobuf", schema)
        writer.add_message(channel, log_time=1, data=b"\x00", publish_time=1)
        writer.finish()
    with pytest.raises(RecordingError) as info:
        open_recording(path)
    assert str(info.value) == (f"{path}: not a rigsync recording: it has no rigsync metadata (written by "
                               "'someone-else/2'; topics: /cam/color/image)")


@pytest.mark.parametrize(("content", "problem"), [
    (b"\x89MCAP0\r\n", "not a recording: no MCAP header after the magic bytes"),
    (b"\x89MCAP0\r\n" + bytes(40), "not a recording: no MCAP header after the magic bytes"),
    (b"", "not an MCAP file (bad magic)"),
    (b"[[hosts]]\n", "not an MCAP file (bad magic)"),
])
def test_files_without_a_recording_are_refused(tmp_path: Path, content: bytes, problem: str) -> None:
    """Magic bytes alone (or followed by zeros), an empty file, a text file: refused, never an empty recording."""
    path = tmp_path / "x.mcap"
    path.write_bytes(content)
    with pytest.raises(RecordingError) as info:
        open_recording(path)
    assert str(info.value).startswith(f"{path}: {problem}")


def _break_first_zstd_frame(source: bytes) -> bytes:
    """The file with the first byte of the zstd frame (the frame's magic) of its first chunk of small messages
    (stamps, framesets: the chunks that ``rigsync info`` reads) flipped."""
    data = bytearray(source)
    stream = io.BytesIO(source)
    topics = {}
    for record in StreamReader(stream, emit_chunks=True).records:
        assert not isinstance(record, Header) or record.library.startswith("rigsync/")
        if isinstance(record, Channel):
            topics[record.id] = record.topic
        elif isinstance(record, Chunk):
            assert record.compression == "zstd"
            if any(isinstance(r, Message) and not topics[r.channel_id].endswith("/image")
                   for r in breakup_chunk(record)):
                data[stream.tell() - len(record.data)] ^= 0xFF
                break
    return bytes(data)


def test_a_damaged_chunk_in_a_complete_file_is_reported_when_read(tmp_path: Path, sources: list[bytes]) -> None:
    """A complete file whose first chunk of stamps has a damaged zstd frame: the summary is read; the chunk, when
    read, is a RecordingError naming the file and the compression's complaint."""
    path = tmp_path / "flip.mcap"
    path.write_bytes(_break_first_zstd_frame(sources[1]))
    with open_recording(path) as rec:
        assert not rec.recovered
        with pytest.raises(RecordingError) as info:
            rec.summary()
    assert str(info.value).startswith(f"{path}: a chunk is damaged or not rigsync's (zstd: ")


def test_info_on_damaged_files_exits_2_without_traceback_in_a_process(tmp_path: Path, sources: list[bytes]) -> None:
    """As a process, rigsync info on magic bytes alone and on a chunk with a broken zstd frame exits 2 with one
    error line naming the file."""
    magic = tmp_path / "magic.mcap"
    magic.write_bytes(b"\x89MCAP0\r\n")
    flipped = tmp_path / "flipped.mcap"
    flipped.write_bytes(_break_first_zstd_frame(sources[1]))
    for path in (magic, flipped):
        run = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "info", str(path)], check=False,
                             capture_output=True, text=True, timeout=60)
        assert "Traceback" not in run.stderr, run.stderr
        assert run.returncode == 2 and run.stderr.startswith(f"error: {path}: ") and run.stderr.count("\n") == 1, \
            run.stderr
