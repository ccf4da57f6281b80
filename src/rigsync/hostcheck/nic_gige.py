"""What a host's GigE Vision cameras ask of the network interfaces they stream to: which interfaces (devices with
``connection = "eth:<nic>"``), the packet size they stream with, the largest frame a stream socket must hold, and
the data each interface carries (the plan's ``nic`` budgets).

Sources (docs/hosts.md, "GigE Vision network interfaces", says which item uses which):

- seeds/003 (Emergent eCapture Pro, PTP frame sync) describes the cameras' synchronization only; it says nothing
  of MTU, socket buffers, NIC rings or interrupt coalescing. Emergent's camera manual ("Hardware Installation",
  login-only, as NVIDIA's Holoscan "Emergent Vision Technologies" setup page says) was not available to us.
- GigE Vision packet size: ``GevSCPSPacketSize`` counts the IP and UDP headers (Aravis ``arvgvdevice.c``
  ``test_packet_check``: a test packet of size S arrives as S - 28 bytes of UDP payload), so an interface takes
  packets of size S only with MTU >= S.
- Jumbo frames for GigE Vision: Aravis ``docs/reference/aravis/ethernet.md`` ("Stream Packet Size": raise the
  adapter MTU to use big packets), Imperx Cheetah 10 GigE manual ("Jumbo Frames": up to 9,000 bytes), Teledyne
  DALSA Shad-o-Scan ("we advise to set the packet size to 9014 bytes"), Labforge ("MTU to at least 9000").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.sync import LinkKind
from rigsync.hostcheck.context import HostContext
from rigsync.spec.model import DeviceSpec

GEV_PACKET_BYTES = 9000
"""The stream packet size (``GevSCPSPacketSize``) assumed for a GigE Vision camera whose rig file leaves
``packet_size`` out: jumbo frames, as 10 GigE area-scan cameras are run (sources above). rigsync's GigE driver then
leaves the camera's own size; Aravis keeps it when a test packet of that size reaches the host, else looks for the
largest that does (``packet-size-adjustment`` default ``on-failure-once``, arvgvdevice.c). With ``packet_size``
the driver sets the camera's ``GevSCPSPacketSize`` to it."""

IP_HEADER_BYTES = 20
UDP_HEADER_BYTES = 8
GVSP_HEADER_BYTES = 8
"""A GVSP packet is IP + UDP + GVSP header + image payload; the MTU counts from the IP header on."""

ARAVIS_SOCKET_OVERHEAD_BYTES = 1024
"""Aravis's socket buffer in its ``auto`` mode: one frame plus this (``ARV_GV_STREAM_BUFFER_SIZE_PROTOCOL_OVERHEAD``,
arvgvstream.c)."""


@dataclass(frozen=True, slots=True)
class GigeNic:
    """One interface of the host and the GigE Vision cameras streaming to it."""

    name: str
    devices: tuple[DeviceSpec, ...]
    packet_bytes: int
    """The largest packet its cameras stream with."""
    planned_gbps: float | None
    """The rig file's ``speed_gbps`` for it (None: the NIC is not listed under the host)."""
    data_mb_s: float
    """What its cameras put on it, MB/s (the plan's ``nic`` budget)."""

    @property
    def mtu_need(self) -> int:
        return self.packet_bytes

    @property
    def ids(self) -> str:
        return ", ".join(d.id for d in self.devices)

    def over(self, mtu: int) -> list[DeviceSpec]:
        """Its cameras whose packets an interface of ``mtu`` drops."""
        return [d for d in self.devices if packet_bytes(d) > mtu]

    def sizes(self, devices: Sequence[DeviceSpec] | None = None) -> str:
        """Each camera's packet size, saying which are the assumed default: ``cam-a 9000 (assumed), cam-b 1500``."""
        return ", ".join(f"{d.id} {packet_bytes(d)}{'' if d.packet_size else ' (assumed)'}"
                         for d in (self.devices if devices is None else devices))


def is_gige(device: DeviceSpec) -> bool:
    return device.connection.kind is LinkKind.ETHERNET and get_model(device.model).vendor is Vendor.GIGE_VISION


def packet_bytes(device: DeviceSpec) -> int:
    """The stream packet size the camera uses: its rig file's ``packet_size``, else :data:`GEV_PACKET_BYTES`."""
    return device.packet_size or GEV_PACKET_BYTES


def frame_bytes(device: DeviceSpec) -> int:
    """The largest frame of the camera's streams, bytes on the wire (image payload)."""
    model = get_model(device.model)
    return max(model.link_bytes_per_frame(s.kind, s.width, s.height, s.pixel_format) for s in device.streams)


def gige_nics(ctx: HostContext) -> list[GigeNic]:
    """The host's interfaces that GigE Vision cameras stream to, in the rig file's order of first use."""
    by_nic: dict[str, list[DeviceSpec]] = defaultdict(list)
    for d in ctx.devices:
        if is_gige(d):
            by_nic[d.connection.bus].append(d)
    budgets = {b.resource: b.used for b in ctx.plan.budgets if b.kind == "nic" and b.host == ctx.host}
    out = []
    for name, devs in by_nic.items():
        nic = ctx.spec.nic(name)
        out.append(GigeNic(name, tuple(devs), max(packet_bytes(d) for d in devs),
                           nic.speed_gbps if nic is not None else None, budgets.get(name, 0.0)))
    return out
