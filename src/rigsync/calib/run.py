"""``rigsync calibrate``'s work: read a recording, detect the board, solve, place the origin, build the file."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rigsync.boards.charuco import CharucoBoardSpec
from rigsync.calib import geometry as g
from rigsync.calib.detect import detect_streams, frameset_views
from rigsync.calib.intrinsics import SolvedIntrinsics, solve_intrinsics
from rigsync.calib.options import AUTO, RIG_FILE, CalibOptions
from rigsync.calib.origin import Placed, place
from rigsync.calib.solve import CalibrationError, Solution, solve
from rigsync.calib.views import with_exposures
from rigsync.core.blas import one_blas_thread
from rigsync.core.calibration import CalibratedCamera, RigCalibration
from rigsync.core.errors import OptionError, RigsyncError
from rigsync.core.intrinsics import Intrinsics
from rigsync.record import open_recording
from rigsync.record.reader import Recording

DEPTH_ENCODINGS = ("16UC1", "32FC1")


@dataclass(frozen=True, slots=True)
class CalibrationRun:
    """A calibration and what the report shows of it."""

    calibration: RigCalibration
    solution: Solution
    placed: Placed
    intrinsics: dict[str, Intrinsics]
    images: dict[str, int]
    """Images per camera in which the board was detected."""
    framesets: int
    """Framesets in the recording."""
    detect_s: float = 0.0
    """Wall time of the detection (for the benchmark; the framesets are read meanwhile)."""
    solve_s: float = 0.0
    """Wall time of the solve: selection, estimate, adjustment, covariance, held-out errors, origin."""
    solved: dict[str, SolvedIntrinsics] = field(default_factory=dict)
    """``--intrinsics solve``: each camera's solve (what it held, its uncertainty)."""
    note: str = ""
    """What could not be used (a rig file that does not load: no rolling-shutter line times, no declared poses)."""


def _rig_facts(rec: Recording, keys: list[str]) -> tuple[dict[str, float], dict[str, np.ndarray], str]:
    """Line times (rolling shutter) and declared ``world_from_camera`` of ``keys`` from the embedded rig file."""
    from rigsync.catalog import get_model
    from rigsync.catalog.rows import line_ns
    from rigsync.spec import loads_rig

    if not rec.rig_toml:
        return {}, {}, "the recording embeds no rig file: rolling shutters not known, no declared poses"
    try:
        rig = loads_rig(rec.rig_toml, rec.metadata.get("rigsync", {}).get("rig_path") or rec.path)
    except (RigsyncError, KeyError) as err:
        return {}, {}, f"the rig file the recording embeds does not load ({err}): rolling shutters not known"
    heights = {f"{s.device}/{s.stream}": s.height for s in rec.streams}
    lines, declared = {}, {}
    for key in keys:
        device, stream = key.split("/")
        try:
            spec = rig.device(device)
            lines[key] = line_ns(get_model(spec.model), spec.stream(stream).kind, heights[key])
        except (KeyError, RigsyncError):
            continue
        if spec.pose is not None:
            declared[key] = g.camera_to_world(spec.pose)
    return lines, declared, ""


def _keys(rec: Recording, options: CalibOptions) -> list[str]:
    images = [f"{s.device}/{s.stream}" for s in rec.streams if s.encoding not in DEPTH_ENCODINGS]
    if not options.streams:
        if not images:
            raise CalibrationError(f"{rec.path}: the recording has no colour or infrared image stream")
        return images
    for key in options.streams:
        if key not in images:
            raise OptionError("--stream", key, f"not a colour or infrared stream of {rec.path}", images)
    return list(options.streams)


def calibrate_recording(path: str | os.PathLike[str], board: CharucoBoardSpec, options: CalibOptions) -> CalibrationRun:
    """Calibrate the rig recorded at ``path`` with the board ``board``."""
    path = os.fspath(path)
    with open_recording(path) as rec:
        keys = _keys(rec, options)
        if options.origin not in (AUTO, RIG_FILE, *keys):
            raise OptionError("--origin", options.origin, "not a camera of the recording", [RIG_FILE, AUTO, *keys])
        factory = rec.intrinsics_of(keys)
        sizes = {f"{s.device}/{s.stream}": (s.width, s.height) for s in rec.streams}
        lines, declared, note = _rig_facts(rec, keys)
        started = time.perf_counter()
        # the detection's worker processes run while this one reads the framesets and the frames' exposures
        # (passes over the whole file; the workers seldom share the images evenly: one idles at the end)
        with ThreadPoolExecutor(1) as pool:
            detecting = pool.submit(detect_streams, path, keys, board, options.workers)
            records = list(rec.framesets())
            exposures = {(f"{f.device}/{f.stream}", f.rig_time_ns): int(f.exposure_ns or 0) for f in rec.frames()}
            found = detecting.result()
    detected = time.perf_counter()
    images: dict[str, int] = defaultdict(int)
    for key, _ in found:
        images[key] += 1
    if not found:
        raise CalibrationError(f"{path}: the board ({board.name}) was found in no image of {', '.join(keys)}: "
                               "record it in view of the cameras, or name the board that was shown with --board")
    intrinsics: dict[str, Intrinsics] = {}
    weak: dict[str, str] = {}
    solved: dict[str, SolvedIntrinsics] = {}
    for key in keys:
        start = factory[key]
        if options.intrinsics == "solve":
            own = [(b, p) for (k, _), (_, b, p) in sorted(found.items(), key=lambda kv: kv[0][1]) if k == key]
            if own:
                solved[key] = solve_intrinsics(key, own, *sizes[key])
                intrinsics[key] = solved[key].intrinsics
                if (why := solved[key].problem(key)) is not None:
                    weak[key] = why
        elif start is not None:
            intrinsics[key] = start
        elif any(k == key for k, _ in found):
            raise CalibrationError(f"{path}: {key} has no camera_info (no factory intrinsics): solve them with "
                                   "--intrinsics solve")
    usable = [k for k in keys if k in intrinsics and k not in weak]
    views = with_exposures(frameset_views(records, found, usable), exposures)
    positions = {k: m[:3, 3] for k, m in declared.items()}
    try:
        with one_blas_thread():  # the sparse solve's many vector products: faster on one thread
            solution = solve(views, usable, intrinsics, lines, options.max_error_px, positions)
    except CalibrationError as err:
        raise CalibrationError("; ".join([*weak.values(), str(err)])) from None
    unseen = {k: f"{k} saw the board in no image: show it the board" for k in keys if k not in intrinsics}
    solution = replace(solution, disconnected=weak | solution.disconnected | unseen)
    placed = place(options.origin, solution.root, solution.rig_from_camera, solution.rig_from_board, declared)
    finished = time.perf_counter()
    cameras = tuple(
        CalibratedCamera(
            key=key, intrinsics=intrinsics[key], rotation=g.as_tuple(m[:3, :3]), translation_m=(
                float(m[0, 3]), float(m[1, 3]), float(m[2, 3])),
            intrinsics_source="solved" if options.intrinsics == "solve" else "factory",
            views=solution.views.get(key, 0), held_out=solution.errors.get(key),
        )
        for key in keys if (m := placed.rig_from_camera.get(key)) is not None
    )
    calibration = RigCalibration(
        cameras=cameras, origin=placed.origin, board=board.name, recording=Path(path).name,
        framesets_used=solution.used, framesets_held_out=solution.held_out, pair_views=solution.pair_views,
        disconnected=dict(solution.disconnected),
    )
    return CalibrationRun(calibration, solution, placed, intrinsics, dict(images), len(records), detected - started,
                          finished - detected, solved, note)
