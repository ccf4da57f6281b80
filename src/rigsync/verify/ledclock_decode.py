"""Decode one image of the LED clock: the exposure's start and duration on board time, to a microsecond.

1. **Coarse**, from the rows whose cycle is longer than the exposure: each such row shows one lit streak,
   whose circular centroid is the exposure's middle modulo the row's cycle; descending from the slowest row
   to the finest, each row refines the previous one's estimate (its cycle covers the previous one's
   uncertainty). With a rolling shutter each row is seen at its own image line, shifted by ``y * line_ns``;
   ``line_ns`` is searched on a grid (once per stream, then carried from frame to frame).
2. **Fine**: a least-squares fit (Levenberg-Marquardt) of the whole model of
   :mod:`rigsync.verify.ledclock_model` (start, duration, line_ns, dark, one level per row) to every
   (LED, image row) sample: the partial brightness of each streak's first and last LED places its ends within
   a step, and rows that wrap a few times (LEDs lit k or k+1 times) add their ends too. Saturated samples are
   censored (a clipped pixel says only that the true value is at least the one seen). The start's uncertainty comes from
   the fit's covariance (the fit: :mod:`rigsync.verify.ledclock_lsq`). Every row LED is then checked against the
   fitted window (:mod:`rigsync.verify.ledclock_occlusion`): one far from it where no end was fitted, while the
   others fit one window without it, is hidden (``occluded``); one far from it at an end is ``bad_fit``.
3. **Absolute**: the rows give the start modulo the slowest row's cycle; the Gray-coded counter, read against
   the fitted window (a bit that changes during the exposure shows the fraction after the change), gives the
   cycle count.

A frame that cannot be decoded gets a reason (:class:`Undecodable`), never a guess.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.verify.ledclock_lsq import Frame, WindowFit, off_kinks, starts
from rigsync.verify.ledclock_model import LedSamples, SampleModel, counter_lit
from rigsync.verify.ledclock_occlusion import led_misfit

__all__ = ["Decoded", "Undecodable", "decode_frame", "residual_at_line"]

F64 = npt.NDArray[np.float64]

MAX_START_SIGMA_NS = 20_000.0
"""A start less certain than this (one sigma) is not a decode."""


MIN_LINE_NS = 200.0
"""Shortest line time read as a rolling shutter (a 1 ms readout over 5,000 rows)."""


class Undecodable(StrEnum):
    """Why a frame showing no usable LED clock was not decoded (``not_in_view``/``occluded``: by the finder)."""

    NOT_IN_VIEW = "not_in_view"
    OCCLUDED = "occluded"
    NO_CONTRAST = "no_contrast"
    SATURATED = "saturated"
    EXPOSURE_TOO_LONG = "exposure_too_long"
    AMBIGUOUS_COUNTER = "ambiguous_counter"
    BAD_FIT = "bad_fit"


@dataclass(frozen=True, slots=True)
class Decoded:
    """One image's exposure on board time."""

    start_ns: float
    """Board time at which image row 0's exposure started (modulo the counter's wrap)."""
    duration_ns: float
    line_ns: float
    """Rolling shutter: delay between consecutive image rows' windows (~0 for a global shutter)."""
    start_sigma_ns: float
    duration_sigma_ns: float
    rms: float
    """Residual of the fit (pixel value units, per pixel)."""
    dark: float = 0.0
    levels: tuple[float, ...] = ()
    """Fitted brightness of one full step, per board row (0 for rows the fit did not use)."""
    line_var: float = 0.0
    """Variance of ``line_ns`` (0: fixed)."""
    start_line_cov: float = 0.0
    """Covariance of ``start_ns`` and ``line_ns``: a frame's line time is uncertain, the sensor's is not, and
    :meth:`with_line` moves the start to a better known one."""

    def with_line(self, line_ns: float, line_var: float = 0.0) -> Decoded:
        """The start and its uncertainty given the line time and its variance (the fit's Gaussian, conditioned
        on the line time, plus what the line time's own uncertainty makes of row 0's start)."""
        if self.line_var <= 0.0 or not np.isfinite(self.line_var):
            return self
        k = self.start_line_cov / self.line_var
        var = max(self.start_sigma_ns ** 2 - k * self.start_line_cov, 0.0) + k * k * line_var
        return Decoded(self.start_ns - k * (self.line_ns - line_ns), self.duration_ns, line_ns, float(np.sqrt(var)),
                       self.duration_sigma_ns, self.rms, self.dark, self.levels)


@dataclass(frozen=True, slots=True)
class Failed:
    """A frame not decoded, and why."""

    reason: Undecodable
    detail: str


