"""Stamp-based verification: what a recording's own stamps, framesets, clocks and PTP samples show, per sync
group and device, against the rig's ``[verify]`` limits. Every figure's computation is said in its check's
``method``; what the recording holds nothing to measure on is a skip, never a pass."""

from __future__ import annotations

import numpy as np

from rigsync.record import Recording
from rigsync.verify.clocks import bound_checks, drift_checks, monotonic_check
from rigsync.verify.drops import drop_checks, rate_checks
from rigsync.verify.limits import FREE_RUNNING, VerifyLimits
from rigsync.verify.load import StampData, load_stamps
from rigsync.verify.ptp import ptp_checks
from rigsync.verify.result import Check, Plot, Section
from rigsync.verify.skew import frame_number_check, group_times, primary_secondary_check, skew_checks


def verify_stamps(rec: Recording, limits: VerifyLimits, data: StampData | None = None) -> Section:
    """Check ``rec``'s stamps against ``limits`` (``data``: the stamps already loaded, else read from ``rec``)."""
    data = data if data is not None else load_stamps(rec)
    checks: list[Check] = []
    plots: list[Plot] = []
    for lim in limits.groups:
        if lim.group != FREE_RUNNING:
            c, p = skew_checks(data, lim)
            checks += c + frame_number_check(data, lim) + primary_secondary_check(data, lim)
            plots += p
    free = limits.group(FREE_RUNNING)
    c, p = skew_checks(data, free)
    checks += c
    plots += p
    for part in (drift_checks, bound_checks, drop_checks):
        c, p = part(data, limits)
        checks += c
        plots += p
    checks += rate_checks(data, limits)
    c, p = ptp_checks(data)
    checks += [*c, monotonic_check(data)]
    plots += p
    return Section("stamps", tuple(checks), tuple(plots), _facts(data))


def _facts(data: StampData) -> tuple[tuple[str, str], ...]:
    fs = data.framesets
    facts = [("framesets", f"{len(fs):,}"), ("frames", f"{sum(len(s.seq) for s in data.streams.values()):,}")]
    centres = []
    for g in data.plan.groups:
        streams = data.group_streams(g.name)
        if streams:
            table = group_times(data, streams)
            held = ~np.isnan(table).all(axis=1)
            centre = np.full(len(table), np.nan)
            centre[held] = np.nanmedian(table[held], axis=1)
            centres.append(centre)
    if len(centres) > 1:
        spread = np.array(centres)
        ok = (~np.isnan(spread)).sum(axis=0) >= 2
        if ok.any():
            across = (np.nanmax(spread[:, ok], axis=0) - np.nanmin(spread[:, ok], axis=0)) / 1e3
            p50, p99 = np.percentile(across, [50, 99])
            facts.append(("skew across groups (us)", f"p50 {p50:,.1f}, p99 {p99:,.1f}, max {across.max():,.1f} "
                          "(each group's median stamp per frameset; groups on separate triggers have no common "
                          "phase, so no limit)"))
    return tuple(facts)
