"""How precisely ``verify --ledclock`` measures a rig's exposure starts, against the simulator's truth.

Run: ``python bench/ledclock_precision.py EXAMPLE SECONDS [--width 1920] [--exposure-us 1000] [--out F.mcap]``
(``EXAMPLE``: a file of ``examples/``). The example gets ``[sim] render_width`` and ``ledclock = true``, its
colour streams only, each at a manual exposure; it is captured (``fast``) and decoded. Per stream: frames decoded
(and why not), the line time and readout with their sigma against the catalog's, the common sigma of row 0's start,
and row 0's start against the truth after one line common to every camera (p99, and without frames more than 1 ms
off, counted); per frameset: the image-measured skew minus the true skew (p99). Figures in docs/ledclock-decode.md.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np

from rigsync.boards.ledclock import default_board
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.catalog import get_model
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig
from rigsync.verify.ledclock import LedClockResult, decode_recording
from rigsync.verify.ledclock_fit import fit_board_time

EXAMPLES = Path(__file__).parents[1] / "examples"


def colour_rig(example: str, width: int, exposure_us: int) -> str:
    """The example with the LED clock on, rendered ``width`` wide, colour streams only at a manual exposure."""
    text = (EXAMPLES / example).read_text()
    text = text.replace("[sim]\n", f"[sim]\nrender_width = {width}\nledclock = true\n", 1)
    text = re.sub(r'\n  \{ kind = "(depth|ir)"[^\n]*', "", text)
    text = re.sub(r"exposure_us = \d+", f"exposure_us = {exposure_us}", text)
    return re.sub(r'(\{ kind = "color"(?:(?!exposure_us)[^}\n])*?) \}', rf"\1, exposure_us = {exposure_us} }}", text)


Decoded = tuple[LedClockResult, dict[tuple[str, int], int], list[list[tuple[str, int]]], dict[str, int]]
"""What the images said, the truth's exposure starts, the framesets' members, each stream's catalog readout."""


def capture_and_decode(example: str, seconds: float, out: Path, width: int = 1920, exposure_us: int = 1000
                       ) -> Decoded:
    """Capture the example with the LED clock (:func:`colour_rig`) to ``out`` (unless it exists) and decode it."""
    rig = loads_rig(colour_rig(example, width, exposure_us), example)
    if not out.exists():
        with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=seconds, fast=True)) as session:
            session.run()
    readout = {f"{d.id}/color": get_model(d.model).readout_ns for d in rig.devices}
    with open_recording(out) as rec:
        truth = {(f"{t.device}/{t.stream}", t.seq): t.exposure_start_ns for t in rec.truth()}
        result = decode_recording(rec, default_board())
        framesets = [[(f"{m.device}/{m.stream}", m.seq) for m in fs.members] for fs in rec.framesets()]
    return result, truth, framesets, readout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("example")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--exposure-us", type=int, default=1000)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp()) / "ledclock.mcap"
    r, truth, framesets, readout = capture_and_decode(a.example, a.seconds, out, a.width, a.exposure_us)
    keys = list(r.mapped_ns)
    mapped = np.array([r.mapped_ns[k] for k in keys])
    true = np.array([truth[k] - r.origin_ns for k in keys], dtype=np.float64)
    line = fit_board_time(mapped, true)  # one line common to every camera
    err = mapped - (true - line.offset_ns) / line.rate - line.board_ref_ns
    err -= np.median(err)
    print(f"{out}: {a.example}, {a.seconds} s, {a.width} px, {a.exposure_us} us")
    for key, s in sorted(r.streams.items()):
        e = err[[n for n, k in enumerate(keys) if k[0] == key]]
        ok = np.abs(e) < 1e6
        print(f"{key}: {len(s.decoded)} decoded {s.reasons()}; line {s.line_ns / 1000:.4f} +- "
              f"{s.line_sigma_ns / 1000:.4f} us ({s.pooled} streams), readout {s.line_ns * s.height / 1e6:.4f} +- "
              f"{s.line_sigma_ns * s.height / 1e6:.4f} ms (catalog {readout.get(key, 0) / 1e6:.4f}); row 0 common "
              f"sigma {s.row0_sigma_ns / 1000:.1f} us; row 0 - truth p99 {np.percentile(np.abs(e), 99) / 1000:.1f} us"
              f" ({np.count_nonzero(~ok)} frames > 1 ms off; without them p99 "
              f"{np.percentile(np.abs(e[ok]), 99) / 1000 if ok.any() else float('nan'):.1f} us)")
    skew = []
    for members in framesets:
        ks = [k for k in members if k in r.mapped_ns]
        if len(ks) >= 2:
            skew.append(np.ptp([r.mapped_ns[k] for k in ks]) - np.ptp([truth[k] for k in ks]))
    if skew:
        print(f"image skew - true skew: p99 {np.percentile(np.abs(skew), 99) / 1000:.1f} us over {len(skew)} framesets")


if __name__ == "__main__":
    main()
