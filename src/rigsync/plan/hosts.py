"""Host set-up: kernel USB memory, the ZED Link driver, and each host's PTP role and timestamping."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.ptp import HostRole, PtpMode
from rigsync.core.sync import LinkKind, SyncMethod
from rigsync.plan.budgets import USBFS_DEFAULT_MB
from rigsync.plan.index import RigIndex
from rigsync.plan.model import HostSetup, Plan
from rigsync.spec.model import Nic, NicKind, RigSpec
from rigsync.spec.sync import SyncGroupSpec


def ptp_nics(rig: RigSpec, idx: RigIndex) -> dict[str, Nic | None]:
    """Host name -> the interface it runs PTP on: the one its PTP cameras use, else its first Ethernet
    interface (else its first interface, or None)."""
    camera: dict[str, Nic] = {}
    for g in rig.sync_groups:
        if g.method is not SyncMethod.PTP:
            continue
        for m in g.members:
            d = idx.devices[m.device]
            host = idx.hosts.get(d.host)
            if host is not None and d.host not in camera and d.connection.kind is LinkKind.ETHERNET:
                n = host.nic(d.connection.bus)
                if n is not None:
                    camera[d.host] = n
    out: dict[str, Nic | None] = {}
    for host in rig.hosts:
        wired = [n for n in host.nics if n.kind is NicKind.ETHERNET]
        out[host.name] = camera.get(host.name) or (wired[0] if wired else (host.nics[0] if host.nics else None))
    return out


def ptp_hosts(rig: RigSpec, idx: RigIndex) -> dict[str, str]:
    """Host name -> ``grandmaster`` or ``slave`` for every host in a PTP group."""
    roles: dict[str, str] = {}
    for g in rig.sync_groups:
        if g.method is not SyncMethod.PTP:
            continue
        gm = g.ptp.grandmaster if g.ptp is not None else "external"
        for host in [idx.devices[m.device].host for m in g.members] + list(g.ptp.hosts if g.ptp else ()):
            roles.setdefault(host, "grandmaster" if host == gm else "slave")
        if gm in idx.hosts:
            roles[gm] = "grandmaster"
    return roles


def ptp_groups_of_hosts(rig: RigSpec, idx: RigIndex) -> dict[str, SyncGroupSpec]:
    """Host name -> the (first) PTP group it takes part in (as a member's host or as the grandmaster)."""
    out: dict[str, SyncGroupSpec] = {}
    for g in rig.sync_groups:
        if g.method is not SyncMethod.PTP:
            continue
        hosts = [idx.devices[m.device].host for m in g.members]
        if g.ptp is not None:
            hosts += [g.ptp.grandmaster, *g.ptp.hosts]
        for host in hosts:
            out.setdefault(host, g)
    return out


def clock_role(rig: RigSpec, host: str, ptp_role: str | None, has_ptp_reference: bool) -> HostRole:
    """Reference (the grandmaster host; the first host of a rig without a PTP reference), PTP slave, or unsynced."""
    if ptp_role == "grandmaster":
        return HostRole.REFERENCE
    if ptp_role == "slave":
        return HostRole.PTP
    if not has_ptp_reference and host == rig.primary_host.name:
        return HostRole.REFERENCE
    return HostRole.UNSYNCED


def setup(plan: Plan) -> tuple[HostSetup, ...]:
    rig, idx = plan.rig, plan.index
    out = []
    roles = ptp_hosts(rig, idx)
    nics = ptp_nics(rig, idx)
    groups = ptp_groups_of_hosts(rig, idx)
    has_ptp_reference = any(g.method is SyncMethod.PTP for g in rig.sync_groups)
    for host in rig.hosts:
        devs = idx.on_host.get(host.name, ())
        steps: list[str] = []
        usbfs = sum(get_model(d.model).usb_memory_mb for d in devs)
        if usbfs > USBFS_DEFAULT_MB:
            steps.append(f"Linux: add usbcore.usbfs_memory_mb={max(usbfs, 32)} to GRUB_CMDLINE_LINUX_DEFAULT in "
                         "/etc/default/grub, run update-grub and reboot (the 16 MB default suits one device; "
                         "seeds/001)")
        if any(d.connection.kind is LinkKind.GMSL for d in devs):
            steps.append("install the ZED Link driver on the Jetson before opening GMSL2 cameras (seeds/000)")
        if any(get_model(d.model).vendor is Vendor.ORBBEC and plan.device(d.id).group for d in devs):
            steps.append("Orbbec: re-synchronize device clocks with the host periodically: "
                         "ctx.enable_multi_device_sync(60000) (seeds/002)")
        role = roles.get(host.name)
        nic = nics[host.name] if role else None
        stamping = nic.timestamping.value if nic is not None else None
        if role == "grandmaster":
            steps.append("PTP grandmaster: keep NTP on (the only host that does) so the rig follows world time "
                         "(seeds/000)")
        elif role == "slave":
            steps.append("PTP slave: turn NTP off (timedatectl set-ntp false); ptp4l" +
                         (" + phc2sys -O 0 (hardware timestamping)" if stamping == "hardware" else " -S") +
                         " (seeds/000)")
        group = groups.get(host.name)
        mode = (host.ptp_mode or (group.ptp.mode if group is not None and group.ptp else PtpMode.DISCIPLINE)
                if role is not None else None)
        if mode is PtpMode.OBSERVE and stamping == "hardware":
            # Hardware timestamps would measure the NIC's clock, which nothing ties to the free system clock.
            stamping = "software"
            steps.append("PTP observe mode: ptp4l runs free_running with software timestamping (-S), so the offset "
                         "it measures is the system clock's; this host's clock is never adjusted")
        out.append(HostSetup(host=host.name, steps=tuple(steps), ptp_role=role,
                             ptp_interface=nic.name if nic is not None else None, timestamping=stamping,
                             clock_role=clock_role(rig, host.name, role, has_ptp_reference), ptp_mode=mode,
                             ptp_group=group.name if group is not None else None))
    return tuple(out)
