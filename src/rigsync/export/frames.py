"""``rigsync export REC.mcap --frames DIR``: one folder per frameset, its images named by camera, its stamps.

Layout: ``DIR/index.json`` (the export: recording, selection, one row per frameset written) and per frameset
``DIR/<frameset id, 6 digits>/`` holding ``<device>_<stream>.png`` (:mod:`.images`) and ``stamps.json``: the
frameset's ``rig_time_ns`` and ``spread_ns``, each member's stamps (``seq``, ``rig_time_ns``, ``error_bound_ns``,
``device_ts_ns``, ``host_rx_ns``, and its ``file``, null when its image was not recorded) and each missing stream
with its reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigsync.core.frameset import FramesetRecord
from rigsync.export.images import frameset_folder, image_name, write_json, write_png
from rigsync.export.selection import Images, Selection, selected
from rigsync.record import Recording

FORMAT = "rigsync.frames"
DEPTH_PNG = {"dtype": "uint16", "unit": "mm", "no_depth": 0}
"""What a depth image's PNG holds (also in ``index.json``, so the folder says its own unit)."""


@dataclass(frozen=True, slots=True)
class FolderExport:
    """What a folder export wrote."""

    path: Path
    framesets: int
    images: int
    """Images written (``--ply``: points written)."""
    seconds: float
    """Wall time the export took."""


def frameset_row(record: FramesetRecord, images: Images) -> dict[str, Any]:
    """A frameset's line in an export's index: id, rig time, spread, members, missing, complete."""
    return {"frameset_id": record.frameset_id, "folder": frameset_folder(record.frameset_id),
            "rig_time_ns": record.rig_time_ns, "spread_ns": record.spread_ns, "members": len(record.members),
            "missing": len(record.missing),
            "complete": not record.missing and len(images) == len(record.members)}


def stamps(record: FramesetRecord, images: Images) -> dict[str, Any]:
    """A frameset's ``stamps.json``: its recorded JSON form, each member with the file of its image."""
    data = record.to_json()
    for member in data["members"]:
        key = (member["device"], member["stream"])
        member["file"] = image_name(*key) if key in images else None
    return data


def export_frames(recording: Recording, out: Path, selection: Selection) -> FolderExport:
    """Write the selected framesets of ``recording`` into the existing folder ``out``."""
    t0 = time.perf_counter()
    rows, written = [], 0
    for record, images in selected(recording, selection):
        folder = out / frameset_folder(record.frameset_id)
        folder.mkdir(exist_ok=True)
        for (device, stream), image in images.items():
            write_png(image, folder / image_name(device, stream))
            written += 1
        write_json(folder / "stamps.json", stamps(record, images))
        rows.append(frameset_row(record, images))
    write_json(out / "index.json", {"format": FORMAT, "version": 1, "recording": recording.path,
                                    "depth_png": DEPTH_PNG, "selection": selection.to_json(), "framesets": rows})
    return FolderExport(out, len(rows), written, time.perf_counter() - t0)
