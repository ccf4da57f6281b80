"""Each camera's intrinsics solved from its own board views (``--intrinsics solve``), and how far they can be trusted.

The solve (``cv2.calibrateCameraExtended`` on every image in which the camera saw the board, whether or not another
camera saw it at the same moment) starts from a guess made from the views alone (``cv2.initCameraMatrix2D``: the
principal point at the image centre, the focal length from the board's homographies), never from the factory's
values. Views whose RMS error is over three times the median (a misdetection) are left out, and views of the
board turned more than 65 deg from the camera's axis (their corners are located with a bias). The full model
(``fx, fy, cx, cy``, radial ``k1, k2``, tangential ``p1, p2``; ``k3`` always held at 0) is solved first; then each
distortion term whose estimate is within 3.3 standard deviations of 0 (99.9%) is held at 0, and ``fy`` is held at
``fx`` (square pixels) unless freeing it lowers the squared corner residuals significantly (chi-square, 99.9%).
Holding what the views do not determine is what keeps the principal point determined: ``p1, p2`` trade off
against it. What is held is stated (:attr:`SolvedIntrinsics.fixed`).

Trust: the bundle adjustment holds the intrinsics fixed, so their errors go straight into the pose. A principal
point off by ``dc`` pixels turns the camera by ``dc / f`` radians; a focal length off by ``df / f`` moves the
camera along its axis by that fraction of its distance to the board. :attr:`SolvedIntrinsics.position_m` and
:attr:`~SolvedIntrinsics.angle_deg` are these, from the solve's 1-sigma uncertainties; over 2 mm or 0.1 degree
the camera is not calibrated and :meth:`SolvedIntrinsics.problem` says what to record instead. (Measured on the
simulator, both are conservative: the rig frame's fit absorbs the part of the error the cameras share.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.stats import chi2, norm

from rigsync.calib.solve import CalibrationError
from rigsync.calib.uncertainty import MAX_ANGLE_DEG, MAX_POSITION_M
from rigsync.core.intrinsics import Intrinsics

MIN_SOLVE_VIEWS = 8
"""Images a camera needs to have its intrinsics solved."""
OUTLIER_FACTOR = 3.0
"""A view whose RMS corner error is over this many times the median view's is left out."""
MAX_TILT_DEG = 65.0
"""A view of the board turned further than this from the camera's axis is left out: its corners, seen so
foreshortened, are located with a bias (on the simulator, views past 65 deg pulled focal lengths off by 0.3%)."""
SIGNIFICANCE = 0.999
"""A term is kept only when it is this unlikely to be noise alone."""
_Z = float(norm.ppf(0.5 + SIGNIFICANCE / 2))
"""A distortion term within this many of its standard deviations of 0 is held at 0 (3.29)."""
COVERAGE_CELLS = 8
"""Coverage is counted on an ``8 x 8`` grid over the image."""

_FLAGS = {"k1": cv2.CALIB_FIX_K1, "k2": cv2.CALIB_FIX_K2, "fy": cv2.CALIB_FIX_ASPECT_RATIO,
          "p1, p2": cv2.CALIB_ZERO_TANGENT_DIST}
"""Each optional term and the flag that holds it (k1, k2 at 0; fy at fx; p1, p2 at 0)."""
_PARAMS = {"k1": 1, "k2": 1, "fy": 1, "p1, p2": 2}
_HELD = {"k1": "k1 = 0", "k2": "k2 = 0", "fy": "fy = fx", "p1, p2": "p1 = p2 = 0"}


