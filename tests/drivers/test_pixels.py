"""Camera pixel formats decoded into images: shapes, dtypes and values per format; torn frames give None."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rigsync.drivers.pixels import ENCODINGS, decode_pixels


def test_depth_is_little_endian_16_bit() -> None:
    """z16 bytes become uint16 depth in millimetres, little-endian, row-major."""
    depth = np.arange(12, dtype="<u2").reshape(3, 4) * 300
    image = decode_pixels(np.frombuffer(depth.tobytes(), np.uint8), "z16", 4, 3)
    assert image is not None and image.dtype == np.uint16 and np.array_equal(image, depth)
    assert ENCODINGS["z16"] == "16UC1"


@pytest.mark.parametrize(("fmt", "shape"), [("y8", (3, 4)), ("rgb8", (3, 4, 3)), ("bgra8", (3, 4, 4))])
def test_packed_formats_keep_their_bytes(fmt: str, shape: tuple[int, ...]) -> None:
    """8-bit packed formats reshape to (height, width[, channels]) with their bytes unchanged."""
    raw = np.arange(int(np.prod(shape)), dtype=np.uint8)
    image = decode_pixels(raw, fmt, 4, 3)
    assert image is not None and image.shape == shape and np.array_equal(image.reshape(-1), raw)


def test_yuv_and_mjpeg_become_bgr() -> None:
    """YUYV, NV12 and MJPEG decode to BGR images of the frame's size (grey in, grey out)."""
    grey = np.full((8, 8, 3), 128, np.uint8)
    ok, jpeg = cv2.imencode(".jpg", grey)
    assert ok
    for fmt, raw in (("yuyv", np.full(8 * 8 * 2, 128, np.uint8)), ("nv12", np.full(8 * 12, 128, np.uint8)),
                     ("mjpeg", jpeg.reshape(-1))):
        image = decode_pixels(raw, fmt, 8, 8)
        assert image is not None and image.shape == (8, 8, 3) and ENCODINGS[fmt] == "bgr8"
        assert np.abs(image.astype(int) - 128).max() <= 2, fmt


def test_torn_or_undecodable_frames_give_none() -> None:
    """Too few bytes for the size, or bytes that are no JPEG, give None (the driver flags the frame corrupt)."""
    assert decode_pixels(np.zeros(10, np.uint8), "z16", 4, 3) is None
    assert decode_pixels(np.zeros(100, np.uint8), "mjpeg", 8, 8) is None
    with pytest.raises(ValueError, match="no decoder for pixel format 'bayer'"):
        decode_pixels(np.zeros(12, np.uint8), "bayer", 4, 3)
