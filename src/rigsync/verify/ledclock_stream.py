"""Read one stream of a recording for the LED clock: find the board, decode every frame that shows it.

The board is searched for in each frame until markers have been found in a few (``_DETECTIONS``): the
stream's homography is the median of those; later frames are checked against it (the markers' cells) and
searched again only when the check fails (every frame once the stream has shown the board; before that, every
``_SEARCH_EVERY``-th frame after ``_SEARCH_MISSES`` fruitless searches: :class:`_Search`). The rolling-shutter
line time is searched on a grid in the first decodable frame, then carried from frame to frame. A sensor's line
time does not change: frames that disagree with their neighbours (exposure, residual) or with the stream's line
time are not decodes, the stream gets one line time from all its frames (:func:`joint_line`; :func:`pool_lines`
for streams of one sensor mode), and every start is moved to it. Row 0's start is extrapolated over the rows
between row 0 and the board with it: its error is common to every frame of the stream
(:attr:`StreamDecode.row0_sigma_ns`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.record.reader import RecordedImage
from rigsync.verify.ledclock_decode import Decoded, Failed, Undecodable, decode_frame, residual_at_line
from rigsync.verify.ledclock_find import MarkerFinder, SamplingPlan, image_plane, luminance, sampling_plan
from rigsync.verify.ledclock_flat import flatten, led_gains
from rigsync.verify.ledclock_occlusion import lit_gap

__all__ = ["StreamDecode", "decode_stream", "joint_line", "pool_lines"]

F64 = npt.NDArray[np.float64]

_DETECTIONS = 5
"""Frames whose detected markers make the stream's homography."""
_SEARCH_MISSES = 10
"""Searches in a row that find no board before a stream that has not shown it yet is searched only every
``_SEARCH_EVERY``-th frame (the marker search costs more than a decode: a camera that does not see the board)."""
_SEARCH_EVERY = 10
_LINE_SEARCHES = 3
"""Frames the line time is searched in before the stream is read as a global shutter."""


@dataclass
class StreamDecode:
    """What one stream's images showed of the board."""

    key: str
    decoded: dict[int, Decoded] = field(default_factory=dict)
    """By frame seq."""
    failed: dict[int, Failed] = field(default_factory=dict)
    line_ns: float = 0.0
    """The stream's rolling-shutter line time (0: global shutter)."""
    line_sigma_ns: float = 0.0
    """Its uncertainty (one sigma): row 0's start is extrapolated from the rows the board covers with it."""
    height: int = 0
    lever_rows: float = 0.0
    """Image rows between row 0 and the board (as the fit weighs them): row 0's start is extrapolated over them,
    so ``line_sigma_ns * lever_rows`` is an error common to every frame of the stream (:attr:`row0_sigma_ns`)."""

    fits: dict[int, Decoded] = field(default_factory=dict)
    """By frame seq, each frame's own fit (its own line time): ``decoded`` is these moved to ``line_ns``."""
    own_line: tuple[float, float] = (0.0, 0.0)
    """The stream's line time and sigma from its own frames alone (before any pooling with other streams)."""
    pooled: int = 1
    """Streams (of one sensor mode) whose frames made ``line_ns``: 1, its own."""

    def use_line(self, line_ns: float, line_sigma_ns: float) -> None:
        """Give the stream its line time (and sigma): every start is moved to it."""
        self.line_ns, self.line_sigma_ns = line_ns, line_sigma_ns
        self.decoded = {seq: d.with_line(line_ns, line_sigma_ns ** 2) for seq, d in self.fits.items()}

    @property
    def row0_sigma_ns(self) -> float:
        """Uncertainty (one sigma) of row 0's start common to every frame: the line time's, over the lever."""
        return self.line_sigma_ns * abs(self.lever_rows)

    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.failed.values():
            out[f.reason.value] = out.get(f.reason.value, 0) + 1
        return dict(sorted(out.items()))


