"""Recording throughput: image MB/s through the Recorder vs a plain sequential write of the same bytes.

Frames are 320x240 rgb8 + 320x240 16UC1 with rendered-like content (smooth gradients and shapes plus sensor
noise). For each compression and repetition the same frames are written on the same disk twice, back to
back: once with a plain buffered sequential write and once through the Recorder (the order alternates
between repetitions), each run starting on a quiet disk (previous files deleted, ``sync``, a pause); both
timings include fsync and close. The ratio is Recorder MB/s over plain MB/s of the pair, summarized by its
median; the target is >= 0.70 for compression ``none``.

``--chunk-sizes`` also measures smaller chunks: what the flush age makes of chunks when data comes slower than
one chunk per flush age (a stream of R MB/s flushed every F s writes chunks of about R x F MB). Besides the
ratio, each Recorder run reports the CPU time it took (all threads, seconds per GB of image data): unlike
MB/s, it hardly depends on what else the machine runs.

    python bench/bench_recording.py --frames 1000 --reps 5 --dir /path/on/the/target/disk
    python bench/bench_recording.py --compressions none,zstd --chunk-sizes 8M,2M,512K
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics
from rigsync.core.intrinsics import Intrinsics
from rigsync.record import Compression, Recorder, RecorderConfig

W, H = 320, 240
TARGET_RATIO_NONE = 0.70


def rendered_frames(pool: int, seed: int = 7) -> list[tuple[np.ndarray, np.ndarray]]:
    """``pool`` (color, depth) pairs: lit gradients and a moving disc, depth planes, Gaussian noise, holes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    frames = []
    for i in range(pool):
        cx, cy = 60 + 4 * i, 120 + 30 * np.sin(i / 3)
        disc = ((x - cx) ** 2 + (y - cy) ** 2) < 40**2
        base = np.stack([x / W * 200 + 20, y / H * 180 + 30, (x + y) / (W + H) * 120 + 60], axis=-1)
        base[disc] = (210.0, 90.0, 40.0)
        color = np.clip(base + rng.normal(0, 3.0, base.shape), 0, 255).astype(np.uint8)
        depth_mm = 1500 + 4 * y + 0.5 * x
        depth_mm[disc] = 900 + 0.2 * x[disc]
        depth = np.clip(depth_mm + rng.normal(0, 2.0, depth_mm.shape), 0, 65535).astype(np.uint16)
        depth[rng.random(depth.shape) < 0.01] = 0  # invalid pixels, as depth sensors report them
        frames.append((color, depth))
    return frames


def stamped(stream: str, seq: int, image: np.ndarray, encoding: str) -> StampedFrame:
    rig_ns = 1_000_000_000 + seq * 33_333_333
    frame = Frame("cam0", stream, seq, rig_ns, rig_ns + 5_000_000, TimestampSemantics.START_OF_EXPOSURE,
                  ClockDomain.DEVICE, 1_000_000, None, image, encoding)  # fmt: skip
    return StampedFrame(frame, rig_ns, 10_000)


def plain_write(path: str, images: Sequence[np.ndarray]) -> float:
    """Seconds to write the images' bytes sequentially (buffered file), fsync and close."""
    start = time.perf_counter()
    with open(path, "wb") as f:
        for image in images:
            f.write(image.data)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - start


def recorder_write(path: str, compression: Compression, chunk_size: int,
                   frames: Sequence[StampedFrame]) -> tuple[float, float, int, int]:
    """Seconds from opening to closed (fsync included), CPU seconds (all threads), overruns, file bytes."""
    intr = Intrinsics.from_hfov(W, H, 70.0)
    cpu = time.process_time()
    start = time.perf_counter()
    rec = Recorder(path, RecorderConfig(compression=compression, chunk_size_bytes=chunk_size), rig_toml="",
                   rig_path="bench")
    rec.add_stream("cam0", "color", intr, "rgb8")
    rec.add_stream("cam0", "depth", intr, "16UC1")
    for frame in frames:
        rec.write_image(frame)
    rec.close()
    elapsed = time.perf_counter() - start
    return elapsed, time.process_time() - cpu, rec.stats.overruns, os.path.getsize(path)


