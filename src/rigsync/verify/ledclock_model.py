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

__all__ = ["LedSamples", "SampleModel", "counter_lit", "row_samples_model"]

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


class SampleModel:
    """:func:`row_samples_model` for one stream's samples, with what depends only on them computed once (a fit
    evaluates the model tens of times per frame)."""

    def __init__(self, board: LedClockBoard, s: LedSamples) -> None:
        counter = s.row == len(board.rows)
        steps = np.array([r.step_ns for r in board.rows] + [1.0], dtype=np.float64)
        cycles = np.array([r.cycle_ns for r in board.rows] + [2.0], dtype=np.float64)
        self.y = s.y
        self.step, self.cycle = steps[s.row], cycles[s.row]
        self.offset = s.led.astype(np.float64) * self.step
        self.keep = np.where(counter, 0.0, 1.0 / self.step)
        self._minus_keep = -self.keep

    def subset(self, which: npt.NDArray[np.bool_]) -> SampleModel:
        """The model of the samples ``which`` only."""
        out = SampleModel.__new__(SampleModel)
        out.y, out.step, out.cycle = self.y[which], self.step[which], self.cycle[which]
        out.offset, out.keep, out._minus_keep = self.offset[which], self.keep[which], self._minus_keep[which]
        return out

    def many(self, t0_ns: F64, duration_ns: F64, line_ns: F64) -> tuple[F64, F64, F64]:
        """:meth:`__call__` for ``B`` windows at once (each argument of shape ``(B,)``; results ``(B, samples)``)."""
        # Both ends of every sample's window at once: (window, start or end, sample).
        t = np.empty((t0_ns.size, 2, self.y.size))
        np.multiply(self.y, line_ns[:, None], out=t[:, 0])
        t[:, 0] += t0_ns[:, None]
        np.add(t[:, 0], duration_ns[:, None], out=t[:, 1])
        np.maximum(t, 0.0, out=t)
        whole = np.floor(t / self.cycle)
        t -= whole * self.cycle
        t -= self.offset  # the phase within the LED's step
        on = t >= 0
        on &= t < self.step
        np.maximum(t, 0.0, out=t)
        np.minimum(t, self.step, out=t)
        whole *= self.step
        whole += t  # lit before each end
        return ((whole[:, 1] - whole[:, 0]) * self.keep, np.where(on[:, 0], self._minus_keep, 0.0),
                np.where(on[:, 1], self.keep, 0.0))

    def __call__(self, t0_ns: float, duration_ns: float, line_ns: float) -> tuple[F64, F64, F64]:
        frac, d0, d1 = self.many(np.array([t0_ns]), np.array([duration_ns]), np.array([line_ns]))
        return frac[0], d0[0], d1[0]


def row_samples_model(board: LedClockBoard, s: LedSamples, t0_ns: float, duration_ns: float,
                      line_ns: float) -> tuple[F64, F64, F64]:
    """For row samples (0 for counter samples): ``lit / step`` and its derivatives by ``t0`` and by ``t1``
    (each divided by the step), for the window of each sample's image row."""
    return SampleModel(board, s)(t0_ns, duration_ns, line_ns)
