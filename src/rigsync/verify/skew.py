"""Skew between the cameras of each sync group, frame by frame, from the framesets' stamps.

A group's skew in a frameset is the spread of its members' rig times after each member's declared delay is
removed (as ``spread_ns`` is: docs/recording.md). Streams no group syncs, and timestamp-only groups, have no
common trigger: their skew is each member's distance from the frameset's centre, which nearest-frame matching
keeps within half a frame period.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from rigsync.core.sync import SyncMethod
from rigsync.verify._judge import against, names, quantiles_us, series, skipped
from rigsync.verify.limits import FREE_RUNNING, GroupLimits
from rigsync.verify.load import StampData, StreamStamps
from rigsync.verify.result import Check, Plot

TRIGGERED = (SyncMethod.HARDWARE.value, SyncMethod.GENLOCK.value, SyncMethod.PTP.value)


def group_times(data: StampData, streams: list[StreamStamps]) -> np.ndarray:
    """(framesets x streams) member rig time minus declared delay minus the frameset's time, ns; nan where the
    stream is not in the set."""
    table = np.full((len(data.framesets), len(streams)), np.nan)
    for j, s in enumerate(streams):
        idx, rig_ns, _ = data.framesets.members.get(s.key, (np.array([], dtype=np.int64),) * 3)
        table[idx, j] = (rig_ns - data.framesets.rig_time_ns[idx] - s.offset_ns).astype(np.float64)
    return table


def _skews(table: np.ndarray, triggered: bool, source: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(set indices measured, skew ns, column of the member farthest off) per frameset. Between members equally
    far off (two members always are), the one that is not the group's trigger source (``source``: bool per
    column) is named: its frames follow the source's, not the other way round."""
    present = (~np.isnan(table)).sum(axis=1)
    rows = np.flatnonzero(present >= (2 if triggered else 1))
    t = table[rows]
    if triggered:
        skew = np.nanmax(t, axis=1) - np.nanmin(t, axis=1)
        off = np.abs(t - np.nanmedian(t, axis=1, keepdims=True)) - 0.5 * source
    else:
        off = np.abs(t)
        skew = np.nanmax(off, axis=1)
    worst = np.nanargmax(np.where(np.isnan(off), -1.0, off), axis=1) if len(rows) else np.array([], dtype=np.int64)
    return rows, skew, worst


def skew_checks(data: StampData, limits: GroupLimits) -> tuple[list[Check], list[Plot]]:
    """SKEW of one group: p50/p99/max against ``max_skew_us``; a failure names the devices farthest off in the
    framesets over the limit. Plots: its histogram and its course over time."""
    group = limits.group
    subject = "free-running streams" if group == FREE_RUNNING else f"group {group}"
    streams = data.group_streams(group)
    triggered = limits.method in TRIGGERED
    how = ("spread of the group's member stamps in each frameset, each minus its declared delay" if triggered else
           "each member's distance from its frameset's centre (no common trigger: nearest-frame matching)")
    method = f"{how}; p50/p99/max over the framesets holding {'two or more' if triggered else 'any'} of them"
    if not streams:
        return [], []
    src = data.plan.group(group).source if group != FREE_RUNNING else None
    rows, skew, worst = _skews(group_times(data, streams), triggered, np.array([s.device == src for s in streams]))
    if not len(rows):
        return [skipped("SKEW", "inter-camera skew", subject, "us",
                        "no frameset holds two of the group's streams" if triggered else "no frameset holds them",
                        method)], []
    p50, p99, top = quantiles_us(skew)
    over = skew > limits.max_skew_us * 1e3
    blamed = Counter(streams[j].device for j in worst[over])
    detail = f"p50 {p50:,.1f} us, p99 {p99:,.1f} us, max {top:,.1f} us over {len(rows)} framesets"
    if blamed:
        detail += f"; {int(over.sum())} over {limits.max_skew_us:g} us, farthest off: " + ", ".join(
            f"{d} ({n})" for d, n in blamed.most_common())
    check = against("SKEW", "inter-camera skew", subject, top, limits.max_skew_us, "us", detail, method, blamed)
    seconds = data.seconds(data.framesets.rig_time_ns[rows])
    key = "free" if group == FREE_RUNNING else group
    plots = [
        Plot(f"skew-histogram-{key}", f"Skew, {subject}", "histogram", "skew (us)", "framesets",
             (series(subject, np.array([]), skew / 1e3),), method),
        Plot(f"skew-over-time-{key}", f"Skew over time, {subject}", "points", "time (s)", "skew (us)",
             (series(subject, seconds, skew / 1e3),), method),
    ]
    return [check], plots


