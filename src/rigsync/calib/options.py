"""What ``rigsync calibrate`` is asked to do: a frozen, validated options object."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rigsync.core.errors import OptionError

INTRINSICS = ("factory", "solve")
RIG_FILE = "rig-file"
AUTO = "auto"

DEFAULT_MAX_ERROR_PX = 0.1
"""Default limit on a frameset's expected corner error from timing (spread, stamp bounds, board motion)."""
MIN_VIEWS = 3
"""A camera needs this many used board views (shared with the rest) to be calibrated."""


@dataclass(frozen=True, slots=True)
class CalibOptions:
    """How to calibrate. ``streams`` empty: every colour and infrared stream of the recording."""

    intrinsics: str = "factory"
    """``factory`` (each stream's camera_info) or ``solve`` (per camera from its board views, with distortion)."""
    origin: str = AUTO
    """``rig-file`` (fit to the rig file's declared poses), a camera key (its frame is the rig frame), or ``auto``
    (``rig-file`` when the rig file declares every calibrated camera's pose, else the root camera)."""
    max_error_px: float = DEFAULT_MAX_ERROR_PX
    """Framesets whose expected corner error from timing exceeds this are not used."""
    streams: tuple[str, ...] = ()
    """``<device>/<stream>`` to calibrate (empty: all colour and infrared streams)."""
    workers: int | None = None
    """Detection processes (None: one per core)."""

    def __post_init__(self) -> None:
        if self.intrinsics not in INTRINSICS:
            raise OptionError("--intrinsics", self.intrinsics, "unknown", INTRINSICS)
        if not (math.isfinite(self.max_error_px) and self.max_error_px > 0):
            raise OptionError("--max-error", self.max_error_px, "must be a finite number of pixels", "more than 0")
        for s in self.streams:
            if s.count("/") != 1 or not all(s.split("/")):
                raise OptionError("--stream", s, "not a stream key", "<device>/<stream>, e.g. cam1/color")
        if self.workers is not None and self.workers < 1:
            raise OptionError("--workers", self.workers, "must be at least 1")
