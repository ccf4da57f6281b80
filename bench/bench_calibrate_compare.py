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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

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


def compare(rig: str, seconds: float, multical: str | None, tmp: Path) -> list[Result]:
    from rigsync.boards.charuco import sim_board
    from rigsync.calib import geometry as g
    from rigsync.calib.detect import detect_streams, frameset_views
    from rigsync.calib.holdout import held_out_errors
    from rigsync.calib.options import CalibOptions
    from rigsync.calib.run import calibrate_recording
    from rigsync.record import open_recording
    from rigsync.spec import load_rig

    rec = tmp / f"{rig}.mcap"
    rec.unlink(missing_ok=True)  # capture does not overwrite (a --keep directory used before)
    subprocess.run([sys.executable, "-m", "rigsync.cli.main", "capture", str(EXAMPLES / f"{rig}.toml"), "--fast",
                    "--seconds", str(seconds), "--out", str(rec), "--quiet"], check=True, capture_output=True)
    spec = load_rig(EXAMPLES / f"{rig}.toml")
    board = sim_board()

    t0 = time.perf_counter()
    run = calibrate_recording(rec, board, CalibOptions())
    rigsync_s = time.perf_counter() - t0
    keys = sorted(run.intrinsics)
    declared = {k: g.camera_to_world(pose) for k in keys if (pose := spec.device(k.split("/")[0]).pose)}
    held = set(run.calibration.framesets_held_out)
    with open_recording(rec) as r:
        records = list(r.framesets())
    # the held-out framesets' views, from a detection outside every timed run (the same corners for all methods)
    held_views = [fs for fs in frameset_views(records, detect_streams(str(rec), keys, board), keys)
                  if fs.frameset_id in held]

    def result(method: str, poses: dict[str, F64], intrinsics: dict[str, Intrinsics], seconds_: float,
               note: str = "") -> Result:
        mm, deg = pose_errors(poses, {k: declared[k] for k in poses})
        return Result(method, len(poses), mm, deg, _rms(held_out_errors(held_views, poses, intrinsics)), seconds_,
                      note)

    out = [result("rigsync calibrate", run.solution.rig_from_camera, run.intrinsics, rigsync_s)]

    t0 = time.perf_counter()
    views = frameset_views(records, detect_streams(str(rec), keys, board), keys)
    chain = opencv_chain([fs for fs in views if fs.frameset_id not in held], keys, run.intrinsics)
    out.append(result("OpenCV stereoCalibrate chain", chain, run.intrinsics, time.perf_counter() - t0))

    for fixed in ([True, False] if multical else []):
        images = tmp / f"{rig}-multical{'-fixed' if fixed else ''}"
        framesets = _export_images(rec, images, keys, held)
        (images / "board.yaml").write_text(multical_board_yaml(board))
        cams = [k.split("/")[0] for k in keys]
        (images / "factory.json").write_text(json.dumps(multical_cameras(
            {c: run.intrinsics[k] for c, k in zip(cams, keys, strict=True)})))
        t0 = time.perf_counter()
        done = subprocess.run([str(multical), "calibrate", "--image_path", str(images), "--boards",
                               str(images / "board.yaml"), "--cameras", *cams, "--num_threads",
                               str(len(os.sched_getaffinity(0))), "--name", "calibration",
                               *(["--calibration", str(images / "factory.json"), "--fix_intrinsic"]
                                 if fixed else [])],
                              check=False, capture_output=True, text=True, cwd=images)
        multical_s = time.perf_counter() - t0
        if done.returncode != 0:
            print(f"{rig}: multical failed ({done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
        else:
            poses, intrinsics = parse_multical(json.loads((images / "calibration.json").read_text()),
                                               dict(zip(cams, keys, strict=True)))
            out.append(result("multical" + (" (fixed intrinsics)" if fixed else ""), poses, intrinsics, multical_s,
                              f"{framesets} framesets exported; " + ("factory intrinsics fixed" if fixed else
                                                                          "intrinsics its own")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rigs", nargs="*", default=["calib_three", "calib_nine"])
    ap.add_argument("--multical", help="the multical executable (e.g. a Python 3.10 venv's); omitted: not run")
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
            for r in compare(rig, args.seconds, args.multical, work):
                print(f"| {rig} | {r.method} | {r.cameras} | {np.mean(r.mm):.2f} / {max(r.mm):.2f} | "
                      f"{np.mean(r.deg):.3f} / {max(r.deg):.3f} | {r.held_out_px:.3f} | {r.time_s:.2f} |"
                      + (f" {r.note}" if r.note else ""), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