def frame_number_check(data: StampData, limits: GroupLimits) -> list[Check]:
    """FRAME-NUMBER: in a triggered group whose streams all take one frame per trigger, the frames of one
    frameset keep one frame-number difference throughout (seeds/003: "frames aligned by frame number", with every
    camera at the same frame rate). A stream that skipped or added exposures (a lost trigger, a camera firing on
    its own) changes its difference: it is named."""
    method = ("per stream, its frame number minus the reference stream's in each frameset holding both; the sets "
              "where that difference is not the stream's usual one (seeds/003)")
    subject = f"group {limits.group}"
    streams = [s for s in data.group_streams(limits.group) if len(s.seq)]
    if limits.method not in TRIGGERED or limits.group == FREE_RUNNING:
        return []
    if len(streams) < 2:
        return [skipped("FRAME-NUMBER", "frame numbers aligned", subject, "framesets", "fewer than two streams "
                        "recorded", method)]
    if not data.one_per_trigger(limits.group):
        return [skipped("FRAME-NUMBER", "frame numbers aligned", subject, "framesets", "its streams do not all take "
                        "one frame per trigger at one rate (bursts, several rates or random triggers): frame numbers "
                        "cannot align",
                        method)]
    fs = data.framesets
    seqs = np.full((len(fs), len(streams)), -1, dtype=np.int64)
    for j, s in enumerate(streams):
        idx, _, seq = fs.members.get(s.key, (np.array([], dtype=np.int64),) * 3)
        seqs[idx, j] = seq
    ref = int(np.argmax((seqs >= 0).sum(axis=0)))
    bad: dict[int, int] = {}
    for j in range(len(streams)):
        both = (seqs[:, j] >= 0) & (seqs[:, ref] >= 0)
        if j == ref or not both.any():
            continue
        diff = seqs[both, j] - seqs[both, ref]
        _values, counts = np.unique(diff, return_counts=True)
        bad[j] = int(len(diff) - counts.max())
    off = {j for j, n in bad.items() if n}
    if len(off) == len(bad) > 1:  # every other stream disagrees with the reference: the reference moved
        off = {ref}
    count = max(bad.values(), default=0)
    devices = [streams[j].device for j in off]
    detail = ("every frameset's frames keep one frame-number difference" if not off else
              f"{count} framesets off the usual frame-number difference, streams " + names(streams[j].key for j in off))
    return [against("FRAME-NUMBER", "frame numbers aligned", subject, count, 0, "framesets", detail, method, devices)]


def primary_secondary_check(data: StampData, limits: GroupLimits) -> list[Check]:
    """SEEDS-002: an Orbbec group's secondaries against its primary, set by set (seeds/002: "We use the timestamps
    of the Primary and Secondary ... to determine if they are synchronized")."""
    plan = data.plan
    members = [plan.device(d) for d in plan.group(limits.group).members] if limits.group != FREE_RUNNING else []
    primary = next((m.device_id for m in members if m.vendor_role == "PRIMARY"), None)
    secondaries = {m.device_id for m in members if m.vendor_role.startswith("SECONDARY")}
    if primary is None or not secondaries:
        return []
    method = ("per frameset, each SECONDARY stream's stamp minus the PRIMARY's stream of the same kind, declared "
              "delays removed (seeds/002's printed-timestamp comparison)")
    streams = data.group_streams(limits.group)
    table = group_times(data, streams)
    worst: dict[str, float] = {}
    for j, s in enumerate(streams):
        if s.device not in secondaries:
            continue
        p = next((k for k, q in enumerate(streams) if q.device == primary and q.stream == s.stream), None)
        if p is None:
            continue
        d = np.abs(table[:, j] - table[:, p])
        d = d[~np.isnan(d)]
        if len(d):
            worst[s.device] = max(worst.get(s.device, 0.0), float(d.max()) / 1e3)
    subject = f"group {limits.group}"
    if not worst:
        return [skipped("SEEDS-002", "primary vs secondary timestamps", subject, "us",
                        "no frameset holds the primary's and a secondary's stream of one kind", method)]
    top = max(worst.values())
    over = [d for d, v in worst.items() if v > limits.max_skew_us]
    detail = f"{primary} (PRIMARY) vs " + ", ".join(f"{d} {v:,.1f} us" for d, v in sorted(worst.items()))
    return [against("SEEDS-002", "primary vs secondary timestamps", subject, top, limits.max_skew_us, "us", detail,
                    method, over)]
