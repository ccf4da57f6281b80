"""Each device's clock as its stamps show it: drift against rig time and its stability, the stamps' error
bounds over time, the frames stamped while the host was not tied to the reference, and seeds/000's test that
stamps never go backwards."""

from __future__ import annotations

import itertools

import numpy as np

from rigsync.catalog import get_model
from rigsync.core.frame import ClockDomain
from rigsync.verify._judge import against, series, skipped
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.load import StampData, StreamStamps
from rigsync.verify.result import Check, Plot, Series, Status

MIN_FIT_FRAMES = 10
"""A drift is fitted over at least this many locked frames of one connection."""
STABILITY_SPANS = 4
"""Drift stability: the drift fitted over up to this many equal spans of the recording, max minus min."""
MIN_SPAN_S = 5.0
"""Each span at least this long: a slope over 5 s of stamps a few microseconds noisy is good to ~0.3 ppm (over
0.5 s it would be ~10 ppm, and the spans' scatter would be the stamps' noise, not the clock's)."""
BAD_FLAGS = ("host_unsynced", "ptp_unlocked", "ptp_error")
"""Time flags of a frame whose host was not tied to the reference as the group needs (docs/recording.md)."""


def _clock_stream(streams: list[StreamStamps]) -> StreamStamps | None:
    """The device stream with the most locked frames (its streams share the device clock)."""
    best = max(streams, key=lambda s: int(s.locked.sum()), default=None)
    return best if best is not None and best.locked.sum() >= MIN_FIT_FRAMES else None


def _segments(s: StreamStamps) -> list[np.ndarray]:
    """Indices of the locked frames of each connection (a reconnect restarts the device clock)."""
    cut = np.flatnonzero((np.diff(s.device_ts_ns) < 0) | (s.after_reconnect[1:] & ~s.after_reconnect[:-1])) + 1
    return [seg[s.locked[seg]] for seg in np.split(np.arange(len(s.seq)), cut)]


def _fit_ppm(s: StreamStamps, idx: np.ndarray) -> float:
    """Device clock frequency against rig time over the frames ``idx``: (d device_ts / d rig time - 1), ppm."""
    rig = (s.rig_time_ns[idx] - s.rig_time_ns[idx[0]]).astype(np.float64)
    dev = (s.device_ts_ns[idx] - s.device_ts_ns[idx[0]]).astype(np.float64)
    slope = np.polyfit(rig, dev - rig, 1)[0]
    return float(slope) * 1e6


def drift_checks(data: StampData, limits: VerifyLimits) -> tuple[list[Check], list[Plot]]:
    """DRIFT and DRIFT-STABILITY per device; the drift plot (drift fitted per span, per device)."""
    checks: list[Check] = []
    lines: list[Series] = []
    method = ("least-squares slope of the device timestamp against the rig-time stamp over the locked frames of "
              "one connection (the device stream with most of them), minus 1, in ppm; a reconnect starts a new fit")
    span_method = (f"the same slope over up to {STABILITY_SPANS} equal spans of the locked frames, each at least "
                   f"{MIN_SPAN_S:g} s: max minus min")
    for device in _devices(data):
        lim = limits.device(device)
        if get_model(data.plan.rig.device(device).model).clock.domain is ClockDomain.HOST:
            why = "no clock of its own: its timestamps are taken on its host's clock"
            checks += [skipped("DRIFT", "clock drift", device, "ppm", why, method),
                       skipped("DRIFT-STABILITY", "clock drift stability", device, "ppm", why, span_method)]
            continue
        s = _clock_stream([x for x in data.streams.values() if x.device == device])
        segs = [] if s is None else [seg for seg in _segments(s) if len(seg) >= MIN_FIT_FRAMES]
        if s is None or not segs:
            why = f"fewer than {MIN_FIT_FRAMES} locked frames of one connection"
            checks += [skipped("DRIFT", "clock drift", device, "ppm", why, method),
                       skipped("DRIFT-STABILITY", "clock drift stability", device, "ppm", why, span_method)]
            continue
        weights = np.array([len(seg) for seg in segs], dtype=np.float64)
        ppm = float(np.average([_fit_ppm(s, seg) for seg in segs], weights=weights))
        checks.append(against("DRIFT", "clock drift", device, abs(ppm), lim.max_drift_ppm, "ppm",
                              f"{ppm:+,.2f} ppm against rig time ({s.stream}, {int(weights.sum())} frames)", method,
                              [device]))
        spans = _span_drifts(data, s, segs)
        if len(spans) < 2:
            checks.append(skipped("DRIFT-STABILITY", "clock drift stability", device, "ppm",
                                  f"fewer than two spans of {MIN_SPAN_S:g} s with {MIN_FIT_FRAMES} locked frames",
                                  span_method))
            mid = float(data.seconds(int(np.mean(s.rig_time_ns[np.concatenate(segs)]))))
            lines.append(Series(device, (round(mid, 3),), (round(ppm, 4),)))  # the whole recording's fit
            continue
        x, y = zip(*spans, strict=True)
        change = max(y) - min(y)
        checks.append(against("DRIFT-STABILITY", "clock drift stability", device, change, lim.max_drift_change_ppm,
                              "ppm", f"drift from {min(y):+,.2f} to {max(y):+,.2f} ppm over {len(y)} spans",
                              span_method, [device]))
        lines.append(Series(device, tuple(x), tuple(round(v, 4) for v in y)))
    plots = [Plot("drift", "Device clock drift against rig time", "line", "time (s)", "drift (ppm)", tuple(lines),
                  f"{span_method} (a recording too short for two spans: its one fit, at its middle)")] if lines else []
    return checks, plots