def _channel(plan: SamplingPlan, image: npt.NDArray[np.generic], encoding: str) -> int | None:
    """The colour channel in which the LEDs vary most."""
    if image.ndim == 2 or encoding in ("yuyv", "uyvy"):
        return None
    spread = [float(np.ptp(plan.led_values(image[..., c], np.inf)[0])) for c in range(min(image.shape[2], 3))]
    return int(np.argmax(spread))


def _saturation(image: npt.NDArray[np.generic]) -> float:
    return float(np.iinfo(image.dtype.str).max) if np.issubdtype(image.dtype, np.integer) else np.inf


def _second_pass(out: StreamDecode, board: LedClockBoard, plan: SamplingPlan,
                 read: list[tuple[int, SamplingPlan, F64, npt.NDArray[np.bool_]]], line_ns: float,
                 line_max_ns: float) -> None:
    """Decode again the frames read with the stream's last plan, each LED's brightness flattened
    (:mod:`ledclock_flat`); a rolling shutter's frames each with the line time held at the one the frames fit
    best together (:func:`_best_line`), linearized about it (the frame's own line time, for :func:`joint_line`)."""
    mine = [(seq, v, c) for seq, p, v, c in read if p is plan]
    gains = led_gains(board, plan.samples, [(v, c, out.decoded[seq]) for seq, v, c in mine if seq in out.decoded])
    dark = float(np.median([d.dark for d in out.decoded.values()]))
    rolling = [d.line_ns for d in out.decoded.values() if d.line_var > 0]
    if rolling:
        line_ns = _best_line(board, plan, [(flatten(v, c, gains, dark), c, out.decoded[seq]) for seq, v, c in mine
                                           if seq in out.decoded and out.decoded[seq].line_var > 0],
                             float(np.median(rolling)))
    for seq, values, clipped in mine:
        first = out.decoded.get(seq)
        if first is not None and rolling:
            first = first.with_line(line_ns)
        result = decode_frame(board, plan.samples, flatten(values, clipped, gains, dark), clipped,
                              first.line_ns if first is not None else line_ns, line_max_ns, first,
                              fit_line=not rolling)
        if isinstance(result, Failed):
            out.decoded.pop(seq, None)
            out.failed[seq] = result
        else:
            out.failed.pop(seq, None)
            out.decoded[seq] = result


_PROFILE_FRAMES = 12
"""Frames (spread over the stream) whose fits at fixed line times choose the line time the fits start from."""
_PROFILE_SPAN = 0.05
_PROFILE_STEPS = 12
"""The line times tried: the first fits' median +- ``_PROFILE_SPAN`` of it, in ``_PROFILE_STEPS`` steps either
side."""


