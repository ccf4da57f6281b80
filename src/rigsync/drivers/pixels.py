"""Raw camera pixels (by the catalog's pixel format names) as numpy images with their Foxglove encodings."""

from __future__ import annotations

import cv2
import numpy as np

ENCODINGS = {"z16": "16UC1", "y16": "mono16", "y8": "mono8", "rgb8": "rgb8", "bgra8": "bgra8",
             "mjpeg": "bgr8", "yuyv": "bgr8", "nv12": "bgr8"}
"""Pixel formats this module decodes, and the encoding of the image each gives."""


def decode_pixels(data: np.ndarray, fmt: str, width: int, height: int) -> np.ndarray | None:
    """The image in ``data`` (bytes, as the camera sent them), or None if they do not make one (a torn or
    undecodable frame). ``fmt`` must be one of :data:`ENCODINGS`."""
    w, h = width, height
    data = np.asarray(data, dtype=np.uint8).reshape(-1)
    try:
        if fmt in ("z16", "y16"):
            return data.view("<u2").reshape(h, w).copy()
        if fmt in ("y8", "rgb8", "bgra8"):
            channels = {"y8": (), "rgb8": (3,), "bgra8": (4,)}[fmt]
            return data.reshape(h, w, *channels).copy()
        if fmt == "mjpeg":
            image: np.ndarray | None = cv2.imdecode(data, cv2.IMREAD_COLOR)
            return image
        if fmt == "yuyv":
            return np.asarray(cv2.cvtColor(data.reshape(h, w, 2), cv2.COLOR_YUV2BGR_YUYV))
        if fmt == "nv12":
            return np.asarray(cv2.cvtColor(data.reshape(h * 3 // 2, w), cv2.COLOR_YUV2BGR_NV12))
    except (ValueError, cv2.error):
        return None
    raise ValueError(f"no decoder for pixel format {fmt!r} (decoded: {', '.join(ENCODINGS)})")
