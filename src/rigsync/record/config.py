"""How a recording is written (:class:`RecorderConfig`) and what the recorder has done (:class:`RecorderStats`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Compression(StrEnum):
    """Chunk compression."""

    NONE = "none"
    LZ4 = "lz4"
    ZSTD = "zstd"


@dataclass(frozen=True)
class RecorderConfig:
    """How a recording is written; validated at construction (``ValueError`` naming the field)."""

    compression: Compression = Compression.ZSTD
    zstd_level: int = 1
    chunk_size_bytes: int = 8 << 20
    """Uncompressed bytes per chunk: the open chunk is written once a group of messages (an image with its
    camera_info and stamp) fills it, or when it is due by ``flush_age_s``."""
    queue_max_bytes: int = 256 << 20
    """Image bytes the queue may hold before ``write_image`` waits."""
    put_timeout_s: float = 0.5
    """How long ``write_image`` waits for room before giving up on the frame (a recorder overrun); ``math.inf``:
    as long as the writer needs (or until the recorder's ``give_up`` says to stop waiting), for producers that
    lose nothing by waiting (a capture on a virtual clock)."""
    flush_age_s: float = 0.5
    """A chunk is written, full or not, this long after its oldest message was handed to the recorder (and
    at least half of it after the writer opened it), so what a crash can lose is young. Smaller chunks cost
    writer time: see BENCHMARKS.md."""
    queue_max_age_s: float | None = None
    """If set, ``write_image`` also waits (up to ``put_timeout_s``) while the oldest queued image was handed
    over longer ago than this: bounds what is queued but unwritten in time, for producers that lose nothing by
    waiting (a capture on a virtual clock). None: the queue is bounded by ``queue_max_bytes`` only."""
    reorder_window_ns: int = 500_000_000
    """For a recorder given no watermark (:meth:`Recorder.advance`, which a capture gives): a message waits in the
    reorder buffer until one this much newer (log time) has come, then is written in log-time order."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "compression", Compression(self.compression))
        except ValueError:
            raise ValueError(f"RecorderConfig.compression = {self.compression!r}: allowed: none, lz4, zstd") from None
        checks = (
            ("zstd_level", -7 <= self.zstd_level <= 22, "must be within -7..22"),
            ("chunk_size_bytes", 1024 <= self.chunk_size_bytes <= 1 << 31, "must be within 1 KiB..2 GiB"),
            ("queue_max_bytes", self.queue_max_bytes > 0, "must be > 0"),
            ("put_timeout_s", self.put_timeout_s >= 0.0, "must be >= 0 (math.inf: no limit)"),
            ("flush_age_s", 0.0 < self.flush_age_s <= 3600.0, "must be within (0, 3600] s"),
            ("queue_max_age_s", self.queue_max_age_s is None or 0.0 < self.queue_max_age_s <= 3600.0,
             "must be None or within (0, 3600] s"),
            ("reorder_window_ns", 0 <= self.reorder_window_ns <= 3_600_000_000_000, "must be within 0..3600 s"),
        )
        for name, ok, problem in checks:
            if not ok:
                raise ValueError(f"RecorderConfig.{name} = {getattr(self, name)!r}: {problem}")


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """What the recorder has done. Image and message counts include only what reached the file."""

    images: int
    image_bytes: int
    messages: int
    bytes_written: int
    overruns: int
    """Frames refused because the queue stayed full for ``put_timeout_s`` (``recorder_overrun``)."""
    queue_high_water_bytes: int
    late_messages: int = 0
    """Messages that came after a message with a later log time was written: written out of log-time order
    (nothing is lost), e.g. a frame later than its stream's lateness allowance."""
    early_releases: int = 0
    """Messages written before the watermark passed them, to make room in a full queue."""
