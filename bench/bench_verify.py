"""``rigsync verify`` time on a studio recording with the LED clock in view, against the time it took to capture.

Captures ``examples/studio.toml`` on the simulator (``--fast``) with ``[sim] ledclock = true``, rendered
``--width`` wide (the decoder needs LEDs a few pixels wide), and manual ``--exposure-us`` exposures on every
colour stream whose camera allows them (the others keep auto exposure); says the capture's own wall time. Then
runs ``rigsync verify REC --json`` twice as a user would (a new process each time): from the stamps only, and
with ``--ledclock``. Each time is given per frame and as a ratio to the recording's duration (capturing takes
that long in real time: the issue's target is a ratio < 1) and to the simulator's fast capture of the same
recording (a baseline measured in the same run, on the same machine and load).

    python bench/bench_verify.py                  # the issue's 60 s studio recording
    python bench/bench_verify.py --seconds 5      # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.core.errors import RigsyncError
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.ledclock_find import IMAGE_ENCODINGS

STUDIO = Path(__file__).parents[1] / "examples" / "studio.toml"


def studio_with_ledclock(width: int, exposure_us: int) -> str:
    """studio.toml with the LED clock on, ``width`` wide, manual exposures on the colour streams that take them."""
    text = re.sub(r"(?m)^render_width\s*=.*$", "", STUDIO.read_text())
    text = text.replace("[sim]\n", f"[sim]\nrender_width = {width}\nledclock = true\n", 1)
    text = re.sub(r"exposure_us = \d+", f"exposure_us = {exposure_us}", text)
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines):
        if 'kind = "color"' in line and "exposure_us" not in line:
            trial = [*lines[:n], line.replace(" }", f", exposure_us = {exposure_us} }}", 1), *lines[n + 1:]]
            try:
                loads_rig("".join(trial), str(STUDIO))
            except RigsyncError:
                continue  # this camera has no manual exposure: it keeps auto
            lines = trial
    return "".join(lines)


def _verify(path: Path, *extra: str) -> tuple[float, dict[str, object]]:
    """Wall time of ``rigsync verify PATH --json EXTRA`` in a new process, and its verdict."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rigsync.cli.main", "verify", str(path), "--json", *extra],
                          capture_output=True, text=True, env=os.environ.copy(), check=False)
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1) or not done.stdout.strip():
        sys.exit(f"rigsync verify failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length (60: the issue's benchmark)")
    parser.add_argument("--width", type=int, default=960, help="render width (px)")
    parser.add_argument("--exposure-us", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="keep the recording here (and reuse it if it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep if args.keep is not None else Path(tmp) / "studio.mcap"
        capture_s = float("nan")
        if not out.exists():
            rig = loads_rig(studio_with_ledclock(args.width, args.exposure_us), str(STUDIO))
            t0 = time.perf_counter()
            with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=args.seconds, fast=True)) as s:
                s.run()
            capture_s = time.perf_counter() - t0
        with open_recording(out) as rec:  # counts from the file's summary section: no pass over the file
            frames = sum(i.message_count for i in rec.streams)
            infos = [i for i in rec.streams if i.encoding in IMAGE_ENCODINGS]
            image_frames = sum(i.message_count for i in infos)
        stamps_s, _ = _verify(out)
        ledclock_s, verdict = _verify(out, "--ledclock")
    duration_s = float(verdict["duration_s"])  # type: ignore[arg-type]
    decode_s = ledclock_s - stamps_s
    facts = verdict.get("facts", {})
    decoded = facts.get("ledclock", {}) if isinstance(facts, dict) else {}
    print(f"studio.toml, {args.width} px, {args.exposure_us} us exposures: {duration_s:.1f} s recorded, "
          f"{frames} frames ({image_frames} colour/IR images in {len(infos)} streams); "
          f"fast capture {capture_s:.1f} s (cpus {os.cpu_count()})")
    for key, value in sorted(decoded.items()):
        if key.endswith("frames decoded"):
            print(f"  {key}: {value}")

    def row(name: str, seconds: float, per: int, unit: str) -> None:
        print(f"{name:<34} {seconds:7.1f} s  {seconds / max(per, 1) * 1e3:7.2f} ms/{unit}  "
              f"/ recorded {seconds / duration_s:5.2f}  / fast capture {seconds / capture_s:5.2f}")

    row("verify (stamps only)", stamps_s, frames, "frame")
    row("verify --ledclock", ledclock_s, frames, "frame")
    row("  image decode (difference)", decode_s, image_frames, "image")
    row("  image decode per image stream", decode_s / max(len(infos), 1), image_frames // max(len(infos), 1),
        "image")


if __name__ == "__main__":
    main()
