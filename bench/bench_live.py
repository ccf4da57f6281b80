"""Real-time capacity with the live view against without, in the same run (issue 11: target >= 0.9 of it).

bench_realtime.py's rig (RealSense D435s, colour and depth at 30 fps, 320x240 renders, one software sync group) is
captured in real time at each camera count twice, one after the other: without the live view, and with it
(``--live`` on a loopback port, the defaults: previews at most 10 a second per stream, at most 320 px wide) and a
Foxglove WebSocket client (``foxglove.sdk.v1``, bench/_foxglove_watch.py: a process of its own, as Foxglove is)
subscribed to every stream's image and calibration, the framesets and the status, reading everything. A run passes
as in bench_realtime.py: rigsync dropped no frame (no driver-queue or recorder overrun). The capacity of each is the
largest passing count; the ratio is with / without.

Run: python bench/bench_live.py [--seconds 8] [--counts 16,20,24,28,32,36,40] [--compression lz4] [--dir DIR]
     [--viewer-nice N]
Needs pip install 'rigsync[live,test]' (foxglove-sdk; websocket-client for the client).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_realtime import capture
from rigsync.live import LiveFeed, LiveOptions, LiveServer
from rigsync.record.recorder import Compression


def live_capture(cameras: int, seconds: float, compression: Compression, directory: Path, *,
                 viewer_nice: int = 0) -> dict[str, float]:
    keys = [f"cam{i:02d}/{s}" for i in range(cameras) for s in ("color", "depth")]
    options = LiveOptions(port=0)
    feed = LiveFeed(keys, options.fps)
    with LiveServer(options, feed) as server:
        watcher = subprocess.Popen(["nice", "-n", str(viewer_nice), sys.executable,
                                    str(Path(__file__).with_name("_foxglove_watch.py")), server.url],
                                   stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while feed.watched != set(keys) and time.monotonic() < deadline:  # subscribed before the capture starts
                feed.wait(0.05)
            watched = len(feed.watched)
            r = capture(cameras, seconds, compression, directory,
                        observers={"frame_observer": feed.frame, "frameset_observer": feed.frameset},
                        on_open=lambda session: server.calibrate(session.intrinsics), on_status=feed.status)
        except BaseException:
            watcher.kill()
            raise
    out, _ = watcher.communicate(timeout=60)  # the server stopped: the viewer prints what it got
    counts = json.loads(out.splitlines()[-1])
    images = sum(n for t, n in counts.items() if t.endswith("/image"))
    return {**r, "previews": images, "previews_per_stream_s": images / len(keys) / seconds,
            "replaced": sum(feed.replaced.values()), "watched": watched, "error": r["error"] or
            (1.0 if server.error else 0.0)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--counts", default="16,20,24,28,32,36,40")
    p.add_argument("--compression", default="lz4", choices=[c.value for c in Compression])
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--viewer-nice", type=int, default=0,
                   help="the viewer's niceness (19: it takes only the CPU the capture leaves, as Foxglove on the "
                        "operator's own machine would)")
    args = p.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="rigsync-live-"))
    compression = Compression(args.compression)
    print(f"real time with and without --live: D435 RGB-D cameras at 30 fps, 320x240 renders, {args.seconds:.0f} s "
          f"each, compression {compression.value}, a client watching every stream, in {directory}")
    best = {"without": 0, "with": 0}
    cpu_s: dict[str, list[float]] = {"without": [], "with": [], "viewer": []}
    for n in (int(x) for x in args.counts.split(",")):
        for mode in ("without", "with"):
            before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            r = (live_capture(n, args.seconds, compression, directory, viewer_nice=args.viewer_nice) if mode == "with"
                 else capture(n, args.seconds, compression, directory))
            after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            own, viewer = (a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
                           for a, b in zip(after, before, strict=True))
            cpu_s[mode].append(own / (n * args.seconds))
            if mode == "with":
                cpu_s["viewer"].append(viewer / (n * args.seconds))
            ok = r["host_overrun"] == 0 and r["recorder_overrun"] == 0 and not r["error"]
            extra = (f", previews {r['previews_per_stream_s']:.1f}/s per stream ({int(r['watched'])} streams "
                     f"watched, {int(r['replaced'])} replaced unsent)" if mode == "with" else "")
            print(f"  {n:3d} cameras {mode:>7} --live: {int(r['frames']):6d} frames, host overruns "
                  f"{int(r['host_overrun'])}, recorder overruns {int(r['recorder_overrun'])}, late {int(r['late'])}, "
                  f"complete sets {r['complete_pct']:.1f}%, CPU {own / args.seconds:.2f} cores{extra} -> "
                  f"{'PASS' if ok else 'FAIL'}")
            if ok:
                best[mode] = n
    ratio = best["with"] / best["without"] if best["without"] else float("nan")
    print(f"  real-time capacity: {best['without']} cameras without --live, {best['with']} with -> ratio "
          f"{ratio:.2f} (target >= 0.9)")
    counts = [int(x) for x in args.counts.split(",")]
    extra = [n * (w - o) for n, w, o in zip(counts, cpu_s["with"], cpu_s["without"], strict=True)]
    print(f"  the capture process's CPU with --live less without, per count: "
          f"{', '.join(f'{n}: {e:+.2f}' for n, e in zip(counts, extra, strict=True))} cores (median "
          f"{statistics.median(extra):+.2f}); the viewer process {statistics.median(cpu_s['viewer']) * 1e3:.1f} ms per "
          "camera-second")


if __name__ == "__main__":
    main()
