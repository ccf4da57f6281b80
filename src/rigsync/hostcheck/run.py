"""Run every host check of one host; the items in the order the docs list them."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from rigsync.hostcheck import (
    disk,
    gmsl,
    gpu,
    nic_mtu,
    nic_ring,
    nic_rmem,
    nic_speed,
    ptp_daemons,
    ptp_link,
    ptp_ntp,
    ptp_offset,
    usb,
    usbfs,
)
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import Probe

if TYPE_CHECKING:
    from rigsync.plan.model import Plan

Check = Callable[[HostContext], list[Finding]]

CHECKS: tuple[tuple[str, Check], ...] = (
    ("usbfs-memory", usbfs.check),
    ("usb-topology", usb.check),
    ("ptp-interface", ptp_link.check_interface),
    ("ptp-timestamping", ptp_link.check_timestamping),
    ("ptp4l", ptp_daemons.check_ptp4l),
    ("phc2sys", ptp_daemons.check_phc2sys),
    ("ntp", ptp_ntp.check),
    ("ptp-offset", ptp_offset.check),
    ("nic-mtu", nic_mtu.check),
    ("nic-rmem", nic_rmem.check),
    ("nic-ring", nic_ring.check),
    ("nic-speed", nic_speed.check),
    ("gmsl2", gmsl.check),
    ("gpu-memory", gpu.check),
    ("disk", disk.check),
)
"""(name, check) in docs order. Each returns its findings (none: nothing on this host concerns it)."""


def check_host(plan: Plan, host: str, probe: Probe, *, out_dir: str = ".", seconds: float = 600.0
               ) -> list[Finding]:
    """Every finding for ``host`` of ``plan``, read through ``probe`` (``out_dir`` made absolute). A check that
    fails unexpectedly becomes a warning naming the item (the others still run)."""
    if host not in plan.index.hosts:
        from rigsync.core.errors import OptionError

        raise OptionError("--host", host, "not a host of the rig", sorted(plan.index.hosts))
    ctx = HostContext(plan, host, probe, out_dir=os.path.abspath(out_dir), seconds=seconds)
    out: list[Finding] = []
    for name, check in CHECKS:
        try:
            out.extend(check(ctx))
        except Exception as exc:  # one broken reading must not hide the other items
            out.append(ctx.finding(name, Status.WARN, f"could not be checked: {type(exc).__name__}: {exc}",
                                   "a reading", "report this as a rigsync bug, with the output of the command "
                                   "it reads"))
    return out
