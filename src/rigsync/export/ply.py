"""``rigsync export REC.mcap --ply DIR``: each frameset's depth images fused into one point cloud in the rig frame.

Each depth pixel with a value (``> 0``) is back-projected with its stream's intrinsics (undistorted with OpenCV
when they have distortion) to ``z * (x_n, y_n, 1)`` in its camera frame, then by its pose
(:mod:`rigsync.export.cameras`) into the rig frame. A point takes the colour of the same device's colour image
where it projects into it (by the colour stream's calibration: no occlusion test), else its camera's colour from
:data:`PALETTE`. One ``DIR/<frameset id>.ply`` per frameset: binary little-endian, ``x y z`` float32 (metres, rig
frame), ``red green blue`` uint8 and ``camera`` uint8 (the index of the depth stream in the header's ``comment
camera <index> <device>/<stream>`` lines). A good calibration shows one surface where two cameras see one; a bad
one shows it twice.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from rigsync.core.intrinsics import Intrinsics
from rigsync.export.cameras import F64, ExportCamera, ExportCameras, distortion_k1_k6_p1_p2
from rigsync.export.frames import FolderExport, frameset_row
from rigsync.export.images import frameset_folder, png_pixels, write_json
from rigsync.export.rerun import DEPTH_METER
from rigsync.export.selection import Images, Selection, selected
from rigsync.record import RecordedImage, Recording

PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 190]], dtype=np.uint8)
"""RGB per depth camera (by index) for points no colour image covers."""

VERTEX = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1"),
                   ("camera", "u1")])


def _rays(cam: ExportCamera) -> F64:
    """(H*W, 3) camera-frame directions with z = 1 through every pixel centre."""
    k = cam.intrinsics
    u, v = np.meshgrid(np.arange(k.width, dtype=np.float64), np.arange(k.height, dtype=np.float64))
    pixels = np.stack([u.ravel(), v.ravel()], axis=1)
    if any(k.distortion):
        matrix = np.array([[k.fx, 0.0, k.cx], [0.0, k.fy, k.cy], [0.0, 0.0, 1.0]])
        xy = cv2.undistortPoints(pixels.reshape(-1, 1, 2), matrix, np.asarray(k.distortion)).reshape(-1, 2)
    else:
        xy = np.stack([(pixels[:, 0] - k.cx) / k.fx, (pixels[:, 1] - k.cy) / k.fy], axis=1)
    return np.concatenate([xy, np.ones((len(xy), 1))], axis=1)


def back_project(depth: RecordedImage, cam: ExportCamera, rays: F64) -> F64:
    """The rig-frame points (N, 3) of a depth image's pixels with a value."""
    z = np.asarray(depth.image, dtype=np.float64).ravel() / DEPTH_METER[depth.encoding]
    valid = np.isfinite(z) & (z > 0)
    points_cam = rays[valid] * z[valid, None]
    return points_cam @ cam.rig_from_camera[:3, :3].T + cam.rig_from_camera[:3, 3]


def project(points_cam: F64, k: Intrinsics) -> F64:
    """Pixels (N, 2) of camera-frame points in front of the camera: OpenCV's model (``plumb_bob`` or
    ``rational_polynomial``; ``cv2.projectPoints``'s result, without its Jacobians' cost)."""
    x, y = points_cam[:, 0] / points_cam[:, 2], points_cam[:, 1] / points_cam[:, 2]
    if any(k.distortion):
        d = distortion_k1_k6_p1_p2(k, "")
        r2 = x * x + y * y
        radial = ((1 + r2 * (d["k1"] + r2 * (d["k2"] + r2 * d["k3"])))
                  / (1 + r2 * (d["k4"] + r2 * (d["k5"] + r2 * d["k6"]))))
        x, y = (x * radial + 2 * d["p1"] * x * y + d["p2"] * (r2 + 2 * x * x),
                y * radial + d["p1"] * (r2 + 2 * y * y) + 2 * d["p2"] * x * y)
    return np.stack([k.fx * x + k.cx, k.fy * y + k.cy], axis=1)


