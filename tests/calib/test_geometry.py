"""The solver's Rodrigues rotations against OpenCV's, one vector (the scalar path) and many (the vectorized one)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rigsync.calib import geometry as g


def vectors() -> np.ndarray:
    rng = np.random.default_rng(4)
    axes = rng.normal(size=(60, 3))
    axes /= np.linalg.norm(axes, axis=1)[:, None]
    angles = np.concatenate([rng.uniform(0, np.pi, 40), [np.pi, 1e-6, 1e-9], rng.uniform(1e-4, 1e-2, 17)])
    return np.vstack([axes * angles[:, None], np.zeros((1, 3))])


def test_many_rotations_are_opencvs() -> None:
    r = vectors()
    want = np.array([cv2.Rodrigues(v)[0] for v in r])
    assert np.abs(g.rotations(r) - want).max() < 1e-12


@pytest.mark.parametrize("v", list(vectors()[[0, 40, 41, 42, 60]]))
def test_one_rotation_is_opencvs_and_the_batch_s(v: np.ndarray) -> None:
    one = g.rotations(v)
    assert one.shape == (1, 3, 3)
    assert np.abs(one[0] - cv2.Rodrigues(v)[0]).max() < 1e-12
    assert np.abs(one - g.rotations(np.vstack([v, v]))[:1]).max() < 1e-15
    pose = g.pose_from_vector(np.concatenate([v, [0.1, -0.2, 3.0]]))
    assert np.abs(pose[:3, :3] - one[0]).max() == 0.0 and list(pose[:3, 3]) == [0.1, -0.2, 3.0]
    assert list(pose[3]) == [0.0, 0.0, 0.0, 1.0]
