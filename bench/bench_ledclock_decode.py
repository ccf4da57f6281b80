"""LED clock decode time per frame, against the time the frames took to capture.

Captures an example rig on the simulator (``--fast``) with the LED clock in view (``[sim] ledclock = true``,
``render_width`` and manual exposures as given), then decodes every colour/IR image of the recording
(``rigsync.verify.ledclock.decode_recording``: board search, decode, board-time fit). Reports, measured in the
same run: decode time per frame, decode time over the recording's duration (the issue's target: verifying
takes less time than capturing, i.e. < 1 for a real-time capture), and decode time over the simulator's own
fast capture time (a baseline on the same machine, same load).

    python bench/bench_ledclock_decode.py examples/gige_ptp_four.toml --seconds 2 --width 960 --exposure-us 500
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from rigsync.boards.ledclock import default_board
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.ledclock import decode_recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rig", type=Path)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--exposure-us", type=int, default=500)
    args = parser.parse_args()
    text = re.sub(r"(?m)^render_width\s*=.*$", "", args.rig.read_text())
    text = text.replace("[sim]\n", f"[sim]\nrender_width = {args.width}\nledclock = true\n", 1)
    text = re.sub(r"exposure_us = \d+", f"exposure_us = {args.exposure_us}", text)
    rig = loads_rig(text, str(args.rig))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ledclock.mcap"
        t0 = time.perf_counter()
        with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=args.seconds, fast=True)) as session:
            session.run()
        capture_s = time.perf_counter() - t0
        with open_recording(out) as rec:
            duration_s = rec.summary().duration_s
            t0 = time.perf_counter()
            result = decode_recording(rec, default_board())
            decode_s = time.perf_counter() - t0
    frames = sum(len(s.decoded) + len(s.failed) for s in result.streams.values())
    decoded = sum(len(s.decoded) for s in result.streams.values())
    print(f"{args.rig.name}: {frames} colour/IR frames ({decoded} decoded) over {duration_s:.2f} s recorded")
    print(f"decode {decode_s:.2f} s = {decode_s / max(frames, 1) * 1e3:.1f} ms/frame; "
          f"decode / recorded duration {decode_s / max(duration_s, 1e-9):.2f}; "
          f"decode / simulated fast capture {decode_s / capture_s:.2f} (capture {capture_s:.2f} s)")


if __name__ == "__main__":
    main()
