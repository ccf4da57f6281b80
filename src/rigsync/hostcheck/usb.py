"""USB topology: each USB camera of the host found on the bus by its serial number, its link speed (USB 3 where the
camera needs it) and the controller it hangs off, against the rig file's ``usb:<controller>`` and the plan's
bandwidth budget per controller (seeds/000: ~250 MB/s per ZED at 1080p30, ~620 MB/s per USB 3.0 controller).

The rig file's controller names (``mb0``, ``pcie0``) are the engineer's; the host's are PCI addresses. The check
cannot tell which is which, but it can tell when cameras the rig puts on different controllers share one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rigsync.core.sync import LinkKind
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.usbids import IDS, USB2_MB_S, USB3_MBPS, UsbIds
from rigsync.hostcheck.usbsysfs import SYSFS, UsbDevice, scan
from rigsync.plan.budgets import device_link_mb_s
from rigsync.spec.model import DeviceSpec

ANCHOR = "#usb-topology"


@dataclass(frozen=True, slots=True)
class Located:
    """Where one rig device was found."""

    device: DeviceSpec
    found: UsbDevice | None
    by_serial: bool
    """False: matched by model (the camera's serial is not on the bus)."""
    links: tuple[UsbDevice, ...]
    """The USB devices that carry its images (a ZED found by its HID device: the model's video devices on the same
    controller; empty: none enumerated)."""

    @property
    def controller(self) -> str:
        return self.links[0].controller if self.links else self.found.controller if self.found else ""


def _pool(bus: list[UsbDevice], ids: UsbIds | None) -> list[UsbDevice]:
    if ids is None:
        return bus
    return [u for u in bus if u.vendor == ids.vendor and u.product in ids.video + ids.serial_on]


def _links(bus: list[UsbDevice], found: UsbDevice, ids: UsbIds | None) -> tuple[UsbDevice, ...]:
    if ids is None or found.product in ids.video:
        return (found,)
    return tuple(u for u in bus if u.vendor == ids.vendor and u.product in ids.video
                 and u.controller == found.controller)


def locate(devices: tuple[DeviceSpec, ...], bus: list[UsbDevice]) -> list[Located]:
    """Each device by its serial number; a model whose serial is not on the bus (RealSense, Orbbec) by model,
    among the devices no serial claimed."""
    found: dict[str, tuple[UsbDevice, bool]] = {}
    for d in devices:
        exact = [u for u in _pool(bus, IDS.get(d.model)) if u.serial == d.serial]
        if exact:
            found[d.id] = (exact[0], True)
    claimed = {u.name for u, _ in found.values()}
    # Matched by model: the fastest links go to the cameras that need the most, so a camera is failed for its
    # link only when no assignment of the model's devices would give it USB 3.
    for d in sorted(devices, key=device_link_mb_s, reverse=True):
        ids = IDS.get(d.model)
        if d.id in found or ids is None or ids.serial_on:
            continue
        spare = [u for u in bus if u.vendor == ids.vendor and u.product in ids.video and u.name not in claimed]
        if spare:
            best = max(spare, key=lambda u: u.speed_mbps or 0.0)
            found[d.id] = (best, False)
            claimed.add(best.name)
    out = []
    for d in devices:
        hit = found.get(d.id)
        out.append(Located(d, hit[0] if hit else None, hit[1] if hit else False,
                           _links(bus, hit[0], IDS.get(d.model)) if hit else ()))
    return out


def _usb3_fix(d: DeviceSpec) -> str:
    return (f"plug {d.serial} ({d.id}) into a USB 3 port (blue) / use a USB 3 cable, directly or through a USB 3 "
            "hub; then `lsusb -t` shows it at 5000M or more")


def _present(ctx: HostContext, loc: Located, bus: list[UsbDevice] | None) -> Finding:
    d = loc.device
    ids = IDS.get(d.model)
    lsusb = f"lsusb -d {ids.vendor}:" if ids else "lsusb -v"
    fix = (f"plug in {d.id} (serial {d.serial}), check its cable and power, and that `{lsusb}` lists it; if it "
           f"was replaced, put the new serial number in the rig file")
    wanted = f"{d.model} serial {d.serial} on USB"
    if bus is None:
        return ctx.finding("usb-camera", Status.FAIL, f"not found: this host has no USB bus ({SYSFS} does not "
                           "exist)", wanted, fix, subject=d.id, anchor=ANCHOR)
    if loc.found is None:
        same = len(_pool(bus, ids)) if ids else 0
        model = f"; {same} other {d.model} device(s) on the bus" if same else ""
        return ctx.finding("usb-camera", Status.FAIL, f"not found: no USB device with serial {d.serial} in {SYSFS} "
                           f"({len(bus)} USB devices{model})", wanted, fix, subject=d.id, anchor=ANCHOR)
    u = loc.found
    how = "" if loc.by_serial else f" (matched by model: a {d.model}'s serial number is not on the bus)"
    return ctx.finding("usb-camera", Status.PASS, f"{u.ids} {u.label or d.model} at {u.name}, controller "
                       f"{u.controller or '?'}{how}", wanted, subject=d.id, anchor=ANCHOR)


def _link(ctx: HostContext, loc: Located) -> Finding | None:
    d = loc.device
    if loc.found is None:
        return None
    ids = IDS.get(d.model)
    rate = device_link_mb_s(d)
    need3 = bool(ids and ids.usb3) or rate > USB2_MB_S
    why = ("the vendor requires USB 3" if ids and ids.usb3 else
           f"{rate:.0f} MB/s is more than USB 2's {USB2_MB_S:.0f} MB/s" if need3 else
           f"{rate:.0f} MB/s fits USB 2 (480 Mb/s)")
    wanted = f"USB 3 (>= {USB3_MBPS:.0f} Mb/s): {why}" if need3 else f"USB 2 or 3: {why}"
    if not loc.links:
        return ctx.finding("usb-link", Status.FAIL, f"only its sensor device {loc.found.ids} at {loc.found.name} "
                           f"({loc.found.speed_mbps or '?'} Mb/s) is on the bus: its video device did not "
                           "enumerate, as when a ZED is on a USB 2 port", wanted, _usb3_fix(d),
                           subject=d.id, anchor=ANCHOR)
    speeds = [u.speed_mbps for u in loc.links]
    if any(s is None for s in speeds):
        return ctx.finding("usb-link", Status.WARN, f"{SYSFS}/{loc.links[0].name}/speed unreadable", wanted,
                           f"check with `lsusb -t` that {d.serial} runs at 5000M or more", subject=d.id,
                           anchor=ANCHOR)
    speed = min(s for s in speeds if s is not None)
    where = ", ".join(f"{u.name} {u.speed_mbps:g} Mb/s" for u in loc.links)
    if len(loc.links) > 1:
        where += f" (the {d.model} video devices on this controller: their serial is not on the bus)"
    seen = f"{'USB 3' if speed >= USB3_MBPS else 'USB 2' if speed >= 480 else 'USB 1'} link: {where}"
    if speed >= USB3_MBPS or not need3:
        return ctx.finding("usb-link", Status.PASS, seen, wanted, subject=d.id, anchor=ANCHOR)
    return ctx.finding("usb-link", Status.FAIL, seen, wanted, _usb3_fix(d), subject=d.id, anchor=ANCHOR)


def _sharing(ctx: HostContext, located: list[Located]) -> list[Finding]:
    by_controller: dict[str, list[DeviceSpec]] = defaultdict(list)
    for loc in located:
        if loc.found is not None and loc.controller:
            by_controller[loc.controller].append(loc.device)
    out = []
    for controller, devs in by_controller.items():
        planned = sorted({d.connection.bus for d in devs})
        used = sum(device_link_mb_s(d) for d in devs)
        capacity = min(ctx.spec.usb_controller(c).capacity_mb_s for c in planned)
        names = ", ".join(f"{d.id} ({d.connection})" for d in devs)
        seen = f"{names} on controller {controller}: {used:.0f} of {capacity:.0f} MB/s ({100 * used / capacity:.0f}%)"
        if len(planned) == 1:
            out.append(ctx.finding("usb-controller", Status.PASS, seen, f"usb:{planned[0]} on a controller of its "
                                   "own", subject=controller, anchor=ANCHOR))
            continue
        status = Status.FAIL if used > capacity else Status.WARN
        wanted = (f"{len(planned)} controllers ({', '.join(planned)}) as the rig file plans, {capacity:.0f} MB/s "
                  "each (seeds/000)")
        fix = (f"move {', '.join(d.id for d in devs[1:])} to ports on another USB controller (a PCIe USB 3.0 card): "
               f"`lsusb -t` shows which bus each port is on; {controller} carries them all")
        out.append(ctx.finding("usb-controller", status, seen, wanted, fix, subject=controller, anchor=ANCHOR))
    return out


def check(ctx: HostContext) -> list[Finding]:
    """Each real USB camera on the bus, its link and its controller; a simulated one (``driver = "sim"``) is
    skipped, said so: no camera stands behind it."""
    usb = [d for d in ctx.devices if d.connection.kind is LinkKind.USB and d.file is None]
    out: list[Finding] = [
        ctx.finding("usb-camera", Status.SKIP, 'simulated (driver = "sim"): no camera on the bus to look for',
                    f"{d.model} serial {d.serial} on USB", subject=d.id, anchor=ANCHOR)
        for d in usb if d.driver == "sim"]
    devices = tuple(d for d in usb if d.driver != "sim")
    if not devices:
        return out
    bus = scan(ctx.probe)
    located = locate(devices, bus or [])
    for loc in located:
        out.append(_present(ctx, loc, bus))
        link = _link(ctx, loc)
        if link is not None:
            out.append(link)
    return out + _sharing(ctx, located)
