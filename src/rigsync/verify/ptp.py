"""Each PTP host's offsets from its master over the recording (``/rigsync/ptp/<host>``), against the warning and
error levels of its PTP group (seeds/003: "PTP status and offset monitoring with warning/error levels")."""

from __future__ import annotations

import numpy as np

from rigsync.core.sync import SyncMethod
from rigsync.spec.sync import PtpSpec
from rigsync.verify._judge import series, skipped
from rigsync.verify.load import StampData
from rigsync.verify.result import Check, Plot, Status

LOCKED_STATES = ("SLAVE", "MASTER", "GRAND_MASTER")


SILENT_SYNCS = 3
"""A host whose PTP samples stop for more than this many Sync intervals had no usable PTP then."""


def _levels(data: StampData, host: str) -> tuple[int, int, str, int]:
    """(warn ns, error ns, group, Sync interval ns) of the PTP group the host's clock serves."""
    rig = data.plan.rig
    for g in rig.sync_groups:
        if g.method is not SyncMethod.PTP:
            continue
        hosts = {rig.device(m.device).host for m in g.members} | set(g.ptp.hosts if g.ptp else ())
        if g.ptp is not None and g.ptp.grandmaster != "external":
            hosts.add(g.ptp.grandmaster)
        if host in hosts:
            ptp = g.ptp or PtpSpec()
            return ptp.offset_warn_ns, ptp.offset_error_ns, g.name, ptp.sync_interval_ns
    d = PtpSpec()
    return d.offset_warn_ns, d.offset_error_ns, "", d.sync_interval_ns


def ptp_checks(data: StampData) -> tuple[list[Check], list[Plot]]:
    """PTP-OFFSET per host with PTP samples: fail beyond the group's error level, warn beyond its warning level
    or while its port had no master; the offsets plot."""
    checks: list[Check] = []
    lines = []
    method = ("the largest |offsetFromMaster| of the host's PTP samples, against its group's offset_warn_ns and "
              f"offset_error_ns; samples whose port was in no locked state counted apart; no sample for more than "
              f"{SILENT_SYNCS} Sync intervals (to the last frameset) fails")
    for host, trace in sorted(data.ptp.items()):
        warn, error, group, sync_ns = _levels(data, host)
        has = ~np.isnan(trace.offset_ns)
        unlocked = sum(1 for s in trace.port_state if s not in LOCKED_STATES)
        if not has.any():
            checks.append(skipped("PTP-OFFSET", "PTP offset", f"host {host}", "us",
                                  f"no offset in its {len(trace.rig_ns)} PTP samples (the reference, or never locked)",
                                  method))
            continue
        worst = float(np.abs(trace.offset_ns[has]).max())
        end = int(data.framesets.rig_time_ns[-1]) if len(data.framesets) else int(trace.rig_ns[-1])
        silent_ns = int(np.diff(np.append(trace.rig_ns, max(end, int(trace.rig_ns[-1])))).max())
        silent = silent_ns > SILENT_SYNCS * sync_ns
        status = Status.FAIL if worst > error or silent else Status.WARN if worst > warn or unlocked else Status.PASS
        detail = (f"max |offset| {worst / 1e3:,.3f} us over {int(has.sum())} samples (levels {warn / 1e3:g} / "
                  f"{error / 1e3:g} us{', group ' + group if group else ''}); {unlocked} samples without a master"
                  + (f"; no sample for {silent_ns / 1e9:.1f} s" if silent else ""))
        devices = tuple(d.id for d in data.plan.rig.devices if d.host == host) if status is not Status.PASS else ()
        checks.append(Check("PTP-OFFSET", "PTP offset", f"host {host}", status, round(worst / 1e3, 6), error / 1e3,
                            "us", detail, method, devices))
        lines.append(series(host, data.seconds(trace.rig_ns[has]), trace.offset_ns[has] / 1e3))
    plots = [Plot("ptp-offsets", "PTP offset from master per host", "line", "time (s)", "offset (us)", tuple(lines),
                  "ptp4l offsetFromMaster as recorded on /rigsync/ptp/<host>")] if lines else []
    return checks, plots
