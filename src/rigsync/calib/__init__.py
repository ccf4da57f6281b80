"""The rig calibrated as a set from a recording of a ChArUco board (``rigsync calibrate``): every camera's pose in one
rig frame, written as ``rig-calibration.json`` (:mod:`rigsync.core.calibration`). See docs/calibration.md."""

from rigsync.calib.options import CalibOptions
from rigsync.calib.run import CalibrationRun, calibrate_recording
from rigsync.calib.solve import CalibrationError

__all__ = ["CalibOptions", "CalibrationError", "CalibrationRun", "calibrate_recording"]
