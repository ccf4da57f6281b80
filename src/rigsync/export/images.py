"""Recorded images as PNG files, and the output folders the folder exports write into.

Colour is written as 8-bit BGR(A) PNG (``yuyv``/``uyvy`` converted), grey and IR as they were recorded (8 or 16-bit),
depth as 16-bit PNG in millimetres: ``16UC1`` as recorded, ``32FC1`` (metres) rounded to millimetres (0: no depth).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rigsync.core.errors import RigsyncError
from rigsync.record import RecordedImage

_TO_BGR = {"rgb8": cv2.COLOR_RGB2BGR, "rgba8": cv2.COLOR_RGBA2BGRA, "yuyv": cv2.COLOR_YUV2BGR_YUYV,
           "uyvy": cv2.COLOR_YUV2BGR_UYVY}


def png_pixels(image: RecordedImage) -> np.ndarray:
    """The array a PNG of ``image`` holds (cv2's channel order)."""
    if image.encoding in _TO_BGR:
        return cv2.cvtColor(np.ascontiguousarray(image.image), _TO_BGR[image.encoding])
    if image.encoding == "32FC1":
        mm = np.nan_to_num(np.asarray(image.image, dtype=np.float64) * 1000.0, nan=0.0, posinf=0.0, neginf=0.0)
        return np.clip(np.rint(mm), 0, 65535).astype(np.uint16)
    return np.asarray(image.image)


def write_png(image: RecordedImage, path: Path) -> None:
    """Write ``image`` to ``path`` as PNG; :class:`RigsyncError` naming the file if it cannot."""
    if not cv2.imwrite(os.fspath(path), png_pixels(image)):
        raise RigsyncError(f"{path}: cannot write the PNG file")


def image_name(device: str, stream: str) -> str:
    return f"{device}_{stream}.png"


def frameset_folder(frameset_id: int) -> str:
    return f"{frameset_id:06d}"


def write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
