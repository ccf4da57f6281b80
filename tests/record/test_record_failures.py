"""What survives when a capture is killed, the disk fills up, or the writer falls behind."""

from __future__ import annotations

import errno
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcap.reader import make_reader

from rigsync.core.errors import RecordingError
from rigsync.core.intrinsics import Intrinsics
from rigsync.record import Compression, Recorder, RecorderConfig, open_recording
from rigsync.record.file_sink import FileSink, Piece

W, H = 64, 48
SHAPE = (H, W, 3)
INTR = Intrinsics.from_hfov(W, H, 70.0)
HERE = Path(__file__).parent

# A capture that records frames until it is stopped from outside, with a limit on the file size if asked.
CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    sys.path.insert(0, sys.argv[1])
    from conftest import pattern, stamped
    from rigsync.core.errors import RecordingError
    from rigsync.core.intrinsics import Intrinsics
    from rigsync.record import Recorder, RecorderConfig
    path, compression, fsize_limit = sys.argv[2], sys.argv[3], int(sys.argv[4])
    if fsize_limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))
    config = RecorderConfig(compression=compression, chunk_size_bytes=64 << 10, queue_max_bytes=1 << 20)
    rec = Recorder(path, config, rig_toml="", rig_path="")
    rec.add_stream("cam0", "color", Intrinsics.from_hfov(64, 48, 70.0), "rgb8")
    seq, ready = 0, False
    try:
        while seq < 1_000_000:
            rec.write_image(stamped("cam0", "color", seq, pattern(seq, (48, 64, 3), "u1"), "rgb8"))
            seq += 1
            if not ready and rec.stats.bytes_written > 400_000:
                print("ready", flush=True)
                ready = True
    except RecordingError as exc:
        print(json.dumps({"raised": str(exc), "errno": rec.error.errno}), flush=True)
    try:
        rec.close()
    except RecordingError:
        print("close raised", flush=True)
    """
)


def _child(path: Path, compression: str, fsize_limit: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(HERE), str(path), compression, str(fsize_limit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_prefix_of_complete_chunks(path: Path, h: SimpleNamespace, *, some: bool = True) -> int:
    """The reader returns exactly the images of the complete chunks that recovery keeps (those whose stamps are
    on disk): seq 0..n-1, byte-exact."""
    images, _, stamps = h.kept_frames(h.scan(str(path)))
    expected = len(images)
    assert images.keys() == stamps.keys()
    with open_recording(path) as rec:
        images = list(rec.images("cam0", "color"))
        assert rec.streams[0].message_count == expected
    assert expected > 0 or not some
    assert [i.seq for i in images] == list(range(expected))
    for img in images:
        assert img.image.tobytes() == h.pattern(img.seq, SHAPE, "u1").tobytes()
        assert img.rig_time_ns == h.rig_time(img.seq)
    return expected


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_sigkill_recovers_every_complete_chunk(tmp_path: Path, h: SimpleNamespace, compression: str) -> None:
    """A capture killed with SIGKILL leaves a file whose complete chunks are all recovered (recovered=True)."""
    path = tmp_path / "killed.mcap"
    proc = _child(path, compression)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the child has written several chunks and keeps recording
    assert line == "ready\n", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open_recording(path) as rec:
        assert rec.recovered and rec.summary().recovered
        assert rec.metadata["rigsync"]["rig_toml"] == ""
    assert _assert_prefix_of_complete_chunks(path, h) * W * H * 3 > 300_000


def test_file_size_limit_leaves_a_readable_file(tmp_path: Path, h: SimpleNamespace) -> None:
    """A real EFBIG (RLIMIT_FSIZE) stops the writer, is raised to the capture side and keeps what was written."""
    path = tmp_path / "limited.mcap"
    proc = _child(path, "none", fsize_limit=700_000)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    report = next(line for line in lines if line.startswith("{"))
    assert f'"errno": {errno.EFBIG}' in report
    assert "close raised" in lines
    assert path.stat().st_size <= 700_000
    _assert_prefix_of_complete_chunks(path, h)


class _FullDisk:
    """Patches FileSink.write_at: bytes beyond ``capacity`` fail with ENOSPC, and so does every later write."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capacity: int) -> None:
        self.capacity = capacity
        self.full = False
        original = FileSink.write_at

        def write_at(sink: FileSink, offset: int, pieces: Sequence[Piece]) -> None:
            if self.full:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), sink.path)
            data = b"".join(pieces)
            if offset + len(data) <= self.capacity:
                original(sink, offset, [data])
                return
            original(sink, offset, [data[: self.capacity - offset]])  # a partial write, as a real disk does
            self.full = True
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), sink.path)

        monkeypatch.setattr(FileSink, "write_at", write_at)


