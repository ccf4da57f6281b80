"""The camera-pose covariance by the Schur complement against the dense pseudo-inverse, and the sampled sigmas
against a per-sample reference, on small synthetic problems (a bundle-adjustment-shaped Jacobian)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from rigsync.calib import geometry as g
from rigsync.calib import uncertainty
from rigsync.calib.origin import AXIS_M
from rigsync.calib.uncertainty import camera_covariance, camera_sigmas


def ba_jacobian(n_cam: int, n_board: int, per_board: int, rows: int = 40, seed: int = 0,
                chain: bool = False) -> sparse.csr_matrix:
    """Random Jacobian shaped like the bundle adjustment's: each residual touches one camera (6 columns; camera 0
    is the fixed root, no columns) and one board block (``per_board`` columns: a pose, or a pose and its
    velocity); ``chain``: each residual also touches the next board's block (couples every board: one block)."""
    rng = np.random.default_rng(seed)
    c = 6 * n_cam
    parts = []
    for b in range(n_board):
        for cam in range(n_cam + 1):
            block = np.zeros((rows, c + per_board * n_board))
            if cam:
                block[:, 6 * (cam - 1): 6 * cam] = rng.normal(size=(rows, 6))
            block[:, c + per_board * b: c + per_board * (b + 1)] = rng.normal(size=(rows, per_board))
            if chain and b + 1 < n_board:
                nxt = c + per_board * (b + 1)
                block[:, nxt: nxt + per_board] = 0.3 * rng.normal(size=(rows, per_board))
            parts.append(block)
    return sparse.csr_matrix(np.vstack(parts))


def dense_block(jac: sparse.spmatrix, n: int) -> np.ndarray:
    h = (jac.T @ jac).toarray()
    return np.asarray(np.linalg.pinv(h)[:n, :n])


@pytest.mark.parametrize("per_board", [6, 12])
def test_schur_covariance_is_the_dense_pseudo_inverse(per_board: int) -> None:
    """Board poses (6x6 blocks) or poses with velocities (12x12): the same camera block as ``pinv(J^T J)``."""
    jac = ba_jacobian(3, 8, per_board)
    want = dense_block(jac, 18)
    got = camera_covariance(jac, 18)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    assert camera_covariance(jac.toarray(), 18) == pytest.approx(got, rel=1e-12)  # dense input too


def test_one_large_coupled_block_goes_through_the_sparse_factorisation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Boards chained to each other form one block of 60 unknowns: the sparse LU path, same result."""
    monkeypatch.setattr(uncertainty, "DENSE_BLOCK", 8)
    jac = ba_jacobian(2, 10, 6, chain=True)
    want = dense_block(jac, 12)
    assert np.allclose(camera_covariance(jac, 12), want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("dense_limit", [64, 4])
def test_unknowns_no_residual_touches_drop_out(monkeypatch: pytest.MonkeyPatch, dense_limit: int) -> None:
    """Zero columns (a board pose the data do not reach): the camera block of the pseudo-inverse, finite."""
    monkeypatch.setattr(uncertainty, "DENSE_BLOCK", dense_limit)
    jac = ba_jacobian(2, 6, 12).tolil()
    jac[:, 12 + 12 * 2 + 6: 12 + 12 * 3] = 0.0  # board 2's velocity: unobserved
    jac[:, 12 + 12 * 4: 12 + 12 * 5] = 0.0  # board 4: nothing at all
    jac = jac.tocsr()
    want = dense_block(jac, 12)
    got = camera_covariance(jac, 12)
    assert np.all(np.isfinite(got))
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_a_rank_deficient_board_block_matches_the_pseudo_inverse() -> None:
    """Two identical columns in a board's block (a direction the data do not fix, moving no camera): the
    block's pseudo-inverse gives the whole pseudo-inverse's camera block."""
    jac = ba_jacobian(2, 5, 6).toarray()
    jac[:, 12 + 6 * 3 + 1] = jac[:, 12 + 6 * 3]
    want = dense_block(sparse.csr_matrix(jac), 12)
    assert np.allclose(camera_covariance(jac, 12), want, rtol=1e-8, atol=1e-12 * np.abs(want).max())


def test_sigmas_match_the_sampled_rigid_fit_one_sample_at_a_time() -> None:
    """The vectorized sampling (every sample's rig fitted onto the solved one at once) against the plain
    per-sample loop over the same draws: same RMS position and angle per camera."""
    n_cam = 2
    jac = ba_jacobian(n_cam, 6, 6, seed=3)
    rng = np.random.default_rng(1)
    x = np.concatenate([[0.1, -0.2, 0.05, 0.5, 0.0, 0.1], [-0.3, 0.1, 0.2, -0.4, 0.1, 0.0], rng.normal(size=36)])
    residuals = 0.001 * rng.normal(size=jac.shape[0])
    got = camera_sigmas(jac, residuals, x, n_cam)

    s2 = float(residuals @ residuals) / (jac.shape[0] - jac.shape[1])
    cov = s2 * dense_block(jac, 6 * n_cam)
    draws = np.random.default_rng(0).multivariate_normal(x[:12], (cov + cov.T) / 2, 400).reshape(400, n_cam, 6)

    def rig(v: np.ndarray) -> list[np.ndarray]:
        return [np.eye(4), *(g.inverse(g.pose_from_vector(c)) for c in v)]

    nominal = rig(x[:12].reshape(n_cam, 6))
    dst = np.vstack([g.axis_points(m, AXIS_M) for m in nominal])
    pos, ang = np.zeros((400, n_cam + 1)), np.zeros((400, n_cam + 1))
    for i in range(400):
        sample = rig(draws[i])
        fit = g.rigid_fit(np.vstack([g.axis_points(m, AXIS_M) for m in sample]), dst)
        for k, (a, b) in enumerate(zip(sample, nominal, strict=True)):
            pos[i, k] = np.linalg.norm((fit @ a)[:3, 3] - b[:3, 3])
            ang[i, k] = g.angle_deg((fit @ a)[:3, :3], b[:3, :3])
    assert [s.position_m for s in got] == pytest.approx(np.sqrt(np.mean(pos**2, axis=0)), rel=1e-8)
    assert [s.angle_deg for s in got] == pytest.approx(np.sqrt(np.mean(ang**2, axis=0)), rel=1e-6)
    assert min(s.position_m for s in got) > 0  # the draws do move the cameras
