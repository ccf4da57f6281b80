"""``rigsync export REC.mcap --frames/--nerfstudio/--colmap/--ply DIR`` and ``--calibrated OUT.mcap``: framesets
for 3D pipelines and the calibrated recording (:mod:`rigsync.export`), with the frameset selection options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from rigsync.cli.outputs import refuse_output
from rigsync.core.calibration import CalibrationFileError
from rigsync.core.errors import OptionError
from rigsync.export.selection import Selection, parse_time_range

if TYPE_CHECKING:
    from rigsync.export.cameras import ExportCameras
    from rigsync.export.frames import FolderExport
    from rigsync.record import Recording

FOLDER_FORMATS = ("frames", "nerfstudio", "colmap", "ply")


def add_arguments(p: Any) -> None:
    p.add_argument("--frames", type=Path, metavar="DIR",
                   help="one folder per frameset: images named by camera (depth: 16-bit PNG, mm), stamps.json")
    p.add_argument("--nerfstudio", type=Path, metavar="DIR",
                   help="a nerfstudio dataset: images and transforms.json (per-frame intrinsics and poses)")
    p.add_argument("--colmap", type=Path, metavar="DIR",
                   help="a COLMAP project per frameset (cameras.txt, images.txt, points3D.txt) with known poses")
    p.add_argument("--ply", type=Path, metavar="DIR",
                   help="per frameset, the depth images fused in the rig frame as one PLY point cloud")
    p.add_argument("--calibrated", type=Path, metavar="OUT.mcap",
                   help="the recording with a foxglove.FrameTransform per camera (/tf) and calibrated camera_info")
    p.add_argument("--calibration", type=Path, metavar="CAL.json",
                   help="the poses and intrinsics (rigsync calibrate's rig-calibration.json); default: the rig "
                        "file's declared poses and the recorded camera_info")
    p.add_argument("--every", type=int, default=1, metavar="N", help="export every N-th selected frameset")
    p.add_argument("--time", metavar="A..B", help="framesets from A to B seconds after the first (either end open)")
    p.add_argument("--complete-only", action="store_true", help="only framesets with every member's image")


def wanted(args: argparse.Namespace) -> bool:
    return any(getattr(args, name) is not None for name in (*FOLDER_FORMATS, "calibrated"))


def _selection(args: argparse.Namespace) -> Selection:
    start_s, end_s = (None, None) if args.time is None else parse_time_range(args.time)
    return Selection(every=args.every, start_s=start_s, end_s=end_s, complete_only=args.complete_only)


def _cameras(recording: Recording, args: argparse.Namespace, streams: list[tuple[str, str]],
             optional: list[tuple[str, str]] | None = None) -> ExportCameras:
    from rigsync.export.cameras import export_cameras

    try:
        return export_cameras(recording, args.calibration, streams, optional or [])
    except CalibrationFileError as err:
        raise OptionError("--calibration", str(args.calibration), str(err),
                          "a rig-calibration.json written by rigsync calibrate") from None


def _ply_cameras(recording: Recording, args: argparse.Namespace) -> tuple[ExportCameras, list[tuple[str, str]]]:
    """The depth streams (which must be placed) and the colour streams of their devices that can be."""
    from rigsync.export.cameras import depth_streams

    depth = depth_streams(recording)
    if not depth:
        raise OptionError("--ply", str(args.ply), f"the recording {recording.path} has no depth stream",
                          "a recording with depth (16UC1 or 32FC1)")
    recorded = {(s.device, s.stream) for s in recording.streams}
    colour = sorted({(d, "color") for d, _ in depth} & recorded)  # a depth camera without one: its palette colour
    return _cameras(recording, args, depth, colour), depth


def check_output_folder(option: str, out: Path, *, overwrite: bool) -> None:
    """Refuse ``out`` (given as ``option``) if it is a file, and an existing non-empty folder unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise OptionError(option, str(out), "is a file", "a folder name (it is created)")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OptionError(option, str(out), "exists and is not empty", "a new folder, or --overwrite to write into it")
    if not out.parent.is_dir():
        raise OptionError(option, str(out), f"its parent folder {out.parent} does not exist", "a folder to create")


