"""``rigsync check``: before a take, every device of the rig is there, is the model the rig says, takes its planned
sync settings (read back), and - started in plan order for a moment - delivers frames at its rate. A triggered
camera that delivers nothing is the failure users lose days to: the check names its trigger cable.

Uses the drivers only through the Driver/Device contract, so it runs the same on the simulator and on cameras.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass

from rigsync.capture.streams import device_config, frame_rate
from rigsync.core.errors import DriverError
from rigsync.core.frame import Frame
from rigsync.core.sync import SyncMethod
from rigsync.drivers.base import Device, DeviceInfo, Driver
from rigsync.plan.model import Plan, Role

CHECKS = ("present", "model", "settings", "frames")
"""The checks of a device, in the order they are made and shown."""
MIN_RATE = 0.5
"""A device passes the frame check with at least this share of the frames its rate gives after its start-up."""


@dataclass(frozen=True)
class CheckRow:
    device: str
    check: str
    """``present``, ``model``, ``settings`` or ``frames``."""
    ok: bool
    detail: str
    fix: str = ""


def run_check(plan: Plan, drivers: Mapping[str, Driver], *, seconds: float = 1.0) -> list[CheckRow]:
    """Every check of every device of ``plan``'s rig, in plan order; devices are closed afterwards."""
    rig = plan.rig
    rows: list[CheckRow] = []
    found: dict[str, dict[str, DeviceInfo]] = {name: {i.serial: i for i in d.discover()} for name, d in drivers.items()}
    with ExitStack() as stack:
        opened: dict[str, Device] = {}
        for device_id in plan.start_order:
            spec = rig.device(device_id)
            info = found[spec.driver].get(spec.serial)
            if info is None:
                rows.append(CheckRow(device_id, "present", False, f"serial {spec.serial} not found by the "
                                     f"{spec.driver} driver ({len(found[spec.driver])} found)",
                                     "connect it, or correct its serial in the rig file (rigsync devices RIG lists "
                                     "what is there)"))
                continue
            rows.append(CheckRow(device_id, "present", True, f"{info.name} at {info.connection}"))
            if info.model and info.model != spec.model:
                rows.append(CheckRow(device_id, "model", False, f"found {info.model}, the rig says {spec.model}",
                                     "correct the model in the rig file or connect the right camera"))
            try:
                device = stack.enter_context(drivers[spec.driver].open(spec.serial))
                device.configure(device_config(plan, spec))
            except DriverError as err:
                rows.append(CheckRow(device_id, "settings", False, str(err), "see the driver's message"))
                continue
            opened[device_id] = device
            rows.append(_settings(plan, device_id, device.readback()))
        if opened:
            rows += _frames(plan, drivers, opened, seconds)
    order = {d: n for n, d in enumerate(plan.start_order)}
    return sorted(rows, key=lambda r: (order[r.device], CHECKS.index(r.check)))


def _settings(plan: Plan, device_id: str, readback: Mapping[str, str]) -> CheckRow:
    """The planned vendor role against what the device reports (a device reporting nothing passes, said so). A
    role is met when it is one of the values reported, or - a role of the form ``Name=Value`` (GigE Vision:
    ``PtpStatus=Slave``) - when the device reports that value under that name."""
    planned = plan.device(device_id).vendor_role
    if not readback:
        return CheckRow(device_id, "settings", True, f"configured as {planned} (the device reports no sync setting)")
    shown = ", ".join(f"{k} = {v}" for k, v in readback.items())
    name, is_pair, value = planned.partition("=")
    if planned in readback.values() or (is_pair and readback.get(name) == value):
        return CheckRow(device_id, "settings", True, f"reads back {shown}")
    return CheckRow(device_id, "settings", False, f"planned {planned}, reads back {shown}",
                    "the device did not take its sync setting: set it while stopped, then check again")


def _frames(plan: Plan, drivers: Mapping[str, Driver], opened: Mapping[str, Device],
            seconds: float) -> list[CheckRow]:
    """Start the opened devices in plan order, take ``seconds`` of frames, stop them: one row per device."""
    clock = next(iter(drivers.values())).clock()
    refused: dict[str, DriverError] = {}
    for device_id, device in opened.items():
        try:
            device.start()
        except DriverError as err:  # e.g. a Kinect subordinate with no cable in Sync in
            refused[device_id] = err
    opened = {d: device for d, device in opened.items() if d not in refused}
    start_ns = clock.now_ns()
    end_ns = start_ns + round((seconds + _ptp_start_delay_s(plan, opened)) * 1e9)
    frames: Counter[tuple[str, str]] = Counter()
    while (now := clock.now_ns()) < end_ns:
        for device_id, device in opened.items():
            for item in device.poll():
                if isinstance(item, Frame):
                    frames[(device_id, item.stream)] += 1
        wakes = [w for d in opened.values() if (w := d.next_ready_ns(end_ns)) is not None]
        clock.wait_until(min([*wakes, end_ns]) if wakes else now + 5_000_000)
    for device in reversed(list(opened.values())):
        device.stop()
    return [CheckRow(d, "frames", False, f"did not start: {err.problem}", err.fix or "see the driver's message")
            for d, err in refused.items()] + \
        [_rate_row(plan, device_id, device, frames, seconds) for device_id, device in opened.items()]


def _ptp_start_delay_s(plan: Plan, devices: Mapping[str, Device]) -> float:
    """PTP cameras start together, ``start_delay_s`` after they are started: the longest such delay among
    ``devices`` (0 without PTP cameras). The check waits that much longer for them."""
    delays_s = [0.0]
    for device_id in devices:
        dp = plan.device(device_id)
        spec = next((g for g in plan.rig.sync_groups if g.name == dp.group), None)
        if spec is not None and spec.method is SyncMethod.PTP and dp.role is Role.PTP:
            delays_s.append(spec.ptp_start_delay_s)
    return max(delays_s)


def _rate_row(plan: Plan, device_id: str, device: Device, frames: Counter[tuple[str, str]],
              seconds: float) -> CheckRow:
    spec = plan.rig.device(device_id)
    # A PTP camera starts its start delay after start() (the check waited that out): its start-up lies within.
    startup_s = max(device.timing().startup_ns / 1e9 - _ptp_start_delay_s(plan, {device_id: device}), 0.0)
    live_s = max(seconds - startup_s, 0.0)
    counts = {s.name: frames[(device_id, s.name)] for s in spec.streams}
    expected = {s.name: frame_rate(plan, spec, s) * live_s for s in spec.streams}
    shown = ", ".join(f"{name} {n}" + (f" ({n / live_s:.1f}/s)" if live_s else "") for name, n in counts.items())
    if all(counts[n] >= MIN_RATE * expected[n] for n in counts):
        return CheckRow(device_id, "frames", True, shown)
    dp = plan.device(device_id)
    if dp.trigger is not None and not any(counts.values()):
        link = dp.trigger
        port = f" into {link.target_port}" if link.target_port else ""
        fix = (f"it waits for its trigger from {link.source}: check the cable{port}, that {link.source} is "
               "started and sends it, and this device's role")
    elif not any(counts.values()):
        fix = "check its connection and that nothing else holds it (another program streaming from it)"
    else:
        fix = "below its rate: check the link's bandwidth and the host's load"
    return CheckRow(device_id, "frames", False, f"{shown} in {seconds:g} s, expected "
                    + ", ".join(f"{name} ~{expected[name]:.0f}" for name in counts), fix)
