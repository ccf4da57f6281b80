"""``nic-speed``: each interface GigE Vision cameras stream to is up, at the speed the rig file plans for it
(``speed_gbps``) and fast enough for its cameras (the plan's ``nic`` budget, at most 90% of the line rate:
rigsync.plan.budgets). A link that negotiated less (a Cat5e cable on 10GBASE-T, a 1 G switch port) is what
this catches: fail when the cameras' data does not fit, warn when it fits but the link is slower than planned."""

from __future__ import annotations

from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.nic_gige import GigeNic, gige_nics
from rigsync.hostcheck.nic_read import read_link, read_speed
from rigsync.plan.budgets import NIC_USABLE

ITEM = "nic-speed"
ANCHOR = "#nic-speed"
DOWN = frozenset({"DOWN", "LOWERLAYERDOWN", "NOTPRESENT"})
"""``operstate`` values of a link that carries nothing (RFC 2863; UNKNOWN is what some drivers always report)."""


def need_mbps(nic: GigeNic) -> float:
    """The line rate the cameras' data needs, Mb/s."""
    return nic.data_mb_s * 8 / NIC_USABLE


def _one(ctx: HostContext, nic: GigeNic) -> Finding:
    planned = None if nic.planned_gbps is None else round(nic.planned_gbps * 1000)
    need = need_mbps(nic)
    wanted = (f"{'>= ' + str(planned) + ' Mb/s as planned, and ' if planned else ''}>= {need:.0f} Mb/s for "
              f"{nic.ids} ({nic.data_mb_s:.0f} MB/s at {NIC_USABLE:.0%} of the line rate)")
    read = read_link(ctx.probe, nic.name)
    if read.missing:
        return ctx.finding(ITEM, Status.SKIP, f"no interface {nic.name} on this host (see nic-mtu)", wanted,
                           subject=nic.name, anchor=ANCHOR)
    if read.link is not None and read.link.operstate in DOWN:
        return ctx.finding(ITEM, Status.FAIL, f"link {read.link.operstate} ({read.source})", wanted,
                           f"sudo ip link set dev {nic.name} up; if it stays down (NO-CARRIER in ip link show dev "
                           f"{nic.name}): check the cable, the switch port and the cameras' power", subject=nic.name,
                           anchor=ANCHOR)
    speed = read_speed(ctx.probe, nic.name)
    if speed.mbps is None:
        return ctx.finding(ITEM, Status.SKIP, f"no link speed: {speed.why} ({speed.source})", wanted,
                           subject=nic.name, anchor=ANCHOR)
    seen = f"{speed.mbps} Mb/s ({speed.source})"
    fix = (f"connect {nic.name} at {planned or round(need)} Mb/s or more: a cable of the right category, the right "
           f"transceiver and switch port (ethtool {nic.name} shows what was negotiated); or lower the cameras' frame "
           "rate, resolution or pixel format in the rig file")
    if speed.mbps < need:
        return ctx.finding(ITEM, Status.FAIL, seen + ": the cameras' data does not fit", wanted, fix,
                           subject=nic.name, anchor=ANCHOR)
    if planned is not None and speed.mbps < planned:
        return ctx.finding(ITEM, Status.WARN, seen + ": slower than planned (the cameras' data still fits)", wanted,
                           fix, subject=nic.name, anchor=ANCHOR)
    return ctx.finding(ITEM, Status.PASS, seen, wanted, subject=nic.name, anchor=ANCHOR)


def check(ctx: HostContext) -> list[Finding]:
    return [_one(ctx, nic) for nic in gige_nics(ctx)]
