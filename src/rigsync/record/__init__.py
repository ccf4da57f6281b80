"""Recording a rig into one MCAP file with Foxglove schemas, and reading it back (see ``docs/recording.md``)."""

from rigsync.record.reader import (
    FrameStamp,
    RecordedImage,
    Recording,
    RecordingSummary,
    StreamInfo,
    open_recording,
)
from rigsync.record.recorder import (
    FRAMES_TOPIC,
    FRAMESETS_TOPIC,
    TRUTH_TOPIC,
    Compression,
    Recorder,
    RecorderConfig,
    RecorderStats,
)

__all__ = [
    "FRAMESETS_TOPIC",
    "FRAMES_TOPIC",
    "TRUTH_TOPIC",
    "Compression",
    "FrameStamp",
    "RecordedImage",
    "Recorder",
    "RecorderConfig",
    "RecorderStats",
    "Recording",
    "RecordingSummary",
    "StreamInfo",
    "open_recording",
]
