"""How well the bundle adjustment determined each camera's pose: its standard deviation from the Jacobian.

The covariance of the unknowns is ``s^2 (J^T J)^-1`` at the solution (``J`` the robust loss's Jacobian, ``s^2``
the residuals' variance per degree of freedom). Its cameras' block is sampled; each sampled rig is aligned onto the
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

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.origin import AXIS_M

MAX_POSITION_M = 0.002
MAX_ANGLE_DEG = 0.1
"""A camera is trusted when its expected (RMS) pose error is within both limits."""
_SAMPLES = 400


@dataclass(frozen=True, slots=True)
class PoseSigma:
    """One camera's pose uncertainty (RMS, 3D), relative to the root camera."""

    position_m: float
    angle_deg: float

    @property
    def trusted(self) -> bool:
        return self.position_m <= MAX_POSITION_M and self.angle_deg <= MAX_ANGLE_DEG


def camera_sigmas(jac: Any, residuals: F64, x: F64, n_cam: int) -> list[PoseSigma]:
    """Per camera (the root, then the first ``6 * n_cam`` unknowns: ``camera_from_rig`` vectors), its pose's RMS
    error (3D distance of the centre, angle of the orientation) expected from the fit, after the rig frames are
    aligned (each sampled rig is fitted onto the solved one as ``rig-file`` is: the root is measured too)."""
    m, p = jac.shape
    h = np.asarray((jac.T @ jac).toarray())
    s2 = float(residuals @ residuals) / max(m - p, 1)
    cov = s2 * np.linalg.pinv(h)[: 6 * n_cam, : 6 * n_cam]
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(x[: 6 * n_cam], (cov + cov.T) / 2, _SAMPLES).reshape(_SAMPLES, n_cam, 6)

    def rig_from_cameras(v: F64) -> list[F64]:
        return [np.eye(4), *(g.inverse(g.pose_from_vector(c)) for c in v)]

    nominal = rig_from_cameras(x[: 6 * n_cam].reshape(n_cam, 6))
    dst = np.vstack([g.axis_points(m_, AXIS_M) for m_ in nominal])
    d_pos, d_ang = np.zeros((_SAMPLES, n_cam + 1)), np.zeros((_SAMPLES, n_cam + 1))
    for i in range(_SAMPLES):
        sample = rig_from_cameras(draws[i])
        fit = g.rigid_fit(np.vstack([g.axis_points(m_, AXIS_M) for m_ in sample]), dst)
        for k, (a_, b_) in enumerate(zip(sample, nominal, strict=True)):
            moved = fit @ a_
            d_pos[i, k] = np.linalg.norm(moved[:3, 3] - b_[:3, 3])
            d_ang[i, k] = g.angle_deg(moved[:3, :3], b_[:3, :3])
    return [PoseSigma(float(np.sqrt(np.mean(d_pos[:, k] ** 2))), float(np.sqrt(np.mean(d_ang[:, k] ** 2))))
            for k in range(n_cam + 1)]