def _span_drifts(data: StampData, s: StreamStamps, segs: list[np.ndarray]) -> list[tuple[float, float]]:
    idx = np.concatenate(segs)
    t = s.rig_time_ns[idx]
    spans = min(STABILITY_SPANS, int((t[-1] - t[0]) / 1e9 // MIN_SPAN_S))
    if spans < 2:
        return []
    edges = np.linspace(t[0], t[-1], spans + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        for seg in segs:
            part = seg[(s.rig_time_ns[seg] >= lo) & (s.rig_time_ns[seg] <= hi)]
            if len(part) >= MIN_FIT_FRAMES:
                mid = float(data.seconds(int(s.rig_time_ns[part].mean())))
                out.append((round(mid, 3), _fit_ppm(s, part)))
                break
    return out


def _devices(data: StampData) -> list[str]:
    return list(dict.fromkeys(s.device for s in data.streams.values() if len(s.seq)))


def bound_checks(data: StampData, limits: VerifyLimits) -> tuple[list[Check], list[Plot]]:
    """BOUND per device: the largest error bound of a locked frame against ``max_bound_us``; CLOCK-SYNC per device:
    frames stamped while their host had no tie to the reference (fail) or was beyond the PTP warning level (warn).
    Plot: bounds over time."""
    checks: list[Check] = []
    lines: list[Series] = []
    method = "the largest error_bound_ns of the device's locked frames (frames still acquiring their clock are " \
             "counted apart)"
    flag_method = "frames whose time_flags hold host_unsynced, ptp_unlocked or ptp_error (fail), ptp_warn (warn)"
    for device in _devices(data):
        lim = limits.device(device)
        streams = [x for x in data.streams.values() if x.device == device and len(x.seq)]
        bounds = np.concatenate([x.error_bound_ns[x.locked] for x in streams])
        unlocked = sum(int((~x.locked).sum()) for x in streams)
        total = sum(len(x.seq) for x in streams)
        if len(bounds):
            worst = float(bounds.max()) / 1e3
            checks.append(against("BOUND", "clock error bound", device, worst, lim.max_bound_us, "us",
                                  f"max {worst:,.1f} us, p50 {float(np.median(bounds)) / 1e3:,.1f} us; {unlocked} of "
                                  f"{total} frames not locked", method, [device]))
        else:
            checks.append(skipped("BOUND", "clock error bound", device, "us", "no locked frame", method))
        s = streams[0]
        lines.append(series(s.key, data.seconds(s.rig_time_ns), s.error_bound_ns / 1e3))
        checks.append(_flags_check(device, streams, total, flag_method))
    plots = [Plot("bounds", "Clock error bounds over time", "line", "time (s)", "error bound (us)", tuple(lines),
                  "each frame's error_bound_ns (the first stream of each device)")] if lines else []
    return checks, plots


def _flags_check(device: str, streams: list[StreamStamps], total: int, method: str) -> Check:
    counts = {f: sum(int(x.time_flags[f].sum()) for x in streams) for f in (*BAD_FLAGS, "ptp_warn")}
    bad = sum(counts[f] for f in BAD_FLAGS)
    found = ", ".join(f"{f} {n}" for f, n in counts.items() if n)
    if bad:
        return Check("CLOCK-SYNC", "tied to the reference", device, Status.FAIL, bad, 0.0, "frames",
                     f"{bad} of {total} frames stamped without a tie to the reference ({found})", method, (device,))
    if counts["ptp_warn"]:
        return Check("CLOCK-SYNC", "tied to the reference", device, Status.WARN, counts["ptp_warn"], 0.0, "frames",
                     f"{found} of {total} frames", method, (device,))
    return Check("CLOCK-SYNC", "tied to the reference", device, Status.PASS, 0, 0.0, "frames",
                 f"all {total} frames stamped with their host tied to the reference", method)


def monotonic_check(data: StampData) -> Check:
    """SEEDS-000: no stream's stamps go backwards, as seeds/000's IMAGE timestamps must not across a clock step."""
    method = "per stream, consecutive frames (file order) whose rig-time stamp is not later than the previous one"
    back = {s.key: int((np.diff(s.rig_time_ns) <= 0).sum()) for s in data.streams.values() if len(s.seq) > 1}
    if not back:
        return skipped("SEEDS-000", "stamps never go backwards", "rig", "frames", "no stream has two frames", method)
    bad = {k: n for k, n in back.items() if n}
    detail = ("every stream's stamps increase" if not bad else
              "backwards: " + ", ".join(f"{k} {n}" for k, n in sorted(bad.items())))
    return against("SEEDS-000", "stamps never go backwards", "rig", sum(bad.values()), 0, "frames", detail, method,
                   [k.split("/")[0] for k in bad])

