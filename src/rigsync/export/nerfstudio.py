"""``rigsync export REC.mcap --nerfstudio DIR``: framesets as a nerfstudio dataset (``transforms.json``).

Layout: ``DIR/transforms.json`` and ``DIR/images/<frameset id>/<device>_<stream>.png`` (the colour and 8-bit grey
streams, :func:`~rigsync.export.cameras.picture_streams`). ``transforms.json`` follows nerfstudio's documented
format (docs.nerf.studio, "Data conventions"; instant-ngp's is the same): ``camera_model`` ``OPENCV`` at the top;
per frame ``file_path``, the intrinsics ``fl_x fl_y cx cy w h k1 k2 k3 k4 p1 p2`` and ``transform_matrix``, the
camera-to-world 4x4 with OpenGL camera axes (x right, y up, z back): ``rig_from_camera @ diag(1, -1, -1, 1)``.
World = the rig frame (metres; the rig file's is Z up, as nerfstudio's world). Pixel centres: nerfstudio (like
COLMAP) puts pixel ``i``'s centre at ``i + 0.5``, OpenCV and rigsync at ``i``, so ``cx``/``cy`` are rigsync's
``+ 0.5``. Each frame also has ``camera`` (``<device>/<stream>``), ``frameset_id``, ``rig_time_ns`` and
``spread_ns`` (nerfstudio ignores keys it does not know), so a loose frameset can be rejected downstream.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rigsync.core.errors import RigsyncError
from rigsync.export.cameras import OPENGL_FROM_OPENCV, ExportCamera, ExportCameras, distortion_k1_k6_p1_p2
from rigsync.export.frames import FolderExport, frameset_row
from rigsync.export.images import frameset_folder, image_name, write_json, write_png
from rigsync.export.selection import Selection, selected
from rigsync.record import Recording

PIXEL_CENTRE_SHIFT = 0.5
"""Added to rigsync's (OpenCV's) ``cx``, ``cy`` for nerfstudio and COLMAP, whose pixel ``i`` is centred at i + 0.5."""


def frame_intrinsics(cam: ExportCamera) -> dict[str, Any]:
    """A frame's nerfstudio intrinsics: ``fl_x fl_y cx cy w h`` and OpenCV distortion ``k1 k2 k3 k4 p1 p2``."""
    k = cam.intrinsics
    d = distortion_k1_k6_p1_p2(k, cam.key)
    if d["k4"] or d["k5"] or d["k6"]:
        raise RigsyncError(f"{cam.key}: rational distortion (k4..k6 = {d['k4']}, {d['k5']}, {d['k6']}) has no "
                           "nerfstudio OPENCV equivalent (its k4 is a radial term); allowed: plumb_bob")
    return {"fl_x": k.fx, "fl_y": k.fy, "cx": k.cx + PIXEL_CENTRE_SHIFT, "cy": k.cy + PIXEL_CENTRE_SHIFT,
            "w": k.width, "h": k.height, "k1": d["k1"], "k2": d["k2"], "k3": d["k3"], "k4": 0.0,
            "p1": d["p1"], "p2": d["p2"]}


def transform_matrix(cam: ExportCamera) -> list[list[float]]:
    """Camera-to-world with OpenGL camera axes, as nerfstudio's ``transform_matrix``."""
    return [[float(v) for v in row] for row in cam.rig_from_camera @ OPENGL_FROM_OPENCV]


def export_nerfstudio(recording: Recording, out: Path, cameras: ExportCameras, selection: Selection) -> FolderExport:
    """Write the selected framesets' pictures of the cameras in ``cameras`` and ``transforms.json`` into ``out``."""
    t0 = time.perf_counter()
    static = {key: (frame_intrinsics(cam), transform_matrix(cam)) for key, cam in cameras.cameras.items()}
    frames, rows = [], []
    (out / "images").mkdir(exist_ok=True)
    for record, images in selected(recording, selection):
        folder = out / "images" / frameset_folder(record.frameset_id)
        folder.mkdir(exist_ok=True)
        for key, image in images.items():
            if key not in static:
                continue
            write_png(image, folder / image_name(*key))
            intrinsics, matrix = static[key]
            frames.append({"file_path": f"images/{folder.name}/{image_name(*key)}", **intrinsics,
                           "transform_matrix": matrix, "camera": cameras.cameras[key].key,
                           "frameset_id": record.frameset_id, "rig_time_ns": image.rig_time_ns,
                           "frameset_rig_time_ns": record.rig_time_ns, "spread_ns": record.spread_ns})
        rows.append(frameset_row(record, images))
    write_json(out / "transforms.json", {
        "camera_model": "OPENCV", "frames": frames,
        "rigsync": {"recording": recording.path, "poses": cameras.source, "origin": cameras.calibration.origin,
                    "selection": selection.to_json(), "framesets": rows}})
    return FolderExport(out, len(rows), len(frames), time.perf_counter() - t0)
