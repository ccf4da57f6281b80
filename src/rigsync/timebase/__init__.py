"""Pure timing logic: device clock -> host clock -> rig clock, with error bounds and no jumps."""

from rigsync.timebase.estimator import ClockEstimate, ClockEstimator, EstimatorConfig
from rigsync.timebase.stamper import ClockSummary, DeviceTimebase, SlewingMap, Stamp, TimebaseConfig

__all__ = [
    "ClockEstimate",
    "ClockEstimator",
    "ClockSummary",
    "DeviceTimebase",
    "EstimatorConfig",
    "SlewingMap",
    "Stamp",
    "TimebaseConfig",
]
