"""Encodings of the recording: hand-encoded RawImage, calibration, pixel arrays (JSON schemas: test_json_schemas.py)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from hypothesis import given, settings
from hypothesis import strategies as st

from rigsync.core.errors import RecordingError
from rigsync.core.intrinsics import Intrinsics
from rigsync.record import schemas as sc


def _library_raw_image(ts_ns: int, width: int, height: int, data: bytes) -> RawImage:
    msg = RawImage(frame_id="cam0/color", width=width, height=height, encoding="rgb8", step=width * 3, data=data)
    msg.timestamp.seconds, msg.timestamp.nanos = divmod(ts_ns, 1_000_000_000)
    return msg


@settings(max_examples=60, deadline=None)
@given(
    ts_ns=st.integers(min_value=0, max_value=2**62),
    width=st.integers(min_value=1, max_value=5000),
    height=st.integers(min_value=0, max_value=5000),
    data_len=st.sampled_from([1, 127, 128, 16383, 16384, 70_000, 2_097_152]),
)
def test_hand_encoded_raw_image_equals_library(ts_ns: int, width: int, height: int, data_len: int) -> None:
    """prefix + pixels + frame_id suffix equals RawImage.SerializeToString() and decodes to the same message."""
    data = bytes(range(256)) * (data_len // 256) + bytes(data_len % 256)
    prefix = sc.raw_image_prefix(ts_ns, width=width, height=height, encoding="rgb8", step=width * 3, data_len=len(data))
    hand = prefix + data + sc.frame_id_suffix("cam0/color")
    library = _library_raw_image(ts_ns, width, height, data)
    assert hand == library.SerializeToString()
    assert RawImage.FromString(hand) == library


def test_hand_encoded_empty_image_decodes_like_library() -> None:
    """A zero-length image (explicit empty field 6) still decodes to the library's message."""
    hand = sc.raw_image_prefix(5, width=0, height=0, encoding="mono8", step=0, data_len=0) + sc.frame_id_suffix("a/b")
    library = RawImage(frame_id="a/b", encoding="mono8")
    library.timestamp.nanos = 5
    assert RawImage.FromString(hand) == library


def test_schema_is_a_file_descriptor_set_with_dependencies() -> None:
    """The RawImage schema is a FileDescriptorSet holding RawImage.proto and timestamp.proto, imports first."""
    descriptor_pb2 = importlib.import_module("google.protobuf.descriptor_pb2")
    fds = descriptor_pb2.FileDescriptorSet.FromString(sc.raw_image_schema())
    names = [f.name for f in fds.file]
    assert names == ["google/protobuf/timestamp.proto", "foxglove/RawImage.proto"]


def test_camera_calibration_carries_intrinsics() -> None:
    """CameraCalibration has K, P, identity R, D, model, size and the stamped time."""
    intr = Intrinsics(640, 480, 500.0, 501.0, 319.5, 239.5, distortion=(0.1, -0.2, 0.0, 0.0, 0.01))
    data = sc.encode_camera_calibration(sc.camera_calibration(intr, "cam0/color"), 1_500_000_123)
    msg = CameraCalibration.FromString(data)
    assert list(msg.K) == list(intr.k)
    assert list(msg.P) == list(intr.p)
    assert list(msg.R) == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert list(msg.D) == pytest.approx(list(intr.distortion))
    assert (msg.width, msg.height, msg.distortion_model, msg.frame_id) == (640, 480, "plumb_bob", "cam0/color")
    assert sc.timestamp_ns(msg) == 1_500_000_123


@pytest.mark.parametrize(
    ("encoding", "shape", "dtype"),
    [("rgb8", (4, 5, 3), np.uint8), ("mono8", (4, 5), np.uint8), ("16UC1", (4, 5), np.uint16)],
)
def test_image_array_honours_row_padding(encoding: str, shape: tuple[int, ...], dtype: type) -> None:
    """Rows padded beyond width x pixel size (step) are cut back to the exact pixels."""
    pixels: np.ndarray = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    row = pixels.reshape(shape[0], -1).view(np.uint8)
    padded = np.concatenate([row, np.full((shape[0], 6), 0xEE, np.uint8)], axis=1)
    msg = RawImage(width=shape[1], height=shape[0], encoding=encoding, step=padded.shape[1], data=padded.tobytes())
    np.testing.assert_array_equal(sc.image_array(msg), pixels)


def test_image_array_rejects_short_data() -> None:
    """Data too short for height x step is a RecordingError, not a garbled array."""
    msg = RawImage(width=4, height=4, encoding="mono8", step=4, data=b"\0" * 15, frame_id="a/b")
    with pytest.raises(RecordingError, match="a/b"):
        sc.image_array(msg)


def test_unknown_encoding_lists_allowed_ones() -> None:
    """An unsupported encoding names the allowed encodings."""
    with pytest.raises(RecordingError, match="16UC1"):
        sc.pixel_format("bayer_rggb8", "rig.mcap")
