"""``rigsync export REC.mcap --rerun OUT.rrd``: the recording as a Rerun file (``rigsync.export.rerun``)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from rigsync.export.rerun import export_rerun as write_rrd
from rigsync.record import open_recording


def export_rerun(rec_path: Path, out_path: Path, console: Console) -> int:
    """Export ``rec_path`` to ``out_path``; says what was written. Errors are raised as ``RigsyncError``."""
    with open_recording(rec_path) as recording:
        done = write_rrd(recording, out_path)
    console.print(f"{out_path}: {done.images} images ({done.depth_images} depth), {done.pinholes} camera pinholes, "
                  f"{done.posed_devices} device poses, {done.framesets} framesets; open it with: rerun {out_path}",
                  highlight=False)
    if done.poses_unread:
        console.print(f"no device poses: {done.poses_unread}", style="yellow", highlight=False)
    return 0
