"""``rigsync export --nerfstudio DIR`` and ``--colmap DIR``: read back by nerfstudio's documented schema and by
pycolmap, every camera's intrinsics and pose round-trip, and a scene point projects to the pixel the simulator
renders it at (their pixel centres at i + 0.5, rigsync's at i)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.export.rig3d import true_view

from rigsync.cli.main import main
from rigsync.core.calibration import RigCalibration
from rigsync.export.cameras import rig_file_calibration
from rigsync.record import open_recording

POINTS = np.array([[0.0, 0.0, 0.92], [0.3, -0.1, 0.0], [-0.4, 0.2, 1.2], [0.2, 0.0, 0.6]])
"""Scene points both colour cameras see: the board's centre, the floor, above the board, the board's lower half."""

NERFSTUDIO_FRAME_FIELDS = {"file_path": str, "transform_matrix": list, "fl_x": float, "fl_y": float, "cx": float,
                           "cy": float, "w": int, "h": int, "k1": float, "k2": float, "k3": float, "k4": float,
                           "p1": float, "p2": float}
"""nerfstudio's transforms.json per-frame fields (docs.nerf.studio, Data conventions) and their JSON types."""


def test_nerfstudio_transforms_by_its_documented_schema(rig3d: Path, tmp_path: Path) -> None:
    """transforms.json has nerfstudio's fields; its OpenGL camera-to-world and cx + 0.5 project scene points to
    the simulator's pixels + 0.5; each frame's image is the recorded one; frameset id, rig time, spread alongside."""
    out = tmp_path / "ns"
    assert main(["export", str(rig3d), "--nerfstudio", str(out)]) == 0
    meta = json.loads((out / "transforms.json").read_text())
    assert meta["camera_model"] in ("OPENCV", "OPENCV_FISHEYE", "EQUIRECTANGULAR", "PINHOLE", "SIMPLE_PINHOLE")
    with open_recording(rig3d) as rec:
        sets = {r.frameset_id: (r, images) for r, images in rec.framesets_with_images()}
        expected = sorted((i, f"{d}/{s}") for i, (_, images) in sets.items() for d, s in images if s == "color")
        assert sorted((f["frameset_id"], f["camera"]) for f in meta["frames"]) == expected
        for frame in meta["frames"]:
            for name, kind in NERFSTUDIO_FRAME_FIELDS.items():
                assert isinstance(frame[name], kind), (name, frame[name])
            record, images = sets[frame["frameset_id"]]
            device, stream = frame["camera"].split("/")
            assert frame["spread_ns"] == record.spread_ns and frame["frameset_rig_time_ns"] == record.rig_time_ns
            assert frame["rig_time_ns"] == images[(device, stream)].rig_time_ns
            png = cv2.imread(str(out / frame["file_path"]), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(png, images[(device, stream)].image)
            c2w = np.array(frame["transform_matrix"])
            assert c2w.shape == (4, 4) and c2w[3].tolist() == [0.0, 0.0, 0.0, 1.0]
            p = (np.linalg.inv(c2w) @ np.c_[POINTS, np.ones(len(POINTS))].T)[:3].T  # OpenGL: looks along -z
            u = frame["fl_x"] * p[:, 0] / -p[:, 2] + frame["cx"]
            v = frame["fl_y"] * -p[:, 1] / -p[:, 2] + frame["cy"]
            truth, _ = true_view(rec, device, stream).project(POINTS)
            np.testing.assert_allclose(np.c_[u, v], truth + 0.5, atol=1e-9)
            assert (frame["w"], frame["h"]) == (png.shape[1], png.shape[0])


def _distorted(rec_path: Path, tmp_path: Path) -> tuple[Path, RigCalibration]:
    """A calibration file: the true poses, k0/color with plumb_bob k1 k2 p1 p2, k1/color also with k3."""
    with open_recording(rec_path) as rec:
        cal = rig_file_calibration(rec)
    dist = {"k0/color": (0.1, -0.05, 0.001, 0.002, 0.0), "k1/color": (-0.08, 0.03, -0.002, 0.001, 0.01)}
    cams = tuple(dataclasses.replace(c, intrinsics=dataclasses.replace(c.intrinsics, distortion=dist[c.key]),
                                     intrinsics_source="solved") if c.key in dist else c for c in cal.cameras)
    cal = RigCalibration(cameras=cams, origin="rig-file")
    path = tmp_path / "cal.json"
    cal.save(path)
    return path, cal


def test_colmap_read_back_by_pycolmap(rig3d: Path, tmp_path: Path) -> None:
    """pycolmap reads every frameset's model: each image's cam_from_world is the simulator's world-to-camera, each
    camera's model and parameters the calibration's (cx, cy + 0.5), and pycolmap projects a point where OpenCV
    does with the calibration's distortion (+ 0.5)."""
    pycolmap = pytest.importorskip("pycolmap", reason="pycolmap is not installed (pip install 'rigsync[test]')")
    cal_path, cal = _distorted(rig3d, tmp_path)
    out = tmp_path / "colmap"
    assert main(["export", str(rig3d), "--colmap", str(out), "--calibration", str(cal_path), "--every", "4"]) == 0
    index = json.loads((out / "index.json").read_text())
    assert index["cameras"] == {"k0/color": 1, "k1/color": 2}
    assert len(index["framesets"]) == 5
    with open_recording(rig3d) as rec:
        colour = {r.frameset_id: sorted(f"{d}_{s}.png" for d, s in images if s == "color")
                  for r, images in rec.framesets_with_images()}
        for row in index["framesets"]:
            model = pycolmap.Reconstruction(str(out / row["folder"] / "sparse" / "0"))
            assert sorted(i.name for i in model.images.values()) == colour[row["frameset_id"]]
            assert len(model.points3D) == 0
            for image in model.images.values():
                key = image.name.removesuffix(".png").replace("_", "/")
                view, calibrated = true_view(rec, *key.split("/")), cal.camera(key)
                assert (out / row["folder"] / "images" / image.name).is_file()
                pose = image.cam_from_world()
                np.testing.assert_allclose(pose.matrix(), np.c_[view.rotation, view.translation], atol=1e-12)
                camera = model.cameras[image.camera_id]
                k = calibrated.intrinsics
                assert camera.model.name == ("FULL_OPENCV" if k.distortion[4] else "OPENCV")
                expected = [k.fx, k.fy, k.cx + 0.5, k.cy + 0.5, *k.distortion[:4]]
                expected += [k.distortion[4], 0.0, 0.0, 0.0] if k.distortion[4] else []
                np.testing.assert_allclose(camera.params, expected, rtol=0, atol=1e-12)
                assert (camera.width, camera.height) == (k.width, k.height)
                in_cam = view.to_camera(POINTS)
                cv_uv, _ = cv2.projectPoints(in_cam, np.zeros(3), np.zeros(3), np.array(
                    [[k.fx, 0, k.cx], [0, k.fy, k.cy], [0, 0, 1]]), np.array(k.distortion))
                np.testing.assert_allclose(camera.img_from_cam(in_cam), cv_uv.reshape(-1, 2) + 0.5, atol=1e-6)
