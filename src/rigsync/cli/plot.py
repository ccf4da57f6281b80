"""A line plot as a PNG, drawn with OpenCV (already a dependency; no plotting library needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 1000, 520
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 60, 60
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = hi - lo if hi > lo else 1.0
    raw = span / n
    step = 10 ** np.floor(np.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= m * step)
    first = np.ceil(lo / step) * step
    return [float(v) + 0.0 for v in np.arange(first, hi + step * 1e-9, step) if lo <= v <= hi]


def line_plot(path: Path, x: Sequence[float], y: Sequence[float], *, title: str, x_label: str, y_label: str,
              marks: Sequence[tuple[float, str]] = ()) -> None:
    """Write a PNG of y over x with axes, ticks, a title, and vertical marks (x, label)."""
    img = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    x0, x1 = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0)
    y0, y1 = (float(ys.min()), float(ys.max())) if len(ys) else (0.0, 1.0)
    pad = (y1 - y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    x1 = x1 if x1 > x0 else x0 + 1.0
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(vx: float, vy: float) -> tuple[int, int]:
        return (LEFT + round((vx - x0) / (x1 - x0) * pw), TOP + round((1 - (vy - y0) / (y1 - y0)) * ph))

    grey, black = (225, 225, 225), (40, 40, 40)
    for t in _ticks(y0, y1):
        _, py = px(x0, t)
        cv2.line(img, (LEFT, py), (LEFT + pw, py), grey, 1)
        cv2.putText(img, f"{round(t, 9) + 0:g}", (8, py + 5), _FONT, 0.45, black, 1, cv2.LINE_AA)
    for t in _ticks(x0, x1):
        qx, _ = px(t, y0)
        cv2.line(img, (qx, TOP), (qx, TOP + ph), grey, 1)
        cv2.putText(img, f"{t:g}", (qx - 10, TOP + ph + 20), _FONT, 0.45, black, 1, cv2.LINE_AA)
    cv2.rectangle(img, (LEFT, TOP), (LEFT + pw, TOP + ph), black, 1)
    for mx, label in marks:
        qx, _ = px(mx, y0)
        cv2.line(img, (qx, TOP), (qx, TOP + ph), (60, 60, 220), 1)
        cv2.putText(img, label, (qx + 4, TOP + 16), _FONT, 0.45, (60, 60, 220), 1, cv2.LINE_AA)
    if len(xs) > 1:
        pts = np.array([px(a, b) for a, b in zip(xs, ys, strict=True)], np.int32)
        cv2.polylines(img, [pts], False, (200, 90, 20), 2, cv2.LINE_AA)
    cv2.putText(img, title, (LEFT, 30), _FONT, 0.55, black, 1, cv2.LINE_AA)
    cv2.putText(img, x_label, (LEFT + pw // 2 - 40, HEIGHT - 15), _FONT, 0.5, black, 1, cv2.LINE_AA)
    cv2.putText(img, y_label, (8, TOP - 12), _FONT, 0.5, black, 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"{path}: could not write the PNG")
