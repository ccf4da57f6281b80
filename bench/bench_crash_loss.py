"""What SIGKILL of a --fast capture loses: the frames handed to the recorder that the recovered file does not
hold, and how long before the kill the oldest of them had been handed over (the flush age bounds it).

The capture runs in a child process that prints, for every frame the recorder accepts, the monotonic time, the
frames handed over so far, the images the writer has on disk and the frame (``device/stream/seq``); the parent
kills it after ``--seconds`` of recording and reads the file back. The writer writes in log-time order, not in
the order frames are handed over: a frame is lost if its stamp is not in the recovered file.

    python bench/bench_crash_loss.py examples/kinect_star.toml --seconds 4 --runs 5
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def child(rig: str, out: str) -> None:
    """The capture (--fast, until killed), printing ``<monotonic s> <handed> <on disk>`` per accepted frame."""
    from rigsync.capture import CaptureOptions, CaptureSession
    from rigsync.core.frame import StampedFrame
    from rigsync.plan import build_plan
    from rigsync.record.recorder import Recorder
    from rigsync.spec import load_rig

    write_image = Recorder.write_image
    handed = 0

    def counting(self: Recorder, frame: StampedFrame) -> bool:
        nonlocal handed
        accepted = write_image(self, frame)
        if accepted:
            handed += 1
            f = frame.frame
            print(f"{time.monotonic():.6f} {handed} {self.stats.images} {f.device}/{f.stream}/{f.seq}", flush=True)
        return accepted

    Recorder.write_image = counting  # type: ignore[method-assign]
    with CaptureSession(build_plan(load_rig(rig)), CaptureOptions(out=Path(out), seconds=3600, fast=True)) as s:
        s.run()


def start(rig: str | os.PathLike[str], out: str | os.PathLike[str]) -> subprocess.Popen[str]:
    """The child capture, with its progress on stdout (see :func:`parse`)."""
    return subprocess.Popen([sys.executable, __file__, os.fspath(rig), "--child", os.fspath(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parse(line: str) -> tuple[float, int, int, str]:
    """``(monotonic s, frames handed over, images on disk, "device/stream/seq")`` of a line of the child's."""
    t, handed, on_disk, frame = line.split()
    return float(t), int(handed), int(on_disk), frame


def recovered_frames(path: str | os.PathLike[str]) -> set[str]:
    """``device/stream/seq`` of every frame whose stamp (and so image: they share a chunk) the file holds."""
    from rigsync.record import open_recording

    with open_recording(path) as rec:
        return {f"{s.device}/{s.stream}/{s.seq}" for s in rec.frames()}


def run_once(rig: str, seconds: float, out: Path) -> tuple[int, int, int, float | None]:
    """Handed over, on disk as last reported, recovered, and the age at the kill of the oldest lost frame."""
    proc = start(rig, out)
    assert proc.stdout is not None
    progress = []
    for line in proc.stdout:
        progress.append(parse(line))
        if progress[-1][0] - progress[0][0] >= seconds:
            break
    t_kill = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    progress += [parse(line) for line in proc.stdout.read().splitlines()]
    kept = recovered_frames(out)
    lost = [t for t, _, _, frame in progress if frame not in kept]
    return progress[-1][1], progress[-1][2], len(kept), (t_kill - lost[0]) if lost else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rig")
    parser.add_argument("--seconds", type=float, default=4.0, help="recording time before the kill")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.rig, args.child)
        return 0
    ages, losses = [], []
    with tempfile.TemporaryDirectory(prefix="rigsync-crash-") as tmp:
        for run in range(args.runs):
            handed, on_disk, recovered, age = run_once(args.rig, args.seconds, Path(tmp) / f"k{run}.mcap")
            ages.append(age or 0.0)
            losses.append(handed - recovered)
            print(f"run {run + 1}: handed {handed}, on disk as last reported {on_disk}, recovered {recovered}, lost "
                  f"{handed - recovered}" + (f", the oldest handed over {age:.2f} s before the kill" if age else ""),
                  flush=True)
    print(f"lost frames median {statistics.median(losses):.0f} (max {max(losses)}); age of the oldest lost frame "
          f"median {statistics.median(ages):.2f} s (max {max(ages):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
