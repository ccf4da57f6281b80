"""Reading a rigsync recording back: images, framesets, truth, JSON topics, metadata and a summary.

A complete file is read through its summary and chunk indexes (``mcap``'s seeking reader). A file without a
valid summary or footer (a capture killed, a disk that filled up) is *recovered*: it is streamed with
``mcap``'s stream reader over a reader that refuses short reads, and reading stops cleanly at the first
truncated or invalid record, so every message of every complete chunk is returned and nothing else.

Whatever the file holds, reading it raises nothing but :class:`RecordingError` naming the file: a file that is
not MCAP, holds nothing readable, or was not written by rigsync is refused when opened; a damaged chunk or
message found later (a bit flip, a bad compression frame) is reported when it is read.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import numpy as np
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from mcap.reader import SeekingReader
from mcap.records import Channel, Message

from rigsync.core.errors import RecordingError
from rigsync.core.frameset import FramesetMember, FramesetRecord
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.truth import FrameTruth
from rigsync.record import schemas as sc
from rigsync.record._scan import CORRUPT, load_indexed, load_recovered, read_chunk_records, records_messages, why
from rigsync.record.mcap_writer import MCAP_MAGIC
from rigsync.record.recorder import FRAMES_TOPIC, FRAMESETS_TOPIC, TRUTH_TOPIC, camera_info_topic, image_topic

_SEQ_MOD = 1 << 32
_READERS = max(1, min(4, os.cpu_count() or 1))
"""Threads reading and decompressing chunks ahead of the one being read."""
_READ_AHEAD = _READERS + 1
"""Chunks read ahead (each at most about a chunk of memory, 8 MiB uncompressed by default)."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """An image stream of the recording."""

    device: str
    stream: str
    topic: str
    encoding: str
    width: int
    height: int
    message_count: int


@dataclass(frozen=True, slots=True)
class RecordedImage:
    """One recorded image; ``image`` is a read-only array, (height, width) or (height, width, channels)."""

    device: str
    stream: str
    seq: int
    """The frame counter, unwrapped from the MCAP sequence (recorded modulo 2**32)."""
    rig_time_ns: int
    """Rig clock, start of exposure (the message log time)."""
    host_rx_ns: int
    """Host monotonic clock, when the frame was received (from the frame's ``/rigsync/frames`` stamp; in a file
    whose stamp is missing, the message publish time, which older rigsync versions set to it)."""
    image: np.ndarray
    encoding: str
    rig_rx_ns: int | None = None
    """Rig clock, when the frame reached its host (the message publish time); None: a file of an older rigsync,
    whose publish time was ``host_rx_ns``."""


@dataclass(frozen=True, slots=True)
class FrameStamp:
    """One recorded frame's ``/rigsync/frames`` record."""

    device: str
    stream: str
    seq: int
    rig_time_ns: int
    """Rig clock, estimated start of exposure."""
    error_bound_ns: int
    locked: bool
    device_ts_ns: int
    host_rx_ns: int
    exposure_ns: int | None
    flags: tuple[str, ...]
    """``corrupt``, ``interfered``, ``after_reconnect``."""
    time_flags: tuple[str, ...] = ()
    """``acquiring``, ``slewing``, ``host_unsynced``, ``ptp_unlocked``, ``ptp_warn``, ``ptp_error``."""


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    """What ``rigsync info`` shows."""

    path: str
    version: str
    recovered: bool
    devices: tuple[str, ...]
    streams: tuple[StreamInfo, ...]
    framesets_total: int
    framesets_complete: int
    framesets_incomplete: int
    missing_reasons: dict[str, int]
    """Missing members by reason (``not_received``, ``dropped``...) over all framesets."""
    duration_s: float
    """From the first to the last frameset (rig clock); from the first to the last message without framesets."""
    recovery: str = ""
    """A recovered file: what was kept and where reading stopped."""


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open a recording (recovering it if it was not closed properly). Raises :class:`RecordingError`."""
    return Recording(path)


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


class Recording:
    """A recording opened for reading. A context manager; each iterator reads the file on its own handle."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            with open(self.path, "rb") as f:
                if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                    raise RecordingError(self.path, "not an MCAP file (bad magic)")
                contents = load_indexed(f) or load_recovered(f)
        except OSError as exc:
            raise RecordingError(self.path, f"cannot read: {exc.strerror or exc}") from exc
        self.recovered = contents.recovered
        self.recovery = contents.recovery
        """A recovered file: what was kept (complete chunks, messages, bytes) and why reading stopped."""
        self.metadata: dict[str, dict[str, str]] = contents.metadata
        self._contents = contents
        self._schemas, self._channels, self._counts = contents.schemas, contents.channels, contents.counts
        self.chunks_decompressed: list[int] = []
        """File offsets of the chunks this recording's reads have decompressed, in order (reads skip the chunks
        without a topic they want)."""
        self._check_rigsync()
        rigsync_meta = self.metadata.get("rigsync", {})
        self.rig_toml: str = rigsync_meta.get("rig_toml", "")
        self.version: str = rigsync_meta.get("version", "")
        self.streams: list[StreamInfo] = [
            StreamInfo(
                device=ch.metadata.get("device") or ch.topic.split("/")[1],
                stream=ch.metadata.get("stream") or ch.topic.split("/")[2],
                topic=ch.topic,
                encoding=ch.metadata.get("encoding", ""),
                width=_int(ch.metadata.get("width")),
                height=_int(ch.metadata.get("height")),
                message_count=self._counts.get(ch.id, 0),
            )
            for ch in self._channels.values()
            if ch.topic.count("/") == 3 and ch.topic.startswith("/") and ch.topic.endswith("/image")
            and self._schema_name(ch) == sc.RAW_IMAGE_SCHEMA
        ]

    def _check_rigsync(self) -> None:
        """Refuse a file with nothing readable after its magic, or one that rigsync did not write."""
        library, stopped = self._contents.library, self._contents.stopped
        if library is None:
            raise RecordingError(self.path, f"not a recording: no MCAP header after the magic bytes ({stopped})")
        if "rigsync" not in self.metadata:
            if library.startswith("rigsync/"):
                raise RecordingError(self.path, f"written by {library}, but its rigsync metadata record is "
                                     f"missing or damaged ({stopped or 'not in the summary'})")
            topics = sorted({ch.topic for ch in self._channels.values()})
            shown = ", ".join(topics[:6]) + (f" and {len(topics) - 6} more" if len(topics) > 6 else "")
            raise RecordingError(self.path, f"not a rigsync recording: it has no rigsync metadata (written by "
                                 f"{library!r}; topics: {shown or 'none'})")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between iterations; kept for the context-manager contract."""

    def _schema_name(self, channel: Channel) -> str:
        schema = self._schemas.get(channel.schema_id)
        return "" if schema is None else schema.name

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Turn any error of reading ``what`` into a :class:`RecordingError` naming the file."""
        try:
            yield
        except RecordingError as exc:
            if exc.path == self.path:
                raise
            raise RecordingError(self.path, f"{what}: {exc.problem}") from exc
        except CORRUPT as exc:
            raise RecordingError(self.path, f"{what} is damaged or not rigsync's ({why(exc)})") from exc

    # -- messages ----------------------------------------------------------------------------------------

    def _messages(self, topics: Iterable[str]) -> Iterator[tuple[Channel, Message]]:
        """Messages of ``topics`` in file order."""
        wanted = {cid for cid, ch in self._channels.items() if ch.topic in set(topics)}
        if not wanted:
            return
        with open(self.path, "rb") as f, self._reading("a chunk"):
            if not self.recovered and not self._contents.chunks:  # a summary without chunk indexes
                topic_list = sorted({self._channels[c].topic for c in wanted})
                for _, channel, message in SeekingReader(f).iter_messages(topic_list, log_time_order=False):
                    yield channel, message
                return
            # In file order, a few chunks at a time (mcap's iter_messages without log-time order reads every chunk
            # before it yields a message: the whole file in memory); chunks without them skipped. Threads read and
            # decompress the next chunks while this one's messages are taken (zstd and lz4 release the GIL).
            chunks = [(offset, length) for offset, length, channels in self._contents.chunks
                      if not channels or wanted & channels]
            ahead: deque[tuple[int, Future[bytes]]] = deque()
            pool = ThreadPoolExecutor(_READERS)
            try:
                for n in range(len(chunks) + _READ_AHEAD):
                    if n < len(chunks):
                        ahead.append((chunks[n][0], pool.submit(read_chunk_records, f.fileno(), *chunks[n])))
                    if n < _READ_AHEAD or not ahead:
                        continue
                    offset, done = ahead.popleft()
                    data = done.result()
                    self.chunks_decompressed.append(offset)
                    for message in records_messages(data, wanted):
                        yield self._channels[message.channel_id], message
            finally:
                pool.shutdown(wait=True, cancel_futures=True)

    def raw_messages(self, topics: Iterable[str]) -> Iterator[tuple[str, Message]]:
        """``(topic, MCAP message)`` of ``topics`` in file order, one chunk in memory at a time (for exporters)."""
        for channel, message in self._messages(topics):
            yield channel.topic, message

    def json_messages(self, topic: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(log_time_ns, payload)`` of a JSON topic, in file order."""
        for _, message in self._messages([topic]):
            with self._reading(f"a {topic} message"):
                payload = json.loads(message.data)
            yield message.log_time, payload

    def json_messages_of(self, topics: Iterable[str]) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """``(topic, log_time_ns, payload)`` of several JSON topics in one pass over the file, in file order."""
        for channel, message in self._messages(topics):
            with self._reading(f"a {channel.topic} message"):
                payload = json.loads(message.data)
            yield channel.topic, message.log_time, payload

    def json_topics(self) -> list[str]:
        """The topics of the file's JSON channels (the per-frame and frameset ones included), sorted."""
        return sorted({ch.topic for ch in self._channels.values() if ch.message_encoding == "json"})

    def intrinsics(self, device: str, stream: str) -> Intrinsics | None:
        """A stream's intrinsics, from its first ``camera_info`` message (None if it has none)."""
        return self.intrinsics_of([f"{device}/{stream}"])[f"{device}/{stream}"]

    def intrinsics_of(self, keys: Iterable[str]) -> dict[str, Intrinsics | None]:
        """Each ``device/stream``'s intrinsics, from its first ``camera_info`` message (None if it has none), in one
        pass that stops once every stream's is read (camera_info recurs in every chunk: one pass per stream read
        ahead a few chunks each)."""
        topics = {camera_info_topic(k): k for k in keys}
        out: dict[str, Intrinsics | None] = dict.fromkeys(topics.values())
        left = set(topics)
        for channel, message in self._messages(topics):
            if channel.topic not in left:
                continue
            with self._reading(f"the {channel.topic} message at log time {message.log_time}"):
                c = CameraCalibration.FromString(message.data)
                out[topics[channel.topic]] = Intrinsics(
                    width=c.width, height=c.height, fx=c.K[0], fy=c.K[4], cx=c.K[2], cy=c.K[5],
                    distortion_model=c.distortion_model, distortion=tuple(c.D))
            left.discard(channel.topic)
            if not left:
                break
        return out

    def framesets(self) -> Iterator[FramesetRecord]:
        for _, payload in self.json_messages(FRAMESETS_TOPIC):
            with self._reading(f"a {FRAMESETS_TOPIC} message"):
                record = FramesetRecord.from_json(payload)
            yield record

    def frames(self) -> Iterator[FrameStamp]:
        """Every recorded frame's stamps and flags (``/rigsync/frames``), in file order."""
        for _, p in self.json_messages(FRAMES_TOPIC):
            yield self.frame_stamp(p)

    def frame_stamp(self, p: dict[str, Any]) -> FrameStamp:
        """A ``/rigsync/frames`` payload as a :class:`FrameStamp`."""
        with self._reading(f"a {FRAMES_TOPIC} message"):
            return FrameStamp(p["device"], p["stream"], int(p["seq"]), int(p["rig_time_ns"]), int(p["error_bound_ns"]),
                              bool(p["locked"]), int(p["device_ts_ns"]), int(p["host_rx_ns"]), p["exposure_ns"],
                              tuple(p["flags"]), tuple(p.get("time_flags", ())))

    def truth(self) -> Iterator[FrameTruth]:
        for _, payload in self.json_messages(TRUTH_TOPIC):
            with self._reading(f"a {TRUTH_TOPIC} message"):
                truth = FrameTruth.from_json(payload)
            yield truth

    def _stream(self, device: str, stream: str) -> StreamInfo:
        for info in self.streams:
            if (info.device, info.stream) == (device, stream):
                return info
        raise RecordingError(self.path, f"no image stream {device}/{stream} (streams: "
                             f"{', '.join(f'{s.device}/{s.stream}' for s in self.streams)})")  # fmt: skip

    def _image_messages(self, topics: Iterable[str]) -> Iterator[tuple[Channel, Message, int | None]]:
        """The image messages of ``topics`` in file order, each with its frame's ``host_rx_ns`` from its stamp,
        which rigsync writes just before the image, in the same chunk (None: not found before the image, a file of
        an older rigsync, which wrote it later and published the image at ``host_rx_ns``)."""
        wanted = set(topics)
        host_rx: dict[tuple[str, int, int], int] = {}
        for channel, message in self._messages([*wanted, FRAMES_TOPIC]):
            if channel.topic == FRAMES_TOPIC:
                with self._reading(f"a {FRAMES_TOPIC} message"):
                    p = json.loads(message.data)
                    topic = image_topic(f"{p['device']}/{p['stream']}")
                    if topic in wanted:
                        host_rx[(topic, message.sequence, message.log_time)] = int(p["host_rx_ns"])
                continue
            yield channel, message, host_rx.pop((channel.topic, message.sequence, message.log_time), None)

    def _decode(self, info: StreamInfo, message: Message, seq: int, host_rx_ns: int | None) -> RecordedImage:
        with self._reading(f"the {info.topic} image at log time {message.log_time}"):
            raw = RawImage.FromString(message.data)
            return RecordedImage(
                device=info.device,
                stream=info.stream,
                seq=seq,
                rig_time_ns=message.log_time,
                host_rx_ns=message.publish_time if host_rx_ns is None else host_rx_ns,
                image=sc.image_array(raw),
                encoding=raw.encoding,
                rig_rx_ns=None if host_rx_ns is None else message.publish_time,
            )

    def images(self, device: str, stream: str) -> Iterator[RecordedImage]:
        """The images of one stream in file order (= capture order)."""
        return self.images_of([(device, stream)])

    def images_of(self, streams: Iterable[tuple[str, str]]) -> Iterator[RecordedImage]:
        """The images of several ``(device, stream)`` in one pass over the file, in file order (each stream's
        in capture order)."""
        infos = {info.topic: info for info in (self._stream(d, s) for d, s in streams)}
        base, last = dict.fromkeys(infos, 0), dict.fromkeys(infos, -1)
        for channel, message, host_rx_ns in self._image_messages(infos):
            topic = channel.topic
            if message.sequence < last[topic]:
                base[topic] += _SEQ_MOD
            last[topic] = message.sequence
            yield self._decode(infos[topic], message, base[topic] + message.sequence, host_rx_ns)

    def framesets_with_images(self) -> Iterator[tuple[FramesetRecord, dict[tuple[str, str], RecordedImage]]]:
        """Each frameset with its members' images, found by topic and log time (or sequence).

        Reads the framesets first, then the images in one pass. A frameset is given
        once each member's image is found, or once its stream has a later image (the member's was not recorded:
        it is absent from the dict); only the images of framesets not yet given are held.
        """
        records = list(self.framesets())
        infos = {info.topic: info for info in self.streams}
        topic_of = {(info.device, info.stream): info.topic for info in self.streams}
        by_time: dict[tuple[str, int], list[tuple[int, FramesetMember]]] = defaultdict(list)
        by_seq: dict[tuple[str, int], list[tuple[int, FramesetMember]]] = defaultdict(list)
        waiting: list[dict[str, int]] = []  # per frameset: topic -> rig time of the member not found yet
        for i, record in enumerate(records):
            waiting.append({})
            for member in record.members:
                topic = topic_of.get((member.device, member.stream))
                if topic is not None:
                    by_time[(topic, member.rig_time_ns)].append((i, member))
                    by_seq[(topic, member.seq % _SEQ_MOD)].append((i, member))
                    waiting[i][topic] = member.rig_time_ns
        found: list[dict[tuple[str, str], RecordedImage]] = [{} for _ in records]
        latest: dict[str, int] = {}
        given = 0
        for channel, message, host_rx_ns in self._image_messages(infos):
            topic = channel.topic
            latest[topic] = max(latest.get(topic, message.log_time), message.log_time)
            hits = by_time.pop((topic, message.log_time), None) or by_seq.pop((topic, message.sequence), None)
            for i, member in hits or ():
                if i >= given and waiting[i].pop(topic, None) is not None:
                    found[i][(member.device, member.stream)] = self._decode(infos[topic], message, member.seq,
                                                                            host_rx_ns)
            while given < len(records) and all(latest.get(t, -1) > t_ns for t, t_ns in waiting[given].items()):
                yield records[given], found[given]
                found[given] = {}
                given += 1
        for i in range(given, len(records)):
            yield records[i], found[i]

    def summary(self) -> RecordingSummary:
        """Devices, streams with frame counts, frameset completeness and missing reasons, duration."""
        total = complete = 0
        reasons: Counter[str] = Counter()
        first = last = None
        for record in self.framesets():
            total += 1
            complete += not record.missing
            reasons.update(m.reason.value for m in record.missing)
            first = record.rig_time_ns if first is None else first
            last = record.rig_time_ns
        start, end = self._contents.time_span
        span = (last - first) if first is not None and last is not None else end - start
        return RecordingSummary(
            path=self.path,
            version=self.version,
            recovered=self.recovered,
            devices=tuple(dict.fromkeys(s.device for s in self.streams)),
            streams=tuple(self.streams),
            framesets_total=total,
            framesets_complete=complete,
            framesets_incomplete=total - complete,
            missing_reasons=dict(reasons),
            duration_s=max(span, 0) / 1e9,
            recovery=self.recovery,
        )
