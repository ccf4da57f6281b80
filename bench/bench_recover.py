"""``rigsync recover``'s memory and speed against the crashed file's size: peak RSS must not grow with the file.

Writes a recording of synthetic 640x480 RGB frames (one stream, zstd level 1, 8 MiB chunks: the recorder's
defaults) of each size, cuts it in the middle of its last chunk (a capture killed mid-chunk: no summary), and
recovers it in a fresh process that reports its own peak RSS and wall time, then times ``open_recording`` on the
same file there (the reader's recovery: one pass, nothing written) as the baseline. The ratio of peak RSS between
the largest and the smallest file is the memory figure (1.0: flat); the speed figure is the ratio to the baseline.

    python bench/bench_recover.py --sizes-mb 100 400
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Peak RSS from /proc/self/status (VmHWM, this program's own): getrusage's ru_maxrss keeps the parent's peak
# across fork and exec.
CHILD = """
import re, sys, time
from rigsync.record import open_recording
from rigsync.record.recover import recover
t0 = time.perf_counter()
report = recover(sys.argv[1], sys.argv[2])
wall_s = time.perf_counter() - t0
peak_kb = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
t0 = time.perf_counter()
open_recording(sys.argv[1])  # the baseline: the reader's recovery of the same file (one pass, nothing written)
print(wall_s, peak_kb, sum(report.kept.values()), time.perf_counter() - t0)
"""


def crashed(path: Path, size_mb: int) -> None:
    """A recording of about ``size_mb`` MB, cut in the middle of its last chunk."""
    from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics
    from rigsync.core.intrinsics import Intrinsics
    from rigsync.record import Recorder, RecorderConfig

    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)  # poorly compressible, like camera noise
    with Recorder(path, RecorderConfig(), rig_toml="", rig_path="") as rec:
        rec.add_stream("cam0", "color", Intrinsics.from_hfov(640, 480, 70.0), "rgb8")
        for seq in range((size_mb << 20) // noise.nbytes):
            image = np.roll(noise, seq, axis=1)
            frame = Frame(device="cam0", stream="color", seq=seq, device_ts_ns=seq * 33_333_333,
                          host_rx_ns=seq * 33_333_333, semantics=TimestampSemantics.START_OF_EXPOSURE,
                          domain=ClockDomain.DEVICE, min_latency_ns=0, exposure_ns=None, image=image, encoding="rgb8")
            rec.write_image(StampedFrame(frame=frame, rig_time_ns=seq * 33_333_333, error_bound_ns=1000))
    size = path.stat().st_size
    os.truncate(path, size - min(4 << 20, size // 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 400])
    args = parser.parse_args()
    rss = []
    with tempfile.TemporaryDirectory() as tmp:
        for size_mb in args.sizes_mb:
            broken, fixed = Path(tmp) / f"{size_mb}.mcap", Path(tmp) / f"{size_mb}.recovered.mcap"
            crashed(broken, size_mb)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(broken), str(fixed)], check=True,
                                 capture_output=True, text=True).stdout.split()
            total_s = time.perf_counter() - t0
            wall_s, peak_kb, messages, open_s = float(out[0]), int(out[1]), int(out[2]), float(out[3])
            mb = broken.stat().st_size / 1e6
            rss.append(peak_kb)
            print(f"{mb:8.1f} MB crashed file: recovered {messages:,} messages in {wall_s:.2f} s ({mb / wall_s:.0f} "
                  f"MB/s; {total_s:.2f} s with interpreter start; {wall_s / open_s:.2f} x the reader's recovery of it, "
                  f"{open_s:.2f} s), peak RSS {peak_kb / 1024:.1f} MiB")
            broken.unlink()
            fixed.unlink()
    print(f"peak RSS ratio, largest / smallest file: {rss[-1] / rss[0]:.2f}")


if __name__ == "__main__":
    main()
