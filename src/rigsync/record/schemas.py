"""Schemas and message encodings of a rigsync recording.

Images are ``foxglove.RawImage`` and calibrations ``foxglove.CameraCalibration`` (protobuf, schema = the
``FileDescriptorSet`` of ``foxglove_schemas_protobuf``); the JSON channels' schemas are in
:mod:`rigsync.record.json_schemas`. The hot path never serializes the image bytes through protobuf:
:func:`raw_image_prefix` and :func:`frame_id_suffix` return the serialized fields around ``data`` and the
caller writes the pixels by reference in between. The result is
byte-identical to ``RawImage.SerializeToString()`` (fields in field-number order, ``frame_id`` = 7 last).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage

from rigsync.core.errors import RecordingError
from rigsync.core.intrinsics import Intrinsics

RAW_IMAGE_SCHEMA: Final = "foxglove.RawImage"
CAMERA_CALIBRATION_SCHEMA: Final = "foxglove.CameraCalibration"

_DATA_TAG: Final = bytes([(6 << 3) | 2])  # RawImage.data: field 6, wire type 2 (length-delimited)


@dataclass(frozen=True, slots=True)
class PixelFormat:
    """How a RawImage encoding maps to a numpy array: ``channels`` per pixel of ``dtype`` (little-endian)."""

    channels: int
    dtype: str


PIXEL_FORMATS: Final[dict[str, PixelFormat]] = {
    "rgb8": PixelFormat(3, "u1"),
    "bgr8": PixelFormat(3, "u1"),
    "rgba8": PixelFormat(4, "u1"),
    "bgra8": PixelFormat(4, "u1"),
    "mono8": PixelFormat(1, "u1"),
    "8UC1": PixelFormat(1, "u1"),
    "mono16": PixelFormat(1, "<u2"),
    "16UC1": PixelFormat(1, "<u2"),
    "32FC1": PixelFormat(1, "<f4"),
    "yuyv": PixelFormat(2, "u1"),
    "uyvy": PixelFormat(2, "u1"),
}
"""RawImage encodings rigsync records; depth is ``16UC1`` (millimetres)."""


def pixel_format(encoding: str, where: str) -> PixelFormat:
    """The pixel format of ``encoding``; :class:`RecordingError` naming ``where`` if it is not supported."""
    try:
        return PIXEL_FORMATS[encoding]
    except KeyError:
        raise RecordingError(
            where, f"image encoding {encoding!r} is not supported (allowed: {', '.join(PIXEL_FORMATS)})"
        ) from None


def file_descriptor_set(descriptor: Any) -> bytes:
    """Serialized ``FileDescriptorSet`` of a .proto file (a ``FileDescriptor``) and everything it imports."""
    descriptor_pb2 = importlib.import_module("google.protobuf.descriptor_pb2")
    fds = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(fd: Any) -> None:
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            add(dep)
        fds.file.append(descriptor_pb2.FileDescriptorProto.FromString(fd.serialized_pb))

    add(descriptor)
    return cast(bytes, fds.SerializeToString())


def raw_image_schema() -> bytes:
    return file_descriptor_set(RawImage.DESCRIPTOR.file)


def camera_calibration_schema() -> bytes:
    return file_descriptor_set(CameraCalibration.DESCRIPTOR.file)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def frame_id_suffix(frame_id: str) -> bytes:
    """The serialized ``frame_id`` field (7), which follows ``data`` (6) in field-number order."""
    return cast(bytes, RawImage(frame_id=frame_id).SerializeToString())


def raw_image_prefix(timestamp_ns: int, *, width: int, height: int, encoding: str, step: int, data_len: int) -> bytes:
    """RawImage fields 1-5 followed by the field-6 tag and length of ``data_len`` image bytes.

    ``prefix + data + frame_id_suffix(frame_id)`` is byte-identical to the library's serialization of the
    full message (when ``data_len > 0``; an empty ``data`` still decodes identically).
    """
    msg = RawImage(width=width, height=height, encoding=encoding, step=step)
    sec, nsec = divmod(timestamp_ns, 1_000_000_000)
    msg.timestamp.seconds = sec
    msg.timestamp.nanos = nsec
    return cast(bytes, msg.SerializeToString()) + _DATA_TAG + _varint(data_len)


def camera_calibration(intrinsics: Intrinsics, frame_id: str) -> CameraCalibration:
    """A CameraCalibration template for a stream (timestamp left unset): K, P, R identity, D, model, size."""
    return CameraCalibration(
        frame_id=frame_id,
        width=intrinsics.width,
        height=intrinsics.height,
        distortion_model=intrinsics.distortion_model,
        D=list(intrinsics.distortion),
        K=list(intrinsics.k),
        R=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        P=list(intrinsics.p),
    )


def encode_camera_calibration(template: CameraCalibration, timestamp_ns: int) -> bytes:
    """Serialize ``template`` stamped with ``timestamp_ns`` (the template is modified in place)."""
    sec, nsec = divmod(timestamp_ns, 1_000_000_000)
    template.timestamp.seconds = sec
    template.timestamp.nanos = nsec
    return cast(bytes, template.SerializeToString())


def timestamp_ns(msg: RawImage | CameraCalibration) -> int:
    """A message's ``timestamp`` in integer nanoseconds."""
    return int(msg.timestamp.seconds) * 1_000_000_000 + int(msg.timestamp.nanos)


def image_array(msg: RawImage) -> np.ndarray:
    """The pixels of a decoded RawImage as a read-only array: (height, width) or (height, width, channels)."""
    fmt = pixel_format(msg.encoding, f"RawImage {msg.frame_id}")
    dtype = np.dtype(fmt.dtype)
    row_bytes = msg.width * fmt.channels * dtype.itemsize
    step = msg.step or row_bytes
    if step < row_bytes or len(msg.data) < step * msg.height:
        raise RecordingError(
            f"RawImage {msg.frame_id}",
            f"{len(msg.data)} data bytes do not hold {msg.height} rows of step {step} "
            f"({msg.width} x {msg.encoding} needs {row_bytes} per row)",
        )
    rows = np.frombuffer(msg.data, dtype=np.uint8, count=step * msg.height).reshape(msg.height, step)
    pixels = rows[:, :row_bytes].view(dtype)
    shape = (msg.height, msg.width) if fmt.channels == 1 else (msg.height, msg.width, fmt.channels)
    return pixels.reshape(shape)


def encode_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON of a message payload."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
