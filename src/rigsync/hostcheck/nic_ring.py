"""``nic-ring``: the receive descriptor ring of each interface GigE Vision cameras stream to, at the NIC's maximum
(``ethtool -g``). The ring holds the packets the NIC received until the kernel takes them; a small one overflows
when the CPU is late, and the NIC drops packets (GVSP resends, or a corrupt frame).

Source: GigE Vision vendors ask for the largest ring the NIC offers - Imperx Cheetah 10 GigE manual ("Receive
Buffers ... For maximum performance, set these parameters as high as possible"; the default, usually 256, "leads to
dropped packets"), Teledyne DALSA GigE-V Framework (``gev_nettweak`` raises "the number of receive buffers available
to the NIC driver" with ethtool), Basler pylon GigE Configurator ("Receive Buffers ... set to the maximum possible
value"), rigsync's docs/hardware.md (``ethtool -G <if> rx 4096``). The seed (seeds/003) gives no value. A ring below
the maximum warns (the cameras may still stream cleanly on an idle host).
"""

from __future__ import annotations

from rigsync.hostcheck import nic_persist
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.nic_gige import GigeNic, gige_nics
from rigsync.hostcheck.nic_read import ethtool_argv, first_line, parse_rings, read_link

ITEM = "nic-ring"
ANCHOR = "#nic-ring"


def _one(ctx: HostContext, nic: GigeNic) -> Finding:
    wanted = f"receive ring at the NIC's maximum ({nic.ids} stream to it)"
    argv = ethtool_argv(nic.name, "-g")
    cmd = " ".join(argv)
    if read_link(ctx.probe, nic.name).missing:
        return ctx.finding(ITEM, Status.SKIP, f"no interface {nic.name} on this host (see nic-mtu)", wanted,
                           subject=nic.name, anchor=ANCHOR)
    ran = ctx.probe.run(argv)
    if ran is None:
        return ctx.finding(ITEM, Status.WARN, "ethtool is not installed", wanted, "sudo apt install ethtool",
                           subject=nic.name, anchor=ANCHOR)
    if not ran.ok:
        return ctx.finding(ITEM, Status.SKIP, f"{first_line(ran)} ({cmd}): the driver has no ring settings to read "
                           "(a virtual NIC such as veth)", wanted, subject=nic.name, anchor=ANCHOR)
    rings = parse_rings(ran.stdout)
    if rings is None:
        return ctx.finding(ITEM, Status.WARN, f"unexpected output of {cmd}: {ran.stdout.strip()[:80]!r}", wanted,
                           f"read it by hand ({cmd}) and report the output as a rigsync bug", subject=nic.name,
                           anchor=ANCHOR)
    if rings.rx is None or rings.rx_max is None:
        return ctx.finding(ITEM, Status.SKIP, f"RX ring n/a ({cmd}): the driver reports no receive ring size",
                           wanted, subject=nic.name, anchor=ANCHOR)
    seen = f"RX {rings.rx} of at most {rings.rx_max} ({cmd})"
    if rings.rx >= rings.rx_max:
        return ctx.finding(ITEM, Status.PASS, seen, wanted, subject=nic.name, anchor=ANCHOR)
    link = read_link(ctx.probe, nic.name).link
    fix = (f"sudo ethtool -G {nic.name} rx {rings.rx_max} (now, until reboot); to keep it: "
           f"{nic_persist.rx_ring(ctx.probe, nic.name, rings.rx_max, link.mac if link else None)}")
    return ctx.finding(ITEM, Status.WARN, seen, wanted, fix, subject=nic.name, anchor=ANCHOR)


def check(ctx: HostContext) -> list[Finding]:
    return [_one(ctx, nic) for nic in gige_nics(ctx)]