def parse_size(text: str) -> int:
    """``8M``, ``512K`` or a number of bytes."""
    units = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1:].upper() in units else int(text)


def settle(workdir: str, seconds: float) -> None:
    """Delete the previous runs' files, sync, and give the disk ``seconds`` to finish what that started."""
    for name in os.listdir(workdir):
        os.remove(os.path.join(workdir, name))
    os.sync()
    time.sleep(seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="color+depth frame pairs per run")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", default=None, help="directory on the disk under test (default: a temp dir)")
    parser.add_argument("--compressions", default="none,lz4,zstd")
    parser.add_argument("--chunk-sizes", default="8M", help="chunk sizes to measure (8M, 512K, bytes)")
    parser.add_argument("--settle-s", type=float, default=2.0, help="pause before each run (after sync)")
    args = parser.parse_args(argv)
    cases = [(Compression(c), parse_size(size)) for c in args.compressions.split(",")
             for size in args.chunk_sizes.split(",")]

    pool = rendered_frames(32)
    frames: list[StampedFrame] = []
    for seq in range(args.frames):
        color, depth = pool[seq % len(pool)]
        frames += [stamped("color", seq, color, "rgb8"), stamped("depth", seq, depth, "16UC1")]
    images = [f.frame.image for f in frames if f.frame.image is not None]
    total = sum(i.nbytes for i in images)
    workdir = tempfile.mkdtemp(prefix="rigsync-bench-", dir=args.dir)
    print(f"{args.frames} pairs of {W}x{H} rgb8 + 16UC1 = {total / 1e6:.1f} MB of image data per run, in {workdir}")
    ratios: dict[tuple[Compression, int], list[float]] = {case: [] for case in cases}
    cpu_s_per_gb: dict[tuple[Compression, int], list[float]] = {case: [] for case in cases}
    plain_path = os.path.join(workdir, "plain.bin")
    try:
        for rep in range(args.reps):
            line = [f"rep {rep + 1}:"]
            for c, chunk_size in cases:
                # Each Recorder run is paired with a plain run (order alternating per repetition), and each
                # run starts on a quiet disk: earlier files deleted, synced, and a pause for the discards
                # and writeback that deletion triggers, which otherwise land on whichever run comes next.
                path = os.path.join(workdir, f"rec-{c.value}-{chunk_size}.mcap")
                plain_s, seconds, cpu_s, overruns, size = 0.0, 0.0, 0.0, 0, 0
                for run in ("plain", "recorder") if rep % 2 == 0 else ("recorder", "plain"):
                    settle(workdir, args.settle_s)
                    if run == "plain":
                        plain_s = plain_write(plain_path, images)
                    else:
                        seconds, cpu_s, overruns, size = recorder_write(path, c, chunk_size, frames)
                plain_mbs, mbs = total / plain_s / 1e6, total / seconds / 1e6
                ratios[(c, chunk_size)].append(mbs / plain_mbs)
                cpu_s_per_gb[(c, chunk_size)].append(cpu_s / total * 1e9)
                extra = f", {overruns} overruns" if overruns else ""
                line.append(
                    f"{c.value}/{chunk_size >> 10}K {mbs:6.0f} MB/s vs plain {plain_mbs:6.0f} (x{mbs / plain_mbs:.2f}, "
                    f"cpu {cpu_s / total * 1e9:.2f} s/GB, file {size / total:.2f} of raw{extra})"
                )
            print(" | ".join(line), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for (c, chunk_size), r in ratios.items():
        cpu = statistics.median(cpu_s_per_gb[(c, chunk_size)])
        print(f"{c.value:>5} {chunk_size >> 10:>6} KiB chunks: ratio to plain median {statistics.median(r):.2f} "
              f"(min {min(r):.2f}, max {max(r):.2f}); CPU median {cpu:.2f} s/GB")  # fmt: skip
    default = (Compression.NONE, RecorderConfig().chunk_size_bytes)
    if default in ratios:
        ok = statistics.median(ratios[default]) >= TARGET_RATIO_NONE
        print(f"target: none >= {TARGET_RATIO_NONE:.2f} x plain: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
