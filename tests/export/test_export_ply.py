"""``rigsync export --ply DIR``: each frameset's depth fused in the rig frame, read back with plyfile. With the true
calibration the two Kinects' points lie on the simulator's floor (z = 0) and board (y = 0) within millimetres and
agree with each other; with one camera turned by a degree they visibly do not (the export shows a bad calibration)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.export.rig3d import rotated

from rigsync.cli.main import main
from rigsync.core.intrinsics import Intrinsics
from rigsync.export.cameras import rig_file_calibration
from rigsync.export.ply import PALETTE, project
from rigsync.record import open_recording

plyfile = pytest.importorskip("plyfile", reason="plyfile is not installed (pip install 'rigsync[test]')")

FLOOR_Z_MAX_M = 0.3
"""Below this, the scene has only the floor (the orbiting sphere's lowest point is 0.37 m)."""


def _surfaces(ply: Path) -> dict[str, dict[str, np.ndarray]]:
    """Per depth camera (from the header's comments): its floor points' z and its board points' y."""
    data = plyfile.PlyData.read(str(ply))
    assert data.elements[0].name == "vertex" and data.header.splitlines()[1] == "format binary_little_endian 1.0"
    v = data["vertex"]
    assert [p.name for p in v.properties] == ["x", "y", "z", "red", "green", "blue", "camera"]
    assert v["x"].dtype == np.float32
    names = dict(c.split()[1:3] for c in data.comments if c.startswith("camera "))
    x, y, z, cam = (np.asarray(v[n], dtype=np.float64) for n in ("x", "y", "z", "camera"))
    board = (np.abs(y) < 0.1) & (np.abs(x) < 0.25) & (z > 0.7) & (z < 1.1)  # the board's middle (box sides: |x| = 0.3)
    rgb = np.c_[v["red"], v["green"], v["blue"]]
    return {names[str(i)]: {"floor_z": z[(cam == i) & (z < FLOOR_Z_MAX_M)], "board_y": y[(cam == i) & board],
                            "rgb": rgb[cam == i]} for i in range(len(names))}


def _export(rec: Path, out: Path, *extra: str) -> list[Path]:
    assert main(["export", str(rec), "--ply", str(out), "--complete-only", "--every", "5", *extra]) == 0
    index = json.loads((out / "index.json").read_text())
    assert index["cameras"] == ["k1/depth", "k0/depth"] or index["cameras"] == ["k0/depth", "k1/depth"]
    return [out / f"{row['folder']}.ply" for row in index["framesets"]]


def test_true_calibration_fuses_floor_and_board(rig3d: Path, tmp_path: Path) -> None:
    """The rig file's (true) poses: every floor point within 1 mm of z = 0, every board point within 1 mm of y = 0,
    from both cameras; points take colour from their device's colour image."""
    plys = _export(rig3d, tmp_path / "ply")
    assert len(plys) == 4
    for ply in plys:
        cams = _surfaces(ply)
        assert set(cams) == {"k0/depth", "k1/depth"}
        for key, s in cams.items():
            assert len(s["floor_z"]) > 500 and len(s["board_y"]) > 20, key
            assert np.abs(s["floor_z"]).max() < 0.001, key
            assert np.abs(s["board_y"]).max() < 0.001, key
            palette = (s["rgb"][:, None, :] == PALETTE[None, :, :]).all(axis=2).any(axis=1)
            assert palette.mean() < 0.5, f"{key}: most points should take the colour camera's colour"


def test_a_camera_off_by_one_degree_shows(rig3d: Path, tmp_path: Path) -> None:
    """k1 turned by 1 degree in the calibration file: its floor and board come apart from the truth and from
    k0's by 5 mm to centimetres, while k0's stay within 1 mm."""
    with open_recording(rig3d) as rec:
        bad = rotated(rig_file_calibration(rec), "k1", 1.0)
    bad.save(tmp_path / "bad.json")
    for ply in _export(rig3d, tmp_path / "ply", "--calibration", str(tmp_path / "bad.json")):
        cams = _surfaces(ply)
        assert np.abs(cams["k0/depth"]["floor_z"]).max() < 0.001
        assert np.median(np.abs(cams["k1/depth"]["floor_z"])) > 0.01
        offset = abs(np.median(cams["k1/depth"]["board_y"]) - np.median(cams["k0/depth"]["board_y"]))
        assert offset > 0.005, offset


@pytest.mark.parametrize(("model", "distortion"), [
    ("plumb_bob", (0.0, 0.0, 0.0, 0.0, 0.0)),
    ("plumb_bob", (0.12, -0.3, 0.002, -0.001, 0.05)),
    ("rational_polynomial", (0.5, -0.02, 0.001, 0.002, 0.01, 0.4, 0.03, 0.002)),
])
def test_projection_is_opencvs(model: str, distortion: tuple[float, ...]) -> None:
    """The colour lookup's projection equals cv2.projectPoints for plumb_bob and rational_polynomial."""
    k = Intrinsics(width=640, height=480, fx=500.0, fy=510.0, cx=319.5, cy=241.0, distortion_model=model,
                   distortion=distortion)
    rng = np.random.default_rng(3)
    points = np.c_[rng.uniform(-1, 1, (200, 2)), rng.uniform(1.0, 4.0, 200)]
    matrix = np.array([[k.fx, 0, k.cx], [0, k.fy, k.cy], [0, 0, 1]])
    expected, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), matrix, np.array(distortion))
    np.testing.assert_allclose(project(points, k), expected.reshape(-1, 2), atol=1e-9)
