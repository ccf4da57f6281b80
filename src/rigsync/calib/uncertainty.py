"""How well the bundle adjustment determined each camera's pose: its standard deviation from the Jacobian.

The covariance of the unknowns is ``s^2 (J^T J)^-1`` at the solution (``J`` the robust loss's Jacobian, ``s^2``
the residuals' variance per degree of freedom). Only its cameras' block is needed: the inverse of the Schur
complement ``A - B D^+ B^T`` of ``J^T J = [[A, B], [B^T, D]]`` over the other unknowns (``D``: the boards', and
whatever follows the cameras), which ``D``'s sparsity keeps cheap (:func:`camera_covariance`). The cameras' block is
sampled; each sampled rig is aligned onto the
solved one (the ``rig-file`` fit of :mod:`rigsync.calib.origin`) and each camera's centre and orientation compared:
the RMS over the samples is the camera's expected error after aligning the rig frames. A camera whose expected
(RMS) position or orientation error exceeds :data:`MAX_POSITION_M` or :data:`MAX_ANGLE_DEG` is not calibrated well
enough to be trusted: :mod:`rigsync.calib.solve` leaves it out, saying so, rather than write a pose
that may be wrong by more than the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.origin import AXIS_M

MAX_POSITION_M = 0.002
MAX_ANGLE_DEG = 0.1
"""A camera is trusted when its expected (RMS) pose error is within both limits."""
_SAMPLES = 400
DENSE_BLOCK = 64
"""Independent blocks of the other unknowns up to this size are pseudo-inverted densely (batched); larger ones are
factorized sparse."""


@dataclass(frozen=True, slots=True)
class PoseSigma:
    """One camera's pose uncertainty (RMS, 3D), relative to the root camera."""

    position_m: float
    angle_deg: float

    @property
    def trusted(self) -> bool:
        return self.position_m <= MAX_POSITION_M and self.angle_deg <= MAX_ANGLE_DEG


def camera_covariance(jac: Any, n_params: int) -> F64:
    """The first ``n_params`` unknowns' block of ``(J^T J)^+`` (``jac``: dense or sparse), without inverting the rest.

    The other unknowns fall into independent blocks (connected components of ``D``'s sparsity: a board pose,
    a board pose with its velocity, any size): each block's share of the Schur complement is its ``B D^+ B^T``,
    by a batched pseudo-inverse for blocks up to :data:`DENSE_BLOCK` unknowns and a sparse LU otherwise. Unknowns
    no residual touches (rows of zeros) drop out; a block with a direction the data do not fix (rank deficient)
    is pseudo-inverted, as ``pinv`` of the whole matrix would: where that direction moves no camera (``B`` is
    zero along it) the result is the whole pseudo-inverse's block. The Schur complement itself (cameras only,
    small) is pseudo-inverted."""
    j = sparse.csr_matrix(jac)
    h = (j.T @ j).tocsr()
    c = n_params
    a = h[:c, :c].toarray()
    if h.shape[0] == c:
        return np.asarray(np.linalg.pinv(a, hermitian=True))
    bt = h[c:, :c].toarray()  # (q, c): the other unknowns' coupling to the cameras
    d_csr = h[c:, c:]
    d = d_csr.tocoo()
    n_blocks, label = connected_components(d, directed=False)
    size = np.bincount(label, minlength=n_blocks)
    order = np.argsort(label, kind="stable")
    local = np.empty_like(label)
    local[order] = np.arange(len(label)) - np.concatenate([[0], np.cumsum(size)[:-1]])[label[order]]
    schur = a.copy()
    for k in np.unique(size):
        blocks = np.flatnonzero(size == k)
        slot = np.full(n_blocks, -1)
        slot[blocks] = np.arange(len(blocks))
        members = order[np.isin(label[order], blocks)].reshape(len(blocks), k)  # unknowns of each block, in order
        if k <= DENSE_BLOCK:
            dd = np.zeros((len(blocks), k, k))
            inside = slot[label[d.row]] >= 0
            np.add.at(dd, (slot[label[d.row[inside]]], local[d.row[inside]], local[d.col[inside]]), d.data[inside])
            b_k = bt[members]  # (blocks, k, c)
            x = np.linalg.pinv(dd, hermitian=True) @ b_k
            schur -= np.einsum("bkc,bkd->cd", b_k, x)
        else:
            for idx in members:
                schur -= _share(d_csr[idx][:, idx], bt[idx])
    return np.asarray(np.linalg.pinv((schur + schur.T) / 2, hermitian=True))


