"""``rigsync export REC.mcap --colmap DIR``: each frameset as a COLMAP project with known poses.

One COLMAP model per frameset (the scene moves between framesets; only the rig is static): ``DIR/<frameset
id>/images/<device>_<stream>.png`` (colour and 8-bit grey streams) and ``DIR/<frameset id>/sparse/0/`` with
``cameras.txt``, ``images.txt`` and an empty ``points3D.txt`` (COLMAP's text format), ready for
``colmap point_triangulator`` or as a fixed-pose start. Camera ``i`` (1-based, the exported streams in sorted
order) and its image share the id ``i`` in every frameset. ``DIR/index.json`` lists the framesets with their
rig time and spread.

Conventions: ``images.txt`` holds world-to-camera poses (``QW QX QY QZ`` of ``R^T``, ``TX TY TZ`` = ``-R^T t`` for
a pose ``x_rig = R x_cam + t``; COLMAP's camera frame is OpenCV's, world = the rig frame, metres). Intrinsics:
``OPENCV`` (fx fy cx cy k1 k2 p1 p2), or ``FULL_OPENCV`` (+ k3 k4 k5 k6) when those are not zero; COLMAP centres
pixel ``i`` at ``i + 0.5``, so ``cx``/``cy`` are rigsync's ``+ 0.5``.
"""

from __future__ import annotations

import time
from pathlib import Path

from rigsync.export.cameras import ExportCamera, ExportCameras, distortion_k1_k6_p1_p2, quaternion_wxyz
from rigsync.export.frames import FolderExport, frameset_row
from rigsync.export.images import frameset_folder, image_name, write_json, write_png
from rigsync.export.nerfstudio import PIXEL_CENTRE_SHIFT
from rigsync.export.selection import Selection, selected
from rigsync.record import Recording


def camera_line(camera_id: int, cam: ExportCamera) -> str:
    """A ``cameras.txt`` line."""
    k = cam.intrinsics
    d = distortion_k1_k6_p1_p2(k, cam.key)
    full = any(d[n] for n in ("k3", "k4", "k5", "k6"))
    names = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6") if full else ("k1", "k2", "p1", "p2")
    params = [k.fx, k.fy, k.cx + PIXEL_CENTRE_SHIFT, k.cy + PIXEL_CENTRE_SHIFT, *(d[n] for n in names)]
    return " ".join([str(camera_id), "FULL_OPENCV" if full else "OPENCV", str(k.width), str(k.height),
                     *(repr(float(v)) for v in params)])


def image_line(image_id: int, camera_id: int, cam: ExportCamera, name: str) -> str:
    """An ``images.txt`` pose line (world-to-camera) followed by its empty 2D-points line."""
    rotation = cam.rig_from_camera[:3, :3].T
    translation = -rotation @ cam.rig_from_camera[:3, 3]
    values = [*quaternion_wxyz(rotation), *translation]
    return " ".join([str(image_id), *(repr(float(v)) for v in values), str(camera_id), name]) + "\n\n"


def export_colmap(recording: Recording, out: Path, cameras: ExportCameras, selection: Selection) -> FolderExport:
    """Write a COLMAP project per selected frameset of the cameras in ``cameras`` into ``out``."""
    t0 = time.perf_counter()
    ids = {key: i for i, key in enumerate(sorted(cameras.cameras), start=1)}
    camera_lines = "".join(f"{camera_line(i, cameras.cameras[key])}\n" for key, i in ids.items())
    rows, written = [], 0
    for record, images in selected(recording, selection):
        folder = out / frameset_folder(record.frameset_id)
        sparse = folder / "sparse" / "0"
        sparse.mkdir(parents=True, exist_ok=True)
        (folder / "images").mkdir(exist_ok=True)
        lines = []
        for key in sorted(images.keys() & ids.keys()):
            write_png(images[key], folder / "images" / image_name(*key))
            lines.append(image_line(ids[key], ids[key], cameras.cameras[key], image_name(*key)))
            written += 1
        (sparse / "cameras.txt").write_text("# CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n" + camera_lines)
        (sparse / "images.txt").write_text(
            "# IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n# POINTS2D[] as (X, Y, POINT3D_ID)\n"
            + "".join(lines))
        (sparse / "points3D.txt").write_text("# POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[]\n")
        rows.append(frameset_row(record, images))
    write_json(out / "index.json", {"format": "rigsync.colmap", "version": 1, "recording": recording.path,
                                    "poses": cameras.source, "origin": cameras.calibration.origin,
                                    "cameras": {cameras.cameras[k].key: i for k, i in ids.items()},
                                    "selection": selection.to_json(), "framesets": rows})
    return FolderExport(out, len(rows), written, time.perf_counter() - t0)