def _led_means(board: LedClockBoard, s: LedSamples, v: F64) -> tuple[list[F64], list[F64], F64, F64]:
    """Per board row, each LED's mean value and mean image row; and the counter's."""
    n_rows = len(board.rows)
    sizes = [r.leds for r in board.rows] + [board.counter.bits]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    idx = offsets[s.row] + s.led
    total = float(offsets[-1])
    w = np.bincount(idx, s.weight, minlength=int(total))
    value = np.bincount(idx, s.weight * v, minlength=int(total)) / np.maximum(w, 1e-9)
    y = np.bincount(idx, s.weight * s.y, minlength=int(total)) / np.maximum(w, 1e-9)
    values = [value[offsets[r]:offsets[r + 1]] for r in range(n_rows + 1)]
    ys = [y[offsets[r]:offsets[r + 1]] for r in range(n_rows + 1)]
    return values[:n_rows], ys[:n_rows], values[n_rows], ys[n_rows]


def _wrap(x: float, period: float) -> float:
    return (x + period / 2) % period - period / 2


def _coarse(board: LedClockBoard, a: list[F64], ys: list[F64], line_ns: float, noise: float
            ) -> tuple[float, float, int] | None:
    """(start of row 0's window modulo the slowest cycle, duration, finest row used) from the streaks."""
    mid: float | None = None
    finest = -1
    for r in range(len(board.rows) - 1, -1, -1):
        row = board.rows[r]
        lit = np.clip(a[r], 0.0, None)
        top = float(lit.max())
        # The row's own dark LEDs say how far an unlit one strays (pixel noise and how each LED falls on pixels).
        spread = 1.4826 * float(np.median(np.abs(a[r] - np.median(a[r]))))
        if top < max(4 * spread, 2 * noise) or float(lit.min()) > 0.25 * top:
            break  # dark, or every LED lit: the row wraps within the exposure
        lit = np.where(lit > 2 * spread, lit, 0.0)
        theta = 2 * np.pi * (np.arange(row.leds) + 0.5) / row.leds
        z = complex(np.sum(lit * np.exp(1j * theta)))
        phase = (np.angle(z) / (2 * np.pi)) % 1.0 * row.cycle_ns
        at = phase - line_ns * float(np.sum(lit * ys[r]) / np.sum(lit))
        mid = at % row.cycle_ns if mid is None else mid + _wrap(at - mid, row.cycle_ns)
        finest = r
    if mid is None:
        return None
    lit = np.clip(a[finest], 0.0, None)
    duration = board.rows[finest].step_ns * float(lit.sum() / lit.max())
    return mid - duration / 2, duration, finest


_COUNTER_LIT_TOLERANCE = 0.3
"""How far a lit counter LED may read from the fitted level, as a fraction of it (flat field, noise)."""
_COUNTER_DARK_TOLERANCE = 0.1
"""How far above the dark level a dark counter LED may read, as a fraction of the lit level."""


def _counter_count(f: Frame, x: F64, level: float, c: F64, yc: F64) -> tuple[float, bool]:
    """The absolute start: the rows give it modulo the slowest cycle, the counter counts the cycles."""
    board = f.board
    cycle = float(board.rows[-1].cycle_ns)
    unit = float(board.counter.unit_ns)
    wrap = float(board.counter.wrap_ns)
    start, duration, line, dark = float(x[0]), float(x[1]), float(x[2]), float(x[3])
    bits = np.arange(board.counter.bits)
    on = (c - dark) > 0.5 * level
    u = 0
    for b in on:
        u = (u << 1) | int(b)
    read = board.counter.decode(u)
    mid = start % cycle + line * float(np.mean(yc)) + duration / 2
    lo = int(np.floor(((read - 1) * unit - mid) / cycle))
    hi = int(np.ceil(((read + 2) * unit - mid) / cycle))
    scores = []
    for n in range(lo, hi + 1):
        t0 = start % cycle + n * cycle + line * yc
        if np.any(t0 < 0):
            continue
        lit, _, _ = counter_lit(board, bits, t0, t0 + duration)
        pred = lit / duration
        fitted = float(np.clip(float(pred @ (c - dark)) / max(float(pred @ pred), 1e-12), 0.5 * level, 2 * level))
        # Each LED's miss in units of what it may miss by: a lit LED varies with the flat field, a dark one
        # does not (a lit LED partly hidden, e.g. by a passing object, must not read as a dark one).
        tolerance = np.where(pred > 0, _COUNTER_LIT_TOLERANCE, _COUNTER_DARK_TOLERANCE) * fitted
        scores.append((float(np.max(np.abs(c - dark - fitted * pred) / tolerance)),
                       (start % cycle + n * cycle) % wrap))
    if not scores:
        return 0.0, False
    scores.sort()
    best, value = scores[0]
    clear = best < 1.0 and (len(scores) == 1 or scores[1][0] >= 1.0)
    return value, clear


