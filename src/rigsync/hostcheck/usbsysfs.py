"""The USB devices of a host as sysfs shows them: ids, serial number, link speed and the controller each hangs off.

``/sys/bus/usb/devices`` holds one entry per device (``2-3.1``: bus 2, port 3, then port 1 of the hub there), per
root hub (``usb2``) and per interface (``2-3.1:1.0``); each entry links to the device's place in the device tree,
``/sys/devices/pci0000:00/0000:00:14.0/usb2/2-3/2-3.1``, whose component before ``usbN`` is the host controller
(a PCI function, or a platform device such as ``3610000.xhci`` on a Jetson). Both root hubs of one xHCI
controller (its USB 2 and USB 3 halves) sit under the same controller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rigsync.hostcheck.probe import Probe

SYSFS = "/sys/bus/usb/devices"
_DEVICE = re.compile(r"^\d+-\d+(\.\d+)*$")
_ROOT = re.compile(r"^usb\d+$")


@dataclass(frozen=True, slots=True)
class UsbDevice:
    """One USB device (not a root hub, not an interface)."""

    name: str
    """Its sysfs name, ``<bus>-<port>[.<port>...]``."""
    vendor: str
    product: str
    serial: str
    """The serial number descriptor ("" when the device has none)."""
    speed_mbps: float | None
    """Link speed: 1.5, 12, 480 (USB 2), 5000, 10000, 20000 (USB 3); None: unreadable."""
    controller: str
    """The host controller it hangs off (``0000:00:14.0``); "" when the link cannot be resolved."""
    label: str = ""
    """The product string, when the device gives one."""

    @property
    def ids(self) -> str:
        return f"{self.vendor}:{self.product}"


def controller_of(path: str) -> str:
    """The controller in a resolved device path: the component before the first ``usbN`` ("" if none)."""
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        if _ROOT.match(part) and i > 0:
            return parts[i - 1]
    return ""


def _attr(probe: Probe, name: str, attr: str) -> str:
    return (probe.read(f"{SYSFS}/{name}/{attr}") or "").strip()


def _speed(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def scan(probe: Probe) -> list[UsbDevice] | None:
    """Every USB device of the host (None: there is no ``/sys/bus/usb/devices``, i.e. no USB bus)."""
    names = probe.listdir(SYSFS)
    if names is None:
        return None
    out: list[UsbDevice] = []
    for name in names:
        if not _DEVICE.match(name):
            continue
        controller = controller_of(probe.readlink(f"{SYSFS}/{name}") or "")
        if not controller:  # the bus's root hub links to the controller too
            bus = _attr(probe, name, "busnum") or name.split("-", 1)[0]
            controller = controller_of(probe.readlink(f"{SYSFS}/usb{bus}") or "")
        out.append(UsbDevice(name, _attr(probe, name, "idVendor").lower(), _attr(probe, name, "idProduct").lower(),
                             _attr(probe, name, "serial"), _speed(_attr(probe, name, "speed")), controller,
                             _attr(probe, name, "product")))
    return out