def test_disk_full_keeps_what_was_written_and_never_blocks(
    tmp_path: Path, h: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC: error is set, write_image raises instead of blocking, the file ends at its last complete chunk."""
    disk = _FullDisk(monkeypatch, capacity=500_000)
    path = tmp_path / "full.mcap"
    config = RecorderConfig(compression=Compression.NONE, chunk_size_bytes=64 << 10, queue_max_bytes=256 << 10)
    rec = Recorder(path, config, rig_toml="", rig_path="")
    rec.add_stream("cam0", "color", INTR, "rgb8")
    seq = 0
    with pytest.raises(RecordingError, match="No space left"):
        while seq < 100_000:  # far more than the disk holds: the writer fails long before
            rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, SHAPE, "u1"), "rgb8"))
            seq += 1
    assert disk.full
    assert isinstance(rec.error, OSError) and rec.error.errno == errno.ENOSPC
    with pytest.raises(RecordingError):  # still refused at once, whatever the queue holds
        rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, SHAPE, "u1"), "rgb8"))
    with pytest.raises(RecordingError, match="recording failed"):
        rec.close()
    rec.close()  # idempotent
    scan = h.scan(str(path))
    assert path.stat().st_size == scan.end  # cut back to the last complete chunk: no torn record left
    with open_recording(path) as read:
        assert read.recovered
    _assert_prefix_of_complete_chunks(path, h)


def test_full_queue_counts_an_overrun(tmp_path: Path, h: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the writer is stuck, write_image gives up after put_timeout_s, returns False and counts an overrun."""
    gate, armed = threading.Event(), threading.Event()
    original = FileSink.write_at

    def write_at(sink: FileSink, offset: int, pieces: Sequence[Piece]) -> None:
        if armed.is_set():
            gate.wait()
        original(sink, offset, pieces)

    monkeypatch.setattr(FileSink, "write_at", write_at)
    nbytes = W * H * 3
    config = RecorderConfig(compression=Compression.NONE, chunk_size_bytes=1024, queue_max_bytes=2 * nbytes,
                            put_timeout_s=0.05)  # fmt: skip
    rec = Recorder(tmp_path / "slow.mcap", config, rig_toml="", rig_path="")
    rec.add_stream("cam0", "color", INTR, "rgb8")
    armed.set()  # from now on every write waits for the gate: the writer holds frame 0 until released
    frames = [h.stamped("cam0", "color", s, h.pattern(s, SHAPE, "u1"), "rgb8") for s in range(3)]
    assert rec.write_image(frames[0]) and rec.write_image(frames[1])
    assert rec.write_image(frames[2]) is False
    assert rec.stats.overruns == 1 and rec.stats.queue_high_water_bytes == 2 * nbytes
    gate.set()
    rec.close()
    assert rec.stats.images == 2 and rec.error is None
    with open_recording(tmp_path / "slow.mcap") as read:
        assert [i.seq for i in read.images("cam0", "color")] == [0, 1]


def test_an_unbounded_put_waits_for_the_writer_until_give_up(tmp_path: Path, h: SimpleNamespace,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """put_timeout_s = inf: write_image waits for a stuck writer (no overrun however long it takes) and returns
    True once the writer takes the frame; a second wait ends, as an overrun, when give_up says so."""
    gate, armed = threading.Event(), threading.Event()
    original = FileSink.write_at

    def write_at(sink: FileSink, offset: int, pieces: Sequence[Piece]) -> None:
        if armed.is_set():
            gate.wait()
        original(sink, offset, pieces)

    monkeypatch.setattr(FileSink, "write_at", write_at)
    asked = {"n": 0, "release_at": 3, "give_up_at": None}

    def give_up() -> bool:  # asked every 0.1 s while write_image waits
        asked["n"] += 1
        if asked["n"] == asked["release_at"]:
            gate.set()  # the writer gets going: the waiting frame is taken
        return asked["n"] == asked["give_up_at"]

    nbytes = W * H * 3
    config = RecorderConfig(compression=Compression.NONE, chunk_size_bytes=1024, queue_max_bytes=2 * nbytes,
                            put_timeout_s=math.inf)  # fmt: skip
    rec = Recorder(tmp_path / "wait.mcap", config, rig_toml="", rig_path="", give_up=give_up)
    rec.add_stream("cam0", "color", INTR, "rgb8")
    armed.set()
    frames = [h.stamped("cam0", "color", s, h.pattern(s, SHAPE, "u1"), "rgb8") for s in range(10)]
    assert rec.write_image(frames[0]) and rec.write_image(frames[1])
    assert rec.write_image(frames[2])  # waited until the writer took frame 0
    assert asked["n"] >= 3 and rec.stats.overruns == 0
    gate.clear()
    asked.update(n=0, release_at=None, give_up_at=2)
    while rec.write_image(frames[3]):  # fills the queue again behind the stuck writer, then gives up
        frames.pop(3)
    assert asked["n"] == 2 and rec.stats.overruns == 1
    gate.set()
    rec.close()
    assert rec.error is None


@pytest.mark.parametrize("compression", ["none", "lz4"])
def test_truncation_anywhere_recovers_exactly_the_complete_chunks(
    tmp_path: Path, h: SimpleNamespace, compression: str
) -> None:
    """A file cut at any byte (mid-chunk, mid-index, mid-summary, just after a chunk) yields every message of its
    complete chunks, each image with its stamp: nothing is left out."""
    full = tmp_path / "full.mcap"
    config = RecorderConfig(compression=Compression(compression), chunk_size_bytes=20 << 10)
    with Recorder(full, config, rig_toml="x = 1", rig_path="r.toml") as rec:
        rec.add_stream("cam0", "color", INTR, "rgb8")
        for seq in range(30):
            rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, SHAPE, "u1"), "rgb8"))
    data = full.read_bytes()
    size = len(data)
    cut_path = tmp_path / "cut.mcap"
    cuts = {size // 3, size // 3 + 1, size // 2, size - 200, size - 9, size - 1, *range(3000, 60000, 4093)}
    with open(full, "rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None
    cuts |= {c.chunk_start_offset + c.chunk_length + c.message_index_length + 20 for c in summary.chunk_indexes}
    for cut in sorted(c for c in cuts if c < size):
        cut_path.write_bytes(data[:cut])
        scan = h.scan(str(cut_path))
        with open_recording(cut_path) as rec:
            assert rec.recovered and rec.rig_toml == "x = 1"
            assert "left out" not in rec.recovery
            has_stream = bool(rec.streams)
        if has_stream:
            _assert_prefix_of_complete_chunks(cut_path, h, some=cut > size // 3)
        else:
            assert cut < 20 << 10 and not scan.messages
