"""Frames as drivers deliver them, and frames stamped in rig time.

A frame is born in a driver with the device's own timestamp (``device_ts_ns``, device clock) and the time its
last byte reached the host (``host_rx_ns``, the host's monotonic clock). The timebase adds ``rig_time_ns`` (the
estimated start of exposure on the rig clock) and an error bound; nothing else changes a frame afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag, StrEnum

import numpy as np


class StreamKind(StrEnum):
    """What a stream carries."""

    COLOR = "color"
    DEPTH = "depth"
    IR = "ir"


class TimestampSemantics(StrEnum):
    """Which instant a device timestamp refers to."""

    START_OF_EXPOSURE = "start-of-exposure"
    """The instant exposure starts (Azure Kinect in master/subordinate roles: "Start of Frame")."""
    CENTER_OF_EXPOSURE = "center-of-exposure"
    """The middle of the exposure (Azure Kinect standalone, RealSense sensor timestamp)."""
    END_OF_EXPOSURE = "end-of-exposure"
    """The end of exposure, when readout starts (RealSense frame timestamp)."""
    HOST_RECEIVE = "host-receive"
    """No device instant: the host's time of reception (UVC webcams through V4L2)."""


class ClockDomain(StrEnum):
    """Which clock ``device_ts_ns`` is read from."""

    DEVICE = "device"
    """The device's own free-running (or PTP-disciplined) counter."""
    HOST = "host"
    """The host's monotonic clock already (V4L2 buffer timestamps; drivers convert system-clock timestamps)."""
    PTP = "ptp"
    """The PTP reference itself: a camera clock disciplined by PTP (GigE Vision PTP frame sync)."""


class FrameFlags(IntFlag):
    """Conditions a driver observed on a frame."""

    NONE = 0
    CORRUPT = 1
    """Transport damage: torn, green or purple frame (USB controller over budget)."""
    INTERFERED = 2
    """A ToF depth frame whose laser window overlapped another camera's laser."""
    AFTER_RECONNECT = 4
    """The first frames after the device reconnected (its clock restarted)."""


class TimeFlags(IntFlag):
    """How far a rig-time stamp can be trusted, beyond its error bound (recorded with every frame)."""

    NONE = 0
    ACQUIRING = 1
    """The device's clock mapping is still being acquired (its points span less than the lock span)."""
    SLEWING = 2
    """A clock step is being absorbed: the stamp still converges to the new time at a bounded rate."""
    HOST_UNSYNCED = 4
    """The frame's host is tied to the rig reference by nothing (no PTP): its time base is its own."""
    PTP_UNLOCKED = 8
    """The host's PTP is not locked (still locking, lost its master, or stopped reporting): holdover."""
    PTP_WARN = 16
    """The host's PTP offset is beyond its group's warning level."""
    PTP_ERROR = 32
    """The host's PTP offset is beyond its group's error level."""


@dataclass(slots=True)
class Frame:
    """One image as a driver delivers it. Times are integer nanoseconds; names say which clock."""

    device: str
    """Device id in the rig file."""
    stream: str
    """Stream name within the device (``color``, ``depth``, ``ir``...)."""
    seq: int
    """The device's frame counter for this stream, unwrapped; gaps mean frames lost before the host."""
    device_ts_ns: int
    """Device clock, at the instant given by ``semantics``, unwrapped to 64 bits."""
    host_rx_ns: int
    """The device's host's monotonic clock (CLOCK_MONOTONIC, never stepped) when the frame was fully received."""
    semantics: TimestampSemantics
    domain: ClockDomain
    min_latency_ns: int
    """The driver's nominal minimum delay from the stamped instant to ``host_rx_ns`` (readout, transfer)."""
    exposure_ns: int | None
    """Exposure duration as the device reports it, if it does."""
    image: np.ndarray | None
    encoding: str
    """Foxglove RawImage encoding of ``image`` (``rgb8``, ``16UC1``, ``mono8``...)."""
    flags: FrameFlags = FrameFlags.NONE

    @property
    def key(self) -> str:
        """``device/stream``, the stream's name in framesets and topics."""
        return f"{self.device}/{self.stream}"


@dataclass(slots=True, frozen=True)
class StampedFrame:
    """A frame with its rig-time stamp: the estimated start of exposure on the rig clock."""

    frame: Frame
    rig_time_ns: int
    """Rig clock, start of exposure."""
    error_bound_ns: int
    """Bound on |rig_time_ns - true start of exposure| (device mapping + semantics + reference)."""
    locked: bool = field(default=True)
    """False while the device's clock mapping is still being acquired or a step is being absorbed."""
    time_flags: TimeFlags = field(default=TimeFlags.NONE)
    rig_rx_ns: int | None = field(default=None)
    """Rig clock, when the frame reached its host (``host_rx_ns`` mapped to rig time); None: not known."""
