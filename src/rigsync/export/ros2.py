"""``rigsync export REC.mcap --ros2 OUT.mcap``: a recording as a ROS 2 bag (MCAP, profile ``ros2``).

Each image becomes a ``sensor_msgs/msg/Image`` and its calibration a ``sensor_msgs/msg/CameraInfo``, stamped with the
frame's rig time in ``header.stamp`` and the camera's optical frame in ``header.frame_id``; each frame's stamps and
each frameset become ``rigsync_msgs/msg/FrameStamp`` and ``rigsync_msgs/msg/Frameset`` (:mod:`.ros2_msgs`). Every
message is CDR with its ``ros2msg`` schema in the file, keeps its source ``log_time``, ``publish_time`` and
``sequence``, and is written in the source's file order. The source is read one chunk at a time, so memory stays
bounded by a chunk of each file whatever the recording's length. Topic names: :mod:`.ros2_names`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from mcap.records import Message

from rigsync.core.errors import RecordingError, RigsyncError
from rigsync.export import ros2_msgs as msgs
from rigsync.export.ros2_names import StreamNames, stream_names
from rigsync.record import Recording, open_recording
from rigsync.record.recorder import FRAMES_TOPIC, FRAMESETS_TOPIC, camera_info_topic
from rigsync.record.schemas import pixel_format

ROS_ENCODING = {"yuyv": "yuv422_yuy2", "uyvy": "yuv422"}
"""rigsync image encodings whose ROS 2 name (sensor_msgs/image_encodings) differs; the others are the same."""

_INT32 = 1 << 31
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Ros2Export:
    """What an export wrote."""

    path: Path
    images: int
    camera_infos: int
    frame_stamps: int
    framesets: int
    topics: dict[str, str]
    """Each source topic exported -> its ROS 2 topic."""


def ros_time(rig_time_ns: int, what: str) -> dict[str, int]:
    """``builtin_interfaces/Time`` of a time in ns; :class:`RigsyncError` naming ``what`` beyond its int32 seconds."""
    sec, nanosec = divmod(rig_time_ns, 1_000_000_000)
    if not -_INT32 <= sec < _INT32:
        raise RigsyncError(f"{what}: time {rig_time_ns} ns does not fit builtin_interfaces/Time (int32 seconds: "
                           f"allowed {-_INT32} to {_INT32 - 1} s)")
    return {"sec": sec, "nanosec": nanosec}


def _header(stamp_ns: int, frame_id: str, what: str) -> dict[str, Any]:
    return {"stamp": ros_time(stamp_ns, what), "frame_id": frame_id}


def _image(raw: RawImage, names: StreamNames, stamp_ns: int, what: str) -> dict[str, Any]:
    fmt = pixel_format(raw.encoding, what)  # a known layout, or a RecordingError naming it
    step = raw.step or raw.width * fmt.channels * np.dtype(fmt.dtype).itemsize
    if len(raw.data) < step * raw.height:
        raise ValueError(f"{len(raw.data)} data bytes do not hold {raw.height} rows of step {step}")
    return {"header": _header(stamp_ns, names.frame_id, what), "height": raw.height, "width": raw.width,
            "encoding": ROS_ENCODING.get(raw.encoding, raw.encoding), "is_bigendian": 0, "step": step,
            "data": raw.data}


def _camera_info(c: CameraCalibration, names: StreamNames, stamp_ns: int, what: str) -> dict[str, Any]:
    if (len(c.K), len(c.P)) != (9, 12):
        raise ValueError(f"K has {len(c.K)} values and P {len(c.P)} (CameraInfo needs 9 and 12)")
    return {"header": _header(stamp_ns, names.frame_id, what), "height": c.height, "width": c.width,
            "distortion_model": c.distortion_model, "d": list(c.D), "k": list(c.K),
            "r": list(c.R) if len(c.R) == 9 else list(_IDENTITY), "p": list(c.P), "binning_x": 0, "binning_y": 0,
            "roi": {"x_offset": 0, "y_offset": 0, "height": 0, "width": 0, "do_rectify": False}}


def _topic_of(names: dict[tuple[str, str], StreamNames], device: str, stream: str) -> str:
    known = names.get((device, stream))
    return known.image_topic if known else ""


def _frame_stamp(p: dict[str, Any], names: dict[tuple[str, str], StreamNames], what: str) -> dict[str, Any]:
    known = names.get((p["device"], p["stream"]))
    exposure = p.get("exposure_ns")
    return {"header": _header(int(p["rig_time_ns"]), known.frame_id if known else "", what),
            "device": p["device"], "stream": p["stream"], "image_topic": _topic_of(names, p["device"], p["stream"]),
            "seq": int(p["seq"]), "error_bound_ns": int(p["error_bound_ns"]), "locked": bool(p["locked"]),
            "device_ts_ns": int(p["device_ts_ns"]), "host_rx_ns": int(p["host_rx_ns"]),
            "exposure_ns": -1 if exposure is None else int(exposure), "flags": list(p.get("flags", ())),
            "time_flags": list(p.get("time_flags", ()))}


def _frameset(p: dict[str, Any], names: dict[tuple[str, str], StreamNames], what: str) -> dict[str, Any]:
    members = [{"device": m["device"], "stream": m["stream"], "image_topic": _topic_of(names, m["device"], m["stream"]),
                "seq": int(m["seq"]), "stamp": ros_time(int(m["rig_time_ns"]), what),
                "device_ts_ns": int(m["device_ts_ns"]), "host_rx_ns": int(m["host_rx_ns"]),
                "error_bound_ns": int(m["error_bound_ns"])} for m in p["members"]]
    missing = [{"device": m["device"], "stream": m["stream"], "image_topic": _topic_of(names, m["device"], m["stream"]),
                "reason": m["reason"]} for m in p["missing"]]
    return {"header": _header(int(p["rig_time_ns"]), "", what), "frameset_id": int(p["frameset_id"]),
            "spread_ns": int(p["spread_ns"]), "members": members, "missing": missing}


def _payload(datatype: str, ros: StreamNames | None, message: Message, names: dict[tuple[str, str], StreamNames],
             what: str) -> dict[str, Any]:
    """The ROS 2 message (as a dict) of a source message: an image or camera_info of stream ``ros``, or JSON."""
    if datatype == msgs.IMAGE and ros is not None:
        return _image(RawImage.FromString(message.data), ros, message.log_time, what)
    if datatype == msgs.CAMERA_INFO and ros is not None:
        return _camera_info(CameraCalibration.FromString(message.data), ros, message.log_time, what)
    convert = _frame_stamp if datatype == msgs.FRAME_STAMP else _frameset
    return convert(json.loads(message.data), names, what)


_Route = tuple[str, str, StreamNames | None]
"""A source topic's ROS 2 message type, ROS 2 topic, and stream names (None for the rig-wide topics)."""


