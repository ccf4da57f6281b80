"""``rigsync verify --ledclock``: the proof of sync from the images of an LED clock every camera sees.

Every colour and IR image is searched for the board and decoded (:mod:`ledclock_stream`): its exposure's
start, duration and rolling-shutter line time on **board time**, the board's own crystal. One robust line maps
board time to rig time over every decoded frame of every stream (:mod:`ledclock_fit`). Then:

* **image skew**: per frameset and sync group, the spread of the members' starts measured from the images,
  each mapped to rig time, with the declared delays removed as the frameset's own spread removes them, held
  to ``max_image_skew_us``; shown against the spread of the same members' stamps;
* **stamp error**: each frame's stamp minus the line at its decoded start, p99 per stream held to
  ``max_stamp_error_us``; and whether each stamp lies within its own ``error_bound_ns`` (up to the one
  constant common to every camera, which an independent board clock cannot observe);
* exposure durations and rolling-shutter readout times, as facts;
* frames that do not show a decodable board, counted by reason per stream, never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.plan.model import Plan
from rigsync.record.reader import Recording
from rigsync.verify.ledclock_decode import MAX_START_SIGMA_NS
from rigsync.verify.ledclock_find import IMAGE_ENCODINGS
from rigsync.verify.ledclock_fit import BoardFit, best_common_offset, fit_board_time, unwrap_board
from rigsync.verify.ledclock_read import decode_streams
from rigsync.verify.ledclock_stream import StreamDecode, pool_lines
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.load import TIME_FLAGS, StampData, _stream_layout, rig_plan
from rigsync.verify.result import Check, Plot, Section, Series, Status

__all__ = ["LedClockResult", "decode_recording", "ledclock_section", "verify_ledclock"]

F64 = npt.NDArray[np.float64]
MAX_BOUND_MISS = 0.01
"""Share of a stream's decoded frames allowed outside their stamp's bound (decoding outliers)."""


@dataclass(frozen=True)
class LedClockResult:
    """Everything decoded from one recording, mapped to rig time."""

    streams: dict[str, StreamDecode]
    fit: BoardFit | None
    frames: dict[tuple[str, int], tuple[int, int]]
    """(stream, seq) -> (rig_time_ns, error_bound_ns) of every recorded frame."""
    origin_ns: int
    """Rig time of the recording's first frame: mapped times are relative to it (floats keep ns there)."""
    mapped_ns: dict[tuple[str, int], float]
    """(stream, seq) -> decoded exposure start, mapped to rig time, minus ``origin_ns``."""
    offsets_ns: dict[str, int]
    """Declared delay of each stream (0 for a stream no group syncs)."""
    groups: dict[str, str]
    """Stream -> its sync group (``FREE_RUNNING`` for the streams no group syncs)."""


