"""Framesets: the frames of all streams taken at the same moment, as recorded on ``/rigsync/framesets``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class MissingReason(StrEnum):
    """Why a stream that was due has no frame in a frameset."""

    NOT_RECEIVED = "not_received"
    """Its expected time plus the stream's lateness allowance passed without a frame."""
    DROPPED = "dropped"
    """The frame was lost: before reaching the host (the device's frame counter shows the gap), or in
    rigsync's bounded queues (an overrun, counted as such in the stream's drop statistics)."""
    UNMATCHED = "unmatched"
    """The stream's frame for this moment arrived but is in another set (it fell outside this set's window)."""
    CORRUPT = "corrupt"
    """The frame arrived damaged and was left out."""
    DISCONNECTED = "disconnected"
    """The device was disconnected, or is restarting after it came back and has not delivered a frame since."""
    STOPPED = "stopped"
    """The capture ended before the stream's frame for this set arrived (the last sets only)."""


class DropReason(StrEnum):
    """Why a frame is in no frameset."""

    LATE = "late"
    """It arrived after the frameset it belonged to had left because its stream was provably late: by then,
    more than the stream's lateness allowance had passed since the frame's stamp."""
    OFF_PERIOD = "off_period"
    """It arrived within its stream's lateness allowance, but its stamp fell outside every window its steady
    stream's period predicted (a jump in the stream's timing), and the frameset it belonged to had left without
    waiting for it."""
    DEVICE = "device"
    """Lost before reaching the host (seen as a gap in the device frame counter)."""
    CORRUPT = "corrupt"
    """Arrived damaged (transport over budget)."""
    OUT_OF_ORDER = "out_of_order"
    """Its stamp was not later than the previous frame of its stream."""
    OVERFLOW = "overflow"
    """The aligner's bounded buffer for its stream was full."""
    HOST_OVERRUN = "host_overrun"
    """rigsync did not read it from the driver in time (the driver's queue overflowed)."""
    RECORDER_OVERRUN = "recorder_overrun"
    """The recorder's bounded queue was full."""
    WARMUP = "warmup"
    """Received before the recording started (the warm-up, or before a scheduled start): the clocks learn
    from it, the recording does not hold it."""


@dataclass(frozen=True, slots=True)
class FramesetMember:
    """One frame of a frameset."""

    device: str
    stream: str
    seq: int
    rig_time_ns: int
    device_ts_ns: int
    host_rx_ns: int
    error_bound_ns: int


@dataclass(frozen=True, slots=True)
class FramesetMissing:
    """A stream that was due in a frameset and has no frame in it."""

    device: str
    stream: str
    reason: MissingReason


@dataclass(frozen=True, slots=True)
class FramesetRecord:
    """A frameset as recorded: ``rig_time_ns`` is the set's centre, ``spread_ns`` its skew.

    ``spread_ns`` is measured after removing each member's declared delay or stagger, so it is the
    residual skew of the set, not the intended offsets.
    """

    frameset_id: int
    rig_time_ns: int
    spread_ns: int
    members: tuple[FramesetMember, ...]
    missing: tuple[FramesetMissing, ...]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form of ``/rigsync/framesets`` messages."""
        return {
            "frameset_id": self.frameset_id,
            "rig_time_ns": self.rig_time_ns,
            "spread_ns": self.spread_ns,
            "members": [
                {
                    "device": m.device,
                    "stream": m.stream,
                    "seq": m.seq,
                    "rig_time_ns": m.rig_time_ns,
                    "device_ts_ns": m.device_ts_ns,
                    "host_rx_ns": m.host_rx_ns,
                    "error_bound_ns": m.error_bound_ns,
                }
                for m in self.members
            ],
            "missing": [
                {"device": m.device, "stream": m.stream, "reason": m.reason.value} for m in self.missing
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FramesetRecord:
        """Parse the JSON form back (the reader uses this)."""
        return cls(
            frameset_id=int(data["frameset_id"]),
            rig_time_ns=int(data["rig_time_ns"]),
            spread_ns=int(data["spread_ns"]),
            members=tuple(
                FramesetMember(
                    device=m["device"],
                    stream=m["stream"],
                    seq=int(m["seq"]),
                    rig_time_ns=int(m["rig_time_ns"]),
                    device_ts_ns=int(m["device_ts_ns"]),
                    host_rx_ns=int(m["host_rx_ns"]),
                    error_bound_ns=int(m.get("error_bound_ns", 0)),
                )
                for m in data["members"]
            ),
            missing=tuple(
                FramesetMissing(device=m["device"], stream=m["stream"], reason=MissingReason(m["reason"]))
                for m in data["missing"]
            ),
        )
