"""Other calibrators for bench_calibrate_compare.py: OpenCV's pairwise ``stereoCalibrate`` chain, and the pose
error against the rig file (one rigid fit, :func:`rigsync.calib.origin.place`, the same for every method).

The chain is what the Azure Kinect green-screen sample does for a pair (``cv2.stereoCalibrate`` with the factory
intrinsics fixed, on the corners both cameras saw in the same frameset), extended to a rig: the pairs of a maximum
spanning tree (edge weight: framesets both cameras saw the board in) from the camera with most views, the pair
poses composed along the tree. Nothing is adjusted jointly: each pair's error adds up along its path.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import cv2
import numpy as np

from rigsync.boards.charuco import CharucoBoardSpec
from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.options import RIG_FILE
from rigsync.calib.origin import place
from rigsync.calib.views import FramesetViews
from rigsync.core.intrinsics import Intrinsics

MIN_COMMON = 6
"""Corners two cameras must share in a frameset for it to enter their stereoCalibrate."""


def _common(fs: FramesetViews, a: str, b: str) -> tuple[F64, F64, F64] | None:
    """``(board_m, pixels_a, pixels_b)`` of the corners ``a`` and ``b`` both saw in ``fs`` (None: too few)."""
    va = next((v for v in fs.views if v.key == a), None)
    vb = next((v for v in fs.views if v.key == b), None)
    if va is None or vb is None:
        return None
    ids, ia, ib = np.intersect1d(va.ids, vb.ids, return_indices=True)
    if len(ids) < MIN_COMMON:
        return None
    return va.board_m[ia], va.pixels[ia], vb.pixels[ib]


def spanning_tree(framesets: list[FramesetViews], keys: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """``(root, edges parent->child)``: Prim's maximum spanning tree over shared board views, from the camera
    with most views (cameras no pair reaches are left out)."""
    shared: dict[tuple[str, str], int] = defaultdict(int)
    views: dict[str, int] = defaultdict(int)
    for fs in framesets:
        cams = sorted(set(fs.cameras()) & set(keys))
        for c in cams:
            views[c] += 1
        for i, a in enumerate(cams):
            for b in cams[i + 1:]:
                if _common(fs, a, b) is not None:
                    shared[(a, b)] += 1
                    shared[(b, a)] += 1
    root = max(keys, key=lambda k: (views[k], k))
    tree, edges = {root}, list[tuple[str, str]]()
    while True:
        best = max(((n, a, b) for (a, b), n in shared.items() if a in tree and b not in tree), default=None)
        if best is None:
            return root, edges
        tree.add(best[2])
        edges.append((best[1], best[2]))


def stereo_pair(framesets: list[FramesetViews], a: str, b: str, intrinsics: dict[str, Intrinsics]) -> F64:
    """``b_from_a`` (x_b = R x_a + t) by ``cv2.stereoCalibrate`` with both cameras' intrinsics fixed."""
    obj, pa, pb = [], [], []
    for fs in framesets:
        hit = _common(fs, a, b)
        if hit is not None:
            obj.append(hit[0].astype(np.float32).reshape(-1, 1, 3))
            pa.append(hit[1].astype(np.float32).reshape(-1, 1, 2))
            pb.append(hit[2].astype(np.float32).reshape(-1, 1, 2))
    ka, kb = intrinsics[a], intrinsics[b]
    out = cv2.stereoCalibrate(obj, pa, pb, g.camera_matrix(ka), g.distortion(ka), g.camera_matrix(kb),
                              g.distortion(kb), (ka.width, ka.height), flags=cv2.CALIB_FIX_INTRINSIC)
    rotation, translation = out[5], out[6]
    return g.pose(rotation, np.asarray(translation, dtype=np.float64).reshape(3))


def opencv_chain(framesets: list[FramesetViews], keys: list[str],
                 intrinsics: dict[str, Intrinsics]) -> dict[str, F64]:
    """Every reachable camera's ``root_from_camera``, pair poses composed along the spanning tree."""
    root, edges = spanning_tree(framesets, keys)
    poses = {root: np.eye(4)}
    for parent, child in edges:
        poses[child] = poses[parent] @ g.inverse(stereo_pair(framesets, parent, child, intrinsics))
    return poses


def pose_errors(rig_from_camera: dict[str, F64], declared: dict[str, F64]) -> tuple[list[float], list[float]]:
    """Each camera's position error (mm) and orientation error (deg) against ``declared`` (the rig file's
    ``world_from_camera``) after the one rigid fit of :func:`rigsync.calib.origin.place`."""
    placed = place(RIG_FILE, next(iter(rig_from_camera)), rig_from_camera, {}, declared)
    keys = sorted(rig_from_camera)
    mm = [1000.0 * float(np.linalg.norm(placed.rig_from_camera[k][:3, 3] - declared[k][:3, 3])) for k in keys]
    deg = [g.angle_deg(placed.rig_from_camera[k][:3, :3], declared[k][:3, :3]) for k in keys]
    return mm, deg


def multical_board_yaml(spec: CharucoBoardSpec) -> str:
    """multical's board file for ``spec``: one board per printed face (its markers from the face's first id)."""
    if spec.rows % 2 == 0:  # OpenCV changed the pattern of even-row boards in 4.6/4.7: not checked here
        raise ValueError(f"{spec.name}: {spec.rows} rows; only boards with an odd number of rows are exported")
    lines = ["boards:"]
    for i, first in enumerate(spec.face_first_ids):
        lines += [f"  face{i}:", "    _type_: charuco", f"    size: [{spec.columns}, {spec.rows}]",
                  f"    square_length: {spec.square_m}", f"    marker_length: {spec.marker_m}",
                  f"    aruco_dict: {spec.dictionary.removeprefix('DICT_')}", f"    aruco_offset: {first}",
                  "    min_points: 10"]
    return "\n".join(lines) + "\n"


def parse_multical(calibration: dict[str, Any], keys: dict[str, str]) -> tuple[dict[str, F64], dict[str, Intrinsics]]:
    """``(rig_from_camera, intrinsics)`` by rigsync key from multical's ``calibration.json`` (``keys``: its
    camera name -> rigsync key). Its ``camera_poses`` are the master camera (identity; absent when multical could
    not place it) and ``<name>_to_<master>``: ``camera_from_master``."""
    master = next(n if "_to_" not in n else n.split("_to_")[1] for n in calibration["camera_poses"])
    poses, intrinsics = {}, {}
    for name, key in keys.items():
        cam = calibration["cameras"][name]
        k, dist = np.asarray(cam["K"], dtype=np.float64), np.asarray(cam["dist"], dtype=np.float64).reshape(-1)
        intrinsics[key] = Intrinsics(width=int(cam["image_size"][0]), height=int(cam["image_size"][1]),
                                     fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]), cy=float(k[1, 2]),
                                     distortion=tuple(float(d) for d in dist[:5]))
        pose = calibration["camera_poses"].get(name if name == master else f"{name}_to_{master}")
        if pose is not None:
            poses[key] = g.inverse(g.pose(pose["R"], np.asarray(pose["T"], dtype=np.float64).reshape(3)))
    return poses, intrinsics


def multical_cameras(intrinsics: dict[str, Intrinsics]) -> dict[str, Any]:
    """A multical calibration file with only ``cameras`` (by multical name): the intrinsics it starts from."""
    return {"cameras": {name: {"model": "standard", "image_size": [k.width, k.height],
                               "K": g.camera_matrix(k).tolist(), "dist": [list(g.distortion(k))]}
                        for name, k in intrinsics.items()}}
