"""The nerfstudio and COLMAP exports place the board where OpenCV finds it in the exported images: the simulator's
upright ChArUco board's true corners, projected through ``transforms.json`` (OpenGL camera-to-world, fl/cx/cy) and
through pycolmap's reading of the COLMAP model, land on the corners ``cv2.aruco.CharucoDetector`` detects in the
exported PNGs (+ 0.5: both tools centre pixel i at i + 0.5). Independent of rigsync's own projection code: a
wrong axis convention misses by tens of pixels, a missing or doubled half-pixel shift by 0.5 px."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.verify.rigs import capture

from rigsync.cli.main import main
from rigsync.drivers.sim.scene import BoardSide, Scene, SceneConfig

SEED = 120
RIG = f"""
[sim]
seed = {SEED}
render_width = 320

[[hosts]]
name = "h"
nics = [{{ name = "e0", kind = "ethernet", timestamping = "hardware", speed_gbps = 10 }}]
""" + "".join(f"""
[[devices]]
id = "{name}"
model = "gige-ptp-area-scan"
serial = "S-{name}"
host = "h"
connection = "eth:e0"
pose = {{ position = {position}, look_at = [0.0, -0.3, 0.9] }}
streams = [{{ kind = "color", width = 2448, height = 2048, fps = 30, format = "mono8", exposure_us = 2000 }}]
""" for name, position in (("a", "[-0.5, -1.2, 1.1]"), ("b", "[0.0, -1.3, 1.0]"), ("c", "[0.5, -1.2, 0.8]"))) + """
[[sync]]
name = "trigger"
method = "hardware"
topology = "star"
source = { device = "a" }
members = [{ device = "a" }, { device = "b" }, { device = "c" }]
"""
"""Three cameras 1.2-1.3 m in front of the simulator's upright board (static: no [sim.board]), true poses."""


@pytest.fixture(scope="module")
def board_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("board")
    take = capture(RIG, root / "take.mcap", 0.4)
    assert main(["export", str(take), "--nerfstudio", str(root / "ns"), "--colmap", str(root / "colmap")]) == 0
    return root


def _board() -> tuple[cv2.aruco.CharucoDetector, np.ndarray]:
    scene = Scene(SceneConfig(seed=SEED))
    board = scene.charuco_board(BoardSide.FRONT)
    rotation, translation = scene.board_to_world(BoardSide.FRONT)
    return cv2.aruco.CharucoDetector(board), board.getChessboardCorners() @ rotation.T + translation


def _detected(detector: cv2.aruco.CharucoDetector, png: Path) -> tuple[np.ndarray, np.ndarray]:
    picture = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    assert picture is not None, png
    corners, ids, _, _ = detector.detectBoard(picture)
    assert ids is not None and len(ids) >= 8, png
    return corners.reshape(-1, 2), ids.ravel()


def _check(offsets: list[np.ndarray]) -> None:
    d = np.concatenate(offsets)
    assert len(d) >= 40
    assert np.all(np.abs(d.mean(axis=0)) < 0.15), d.mean(axis=0)  # a half-pixel error would be 0.5
    assert np.sqrt((d ** 2).sum(axis=1).mean()) < 0.4


def test_nerfstudio_transforms_put_the_board_where_opencv_finds_it(board_exports: Path) -> None:
    detector, world = _board()
    meta = json.loads((board_exports / "ns" / "transforms.json").read_text())
    offsets = []
    for frame in meta["frames"]:
        corners, ids = _detected(detector, board_exports / "ns" / frame["file_path"])
        p = (np.linalg.inv(np.array(frame["transform_matrix"])) @ np.c_[world[ids], np.ones(len(ids))].T)[:3].T
        assert np.all(p[:, 2] < 0)  # OpenGL camera: the scene is along -z
        uv = np.c_[frame["fl_x"] * p[:, 0] / -p[:, 2] + frame["cx"], frame["fl_y"] * -p[:, 1] / -p[:, 2] + frame["cy"]]
        offsets.append(uv - (corners + 0.5))
    _check(offsets)


def test_colmap_model_puts_the_board_where_opencv_finds_it(board_exports: Path) -> None:
    pycolmap = pytest.importorskip("pycolmap", reason="pycolmap is not installed (pip install 'rigsync[test]')")
    detector, world = _board()
    offsets = []
    for model in sorted((board_exports / "colmap").glob("*/sparse/0")):
        rec = pycolmap.Reconstruction(str(model))
        for image in rec.images.values():
            corners, ids = _detected(detector, model.parent.parent / "images" / image.name)
            pose = image.cam_from_world() if callable(image.cam_from_world) else image.cam_from_world
            uv = np.array(rec.cameras[image.camera_id].img_from_cam(np.array([pose * x for x in world[ids]])))
            offsets.append(uv - (corners + 0.5))
    _check(offsets)
