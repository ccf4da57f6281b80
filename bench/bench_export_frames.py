"""The 3D exports' speed: wall time per frameset of ``--frames``, ``--nerfstudio``, ``--colmap``, ``--ply`` and
``--calibrated`` on one recording, against reading the same framesets with their images (rigsync's reader, the
baseline every export starts with), all in this process, one after another.

    python bench/bench_export_frames.py examples/kinect_star.toml --seconds 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.export.calibrated import write_calibrated
from rigsync.export.cameras import depth_streams, export_cameras, picture_streams
from rigsync.export.colmap import export_colmap
from rigsync.export.frames import export_frames
from rigsync.export.nerfstudio import export_nerfstudio
from rigsync.export.ply import export_ply
from rigsync.export.selection import Selection, selected
from rigsync.plan import build_plan
from rigsync.record import Recording, open_recording
from rigsync.spec import load_rig


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rig", type=Path)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    plan = build_plan(load_rig(args.rig))
    with tempfile.TemporaryDirectory() as tmp:
        rec_path = Path(tmp) / "take.mcap"
        with CaptureSession(plan, CaptureOptions(out=rec_path, seconds=args.seconds, fast=True)) as session:
            session.run()
        with open_recording(rec_path) as rec:
            n = sum(1 for _ in selected(rec, Selection()))
            all_streams = [(s.device, s.stream) for s in rec.streams]
            pictures, depth = export_cameras(rec, None, picture_streams(rec)), depth_streams(rec)
            ply_cams = export_cameras(rec, None, all_streams)

            def folder(name: str) -> Path:
                (Path(tmp) / name).mkdir()
                return Path(tmp) / name

            runs: dict[str, Callable[[Recording], object]] = {
                "read framesets + images (baseline)": lambda r: sum(len(i) for _, i in selected(r, Selection())),
                "--frames": lambda r: export_frames(r, folder("frames"), Selection()),
                "--nerfstudio": lambda r: export_nerfstudio(r, folder("ns"), pictures, Selection()),
                "--colmap": lambda r: export_colmap(r, folder("colmap"), pictures, Selection()),
                "--ply": lambda r: export_ply(r, folder("ply"), ply_cams, Selection(), depth),
                "--calibrated": lambda r: write_calibrated(r, Path(tmp) / "cal.mcap", ply_cams),
            }
            print(f"{args.rig.name}, {args.seconds:g} s: {n} framesets, {len(all_streams)} streams "
                  f"({len(depth)} depth), {rec_path.stat().st_size / 1e6:.1f} MB")
            base = 0.0
            for name, fn in runs.items():
                wall = timed(lambda fn=fn: fn(rec))  # type: ignore[misc]
                base = base or wall
                print(f"  {name:36s} {wall:7.3f} s  {1000 * wall / n:7.2f} ms/frameset  {wall / base:5.2f} x read")


if __name__ == "__main__":
    main()
