"""A frame's preview: its image at most ``max_width`` wide (aspect kept), and its calibration at that size.

Colour and infrared are averaged down (``INTER_AREA``); depth keeps measured values only (``INTER_NEAREST``:
averaging would blend the invalid zeros and the edges between near and far into depths nothing is at). YUV 4:2:2
is converted to ``rgb8`` first (its pairs of pixels cannot be resized as they are).
"""

from __future__ import annotations

import cv2
import numpy as np

from rigsync.core.intrinsics import Intrinsics

DEPTH_ENCODINGS = frozenset({"16UC1", "32FC1"})
"""Encodings whose values are distances (millimetres, metres): never averaged."""
_YUV_TO_RGB = {"yuyv": cv2.COLOR_YUV2RGB_YUYV, "uyvy": cv2.COLOR_YUV2RGB_UYVY}


def preview_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """(width, height) of a preview: the image's own if it is narrow enough, else ``max_width`` wide, aspect kept."""
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


def preview_image(image: np.ndarray, encoding: str, max_width: int) -> tuple[np.ndarray, str]:
    """The preview of ``image`` (recorded in ``encoding``) and its encoding: C-contiguous, at most ``max_width``
    wide."""
    if encoding in _YUV_TO_RGB:
        image, encoding = cv2.cvtColor(image, _YUV_TO_RGB[encoding]), "rgb8"
    height, width = image.shape[:2]
    size = preview_size(width, height, max_width)
    if size != (width, height):
        image = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST if encoding in DEPTH_ENCODINGS
                           else cv2.INTER_AREA)
    return np.ascontiguousarray(image), encoding


def preview_intrinsics(intrinsics: Intrinsics, max_width: int) -> Intrinsics:
    """``intrinsics`` for the preview of its images: focal lengths and principal point scaled with the pixels
    (pixel centres kept: ``c' = (c + 0.5) * s - 0.5``), distortion unchanged (it is in normalized coordinates)."""
    width, height = preview_size(intrinsics.width, intrinsics.height, max_width)
    if width == intrinsics.width:
        return intrinsics
    sx, sy = width / intrinsics.width, height / intrinsics.height
    return Intrinsics(width=width, height=height, fx=intrinsics.fx * sx, fy=intrinsics.fy * sy,
                      cx=(intrinsics.cx + 0.5) * sx - 0.5, cy=(intrinsics.cy + 0.5) * sy - 0.5,
                      distortion_model=intrinsics.distortion_model, distortion=intrinsics.distortion)
