"""Where the 3D exports place each camera: the rig file's poses equal the simulator's cameras, a depth stream
borrows the pose of its device's calibrated stream by the documented rule, and the axis conventions are exact."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from tests.export.rig3d import true_view

from rigsync.core.calibration import RigCalibration
from rigsync.core.errors import OptionError
from rigsync.core.geometry import Pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.sim._scene_geometry import CameraView
from rigsync.export.cameras import (
    ExportCamera,
    export_cameras,
    picture_streams,
    quaternion_wxyz,
    rig_file_calibration,
)
from rigsync.export.nerfstudio import transform_matrix
from rigsync.record import open_recording


def test_rig_file_calibration_is_the_simulators_cameras(rig3d: Path) -> None:
    """Without --calibration every stream is posed as the simulator renders it (x_rig = R x_cam + t exactly)."""
    with open_recording(rig3d) as rec:
        cal = rig_file_calibration(rec)
        assert cal.origin == "rig-file"
        assert sorted(c.key for c in cal.cameras) == ["k0/color", "k0/depth", "k0/ir", "k1/color", "k1/depth"]
        for c in cal.cameras:
            view = true_view(rec, c.device, c.stream)
            np.testing.assert_allclose(np.reshape(c.rotation, (3, 3)), view.rotation.T, atol=1e-15)
            np.testing.assert_allclose(c.translation_m, view.position_m, atol=1e-15)
            assert c.intrinsics == rec.intrinsics(c.device, c.stream)
            assert c.intrinsics_source == "factory"


def _only(cal: RigCalibration, *keys: str) -> RigCalibration:
    return RigCalibration(cameras=tuple(c for c in cal.cameras if c.key in keys), origin=cal.origin)


def test_depth_takes_ir_pose_else_colour_pose(rig3d: Path, tmp_path: Path) -> None:
    """A depth stream missing from the calibration takes its device's ir pose if calibrated, else its colour pose,
    with the depth stream's own recorded intrinsics; the description says whose pose it is."""
    with open_recording(rig3d) as rec:
        full = rig_file_calibration(rec)
        moved = [dataclasses.replace(c, translation_m=(c.translation_m[0] + i, 0.0, 0.0))
                 for i, c in enumerate(full.cameras)]  # every camera somewhere else, to tell them apart
        cal = RigCalibration(cameras=tuple(moved), origin="rig-file")
        path = tmp_path / "cal.json"
        _only(cal, "k0/color", "k0/ir", "k1/color").save(path)
        placed = export_cameras(rec, path, [("k0", "depth"), ("k1", "depth")]).cameras
        k0_ir, k1_colour = cal.camera("k0/ir"), cal.camera("k1/color")
        assert placed[("k0", "depth")].pose_of == "k0/ir"
        assert tuple(placed[("k0", "depth")].rig_from_camera[:3, 3]) == k0_ir.translation_m
        assert placed[("k1", "depth")].pose_of == "k1/color"
        assert tuple(placed[("k1", "depth")].rig_from_camera[:3, 3]) == k1_colour.translation_m
        assert placed[("k1", "depth")].intrinsics == rec.intrinsics("k1", "depth")


def test_a_colour_camera_missing_from_the_calibration_is_refused(rig3d: Path, tmp_path: Path) -> None:
    """A recorded colour camera the calibration lacks is an error naming --calibration, the file and the camera."""
    with open_recording(rig3d) as rec:
        path = tmp_path / "cal.json"
        _only(rig_file_calibration(rec), "k0/color").save(path)
        with pytest.raises(OptionError) as err:
            export_cameras(rec, path, picture_streams(rec))
    assert str(err.value).startswith(f"--calibration = \"{path}\": the recorded camera k1/color is not in it and a "
                                     "colour camera takes no other stream's pose")
    assert "calibrated: k0/color" in str(err.value)


@pytest.mark.parametrize("seed", range(4))
def test_quaternion_matches_scipy(seed: int) -> None:
    """quaternion_wxyz equals scipy's for random rotations and for half-turns about each axis (w >= 0)."""
    mats = [*Rotation.random(50, random_state=seed).as_matrix(), *(np.diag(d) for d in
            ([1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]))]
    for m in mats:
        x, y, z, w = Rotation.from_matrix(m).as_quat()
        expected = np.array([w, x, y, z]) * (1 if w >= 0 else -1)
        if abs(expected[0]) < 1e-12:  # a half turn: q and -q are both w = 0; pin the sign by the first non-zero
            expected *= np.sign(expected[np.flatnonzero(np.abs(expected) > 1e-9)[0]])
            got = np.array(quaternion_wxyz(m))
            got *= np.sign(got[np.flatnonzero(np.abs(got) > 1e-9)[0]])
        else:
            got = np.array(quaternion_wxyz(m))
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_nerfstudio_matrix_of_a_known_pose() -> None:
    """A camera at (0, -2, 1) looking along +Y (Z up): OpenGL axes x = +X, y (up) = +Z, z (back) = -Y; its OpenCV
    rotation is -90 degrees about X."""
    k = Intrinsics(width=4, height=4, fx=2.0, fy=2.0, cx=1.5, cy=1.5)
    view = CameraView.from_pose(Pose((0.0, -2.0, 1.0), (0.0, 0.0, 1.0)), k)
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = view.rotation.T, view.position_m
    cam = ExportCamera("d/color", k, m, "d/color", "factory")
    assert transform_matrix(cam) == [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, -2.0], [0.0, 1.0, 0.0, 1.0],
                                     [0.0, 0.0, 0.0, 1.0]]
    np.testing.assert_allclose(quaternion_wxyz(m[:3, :3]), (math.sqrt(0.5), -math.sqrt(0.5), 0.0, 0.0), atol=1e-15)
