"""Host set-up: kernel USB memory, the ZED Link driver, and each host's PTP role and timestamping."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.ptp import HostRole, PtpMode
from rigsync.core.sync import LinkKind, SyncMethod
from rigsync.plan.budgets import USBFS_DEFAULT_MB
from rigsync.plan.model import HostSetup, Plan
from rigsync.spec.model import HostSpec, Nic, NicKind, RigSpec
from rigsync.spec.sync import SyncGroupSpec


def ptp_nic(rig: RigSpec, host: HostSpec) -> Nic | None:
    """The interface a host runs PTP on: the one its PTP cameras use, else its first Ethernet interface."""
    for g in rig.sync_groups:
        if g.method is SyncMethod.PTP:
            for m in g.members:
                d = rig.device(m.device)
                if d.host == host.name and d.connection.kind is LinkKind.ETHERNET:
                    n = host.nic(d.connection.bus)
                    if n is not None:
                        return n
    wired = [n for n in host.nics if n.kind is NicKind.ETHERNET]
    return wired[0] if wired else (host.nics[0] if host.nics else None)


def ptp_hosts(rig: RigSpec) -> dict[str, str]:
    """Host name -> ``grandmaster`` or ``slave`` for every host in a PTP group."""
    roles: dict[str, str] = {}
    for g in rig.sync_groups:
        if g.method is not SyncMethod.PTP:
            continue
        gm = g.ptp.grandmaster if g.ptp is not None else "external"
        for host in [rig.device(m.device).host for m in g.members] + list(g.ptp.hosts if g.ptp else ()):
            roles.setdefault(host, "grandmaster" if host == gm else "slave")
        if gm in [h.name for h in rig.hosts]:
            roles[gm] = "grandmaster"
    return roles


def ptp_group_of_host(rig: RigSpec, host: str) -> SyncGroupSpec | None:
    """The PTP group a host takes part in (as a member's host or as the grandmaster)."""
    for g in rig.sync_groups:
        if g.method is SyncMethod.PTP and (any(rig.device(m.device).host == host for m in g.members)
                                           or (g.ptp is not None and host in (g.ptp.grandmaster, *g.ptp.hosts))):
            return g
    return None


def clock_role(rig: RigSpec, host: str, ptp_role: str | None) -> HostRole:
    """Reference (the grandmaster host; the first host of a rig without a PTP reference), PTP slave, or unsynced."""
    if ptp_role == "grandmaster":
        return HostRole.REFERENCE
    if ptp_role == "slave":
        return HostRole.PTP
    has_ptp_reference = any(g.method is SyncMethod.PTP for g in rig.sync_groups)
    if not has_ptp_reference and host == rig.primary_host.name:
        return HostRole.REFERENCE
    return HostRole.UNSYNCED


def setup(rig: RigSpec, plan: Plan) -> tuple[HostSetup, ...]:
    out = []
    roles = ptp_hosts(rig)
    for host in rig.hosts:
        devs = [d for d in rig.devices if d.host == host.name]
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
        nic = ptp_nic(rig, host) if role else None
        stamping = nic.timestamping.value if nic is not None else None
        if role == "grandmaster":
            steps.append("PTP grandmaster: keep NTP on (the only host that does) so the rig follows world time "
                         "(seeds/000)")
        elif role == "slave":
            steps.append("PTP slave: turn NTP off (timedatectl set-ntp false); ptp4l" +
                         (" + phc2sys -O 0 (hardware timestamping)" if stamping == "hardware" else " -S") +
                         " (seeds/000)")
        group = ptp_group_of_host(rig, host.name)
        mode = (host.ptp_mode or (group.ptp.mode if group is not None and group.ptp else PtpMode.DISCIPLINE)
                if role is not None else None)
        if mode is PtpMode.OBSERVE and stamping == "hardware":
            # Hardware timestamps would measure the NIC's clock, which nothing ties to the free system clock.
            stamping = "software"
            steps.append("PTP observe mode: ptp4l runs free_running with software timestamping (-S), so the offset "
                         "it measures is the system clock's; this host's clock is never adjusted")
        out.append(HostSetup(host=host.name, steps=tuple(steps), ptp_role=role,
                             ptp_interface=nic.name if nic is not None else None, timestamping=stamping,
                             clock_role=clock_role(rig, host.name, role), ptp_mode=mode,
                             ptp_group=group.name if group is not None else None))
    return tuple(out)
