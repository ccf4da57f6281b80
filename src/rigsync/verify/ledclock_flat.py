"""How bright each LED looks when fully lit, relative to its row: a flat field measured from the frames.

LEDs a few pixels wide fall on the pixel grid each in its own way (how much of the disc covers the pixels read,
the blur), so LEDs of one row lit for the same time do not read alike; a streak end read against the wrong
brightness is placed wrong by that share of a step. Cameras and boards are static, so each LED's own
brightness is measured once per stream: in every decoded frame, the samples the fit says were lit for a whole
number of steps ``k``, against their row's fitted level times ``k``. A row that wraps ``k`` times within the
exposure never has an LED lit for exactly one step, and its streak ends read against ``k`` times an LED's
brightness error are placed ``k`` times as wrong; but an LED lit ``k`` times may clip, and the frames where it did
not are the darker ones: an LED ever clipped when lit more than once is measured from single steps only. The
decoder is then run again on values corrected by it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.verify.ledclock_decode import Decoded
from rigsync.verify.ledclock_model import LedSamples, row_samples_model

__all__ = ["flatten", "led_gains"]

F64 = npt.NDArray[np.float64]
_FULL = 0.02
"""A sample counts as lit for a whole number of steps within this share of a step."""
_MIN_SEEN = 3


def led_gains(board: LedClockBoard, s: LedSamples, frames: Sequence[tuple[F64, npt.NDArray[np.bool_], Decoded]]
              ) -> F64:
    """Each sample's brightness relative to its row (1 where it was never seen fully lit often enough)."""
    single: list[list[float]] = [[] for _ in range(s.size)]
    multiple: list[list[float]] = [[] for _ in range(s.size)]
    clipped_multiple = np.zeros(s.size, dtype=bool)
    for values, clipped, d in frames:
        frac, _, _ = row_samples_model(board, s, d.start_ns, d.duration_ns, d.line_ns)
        levels = np.array([*d.levels, 0.0])[s.row]
        steps = np.round(frac)
        full = (np.abs(frac - steps) <= _FULL) & (steps >= 1) & (levels > 0)
        clipped_multiple |= full & clipped & (steps > 1)
        for k in np.flatnonzero(full & ~clipped):
            (single if steps[k] == 1 else multiple)[k].append((values[k] - d.dark) / (levels[k] * steps[k]))
    ratios = [one if clip else one + more for one, more, clip in zip(single, multiple, clipped_multiple, strict=True)]
    gains = np.array([float(np.median(r)) if len(r) >= _MIN_SEEN else np.nan for r in ratios])
    for row in range(len(board.rows)):  # relative to the row: its level stays the row's
        members = (s.row == row) & np.isfinite(gains)
        if members.any():
            gains[members] /= float(np.median(gains[members]))
    return np.where(np.isfinite(gains) & (gains > 0.2), gains, 1.0)


def flatten(values: F64, clipped: npt.NDArray[np.bool_], gains: F64, dark: float) -> F64:
    """Values as if every LED looked like its row's median one (clipped samples stay as seen)."""
    return np.where(clipped, values, dark + (values - dark) / gains)
