"""Ground truth the simulator knows about each frame. Recorded on its own channel, never read by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """True exposure window of one frame (true time, nanoseconds) and the trigger that started it."""

    device: str
    stream: str
    seq: int
    exposure_start_ns: int
    exposure_end_ns: int
    trigger_id: str | None
    """``"<sync group>/<trigger number>"`` for triggered frames, ``None`` when free-running."""
    delivered: bool = True
    """False if the frame never reached the host (dropped on the device or the link)."""
    lost: str | None = None
    """Why it never reached the host: ``dropped`` (on the device or its link: a random drop, a drop burst, an
    overloaded controller) or ``disconnected`` (the device was disconnected, or restarting after it came back).
    None when delivered."""

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "stream": self.stream,
            "seq": self.seq,
            "exposure_start_ns": self.exposure_start_ns,
            "exposure_end_ns": self.exposure_end_ns,
            "trigger_id": self.trigger_id,
            "delivered": self.delivered,
            "lost": self.lost,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FrameTruth:
        return cls(
            device=data["device"],
            stream=data["stream"],
            seq=int(data["seq"]),
            exposure_start_ns=int(data["exposure_start_ns"]),
            exposure_end_ns=int(data["exposure_end_ns"]),
            trigger_id=data["trigger_id"],
            delivered=bool(data.get("delivered", True)),
            lost=data.get("lost"),
        )