@dataclass(frozen=True, slots=True)
class SolvedIntrinsics:
    """One camera's solved intrinsics, what determined them, and the pose error their uncertainty implies."""

    intrinsics: Intrinsics
    rms_px: float
    """RMS corner reprojection error of the solve."""
    views: int
    """Images used."""
    rejected: int
    """Images left out as outliers."""
    steep: int
    """Images left out because the board was turned more than :data:`MAX_TILT_DEG` from the camera's axis."""
    fixed: tuple[str, ...]
    """Terms held because the views do not determine them (``k3 = 0`` always)."""
    focal_sigma: float
    """Relative 1-sigma uncertainty of the focal length (0.001: 0.1%)."""
    principal_point_px: float
    """1-sigma uncertainty of the principal point (the worse of cx, cy), pixels."""
    distance_m: float
    """Median distance of the board from the camera."""
    tilt_deg: float
    """Median angle between the board's normal and the camera's axis."""
    coverage: float
    """Fraction of the image (``8 x 8`` cells) the board's corners reached."""

    @property
    def angle_deg(self) -> float:
        """Orientation error (1 sigma) that the principal point's uncertainty implies."""
        return math.degrees(self.principal_point_px / self.intrinsics.fx)

    @property
    def position_m(self) -> float:
        """Position error (1 sigma, along the axis) that the focal length's uncertainty implies."""
        return self.focal_sigma * self.distance_m

    @property
    def trusted(self) -> bool:
        return self.position_m <= MAX_POSITION_M and self.angle_deg <= MAX_ANGLE_DEG

    def problem(self, key: str) -> str | None:
        """Why the camera's pose cannot be trusted with these intrinsics, and what to record; None: it can."""
        if self.trusted:
            return None
        more = max((self.position_m / MAX_POSITION_M) ** 2, (self.angle_deg / MAX_ANGLE_DEG) ** 2)
        return (f"{key}: its solved intrinsics leave its pose uncertain by {self.position_m * 1000:.1f} mm and "
                f"{self.angle_deg:.2f} deg (1 sigma; limits {MAX_POSITION_M * 1000:g} mm, {MAX_ANGLE_DEG:g} deg): "
                f"focal length known to {self.focal_sigma * 100:.2f}% at the board's {self.distance_m:.2f} m, "
                f"principal point to {self.principal_point_px:.2f} px, from {self.views} images of the board "
                f"tilted {self.tilt_deg:.0f} deg (median) reaching {self.coverage:.0%} of the image. Record the "
                f"board closer (filling half the image or more), tilted 40-60 deg in turn towards each side, "
                f"carried into every corner of the image (as they are now, it would take about {math.ceil(more)} "
                "times as many images); or use the factory intrinsics (--intrinsics factory)")


@dataclass(frozen=True, slots=True)
class _Fit:
    rms_px: float
    k: np.ndarray
    dist: np.ndarray
    sigma: np.ndarray
    per_view: np.ndarray
    rvecs: tuple[np.ndarray, ...]
    tvecs: tuple[np.ndarray, ...]


def _fit(obj: list[np.ndarray], img: list[np.ndarray], size: tuple[int, int], k0: np.ndarray, flags: int) -> _Fit:
    rms, k, dist, rvecs, tvecs, sigma, _, per_view = cv2.calibrateCameraExtended(
        obj, img, size, k0.copy(), np.zeros(5), flags=flags | cv2.CALIB_USE_INTRINSIC_GUESS | cv2.CALIB_FIX_K3)
    return _Fit(float(rms), k, np.asarray(dist, dtype=np.float64).reshape(-1)[:5],
                np.asarray(sigma, dtype=np.float64).reshape(-1), np.asarray(per_view).reshape(-1),
                tuple(rvecs), tuple(tvecs))


def _tilt_deg(rvec: np.ndarray) -> float:
    """Angle between the board's normal and the camera's axis, degrees."""
    return math.degrees(math.acos(min(1.0, abs(float(cv2.Rodrigues(rvec)[0][2, 2])))))


def _flags(held: Sequence[str]) -> int:
    return sum(_FLAGS[t] for t in held)


def _select(obj: list[np.ndarray], img: list[np.ndarray], size: tuple[int, int],
            full: _Fit) -> tuple[_Fit, tuple[str, ...]]:
    """The smallest model the views determine, from the full model's fit ``full``, and the terms it holds: a
    distortion term whose estimate is within :data:`_Z` of its uncertainty of 0 is held at 0 (a Wald test); then
    ``fy`` is held at ``fx`` unless freeing it lowers the squared residuals significantly (chi-square)."""
    n = sum(len(o) for o in obj)
    held = [t for t, idx in (("k1", (4,)), ("k2", (5,)), ("p1, p2", (6, 7)))
            if all(abs(full.dist[i - 4]) <= _Z * full.sigma[i] for i in idx)]
    free_fy = _fit(obj, img, size, full.k, _flags(held)) if held else full
    square = full.k.copy()
    square[0, 0] = square[1, 1] = (full.k[0, 0] + full.k[1, 1]) / 2
    same_fy = _fit(obj, img, size, square, _flags([*held, "fy"]))
    dof = 2 * n - 6 * len(obj) - 8 + sum(_PARAMS[t] for t in held)
    ss_free, ss_same = free_fy.rms_px ** 2 * n, same_fy.rms_px ** 2 * n
    if (ss_same - ss_free) / max(ss_free / max(dof, 1), 1e-12) > chi2.ppf(SIGNIFICANCE, 1):
        return free_fy, (*(_HELD[t] for t in held), "k3 = 0")
    return same_fy, (*(_HELD[t] for t in [*held, "fy"]), "k3 = 0")


