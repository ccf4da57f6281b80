"""The recorder: a whole rig into one MCAP file, written by its own thread behind a bounded queue.

Threading: every ``write_*`` call only validates, encodes small JSON and enqueues; the writer thread packs
messages, compresses chunks and writes them. Images are queued by reference: the recorder keeps the numpy
array until its chunk is on disk, so a caller must not modify an array after ``write_image``.

Errors: if the writer thread fails (``ENOSPC``, ``EFBIG``, any I/O error), it stops writing, ``error`` holds
the exception, the queue is emptied, every later ``write_*`` raises :class:`RecordingError` at once, and
``close`` ends the file as well as it can (cut back to the last complete chunk, then summary and footer if
the disk takes them) and raises :class:`RecordingError`. Nothing ever blocks longer than ``put_timeout_s`` (if
that is infinite, than the writer needs or until ``give_up`` says to stop waiting).

Order: the writer thread passes every message through a reorder buffer (:mod:`rigsync.record._reorder`) and
writes them in log-time order, so the file's chunks never overlap in log time and a streaming reader sees no log
time go back. A capture says when nothing older can still come (:meth:`Recorder.advance`, from its aligner's
lateness); without one, messages wait ``reorder_window_ns`` behind the newest log time. A message that comes after
a newer one was written is still written (never lost), out of order, and counted (``RecorderStats.late_messages``).
The buffer's images stay counted in ``queue_max_bytes``; when that is reached while the buffer holds images, the
oldest are written early (``RecorderStats.early_releases``), so a producer waiting for room never waits on the
watermark.

Clocks: a message's log time is rig time (an image's: its start of exposure); its publish time too: an image's and
its camera_info's are the frame's arrival in rig time (``StampedFrame.rig_rx_ns``); a frameset's the rig time it
was decided; every other message's (``/rigsync/frames`` stamps, whose topic holds every stream, PTP samples...) its
log time. The device and host-monotonic times of a frame are in its ``/rigsync/frames`` stamp.

Crashes: the open chunk is written when full or ``flush_age_s`` after its oldest message was handed over (see
:mod:`rigsync.record.mcap_writer`); an image is in the same chunk as its stamp and camera_info. So a killed
process loses only young data: the open chunk, the reorder buffer (bounded by the watermark's lag, or the window)
and what is queued (bounded by ``queue_max_bytes``, and by ``queue_max_age_s`` if set).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, NamedTuple, Self

import numpy as np
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration

from rigsync import __version__
from rigsync.core.errors import RecordingError
from rigsync.core.frame import FrameFlags, StampedFrame, TimeFlags
from rigsync.core.frameset import FramesetRecord
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.truth import FrameTruth
from rigsync.record import json_schemas as js
from rigsync.record import schemas as sc
from rigsync.record._queue import ByteBoundedQueue, QueueFailedError
from rigsync.record._reorder import ReorderBuffer
from rigsync.record.config import Compression, RecorderConfig, RecorderStats
from rigsync.record.file_sink import FileSink
from rigsync.record.mcap_writer import McapChunkWriter

FRAMESETS_TOPIC = "/rigsync/framesets"
TRUTH_TOPIC = "/rigsync/sim/truth"
FRAMES_TOPIC = "/rigsync/frames"
HOSTS_TOPIC = "/rigsync/hosts"


def image_topic(frame_id: str) -> str:
    """A stream's image topic; ``frame_id`` is ``<device>/<stream>``."""
    return f"/{frame_id}/image"


def camera_info_topic(frame_id: str) -> str:
    """A stream's calibration topic; ``frame_id`` is ``<device>/<stream>``."""
    return f"/{frame_id}/camera_info"

_RESERVED_METADATA = ("rig_toml", "rig_path", "version")
_SCHEMA_IDS = {sc.RAW_IMAGE_SCHEMA: 1, sc.CAMERA_CALIBRATION_SCHEMA: 2, js.FRAMESET_SCHEMA: 3, js.TRUTH_SCHEMA: 4,
               js.FRAME_SCHEMA: 5}