def _best_line(board: LedClockBoard, plan: SamplingPlan, frames: list[tuple[F64, npt.NDArray[np.bool_], Decoded]],
               around_ns: float) -> float:
    """The line time the frames fit best together, to start every frame's own fit from it.

    A frame's own line time is poorly determined when the board spans few image rows, and the model is piecewise
    linear: a fit with its line time free can settle in another minimum than the true one (start and line time
    traded against each other), and claim it tightly, so neither the first fits' weighted mean nor their median is
    safe. The sensor has one line time: the frames' residuals summed over fits at fixed line times (each frame's
    start moved to it, then fitted) find its basin; a parabola through the best three refines it."""
    if not frames:
        return around_ns
    step = around_ns * _PROFILE_SPAN / _PROFILE_STEPS
    grid = around_ns + step * np.arange(-_PROFILE_STEPS, _PROFILE_STEPS + 1)
    pick = frames[:: max(len(frames) // _PROFILE_FRAMES, 1)][:_PROFILE_FRAMES]
    cost = np.zeros(grid.size)
    for n, line in enumerate(grid):
        cost[n] = sum(residual_at_line(board, plan.samples, v, c, d, float(line)) ** 2 for v, c, d in pick)
    best = int(np.argmin(cost))
    if 0 < best < grid.size - 1:
        c0, c1, c2 = cost[best - 1:best + 2]
        curve = c0 - 2 * c1 + c2
        if curve > 0:
            return float(grid[best] + step * 0.5 * (c0 - c2) / curve)
    return float(grid[best])


_NEIGHBOURS = 3
"""Decoded frames either side a frame is compared with (a median of seven: an exposure's step passes)."""
_DURATION_SIGMAS = 5.0
"""An exposure (or residual) this many sigmas from the frames around it is not a decode."""
_RMS_RATIO = 1.3
"""A residual must also be this many times the frames' around it."""


def _reject_inconsistent(out: StreamDecode) -> None:
    """Frames whose fit disagrees with their neighbours' are not decodes: an exposure far from the median of the
    frames around it (beyond ``_DURATION_SIGMAS`` of its own sigma and their spread: the fit took the wrong end
    of a streak), or a residual above theirs by ``_RMS_RATIO - 1`` of it and by ``_DURATION_SIGMAS`` of their
    spread (the LEDs do not fit the model as in the others)."""
    seqs = sorted(out.decoded)
    dur = np.array([out.decoded[q].duration_ns for q in seqs])
    rms = np.array([out.decoded[q].rms for q in seqs])
    for n, seq in enumerate(seqs):
        near = slice(max(n - _NEIGHBOURS, 0), n + _NEIGHBOURS + 1)
        if dur[near].size < 2 * _NEIGHBOURS + 1:
            near = slice(0, 2 * _NEIGHBOURS + 1) if n < _NEIGHBOURS else slice(-2 * _NEIGHBOURS - 1, None)
        d = out.decoded[seq]
        median = float(np.median(dur[near]))
        spread = 1.4826 * float(np.median(np.abs(dur[near] - median)))
        if abs(d.duration_ns - median) > _DURATION_SIGMAS * np.hypot(d.duration_sigma_ns, spread):
            why = (f"exposure {d.duration_ns / 1000:.1f} us where the frames around it show "
                   f"{median / 1000:.1f} us: a streak end taken for another")
        elif d.rms > (typical := float(np.median(rms[near]))) + max(
                (_RMS_RATIO - 1) * typical, _DURATION_SIGMAS * 1.4826 * float(np.median(np.abs(rms[near] - typical)))):
            why = f"residual {d.rms:.1f} where the frames around it show {typical:.1f}: the LEDs do not fit the model"
        else:
            continue
        out.failed[seq] = Failed(Undecodable.BAD_FIT, why)
    for seq in out.failed:
        out.decoded.pop(seq, None)


class _Search:
    """Whether to search a frame for the board's markers: every frame until ``_SEARCH_MISSES`` searches in a row
    found no board that passes the check, then every ``_SEARCH_EVERY``-th frame until one does; every frame
    again once the stream has shown the board (a board hidden for a while is then searched for at once)."""

    def __init__(self) -> None:
        self.seen = False
        self.misses = 0
        self.since = 0

    def now(self) -> bool:
        return self.seen or self.misses < _SEARCH_MISSES or self.since + 1 >= _SEARCH_EVERY

    def result(self, searched: bool, shown: bool) -> None:
        """A frame was (or was not) ``searched``; the board was ``shown`` where the stream's plan puts it, or not."""
        if shown:
            self.seen = True
        elif searched:
            self.misses, self.since = self.misses + 1, 0
        else:
            self.since += 1

    def skipped(self) -> str:
        return (f" (not searched in this frame: the stream has not shown the board in {self.misses} searches, and "
                f"is searched every {_SEARCH_EVERY}th frame until it does)")


def decode_stream(key: str, images: Iterable[RecordedImage], board: LedClockBoard,
                  line_max_ns: float = 60_000.0) -> StreamDecode:
    """Every frame of one stream, decoded or with the reason it was not."""
    out = StreamDecode(key)
    finder = MarkerFinder(board)
    detections: list[dict[int, npt.NDArray[np.float64]]] = []
    plan: SamplingPlan | None = None
    channel: int | None = None
    line_guess: float | None = None
    lines: list[tuple[float, float]] = []
    searches = 0
    read: list[tuple[int, SamplingPlan, F64, npt.NDArray[np.bool_]]] = []
    early: dict[int, tuple[npt.NDArray[np.generic], float]] = {}
    search = _Search()
    for img in images:
        image = img.image
        out.height = image.shape[0]
        # The markers' cells are read in the first plane (grey, luma or one colour): black and white in all.
        first = image_plane(image, img.encoding, 0)
        shown = plan is not None and plan.shows_board(first)
        searched = False
        if (plan is None or len(detections) < _DETECTIONS or not shown) and search.now():
            searched = True
            found = finder.corners(luminance(image, img.encoding))
            if len(found) >= 2:
                detections = [*detections, found][-_DETECTIONS:] if plan is None or shown else [found]
                h = finder.homography(detections)
                plan = sampling_plan(board, h, image.shape[0], image.shape[1]) if h is not None else None
                if plan is not None and channel is None:
                    channel = _channel(plan, image, img.encoding)
                shown = plan is not None and plan.shows_board(first)
        search.result(searched, shown)
        if plan is None:
            out.failed[img.seq] = Failed(Undecodable.NOT_IN_VIEW, "the board's markers were not found"
                                         + ("" if searched else search.skipped()))
            continue
        if not shown:
            out.failed[img.seq] = Failed(Undecodable.OCCLUDED, "the markers are not where the board was seen"
                                         + ("" if searched else search.skipped()))
            continue
        plane = image_plane(image, img.encoding, channel)
        values, clipped = plan.led_values(plane, _saturation(image))
        if (hidden := lit_gap(board, plan.samples, values, plan.gap_values(plane), plan.gap_leds)) is not None:
            out.failed[img.seq] = Failed(Undecodable.OCCLUDED, hidden)
            continue
        read.append((img.seq, plan, values, clipped))
        if len(detections) < _DETECTIONS:  # the plan may still change: read again with the last one
            early[img.seq] = (plane, _saturation(image))
        result = decode_frame(board, plan.samples, values, clipped, line_guess, line_max_ns)
        if line_guess is None:
            searches += 1
            if searches >= _LINE_SEARCHES:
                line_guess = 0.0
        if isinstance(result, Failed):
            out.failed[img.seq] = result
            continue
        out.decoded[img.seq] = result
        if result.line_var > 0:
            lines.append((result.line_ns, result.line_var))
            line_guess = float(np.median([ln for ln, _ in lines]))
        elif line_guess is None:
            line_guess = 0.0
    if plan is not None and out.decoded:
        last = plan
        read = [(seq, last, *last.led_values(*early[seq])) if p is not last and seq in early else (seq, p, v, c)
                for seq, p, v, c in read]
        _second_pass(out, board, plan, read, line_guess or 0.0, line_max_ns)
    _reject_inconsistent(out)
    rolling = {seq: d for seq, d in out.decoded.items() if d.line_var > 0}
    if rolling:
        line, sigma, kept = joint_line(np.array([d.line_ns for d in rolling.values()]),
                                       np.sqrt([d.line_var for d in rolling.values()]))
        for seq, ok in zip(rolling, kept, strict=True):
            if not ok:  # a sensor's line time does not change: the fit of this frame is wrong
                out.failed[seq] = Failed(Undecodable.BAD_FIT, f"its rows shift as a line time of "
                                         f"{rolling[seq].line_ns / 1000:.3f} us, the stream's is {line / 1000:.3f} us")
                del out.decoded[seq]
        # How far above the board row 0 is, in rows (the start's regression on the line time, ~ -the board's row).
        out.lever_rows = float(np.median([-d.start_line_cov / d.line_var for d in rolling.values()]))
        out.fits = dict(out.decoded)
        out.own_line = (line, sigma)
        out.use_line(line, sigma)
    else:
        out.fits = dict(out.decoded)
    return out


def joint_line(lines_ns: F64, sigmas_ns: F64, huber: float = 2.0, reject: float = 5.0
               ) -> tuple[float, float, npt.NDArray[np.bool_]]:
    """The stream's one line time from every frame's own fit, its uncertainty (one sigma), and which frames
    agree with it.

    Each frame's fit has its own start, duration and levels and shares the line time with the others, so the
    joint least-squares fit over all frames' samples is, to first order, the mean of the frames' line times
    weighted by their fits' inverse variances (each frame's start profiled out). The frames' fits claim less
    than they scatter (the model is piecewise linear: a streak end near an LED's edge), so each frame's variance
    gets one excess common to the stream (``tau``, estimated from the scatter as in a random-effects mean).
    Robust: Huber weights on the residuals in sigmas, frames beyond ``reject`` robust sigmas left out; the
    variance is never below what the residuals' spread says."""
    sig2 = np.maximum(sigmas_ns, 1e-3) ** 2
    keep = np.ones(lines_ns.size, dtype=bool)
    line, tau2 = float(np.median(lines_ns)), 0.0
    w = np.zeros(lines_ns.size)
    for _ in range(30):
        v = sig2 + tau2
        z = (lines_ns - line) / np.sqrt(v)
        mad = 1.4826 * float(np.median(np.abs(z[keep]))) if np.count_nonzero(keep) > 2 else 1.0
        keep = np.abs(z) <= reject * max(mad, 1.0)
        w = np.where(keep, np.minimum(1.0, huber / np.maximum(np.abs(z), 1e-12)), 0.0) / v
        new = float(np.sum(w * lines_ns) / np.sum(w))
        # Excess variance (DerSimonian-Laird) of the frames kept, around the fixed-effect mean.
        wk = 1.0 / sig2[keep]
        n = int(np.count_nonzero(keep))
        if n > 1:
            fixed = float(np.sum(wk * lines_ns[keep]) / np.sum(wk))
            q = float(np.sum(wk * (lines_ns[keep] - fixed) ** 2))
            tau2_new = max(0.0, (q - (n - 1)) / (float(np.sum(wk)) - float(np.sum(wk ** 2)) / float(np.sum(wk))))
        else:
            tau2_new = tau2
        if abs(new - line) < 1e-6 and abs(tau2_new - tau2) <= 1e-6 * max(tau2, 1.0):
            line = new
            break
        line, tau2 = new, tau2_new
    n = int(np.count_nonzero(keep))
    z = (lines_ns[keep] - line) / np.sqrt(sig2[keep] + tau2)
    chi2 = float(np.sum(z ** 2)) / (n - 1) if n > 1 else 1.0
    return line, float(np.sqrt(max(chi2, 1.0) / np.sum(w))), keep


def pool_lines(streams: list[StreamDecode], agree_sigmas: float = 3.0) -> bool:
    """Give streams of one sensor mode (model, stream, size, rate: one line time) the line time of all of them,
    when their own estimates agree (each within ``agree_sigmas`` of its own sigma of the pooled one); returns
    whether they were pooled. The pooled sigma is scaled up by the streams' scatter when they scatter more
    than their sigmas say (never down)."""
    own = [s for s in streams if s.own_line[1] > 0]
    if len(own) < 2:
        return False
    lines = np.array([s.own_line[0] for s in own])
    w = 1.0 / np.array([s.own_line[1] for s in own]) ** 2
    line = float(np.sum(w * lines) / np.sum(w))
    chi2 = float(np.sum(w * (lines - line) ** 2)) / (len(own) - 1)
    sigma = float(np.sqrt(max(chi2, 1.0) / np.sum(w)))
    if np.any(np.abs(lines - line) * np.sqrt(w) > agree_sigmas):
        return False
    for s in own:
        s.use_line(line, sigma)
        s.pooled = len(own)
    return True