def _share(d: Any, bt: F64) -> F64:
    """``B D^+ B^T`` of one large block: a sparse LU over the unknowns the data touch (a dense pseudo-inverse when
    the LU finds the block singular or gives no finite result)."""
    touched = np.flatnonzero(d.diagonal() > 0)
    d, bt = sparse.csc_matrix(d[touched][:, touched]), bt[touched]
    try:
        x = splu(d).solve(bt)
    except RuntimeError:  # exactly singular: a direction the data do not fix
        x = np.full_like(bt, np.nan)
    if not np.all(np.isfinite(x)):
        x = np.linalg.pinv(d.toarray(), hermitian=True) @ bt
    return np.asarray(bt.T @ x)


def camera_sigmas(jac: Any, residuals: F64, x: F64, n_cam: int) -> list[PoseSigma]:
    """Per camera (the root, then the first ``6 * n_cam`` unknowns: ``camera_from_rig`` vectors), its pose's RMS
    error (3D distance of the centre, angle of the orientation) expected from the fit, after the rig frames are
    aligned (each sampled rig is fitted onto the solved one as ``rig-file`` is: the root is measured too)."""
    m, p = jac.shape
    s2 = float(residuals @ residuals) / max(m - p, 1)
    cov = s2 * camera_covariance(jac, 6 * n_cam)
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(x[: 6 * n_cam], (cov + cov.T) / 2, _SAMPLES).reshape(_SAMPLES * n_cam, 6)
    # every sample's rig_from_camera (the root's the identity): rotation R^T and centre -R^T t of camera_from_rig
    rot = np.tile(np.eye(3), (_SAMPLES, n_cam + 1, 1, 1))
    rot[:, 1:] = g.rotations(draws[:, :3]).reshape(_SAMPLES, n_cam, 3, 3).transpose(0, 1, 3, 2)
    centre = np.zeros((_SAMPLES, n_cam + 1, 3))
    centre[:, 1:] = -np.einsum("scij,scj->sci", rot[:, 1:], draws[:, 3:].reshape(_SAMPLES, n_cam, 3))
    nominal = x[: 6 * n_cam].reshape(n_cam, 6)
    rot0 = np.concatenate([np.eye(3)[None], g.rotations(nominal[:, :3]).transpose(0, 2, 1)])
    centre0 = np.concatenate([np.zeros((1, 3)), -np.einsum("cij,cj->ci", rot0[1:], nominal[:, 3:])])
    # each sample fitted onto the solved rig (centres and axis tips, as rigsync.calib.origin's rig-file fit)
    src = _axis_points(rot, centre).reshape(_SAMPLES, -1, 3)
    dst = _axis_points(rot0, centre0).reshape(-1, 3)
    fit_r, fit_t = _rigid_fits(src, dst)
    moved_c = np.einsum("sij,scj->sci", fit_r, centre) + fit_t[:, None]
    d_pos = np.linalg.norm(moved_c - centre0, axis=2)
    moved_r = np.einsum("sij,scjk->scik", fit_r, rot)
    cos = (np.einsum("scji,cji->sc", moved_r, rot0) - 1.0) / 2.0  # trace(moved^T nominal)
    d_ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    pos, ang = np.sqrt(np.mean(d_pos**2, axis=0)), np.sqrt(np.mean(d_ang**2, axis=0))
    return [PoseSigma(float(pos[k]), float(ang[k])) for k in range(n_cam + 1)]


def _axis_points(rot: F64, centre: F64) -> F64:
    """(..., 4, 3): each camera's centre and its three axis tips :data:`AXIS_M` out (:func:`g.axis_points`)."""
    return np.concatenate([centre[..., None, :], centre[..., None, :] + AXIS_M * np.swapaxes(rot, -1, -2)], axis=-2)


def _rigid_fits(src: F64, dst: F64) -> tuple[F64, F64]:
    """(S, 3, 3) rotations and (S, 3) translations of :func:`g.rigid_fit` for (S, N, 3) point sets onto one."""
    cs, cd = src.mean(axis=1), dst.mean(axis=0)
    h = np.einsum("sni,nj->sij", src - cs[:, None], dst - cd)
    u, _, vt = np.linalg.svd(h)
    v, ut = np.swapaxes(vt, 1, 2), np.swapaxes(u, 1, 2)
    d = np.sign(np.linalg.det(v @ ut))
    flip = np.ones((len(d), 3))
    flip[:, 2] = d
    r = v @ (flip[:, :, None] * ut)  # v diag(1, 1, d) u^T
    return r, cd - np.einsum("sij,sj->si", r, cs)
