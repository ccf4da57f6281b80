"""Kernel USB memory: ``usbcore.usbfs_memory_mb`` against what the host's libusb cameras need (seeds/001: "the
default 16 MB ... supports one Azure Kinect"; several need more, set on the kernel command line)."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.plan.budgets import USBFS_DEFAULT_MB

PATH = "/sys/module/usbcore/parameters/usbfs_memory_mb"
ANCHOR = "#usbfs-memory"


def need_mb(ctx: HostContext) -> int:
    """The plan's need: the sum of the host's devices' usbfs memory (0: no libusb camera)."""
    return sum(get_model(d.model).usb_memory_mb for d in ctx.devices)


def check(ctx: HostContext) -> list[Finding]:
    need = need_mb(ctx)
    if need == 0:
        return []
    wanted = f">= {max(need, USBFS_DEFAULT_MB)} MB (or 0: unlimited) for {len(ctx.devices)} device(s)"
    text = ctx.probe.read(PATH)
    fix = (f"sudo sh -c 'echo {max(need, 32)} > {PATH}' (now, until reboot); for good: add "
           f"usbcore.usbfs_memory_mb={max(need, 32)} to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then "
           "sudo update-grub and reboot")
    if text is None:
        return [ctx.finding("usbfs-memory", Status.WARN, f"{PATH} not readable (usbcore not loaded?)", wanted, fix,
                            anchor=ANCHOR)]
    try:
        have = int(text.strip())
    except ValueError:
        return [ctx.finding("usbfs-memory", Status.WARN, f"{PATH} = {text.strip()!r} (not a number)", wanted, fix,
                            anchor=ANCHOR)]
    seen = f"{have} MB ({PATH})" if have else f"0: unlimited ({PATH})"
    ok = have == 0 or have >= need
    return [ctx.finding("usbfs-memory", Status.PASS if ok else Status.FAIL, seen, wanted, "" if ok else fix,
                        anchor=ANCHOR)]
