"""``rigsync calibrate REC.mcap``: every camera's pose in one rig frame from a board shown to the rig.

Exit codes: 0 every colour/infrared camera calibrated; 1 calibrated, but some cameras are not (named, with what
would connect them), or a camera's held-out reprojection error exceeds 0.5 px (named: its pose is suspect); 2 bad
input (not a recording, an unknown board file or stream, a bad option) or refused (no board seen, no two cameras
tied by usable board views, poses not determined within the limits: the reason is printed).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

from rigsync.calib.options import AUTO, DEFAULT_MAX_ERROR_PX, INTRINSICS, CalibOptions
from rigsync.cli.aligned import table
from rigsync.cli.plain import row

SIM_BOARD = "sim"
MAX_HELD_OUT_PX = 0.5
"""A camera whose held-out RMS exceeds this is reported as suspect (exit 1)."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="calibrate the rig as a set from a recording of a ChArUco board: every "
                                         "camera's pose in one rig frame (exit 1 when a camera is left out)")
    p.add_argument("recording", type=Path, help="a rigsync recording (.mcap) in which the board was shown")
    p.add_argument("--board", default=SIM_BOARD, metavar="BOARD",
                   help="the board: 'sim' (the simulator's, default) or a board file (TOML)")
    p.add_argument("-o", "--output", type=Path, default=Path("rig-calibration.json"),
                   help="calibration file to write (default: rig-calibration.json)")
    p.add_argument("--intrinsics", choices=INTRINSICS, default="factory",
                   help="factory: each stream's camera_info; solve: from the board views, with distortion")
    p.add_argument("--origin", default=AUTO, metavar="ORIGIN",
                   help="the rig frame: rig-file (fitted to the rig file's poses), a camera <device>/<stream>, or "
                        "auto (rig-file when every camera has a declared pose, else the best-seen camera)")
    p.add_argument("--max-error", type=float, default=DEFAULT_MAX_ERROR_PX, metavar="PX",
                   help="use only framesets whose expected corner error from timing (spread, stamp bounds, board "
                        f"motion, rolling shutter) is at most this many pixels (default {DEFAULT_MAX_ERROR_PX})")
    p.add_argument("--stream", action="append", default=[], metavar="DEVICE/STREAM",
                   help="calibrate only these streams (repeat; default: every colour and infrared stream)")
    p.add_argument("--opencv", type=Path, metavar="DIR", help="also write an OpenCV YAML file per camera into DIR")
    p.add_argument("--report", type=Path, metavar="DIR", help="write the picture of the rig (rig.png) into DIR")
    p.add_argument("--workers", type=int, help="detection processes (default: one per core)")


def _board(text: str) -> Any:
    from rigsync.boards.charuco import load_board, sim_board

    return sim_board() if text == SIM_BOARD else load_board(text)


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.calib.opencv_yaml import write_opencv
    from rigsync.calib.run import calibrate_recording

    options = CalibOptions(intrinsics=args.intrinsics, origin=args.origin, max_error_px=args.max_error,
                           streams=tuple(args.stream), workers=args.workers)
    board = _board(args.board)
    result = calibrate_recording(args.recording, board, options)
    result.calibration.save(args.output)
    print_report(result, console)
    console.print(Text(f"wrote {args.output}"))
    if args.opencv is not None:
        for path in write_opencv(result.calibration, args.opencv):
            console.print(Text(f"wrote {path}"))
    if args.report is not None:
        from rigsync.calib.board import faces
        from rigsync.calib.picture import figure, save_picture

        centre = faces(board)[0].corners_m.mean(axis=0)
        boards = np.array([m[:3, :3] @ centre + m[:3, 3] for m in result.placed.rig_from_board.values()])
        fig = figure(result.placed.rig_from_camera, result.intrinsics, boards,
                     f"{result.calibration.recording}: origin {result.placed.origin}")
        save_picture(fig, args.report / "rig.png")
        console.print(Text(f"wrote {args.report / 'rig.png'}"))
    suspect = [(c.key, c.held_out.rms_px) for c in result.calibration.cameras
               if c.held_out is not None and c.held_out.rms_px > MAX_HELD_OUT_PX]
    for key, rms in suspect:
        console.print(Text.assemble(("suspect: ", "yellow"), f"{key}: held-out reprojection error {rms:.2f} px RMS "
                                    f"(over {MAX_HELD_OUT_PX} px): its pose may be off by more than its expected "
                                    "error; show it the board more, in full view"))
    return 1 if result.calibration.disconnected or suspect else 0


