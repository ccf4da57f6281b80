"""Everything an agent sends goes through its output: the bounded send queue to the network
(:mod:`rigsync.net.sender`), the local spill file (:mod:`rigsync.net.spill`) for what the queue cannot take - and for
everything once the queue stays full, or always with ``local_copy`` - and the frames sent nowhere, counted, named
in the log and reported as ``overrun`` events. Its counters are what the agent's heartbeats carry.

Used by the agent's poll thread only (never under the agent's device lock)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from rigsync.core.frame import Frame, StampedFrame
from rigsync.core.ptp import PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net import wire
from rigsync.net.keys import Channel, RigKeys, channel_key
from rigsync.net.messages import FrameMessage
from rigsync.net.sender import Outgoing, SendQueue
from rigsync.net.spill import HostStamper, Local, SpillFile

Item = Frame | DeviceEvent | PtpSample | FrameTruth
"""What an agent collects from its devices, its host's PTP and its simulated world."""


class AgentOutput:
    """One agent's way out: queue, spill file, drops (see the module docstring)."""

    def __init__(self, rig: str, host: str, keys: RigKeys, queue: SendQueue, *, spill: SpillFile | None = None,
                 stamper: HostStamper | None = None, local_copy: bool = False,
                 log: Callable[[str], None] = lambda _: None) -> None:
        """``spill`` and ``stamper`` go together: without them, a frame the queue cannot take is dropped."""
        self.host = host
        self.queue = queue
        self.spill, self.stamper = spill, stamper
        self.copying = local_copy
        """The local copy is on: everything goes to the spill file too."""
        self._keys = keys
        self._log = log
        self._events_key = channel_key(rig, host, Channel.EVENTS)
        self._ptp_key = channel_key(rig, host, Channel.PTP)
        self._truth_key = channel_key(rig, host, Channel.TRUTH)
        self._drops: deque[DeviceEvent] = deque()  # overrun events of frames sent nowhere, not yet queued
        self.frames_sent = 0
        """Frames handed to the send queue."""
        self.frames_spilled = 0
        """Frames written to the spill file (instead of the network, or as its local copy)."""
        self.frames_dropped = 0
        """Frames that reached neither the send queue nor the spill file (each named through ``log``)."""

    def publish(self, batch: Sequence[Item], clocks: tuple[int, int]) -> None:
        """Send what was collected, in order; ``clocks``: the host's (realtime, monotonic) read with it."""
        while self._drops and self._send(self._events_key, wire.encode(self._drops[0]), None):
            self._drops.popleft()
        stamper = self.stamper
        if stamper is not None:
            stamper.add_clocks(*clocks)
        for item in batch:
            if isinstance(item, Frame):
                self._frame(item)
            elif isinstance(item, FrameTruth):
                self._send(self._truth_key, wire.encode(item), item)
            elif isinstance(item, PtpSample):
                self._send(self._ptp_key, wire.encode(item), stamper.add_ptp(item) if stamper is not None else None)
            else:
                at = stamper.host.to_rig(item.host_ns, stamp=False).rig_ns if stamper is not None else None
                self._send(self._events_key, wire.encode(item), None if at is None else (item, at))

    def spill_unsent(self) -> None:
        """After the sender stopped: what it could not hand over in time goes to the spill file (unless the local
        copy already has it)."""
        if not self.copying:
            self._spill_all(self.queue.unsent())

    def _send(self, key: str, payload: bytes, local: Local | None) -> bool:
        """Queue a message for the network, with what the spill file would take of it (``local``); write that to
        the spill file too if the queue refuses the message or the local copy is on. False if the queue refused
        it. The local copy starts once the queue stays full: with the messages still queued and those sent
        recently (a congested link may not deliver them), so that the spill file has everything from then on."""
        if not self.copying and self.spill is not None and self.queue.stays_full():
            self.copying = True
            self._log(f"agent {self.host}: the send queue stayed full for {self.queue.config.spill_after_s:g} s "
                      f"({self.queue.nbytes / 1e6:.1f} MB): local copy to {self.spill.path} from now on")
            self._spill_all(self.queue.recent_and_queued())
        queued = self.queue.offer(Outgoing(key, payload, local))
        if local is not None and self.spill is not None and (self.copying or not queued):
            if self.spill.write(local, copy=queued):
                self.frames_spilled += isinstance(local, StampedFrame)
            elif isinstance(local, StampedFrame) and not queued:
                self._dropped(local.frame, local.rig_time_ns)
        return queued

    def _spill_all(self, items: list[Outgoing]) -> None:
        """Copy messages already queued or handed over into the spill file."""
        for item in items:
            if self.spill is not None and item.local is not None and self.spill.write(item.local, copy=True):
                self.frames_spilled += isinstance(item.local, StampedFrame)

    def _frame(self, frame: Frame) -> None:
        """Queue a frame for the network; spill it if the queue cannot take it (or the local copy is on); count
        and name it if it reaches neither."""
        stamped = self.stamper.stamp(frame) if self.stamper is not None else None
        sent = self._send(self._keys.frame_key(frame.device, frame.stream), wire.encode(FrameMessage(frame)), stamped)
        self.frames_sent += sent
        if not sent and self.spill is None:
            self._log(f"agent {self.host}: frame {frame.device}/{frame.stream} seq {frame.seq} dropped: sent nowhere "
                      "(the send queue is full and the agent has no spill folder)")
            self._dropped(frame, None)

    def _dropped(self, frame: Frame, rig_ns: int | None) -> None:
        """A frame sent nowhere: counted, and reported as an ``overrun`` event naming its stream and seq (to the
        spill file if it still takes it, and to the capture as soon as the send queue has room), so that the
        capture and ``rigsync merge`` count it as lost on the host, not on the device."""
        self.frames_dropped += 1
        event = DeviceEvent(frame.device, EventKind.OVERRUN, frame.host_rx_ns, frame.stream, 1, frame.seq)
        self._drops.append(event)
        if self.spill is not None and rig_ns is not None:
            self.spill.write_event(event, rig_ns)
