"""The rig calibrated as a set from a recording of a ChArUco board (``rigsync calibrate``): every camera's pose in one
rig frame, written as ``rig-calibration.json`` (:mod:`rigsync.core.calibration`). Entry point:
:func:`rigsync.calib.run.calibrate_recording`; how it works: docs/calibration.md. Nothing is imported here, so that
the command line's parser does not load OpenCV and SciPy."""
