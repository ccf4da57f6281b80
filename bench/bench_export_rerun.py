"""``rigsync export --rerun``'s memory and speed: peak RSS and wall time of exporting a short and a 4x longer
recording of the same rig (the export streams chunk by chunk: the longer one's peak RSS should be about the
short one's), against reading the same images without Rerun, each in a fresh child process.

    python bench/bench_export_rerun.py examples/kinect_star.toml --seconds 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
from rigsync.record import open_recording
t0 = time.perf_counter()
with open_recording(sys.argv[2]) as recording:
    if sys.argv[1] == "export":
        from rigsync.export.rerun import export_rerun
        images = export_rerun(recording, sys.argv[3]).images
    else:
        images = sum(1 for _ in recording.images_of((s.device, s.stream) for s in recording.streams))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (the capture) through fork and exec
hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"images": images, "wall_s": time.perf_counter() - t0, "peak_rss_mb": hwm_kb / 1024}))
"""


def run(mode: str, rec: Path, out: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(rec), str(out)], check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rig", type=Path)
    ap.add_argument("--seconds", type=float, default=3.0, help="the short recording (the long one is 4x)")
    args = ap.parse_args()
    from rigsync.capture import CaptureOptions, CaptureSession
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    plan = build_plan(load_rig(args.rig))
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (args.seconds, 4 * args.seconds):
            rec = Path(tmp) / f"rec{seconds:g}.mcap"
            with CaptureSession(plan, CaptureOptions(out=rec, seconds=seconds, fast=True)) as session:
                session.run()
            read = run("read", rec, Path(tmp) / "x.rrd")
            export = run("export", rec, Path(tmp) / "out.rrd")
            print(f"{seconds:5g} s: {rec.stat().st_size / 1e6:7.1f} MB mcap, {export['images']:5.0f} images -> "
                  f"{(Path(tmp) / 'out.rrd').stat().st_size / 1e6:7.1f} MB rrd; export {export['wall_s']:6.2f} s, "
                  f"peak RSS {export['peak_rss_mb']:6.0f} MB; read only {read['wall_s']:6.2f} s, peak RSS "
                  f"{read['peak_rss_mb']:6.0f} MB; export / read wall {export['wall_s'] / read['wall_s']:.2f}")


if __name__ == "__main__":
    main()