def colour_of(points: F64, image: RecordedImage, cam: ExportCamera, fallback: np.ndarray) -> np.ndarray:
    """RGB (N, 3) of rig-frame ``points`` seen in colour ``image`` of camera ``cam``; ``fallback`` outside it."""
    k = cam.intrinsics
    rig_from_camera = cam.rig_from_camera
    in_cam = (points - rig_from_camera[:3, 3]) @ rig_from_camera[:3, :3]
    rgb = np.tile(fallback, (len(points), 1))
    front = in_cam[:, 2] > 1e-6
    if not front.any():
        return rgb
    u, v = np.rint(project(in_cam[front], k)).astype(np.int64).T
    inside = (u >= 0) & (u < image.image.shape[1]) & (v >= 0) & (v < image.image.shape[0])
    bgr = png_pixels(image)
    if bgr.ndim == 2:
        bgr = np.repeat(bgr[..., None], 3, axis=2)
    if bgr.dtype != np.uint8:
        return rgb
    idx = np.flatnonzero(front)[inside]
    rgb[idx] = bgr[v[inside], u[inside], 2::-1][:, :3]
    return rgb


def fuse(images: Images, cameras: ExportCameras, order: list[tuple[str, str]],
         rays: dict[tuple[str, str], F64]) -> np.ndarray:
    """The fused vertices (:data:`VERTEX`) of a frameset's depth images."""
    parts = []
    for index, key in enumerate(order):
        depth = images.get(key)
        if depth is None:
            continue
        cam = cameras.cameras[key]
        points = back_project(depth, cam, rays[key])
        colour_key = (key[0], "color")
        fallback = PALETTE[index % len(PALETTE)]
        if colour_key in images and colour_key in cameras.cameras:
            rgb = colour_of(points, images[colour_key], cameras.cameras[colour_key], fallback)
        else:
            rgb = np.tile(fallback, (len(points), 1))
        v = np.empty(len(points), dtype=VERTEX)
        v["x"], v["y"], v["z"] = points[:, 0], points[:, 1], points[:, 2]
        v["red"], v["green"], v["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        v["camera"] = index
        parts.append(v)
    return np.concatenate(parts) if parts else np.empty(0, dtype=VERTEX)


def write_ply(path: Path, vertices: np.ndarray, comments: list[str]) -> None:
    """A binary little-endian PLY of :data:`VERTEX` rows."""
    header = ["ply", "format binary_little_endian 1.0", *(f"comment {c}" for c in comments),
              f"element vertex {len(vertices)}", "property float x", "property float y", "property float z",
              "property uchar red", "property uchar green", "property uchar blue", "property uchar camera",
              "end_header"]
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(vertices.astype(VERTEX).tobytes())


def export_ply(recording: Recording, out: Path, cameras: ExportCameras, selection: Selection,
               depth: list[tuple[str, str]]) -> FolderExport:
    """Write each selected frameset's fused depth point cloud (of the ``depth`` streams) into ``out``."""
    t0 = time.perf_counter()
    rays = {key: _rays(cameras.cameras[key]) for key in depth}
    comments = [f"camera {i} {cameras.cameras[key].key}" for i, key in enumerate(depth)]
    comments.append(f"rig frame: metres, origin {cameras.calibration.origin}; poses: {cameras.source}")
    rows, points = [], 0
    for record, images in selected(recording, selection):
        vertices = fuse(images, cameras, depth, rays)
        write_ply(out / f"{frameset_folder(record.frameset_id)}.ply", vertices,
                  [*comments, f"frameset {record.frameset_id} rig_time_ns {record.rig_time_ns} "
                   f"spread_ns {record.spread_ns}"])
        points += len(vertices)
        rows.append({**frameset_row(record, images), "points": len(vertices)})
    write_json(out / "index.json", {"format": "rigsync.ply", "version": 1, "recording": recording.path,
                                    "poses": cameras.source, "origin": cameras.calibration.origin,
                                    "cameras": [cameras.cameras[k].key for k in depth],
                                    "selection": selection.to_json(), "framesets": rows})
    return FolderExport(out, len(rows), points, time.perf_counter() - t0)
