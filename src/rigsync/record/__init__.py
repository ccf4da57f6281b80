"""Recording a rig into one MCAP file with Foxglove schemas, and reading it back (see ``docs/recording.md``)."""

from rigsync.record.reader import (
    RecordedImage,
    Recording,
    RecordingSummary,
    StreamInfo,
    open_recording,
)
from rigsync.record.recorder import (
    FRAMESETS_TOPIC,
    TRUTH_TOPIC,
    Compression,
    Recorder,
    RecorderConfig,
    RecorderStats,
)

__all__ = [
    "FRAMESETS_TOPIC",
    "TRUTH_TOPIC",
    "Compression",
    "RecordedImage",
    "Recorder",
    "RecorderConfig",
    "RecorderStats",
    "Recording",
    "RecordingSummary",
    "StreamInfo",
    "open_recording",
]