def _fits_without(f: Frame, fit: WindowFit, x: F64, hidden: npt.NDArray[np.bool_], noise: float) -> bool:
    """Whether the LEDs but ``hidden`` fit one window: refitted without them, none is far from the model."""
    rest = WindowFit(f, fit.rows_used(), fit.fit_line, without=hidden)
    y, _, _ = rest.run(x)
    frac = f.model(float(y[0]), float(y[1]), float(y[2]))[0]
    levels = np.where(fit.rows_used(), y[4:], 0.0)
    others = dataclasses.replace(f.s, weight=np.where(hidden, 0.0, f.s.weight))
    again = led_misfit(f.board, others, f.v, f.saturated, frac, float(y[3]), levels, noise)
    return again is None


def _coarse_cost(f: Frame, rel: list[F64], ys: list[F64], line: float, noise: float, dark: float) -> float:
    """How well the coarse window for ``line`` fits, after a few iterations (to pick a line time)."""
    coarse = _coarse(f.board, rel, ys, line, noise)
    if coarse is None:
        return np.inf
    start, duration, finest = coarse
    fit = WindowFit(f, np.arange(len(f.board.rows)) >= finest, fit_line=False)
    x = fit.levels(np.concatenate([[start, duration, line, dark], np.zeros(len(f.board.rows))]))
    return fit.cost(fit.run(x, iterations=4)[0]) / max(float(fit.used), 1.0)


def residual_at_line(board: LedClockBoard, s: LedSamples, v: F64, saturated: npt.NDArray[np.bool_], init: Decoded,
                     line_ns: float) -> float:
    """The residual (per pixel) of the frame's fit with the line time held at ``line_ns``, started from ``init``
    moved to it (to compare line times over a stream's frames)."""
    f = Frame(board, s, v, saturated, SampleModel(board, s))
    moved = init.with_line(line_ns)
    rows = np.array([level > 0 for level in init.levels]) if init.levels else np.ones(len(board.rows), dtype=bool)
    fit = WindowFit(f, rows, fit_line=False)
    x = np.concatenate([[moved.start_ns % board.rows[-1].cycle_ns, moved.duration_ns, line_ns, init.dark],
                        np.zeros(len(board.rows))])
    return fit.run(fit.levels(x))[2]


