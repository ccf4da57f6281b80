"""``rigsync export REC.mcap --ros2 OUT.mcap`` / ``--rerun OUT.rrd``: a recording in another tool's format
(:mod:`rigsync.export`).

Also the ``ros2`` profile of ``rigsync capture --profile ros2``: the capture records as usual, then exports its
recording to ``<out>.ros2.mcap`` (:func:`ros2_out_for`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from rigsync.cli import export_folders
from rigsync.cli.outputs import refuse_output
from rigsync.core.errors import OptionError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write a recording in another tool's format (ROS 2 bag, Rerun, frames, "
                                      "nerfstudio, COLMAP, fused PLY, calibrated MCAP)")
    p.add_argument("recording", type=Path, help="the rigsync recording (.mcap; a crashed one is recovered)")
    p.add_argument("--ros2", type=Path, metavar="OUT.mcap",
                   help="write a ROS 2 bag (MCAP, profile ros2: sensor_msgs Image and CameraInfo, rigsync_msgs "
                        "FrameStamp and Frameset), readable by ros2 bag and rosbags")
    p.add_argument("--rerun", type=Path, metavar="OUT.rrd",
                   help="write a Rerun file (images, depth images, pinholes, the rig file's poses, framesets and "
                        "health plots on a rig_time timeline): open it with `rerun OUT.rrd`")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    export_folders.add_arguments(p)


def check_ros2_out(option: str, out: Path, source: Path, *, overwrite: bool) -> None:
    """Refuse an output that ROS 2 tools would not open as a bag file, the source itself, or an existing file, and
    an export without the ros2 extra (before a capture, not after it)."""
    from rigsync.export.ros2 import writer_class

    writer_class()
    if out.suffix != ".mcap":
        raise OptionError(option, str(out), "is not a .mcap file name",
                          "a name ending in .mcap (ROS 2 tools choose the storage plugin by it)")
    if not out.parent.is_dir():
        raise OptionError(option, str(out), f"its folder {out.parent} does not exist", "a file in an existing folder")
    refuse_output(option, out, keep=source, is_keep=f"is the recording {source}: an export never replaces it",
                  example="capture.ros2.mcap", overwrite=overwrite)


def ros2_out_for(recording: Path) -> Path:
    """Where ``capture --profile ros2`` writes its ROS 2 bag: ``run.mcap`` -> ``run.ros2.mcap``."""
    return recording.with_name(f"{recording.stem if recording.suffix == '.mcap' else recording.name}.ros2.mcap")


def export_ros2_and_say(recording: Path, out: Path, console: Console) -> None:
    """Export ``recording`` to ``out`` and print what was written."""
    from rigsync.export.ros2 import export_ros2

    r = export_ros2(recording, out)
    console.print(f"{r.path}: ROS 2 bag (MCAP, profile ros2): {r.images} images, {r.camera_infos} camera infos, "
                  f"{r.frame_stamps} frame stamps, {r.framesets} framesets", highlight=False)
    for source, topic in r.topics.items():
        console.print(f"  {source} -> {topic}", highlight=False)


def run_command(args: argparse.Namespace, console: Console) -> int:
    if args.ros2 is None and args.rerun is None and not export_folders.wanted(args):
        raise OptionError("rigsync export", None, "no output format given",
                          "--ros2 OUT.mcap, --rerun OUT.rrd, --frames/--nerfstudio/--colmap/--ply DIR, "
                          "--calibrated OUT.mcap")
    selection = export_folders.check(args)
    if args.ros2 is not None:
        check_ros2_out("--ros2", args.ros2, args.recording, overwrite=args.overwrite)
    if args.rerun is not None:
        from rigsync.cli.export_rerun import check_rerun_out

        check_rerun_out(args.rerun, args.recording, overwrite=args.overwrite)
    if args.ros2 is not None:
        export_ros2_and_say(args.recording, args.ros2, console)
    if args.rerun is not None:
        from rigsync.cli.export_rerun import export_rerun

        export_rerun(args.recording, args.rerun, console, overwrite=args.overwrite)
    if selection is not None:
        export_folders.run(args, selection, console)
    return 0
