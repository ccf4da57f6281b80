"""The comparison benchmark's own pieces (bench/_calib_others.py): OpenCV's stereoCalibrate chain and the pose error
after one rigid fit, against synthetic truth."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
from tests.calib.synthetic import ring, views

from rigsync.calib import geometry as g

OTHERS = runpy.run_path(str(Path(__file__).parents[2] / "bench" / "_calib_others.py"))
"""bench/_calib_others.py's names (the bench folder is not a package)."""


@pytest.fixture(scope="module")
def four():
    cams = ring(4)
    return {k: g.camera_to_world(p) for k, p in cams.items()}, *views(cams, 60, noise_px=0.0)


def test_the_chain_recovers_noise_free_poses_exactly(four):
    """Noise-free corners: the chained stereoCalibrate poses match truth within a micrometre and 1e-4 degrees."""
    truth, fs, k = four
    chain = OTHERS["opencv_chain"](fs, sorted(truth), k)
    root = next(key for key, m in chain.items() if np.allclose(m, np.eye(4)))
    assert set(chain) == set(truth)
    for key, m in chain.items():
        expected = g.inverse(truth[root]) @ truth[key]
        assert np.linalg.norm(m[:3, 3] - expected[:3, 3]) < 1e-6, key
        assert g.angle_deg(m[:3, :3], expected[:3, :3]) < 1e-4, key


def test_the_spanning_tree_reaches_every_camera_once_from_the_root(four):
    """The tree has one edge per camera but the root, each child entered once, parents already in the tree."""
    truth, fs, _ = four
    root, edges = OTHERS["spanning_tree"](fs, sorted(truth))
    seen = {root}
    for parent, child in edges:
        assert parent in seen and child not in seen
        seen.add(child)
    assert seen == set(truth) and len(edges) == len(truth) - 1


def test_pose_errors_ignore_the_rig_frame_and_measure_a_moved_camera(four):
    """Poses in another rigid frame have zero error; one camera moved 4 mm shows it, the others less."""
    truth, _, _ = four
    other_frame = g.pose(g.rotations([[0.3, -0.2, 1.1]])[0], [0.5, -1.0, 2.0])
    moved = {k: other_frame @ m for k, m in truth.items()}
    mm, deg = OTHERS["pose_errors"](moved, truth)
    assert max(mm) < 1e-9 and max(deg) < 1e-5  # arccos near 1: 1e-6 deg is its resolution
    key = sorted(truth)[1]
    moved[key] = moved[key] @ g.pose(np.eye(3), [0.004, 0.0, 0.0])
    mm, _ = OTHERS["pose_errors"](moved, truth)
    assert 2.0 < mm[1] < 4.0 + 1e-9 and max(mm[:1] + mm[2:]) < mm[1]
