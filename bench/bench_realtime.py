"""Real-time capacity: how many simulated RGB-D cameras at 30 fps this machine captures and records.

Each camera is a RealSense D435 streaming colour (rgb8) and depth (16UC1) at 30 fps, rendered at 320x240,
two per USB controller, all in one software sync group. The capture runs in real time (not --fast):
frames are rendered, stamped, matched and recorded while the simulated cameras keep producing them.

A run passes when rigsync itself dropped no frame: no driver-queue overrun (rigsync read every frame in time)
and no recorder overrun (the writer kept up). The largest passing camera count is reported, next to the
disk's sequential write speed measured in the same run (a plain write + fsync of the bytes the largest run
needed), to say whether the CPU or the disk bounds it.

Run: python bench/bench_realtime.py [--seconds 8] [--counts 16,24,32,40] [--compression lz4] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rigsync.capture import CaptureOptions, CaptureSession, CaptureStatus
from rigsync.plan import build_plan
from rigsync.record.recorder import Compression
from rigsync.spec import loads_rig


def rig_text(cameras: int) -> str:
    lines = ['[sim]\nseed = 1\nrender_width = 320\n\n[[hosts]]\nname = "h"\n']
    for i in range(cameras):
        a = 2 * np.pi * i / cameras
        lines.append(f"""
[[devices]]
id = "cam{i:02d}"
model = "realsense-d435"
serial = "RS{i:04d}"
host = "h"
connection = "usb:ctrl{i // 2}"
pose = {{ position = [{2.6 * np.cos(a):.3f}, {2.6 * np.sin(a):.3f}, 1.4], look_at = [0.0, 0.0, 1.0] }}
streams = [
  {{ kind = "color", width = 640, height = 480, fps = 30, format = "rgb8" }},
  {{ kind = "depth", width = 640, height = 480, fps = 30, exposure_us = 8000 }},
]
""")
    members = ", ".join(f'{{ device = "cam{i:02d}" }}' for i in range(cameras))
    lines.append(f'\n[[sync]]\nname = "all"\nmethod = "software"\nmembers = [{members}]\n')
    return "".join(lines)


def capture(cameras: int, seconds: float, compression: Compression, directory: Path, *,
            observers: dict[str, Any] | None = None, on_open: Callable[[CaptureSession], None] | None = None,
            on_status: Callable[[CaptureStatus], None] | None = None) -> dict[str, float]:
    """One capture in real time; ``observers`` (the session's), ``on_open`` (called with the open session) and
    ``on_status`` (``run``'s) let a benchmark watch it (bench_live.py)."""
    rig = loads_rig(rig_text(cameras), f"realtime-{cameras}.toml")
    out = directory / f"realtime-{cameras}.mcap"
    options = CaptureOptions(out=out, seconds=seconds, fast=False, compression=compression)
    t0 = time.perf_counter()
    with CaptureSession(build_plan(rig), options, **(observers or {})) as session:
        if on_open is not None:
            on_open(session)
        result = session.run(on_status=on_status)
    wall = time.perf_counter() - t0
    size = out.stat().st_size
    out.unlink()
    image_bytes = result.frames * (320 * 240 * 3 + 320 * 240 * 2) / 2
    return {
        "cameras": cameras,
        "frames": result.frames,
        "host_overrun": result.dropped.get("host_overrun", 0),
        "recorder_overrun": result.dropped.get("recorder_overrun", 0),
        "late": result.dropped.get("late", 0),
        "complete_pct": 100.0 * result.complete / max(result.framesets, 1),
        "image_mb_s": image_bytes / seconds / 1e6,
        "file_mb_s": size / seconds / 1e6,
        "wall_s": wall,
        "queue_mb": result.status.recorder_queue_mb,
        "error": 1.0 if result.error else 0.0,
    }


def disk_write_mb_s(directory: Path, total_mb: int) -> float:
    block = os.urandom(1 << 20)
    path = directory / "plain-write.bin"
    t0 = time.perf_counter()
    with path.open("wb") as f:
        for _ in range(total_mb):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - t0
    path.unlink()
    return total_mb / elapsed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--counts", default="24,32,40,48")
    p.add_argument("--compression", default="lz4", choices=[c.value for c in Compression])
    p.add_argument("--dir", type=Path, default=None)
    args = p.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="rigsync-rt-"))
    compression = Compression(args.compression)
    print(f"real time: D435 RGB-D cameras at 30 fps, 320x240 renders, {args.seconds:.0f} s each, "
          f"compression {compression.value}, in {directory}")
    best = 0
    needed = 0.0
    for n in (int(x) for x in args.counts.split(",")):
        r = capture(n, args.seconds, compression, directory)
        ok = r["host_overrun"] == 0 and r["recorder_overrun"] == 0 and not r["error"]
        print(f"  {n:3d} cameras: {int(r['frames']):6d} frames, host overruns {int(r['host_overrun'])}, "
              f"recorder overruns {int(r['recorder_overrun'])}, late {int(r['late'])}, "
              f"complete sets {r['complete_pct']:.1f}%, image data {r['image_mb_s']:.0f} MB/s, "
              f"file {r['file_mb_s']:.0f} MB/s, recorder queue peak {r['queue_mb']:.0f} MB -> "
              f"{'PASS' if ok else 'FAIL'}")
        if ok:
            best, needed = n, r["file_mb_s"]
    disk = disk_write_mb_s(directory, 1024)
    print(f"  largest count with no frame dropped by rigsync: {best} cameras (target >= 32)")
    print(f"  disk sequential write (1 GiB + fsync, same run): {disk:.0f} MB/s; the largest run wrote "
          f"{needed:.0f} MB/s -> bound by {'the disk' if needed > 0.8 * disk else 'the CPU, not the disk'}")


if __name__ == "__main__":
    main()