_LATER_SCHEMA_IDS = {name: schema_id for schema_id, name in
                     enumerate((name for name in js.JSON_SCHEMAS if name not in _SCHEMA_IDS), len(_SCHEMA_IDS) + 1)}
"""Schemas written with their first channel (a capture on one host writes no host status: its file has none)."""


@dataclass(slots=True)
class _Stream:
    device: str
    stream: str
    encoding: str
    width: int
    height: int
    channels: int
    dtype: np.dtype[Any]
    image_channel: int
    info_channel: int
    suffix: bytes
    calibration: CameraCalibration


class _Image(NamedTuple):
    stream: _Stream
    rig_time_ns: int
    publish_time_ns: int
    """The frame's arrival in rig time."""
    seq: int
    data: memoryview
    stamp: dict[str, Any]
    """The frame's ``/rigsync/frames`` record (serialized on the writer thread)."""


class _Message(NamedTuple):
    channel_id: int
    log_time_ns: int
    publish_time_ns: int
    sequence: int
    data: bytes


class _Channel(NamedTuple):
    channel_id: int
    topic: str
    encoding: str
    schema_id: int
    metadata: dict[str, str]


class _Advance(NamedTuple):
    watermark_ns: int
    """Rig time: nothing with an earlier log time will be queued any more."""


_Item = _Image | _Message | _Channel | _Advance
_Closing = tuple[dict[str, str], dict[str, str]]


def _name_ok(name: str) -> bool:
    return bool(name) and "/" not in name and name.strip() == name


