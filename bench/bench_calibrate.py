"""``rigsync calibrate``'s time on the calibration examples: detection (every colour/IR image, worker processes)
and the solve (frameset selection, initial estimate, bundle adjustment with its covariance, held-out errors), per
frameset and per camera, against reading the same images without detecting anything (the baseline, same run).

    python bench/bench_calibrate.py --seconds 6
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RIGS = ("calib_three", "calib_nine", "calib_chain", "calib_freerun")


@dataclass(frozen=True)
class Timing:
    cameras: int
    framesets: int
    images: int
    read_s: float
    detect_s: float
    """nan when refused (the run raises before it returns its timings)."""
    solve_s: float
    total_s: float
    outcome: str


def _time_one(rec: Path) -> Timing:
    from rigsync.boards.charuco import sim_board
    from rigsync.calib.options import CalibOptions
    from rigsync.calib.run import calibrate_recording
    from rigsync.calib.solve import CalibrationError
    from rigsync.record import open_recording

    with open_recording(rec) as r:
        keys = [f"{s.device}/{s.stream}" for s in r.streams if s.encoding not in ("16UC1", "32FC1")]
        framesets = sum(1 for _ in r.framesets())
        t0 = time.perf_counter()
        images = sum(1 for _ in r.images_of([(k.split("/")[0], k.split("/")[1]) for k in keys]))
        read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    detect_s = solve_s = float("nan")
    try:
        run = calibrate_recording(rec, sim_board(), CalibOptions())
        outcome = f"{len(run.calibration.cameras)} calibrated, {len(run.calibration.disconnected)} left out"
        detect_s, solve_s = run.detect_s, run.solve_s
    except CalibrationError:
        outcome = "refused"
    total_s = time.perf_counter() - t0
    return Timing(len(keys), framesets, images, read_s, detect_s, solve_s, total_s, outcome)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--rigs", nargs="*", default=RIGS)
    args = ap.parse_args()
    print(f"{'rig':14} {'cams':>4} {'sets':>5} {'read ms/img':>11} {'detect ms/img':>13} {'solve ms/set':>12} "
          f"{'total s':>8} {'s/camera':>8}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.rigs:
            rec = Path(tmp) / f"{name}.mcap"
            subprocess.run([sys.executable, "-m", "rigsync.cli.main", "capture", str(EXAMPLES / f"{name}.toml"),
                            "--fast", "--seconds", str(args.seconds), "--out", str(rec), "--quiet"], check=True,
                           capture_output=True)
            t = _time_one(rec)
            print(f"{name:14} {t.cameras:4d} {t.framesets:5d} {1000 * t.read_s / t.images:11.2f} "
                  f"{1000 * t.detect_s / t.images:13.2f} {1000 * t.solve_s / t.framesets:12.2f} {t.total_s:8.2f} "
                  f"{t.total_s / t.cameras:8.2f}  {t.outcome}")


if __name__ == "__main__":
    main()