def decode_frame(board: LedClockBoard, s: LedSamples, v: F64, saturated: npt.NDArray[np.bool_],
                 line_guess_ns: float | None, line_max_ns: float, init: Decoded | None = None,
                 fit_line: bool = True) -> Decoded | Failed:
    """Decode one image's samples ``v`` (``saturated``: those with a clipped pixel; see the module
    docstring). ``line_guess_ns`` None searches the rolling-shutter line time on a grid from 0 to
    ``line_max_ns``. ``init``: a decode of the same frame to start the fine fit from (no coarse search).
    ``fit_line`` False: the line time is held at ``line_guess_ns`` (a rolling shutter's: the result is the fit
    linearized about that solution, with the frame's own line time and its covariance with the start)."""
    a, ys, c, yc = _led_means(board, s, v)
    slow = a[-1]
    dark0 = float(np.median(slow))
    slowest = s.row == len(board.rows) - 1
    dev = (v[slowest] - np.median(v[slowest])) * np.sqrt(s.weight[slowest])
    noise = max(1.4826 * float(np.median(np.abs(dev))), 0.5)
    led_noise = noise / np.sqrt(max(float(np.median(s.weight)), 1.0))
    f = Frame(board, s, v, saturated, SampleModel(board, s))
    rel = [x - dark0 for x in a]
    if max(float(np.max(x)) for x in rel) < 8 * led_noise:
        return Failed(Undecodable.NO_CONTRAST, "no LED is brighter than the noise")
    if line_guess_ns is None:  # a global shutter, or the best line time of a grid
        span = float(s.y.max() - s.y.min()) or 1.0
        grid = np.arange(0.0, line_max_ns + 1e-9, max(100_000.0 / span, 200.0))
        best_line = min(grid, key=lambda line: _coarse_cost(f, rel, ys, float(line), led_noise, dark0))
        fixed = decode_frame(board, s, v, saturated, 0.0, line_max_ns)
        free = decode_frame(board, s, v, saturated, float(best_line), line_max_ns)
        # A rolling shutter only when the line time is clearly there: a free line always fits a little better.
        if isinstance(free, Decoded) and free.line_ns > max(5 * np.sqrt(free.line_var), MIN_LINE_NS) and (
                not isinstance(fixed, Decoded) or free.rms < fixed.rms):
            return free
        return fixed
    coarse = _coarse(board, rel, ys, line_guess_ns, led_noise)
    if coarse is None:
        return Failed(Undecodable.NO_CONTRAST, "no row shows a streak")
    start, duration, finest = coarse
    if init is not None:
        start, duration = init.start_ns % board.rows[-1].cycle_ns, init.duration_ns
    x = np.concatenate([[start, duration, line_guess_ns, dark0], np.zeros(len(board.rows))])
    x = WindowFit(f, np.arange(len(board.rows)) >= finest, fit_line=False).levels(x)
    if x[1] > board.rows[-1].cycle_ns / 2:
        return Failed(Undecodable.EXPOSURE_TOO_LONG,
                      f"exposure ~{x[1] / 1e6:.1f} ms: longer than half the slowest row's cycle")
    held = line_guess_ns != 0.0 and not fit_line
    rolling = line_guess_ns != 0.0 and fit_line
    # The model is piecewise linear: a start that crossed an LED's edge no longer sees that LED pull it back.
    # The streak's centroid is good to a fraction of a step; the fit starts from it and from either side.
    first = WindowFit(f, np.arange(len(board.rows)) >= finest, rolling)
    step = board.rows[finest].step_ns
    if init is None:
        x = first.run(first.best(np.stack([x + shift for shift in starts(x.size, step)]), iterations=6))[0]
    # Every row with samples below saturation: rows that wrap while unsaturated add their ends.
    usable = np.array([np.count_nonzero(~saturated[s.row == r]) > 0.2 * np.count_nonzero(s.row == r)
                       for r in range(len(board.rows))])
    fit = WindowFit(f, usable | (np.arange(len(board.rows)) >= finest), rolling)
    x, cov, rms = off_kinks(fit, *fit.run(fit.levels(x)))
    if held:
        rolling = True
        x, cov = WindowFit(f, fit.rows_used(), True).linearized(x)
    decoded = Decoded(start_ns=float(x[0]), duration_ns=float(x[1]), line_ns=float(x[2]),
                      start_sigma_ns=float(np.sqrt(max(cov[0, 0], 0.0))),
                      duration_sigma_ns=float(np.sqrt(max(cov[1, 1], 0.0))),
                      rms=rms, dark=float(x[3]),
                      levels=tuple(float(v) if u else 0.0 for v, u in zip(x[4:], fit.rows_used(), strict=True)),
                      line_var=float(cov[2, 2]) if rolling else 0.0,
                      start_line_cov=float(cov[0, 2]) if rolling else 0.0)
    frac = f.model(float(x[0]), float(x[1]), float(x[2]))[0]
    misfit = led_misfit(board, s, v, saturated, frac, float(x[3]), np.array(decoded.levels), noise)
    if misfit is not None:  # what the fit's covariance cannot say: LEDs that no window explains
        if misfit.hidden and _fits_without(f, fit, x, misfit.samples, noise):
            return Failed(Undecodable.OCCLUDED, f"{misfit.detail()}: something hides part of the board")
        return Failed(Undecodable.BAD_FIT, f"{misfit.detail()}: a streak end taken for another")
    # Judged at the stream's line time: a frame's own line time is uncertain, extrapolated to row 0.
    start_sigma = decoded.with_line(decoded.line_ns).start_sigma_ns
    lit = frac > 0.05
    if not np.isfinite(start_sigma) or start_sigma > MAX_START_SIGMA_NS:
        if np.count_nonzero(saturated & lit) > 0.5 * max(int(np.count_nonzero(lit)), 1):
            return Failed(Undecodable.SATURATED, "the lit LEDs are saturated: the streaks' ends cannot be placed")
        return Failed(Undecodable.BAD_FIT, f"start uncertain by {start_sigma / 1000:.1f} us")
    level = float(np.median(x[4:][fit.rows_used()]))
    if rms > 5 * noise + 0.1 * level:
        return Failed(Undecodable.BAD_FIT, f"the LEDs do not fit the model (residual {rms:.1f}, noise {noise:.1f})")
    start, clear = _counter_count(f, x, level, c, yc)
    if not clear:
        return Failed(Undecodable.AMBIGUOUS_COUNTER, "the counter's bits match no count consistently")
    return dataclasses.replace(decoded, start_ns=start)
