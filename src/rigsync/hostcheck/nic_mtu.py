"""``nic-mtu``: each interface GigE Vision cameras stream to takes their packets - its MTU at least their packet size
(``GevSCPSPacketSize`` counts IP + UDP + GVSP headers; rigsync.hostcheck.nic_gige gives the sources).

A smaller MTU drops every jumbo packet at the NIC: Aravis's test packet then fails and it falls back to packets
that fit (arvgvdevice.c ``auto_packet_size``), about six times as many packets per frame at 1500 as at 9000 - the
CPU load and drop risk the vendors' jumbo-frame advice avoids.

Not checked: the MTU of the path between camera and host (a switch with a smaller MTU). The host's route MTU
(``ip route get <camera>``) governs what the host sends, not what it receives, and the rig file holds no camera
address; Aravis's test packet finds such a switch when the stream starts.
"""

from __future__ import annotations

from rigsync.hostcheck import nic_persist
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.nic_gige import GVSP_HEADER_BYTES, IP_HEADER_BYTES, UDP_HEADER_BYTES, GigeNic, gige_nics
from rigsync.hostcheck.nic_read import read_link

ITEM = "nic-mtu"
ANCHOR = "#nic-mtu"


def set_mtu_command(name: str, mtu: int) -> str:
    return f"sudo ip link set dev {name} mtu {mtu}"


def _one(ctx: HostContext, nic: GigeNic) -> Finding:
    need = nic.mtu_need
    wanted = (f"MTU >= {need} for the GVSP packets of {nic.sizes()} (bytes: {IP_HEADER_BYTES} IP + "
              f"{UDP_HEADER_BYTES} UDP + {GVSP_HEADER_BYTES} GVSP header + image)")
    read = read_link(ctx.probe, nic.name)
    if read.link is None:
        if read.missing:
            return ctx.finding(ITEM, Status.FAIL, f"no interface {nic.name} on this host ({read.why})", wanted,
                               "ip -br link lists this host's interfaces: put the one the cameras are cabled to in "
                               "the rig file ([[hosts]] nics name, and the cameras' connection = \"eth:<name>\")",
                               subject=nic.name, anchor=ANCHOR)
        return ctx.finding(ITEM, Status.WARN, f"could not read {nic.name}: {read.why} ({read.source})", wanted,
                           f"ip link show dev {nic.name} (install iproute2 if ip is missing)", subject=nic.name,
                           anchor=ANCHOR)
    link = read.link
    if link.mtu >= need:
        return ctx.finding(ITEM, Status.PASS, f"MTU {link.mtu} ({read.source})", wanted, subject=nic.name,
                           anchor=ANCHOR)
    over = nic.over(link.mtu)
    seen = f"MTU {link.mtu} ({read.source}) drops the packets of {nic.sizes(over)}"

    def smaller(size: int) -> str:
        return (f"set packet_size = {size} (or less) on {', '.join(d.id for d in over)} in the rig file (more "
                "packets per frame)")

    if link.max_mtu is not None and link.max_mtu < need:
        return ctx.finding(ITEM, Status.FAIL, f"{seen}; the driver takes at most {link.max_mtu}", wanted,
                           f"use a NIC that takes jumbo frames ({need}), or stream smaller packets: "
                           f"{smaller(link.max_mtu)} and {set_mtu_command(nic.name, link.max_mtu)}",
                           subject=nic.name, anchor=ANCHOR)
    fix = (f"{set_mtu_command(nic.name, need)} (now, until reboot); to keep it: "
           f"{nic_persist.mtu(ctx.probe, nic.name, need)}; every switch between the cameras and {nic.name} needs "
           f"jumbo frames too. Or {smaller(link.mtu)}")
    return ctx.finding(ITEM, Status.FAIL, seen, wanted, fix, subject=nic.name, anchor=ANCHOR)


def check(ctx: HostContext) -> list[Finding]:
    return [_one(ctx, nic) for nic in gige_nics(ctx)]
