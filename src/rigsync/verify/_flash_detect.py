"""Finding a flash in one image stream and placing it in time. Not public API (see ``rigsync.verify.flash``).

Each frame's **rise** is, per image row, the median over the row of each pixel's grey level (levels of 255)
less its level in the last unlit frame, over the pixels clipped in neither (a row with fewer than
``MIN_PIXELS`` of them has no value). The moving sphere or a timecode panel move a few pixels of a row; a
flash lifts all of them. A frame is **lit** when its largest rise exceeds ``max(RISE_FLOOR, median + 8 x
MAD)`` of the largest rises of earlier unlit frames; a flash is a run of consecutive lit frames.

Where the flash is in time (its **centre**, the middle of the light pulse), relative to the frame's stamp:

- **rolling shutter** (``line_ns`` > 0: row ``y`` is exposed over ``[s + y * line_ns, s + y * line_ns + E]``):
  the rows that saw the flash form a band. A pulse of length D, seen through windows of length E, gives a
  band whose rising edge (rows whose window *ends* during the pulse) and falling edge (rows whose window
  *starts* during it) are linear ramps of min(D, E) / line_ns rows. The row where the rising edge crosses half
  the band's peak starts at ``centre - E`` when D <= E (``onset + E/2 - E`` when D > E); the falling edge's
  half-peak row starts at the centre (``end - E/2``). Both edges seen: their mean is the centre for any D;
  one edge seen (the band runs off the frame) gives the centre when its ramp is shorter than E (D < E).
  Rows are interpolated to a fraction of a row: the uncertainty claimed is one line time.
- **global shutter**: one window per frame, so only the fraction of the flash in each frame. With three or
  more lit frames (a flash longer than a frame interval) the inner ones saw it fully (rise P): the onset is
  ``end_0 - E * rise_0 / P``, the end ``start_n + E * rise_n / P``; each rise is trusted to ``RISE_NOISE``
  levels, which gives the uncertainty (about ``E x RISE_NOISE / P``, plus the gap between windows when the
  first or last lit frame may have been lit throughout). With
  one or two lit frames the pulse is somewhere in or between them: the rise-weighted centre of their windows,
  with the uncertainty of the frame level (half a frame interval).

A flash whose first lit frame follows a missing or damaged frame cannot be placed (its onset may be in the
frame that is missing): it is reported as missed, with that reason, never guessed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

RISE_FLOOR = 5.0
"""Smallest rise (grey levels of 255) that counts as a flash, whatever the noise."""
RISE_NOISE = 1.0
"""Grey levels a global-shutter frame's median rise is trusted to (quantisation and noise)."""
SCORE_FRAMES = 32
"""Unlit frames whose rises set the threshold."""
MIN_SCORE_FRAMES = 3
MAX_LIT_FRAMES = 30
"""A rise lasting longer is a change of lighting, not a flash."""
RS_UNCERTAINTY_LINES = 1.0
MIN_PIXELS = 8
CLIPPED = 254.0
"""Grey level (of 255) from which a pixel counts as clipped."""


def grey(image: npt.NDArray[Any]) -> F32:
    """An image as grey levels of 255 (colour channels averaged, alpha ignored; 16-bit scaled down), NaN
    where a channel is clipped (at ``CLIPPED`` or above: a flash cannot brighten it further)."""
    scale = 257.0 if image.dtype == np.uint16 else 1.0
    if image.ndim == 3:  # channel by channel: numpy reduces a short last axis slowly
        r, g, b = (image[:, :, c] for c in range(3))
        clipped = np.maximum(np.maximum(r, g), b) >= CLIPPED * scale
        a = (r.astype(np.float32) + g + b) * np.float32(1.0 / (3.0 * scale))
    else:
        clipped = image >= CLIPPED * scale
        a = image.astype(np.float32) * np.float32(1.0 / scale)
    a[clipped] = np.nan
    return np.asarray(a, dtype=np.float32)


