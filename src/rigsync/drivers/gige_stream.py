"""The streaming side of the GigE Vision driver (:mod:`rigsync.drivers.gige`): one reader thread per started
camera pops buffers from an Aravis stream, makes each a :class:`Frame` and queues it in a :class:`FrameQueue`;
it notices a camera that went away and looks for it again.

A frame's ``device_ts_ns`` is the buffer's timestamp (the camera's clock in ns: the PTP time when the camera's PTP
is on), ``host_rx_ns`` the host's monotonic clock when the reader thread received the completed buffer. Frame ids
(16-bit block ids, 1..65535 then 1 again: GigE Vision never sends block id 0) are unwrapped; a buffer with missing
packets (or timed out) is a frame flagged CORRUPT without an image (Aravis closes it only when later packets or its
retention timeout show it incomplete, so it may arrive after frames that follow it). Images are read-only views of
the buffer's pixels (Aravis hands Python its own copy of them).

A camera is lost when Aravis's heartbeat loses control of it (``control-lost``, :data:`HEARTBEAT_LOST_S` at most
after its last answer). A camera that only stops sending frames (a triggered one without triggers) is not lost, and
a register read of the reader's own would not tell sooner: it waits behind the heartbeat's retries on the control
channel. The reader then queues one DISCONNECTED event, hands the dead camera's Aravis objects to a thread of their
own to release (their finalizers wait out GVCP timeouts, ~10 s), and runs Aravis's discovery (1 s per round) every
:data:`RECONNECT_POLL_S` until a camera with the same serial answers and opens; :meth:`GigeDevice.poll` then
configures it from the plan on the caller's thread and starts it again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from rigsync.catalog.gige import GIGE_PTP_AREA_SCAN
from rigsync.core.counter import CounterUnwrapper
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimestampSemantics
from rigsync.drivers._aravis import Aravis, GLib
from rigsync.drivers.base import DeviceEvent, DeviceInfo, EventKind, StreamConfig
from rigsync.drivers.queue import FrameQueue

NAME = "gige"

STREAM_BUFFERS = 16
"""Aravis buffers per stream: frames in flight between the socket and the reader thread."""

HEARTBEAT_LOST_S = 6.0
"""Aravis 0.8 reads the camera's control register every 1 s and gives up after 5 s of failed reads (its
``control-lost`` signal): 5 to 6 s after its last answer, the longest a lost camera goes unnoticed."""

RECONNECT_POLL_S = 0.5
"""Pause between discovery rounds (each takes Aravis's 1 s discovery timeout) while a camera is lost."""

_POP_TIMEOUT_US = 50_000
_DRAIN_S = 1.0
"""After a stop, the longest the reader takes frames still arriving (a camera that did not stop sends on)."""
_UNFILLED = frozenset({Aravis.BufferStatus.UNKNOWN, Aravis.BufferStatus.CLEARED, Aravis.BufferStatus.FILLING,
                       Aravis.BufferStatus.ABORTED})
_SUCCESS = Aravis.BufferStatus.SUCCESS
_RECENT_SEQS = 256
"""Frame ids remembered to recognise a late duplicate (Aravis's frame retention is 100 ms by default)."""
_CHANNELS = {"mono8": 1, "bayer_rggb8": 1, "rgb8": 3}

_DISCOVERY = threading.Lock()
"""Aravis's device list is process-wide: one discovery (and read of its results) at a time."""


def discover() -> list[tuple[str, DeviceInfo]]:
    """(Aravis device id, info) of each GigE Vision camera that answers discovery now (blocks ~1 s)."""
    found = []
    with _DISCOVERY:
        Aravis.update_device_list()
        for i in range(Aravis.get_n_devices()):
            if Aravis.get_device_protocol(i) != "GigEVision":
                continue
            info = DeviceInfo(driver=NAME, serial=Aravis.get_device_serial_nbr(i), model=GIGE_PTP_AREA_SCAN.key,
                              name=f"{Aravis.get_device_vendor(i)} {Aravis.get_device_model(i)}",
                              connection=f"gige:{Aravis.get_device_address(i)}")
            found.append((Aravis.get_device_id(i), info))
    return found


def unwrap_block_id(unwrapper: CounterUnwrapper, block_id: int) -> int:
    """Consecutive sequence numbers from GigE Vision block ids (16-bit, skipping 0 at each wrap; extended 64-bit
    ids of GEV 2.x are used as they are)."""
    if block_id > 0xFFFF:
        return block_id
    unwrapped = unwrapper.unwrap(block_id)
    return unwrapped - (unwrapped >> 16)


def image_of(data: bytes, stream: StreamConfig) -> tuple[np.ndarray, str] | None:
    """The configured image in a buffer's bytes and its Foxglove encoding (read-only, no copy, except Bayer
    frames, demosaiced to BGR); None if the bytes are too few for it."""
    channels = _CHANNELS[stream.pixel_format]
    size = stream.width * stream.height * channels
    if len(data) < size:
        return None
    pixels = np.frombuffer(data, dtype=np.uint8, count=size)
    if channels == 3:
        return pixels.reshape(stream.height, stream.width, 3), "rgb8"
    raw = pixels.reshape(stream.height, stream.width)
    if stream.pixel_format == "bayer_rggb8":
        return cv2.cvtColor(raw, cv2.COLOR_BayerRG2BGR), "bgr8"
    return raw, "mono8"


@dataclass
class BufferCounts:
    """Buffers that are no frame, over a device's life."""

    unnamed: int = 0
    """Buffers that cannot be stamped: they lost their leader packet (no frame id, no timestamp) or were cut off
    by a stop; they show as a gap in ``seq``, the way frames lost before the host do."""
    duplicate: int = 0
    """Buffers for a frame id already delivered (late packets of a frame Aravis already closed open a second,
    incomplete buffer): the first one delivered stands for the frame."""


@dataclass(frozen=True)
class Framing:
    """What every frame of one started stream shares."""

    device_id: str
    stream: StreamConfig
    ptp: bool
    """The camera's PTP is on: its timestamps are PTP time."""


class StreamReader:
    """A started camera's stream and its reader thread (one per :meth:`GigeDevice.start`).

    ``on_lost`` is called on the reader thread when the camera is found gone: it must drop the device's reference
    to the camera (the reader releases the camera's Aravis objects on a thread of their own). Afterwards
    :attr:`found` is the camera opened again once discovery finds its serial (the reader thread has then ended).
    """

    def __init__(self, camera: Aravis.Camera, serial: str, framing: Framing, queue: FrameQueue,
                 counts: BufferCounts, on_lost: Callable[[], None], first_flags: FrameFlags = FrameFlags.NONE) -> None:
        self._serial = serial
        self._framing = framing
        self._queue = queue
        self._counts = counts
        self._on_lost = on_lost
        self._first_flags = first_flags
        s = framing.stream
        self._exposure_ns = None if s.exposure_us is None else s.exposure_us * 1_000
        self._domain = ClockDomain.PTP if framing.ptp else ClockDomain.DEVICE
        self._unwrapper = CounterUnwrapper(16)
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()
        self._stopping = threading.Event()
        self._control_lost = threading.Event()
        self.found: Aravis.Camera | None = None
        self.statistics: dict[str, int] = {}
        self._camera: Aravis.Camera | None = camera
        stream = camera.create_stream(None, None)  # GLib.Error: the caller names the problem
        self._payload = camera.get_payload()
        self._min_latency_ns = max(1_000, self._payload * 8)  # the image's time on a 1 Gbit/s link
        for _ in range(STREAM_BUFFERS):
            stream.push_buffer(Aravis.Buffer.new_allocate(self._payload))
        self._stream: Aravis.Stream | None = stream
        self._lost_handler = camera.get_device().connect("control-lost", lambda _device: self._control_lost.set())
        self._thread = threading.Thread(target=self._run, name=f"gige-{serial}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the reader thread after it took what the stream still holds (or end the search); keep Aravis's
        stream counters in :attr:`statistics`."""
        self._stopping.set()
        self._thread.join()
        stream, self._stream = self._stream, None
        if stream is not None:
            self.statistics = {stream.get_info_name(i): stream.get_info_uint64(i) for i in range(stream.get_n_infos())}
        if self._camera is not None:
            self._camera.get_device().disconnect(self._lost_handler)
        self._camera = self.found = None

    # The reader thread.

    def _run(self) -> None:
        if self._read():
            self._lose()
            self._search()

    def _read(self) -> bool:
        """Frames until stopped (False), or until the camera is found gone (True)."""
        stream = self._stream
        assert stream is not None
        pop, push, put = stream.timeout_pop_buffer, stream.push_buffer, self._queue.put_frame
        drain_end = 0.0
        while True:
            # After stop: take what the stream still holds or is still receiving (frames the camera sent before
            # its acquisition stopped), until it stays empty for a pop's timeout (at most _DRAIN_S), then end.
            running = not self._stopping.is_set()
            if not running:
                drain_end = drain_end or time.monotonic() + _DRAIN_S
                if time.monotonic() > drain_end:
                    return False
            buffer = pop(_POP_TIMEOUT_US)
            if buffer is None:
                if not running:
                    return False
                if self._control_lost.is_set():
                    return True
                continue
            host_rx_ns = time.monotonic_ns()
            frame = self._frame(buffer, host_rx_ns)
            push(buffer)
            if frame is not None:
                put(frame)

    def _frame(self, buffer: Aravis.Buffer, host_rx_ns: int) -> Frame | None:
        status = buffer.get_status()
        if status in _UNFILLED:
            self._counts.unnamed += 1  # cut off by stop() or never filled
            return None
        block_id, device_ts_ns = buffer.get_frame_id(), buffer.get_timestamp()
        if block_id == 0 or device_ts_ns == 0:
            self._counts.unnamed += 1
            return None
        seq = unwrap_block_id(self._unwrapper, block_id)
        if seq in self._recent_set:
            self._counts.duplicate += 1
            return None
        self._remember(seq)
        framing = self._framing
        image = image_of(buffer.get_data(), framing.stream) if status == _SUCCESS else None
        flags, self._first_flags = self._first_flags, FrameFlags.NONE
        if image is None:  # missing packets, timeout, wrong size...
            flags |= FrameFlags.CORRUPT
        return Frame(
            device=framing.device_id, stream=framing.stream.name, seq=seq,
            device_ts_ns=device_ts_ns, host_rx_ns=host_rx_ns,
            semantics=TimestampSemantics.START_OF_EXPOSURE, domain=self._domain,
            min_latency_ns=self._min_latency_ns, exposure_ns=self._exposure_ns,
            image=None if image is None else image[0], encoding="mono8" if image is None else image[1],
            flags=flags,
        )

    def _remember(self, seq: int) -> None:
        self._recent.append(seq)
        self._recent_set.add(seq)
        if len(self._recent) > _RECENT_SEQS:
            self._recent_set.discard(self._recent.popleft())

    def _lose(self) -> None:
        """Report the camera gone, and release its Aravis objects on a thread of their own."""
        self._queue.put_event(DeviceEvent(self._framing.device_id, EventKind.DISCONNECTED, time.monotonic_ns()))
        self._on_lost()
        dead = [self._stream, self._camera]
        self._stream = self._camera = None
        threading.Thread(target=dead.clear, name=f"gige-release-{self._serial}", daemon=True).start()

    def _search(self) -> None:
        """Run discovery every :data:`RECONNECT_POLL_S` until a camera with this serial answers and opens (then
        :attr:`found`), or the reader is stopped."""
        while not self._stopping.wait(RECONNECT_POLL_S):
            device_id = next((d for d, info in discover() if info.serial == self._serial), None)
            if device_id is None or self._stopping.is_set():
                continue
            try:
                self.found = Aravis.Camera.new(device_id)
            except GLib.Error:
                continue  # another host took it, or it went again: keep looking
            return
