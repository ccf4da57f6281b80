"""Budget rules: USB controllers, NICs, GMSL2 capture cards, GPU memory, kernel USB memory."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.plan.model import Budget, Severity
from rigsync.plan.rules._base import K4A, ZED, Context, Finding, rule

NEAR = 0.85
"""Past this share of a budget the plan warns."""
RECOMMENDED_GPU_MB = 6144
""""we recommend using an NVIDIA GPU with at least 6GB of memory" (seeds/000)."""


def _budgets(ctx: Context, kind: str) -> Iterator[Budget]:
    return (b for b in ctx.plan.budgets if b.kind == kind)


@rule("USB-BANDWIDTH", Severity.ERROR, f"{ZED} (Watch the USB bandwidth: ~250 MB/s per ZED at 1080p30, ~620 MB/s "
      "per USB 3.0 controller)", "a USB controller carries more than its budget (or nearly)")
def usb_bandwidth(ctx: Context) -> Iterator[Finding]:
    for b in _budgets(ctx, "usb"):
        ratio = b.ratio or 0.0
        if ratio > 1.0:
            yield Finding(b.devices, f"USB controller {b.resource} on {b.host} carries {b.used:.0f} MB/s of its "
                                     f"{b.capacity:.0f} MB/s: frames will be corrupted (green/purple, torn) or "
                                     "lost, cameras may disconnect",
                          "spread the cameras over more controllers (PCIe USB 3.0 cards) or lower resolution/rate",
                          weight=ratio)
        elif ratio > NEAR:
            yield Finding(b.devices, f"USB controller {b.resource} on {b.host} is at {100 * ratio:.0f}% of its "
                                     "budget", "leave headroom: move a camera to another controller",
                          Severity.WARNING, ratio)


@rule("NIC-BANDWIDTH", Severity.ERROR, "seeds/003 Emergent (NICs); GigE Vision line rates",
      "a network interface carries more camera data than its line rate allows")
def nic_bandwidth(ctx: Context) -> Iterator[Finding]:
    for b in _budgets(ctx, "nic"):
        if b.capacity is None:
            continue
        ratio = b.used / b.capacity
        if ratio > 1.0:
            yield Finding(b.devices, f"interface {b.resource} on {b.host} would carry {b.used:.0f} MB/s of about "
                                     f"{b.capacity:.0f} MB/s", "use a faster NIC, more NICs, or a lower rate",
                          weight=ratio)
        elif ratio > NEAR:
            yield Finding(b.devices, f"interface {b.resource} on {b.host} is at {100 * ratio:.0f}% of its line "
                                     "rate", "leave headroom for bursts", Severity.WARNING, ratio)


@rule("GMSL-CARD-CAPACITY", Severity.ERROR, f"{ZED} (ZED Link Mono: 1, Duo: up to 4, Quad: up to 8 cameras)",
      "a GMSL2 capture card has more cameras than it takes, or two on one port")
def gmsl_capacity(ctx: Context) -> Iterator[Finding]:
    for b in _budgets(ctx, "gmsl-card"):
        if b.capacity is not None and len(b.devices) > b.capacity:
            yield Finding(b.devices, f"capture card {b.resource} on {b.host} takes {b.capacity:.0f} cameras; "
                                     f"{len(b.devices)} are connected", "use a larger card or a second card")
        if b.used < len(b.devices):
            yield Finding(b.devices, f"two cameras share a port of capture card {b.resource}",
                          "give each camera its own port")


@rule("GPU-MEMORY", Severity.ERROR, f"{ZED} (Increase GPU memory: up to 750 MB per camera in NEURAL LIGHT; 6 GB "
      "or more recommended)", "a host's GPU cannot hold the depth of its ZED cameras (or is not declared)")
def gpu_memory(ctx: Context) -> Iterator[Finding]:
    for b in _budgets(ctx, "gpu-memory"):
        if b.capacity is None:
            yield Finding(b.devices, f"host {b.host} computes ZED depth ({b.used:.0f} MB of GPU memory) but "
                                     "declares no gpu_memory_mb", "declare the host's GPU memory (6 GB or more "
                                                                  "is recommended)", Severity.WARNING)
        elif b.used > b.capacity:
            yield Finding(b.devices, f"host {b.host}: ZED depth needs up to {b.used:.0f} MB of GPU memory, the GPU "
                                     f"has {b.capacity:.0f} MB", "use a larger GPU, fewer depth streams, or a "
                                                                 "lighter depth mode")
        elif b.capacity < RECOMMENDED_GPU_MB:
            yield Finding(b.devices, f"host {b.host} has {b.capacity:.0f} MB of GPU memory; 6 GB or more is "
                                     "recommended for several ZED cameras", "use a GPU with 6 GB or more",
                          Severity.WARNING)


@rule("USBFS-MEMORY", Severity.WARNING, f"{K4A} (Linux computers: USB memory on Ubuntu)",
      "several libusb cameras on a Linux host need more kernel USB memory than the 16 MB default")
def usbfs_memory(ctx: Context) -> Iterator[Finding]:
    for b in _budgets(ctx, "usbfs-memory"):
        if b.capacity is not None and b.used > b.capacity:
            memory = max(32, int(b.used))
            yield Finding(b.devices, f"host {b.host} runs {len(b.devices)} libusb cameras; the 16 MB usbfs "
                                     "default supports one", f"boot with usbcore.usbfs_memory_mb={memory} "
                                                             "(GRUB_CMDLINE_LINUX_DEFAULT, update-grub, reboot)",
                          weight=b.used)
