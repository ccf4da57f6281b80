"""The capture's side of the live view: what the capture hands over, on its own thread, without waiting.

Per stream one latest-only slot: a frame is taken only while a client is subscribed to its stream, and at most one
per period of rig time (one per slot of a grid on rig time, so a stream gets a preview per period on average and
never more). The period is ``1 / fps``, or longer when many streams are watched: all of them together get at most
``total_fps`` previews a second, so the live view's cost does not grow with the rig. A frame the server has not
served when the next one is taken is replaced, and counted (``replaced``). Framesets (while a client is subscribed
to them) go into a bounded queue, the oldest dropped and counted when it is full; the capture's status is kept
latest-only. The server's thread takes it all from there (:meth:`LiveFeed.take`): nothing is copied, converted or
encoded on the capture's thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from rigsync.capture.status import CaptureStatus
from rigsync.core.frame import StampedFrame
from rigsync.core.frameset import FramesetRecord

TOTAL_FPS = 120.0
"""Previews a second over every watched stream at most (``--live-fps`` is shared out beyond)."""
FRAMESETS_QUEUED = 256
"""Framesets waiting for the server at most (the oldest is dropped beyond)."""


@dataclass(frozen=True)
class LiveBatch:
    """What the server takes at once: the newest frame per stream, the framesets, the newest status."""

    frames: dict[str, StampedFrame]
    framesets: list[FramesetRecord]
    status: CaptureStatus | None


class LiveFeed:
    """Frames, framesets and status from the capture to the live server. ``frame``, ``frameset`` and ``status``
    are the capture's observers (:class:`~rigsync.capture.session.CaptureSession`'s ``frame_observer`` and
    ``frameset_observer``, ``run``'s ``on_status``); ``subscribe`` and ``take`` are the server's."""

    def __init__(self, keys: Iterable[str], fps: float, total_fps: float = TOTAL_FPS) -> None:
        self.keys = tuple(keys)
        self.fps = fps
        self.total_fps = total_fps
        self._period_ns = max(1, round(1e9 / fps))
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._wanted: frozenset[str] = frozenset()
        self._framesets_wanted = False
        self._next_ns: dict[str, int] = {}  # per stream: the rig time its next preview may be taken from
        self._slots: dict[str, StampedFrame] = {}
        self._framesets: deque[FramesetRecord] = deque()
        self._status: CaptureStatus | None = None
        self.taken = dict.fromkeys(self.keys, 0)
        """Frames taken for a preview, per stream."""
        self.replaced = dict.fromkeys(self.keys, 0)
        """Frames taken for a preview that a newer one replaced before the server served it, per stream."""
        self.framesets_dropped = 0
        """Framesets dropped because the queue was full."""

    # --- the capture's thread -------------------------------------------------------------------

    def frame(self, stamped: StampedFrame) -> None:
        """A recorded frame: kept for a preview if its stream is watched and its rig-time slot has none yet."""
        key = stamped.frame.key
        if key not in self._wanted or stamped.frame.image is None:
            return
        rig_ns = stamped.rig_time_ns
        if rig_ns < self._next_ns.get(key, 0):
            return
        period = self._period_ns
        self._next_ns[key] = (rig_ns // period + 1) * period
        with self._lock:
            if key in self._slots:
                self.replaced[key] += 1
            self._slots[key] = stamped
            self.taken[key] += 1
        self._arrived.set()

    def frameset(self, record: FramesetRecord) -> None:
        """A frameset the aligner decided: queued while a client is subscribed to framesets."""
        if not self._framesets_wanted:
            return
        with self._lock:
            if len(self._framesets) >= FRAMESETS_QUEUED:
                self._framesets.popleft()
                self.framesets_dropped += 1
            self._framesets.append(record)
        self._arrived.set()

    def status(self, status: CaptureStatus) -> None:
        """The capture's status (every ``status_interval_s``): the newest is kept."""
        self._status = status
        self._arrived.set()

    @property
    def period_ns(self) -> int:
        """The rig time between two previews of a stream now."""
        return self._period_ns

    @property
    def watched(self) -> frozenset[str]:
        """The streams a client watches now (as the server last saw)."""
        return self._wanted

    # --- the server's thread --------------------------------------------------------------------

    def subscribe(self, streams: Iterable[str], framesets: bool) -> None:
        """Which streams (and whether the framesets) a client watches now; the others are not taken."""
        wanted = frozenset(streams)
        self._period_ns = max(1, round(1e9 / min(self.fps, self.total_fps / max(len(wanted), 1))))
        self._wanted = wanted
        self._framesets_wanted = framesets

    def wait(self, timeout_s: float) -> None:
        """Until something arrived (or ``timeout_s``)."""
        self._arrived.wait(timeout_s)
        self._arrived.clear()

    def take(self) -> LiveBatch:
        """Everything waiting, taken out."""
        with self._lock:
            frames, self._slots = self._slots, {}
            framesets = list(self._framesets)
            self._framesets.clear()
            status, self._status = self._status, None
        return LiveBatch(frames, framesets, status)
