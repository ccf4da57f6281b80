"""Shared resources and what the rig puts on them: USB controllers, NICs, GMSL2 cards, GPU and usbfs memory."""

from __future__ import annotations

from collections import defaultdict

from rigsync.catalog import get_model
from rigsync.core.sync import LinkKind
from rigsync.plan.index import RigIndex
from rigsync.plan.model import Budget
from rigsync.spec.model import DeviceSpec, RigSpec

USBFS_DEFAULT_MB = 16
"""Linux allocates usbfs 16 MB by default: "typically enough to support a single Azure Kinect DK" (seeds/001)."""
NIC_USABLE = 0.9
"""The share of a NIC's line rate the plan lets its cameras use."""


def device_link_mb_s(device: DeviceSpec) -> float:
    """Data the device puts on its link, MB/s (host-computed streams such as ZED depth cost nothing)."""
    model = get_model(device.model)
    return sum(model.link_bytes_per_s(s.kind, s.width, s.height, s.pixel_format, s.fps) for s in device.streams) / 1e6


def compute(rig: RigSpec, idx: RigIndex) -> tuple[Budget, ...]:
    out: list[Budget] = []
    usb: dict[tuple[str, str], list[DeviceSpec]] = defaultdict(list)
    nic: dict[tuple[str, str], list[DeviceSpec]] = defaultdict(list)
    card: dict[tuple[str, str], list[DeviceSpec]] = defaultdict(list)
    for d in rig.devices:
        {LinkKind.USB: usb, LinkKind.ETHERNET: nic, LinkKind.GMSL: card}[d.connection.kind][
            (d.host, d.connection.bus)].append(d)
    for (host, ctrl), devs in usb.items():
        capacity = idx.hosts[host].usb_controller(ctrl).capacity_mb_s
        out.append(Budget("usb", host, ctrl, sum(device_link_mb_s(d) for d in devs), capacity, "MB/s",
                          tuple(d.id for d in devs)))
    for (host, name), devs in nic.items():
        n = idx.hosts[host].nic(name)
        nic_capacity = n.speed_gbps * 1e9 / 8 / 1e6 * NIC_USABLE if n is not None else None
        out.append(Budget("nic", host, name, sum(device_link_mb_s(d) for d in devs), nic_capacity, "MB/s",
                          tuple(d.id for d in devs)))
    for (host, name), devs in card.items():
        c = idx.hosts[host].capture_card(name)
        out.append(Budget("gmsl-card", host, name, len({d.connection.port for d in devs}) if c else len(devs),
                          c.capacity if c else None, "cameras", tuple(d.id for d in devs)))
    for host_spec in rig.hosts:
        on_host = idx.on_host.get(host_spec.name, ())
        gpu = [d for d in on_host if get_model(d.model).gpu_memory_mb and any(
            s.kind in get_model(d.model).host_computed for s in d.streams)]
        if gpu:
            used = sum(get_model(d.model).gpu_memory_mb for d in gpu)
            out.append(Budget("gpu-memory", host_spec.name, "GPU", used, host_spec.gpu_memory_mb, "MB",
                              tuple(d.id for d in gpu)))
        libusb = [d for d in on_host if get_model(d.model).usb_memory_mb]
        if libusb:
            used = sum(get_model(d.model).usb_memory_mb for d in libusb)
            out.append(Budget("usbfs-memory", host_spec.name, "usbcore.usbfs_memory_mb", used, USBFS_DEFAULT_MB, "MB",
                              tuple(d.id for d in libusb)))
    return tuple(out)
