"""``rigsync calibrate`` against OpenCV's pairwise ``stereoCalibrate`` chain and ``multical`` on the same recording.

One simulated calibration take per rig (``rigsync capture --fast``, 320x240, the hand-held board); then, on its
images, each method's camera poses are compared with the rig file's after one rigid fit (the same for all,
:func:`rigsync.calib.origin.place`), and each method's cameras are measured on rigsync's held-out framesets (which
no method uses) with rigsync's held-out procedure (:func:`rigsync.calib.holdout.held_out_errors`: per camera and
frameset, the board fitted from the *other* cameras, projected into the camera, compared with its corners).

    python bench/bench_calibrate_compare.py --rigs calib_three calib_nine --multical /tmp/mc10/bin/multical

Times are wall times including the detection (rigsync and the chain: the same ``detect_streams``, one worker per
core; multical: its own detection, ``--num_threads`` = cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rigsync.core.errors import RigsyncError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _calib_others import multical_board_yaml, multical_cameras, opencv_chain, parse_multical, pose_errors

if TYPE_CHECKING:
    from rigsync.calib.geometry import F64
    from rigsync.core.calibration import CameraErrors
    from rigsync.core.intrinsics import Intrinsics

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@dataclass(frozen=True)
class Result:
    method: str
    cameras: int
    mm: list[float]
    deg: list[float]
    held_out_px: float
    time_s: float
    note: str = ""


def _rms(errors: Mapping[str, CameraErrors]) -> float:
    """RMS over every held-out corner of every camera."""
    n = sum(e.points for e in errors.values())
    return float(np.sqrt(sum(e.rms_px ** 2 * e.points for e in errors.values()) / n)) if n else float("nan")


def _export_images(rec_path: Path, out: Path, keys: list[str], skip: set[int]) -> int:
    """Every frameset not in ``skip`` as ``out/<device>/<frameset id>.png`` (multical's layout); framesets."""
    import cv2

    from rigsync.record import open_recording

    with open_recording(rec_path) as rec:
        member = {(f"{m.device}/{m.stream}", m.rig_time_ns): r.frameset_id for r in rec.framesets()
                  for m in r.members}
        ids = set()
        for img in rec.images_of([(k.split("/")[0], k.split("/")[1]) for k in keys]):
            fid = member.get((f"{img.device}/{img.stream}", img.rig_time_ns))
            if fid is None or fid in skip:
                continue
            (out / img.device).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out / img.device / f"{fid:06d}.png"), np.asarray(img.image))
            ids.add(fid)
    return len(ids)


Solved = tuple[dict[str, "F64"], dict[str, "Intrinsics"], str]
"""``(rig_from_camera, intrinsics, note)`` of one method."""


def _multical(exe: str, images: Path, cams: list[str], keys: list[str], fixed: bool) -> Solved:
    """multical on the exported images (``fixed``: the factory intrinsics, not adjusted)."""
    done = subprocess.run([exe, "calibrate", "--image_path", str(images), "--boards", str(images / "board.yaml"),
                           "--cameras", *cams, "--num_threads", str(len(os.sched_getaffinity(0))),
                           "--name", "calibration",
                           *(["--calibration", str(images / "factory.json"), "--fix_intrinsic"] if fixed else [])],
                          check=False, capture_output=True, text=True, cwd=images)
    if done.returncode != 0:
        raise RuntimeError(f"multical failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    poses, intrinsics = parse_multical(json.loads((images / "calibration.json").read_text()),
                                       dict(zip(cams, keys, strict=True)))
    return poses, intrinsics, "factory intrinsics fixed" if fixed else "intrinsics its own"


