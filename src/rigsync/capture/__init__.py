"""Capture orchestration: start order, frames -> timebase -> aligner -> recorder, live status."""

from rigsync.capture.session import CaptureOptions, CaptureResult, CaptureSession, PlanError
from rigsync.capture.status import CaptureStatus, StreamStatus

__all__ = ["CaptureOptions", "CaptureResult", "CaptureSession", "CaptureStatus", "PlanError", "StreamStatus"]
