"""A host's link as the capture sees it: what arrived from its agent, and what the agent says of its sending.

Pure: every call takes the receiver's time (``*_rx_ns``, ``now_ns``: the capture host's CLOCK_MONOTONIC, read by
the caller), so tests drive it with a fake clock. :class:`LinkStats` is fed by
:class:`~rigsync.net.remote.RemoteDriver` as messages arrive (a frame message's size in bytes, a heartbeat) and read
as a :class:`HostLink` by the capture's status (``status(now_ns, malformed)``; the capture's own host's
:func:`local_link` is fed by the capture with the frames it reads, their images' bytes).

- **state**: ``up`` when the last frame or heartbeat arrived within ``silent_after_ns`` (default 1 s: five
  heartbeats at the agent's 0.2 s), ``silent`` after that (``silent_s`` says for how long), ``never`` before
  the first one. The capture's own host is ``local`` (:func:`local_link`).
- **frames/s, MB/s**: the frame messages received in the last ``window_ns`` (default 1 s) divided by the window
  (a frame received exactly ``window_ns`` ago has left it); bytes are the messages' sizes on the wire (header and
  image, :mod:`rigsync.net.wire`), 1 MB = 10^6 bytes. ``mean_frames_per_s`` / ``mean_mb_per_s`` (the summary's
  rates) are what arrived after the first frame over ``receiving_s``, from the first frame received to the last
  (exact for a steady stream: 30 frames/s sent, 30 read; 0 with fewer than two frames).
- **queue, sent, spilled, dropped**: the latest heartbeat's fields as the agent sent them (None before any).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rigsync.net.liveness import SILENCE_TIMEOUT_NS
from rigsync.net.messages import Heartbeat

WINDOW_NS = 1_000_000_000
SILENT_AFTER_NS = SILENCE_TIMEOUT_NS
"""The link shows ``silent`` after the same time the capture takes an agent for silent (:mod:`rigsync.net.liveness`)."""


class LinkState(StrEnum):
    UP = "up"
    SILENT = "silent"
    NEVER = "never"
    """Nothing received yet."""
    LOCAL = "local"
    """The capture's own host: its devices are read directly."""


@dataclass(frozen=True)
class HostLink:
    """One host's link at an instant (the live status, the summary and ``/rigsync/hosts/<host>``)."""

    host: str
    mono_ns: int
    """The receiver's time this status holds at (the capture host's CLOCK_MONOTONIC: ``status``'s ``now_ns``)."""
    state: LinkState
    silent_s: float | None
    """Seconds since the last frame or heartbeat from the host (None: never heard, or the local host)."""
    frames_per_s: float
    mb_per_s: float
    frames_received: int
    bytes_received: int
    receiving_s: float
    """From the first frame received to the last."""
    first_frame_bytes: int = 0
    """The first frame's size (the mean rates count what arrived after it)."""
    malformed: int = 0
    heartbeats: int = 0
    queue_depth: int | None = None
    """Messages waiting in the agent's send queue (its latest heartbeat; None before any heartbeat)."""
    queue_bytes: int | None = None
    frames_sent: int | None = None
    frames_spilled: int | None = None
    frames_dropped: int | None = None

    @property
    def mean_frames_per_s(self) -> float:
        return (self.frames_received - 1) / self.receiving_s if self.receiving_s > 0 else 0.0

    @property
    def mean_mb_per_s(self) -> float:
        return (self.bytes_received - self.first_frame_bytes) / 1e6 / self.receiving_s if self.receiving_s > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "mono_ns": self.mono_ns, "state": self.state.value, "silent_s": self.silent_s,
                "frames_per_s": self.frames_per_s, "mb_per_s": self.mb_per_s,
                "frames_received": self.frames_received, "bytes_received": self.bytes_received,
                "receiving_s": self.receiving_s, "mean_frames_per_s": self.mean_frames_per_s,
                "mean_mb_per_s": self.mean_mb_per_s, "malformed": self.malformed, "heartbeats": self.heartbeats,
                "queue_depth": self.queue_depth, "queue_bytes": self.queue_bytes, "frames_sent": self.frames_sent,
                "frames_spilled": self.frames_spilled, "frames_dropped": self.frames_dropped}


