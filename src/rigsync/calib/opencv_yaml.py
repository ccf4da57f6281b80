"""OpenCV YAML per camera (``cv2.FileStorage``): what OpenCV's own tools read for one camera of the rig.

Each file holds ``image_width``, ``image_height``, ``camera_matrix`` (3x3), ``distortion_coefficients`` (1x5,
plumb bob) and the camera's pose in the rig frame, ``rig_from_camera_R`` (3x3) and ``rig_from_camera_T`` (3x1,
metres): ``x_rig = R @ x_cam + T``. Named ``<device>_<stream>.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rigsync.calib import geometry as g
from rigsync.core.calibration import RigCalibration


def file_name(key: str) -> str:
    return key.replace("/", "_") + ".yaml"


def write_opencv(calibration: RigCalibration, folder: Path) -> list[Path]:
    """One YAML file per calibrated camera in ``folder`` (created); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for cam in calibration.cameras:
        path = folder / file_name(cam.key)
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
        try:
            fs.write("camera_name", cam.key)
            fs.write("image_width", cam.intrinsics.width)
            fs.write("image_height", cam.intrinsics.height)
            fs.write("camera_matrix", g.camera_matrix(cam.intrinsics))
            fs.write("distortion_coefficients", g.distortion(cam.intrinsics).reshape(1, 5))
            fs.write("rig_from_camera_R", np.asarray(cam.rotation, dtype=np.float64).reshape(3, 3))
            fs.write("rig_from_camera_T", np.asarray(cam.translation_m, dtype=np.float64).reshape(3, 1))
            fs.write("rig_origin", calibration.origin)
        finally:
            fs.release()
        written.append(path)
    return written