class Recorder:
    """Records one rig session into one MCAP file (see ``docs/recording.md``). A context manager.

    ``clock`` (seconds, monotonic) times the flush and queue ages; tests pass their own. ``give_up``: while
    ``write_image`` waits for room, it stops waiting (a recorder overrun) once this returns True; with
    ``put_timeout_s = math.inf`` it is the only way a wait for a stalled writer ends.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: RecorderConfig,
        *,
        rig_toml: str,
        rig_path: str,
        metadata: Mapping[str, str] = {},
        clock: Callable[[], float] = time.monotonic,
        give_up: Callable[[], bool] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.config = config
        self._give_up = give_up
        clash = [k for k in metadata if k in _RESERVED_METADATA]
        if clash:
            raise RecordingError(self.path, f"metadata keys {clash} are reserved for rigsync")
        self._lock = threading.Lock()
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._json_channels: dict[str, tuple[int, int]] = {}  # topic -> (channel id, schema id)
        self._protobuf_topics: set[str] = set()
        self._later_schemas: set[str] = set()  # (the writer thread's)
        self._next_channel = 1
        self._overruns = 0
        self._closed = False
        self._error: BaseException | None = None
        self._error_reported = False
        self._finished = False  # the writer thread has finished the file; it then releases _finished_lock
        self._finished_lock = threading.Lock()
        self._finished_lock.acquire()
        self._queue: ByteBoundedQueue[_Item, _Closing] = ByteBoundedQueue(
            config.queue_max_bytes, max_age_s=config.queue_max_age_s, clock=clock)
        compression = "" if config.compression is Compression.NONE else config.compression.value
        try:
            self._sink = FileSink(self.path)
        except OSError as exc:
            raise RecordingError(self.path, f"cannot create the recording: {exc.strerror}") from exc
        self._buffer: ReorderBuffer[tuple[_Image | _Message, float]] = ReorderBuffer(config.reorder_window_ns)
        self._writer = McapChunkWriter(self._sink, compression=compression, chunk_size=config.chunk_size_bytes,
                                       zstd_level=config.zstd_level, flush_age_s=config.flush_age_s, clock=clock)
        try:
            self._writer.start(profile="", library=f"rigsync/{__version__}")
            self._writer.add_metadata(
                "rigsync", {"rig_toml": rig_toml, "rig_path": rig_path, "version": __version__, **metadata}
            )
            for name, schema_id in _SCHEMA_IDS.items():
                self._writer.add_schema(schema_id, name, *_schema(name))
            self._add_channel(FRAMESETS_TOPIC, "json", _SCHEMA_IDS[js.FRAMESET_SCHEMA], {}, direct=True)
            self._frames_channel = self._add_channel(FRAMES_TOPIC, "json", _SCHEMA_IDS[js.FRAME_SCHEMA], {},
                                                     direct=True)
        except OSError as exc:
            self._sink.close()
            raise RecordingError(self.path, f"cannot write the recording: {exc}") from exc
        self._thread = threading.Thread(target=self._run, name="rigsync-recorder", daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.close()
        except RecordingError:
            if exc is None:
                raise

    @property
    def error(self) -> BaseException | None:
        """The writer thread's failure (e.g. ``OSError`` with ``errno.ENOSPC``), or None."""
        return self._error

    @property
    def stats(self) -> RecorderStats:
        c = self._writer.counters()
        return RecorderStats(
            images=c.payload_messages,
            image_bytes=c.payload_bytes,
            messages=c.messages,
            bytes_written=c.bytes_written,
            overruns=self._overruns,
            queue_high_water_bytes=self._queue.high_water_bytes,
            late_messages=self._buffer.late,
            early_releases=self._buffer.early,
        )

    def add_stream(self, device: str, stream: str, intrinsics: Intrinsics, encoding: str) -> None:
        """Declare ``/<device>/<stream>/image`` and ``.../camera_info``; before the stream's first image."""
        if not (_name_ok(device) and _name_ok(stream)):
            raise RecordingError(self.path, f"device/stream names {device!r}/{stream!r} must be non-empty, no '/'")
        fmt = sc.pixel_format(encoding, self.path)
        frame_id = f"{device}/{stream}"
        with self._lock:
            if (device, stream) in self._streams:
                raise RecordingError(self.path, f"stream {frame_id} was already added")
            meta = {"device": device, "stream": stream}
            image_meta = {**meta, "encoding": encoding, "width": str(intrinsics.width)}
            image_meta["height"] = str(intrinsics.height)
            image = self._add_channel(image_topic(frame_id), "protobuf", 1, image_meta)
            info = self._add_channel(camera_info_topic(frame_id), "protobuf", 2, meta)
            self._protobuf_topics.update((image_topic(frame_id), camera_info_topic(frame_id)))
            self._streams[(device, stream)] = _Stream(
                device, stream, encoding, intrinsics.width, intrinsics.height, fmt.channels, np.dtype(fmt.dtype),
                image, info, sc.frame_id_suffix(frame_id), sc.camera_calibration(intrinsics, frame_id),
            )  # fmt: skip

    def write_image(self, frame: StampedFrame) -> bool:
        """Queue a frame's image; False (a recorder overrun, counted) if the queue stays full for put_timeout_s
        (or until ``give_up``)."""
        f = frame.frame
        st = self._streams.get((f.device, f.stream))
        if st is None:
            raise RecordingError(self.path, f"stream {f.device}/{f.stream} was not added (call add_stream first)")
        image = f.image
        if image is None or f.encoding != st.encoding:
            raise RecordingError(self.path, f"{f.key} seq {f.seq}: no image, or encoding {f.encoding!r} is not "
                                 f"the stream's {st.encoding!r}")  # fmt: skip
        if image.dtype != st.dtype:
            if image.dtype.newbyteorder("=") != st.dtype.newbyteorder("="):
                raise RecordingError(self.path, f"{f.key} seq {f.seq}: dtype {image.dtype} does not fit {st.encoding}")
            image = image.astype(st.dtype)
        shape = image.shape
        if shape[:2] != (st.height, st.width) or (shape[2:] or (1,)) != (st.channels,) or image.ndim > 3:
            raise RecordingError(
                self.path, f"{f.key} seq {f.seq}: image shape {shape} is not {st.height}x{st.width}x{st.channels}"
            )
        if frame.rig_time_ns < 0 or f.host_rx_ns < 0:
            raise RecordingError(self.path, f"{f.key} seq {f.seq}: negative rig_time_ns/host_rx_ns cannot be recorded")
        if not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        data = image.data.cast("B")
        stamp = {
            "device": f.device, "stream": f.stream, "seq": f.seq, "rig_time_ns": frame.rig_time_ns,
            "error_bound_ns": frame.error_bound_ns, "locked": frame.locked, "device_ts_ns": f.device_ts_ns,
            "host_rx_ns": f.host_rx_ns, "exposure_ns": f.exposure_ns,
            "flags": [(flag.name or "").lower() for flag in FrameFlags if flag and flag in f.flags],
            "time_flags": [(flag.name or "").lower() for flag in TimeFlags if flag and flag in frame.time_flags],
        }
        rx = frame.rig_rx_ns if frame.rig_rx_ns is not None else frame.rig_time_ns
        item = _Image(st, frame.rig_time_ns, max(rx, 0), f.seq, data, stamp)
        if self._put(item, data.nbytes, self.config.put_timeout_s, self._give_up):
            return True
        with self._lock:
            self._overruns += 1
        return False

    def write_frameset(self, record: FramesetRecord, *, publish_time_ns: int | None = None) -> None:
        """Queue a frameset on ``/rigsync/framesets`` at log time ``record.rig_time_ns``, published at
        ``publish_time_ns`` (rig time it was decided; default: its log time)."""
        channel = self._json_channel(FRAMESETS_TOPIC, js.FRAMESET_SCHEMA)
        self._put_json(channel, record.to_json(), record.rig_time_ns, record.frameset_id, publish_time_ns)

    def advance(self, watermark_ns: int) -> None:
        """Nothing with a log time (rig time) before ``watermark_ns`` will be written any more: what the reorder
        buffer holds before it goes to the file. Queued after everything written before (never waits). From the
        first call on, ``reorder_window_ns`` no longer applies; a lower watermark than an earlier one changes
        nothing."""
        self._put(_Advance(watermark_ns), 0, None)

    def write_truth(self, truth: FrameTruth) -> None:
        """Queue simulator truth on ``/rigsync/sim/truth`` at log time ``truth.exposure_start_ns``."""
        channel = self._json_channel(TRUTH_TOPIC, js.TRUTH_SCHEMA)
        self._put_json(channel, truth.to_json(), truth.exposure_start_ns, truth.seq)

    def write_host_status(self, host: str, payload: Mapping[str, Any], log_time_ns: int) -> None:
        """Queue a host's status on ``/rigsync/hosts/<host>`` (JSON Schema ``rigsync.HostStatus``)."""
        if not _name_ok(host):
            raise RecordingError(self.path, f"host name {host!r} cannot be a topic level")
        channel = self._json_channel(f"{HOSTS_TOPIC}/{host}", js.HOST_STATUS_SCHEMA)
        self._put_json(channel, payload, log_time_ns, 0)

    def write_json(self, topic: str, payload: Mapping[str, Any], log_time_ns: int, *, schema: str) -> None:
        """Queue a JSON message on any other topic, whose channel (created on first use) has the JSON Schema called
        ``schema`` (:data:`rigsync.record.json_schemas.JSON_SCHEMAS`; the payload is not validated here)."""
        if not topic.startswith("/") or topic in self._protobuf_topics:
            raise RecordingError(self.path, f"topic {topic!r} must start with '/' and not be an image topic")
        if schema not in js.JSON_SCHEMAS:
            raise RecordingError(self.path, f"topic {topic}: JSON schema {schema!r} does not exist (allowed: "
                                 f"{', '.join(js.JSON_SCHEMAS)})")
        self._put_json(self._json_channel(topic, schema), payload, log_time_ns, 0)

    def close(self, *, clocks: Mapping[str, str] = {}, stats: Mapping[str, str] = {}) -> None:
        """Drain the queue, write ``rigsync.clocks``/``rigsync.stats`` metadata, the summary, fsync, and return
        once the file is finished. Idempotent (a later call waits for the file too; its arguments are ignored).

        An exception raised into the wait (KeyboardInterrupt) leaves the writer thread finishing the file: call
        ``close()`` again to wait for it. If the process exits first, the file ends at its last complete chunk
        (read back by recovery). Raises :class:`RecordingError` (once) if the writer failed; the file is left
        readable.
        """
        with self._lock:
            first = not self._closed
            self._closed = True
        if first:
            self._queue.close((dict(clocks), dict(stats)))
        # A plain lock, not Thread.join (an interrupted join can mark a running thread as finished: CPython
        # issue 90882, seen on 3.11) nor a Condition: interrupted anywhere, this wait leaves nothing behind. The
        # timeout lets the caller's signal handlers run even when a signal lands on another thread.
        while not self._finished:
            if self._finished_lock.acquire(timeout=0.1):
                self._finished_lock.release()
        with self._lock:
            report = self._error is not None and not self._error_reported
            self._error_reported = True
        if report:
            raise RecordingError(self.path, f"recording failed: {self._error}") from self._error

    # -- internals -------------------------------------------------------------------------------------

    def _put(self, item: _Item, nbytes: int, timeout_s: float | None,
             give_up: Callable[[], bool] | None = None) -> bool:
        try:
            return self._queue.put(item, nbytes, timeout_s, give_up)
        except QueueFailedError as exc:
            raise RecordingError(self.path, str(exc)) from exc.cause

    def _put_json(self, channel: int, payload: Mapping[str, Any], log_time_ns: int, sequence: int,
                  publish_time_ns: int | None = None) -> None:
        if log_time_ns < 0:
            raise RecordingError(self.path, f"log time {log_time_ns} ns is negative")
        try:
            data = sc.encode_json(payload)
        except (TypeError, ValueError) as exc:
            raise RecordingError(self.path, f"payload is not JSON-serializable: {exc}") from exc
        publish = log_time_ns if publish_time_ns is None else max(publish_time_ns, 0)
        self._put(_Message(channel, log_time_ns, publish, sequence, data), 0, None)

    def _json_channel(self, topic: str, schema: str) -> int:
        schema_id = _SCHEMA_IDS.get(schema) or _LATER_SCHEMA_IDS[schema]
        found = self._json_channels.get(topic)
        if found is None:
            with self._lock:
                found = self._json_channels.get(topic)
                if found is None:
                    found = self._add_channel(topic, "json", schema_id, {}), schema_id
        if found[1] != schema_id:
            raise RecordingError(self.path, f"topic {topic} has JSON schema {_schema_name(found[1])}, not {schema}")
        return found[0]

    def _add_channel(
        self, topic: str, encoding: str, schema_id: int, metadata: dict[str, str], *, direct: bool = False,
    ) -> int:
        """Allocate a channel id (caller holds the lock, or is the constructor with ``direct``)."""
        channel_id = self._next_channel
        self._next_channel += 1
        record = _Channel(channel_id, topic, encoding, schema_id, metadata)
        if direct:
            self._writer.add_channel(*record)
        else:
            self._put(record, 0, None)
        if encoding == "json":
            self._json_channels[topic] = channel_id, schema_id
        return channel_id

    def _handle(self, item: _Image | _Message) -> None:
        """Add a message, or an image's group (its stamp, camera_info and image: one chunk holds all three or
        none), to the open chunk."""
        w = self._writer
        if isinstance(item, _Image):
            st, rig, published = item.stream, item.rig_time_ns, item.publish_time_ns
            n = item.data.nbytes
            prefix = sc.raw_image_prefix(
                rig, width=st.width, height=st.height, encoding=st.encoding, step=n // st.height, data_len=n
            )
            # The stamps of every stream share a topic: published at their log time, so that the topic's two
            # timelines agree on its order (arrivals across streams do not follow exposures).
            w.add_message(self._frames_channel, rig, rig, item.seq, sc.encode_json(item.stamp))
            w.add_message(st.info_channel, rig, published, item.seq,
                          sc.encode_camera_calibration(st.calibration, rig))
            w.add_message(st.image_channel, rig, published, item.seq, prefix, payload=item.data, trailer=st.suffix)
        else:
            w.add_message(item.channel_id, item.log_time_ns, item.publish_time_ns, item.sequence, item.data)

    def _add(self, item: _Channel) -> None:
        """A channel (and its schema, if it is a later one) straight to the file, before any of its messages."""
        w = self._writer
        later = next((name for name, i in _LATER_SCHEMA_IDS.items() if i == item.schema_id), None)
        if later is not None and later not in self._later_schemas:
            self._later_schemas.add(later)
            w.add_schema(item.schema_id, later, *_schema(later))
        w.add_channel(*item)

    def _end_metadata(self, clocks: dict[str, str], stats: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
        return [("rigsync.clocks", clocks), ("rigsync.stats", {"recorder": json.dumps(asdict(self.stats)), **stats})]

    def _write_released(self, released: list[tuple[tuple[_Image | _Message, float], int]]) -> None:
        """Items out of the reorder buffer into the open chunk; their bytes leave the queue's bound."""
        for (item, put_s), nbytes in released:
            self._handle(item)
            self._writer.end_group(put_s)
            if nbytes:
                self._queue.release(nbytes)

    def _run(self) -> None:
        queue, writer, buffer = self._queue, self._writer, self._buffer
        try:
            while True:
                batch, closing = queue.get_batch(writer.flush_due_s(), holding=buffer.bytes > 0)
                for item, nbytes, put_s in batch:
                    if isinstance(item, _Advance):
                        buffer.advance(item.watermark_ns)
                    elif isinstance(item, _Channel):
                        self._add(item)
                        continue
                    else:
                        buffer.push(item.rig_time_ns if isinstance(item, _Image) else item.log_time_ns,
                                    (item, put_s), nbytes)
                        if nbytes:
                            queue.taken()
                    self._write_released(buffer.release())
                while buffer.bytes and queue.waiting():
                    # A producer waits for room the buffer holds: the oldest go early, up to an image's bytes.
                    oldest = buffer.release_oldest()
                    if oldest is not None:
                        self._write_released([oldest])
                        if oldest[1]:
                            break
                writer.flush_if_due()
                if closing is not None:
                    self._write_released(buffer.drain())
                    writer.flush_chunk()
                    for name, data in self._end_metadata(*closing[0]):
                        writer.add_metadata(name, data)
                    writer.finish()
                    self._sink.fsync()
                    break
        except Exception as exc:
            self._error = exc
            queue.fail(exc)
            end = self._end_metadata(*queue.wait_closed())
            try:
                writer.finish_after_error(end)
                self._sink.fsync()
            except OSError:
                pass  # the file ends at its last complete chunk (or wherever the disk stopped taking bytes)
        finally:
            self._sink.close()
            self._finished = True
            self._finished_lock.release()


def _schema(name: str) -> tuple[str, bytes]:
    if name == sc.RAW_IMAGE_SCHEMA:
        return "protobuf", sc.raw_image_schema()
    if name == sc.CAMERA_CALIBRATION_SCHEMA:
        return "protobuf", sc.camera_calibration_schema()
    return "jsonschema", js.json_schema_bytes(js.JSON_SCHEMAS[name])


def _schema_name(schema_id: int) -> str:
    return next(name for name, i in (*_SCHEMA_IDS.items(), *_LATER_SCHEMA_IDS.items()) if i == schema_id)


__all__ = ["FRAMESETS_TOPIC", "FRAMES_TOPIC", "HOSTS_TOPIC", "TRUTH_TOPIC", "Compression", "Recorder", "RecorderConfig",
           "RecorderStats"]