def row_rise(image: F32, base: F32) -> F64:
    """Per row, the median of ``image - base`` (both from :func:`grey`) over the pixels clipped in neither
    (NaN for a row with fewer than ``MIN_PIXELS`` of them)."""
    diff = np.sort(image - base, axis=1)  # NaN sorts last
    valid = np.count_nonzero(~np.isnan(diff), axis=1)
    rows = np.arange(diff.shape[0])
    lo = diff[rows, np.maximum(valid - 1, 0) // 2]
    hi = diff[rows, np.minimum(valid // 2, diff.shape[1] - 1)]
    median = np.asarray(np.where(valid % 2 == 1, lo, (lo + hi) / 2), dtype=np.float64)
    median[valid < MIN_PIXELS] = np.nan
    return median


@dataclass(frozen=True, slots=True)
class FrameImage:
    """One frame of a stream, as the detector needs it."""

    seq: int
    rig_time_ns: int
    """Rig time of the start of exposure (of row 0 for a rolling shutter)."""
    exposure_ns: int | None
    grey: F32
    """The image in grey levels of 255 (:func:`grey`)."""
    usable: bool = True
    """False for a frame flagged corrupt: treated as missing."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """A flash as one stream saw it."""

    instant_rig_ns: int
    """The flash's centre in rig time: the onset frame's stamp + ``offset_ns``."""
    uncertainty_ns: int
    """What the method claims: |measured - true| <= this (given a correct stamp)."""
    offset_ns: int
    """The flash's centre after the onset frame's start of exposure, measured from the image alone."""
    onset_seq: int
    onset_rig_ns: int
    lit_frames: int
    how: str
    """How it was placed (rows of both edges, one edge, frame fractions, frame level)."""

    @property
    def frame_level(self) -> bool:
        return self.how.startswith("frame level")


@dataclass(frozen=True, slots=True)
class Miss:
    """A flash a stream saw but could not place (or lost part of), and why."""

    near_rig_ns: int
    reason: str


@dataclass
class _Event:
    frames: list[tuple[FrameImage, F64]]
    before: tuple[FrameImage, F64] | None
    broken: str | None = None


def _smooth3(d: F64) -> F64:
    """3-row moving median (a single odd row - a timecode cell, a ragged edge - is not a band)."""
    if d.size < 3:
        return d
    padded = np.concatenate([d[:1], d, d[-1:]])
    return np.asarray(np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0))


def _max(d: F64) -> float:
    return float(np.nanmax(d)) if not np.all(np.isnan(d)) else 0.0


def _median(d: F64) -> float:
    return float(np.nanmedian(d)) if not np.all(np.isnan(d)) else 0.0


@dataclass
class FlashDetector:
    """Feed a stream's frames in order (:meth:`add`), then :meth:`finish`."""

    line_ns: float
    """Row-to-row delay of a rolling shutter; 0 for a global shutter."""
    period_ns: int
    """The stream's frame interval (for the frame-level uncertainty)."""
    sightings: list[Sighting] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    _base: F32 | None = None
    """The last unlit frame."""
    _scores: deque[float] = field(default_factory=lambda: deque(maxlen=SCORE_FRAMES))
    _prev: tuple[FrameImage, F64] | None = None
    _prev_seq: int | None = None
    _event: _Event | None = None

    def add(self, frame: FrameImage) -> None:
        if not frame.usable:
            if self._event is not None and self._event.broken is None:
                self._event.broken = f"frame {frame.seq} during the flash is damaged (flagged corrupt)"
            self._prev, self._prev_seq = None, frame.seq
            return
        gap = self._prev_seq is not None and frame.seq != self._prev_seq + 1
        missing = f"frames {self._prev_seq + 1}-{frame.seq - 1}" if self._prev_seq is not None else ""
        self._prev_seq = frame.seq
        if self._base is None:
            self._base, self._prev = frame.grey, (frame, np.zeros(frame.grey.shape[0]))
            return
        d = row_rise(frame.grey, self._base)
        score = _max(_smooth3(d))
        lit = score > self._threshold()
        event = self._event
        if event is not None:
            if gap and event.broken is None:
                event.broken = f"{missing} during the flash are missing"
            if lit and len(event.frames) < MAX_LIT_FRAMES:
                event.frames.append((frame, d))
                return
            if lit:  # the scene stayed brighter: a new lighting, not a flash; it is the new baseline
                event.broken = f"brightness stayed up for over {MAX_LIT_FRAMES} frames (a light, not a flash)"
                self._close(after=None)
                self._base, self._prev = frame.grey, None
                return
            self._close(after=(frame, d))
        elif lit:
            self._event = _Event([(frame, d)], None if gap else self._prev)
            if gap:
                self._event.broken = (f"{missing} just before the first lit frame are missing: the onset may be "
                                      "in them")
            elif self._prev is None:
                self._event.broken = "the frame before the first lit frame is damaged: the onset may be in it"
            return
        self._base = frame.grey
        self._scores.append(score)
        self._prev = (frame, d)

    def finish(self) -> tuple[list[Sighting], list[Miss]]:
        if self._event is not None:
            first = self._event.frames[0][0]
            self.misses.append(Miss(first.rig_time_ns, "the recording ended during the flash"))
            self._event = None
        return self.sightings, self.misses

    def _threshold(self) -> float:
        if len(self._scores) < MIN_SCORE_FRAMES:
            return RISE_FLOOR
        s = np.asarray(self._scores)
        med = float(np.median(s))
        return max(RISE_FLOOR, med + 8.0 * 1.4826 * float(np.median(np.abs(s - med))))

    def _close(self, after: tuple[FrameImage, F64] | None) -> None:
        event, self._event = self._event, None
        if event is None:
            return
        first = event.frames[0][0]
        if event.broken is not None:
            self.misses.append(Miss(first.rig_time_ns, event.broken))
        elif after is None:
            self.misses.append(Miss(first.rig_time_ns, "the flash did not end (frames missing after it)"))
        elif any(f.exposure_ns is None for f, _ in event.frames):
            self.sightings.append(self._frame_level(event.frames, "frame level (exposure time not recorded)"))
        elif self.line_ns > 0:
            self.sightings.append(self._rows(event, after))
        else:
            self.sightings.append(self._fractions(event.frames))

    def _sighting(self, frames: list[tuple[FrameImage, F64]], centre_ns: float, uncertainty_ns: float,
                  how: str) -> Sighting:
        onset = frames[0][0]
        offset = round(centre_ns) - onset.rig_time_ns
        return Sighting(instant_rig_ns=round(centre_ns), uncertainty_ns=round(uncertainty_ns), offset_ns=offset,
                        onset_seq=onset.seq, onset_rig_ns=onset.rig_time_ns, lit_frames=len(frames), how=how)

    def _frame_level(self, frames: list[tuple[FrameImage, F64]], how: str) -> Sighting:
        rises = np.array([max(_median(d), 1e-9) for _, d in frames])
        centres = np.array([f.rig_time_ns + (f.exposure_ns or 0) / 2 for f, _ in frames])
        return self._sighting(frames, float(np.dot(rises, centres) / rises.sum()), self.period_ns / 2, how)

    def _fractions(self, frames: list[tuple[FrameImage, F64]]) -> Sighting:
        """Global shutter: each frame's rise is the fraction of the pulse inside its window."""
        if len(frames) < 3:
            return self._frame_level(frames, f"frame level (global shutter, {len(frames)} lit frame(s))")
        rises = [_median(d) for _, d in frames]
        full = float(np.median(rises[1:-1]))
        if full <= RISE_NOISE:
            return self._frame_level(frames, "frame level (global shutter, the flash too faint to measure)")

        def fraction(rise: float) -> tuple[float, float]:
            """The fraction of a window the pulse lit, as an interval (each rise trusted to RISE_NOISE)."""
            lo = (rise - RISE_NOISE) / (full + RISE_NOISE)
            hi = (rise + RISE_NOISE) / (full - RISE_NOISE)
            return min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)

        (f0, _), (fn, _) = frames[0], frames[-1]
        e0, en = f0.exposure_ns or 0, fn.exposure_ns or 0
        lo0, hi0 = fraction(rises[0])
        lon, hin = fraction(rises[-1])
        # A window that may have been lit throughout leaves the onset (end) anywhere in the gap before (after) it.
        onset_lo = f0.rig_time_ns + e0 * (1.0 - hi0) - (self.period_ns - e0 if hi0 >= 1.0 else 0)
        onset_hi = f0.rig_time_ns + e0 * (1.0 - lo0)
        end_lo = fn.rig_time_ns + en * lon
        end_hi = fn.rig_time_ns + en * hin + (self.period_ns - en if hin >= 1.0 else 0)
        lo, hi = (onset_lo + end_lo) / 2, (onset_hi + end_hi) / 2
        return self._sighting(frames, (lo + hi) / 2, (hi - lo) / 2,
                              "global shutter, fractions of the pulse in the first and last lit frames")

    def _rows(self, event: _Event, after: tuple[FrameImage, F64]) -> Sighting:
        """Rolling shutter: the half-peak rows of the band's rising and falling edges."""
        frames = event.frames
        span = ([event.before] if event.before is not None else []) + frames + [after]
        smoothed = [(f, _smooth3(d)) for f, d in span]
        peak = max(_max(d) for _, d in smoothed[1 if event.before else 0:-1])
        half = peak / 2.0
        exposure = frames[0][0].exposure_ns or 0
        rising = _edge(smoothed, half, rising=True)
        falling = _edge(smoothed, half, rising=False)
        line, unc = self.line_ns, RS_UNCERTAINTY_LINES * self.line_ns
        if rising is not None and falling is not None:
            f_r, y_r = rising
            f_f, y_f = falling
            centre = ((f_r.rig_time_ns + y_r * line + exposure) + (f_f.rig_time_ns + y_f * line)) / 2
            return self._sighting(frames, centre, unc, "rolling shutter, half-peak rows of both edges of the band")
        for edge, shift, name in ((rising, exposure, "rising"), (falling, 0, "falling")):
            if edge is not None:
                ramp = _ramp_rows(smoothed, edge, peak, rising=name == "rising")
                if ramp is not None and ramp * line < 0.8 * exposure:  # the pulse is shorter than the exposure
                    f, y = edge
                    return self._sighting(frames, f.rig_time_ns + y * line + shift, unc,
                                          f"rolling shutter, half-peak rows of the band's {name} edge")
        return self._frame_level(frames, "frame level (rolling shutter, the band's edges run off the frames)")


def _edge(span: list[tuple[FrameImage, F64]], half: float, *, rising: bool) -> tuple[FrameImage, float] | None:
    """The (frame, fractional row) where the band first (rising) / last (falling) crosses ``half``, or None
    when the crossing is at a frame's first or last row (the ramp runs off the frame) or next to a row without
    a value."""
    order = span if rising else span[::-1]
    for f, d in order:
        above = np.nonzero(d >= half)[0]
        if above.size == 0:
            continue
        y = int(above[0] if rising else above[-1])
        y_out = y - 1 if rising else y + 1  # the neighbouring row below half
        if not 0 <= y_out < d.size or np.isnan(d[y_out]):
            return None
        frac = (half - d[y_out]) / (d[y] - d[y_out])
        return f, y_out + frac * (1 if rising else -1)
    return None


def _ramp_rows(span: list[tuple[FrameImage, F64]], edge: tuple[FrameImage, float], peak: float, *,
               rising: bool) -> float | None:
    """Rows the edge's ramp takes from 10 % to 90 % of the peak, scaled to 0-100 %; None if it runs off."""
    frame = edge[0]
    d = next(dd for f, dd in span if f is frame)
    y = round(edge[1])
    step = -1 if rising else 1
    lo = y
    while 0 <= lo < d.size and d[lo] > 0.1 * peak:
        lo += step
    hi = y
    while 0 <= hi < d.size and d[hi] < 0.9 * peak:
        hi -= step
    if not (0 <= lo < d.size and 0 <= hi < d.size) or np.isnan(d[min(lo, hi):max(lo, hi) + 1]).any():
        return None
    return abs(hi - lo) / 0.8
