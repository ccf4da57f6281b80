"""Whether an object hides part of the LED clock: the dark strip under the LEDs, and the LEDs against the fit.

An object passing in front of the LEDs (a hand, a cable, the simulator's sphere) while the markers stay visible
leaves LEDs reading its own brightness, not the LEDs': a dark LED reads bright, a lit one dark or half lit. The fit
then places a streak where the object is, or an end a part of a step off, and claims it as precisely as any other
frame. The board's structure tells, twice. The LEDs of a row sit on a dark strip: halfway between two LEDs
the strip reads its own level in every frame, plus a little of its neighbours' light (the lens's blur); an object
in front of it reads its own brightness (:func:`lit_gap`). An object dark in the plane read still hides lit LEDs:
every LED of a row reads ``dark + level * lit / step`` for one window (lit a
whole number of steps away from the streaks' ends), within the noise and the flat field. An LED far from that,
where no streak end is in it or in the LED next to it in the fitted window (so that no end placed a step off
could explain it), in a row whose other LEDs mostly fit (a whole row off is a window wrong for it), while the
other LEDs fit one window without them, is hidden: the frame is not decoded (``occluded``). An LED far from it
at or next to a fitted end is a streak end taken for another (``bad_fit``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.verify.ledclock_model import LedSamples

__all__ = ["LedMisfit", "led_misfit", "lit_gap"]

F64 = npt.NDArray[np.float64]

NOISE_SIGMAS = 4.0
"""An LED's mean may stray from the model by this many sigmas of its pixels' noise..."""
DARK_SHARE = 0.1
"""...plus this share of its row's level (the dark strip under an unlit LED, the dark level's fit)..."""
LIT_SHARE = 0.25
"""...plus this share of the light it shows (how each LED falls on the pixels, before the flat field)."""
GAP_NOISE_SIGMAS = 8.0
"""A gap may read above the strip's level (the median gap's) by this many sigmas of the gaps' spread..."""
GAP_BLEED = 0.25
"""...plus this share of the brighter of its two LEDs' light (the blur)."""
_EDGE = 0.05
"""Lit steps by which an LED differs from a neighbour when a streak end is in or next to it."""


@dataclass(frozen=True, slots=True)
class LedMisfit:
    """The LED farthest from the model (in units of what it may stray by), and whether any is hidden."""

    row: int
    led: int
    seen: float
    expected: float
    hidden: bool
    """Some LED far from the model has no streak end in it or in the LEDs next to it: no window explains it."""
    samples: npt.NDArray[np.bool_]
    """The samples of the LEDs far from the model (to fit the others without them)."""

    def detail(self) -> str:
        return (f"LED {self.led} of row {self.row} reads {self.seen:.0f} where the fitted window gives "
                f"{self.expected:.0f}")


def led_misfit(board: LedClockBoard, s: LedSamples, v: F64, saturated: npt.NDArray[np.bool_], frac: F64,
               dark: float, levels: F64, noise: float) -> LedMisfit | None:
    """The row LEDs that do not read as the fitted window says (``frac``: each sample's lit steps; ``levels``:
    per row, 0 for rows not fitted; ``noise``: one pixel's), or None when every LED does."""
    n_rows = len(board.rows)
    rows = s.row < n_rows
    leds = max(r.leds for r in board.rows)
    idx = s.row[rows] * leds + s.led[rows]
    size = n_rows * leds
    w = np.bincount(idx, s.weight[rows], minlength=size)
    seen_w = np.maximum(w, 1e-9)
    seen = (np.bincount(idx, s.weight[rows] * v[rows], minlength=size) / seen_w).reshape(n_rows, leds)
    lit = (np.bincount(idx, s.weight[rows] * frac[rows], minlength=size) / seen_w).reshape(n_rows, leds)
    clipped = (np.bincount(idx, saturated[rows], minlength=size) > 0).reshape(n_rows, leds)
    present = (w > 0).reshape(n_rows, leds)
    level = levels[:, None]
    expected = dark + level * lit
    pixels = seen_w.reshape(n_rows, leds)
    allowed = NOISE_SIGMAS * noise / np.sqrt(pixels) + DARK_SHARE * level + LIT_SHARE * level * lit
    # Clipped samples say only "at least": an LED is far from the model when clipped only if below it.
    miss = np.abs(seen - expected) / np.maximum(allowed, 1e-9)
    miss = np.where(present & (level > 0) & ~(clipped & (seen >= expected)), miss, 0.0)
    far = miss > 1.0
    if not far.any():
        return None
    count = np.array([r.leds for r in board.rows])[:, None]
    col = np.arange(leds)[None, :]
    # The rows are cyclic: LED 0 follows the last one.
    before = np.take_along_axis(lit, (col - 1) % count, axis=1)
    after = np.take_along_axis(lit, (col + 1) % count, axis=1)
    edge = (np.abs(lit - before) > _EDGE) | (np.abs(lit - after) > _EDGE) | (np.abs(lit - np.round(lit)) > _EDGE)
    # An end placed a whole LED off leaves the LED next to the fitted end far from the model: still an end.
    edge |= np.take_along_axis(edge, (col - 1) % count, axis=1) | np.take_along_axis(edge, (col + 1) % count, axis=1)
    # An object hides a few LEDs of a row: a row mostly far from the model is a window wrong for the row (a row
    # that wraps read k + 1 times where it was k times: a duration off by a cycle), not a hidden part.
    local = np.count_nonzero(far, axis=1) <= np.count_nonzero(present, axis=1) / 2
    r, k = np.unravel_index(int(np.argmax(miss)), miss.shape)
    hidden = far & ~edge & local[:, None]
    return LedMisfit(int(r), int(k), float(seen[r, k]), float(expected[r, k]), bool(hidden.any()),
                     far.reshape(-1)[np.where(rows, s.row * leds + s.led, 0)] & rows)


def lit_gap(board: LedClockBoard, s: LedSamples, v: F64, gaps: F64, gap_leds: npt.NDArray[np.intp]) -> str | None:
    """Why the strip between two LEDs shows something in front of it (``gaps``: the pixel halfway between the
    LEDs ``gap_leds`` of :class:`~rigsync.verify.ledclock_find.SamplingPlan`), or None when every gap reads as
    the strip."""
    if gaps.size < 3:
        return None
    sizes = np.array([r.leds for r in board.rows] + [board.counter.bits])
    idx = np.concatenate([[0], np.cumsum(sizes)])[s.row] + s.led
    w = np.bincount(idx, s.weight, minlength=int(sizes.sum()))
    led = np.bincount(idx, s.weight * v, minlength=int(sizes.sum())) / np.maximum(w, 1e-9)
    strip = float(np.median(gaps))
    noise = max(1.4826 * float(np.median(np.abs(gaps - strip))), 1.0)
    light = np.maximum(np.max(led[gap_leds], axis=1) - strip, 0.0)
    excess = gaps - strip - (GAP_NOISE_SIGMAS * noise + GAP_BLEED * light)
    k = int(np.argmax(excess))
    if excess[k] <= 0:
        return None
    return (f"the strip between LEDs reads {gaps[k]:.0f} where it reads {strip:.0f} elsewhere: something in front of "
            f"the board")
