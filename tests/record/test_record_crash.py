"""What a crash or an interrupt leaves: a killed capture loses only young data, never part of a frame's records,
and an interrupted close leaves the file finished or recoverable."""

from __future__ import annotations

import _thread
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from rigsync.core.intrinsics import Intrinsics
from rigsync.record import Compression, Recorder, RecorderConfig, open_recording
from rigsync.record.file_sink import FileSink, Piece

EXAMPLES = Path(__file__).parents[2] / "examples"
BENCH = Path(__file__).parents[2] / "bench"
crash_loss = SimpleNamespace(**runpy.run_path(str(BENCH / "bench_crash_loss.py")))
"""The crash-loss benchmark's helpers (its child's progress lines, the frames a file holds)."""
FLUSH_AGE_S = RecorderConfig().flush_age_s
SCHEDULING_SLACK_S = 0.5
"""Allowed on top of the flush age for the writer thread to get a CPU and write the chunk."""


def test_sigkill_of_a_fast_capture_loses_only_young_frames_and_splits_none(tmp_path: Path, h: SimpleNamespace) -> None:
    """SIGKILL of a --fast capture: every image the writer had reported on disk, and every frame handed to the
    recorder more than the flush age (plus scheduling slack) before the kill, is recovered; each with its
    camera_info and stamp, in the image's own chunk, and the chunks in log-time order."""
    out = tmp_path / "fast.mcap"
    # The capture child of the crash-loss benchmark: it prints, for every frame the recorder accepts, the
    # monotonic time, the frames handed to the recorder so far, the images its writer has on disk and the frame.
    proc = subprocess.Popen([sys.executable, str(BENCH / "bench_crash_loss.py"), str(EXAMPLES / "kinect_star.toml"),
                             "--child", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    progress: list[tuple[float, int, int, str]] = []
    for line in proc.stdout:  # until the writer has 3 s of steady work behind it
        progress.append(crash_loss.parse(line))
        if progress[-1][0] - progress[0][0] >= 3.0:
            break
    assert progress, proc.stderr.read() if proc.stderr else ""
    t_kill = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    progress += [crash_loss.parse(line) for line in proc.stdout.read().splitlines()]

    images, infos, stamps = h.kept_frames(h.scan(str(out)))
    recovered = len(images)
    assert images.keys() == infos.keys() == stamps.keys()
    assert all(images[frame] == stamps[frame] == infos[frame] for frame in images)  # in the image's chunk
    times = [m.log_time for chunk in h.scan(str(out)).chunks for _, m in chunk]
    assert times == sorted(times)
    with open_recording(out) as rec:
        assert rec.recovered and sum(s.message_count for s in rec.streams) == recovered
        assert sum(1 for _ in rec.frames()) == recovered
    assert recovered >= max(on_disk for _, _, on_disk, _ in progress)
    kept = crash_loss.recovered_frames(out)
    handed = {frame for _, _, _, frame in progress}
    assert len(kept) == recovered and len(kept - handed) <= 1  # at most the frame being handed over when it died
    # Written in log-time order, not as handed over: what is lost is found frame by frame.
    old = [frame for t, _, _, frame in progress if t < t_kill - FLUSH_AGE_S - SCHEDULING_SLACK_S]
    lost = [(t, frame) for t, _, _, frame in progress if frame not in kept]
    assert old and not set(old) - kept, (
        f"{len(set(old) - kept)} frames handed over more than {FLUSH_AGE_S + SCHEDULING_SLACK_S} s before the kill "
        f"were lost (the oldest lost was handed {t_kill - lost[0][0]:.2f} s before)")


def test_an_interrupted_close_leaves_the_writer_finishing_the_file(
    tmp_path: Path, h: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt raised into close() leaves the writer thread finishing the file; close() again waits
    for it, and the file is finished with its end metadata."""
    closing, release = threading.Event(), threading.Event()
    original = FileSink.write_at

    def write_at(sink: FileSink, offset: int, pieces: Sequence[Piece]) -> None:
        if closing.is_set() and not release.is_set():
            _thread.interrupt_main()  # Ctrl-C while the file is being finished
            release.wait()
        original(sink, offset, pieces)

    monkeypatch.setattr(FileSink, "write_at", write_at)
    path = tmp_path / "i.mcap"
    rec = Recorder(path, RecorderConfig(compression=Compression.NONE), rig_toml="", rig_path="")
    rec.add_stream("cam0", "color", Intrinsics.from_hfov(64, 48, 70.0), "rgb8")
    for seq in range(5):
        assert rec.write_image(h.stamped("cam0", "color", seq, h.pattern(seq, (48, 64, 3), "u1"), "rgb8"))
    closing.set()
    with pytest.raises(KeyboardInterrupt):
        rec.close(stats={"capture": "{}"})
    with open_recording(path) as read:  # not finished yet: the writer waits, holding the last chunk
        assert read.recovered
    release.set()
    rec.close()
    with open_recording(path) as read:
        assert not read.recovered and read.metadata["rigsync.stats"]["capture"] == "{}"
        assert [i.seq for i in read.images("cam0", "color")] == [0, 1, 2, 3, 4]
