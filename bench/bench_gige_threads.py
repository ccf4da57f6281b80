"""GigE driver: where its CPU per frame goes, thread by thread, next to the SDK's bare loop.

The same fake cameras and loops as ``bench_drivers.py`` (b) (2 ``arv-fake-gv-camera-0.8`` processes on 127.0.0.41...,
64x48 mono8 at 1,000 fps): the bare loop (a thread per camera popping buffers and pushing them back) and the driver
(a reader thread per camera building frames; the main thread polls every device each 1 ms, as that bench does). For
each, the CPU time each thread used while streaming (from /proc/self/task: 10 ms ticks, so give it a few seconds),
per delivered frame: the Python threads by name (``gige-<serial>``: the driver's readers; ``pop-<n>``: the bare
loop's; ``MainThread``: the polling loop), Aravis's own threads by their names (``arv_gv_stream``...).

Run: PYTHONPATH=src python3 bench/bench_gige_threads.py [--seconds 5] [--fps 1000]
(needs root for the loopback aliases, or the aliases already present).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rigsync.drivers._aravis  # noqa: F401  (Aravis 0.8 asked for before bench_drivers imports it)
from bench_drivers import fake_cameras, gige_bare_streaming, gige_devices, poll_for


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by name (numbers in names folded: one row per kind)."""
    python_names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = defaultdict(float)
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(FileNotFoundError):
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            name = python_names.get(int(tid), stat[stat.index("(") + 1:stat.rindex(")")])
            out[re.sub(r"\d+", "N", name)] += (int(fields[11]) + int(fields[12])) / tick
    return out


def bare(serials: list[str], seconds: float, fps: float) -> tuple[int, dict[str, float]]:
    with gige_bare_streaming(serials, fps, 64, 48) as progress:
        before = thread_cpu_s()
        time.sleep(seconds)
        used = {k: v - before.get(k, 0.0) for k, v in thread_cpu_s().items()}
        frames, _ = progress()
    return frames, used


def driver(serials: list[str], seconds: float, fps: float) -> tuple[int, dict[str, float]]:
    with gige_devices(serials, fps, 64, 48) as devices:
        before = thread_cpu_s()
        frames, _ = poll_for(devices, seconds)
        used = {k: v - before.get(k, 0.0) for k, v in thread_cpu_s().items()}
    return frames, used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--fps", type=float, default=1000.0)
    args = ap.parse_args()
    print(f"bench_gige_threads: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with fake_cameras(2) as serials:
        for name, run in (("bare", bare), ("driver", driver)):
            frames, used = run(serials, args.seconds, args.fps)
            print(f"\n{name}: {frames} frames in {args.seconds:g} s; CPU per frame by thread")
            for thread, cpu_s in sorted(used.items(), key=lambda kv: -kv[1]):
                if cpu_s > 0:
                    print(f"  {thread:24s} {cpu_s / max(frames, 1) * 1e6:7.1f} us")
            print(f"  {'all':24s} {sum(used.values()) / max(frames, 1) * 1e6:7.1f} us")
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