class LinkSource(Protocol):
    """What the capture reads a remote host's link from (a :class:`~rigsync.net.remote.RemoteDriver`)."""

    host: str

    def link_status(self) -> HostLink: ...


class LinkStats:
    """Accumulates one host's link (see the module's docstring); not thread-safe: the caller serializes calls."""

    def __init__(self, host: str, *, window_ns: int = WINDOW_NS, silent_after_ns: int = SILENT_AFTER_NS,
                 local: bool = False) -> None:
        if window_ns <= 0 or silent_after_ns <= 0:
            raise ValueError(f"link of host {host}: window_ns {window_ns} and silent_after_ns {silent_after_ns} "
                             "must be > 0")
        self.host = host
        self.window_ns, self.silent_after_ns = window_ns, silent_after_ns
        self._local = local
        self._recent: deque[tuple[int, int]] = deque()  # (rx_ns, bytes) of the frames in the window
        self._recent_bytes = 0
        self._frames = 0
        self._bytes = 0
        self._first_frame_rx_ns: int | None = None
        self._first_frame_bytes = 0
        self._last_frame_rx_ns: int | None = None
        self._last_rx_ns: int | None = None
        self._heartbeats = 0
        self._beat: Heartbeat | None = None

    def frame(self, size_bytes: int, rx_ns: int) -> None:
        """A frame message of ``size_bytes`` received at ``rx_ns``."""
        self._frames += 1
        self._bytes += size_bytes
        self._recent.append((rx_ns, size_bytes))
        self._recent_bytes += size_bytes
        if self._first_frame_rx_ns is None:
            self._first_frame_rx_ns, self._first_frame_bytes = rx_ns, size_bytes
        self._last_frame_rx_ns = rx_ns
        self._heard(rx_ns)
        self._prune(rx_ns)  # (bounded by the window even if no one reads the status)

    def heartbeat(self, beat: Heartbeat, rx_ns: int) -> None:
        """The agent's heartbeat, received at ``rx_ns``."""
        self._heartbeats += 1
        self._beat = beat
        self._heard(rx_ns)

    def _heard(self, rx_ns: int) -> None:
        self._last_rx_ns = rx_ns if self._last_rx_ns is None else max(self._last_rx_ns, rx_ns)

    def _prune(self, now_ns: int) -> None:
        while self._recent and self._recent[0][0] <= now_ns - self.window_ns:
            self._recent_bytes -= self._recent.popleft()[1]

    def status(self, now_ns: int, malformed: int = 0) -> HostLink:
        """The link at ``now_ns``; ``malformed``: messages from the host that did not decode (the caller counts)."""
        self._prune(now_ns)
        window_s = self.window_ns / 1e9
        silent_ns = None if self._last_rx_ns is None else max(now_ns - self._last_rx_ns, 0)
        if self._local:
            state, silent_s = LinkState.LOCAL, None
        else:
            state = (LinkState.NEVER if silent_ns is None else
                     LinkState.UP if silent_ns <= self.silent_after_ns else LinkState.SILENT)
            silent_s = None if silent_ns is None else silent_ns / 1e9
        first, last = self._first_frame_rx_ns, self._last_frame_rx_ns
        beat = self._beat
        return HostLink(
            host=self.host, mono_ns=now_ns, state=state, silent_s=silent_s, frames_per_s=len(self._recent) / window_s,
            mb_per_s=self._recent_bytes / 1e6 / window_s, frames_received=self._frames, bytes_received=self._bytes,
            receiving_s=(last - first) / 1e9 if first is not None and last is not None else 0.0,
            first_frame_bytes=self._first_frame_bytes,
            malformed=malformed, heartbeats=self._heartbeats,
            queue_depth=beat.queue_depth if beat else None, queue_bytes=beat.queue_bytes if beat else None,
            frames_sent=beat.frames_sent if beat else None, frames_spilled=beat.frames_spilled if beat else None,
            frames_dropped=beat.frames_dropped if beat else None)


def local_link(host: str) -> LinkStats:
    """The capture's own host's row: its frames counted as they are read (bytes: the images' bytes)."""
    return LinkStats(host, local=True)