def print_report(result: Any, console: Console) -> None:
    """Per camera: views, held-out RMS and p95; pairs; what was rejected; what is not connected and why."""
    cal, sol = result.calibration, result.solution
    out = table(f"calibrate {cal.recording}: {len(cal.cameras)} cameras, origin {cal.origin}",
                ("camera", "board images", "views used", "held-out RMS px", "held-out p95 px", "points"), False)
    for cam in cal.cameras:
        e = cam.held_out
        row(out, cam.key, str(result.images.get(cam.key, 0)), str(cam.views),
            "-" if e is None else f"{e.rms_px:.3f}{' (joint)' if e.method == 'joint' else ''}",
            "-" if e is None else f"{e.p95_px:.3f}",
            "0" if e is None else str(e.points))
    console.print(out)
    pairs = ", ".join(f"{k.replace(' ', ' + ')}: {n}" for k, n in cal.pair_views.items())
    console.print(Text(f"board views per pair: {pairs}"))
    sel = sol.selection
    dropped = sum(len(fs.views) for fs, _ in sel.rejected)
    console.print(Text(
        f"framesets with the board: {len(sel.expected_px)} of {result.framesets}; board views rejected for timing "
        f"(expected corner error over {sel.limit_px:g} px): {dropped} in {len(sel.rejected)} framesets; used "
        f"{len(cal.framesets_used)}, "
        f"held out {len(cal.framesets_held_out)} (every 7th); bundle adjustment RMS {sol.adjusted_rms_px:.3f} px "
        f"over {sol.corners} corners"))
    if joint := [c.key for c in cal.cameras if c.held_out is not None and c.held_out.method == "joint"]:
        console.print(Text(f"(joint): {', '.join(joint)} never had enough of the board from the others in a "
                           "held-out frameset to be measured left out of the board's fit; measured with the board "
                           "fitted from every camera, itself included (a weaker test)"))
    if unmeasured := [c.key for c in cal.cameras if c.held_out is None]:
        console.print(Text(f"held-out error not measured for {', '.join(unmeasured)}: seen with another camera in "
                           "no held-out frameset (record longer)"))
    if result.placed.position_residual_m is not None:
        mm = result.placed.position_residual_m * 1000
        console.print(Text(f"rig frame fitted to the rig file's poses: residual {mm:.1f} mm RMS, "
                           f"{result.placed.angle_residual_deg:.2f} deg at most"))
    for key, si in result.solved.items():
        k = si.intrinsics
        console.print(Text(
            f"intrinsics solved for {key}: fx {k.fx:.2f} fy {k.fy:.2f} cx {k.cx:.2f} cy {k.cy:.2f} distortion "
            f"{', '.join(f'{d:.4f}' for d in k.distortion)}, RMS {si.rms_px:.3f} px over {si.views} images "
            f"({si.rejected} left out as outliers, {si.steep} as too steep); held: {', '.join(si.fixed)}; "
            f"their uncertainty moves the pose by "
            f"{si.position_m * 1000:.1f} mm, {si.angle_deg:.3f} deg (1 sigma)"))
    if result.note:
        console.print(Text(f"note: {result.note}"))
    for why in sol.disconnected.values():
        console.print(Text.assemble(("not calibrated: ", "yellow"), why))
