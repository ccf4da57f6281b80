"""Detect the board in every colour and infrared image of a recording, and attach the views to their framesets.

Detection (``cv2.aruco.CharucoDetector``) is most of the time of a calibration, so the streams are shared among
worker processes (one per core by default, ``forkserver`` as verify's decoder does), each reading the file once for
its streams (:meth:`Recording.images_of`). The views are then matched to ``/rigsync/framesets`` members by stream
and stamp (the image's log time is the member's ``rig_time_ns``), or by frame counter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from rigsync.boards.charuco import CharucoBoardSpec
from rigsync.calib.board import detect, detector
from rigsync.calib.views import BoardView, FramesetViews, spans_area
from rigsync.core.frameset import FramesetRecord
from rigsync.record import open_recording

Found = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(ids, board_m, pixels)`` of one image."""


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _detect_here(path: str, keys: Sequence[str], spec: CharucoBoardSpec) -> dict[tuple[str, int], Found]:
    """Board corners in every image of ``keys`` with enough of them, by ``(key, rig_time_ns)``."""
    board = detector(spec)
    found: dict[tuple[str, int], Found] = {}
    with open_recording(path) as rec:
        for img in rec.images_of([(k.split("/")[0], k.split("/")[1]) for k in keys]):
            ids, board_m, pixels = detect(board, np.asarray(img.image))
            if spans_area(board_m):
                found[(f"{img.device}/{img.stream}", img.rig_time_ns)] = (ids, board_m, pixels)
    return found


def detect_streams(path: str, keys: Sequence[str], spec: CharucoBoardSpec,
                   workers: int | None = None) -> dict[tuple[str, int], Found]:
    """The board in every image of ``keys``, on ``workers`` processes (default one per core; 1: here)."""
    workers = min(workers if workers is not None else default_workers(), len(keys))
    if workers <= 1:
        return _detect_here(path, keys, spec) if keys else {}
    shares = [list(keys[n::workers]) for n in range(workers)]
    # forkserver, not fork: a fork copies the locks other threads hold at that moment (see verify's decoder).
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        parts = list(pool.map(_detect_here, [path] * workers, shares, [spec] * workers))
    return {k: v for part in parts for k, v in part.items()}


def frameset_views(records: Sequence[FramesetRecord], found: dict[tuple[str, int], Found],
                   keys: Sequence[str]) -> list[FramesetViews]:
    """Each frameset's board views (framesets without one left out)."""
    wanted = set(keys)
    out = []
    for record in records:
        views = []
        for m in record.members:
            key = f"{m.device}/{m.stream}"
            hit = found.get((key, m.rig_time_ns)) if key in wanted else None
            if hit is not None:
                ids, board_m, pixels = hit
                views.append(BoardView(key, record.frameset_id, m.rig_time_ns, ids, board_m, pixels,
                                       m.error_bound_ns))
        if views:
            out.append(FramesetViews(record.frameset_id, record.rig_time_ns, tuple(views)))
    return out