def solve_intrinsics(key: str, views: Sequence[tuple[np.ndarray, np.ndarray]], width: int,
                     height: int) -> SolvedIntrinsics:
    """Intrinsics with distortion from ``(board_m, pixels)`` views of one camera (board points planar, z = 0),
    with what they imply for the camera's pose (see the module)."""
    if len(views) < MIN_SOLVE_VIEWS:
        raise CalibrationError(f"{key}: --intrinsics solve needs the board in at least {MIN_SOLVE_VIEWS} of "
                               f"its images, it is in {len(views)}: record more views, or use the factory "
                               "intrinsics (--intrinsics factory)")
    obj = [np.asarray(b, dtype=np.float32).reshape(-1, 1, 3) for b, _ in views]
    img = [np.asarray(p, dtype=np.float32).reshape(-1, 1, 2) for _, p in views]
    size = (width, height)
    try:
        full = _fit(obj, img, size, cv2.initCameraMatrix2D(obj, img, size), 0)
        fine = full.per_view <= OUTLIER_FACTOR * float(np.median(full.per_view))
        steep = np.array([_tilt_deg(r) > MAX_TILT_DEG for r in full.rvecs])
        keep = fine & ~steep
        if keep.sum() < MIN_SOLVE_VIEWS:
            raise CalibrationError(
                f"{key}: --intrinsics solve needs the board in at least {MIN_SOLVE_VIEWS} of its images, seen well: "
                f"of {len(views)}, {int((~fine).sum())} are outliers and {int((steep & fine).sum())} turned more than "
                f"{MAX_TILT_DEG:g} deg from the camera's axis: record more views, or use the factory intrinsics "
                "(--intrinsics factory)")
        if not keep.all():
            obj = [o for o, ok in zip(obj, keep, strict=True) if ok]
            img = [i for i, ok in zip(img, keep, strict=True) if ok]
            full = _fit(obj, img, size, full.k, 0)
        fit, fixed = _select(obj, img, size, full)
    except cv2.error as err:
        raise CalibrationError(f"{key}: --intrinsics solve: its board views do not determine its intrinsics "
                               f"({str(err).strip().splitlines()[-1]}): record the board at more distances and "
                               "tilts, or use the factory intrinsics (--intrinsics factory)") from None
    k, s = fit.k, fit.sigma
    rotations = [cv2.Rodrigues(r)[0] for r in fit.rvecs]
    pixels = np.vstack([i.reshape(-1, 2) for i in img])
    cells = np.clip((pixels / np.array(size) * COVERAGE_CELLS).astype(int), 0, COVERAGE_CELLS - 1)
    intrinsics = Intrinsics(width=width, height=height, fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]),
                            cy=float(k[1, 2]), distortion_model="plumb_bob",
                            distortion=tuple(float(v) for v in fit.dist))
    return SolvedIntrinsics(
        intrinsics=intrinsics, rms_px=fit.rms_px, views=len(obj), rejected=int((~fine).sum()),
        steep=int((steep & fine).sum()), fixed=fixed,
        focal_sigma=float(max(s[0] / k[0, 0], s[1] / k[1, 1])), principal_point_px=float(max(s[2], s[3])),
        distance_m=float(np.median([np.linalg.norm(r @ o.reshape(-1, 3).mean(axis=0) + t.reshape(-1))
                                    for r, t, o in zip(rotations, fit.tvecs, obj, strict=True)])),
        tilt_deg=float(np.median([_tilt_deg(r) for r in fit.rvecs])),
        coverage=len({(int(u), int(v)) for u, v in cells}) / COVERAGE_CELLS ** 2)
