"""Each camera's intrinsics: the factory's (the stream's camera_info) or solved from its board views.

Solved (``--intrinsics solve``): ``cv2.calibrateCamera`` on every image in which the camera saw the board (its own
views, whether or not another camera saw the board at the same moment), with the plumb-bob distortion
``(k1, k2, p1, p2, k3)``, starting from the factory's matrix when there is one. The bundle adjustment then holds
them fixed.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from rigsync.calib import geometry as g
from rigsync.calib.solve import CalibrationError
from rigsync.core.intrinsics import Intrinsics

MIN_SOLVE_VIEWS = 8
"""Images a camera needs to have its intrinsics solved."""


def solve_intrinsics(key: str, views: Sequence[tuple[np.ndarray, np.ndarray]], width: int, height: int,
                     start: Intrinsics | None) -> tuple[Intrinsics, float]:
    """Intrinsics with distortion from ``(board_m, pixels)`` views of one camera, and the uncertainty (1 sigma) of
    its principal point as an angle, degrees: a camera's orientation can be no better known than that."""
    if len(views) < MIN_SOLVE_VIEWS:
        raise CalibrationError(f"{key}: --intrinsics solve needs the board in at least {MIN_SOLVE_VIEWS} of "
                               f"its images, it is in {len(views)}: record more views, or use the factory "
                               "intrinsics (--intrinsics factory)")
    obj = [np.asarray(b, dtype=np.float32).reshape(-1, 1, 3) for b, _ in views]
    img = [np.asarray(p, dtype=np.float32).reshape(-1, 1, 2) for _, p in views]
    k0 = g.camera_matrix(start) if start is not None else np.array(
        [[width, 0.0, (width - 1) / 2], [0.0, width, (height - 1) / 2], [0.0, 0.0, 1.0]])
    _, k, dist, _, _, sigma, _, _ = cv2.calibrateCameraExtended(
        obj, img, (width, height), k0, np.zeros(5), flags=cv2.CALIB_USE_INTRINSIC_GUESS | cv2.CALIB_FIX_K3)
    d = np.asarray(dist, dtype=np.float64).reshape(-1)[:5]
    s = np.asarray(sigma, dtype=np.float64).reshape(-1)
    pp_deg = float(np.degrees(max(s[2] / k[0, 0], s[3] / k[1, 1])))
    return Intrinsics(width=width, height=height, fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]),
                      cy=float(k[1, 2]), distortion_model="plumb_bob",
                      distortion=tuple(float(v) for v in d)), pp_deg
