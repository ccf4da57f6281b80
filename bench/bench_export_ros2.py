"""The ROS 2 export's memory stays bounded by a chunk, whatever the recording's length, and its speed against
reading the same images with rigsync's own reader.

Captures the rig (``--fast``) for ``--short`` and ``--long`` seconds, then runs, each in a fresh process, the
export (``rigsync.export.ros2.export_ros2``) and a plain read of every image (``Recording.images_of``, the
baseline) of each recording, and prints their peak resident memory (VmHWM) and wall time. Bounded memory
means the long export's peak is about the short one's although its recording is several times larger.

    python bench/bench_export_ros2.py examples/realsense_genlock.toml --short 1 --long 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def child(task: str, source: str, out: str) -> None:
    """One measured task in this fresh process; prints ``{"s": wall, "rss_mb": peak}``."""
    from rigsync.record import open_recording

    start = time.perf_counter()
    if task == "export":
        from rigsync.export.ros2 import export_ros2

        export_ros2(source, out)
    else:
        with open_recording(source) as rec:
            for _ in rec.images_of((s.device, s.stream) for s in rec.streams):
                pass
    wall = time.perf_counter() - start
    print(json.dumps({"s": wall, "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ``ru_maxrss``, not inherited across exec from the
    parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def capture(rig: str, seconds: float, out: Path) -> None:
    from rigsync.capture import CaptureOptions, CaptureSession
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    with CaptureSession(build_plan(load_rig(rig)), CaptureOptions(out=out, seconds=seconds, fast=True)) as s:
        s.run()


def measure(task: str, source: Path, out: Path) -> dict[str, float]:
    run = subprocess.run([sys.executable, __file__, "--child", task, str(source), str(out)], check=True,
                         capture_output=True, text=True)
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rig", nargs="?", default=str(Path(__file__).parents[1] / "examples" / "realsense_genlock.toml"))
    p.add_argument("--short", type=float, default=1.0)
    p.add_argument("--long", type=float, default=4.0)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for seconds in (args.short, args.long):
            source = Path(folder) / f"rec-{seconds}.mcap"
            capture(args.rig, seconds, source)
            read = measure("read", source, Path(folder) / "unused.mcap")
            export = measure("export", source, Path(folder) / f"rec-{seconds}.ros2.mcap")
            size_mb = source.stat().st_size / 1e6
            rows.append((seconds, size_mb, read, export))
            print(f"{seconds:g} s: recording {size_mb:.1f} MB; read images {read['s']:.2f} s, peak RSS "
                  f"{read['rss_mb']:.0f} MB; export {export['s']:.2f} s ({export['s'] / read['s']:.2f} x the read), "
                  f"peak RSS {export['rss_mb']:.0f} MB")
        (_, short_mb, _, short), (_, long_mb, _, long) = rows
        print(f"recording {long_mb / short_mb:.2f} x larger: export peak RSS {long['rss_mb'] / short['rss_mb']:.2f} x")


if __name__ == "__main__":
    main()
