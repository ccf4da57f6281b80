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


def _levels(data: StampData, host: str) -> tuple[int, int, str]:
    """(warn ns, error ns, group) of the PTP group the host's clock serves."""
    rig = data.plan.rig
    for g in rig.sync_groups:
        if g.method is not SyncMethod.PTP:
            continue
        hosts = {rig.device(m.device).host for m in g.members} | set(g.ptp.hosts if g.ptp else ())
        if g.ptp is not None and g.ptp.grandmaster != "external":
            hosts.add(g.ptp.grandmaster)
        if host in hosts:
            ptp = g.ptp or PtpSpec()
            return ptp.offset_warn_ns, ptp.offset_error_ns, g.name
    d = PtpSpec()
    return d.offset_warn_ns, d.offset_error_ns, ""


def ptp_checks(data: StampData) -> tuple[list[Check], list[Plot]]:
    """PTP-OFFSET per host with PTP samples: fail beyond the group's error level, warn beyond its warning level
    or while its port had no master; the offsets plot."""
    checks: list[Check] = []
    lines = []
    method = ("the largest |offsetFromMaster| of the host's PTP samples, against its group's offset_warn_ns and "
              "offset_error_ns; samples whose port was in no locked state counted apart")
    for host, trace in sorted(data.ptp.items()):
        warn, error, group = _levels(data, host)
        has = ~np.isnan(trace.offset_ns)
        unlocked = sum(1 for s in trace.port_state if s not in LOCKED_STATES)
        if not has.any():
            checks.append(skipped("PTP-OFFSET", "PTP offset", f"host {host}", "us",
                                  f"no offset in its {len(trace.rig_ns)} PTP samples (the reference, or never locked)",
                                  method))
            continue
        worst = float(np.abs(trace.offset_ns[has]).max())
        status = Status.FAIL if worst > error else Status.WARN if worst > warn or unlocked else Status.PASS
        detail = (f"max |offset| {worst / 1e3:,.3f} us over {int(has.sum())} samples (levels {warn / 1e3:g} / "
                  f"{error / 1e3:g} us{', group ' + group if group else ''}); {unlocked} samples without a master")
        devices = tuple(d.id for d in data.plan.rig.devices if d.host == host) if status is not Status.PASS else ()
        checks.append(Check("PTP-OFFSET", "PTP offset", f"host {host}", status, round(worst / 1e3, 6), error / 1e3,
                            "us", detail, method, devices))
        lines.append(series(host, data.seconds(trace.rig_ns[has]), trace.offset_ns[has] / 1e3))
    plots = [Plot("ptp-offsets", "PTP offset from master per host", "line", "time (s)", "offset (us)", tuple(lines),
                  "ptp4l offsetFromMaster as recorded on /rigsync/ptp/<host>")] if lines else []
    return checks, plots
