"""The messages agents and the capture exchange, as objects (their bytes: :mod:`rigsync.net.wire`): frames,
device events, PTP samples and a simulated world's frame truth as the core types, plus what only the network
needs - an agent's rig-time stamp on a frame, heartbeats and control requests and replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rigsync.core.frame import Frame, TimeFlags
from rigsync.core.ptp import PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent
from rigsync.net.keys import Verb


@dataclass(frozen=True, slots=True)
class RigStamp:
    """The rig-time stamp an agent gave a frame (see :class:`rigsync.core.frame.StampedFrame`)."""

    rig_time_ns: int
    error_bound_ns: int
    time_flags: TimeFlags = TimeFlags.NONE
    locked: bool = True


@dataclass(frozen=True, slots=True)
class FrameMessage:
    """A frame as a driver delivered it, and the agent's rig-time stamp if it stamped it."""

    frame: Frame
    stamp: RigStamp | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """An agent's periodic sign of life: who it is, its clocks read together, and how its sending keeps up."""

    agent_version: str
    rig_hash: str
    plan_hash: str
    host: str
    seq: int
    """Heartbeats since the agent started (a smaller one than the last means the agent restarted)."""
    realtime_ns: int
    """The host's CLOCK_REALTIME, read together with ``monotonic_ns``."""
    monotonic_ns: int
    """The host's CLOCK_MONOTONIC (the clock of its frames' ``host_rx_ns``)."""
    queue_depth: int
    """Messages waiting in the agent's send queue."""
    queue_bytes: int
    frames_sent: int
    frames_spilled: int
    """Frames written to the agent's local spill file instead of (or besides) the network."""
    frames_dropped: int
    """Frames that reached neither the network nor the spill file."""


@dataclass(frozen=True, slots=True)
class Request:
    """A control query from the capture to an agent; ``body`` is a small JSON object."""

    verb: Verb
    request_id: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """An agent's answer to a :class:`Request` (same verb and id): ``ok``, or the error text saying why not."""

    verb: Verb
    request_id: int
    ok: bool
    error: str = ""
    body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ok == bool(self.error):
            raise ValueError(f"reply {self.verb} #{self.request_id}: ok={self.ok} with error={self.error!r} "
                             "(an error text exactly when not ok)")


Message = FrameMessage | DeviceEvent | PtpSample | Heartbeat | Request | Reply | FrameTruth