def check(args: argparse.Namespace) -> Selection | None:
    """Check every option and output of these formats before anything is written; the selection if any is asked."""
    selection = _selection(args)
    outs = {name: getattr(args, name) for name in FOLDER_FORMATS if getattr(args, name) is not None}
    if not outs and (args.time is not None or args.every != 1 or args.complete_only):
        raise OptionError("--every/--time/--complete-only", None, "select framesets for a folder export only",
                          "with --frames, --nerfstudio, --colmap or --ply")
    if args.calibrated is not None:
        if args.calibrated.suffix != ".mcap":
            raise OptionError("--calibrated", str(args.calibrated), "is not a .mcap file name", "e.g. take.cal.mcap")
        if not args.calibrated.parent.is_dir():
            raise OptionError("--calibrated", str(args.calibrated), f"its folder {args.calibrated.parent} does not "
                              "exist", "a file in an existing folder")
        refuse_output("--calibrated", args.calibrated, keep=args.recording,
                      is_keep=f"is the recording {args.recording}: an export never replaces it",
                      example="take.cal.mcap", overwrite=args.overwrite)
    if args.calibration is not None and not args.calibration.is_file():
        raise OptionError("--calibration", str(args.calibration), "no such file",
                          "a rig-calibration.json written by rigsync calibrate")
    taken: dict[Path, str] = {}
    for name, out in outs.items():
        check_output_folder(f"--{name}", out, overwrite=args.overwrite)
        other = taken.setdefault(out.resolve(), name)
        if other != name:
            raise OptionError(f"--{name}", str(out), f"is also the --{other} folder (each writes its own index.json "
                              "and frameset folders)", "a folder of its own for each format")
    if args.calibrated is not None and args.calibrated.resolve() in taken:
        raise OptionError("--calibrated", str(args.calibrated), f"is also the --{taken[args.calibrated.resolve()]} "
                          "folder", "a file name of its own, e.g. take.cal.mcap")
    return selection if outs or args.calibrated is not None else None


def run(args: argparse.Namespace, selection: Selection, console: Console) -> None:
    """Write each format asked for (after :func:`check`). Every camera each format needs is placed and checked,
    and the selection checked to keep a frameset, before any folder or file is made."""
    from rigsync.export.selection import check_selects_some
    from rigsync.record import open_recording

    outs = {name: getattr(args, name) for name in FOLDER_FORMATS if getattr(args, name) is not None}
    with open_recording(args.recording) as recording:
        if args.calibrated is not None:
            from rigsync.export.calibrated import check_source

            check_source(recording)
        placed = {name: _placed(recording, name, args) for name in outs}
        if outs:
            check_selects_some(recording, selection)
        calibrated = (None if args.calibrated is None else
                      _cameras(recording, args, [], [(s.device, s.stream) for s in recording.streams]))
        if calibrated is not None and not calibrated.cameras:
            raise OptionError("--calibration", str(args.calibration), "places none of the recorded cameras "
                              f"({', '.join(calibrated.unplaced)})", "a calibration of this rig")
        for name, out in outs.items():
            out.mkdir(exist_ok=True)
            _export_folder(recording, name, out, selection, placed[name], console)
        if calibrated is not None:
            from rigsync.export.calibrated import write_calibrated

            done = write_calibrated(recording, args.calibrated, calibrated)
            console.print(f"{done.path}: the recording with {done.transforms} camera transforms on /tf and "
                          f"{done.camera_infos_updated} camera_info messages recalibrated", highlight=False)
            _say_cameras(calibrated, console)


Placed = tuple["ExportCameras | None", list[tuple[str, str]]]


def _placed(recording: Recording, name: str, args: argparse.Namespace) -> Placed:
    """The cameras format ``name`` writes, placed, their intrinsics checked to be expressible in it (and, for
    ``ply``, the depth streams)."""
    if name == "frames":
        return None, []
    if name == "ply":
        return _ply_cameras(recording, args)
    from rigsync.export.cameras import picture_streams
    from rigsync.export.colmap import camera_line
    from rigsync.export.nerfstudio import frame_intrinsics

    cameras = _cameras(recording, args, picture_streams(recording))
    for cam in cameras.cameras.values():  # raises for distortion the format cannot hold
        if name == "nerfstudio":
            frame_intrinsics(cam)
        else:
            camera_line(1, cam)
    return cameras, []


def _export_folder(recording: Recording, name: str, out: Path, selection: Selection, placed: Placed,
                   console: Console) -> None:
    done: FolderExport
    cameras, depth = placed
    if cameras is None:
        from rigsync.export.frames import export_frames

        done = export_frames(recording, out, selection)
        console.print(f"{out}: {done.framesets} framesets, {done.images} images, stamps.json each, index.json",
                      highlight=False)
        return
    if name == "ply":
        from rigsync.export.ply import export_ply

        done = export_ply(recording, out, cameras, selection, depth)
        console.print(f"{out}: {done.framesets} fused point clouds (PLY), {done.images} points", highlight=False)
    else:
        from rigsync.export.colmap import export_colmap
        from rigsync.export.nerfstudio import export_nerfstudio

        write = export_nerfstudio if name == "nerfstudio" else export_colmap
        done = write(recording, out, cameras, selection)
        what = "transforms.json" if name == "nerfstudio" else "a COLMAP model each"
        console.print(f"{out}: {done.framesets} framesets, {done.images} images, {what}", highlight=False)
    _say_cameras(cameras, console)


def _say_cameras(cameras: ExportCameras, console: Console) -> None:
    for line in cameras.describe():
        console.print(line, highlight=False)