def decode_recording(rec: Recording, board: LedClockBoard, plan: Plan | None = None,
                     workers: int | None = None, stamps: StampData | None = None) -> LedClockResult:
    """Decode every colour/IR stream and map the starts to rig time (``plan``: the rig's, else the one the
    recording embeds; ``workers``: processes decoding the streams, default one per core; ``stamps``: the
    recording's, if already read: the file is then not read again for them)."""
    image_keys = [f"{info.device}/{info.stream}" for info in rec.streams if info.encoding in IMAGE_ENCODINGS]
    streams = decode_streams(rec.path, image_keys, board, workers)
    plan = plan if plan is not None else rig_plan(rec)
    for group in _same_sensor(plan, streams).values():
        pool_lines(group)
    frames, locked = {}, set()
    if stamps is not None:
        for key, st in stamps.streams.items():
            tied = st.locked & ~np.any([st.time_flags[name] for name in TIME_FLAGS], axis=0)
            for seq, rig, bound, ok in zip(st.seq.tolist(), st.rig_time_ns.tolist(), st.error_bound_ns.tolist(),
                                           tied.tolist(), strict=True):
                frames[(key, seq)] = (rig, bound)
                if ok:
                    locked.add((key, seq))
    else:
        for f in rec.frames():
            frames[(f"{f.device}/{f.stream}", f.seq)] = (f.rig_time_ns, f.error_bound_ns)
            if f.locked and not f.time_flags:
                locked.add((f"{f.device}/{f.stream}", f.seq))
    keys = [(k, seq) for k, s in streams.items() for seq in s.decoded if (k, seq) in frames]
    fit = None
    mapped: dict[tuple[str, int], float] = {}
    origin = min((t for t, _ in frames.values()), default=0)
    if keys:
        rig = np.array([frames[k][0] - origin for k in keys], dtype=np.float64)
        raw = np.array([streams[k].decoded[seq].start_ns for k, seq in keys])
        board_ns = unwrap_board(raw, rig, float(board.counter.wrap_ns))
        # The line through the frames whose stamps are tied to the rig's reference: a host whose clock is not
        # (no PTP, say) would pull it; every frame when too few are.
        tied = np.array([k in locked for k in keys])
        if np.count_nonzero(tied) < max(2, tied.size // 4):
            tied[:] = True
        fit = fit_board_time(board_ns[tied], rig[tied])
        mapped = dict(zip(keys, fit.rig_ns(board_ns).tolist(), strict=True))
    layout = _stream_layout(plan)
    offsets = {key: row[1] for key, row in layout.items()}
    groups = {key: row[0] for key, row in layout.items()}
    return LedClockResult(streams, fit, frames, origin, mapped, offsets, groups)


def _same_sensor(plan: Plan, streams: dict[str, StreamDecode]) -> dict[tuple[object, ...], list[StreamDecode]]:
    """The decoded streams by sensor mode (camera model, stream, width, height, rate): one line time each."""
    out: dict[tuple[object, ...], list[StreamDecode]] = defaultdict(list)
    for device in plan.rig.devices:
        for s in device.streams:
            key = f"{device.id}/{s.name}"
            if key in streams:
                out[(device.model, s.name, s.width, s.height, s.fps)].append(streams[key])
    return out


_CANNOT_TELL = ("; over the limit by less than 3 decode sigmas: the images cannot tell (a rolling shutter's row 0 "
                "is extrapolated with its line time, measured better over a longer recording)")


def _against(value_us: float, limit_us: float, sigma_us: float) -> Status:
    """Beyond the limit by more than three sigmas of the decode: a failure; by less: the images cannot tell."""
    return Status.PASS if value_us <= limit_us else Status.FAIL if value_us - 3 * sigma_us > limit_us else Status.WARN


def _pct(values: F64, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def _series_x(since_origin_ns: F64) -> tuple[float, ...]:
    return tuple((since_origin_ns / 1e9).tolist())


def _stamp_checks(r: LedClockResult, limits: VerifyLimits) -> tuple[list[Check], Plot]:
    keys = list(r.mapped_ns)
    err = np.array([r.frames[k][0] - r.origin_ns - r.mapped_ns[k] for k in keys])
    sigma = np.array([r.streams[k[0]].decoded[k[1]].start_sigma_ns for k in keys])
    bound = np.array([r.frames[k][1] for k in keys], dtype=np.float64)
    fit_sigma = r.fit.residual_sigma_ns if r.fit is not None else 0.0
    common, within = best_common_offset(err, bound + 3 * sigma + fit_sigma)
    checks, series = [], []
    method = ("stamp minus the board-time line at the frame's decoded exposure start (one robust line over every "
              "decoded frame of every stream); a constant common to every camera is not observable with an "
              "independent board clock, so errors are relative to the rig's cameras as a whole")
    by_stream: dict[str, list[int]] = defaultdict(list)
    for n, (key, _) in enumerate(keys):
        by_stream[key].append(n)
    for key, idx in sorted(by_stream.items()):
        e = err[idx]
        device = key.split("/", 1)[0]
        p99 = _pct(np.abs(e), 99) / 1000
        limit = limits.device(device).max_stamp_error_us
        decode_us = _pct(sigma[idx], 50) / 1000
        status = _against(p99, limit, decode_us)
        checks.append(Check(
            "LEDCLOCK-STAMP-ERROR", "stamp error against the LED clock", key, status, p99, limit, "us",
            f"p99 |stamp error| {p99:.1f} us over {len(idx)} decoded frames (p50 {_pct(e, 50) / 1000:+.1f} us; "
            f"each start decoded to +-{decode_us:.1f} us)" + (_CANNOT_TELL if status is Status.WARN else ""),
            method, () if status is Status.PASS else (device,)))
        missed = float(np.count_nonzero(~within[idx])) / len(idx)
        ok = missed <= MAX_BOUND_MISS
        checks.append(Check(
            "LEDCLOCK-STAMP-BOUND", "stamps within their error bound", key, Status.PASS if ok else Status.FAIL,
            100 * missed, 100 * MAX_BOUND_MISS, "%",
            f"{np.count_nonzero(~within[idx])} of {len(idx)} frames' stamps are farther from the LED clock than "
            f"their error_bound_ns (+ 3 sigma of the decode)",
            "|stamp error - c| <= error_bound_ns + 3 decode sigmas + the line's residual sigma, with c the one "
            f"constant common to every camera that fits the most frames (here {common / 1000:+.1f} us)",
            () if ok else (device,)))
        times = np.array([r.frames[keys[n]][0] - r.origin_ns for n in idx], dtype=np.float64)
        series.append(Series(key, _series_x(times), tuple((e / 1000).tolist())))
    plot = Plot("ledclock-stamp-error", "Stamp error against the LED clock, per stream", "points",
                "rig time (s)", "stamp - LED clock (us)", tuple(series), method)
    return checks, plot


_SkewRow = tuple[float, float, float, float, str, int]


def _members(rec: Recording, stamps: StampData | None) -> Iterator[tuple[int, list[tuple[str, int, int]]]]:
    """Each frameset's rig time and its members' (stream, seq, rig_time_ns): from ``stamps`` if read already."""
    if stamps is None:
        for fs in rec.framesets():
            yield fs.rig_time_ns, [(f"{m.device}/{m.stream}", m.seq, m.rig_time_ns) for m in fs.members]
        return
    sets: list[list[tuple[str, int, int]]] = [[] for _ in range(len(stamps.framesets))]
    for key, (index, rig, seq) in stamps.framesets.members.items():
        for i, t, q in zip(index.tolist(), rig.tolist(), seq.tolist(), strict=True):
            sets[i].append((key, q, t))
    yield from zip(stamps.framesets.rig_time_ns.tolist(), sets, strict=True)


def _skews(r: LedClockResult, rec: Recording, stamps: StampData | None) -> dict[str, list[_SkewRow]]:
    """Per sync group, for each frameset with 2+ decoded members: (rig time, image skew, stamp skew, the image
    skew's uncertainty (one sigma of the two extreme members' starts), the member farthest from the others, how
    many members were decoded)."""
    out: dict[str, list[_SkewRow]] = defaultdict(list)
    for fs_rig_ns, members_of in _members(rec, stamps):
        per_group: dict[str, list[tuple[str, float, float, float]]] = defaultdict(list)
        for key, seq, rig_ns in members_of:
            group = r.groups.get(key)
            at = r.mapped_ns.get((key, seq))
            if group is None or at is None:
                continue
            off = r.offsets_ns.get(key, 0)
            sigma = r.streams[key].decoded[seq].start_sigma_ns
            per_group[group].append((key, at - off, float(rig_ns - r.origin_ns - off), sigma))
        for group, members in per_group.items():
            if len(members) >= 2:
                img = np.array([m[1] for m in members])
                stamp = np.array([m[2] for m in members])
                # The member farthest from the others' median is named on failure.
                far = members[int(np.argmax(np.abs(img - np.median(img))))][0]
                lo, hi = members[int(np.argmin(img))], members[int(np.argmax(img))]
                at_ns = float(fs_rig_ns - r.origin_ns)
                out[group].append((at_ns, float(np.ptp(img)), float(np.ptp(stamp)), float(np.hypot(lo[3], hi[3])),
                                   far, len(members)))
    return out


def verify_ledclock(rec: Recording, board: LedClockBoard, limits: VerifyLimits, plan: Plan | None = None,
                    stamps: StampData | None = None) -> Section:
    """The LED clock's section of the verdict (see the module docstring; ``stamps``: the recording's, if read)."""
    return ledclock_section(decode_recording(rec, board, plan, stamps=stamps), rec, limits, stamps)


def ledclock_section(r: LedClockResult, rec: Recording, limits: VerifyLimits,
                     stamps: StampData | None = None) -> Section:
    """The checks, plots and facts of what :func:`decode_recording` found in ``rec`` (``stamps``: its stamps,
    if read already)."""
    facts: list[tuple[str, str]] = []
    checks: list[Check] = []
    plots: list[Plot] = []
    for key, s in sorted(r.streams.items()):
        reasons = ", ".join(f"{n} {why}" for why, n in s.reasons().items()) or "none"
        durations = [d.duration_ns for d in s.decoded.values()]
        facts.append((f"{key}: frames decoded", f"{len(s.decoded)} of {len(s.decoded) + len(s.failed)}"
                                                 f" (not decoded: {reasons})"))
        if durations:
            facts.append((f"{key}: exposure", f"{np.median(durations) / 1000:.1f} us median"
                                              f" ({np.min(durations) / 1000:.1f}-{np.max(durations) / 1000:.1f})"))
            facts.append((f"{key}: readout", f"{s.line_ns * s.height / 1e6:.3f} +- "
                                             f"{s.line_sigma_ns * s.height / 1e6:.3f} ms (line "
                                             f"{s.line_ns / 1000:.4f} us x {s.height} rows; 0: global shutter"
                                             + (f"; one line time for the {s.pooled} streams of this sensor mode, "
                                                f"this one's own {s.own_line[0] * s.height / 1e6:.3f} +- "
                                                f"{s.own_line[1] * s.height / 1e6:.3f} ms" if s.pooled > 1 else "")
                                             + ")"))
            if s.line_ns > 0:
                facts.append((f"{key}: row 0's start", f"+- {s.row0_sigma_ns / 1000:.1f} us common to every frame "
                                                        f"(the line time's uncertainty over the {s.lever_rows:.0f} "
                                                        "rows between row 0 and the board; shrinks with the frames "
                                                        "decoded)"))
    if r.fit is None:
        checks.append(Check("LEDCLOCK-SEEN", "LED clock decoded", "rig", Status.SKIP, 0.0, None, "frames",
                            "no image showed a decodable LED clock", "board search and decode in every colour/IR "
                            "image"))
        return Section("ledclock", tuple(checks), (), tuple(facts))
    facts.append(("board clock", f"{r.fit.board_ppm:+.2f} ppm against rig time; line residual "
                                 f"{r.fit.residual_sigma_ns / 1000:.2f} us (robust sigma), "
                                 f"{int(np.count_nonzero(~r.fit.inliers))} outliers left out of the "
                                 f"{r.fit.inliers.size} frames it was fitted to (those whose stamps are tied to the "
                                 "reference, if enough)"))
    stamp_checks, stamp_plot = _stamp_checks(r, limits)
    checks += stamp_checks
    skew_method = ("per frameset, the spread (max - min) of the group's members' exposure starts decoded from the "
                   "LED clock and mapped to rig time, each member's declared delay removed")
    scatter, over_time = [], []
    for group, rows in sorted(_skews(r, rec, stamps).items()):
        img = np.array([row[1] for row in rows])
        stamp = np.array([row[2] for row in rows])
        p50, p99, top = (_pct(img, q) / 1000 for q in (50, 99, 100))
        sigma = _pct(np.array([row[3] for row in rows]), 50) / 1000
        limit = limits.group(group).max_image_skew_us
        status = _against(p99, limit, sigma)
        over = [row for row in rows if row[1] / 1000 > limit]
        # Two members cannot tell which of them is off: a third can, so framesets with three or more name it.
        over = [row for row in over if row[5] >= 3] or over
        worst = [row[4].split("/", 1)[0] for row in over]
        devices = tuple(sorted(set(worst), key=worst.count, reverse=True))
        detail = (f"p50 {p50:.1f} us, p99 {p99:.1f} us, max {top:.1f} us over {len(rows)} framesets "
                  f"(each measured to +-{sigma:.1f} us, one sigma)")
        if status is Status.FAIL:
            detail += f"; farthest from the others: {', '.join(devices)}"
        elif status is Status.WARN:
            detail += _CANNOT_TELL
        checks.append(Check("LEDCLOCK-SKEW", "image-measured skew", f"group {group}", status, p99, limit, "us",
                            detail, skew_method, () if status is Status.PASS else devices))
        scatter.append(Series(group, tuple((stamp / 1000).tolist()), tuple((img / 1000).tolist())))
        over_time.append(Series(group, _series_x(np.array([row[0] for row in rows])),
                                tuple((img / 1000).tolist())))
    if scatter:
        plots.append(Plot("ledclock-skew-vs-stamps", "Skew measured from the images against the stamps' skew",
                          "scatter", "stamped skew (us)", "image-measured skew (us)", tuple(scatter), skew_method))
        plots.append(Plot("ledclock-skew-over-time", "Image-measured skew over time, per sync group", "points",
                          "rig time (s)", "skew (us)", tuple(over_time), skew_method))
    plots.append(stamp_plot)
    facts.append(("decode", f"frames with a start uncertain by more than {MAX_START_SIGMA_NS / 1000:.0f} us "
                            "are not decoded"))
    return Section("ledclock", tuple(checks), tuple(plots), tuple(facts))