def _routes(rec: Recording, names: dict[tuple[str, str], StreamNames]) -> dict[str, _Route]:
    """Each exported source topic's route."""
    route: dict[str, _Route] = {FRAMES_TOPIC: (msgs.FRAME_STAMP, FRAMES_TOPIC, None),
                                FRAMESETS_TOPIC: (msgs.FRAMESET, FRAMESETS_TOPIC, None)}
    for s in rec.streams:
        ros = names[(s.device, s.stream)]
        route[s.topic] = (msgs.IMAGE, ros.image_topic, ros)
        route[camera_info_topic(f"{s.device}/{s.stream}")] = (msgs.CAMERA_INFO, ros.camera_info_topic, ros)
    return route


def writer_class() -> Any:
    try:
        from mcap_ros2.writer import Writer
    except ImportError:
        raise RigsyncError("the ROS 2 export needs the Python module 'mcap_ros2', which is not installed: "
                           "pip install 'rigsync[ros2]'") from None
    return Writer


@contextmanager
def _replacing(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` that becomes ``out`` when the block succeeds, and is removed if it fails."""
    part = out.with_name(out.name + ".part")
    try:
        yield part
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)


def export_ros2(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> Ros2Export:
    """Write ``source`` (a rigsync recording, recovered if it was not closed) to ``out`` in the ``ros2`` profile.

    Raises :class:`RecordingError` for an unreadable or damaged source, :class:`RigsyncError` for device ids that
    map to the same ROS names or a stamp ROS time cannot hold; ``out`` is written only if the export succeeds.
    """
    make_writer = writer_class()
    out = Path(out)
    counts = dict.fromkeys((msgs.IMAGE, msgs.CAMERA_INFO, msgs.FRAME_STAMP, msgs.FRAMESET), 0)
    with open_recording(source) as rec, _replacing(out) as part, open(part, "wb") as f:
        names = stream_names((s.device, s.stream) for s in rec.streams)
        route = _routes(rec, names)
        topics = {src: dst for src, (_, dst, _) in route.items()}
        writer = make_writer(f, chunk_size=4 << 20)
        schemas = {name: writer.register_msgdef(name, text) for name, text in msgs.DEFINITIONS.items()}
        writer.add_metadata("rigsync.source", {"path": os.fspath(source), "version": rec.version,
                                               "rig_toml": rec.rig_toml, "topics": json.dumps(topics)})
        for topic, message in rec.raw_messages(route):
            datatype, ros_topic, ros = route[topic]
            try:
                payload = _payload(datatype, ros, message, names, f"{rec.path}: the {topic} message at log time "
                                                                  f"{message.log_time}")
            except (DecodeError, ValueError, KeyError, TypeError) as exc:
                problem = (f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError)
                           else f"{type(exc).__name__}: {exc}")
                raise RecordingError(rec.path, f"the {topic} message at log time {message.log_time} is damaged or "
                                     f"not rigsync's ({problem})") from exc
            writer.write_message(ros_topic, schemas[datatype], payload, log_time=message.log_time,
                                 publish_time=message.publish_time, sequence=message.sequence)
            counts[datatype] += 1
        writer.finish()
    return Ros2Export(path=out, images=counts[msgs.IMAGE], camera_infos=counts[msgs.CAMERA_INFO],
                      frame_stamps=counts[msgs.FRAME_STAMP], framesets=counts[msgs.FRAMESET],
                      topics=topics)
