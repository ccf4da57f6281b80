"""When each image row of a camera is exposed: the line time of a rolling shutter."""

from __future__ import annotations

from rigsync.catalog.base import CameraModel, Shutter
from rigsync.core.frame import StreamKind

__all__ = ["line_ns"]


def line_ns(model: CameraModel, kind: StreamKind, height: int) -> float:
    """Delay between the exposure starts of consecutive rows of a ``kind`` image ``height`` rows high: the
    sensor's readout time spread over the rows for a rolling shutter (row ``y`` starts ``y * line_ns`` after
    row 0), 0 for a global shutter."""
    if model.shutter_for(kind) is not Shutter.ROLLING:
        return 0.0
    return model.readout_ns / height
