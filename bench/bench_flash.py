"""The flash method's cost: time to verify a recording against the recording's own duration, and CPU per colour
or IR frame searched.

A rig file gets a flash every ``--every`` seconds (``[sim] flashes``), is captured ``--fast`` for
``--seconds``, and ``rigsync.verify.flash.verify_flash`` is timed on the file (best of ``--runs``). The
target: verifying takes less time than capturing (ratio < 1).

    python bench/bench_flash.py examples/studio.toml --seconds 10
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import load_rig
from rigsync.verify.flash import verify_flash
from rigsync.verify.limits import VerifyLimits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rig", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between flashes")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    text = args.rig.read_text()
    flashes = ", ".join(f"{{ at_s = {t:.3f} }}" for t in _times(args.every, args.seconds))
    text, n = re.subn(r"^\[sim\]\n", f"[sim]\nflashes = [{flashes}]\n", text, count=1, flags=re.M)
    if n == 0:
        text = f"[sim]\nflashes = [{flashes}]\n" + text
    with tempfile.TemporaryDirectory() as tmp:
        rig_path = Path(tmp) / args.rig.name
        rig_path.write_text(text)
        out = Path(tmp) / "flash.mcap"
        with CaptureSession(build_plan(load_rig(rig_path)), CaptureOptions(out=out, seconds=args.seconds,
                                                                           fast=True, force=True)) as session:
            session.run()
        with open_recording(out) as rec:
            frames = sum(s.message_count for s in rec.streams if s.encoding not in ("16UC1", "32FC1"))
            best_wall = best_cpu = float("inf")
            for _ in range(args.runs):
                wall, cpu = time.perf_counter(), time.process_time()
                section = verify_flash(rec, VerifyLimits.of_recording(rec))
                best_wall = min(best_wall, time.perf_counter() - wall)
                best_cpu = min(best_cpu, time.process_time() - cpu)
    placed = sum(c.value or 0 for c in section.checks if c.id == "FLASH-SEEN")
    print(f"{args.rig.name}: {args.seconds:g} s recorded, {frames} colour/IR frames, "
          f"{len(_times(args.every, args.seconds))} flashes ({placed:g} placements)")
    print(f"verify: {best_wall:.2f} s wall, {best_cpu:.2f} s CPU (best of {args.runs}); "
          f"{best_cpu / frames * 1e3:.2f} ms CPU per frame; verify / recording = {best_wall / args.seconds:.2f}")


def _times(every: float, seconds: float) -> list[float]:
    """Flash times (true seconds): from 1 s, every ``every``, inside the capture (which starts ~0.5 s in)."""
    n = int((seconds - 0.5) // every) + 1
    return [1.0 + i * every for i in range(n) if 1.0 + i * every < seconds]


if __name__ == "__main__":
    main()
