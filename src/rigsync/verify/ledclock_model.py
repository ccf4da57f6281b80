"""What each sampled LED of the LED clock shows for an exposure window: the decoder's forward model.

A sample is one LED seen in one image row. Its window on **board time** (ns of the board's crystal) is
``[t0 + y * line_ns, t0 + y * line_ns + duration_ns]`` (``y``: its image row; ``line_ns`` 0 for a global
shutter). A row LED shows ``dark + level_r * lit / step_r``, a counter LED ``dark + level_c * lit /
duration`` (see :mod:`rigsync.boards.ledclock`), where ``lit`` is how long the LED was lit in the window.
Here ``lit`` is computed in float (the board's own :meth:`LedClockBoard.lit_ns` is integer), with its
derivatives, so that the window can be fitted to a fraction of a nanosecond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard

__all__ = ["LedSamples", "counter_lit", "row_lit", "row_samples_model"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class LedSamples:
    """Where a stream's samples are: one per (LED, image row) the board covers (static per stream)."""

    row: npt.NDArray[np.intp]
    """Board row of each sample's LED (``len(board.rows)`` for a counter LED)."""
    led: npt.NDArray[np.intp]
    """Index of the LED in its row (counter: bit, 0 = top bit)."""
    y: F64
    """Image row of the sample (its rolling-shutter line)."""
    weight: F64
    """Pixels averaged into the sample."""

    @property
    def size(self) -> int:
        return int(self.row.size)


def _row_lit_before(step: F64, cycle: F64, led: F64, t: F64) -> tuple[F64, F64]:
    """Lit time of each row LED from board time 0 to ``t``, and whether it is lit at ``t``."""
    t = np.maximum(t, 0.0)
    whole = np.floor(t / cycle)
    phase = t - whole * cycle - led * step
    return whole * step + np.clip(phase, 0.0, step), ((phase >= 0) & (phase < step)).astype(np.float64)


def row_lit(step: F64, cycle: F64, led: F64, t0: F64, t1: F64) -> tuple[F64, F64, F64]:
    """Lit time of row LEDs within ``[t0, t1]``, and its derivatives by ``t0`` and ``t1``."""
    a, on0 = _row_lit_before(step, cycle, led, t0)
    b, on1 = _row_lit_before(step, cycle, led, t1)
    return b - a, -on0, on1


def counter_lit(board: LedClockBoard, bit: I64, t0: F64, t1: F64) -> tuple[F64, F64, F64]:
    """Lit time of counter LEDs within ``[t0, t1]`` (shorter than one counter unit), with derivatives."""
    c = board.counter
    unit = float(c.unit_ns)
    u0 = np.floor(np.maximum(t0, 0.0) / unit)
    edge = (u0 + 1.0) * unit
    shift = c.bits - 1 - bit
    mask = (1 << c.bits) - 1

    def on(u: F64) -> F64:
        v = u.astype(np.int64) & mask
        return (((v ^ (v >> 1)) >> shift) & 1).astype(np.float64)

    on0, on1 = on(u0), on(u0 + 1.0)
    first = np.minimum(t1, edge) - t0
    second = np.maximum(t1 - edge, 0.0)
    at_end = np.where(t1 >= edge, on1, on0)
    return on0 * first + on1 * second, -on0, at_end


def row_samples_model(board: LedClockBoard, s: LedSamples, t0_ns: float, duration_ns: float,
                      line_ns: float) -> tuple[F64, F64, F64]:
    """For row samples (0 for counter samples): ``lit / step`` and its derivatives by ``t0`` and by ``t1``
    (each divided by the step), for the window of each sample's image row."""
    steps = np.array([r.step_ns for r in board.rows] + [np.inf], dtype=np.float64)
    cycles = np.array([r.cycle_ns for r in board.rows] + [np.inf], dtype=np.float64)
    step, cycle = steps[s.row], cycles[s.row]
    start = t0_ns + s.y * line_ns
    counter = s.row == len(board.rows)
    step, cycle = np.where(counter, 1.0, step), np.where(counter, 2.0, cycle)
    lit, d0, d1 = row_lit(step, cycle, s.led.astype(np.float64), start, start + duration_ns)
    keep = np.where(counter, 0.0, 1.0 / step)
    return lit * keep, d0 * keep, d1 * keep
