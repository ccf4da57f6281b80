"""Board time to rig time, and what it says of the stamps: a robust line through every decoded frame.

Every decoded frame gives a pair (board time of its exposure start, its stamp in rig time). One line fits
them all (offset and rate: the board's crystal against the rig's reference), refitted without frames beyond
five robust sigmas. A frame's **stamp error** is its stamp minus the line at its board time. A constant
common to every camera is not observable with an independent board clock (the line absorbs it), so stamp
errors are relative to the rig's cameras as a whole; :func:`best_common_offset` picks the one constant that
puts the most frames within their own ``error_bound_ns``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BoardFit", "best_common_offset", "fit_board_time", "unwrap_board"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BoardFit:
    """``rig_time_ns = offset_ns + rate * (board_ns - board_ref_ns)``."""

    offset_ns: float
    rate: float
    board_ref_ns: float
    inliers: npt.NDArray[np.bool_]
    residual_sigma_ns: float

    @property
    def board_ppm(self) -> float:
        """How fast the board's crystal runs against rig time, in parts per million."""
        return (1.0 / self.rate - 1.0) * 1e6

    def rig_ns(self, board_ns: F64) -> F64:
        return self.offset_ns + self.rate * (np.asarray(board_ns, dtype=np.float64) - self.board_ref_ns)


def unwrap_board(board_ns: F64, rig_ns: F64, wrap_ns: float) -> F64:
    """Board times made continuous across the counter's wrap, using the stamps to count the wraps."""
    if board_ns.size == 0:
        return board_ns
    diff = board_ns - rig_ns
    d = (diff - diff[0] + wrap_ns / 2) % wrap_ns - wrap_ns / 2
    ref = diff[0] + float(np.median(d))
    return np.asarray(board_ns + wrap_ns * np.round((rig_ns + ref - board_ns) / wrap_ns), dtype=np.float64)


def fit_board_time(board_ns: F64, rig_ns: F64, rounds: int = 5) -> BoardFit:
    """The line through (board time, stamp), refitted without outliers (> 5 robust sigmas, at least 1 us)."""
    ref = float(np.median(board_ns))
    x = board_ns - ref
    # The board's crystal runs at ~1 (tens of ppm): a first cut at rate 1 keeps a frame whose board time was
    # misread by seconds from tilting the first line beyond what the rounds can undo.
    lag = rig_ns - x
    spread = 1.4826 * float(np.median(np.abs(lag - np.median(lag))))
    keep = np.abs(lag - np.median(lag)) <= max(10 * spread, 1_000_000.0)
    offset, rate, sigma = float(np.median(rig_ns)), 1.0, 0.0
    for _ in range(rounds):
        if np.count_nonzero(keep) >= 2 and np.ptp(x[keep]) > 0:
            rate, offset = (float(v) for v in np.polyfit(x[keep], rig_ns[keep], 1))
        else:
            offset = float(np.median(rig_ns[keep] - x[keep]))
        r = rig_ns - (offset + rate * x)
        offset += float(np.median(r[keep]))
        r = rig_ns - (offset + rate * x)
        sigma = 1.4826 * float(np.median(np.abs(r[keep])))
        new = np.abs(r) <= max(5 * sigma, 1000.0)
        if np.array_equal(new, keep):
            break
        keep = new
    return BoardFit(offset, rate, ref, keep, sigma)


def best_common_offset(error_ns: F64, allowed_ns: F64) -> tuple[float, npt.NDArray[np.bool_]]:
    """The constant ``c`` that puts the most frames within ``|error - c| <= allowed``, and which frames are."""
    if error_ns.size == 0:
        return 0.0, np.zeros(0, dtype=bool)
    lo, hi = error_ns - allowed_ns, error_ns + allowed_ns
    points = np.concatenate([lo, hi])
    kinds = np.concatenate([np.zeros(lo.size), np.ones(hi.size)])  # opens before closes at the same point
    order = np.lexsort((kinds, points))
    depth = np.cumsum(np.where(kinds[order] == 0, 1, -1))
    at = int(np.argmax(depth))
    c = float(points[order][at])
    # The middle of the best region, not its edge.
    after = points[order][at + 1] if at + 1 < points.size else c
    c = (c + float(after)) / 2
    return c, np.abs(error_ns - c) <= allowed_ns
