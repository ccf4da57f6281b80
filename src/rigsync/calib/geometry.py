"""Rigid transforms and the pinhole projection the solver uses, vectorized over many poses and points.

A pose is a 4x4 homogeneous matrix ``a_from_b`` (``x_a = R @ x_b + t``), metres. Rotation vectors are OpenCV's
(axis times angle, radians). The camera frame is OpenCV's (x right, y down, z forward); the projection applies
the plumb-bob distortion ``(k1, k2, p1, p2, k3)`` as ``cv2.projectPoints`` does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from rigsync.core.geometry import Pose
from rigsync.core.geometry import camera_to_world as world_from_camera
from rigsync.core.intrinsics import Intrinsics

F64 = npt.NDArray[np.float64]


def rotations(rvecs: npt.ArrayLike) -> F64:
    """(N, 3) rotation vectors to (N, 3, 3) rotation matrices (Rodrigues: ``cos I + sin [k]x + (1 - cos) k k^T``,
    ``k`` the unit axis; elementwise, without matrix products: it runs once per residual evaluation)."""
    r = np.asarray(rvecs, dtype=np.float64).reshape(-1, 3)
    if len(r) == 1:
        return _rotation(*r[0].tolist())[None]
    theta = np.sqrt(np.einsum("ij,ij->i", r, r))
    small = theta < 1e-12
    k = r / np.where(small, 1.0, theta)[:, None]
    s, c = np.sin(theta), np.cos(theta)
    s[small], c[small] = 0.0, 1.0  # the identity
    kx, ky, kz = k[:, 0], k[:, 1], k[:, 2]
    out = ((1.0 - c)[:, None, None] * (k[:, :, None] * k[:, None, :]))
    out[:, 0, 0] += c
    out[:, 1, 1] += c
    out[:, 2, 2] += c
    out[:, 0, 1] -= s * kz
    out[:, 0, 2] += s * ky
    out[:, 1, 0] += s * kz
    out[:, 1, 2] -= s * kx
    out[:, 2, 0] -= s * ky
    out[:, 2, 1] += s * kx
    return np.asarray(out, dtype=np.float64)


def _rotation(x: float, y: float, z: float) -> F64:
    """One rotation vector's matrix, as :func:`rotations` (scalar arithmetic: a tenth of the numpy calls' time)."""
    theta = math.sqrt(x * x + y * y + z * z)
    if theta < 1e-12:
        return np.eye(3)
    kx, ky, kz = x / theta, y / theta, z / theta
    s, c = math.sin(theta), math.cos(theta)
    v = 1.0 - c
    return np.array([[c + v * kx * kx, v * kx * ky - s * kz, v * kx * kz + s * ky],
                     [v * ky * kx + s * kz, c + v * ky * ky, v * ky * kz - s * kx],
                     [v * kz * kx - s * ky, v * kz * ky + s * kx, c + v * kz * kz]])


def rotation_vector(rotation: npt.ArrayLike) -> F64:
    """A 3x3 rotation matrix to its rotation vector."""
    import cv2

    rvec, _ = cv2.Rodrigues(np.asarray(rotation, dtype=np.float64))
    return np.asarray(rvec, dtype=np.float64).reshape(3)


def pose(rotation: npt.ArrayLike, translation: npt.ArrayLike) -> F64:
    """A 4x4 pose from a 3x3 rotation and a translation."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(rotation, dtype=np.float64)
    m[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return m


def pose_from_vector(v: npt.ArrayLike) -> F64:
    """A 4x4 pose from ``(rvec, tvec)`` (6 numbers)."""
    a = np.asarray(v, dtype=np.float64).reshape(6)
    m = np.eye(4)
    m[:3, :3] = rotations(a[:3])[0]
    m[:3, 3] = a[3:]
    return m


def pose_vector(m: npt.ArrayLike) -> F64:
    """``(rvec, tvec)`` (6 numbers) of a 4x4 pose."""
    a = np.asarray(m, dtype=np.float64)
    return np.concatenate([rotation_vector(a[:3, :3]), a[:3, 3]])


def inverse(m: npt.ArrayLike) -> F64:
    """The inverse of a 4x4 rigid pose."""
    a = np.asarray(m, dtype=np.float64)
    r = a[:3, :3]
    return pose(r.T, -r.T @ a[:3, 3])


def mean_rotation(rs: list[F64]) -> F64:
    """The chordal L2 mean of rotations (the rotation nearest their summed matrix)."""
    u, _, vt = np.linalg.svd(np.sum(rs, axis=0))
    d = np.sign(np.linalg.det(u @ vt))
    return np.asarray(u @ np.diag([1.0, 1.0, d]) @ vt, dtype=np.float64)


def angle_deg(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """The angle of the rotation between two 3x3 rotations, degrees."""
    r = np.asarray(a, dtype=np.float64).T @ np.asarray(b, dtype=np.float64)
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0))))


def camera_matrix(k: Intrinsics) -> F64:
    return np.array([[k.fx, 0.0, k.cx], [0.0, k.fy, k.cy], [0.0, 0.0, 1.0]])


def distortion(k: Intrinsics) -> F64:
    """The five plumb-bob coefficients ``(k1, k2, p1, p2, k3)`` (missing ones zero)."""
    d = np.zeros(5)
    n = min(5, len(k.distortion))
    d[:n] = k.distortion[:n]
    return d


def project(points_cam: F64, k: F64, dist: F64) -> F64:
    """(N, 3) camera-frame points to (N, 2) pixels; ``k`` (N, 4) ``fx fy cx cy`` and ``dist`` (N, 5) per point."""
    z = points_cam[:, 2]
    x, y = points_cam[:, 0] / z, points_cam[:, 1] / z
    r2 = x * x + y * y
    k1, k2, p1, p2, k3 = (dist[:, i] for i in range(5))
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([k[:, 0] * xd + k[:, 2], k[:, 1] * yd + k[:, 3]], axis=1)


def camera_to_world(p: Pose) -> F64:
    """``world_from_camera`` (4x4) of a rig file's pose (:func:`rigsync.core.geometry.camera_to_world`)."""
    return pose(*world_from_camera(p))


def rigid_fit(src: F64, dst: F64) -> F64:
    """The rigid pose ``m`` minimizing ``|m(src) - dst|`` over (N, 3) point pairs (Kabsch, no scale)."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    h = (src - cs).T @ (dst - cd)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return pose(r, cd - r @ cs)


def axis_points(world_from_camera: F64, length_m: float) -> F64:
    """A camera's centre and the tips of its three axes (4, 3): what a rigid fit of camera poses matches."""
    m = np.asarray(world_from_camera)
    return np.vstack([m[:3, 3], m[:3, 3] + length_m * m[:3, :3].T])


def as_tuple(a: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1))
