"""The live view's server: foxglove-sdk's WebSocket server (protocol ``foxglove.sdk.v1``) on its own context,
and one thread that serves what the capture handed to the :class:`~rigsync.live.feed.LiveFeed`.

Topics are the recording's (docs/recording.md), so one Foxglove layout opens both: ``/<device>/<stream>/image``
(``foxglove.RawImage``, the preview: at most ``max_width`` wide, at most ``fps`` a second, stamped and logged at the
frame's rig time), ``/<device>/<stream>/camera_info`` (``foxglove.CameraCalibration`` at the preview's size, with
each preview), ``/rigsync/framesets`` (as recorded); and ``/rigsync/live/status`` (:mod:`rigsync.live.health`).
Nothing is converted or sent for a topic no client is subscribed to. A client that does not read fast enough
loses the oldest messages of its queue (``BACKLOG`` messages; the SDK drops them), never the capture's time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration

from rigsync.core.errors import OptionError, RigsyncError
from rigsync.core.frame import StampedFrame
from rigsync.core.intrinsics import Intrinsics
from rigsync.live.feed import LiveBatch, LiveFeed
from rigsync.live.health import STATUS_JSON_SCHEMA, STATUS_SCHEMA, STATUS_TOPIC, status_json
from rigsync.live.options import LiveOptions
from rigsync.live.preview import preview_image, preview_intrinsics
from rigsync.record import json_schemas as js
from rigsync.record import schemas as sc
from rigsync.record.recorder import FRAMESETS_TOPIC, camera_info_topic, image_topic

BACKLOG = 64
"""Messages queued per client at most (the SDK drops the oldest beyond): ~15 MB of 320x240 RGB previews."""
SUBSCRIPTIONS_EVERY_S = 0.1
"""How often the server reads which topics clients are subscribed to."""


def _foxglove() -> Any:
    try:
        import foxglove
    except ImportError:
        raise RigsyncError("the live view (--live) needs the Python module 'foxglove' (foxglove-sdk), which is not "
                           "installed: pip install 'rigsync[live]'") from None
    return foxglove


class _Stream:
    """One stream's two channels and its calibration at the preview's size."""

    def __init__(self, fg: Any, context: Any, key: str) -> None:
        image_schema = fg.Schema(name=sc.RAW_IMAGE_SCHEMA, encoding="protobuf", data=sc.raw_image_schema())
        info_schema = fg.Schema(name=sc.CAMERA_CALIBRATION_SCHEMA, encoding="protobuf",
                                data=sc.camera_calibration_schema())
        self.image = fg.Channel(image_topic(key), schema=image_schema, message_encoding="protobuf", context=context)
        self.info = fg.Channel(camera_info_topic(key), schema=info_schema, message_encoding="protobuf",
                               context=context)
        self.suffix = sc.frame_id_suffix(key)
        self.calibration: CameraCalibration | None = None


class LiveServer:
    """Serve a capture to Foxglove while it runs: a context manager (the server listens from ``__enter__`` to
    ``__exit__``, which sends what the feed still holds first). It can listen before the capture opens its devices
    (a port in use is then refused before anything is recorded); :meth:`calibrate` gives it their intrinsics."""

    def __init__(self, options: LiveOptions, feed: LiveFeed) -> None:
        self.options = options
        self.feed = feed
        self._server: Any = None
        self._context: Any = None
        self._streams: dict[str, _Stream] = {}
        self._channels: list[Any] = []
        self._framesets: Any = None
        self._status: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.error: str | None = None
        """The first error serving ran into (the capture goes on without the live view's messages then)."""
        self.sent = 0
        """Messages sent (to every subscribed client)."""

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the free one the system chose for port 0)."""
        if self._server is None:
            raise RigsyncError("the live server is not running: use it as a context manager")
        return int(self._server.port)

    @property
    def url(self) -> str:
        """``ws://HOST:PORT``, what Foxglove's "Open connection" > "Foxglove WebSocket" asks for."""
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        return f"ws://{host}:{self.port}"

    def __enter__(self) -> Self:
        fg = _foxglove()
        context = self._context = fg.Context()  # kept: the server loses its channels when the context is freed
        try:
            self._server = fg.start_server(name="rigsync", host=self.options.host, port=self.options.port,
                                           context=context, message_backlog_size=BACKLOG)
        except RuntimeError as err:
            in_use = "in use" in str(err)
            raise OptionError("--live", self.options.endpoint,
                              "the port is in use (another capture's live view, or a Foxglove bridge?)" if in_use
                              else f"cannot listen there: {err}",
                              "a free port (--live :0 takes any free one) on an address of this machine") from None
        try:
            for key in self.feed.keys:
                stream = self._streams[key] = _Stream(fg, context, key)
                self._channels += [stream.image, stream.info]
            json_schema = js.json_schema_bytes
            self._framesets = fg.Channel(FRAMESETS_TOPIC, message_encoding="json", context=context, schema=fg.Schema(
                name=js.FRAMESET_SCHEMA, encoding="jsonschema", data=json_schema(js.FRAMESET_JSON_SCHEMA)))
            self._status = fg.Channel(STATUS_TOPIC, message_encoding="json", context=context, schema=fg.Schema(
                name=STATUS_SCHEMA, encoding="jsonschema", data=json_schema(STATUS_JSON_SCHEMA)))
            self._channels += [self._framesets, self._status]
            self._thread = threading.Thread(target=self._serve, name="rigsync-live", daemon=True)
            self._thread.start()
        except BaseException:
            self._close()
            raise
        return self

    def calibrate(self, intrinsics: Mapping[str, Intrinsics]) -> None:
        """Each stream's intrinsics (``CaptureSession.intrinsics``): its previews come with them from now on, at
        the preview's size."""
        for key, stream in self._streams.items():
            if key in intrinsics:
                stream.calibration = sc.camera_calibration(preview_intrinsics(intrinsics[key], self.options.max_width),
                                                           key)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close()

    def _close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        if self._server is not None:
            self._server.stop()

    # --- the server's thread --------------------------------------------------------------------

    def _serve(self) -> None:
        next_subscriptions = 0.0
        while True:
            stopping = self._stop.is_set()
            if time.monotonic() >= next_subscriptions:
                next_subscriptions = time.monotonic() + SUBSCRIPTIONS_EVERY_S
                self.feed.subscribe([k for k, s in self._streams.items() if s.image.has_sinks()],
                                    self._framesets.has_sinks())
            try:
                self._send(self.feed.take())
            except Exception as err:  # the capture goes on without the live view's messages
                self.error = self.error or f"{type(err).__name__}: {err}"
            if stopping:
                return
            self.feed.wait(SUBSCRIPTIONS_EVERY_S)

    def _send(self, batch: LiveBatch) -> None:
        for key, stamped in batch.frames.items():
            self._send_preview(self._streams[key], stamped)
        for record in batch.framesets:
            self._framesets.log(sc.encode_json(record.to_json()), log_time=record.rig_time_ns)
            self.sent += 1
        if batch.status is not None and self._status.has_sinks():
            feed = self.feed
            payload = status_json(batch.status, feed.taken, feed.replaced, feed.framesets_dropped)
            self._status.log(sc.encode_json(payload), log_time=batch.status.rig_time_ns)
            self.sent += 1

    def _send_preview(self, stream: _Stream, stamped: StampedFrame) -> None:
        f = stamped.frame
        if f.image is None:
            return
        image, encoding = preview_image(f.image, f.encoding, self.options.max_width)
        rig_ns = stamped.rig_time_ns
        prefix = sc.raw_image_prefix(rig_ns, width=image.shape[1], height=image.shape[0], encoding=encoding,
                                     step=image.strides[0], data_len=image.nbytes)
        stream.image.log(b"".join((prefix, image.data, stream.suffix)), log_time=rig_ns)  # one copy of the pixels
        self.sent += 1
        if stream.calibration is not None and stream.info.has_sinks():
            stream.info.log(sc.encode_camera_calibration(stream.calibration, rig_ns), log_time=rig_ns)
            self.sent += 1
