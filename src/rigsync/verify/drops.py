"""What each device failed to deliver, and how steadily it delivered the rest: frames missing from the framesets
with their reasons, the longest gap, and the stability of its frame intervals."""

from __future__ import annotations

from collections import Counter

import numpy as np

from rigsync.verify._judge import against, skipped
from rigsync.verify.limits import VerifyLimits
from rigsync.verify.load import StampData, StreamStamps
from rigsync.verify.result import Check, Plot, Series

STOPPED = "stopped"
"""A frame the capture's end cut off: not a frame the rig failed to deliver (left out of the figures)."""
UNNAMED = "absent, not named"
"""A frame of a one-frame-per-trigger group's stream absent from a frameset holding the group's other streams,
which the frameset does not name missing (a short silence: the aligner names a silent stream after 2 s)."""


def _held(data: StampData, key: str) -> np.ndarray:
    return data.framesets.members.get(key, (np.array([], dtype=np.int64),) * 3)[0]


def _due(data: StampData, s: StreamStamps) -> tuple[np.ndarray, np.ndarray, int]:
    """(frameset indices where the stream was due, whether it was missing there, how many of those the sets did
    not name), in set order. Due: the sets holding it or naming it missing, and, in a group taking one frame per
    trigger, every set holding another of the group's streams."""
    held = _held(data, s.key)
    named = np.array([i for i, r in data.framesets.missing.get(s.key, []) if r != STOPPED], dtype=np.int64)
    due = np.union1d(held, named)
    if data.one_per_trigger(s.group):
        due = np.union1d(due, np.concatenate([_held(data, o.key) for o in data.group_streams(s.group)]))
    stopped = [i for i, r in data.framesets.missing.get(s.key, []) if r == STOPPED]
    due = np.setdiff1d(due, stopped)
    missing = ~np.isin(due, held)
    return due, missing, int(missing.sum()) - len(named)


def _by_device(data: StampData) -> dict[str, list[StreamStamps]]:
    out: dict[str, list[StreamStamps]] = {}
    for s in data.streams.values():
        out.setdefault(s.device, []).append(s)
    return out


def _longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best


def drop_checks(data: StampData, limits: VerifyLimits) -> tuple[list[Check], list[Plot]]:
    """DROPS (missing from framesets / due, with reasons) and GAP (longest run of sets missing a stream) per
    device; the drops timeline."""
    checks: list[Check] = []
    marks: list[Series] = []
    method = ("framesets missing the device's streams over the framesets each was due in (held, named missing, "
              "or, in a group taking one frame per trigger, holding another of the group's streams), all its streams "
              f"together; reasons as the framesets name them ({UNNAMED!r}: a set of its group without it that names "
              "nothing); the sets cut off by the capture's end ('stopped') are not counted")
    gap_method = "per stream, the longest run of consecutive framesets (of those it was due in) naming it missing"
    for device, streams in _by_device(data).items():
        lim = limits.device(device)
        due = missing = cut = 0
        reasons: Counter[str] = Counter()
        gaps: dict[str, int] = {}
        times = []
        for s in streams:
            idx, gone, unnamed = _due(data, s)
            due += len(idx)
            missing += int(gone.sum())
            reasons.update(r for _, r in data.framesets.missing.get(s.key, []) if r != STOPPED)
            cut += sum(1 for _, r in data.framesets.missing.get(s.key, []) if r == STOPPED)
            if unnamed:
                reasons[UNNAMED] += unnamed
            gaps[s.key] = _longest_run(gone)
            times.append(data.framesets.rig_time_ns[idx[gone]])
        if not due:
            checks += [skipped("DROPS", "frames missing", device, "fraction", "due in no frameset", method),
                       skipped("GAP", "longest gap", device, "frames", "due in no frameset", gap_method)]
            continue
        dropped = Counter[str]()
        for s in streams:
            stat = data.stats.get(s.key)
            if isinstance(stat, dict):
                dropped.update({k: v for k, v in stat.get("dropped", {}).items() if k != "warmup"})
        why = ", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"
        extra = ", ".join(f"{r} {n}" for r, n in dropped.most_common())
        checks.append(against("DROPS", "frames missing", device, missing / due, lim.max_drop_rate, "fraction",
                              f"{missing} of {due} due frames missing ({why})"
                              + (f"; frames in no frameset: {extra}" if extra else "")
                              + (f"; {cut} cut off by the capture's end (not counted)" if cut else ""), method,
                              [device]))
        worst = max(gaps, key=lambda k: gaps[k])
        checks.append(against("GAP", "longest gap", device, gaps[worst], lim.max_gap_frames, "frames",
                              f"{gaps[worst]} consecutive framesets without {worst}", gap_method, [device]))
        at = np.concatenate(times)
        if len(at):
            at.sort()
            marks.append(Series(device, tuple(round(float(x), 4) for x in data.seconds(at)), (0.0,) * len(at)))
    for e in data.events:
        marks.append(Series(f"{e.device} {e.kind}", (round(float(data.seconds(e.rig_ns)), 4),), (1.0,)))
    plots = [Plot("drops", "Missing frames and device events", "events", "time (s)", "device",
                  tuple(marks), "framesets naming a device's stream missing (0), disconnects and reconnects (1)")]
    return checks, plots


def rate_checks(data: StampData, limits: VerifyLimits) -> list[Check]:
    """RATE per device: how far its frame intervals stray from their steady period (at most), between frames the
    device numbered consecutively, so exposures it skipped (a lost trigger) count and announced drops do not."""
    checks: list[Check] = []
    method = ("per stream, the rig-time interval between frames whose frame numbers follow each other, minus the "
              "stream's median such interval; the largest magnitude over the device's streams (p99 in the detail)")
    random = {g.name for g in data.plan.groups if g.random_triggers}
    for device, streams in _by_device(data).items():
        lim = limits.device(device)
        dev: list[np.ndarray] = []
        for s in streams:
            if s.burst > 1 or s.group in random or len(s.seq) < 3:
                continue
            step = (np.diff(s.seq) == 1) & ~s.after_reconnect[1:]
            gaps = np.diff(s.rig_time_ns)[step].astype(np.float64)
            if len(gaps):
                dev.append(np.abs(gaps - np.median(gaps)))
        if not dev:
            checks.append(skipped("RATE", "frame rate stability", device, "us", "no steady stream (bursts, random "
                                  "triggers, or fewer than three frames)", method))
            continue
        allv = np.concatenate(dev)
        p99, top = float(np.percentile(allv, 99)) / 1e3, float(allv.max()) / 1e3
        checks.append(against("RATE", "frame rate stability", device, top, lim.max_rate_jitter_us, "us",
                              f"interval deviation p99 {p99:,.1f} us, max {top:,.1f} us over {len(allv)} intervals",
                              method, [device]))
    return checks
