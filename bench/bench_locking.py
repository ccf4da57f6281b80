"""Framesets while the rig's clocks lock: how many split when error bounds exceed half a frame period.

N free-running UVC webcams at 30 fps on one host (16-pixel renders), captured with ``--fast`` for 1.2 s. Until a
device's clock estimate has fitted its drift (its first second), its error bounds are inflated by 150 ms, as on
a heavy-tailed link while the clock locks (issue 7 measured ~160 ms). Two runs in the same process:

* "shrunk": every member's matching window shrunk by its error bound (what the aligner did before);
* "unshrunk while locking": stamps flagged as still being acquired match on their unshrunk window (now).

Printed per run: framesets, complete ones, missing entries by reason. The capture starts after the 0.3 s
warm-up, so the recording begins while the bounds are inflated.

Run: python bench/bench_locking.py [--cameras 64] [--seconds 1.2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from mcap.reader import make_reader

from rigsync.align import Aligner
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.spec import loads_rig
from rigsync.timebase.estimator import ClockEstimate

INFLATED_NS = 150_000_000


def rig_text(cameras: int) -> str:
    lines = ['[sim]\nseed = 11\nrender_width = 16\n\n[[hosts]]\nname = "h"\n']
    for i in range(cameras):
        a = 2 * np.pi * i / cameras
        lines.append(f'\n[[devices]]\nid = "cam{i:03d}"\nmodel = "uvc-webcam"\nserial = "W{i:04d}"\nhost = "h"\n'
                     f'connection = "usb:ctrl{i // 2}"\npose = {{ position = [{2.6 * np.cos(a):.3f}, '
                     f'{2.6 * np.sin(a):.3f}, 1.4], look_at = [0.0, 0.0, 1.0] }}\n'
                     'streams = [{ kind = "color", width = 640, height = 480, fps = 30 }]\n')
    return "".join(lines)


def capture(cameras: int, seconds: float, out: Path, *, shrink: bool) -> dict[str, Any]:
    at, push = ClockEstimate.at, Aligner.push  # at: (mapped value, bound below, bound above), what stamps read

    def inflated(self: ClockEstimate, device_ns: int) -> tuple[int, float, float]:
        mapped, below, above = at(self, device_ns)
        extra = 0 if self.fitted else INFLATED_NS
        return mapped, below + extra, above + extra

    def shrinking(self: Aligner[Any], key: str, payload: Any, **kw: Any) -> Any:
        return push(self, key, payload, **{**kw, "locked": True})

    ClockEstimate.at = inflated  # type: ignore[method-assign]
    if shrink:
        Aligner.push = shrinking  # type: ignore[method-assign]
    try:
        rig = loads_rig(rig_text(cameras), f"locking-{cameras}.toml")
        with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=seconds, fast=True)) as session:
            session.run()
    finally:
        ClockEstimate.at = at  # type: ignore[method-assign]
        Aligner.push = push  # type: ignore[method-assign]
    sets, reasons = 0, Counter[str]()
    complete = 0
    with out.open("rb") as f:
        for _, _, message in make_reader(f).iter_messages(topics=["/rigsync/framesets"]):
            fs = json.loads(message.data)
            sets += 1
            complete += not fs["missing"]
            reasons.update(m["reason"] for m in fs["missing"])
    return {"framesets": sets, "complete": complete, "missing": dict(reasons)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cameras", type=int, default=64)
    p.add_argument("--seconds", type=float, default=1.2)
    args = p.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="rigsync-locking-"))
    print(f"{args.cameras} webcams at 30 fps, {args.seconds} s, bounds +{INFLATED_NS / 1e6:.0f} ms until fitted")
    for shrink, label in ((True, "shrunk"), (False, "unshrunk while locking")):
        r = capture(args.cameras, args.seconds, directory / f"{label}.mcap", shrink=shrink)
        print(f"  {label:24s} framesets {r['framesets']:5d}, complete {r['complete']:5d}, missing {r['missing']}")


if __name__ == "__main__":
    main()