def compare(rig: str, seconds: float, multical: str | None, tmp: Path, repeat: int,
            max_error_px: float) -> list[Result]:
    """Every method on one take of ``rig``, ``repeat`` times interleaved (time: the median)."""
    from rigsync.boards.charuco import sim_board
    from rigsync.calib import geometry as g
    from rigsync.calib.detect import detect_streams, frameset_views
    from rigsync.calib.holdout import held_out_errors, split
    from rigsync.calib.options import CalibOptions
    from rigsync.calib.run import DEPTH_ENCODINGS, calibrate_recording
    from rigsync.record import open_recording
    from rigsync.spec import load_rig

    rec = tmp / f"{rig}.mcap"
    rec.unlink(missing_ok=True)  # capture does not overwrite (a --keep directory used before)
    subprocess.run([sys.executable, "-m", "rigsync.cli.main", "capture", str(EXAMPLES / f"{rig}.toml"), "--fast",
                    "--seconds", str(seconds), "--out", str(rec), "--quiet"], check=True, capture_output=True)
    spec = load_rig(EXAMPLES / f"{rig}.toml")
    board = sim_board()
    with open_recording(rec) as r:
        records = list(r.framesets())
        keys = sorted(f"{s.device}/{s.stream}" for s in r.streams if s.encoding not in DEPTH_ENCODINGS)
        factory = {k: i for k in keys if (i := r.intrinsics(*k.split("/"))) is not None}
    declared = {k: g.camera_to_world(pose) for k in keys if (pose := spec.device(k.split("/")[0]).pose)}
    # the corners every method is measured on: one detection outside every timed run
    views = frameset_views(records, detect_streams(str(rec), keys, board), keys)

    def rigsync() -> Solved:
        run = calibrate_recording(rec, board, CalibOptions(max_error_px=max_error_px))
        held.update(run.calibration.framesets_held_out)
        return run.solution.rig_from_camera, run.intrinsics, ""

    def chain() -> Solved:
        found = frameset_views(records, detect_streams(str(rec), keys, board), keys)
        return opencv_chain([fs for fs in found if fs.frameset_id not in held], keys, factory), factory, ""

    held: set[int] = set()
    methods: dict[str, Callable[[], Solved]] = {"rigsync calibrate": rigsync, "OpenCV stereoCalibrate chain": chain}
    solved: dict[str, Solved | str] = {}
    times: dict[str, list[float]] = {}
    try:
        solved["rigsync calibrate"] = rigsync()
    except RigsyncError as err:  # refused: the others still run, on the framesets rigsync would hold out
        solved["rigsync calibrate"] = f"refused: {err}"
        held.update(fs.frameset_id for fs in split(views)[1])
    if multical:
        cams = [k.split("/")[0] for k in keys]
        images = tmp / f"{rig}-multical"
        framesets = _export_images(rec, images, keys, held)
        (images / "board.yaml").write_text(multical_board_yaml(board))
        (images / "factory.json").write_text(json.dumps(multical_cameras(
            {c: factory[k] for c, k in zip(cams, keys, strict=True)})))
        for fixed in (True, False):
            name = "multical" + (" (factory intrinsics)" if fixed else " (own intrinsics)")
            methods[name] = partial(_multical, multical, images, cams, keys, fixed)
    for _ in range(repeat):
        for name, solve in methods.items():
            t0 = time.perf_counter()
            try:
                got: Solved | str = solve()
            except (RigsyncError, RuntimeError) as err:
                got = f"refused: {err}" if isinstance(err, RigsyncError) else str(err)
            times.setdefault(name, []).append(time.perf_counter() - t0)
            solved.setdefault(name, got)
    held_views = [fs for fs in views if fs.frameset_id in held]
    out = []
    for name, got in solved.items():
        if isinstance(got, str):
            out.append(Result(name, 0, [], [], float("nan"), float(np.median(times[name])), got))
            continue
        poses, intrinsics, note = got
        mm, deg = pose_errors(poses, {k: declared[k] for k in poses})
        out.append(Result(name, len(poses), mm, deg, _rms(held_out_errors(held_views, poses, intrinsics)),
                          float(np.median(times[name])), note))
    if multical:
        out[-1] = replace(out[-1], note=f"{out[-1].note}; {framesets} framesets exported")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rigs", nargs="*", default=["calib_three", "calib_nine"])
    ap.add_argument("--multical", help="the multical executable (e.g. a Python 3.10 venv's); omitted: not run")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each method, interleaved (time: median)")
    ap.add_argument("--max-error", type=float, default=0.1, help="rigsync calibrate's --max-error (px)")
    ap.add_argument("--keep", type=Path, help="keep the recordings and multical's folders in this directory")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| rig | method | cameras | position error mean / max (mm) | orientation error mean / max (deg) | "
          "held-out RMS (px) | time (s) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for rig in args.rigs:
            for r in compare(rig, args.seconds, args.multical, work, args.repeat, args.max_error):
                if not r.cameras:
                    print(f"| {rig} | {r.method} | 0 | - | - | - | {r.time_s:.2f} | {r.note}", flush=True)
                    continue
                print(f"| {rig} | {r.method} | {r.cameras} | {np.mean(r.mm):.2f} / {max(r.mm):.2f} | "
                      f"{np.mean(r.deg):.3f} / {max(r.deg):.3f} | {r.held_out_px:.3f} | {r.time_s:.2f} |"
                      + (f" {r.note}" if r.note else ""), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
