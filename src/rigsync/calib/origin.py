"""The rig frame's origin: a camera's frame, or the rig file's world frame fitted to its declared camera poses.

``rig-file``: the rigid transform (no scale: the board fixes metres) that best maps the solved cameras onto the
rig file's declared poses, fitted (least squares) to each camera's centre and the tips of its three axes
:data:`AXIS_M` long. The length weighs orientation against position: a calibration knows orientations to a few
hundredths of a degree and centres to about a millimetre, and 2 m makes 0.03 degrees weigh as much as 1 mm. The
residual says how far the declared poses are from the solved ones after the fit: a
measure of the rig file's accuracy, not of the calibration's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigsync.calib import geometry as g
from rigsync.calib.geometry import F64
from rigsync.calib.options import AUTO, RIG_FILE
from rigsync.core.errors import OptionError

AXIS_M = 2.0
"""Length of the camera axes the rig-file fit matches (weighs orientation against position)."""


@dataclass(frozen=True, slots=True)
class Placed:
    """Poses moved to the chosen origin."""

    origin: str
    """``rig-file`` or the key of the camera whose frame is the rig frame."""
    rig_from_camera: dict[str, F64]
    rig_from_board: dict[int, F64]
    position_residual_m: float | None = None
    """``rig-file``: RMS distance between solved and declared camera centres after the fit."""
    angle_residual_deg: float | None = None
    """``rig-file``: the largest angle between a solved and a declared camera orientation after the fit."""


def place(origin: str, root: str, rig_from_camera: dict[str, F64], rig_from_board: dict[int, F64],
          declared: dict[str, F64]) -> Placed:
    """Move the solution (in ``root``'s frame) to ``origin``; ``declared``: the rig file's ``world_from_camera``."""
    if origin == AUTO:
        origin = RIG_FILE if declared and all(k in declared for k in rig_from_camera) else root
    if origin == RIG_FILE:
        missing = sorted(k for k in rig_from_camera if k not in declared)
        if missing:
            raise OptionError("--origin", RIG_FILE, f"the rig file declares no pose for {', '.join(missing)}",
                              "a camera key, or rig-file when every device has a pose")
        keys = sorted(rig_from_camera)
        src = np.vstack([g.axis_points(rig_from_camera[k], AXIS_M) for k in keys])
        dst = np.vstack([g.axis_points(declared[k], AXIS_M) for k in keys])
        fit = g.rigid_fit(src, dst)
        cams = {k: fit @ m for k, m in rig_from_camera.items()}
        dist = [float(np.linalg.norm(cams[k][:3, 3] - declared[k][:3, 3])) for k in keys]
        angles = [g.angle_deg(cams[k][:3, :3], declared[k][:3, :3]) for k in keys]
        return Placed(RIG_FILE, cams, {i: fit @ m for i, m in rig_from_board.items()},
                      float(np.sqrt(np.mean(np.square(dist)))), max(angles))
    if origin not in rig_from_camera:
        raise OptionError("--origin", origin, "not a calibrated camera",
                          [RIG_FILE, AUTO, *sorted(rig_from_camera)])
    to_new = g.inverse(rig_from_camera[origin])
    return Placed(origin, {k: to_new @ m for k, m in rig_from_camera.items()},
                  {i: to_new @ m for i, m in rig_from_board.items()})
