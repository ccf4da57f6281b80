"""Scheduled start: every device of the rig begins at one rig (PTP) time, and who was late is reported.

PTP cameras are *armed* for the start time (the Emergent PTP acquisition gate, the GigE Vision scheduled
action): they expose first at that time and not before. Devices that cannot be armed are started early enough
for their start-up and the clock warm-up, and what they deliver before the start time is not recorded. A
device whose first recorded frame comes later than one frame period (plus its stamp's bound) after the start
is reported late - never started early to hide it.

Without a scheduled start, PTP cameras still start together (``start_delay_s`` after arming) and the recording
starts after the clock warm-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rigsync.capture.clocks import RigClocks
from rigsync.core.errors import OptionError
from rigsync.core.sync import SyncMethod
from rigsync.core.units import NS_PER_S
from rigsync.drivers.base import Device, DeviceTiming
from rigsync.plan.model import Plan, Role

_RELATIVE = re.compile(r"^\+\s*(?P<value>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s|min)?$")
_EPOCH = re.compile(r"^\d+(?:\.\d+)?$")
_UNITS = {"ms": 1e6, "s": 1e9, "min": 60e9, None: 1e9}
_FORMS = ("+<seconds> (+2s, +500ms, +1min) or an absolute rig time: ISO 8601 with a time zone "
          "(2026-11-21T10:00:00Z) or epoch seconds")
_LAST_NS = 2**63 - 1
MAX_LEAD_NS = 3600 * NS_PER_S
"""A scheduled start is at most an hour ahead."""
STARTUP_MARGIN_NS = 50_000_000
"""Devices that cannot be armed are started this much earlier than their start-up time needs."""


@dataclass(frozen=True)
class StartAt:
    """A start time: ``relative`` to when the capture is ready, or an absolute rig time (ns)."""

    ns: int
    relative: bool

    @classmethod
    def parse(cls, text: str) -> StartAt:
        """``+2s``, ``+500ms``, ``+1.5`` (seconds), ``+1min``; or an absolute rig time: ISO 8601 with a time
        zone (``2026-11-21T10:00:00Z``) or seconds since the epoch (``1795000000.5``). Raises
        :class:`OptionError` naming ``--start-at``."""
        t = text.strip()
        m = _RELATIVE.match(t)
        if m:
            ns = round(float(m.group("value")) * _UNITS[m.group("unit")])
            if ns > MAX_LEAD_NS:
                raise OptionError("--start-at", text, "too far ahead", f"at most +{MAX_LEAD_NS // NS_PER_S} s")
            return cls(ns, True)
        if _EPOCH.match(t):
            ns = int(Decimal(t) * NS_PER_S)  # exact: a float has no ns at 1.8e9 s
        else:
            try:
                when = datetime.fromisoformat(t.replace("Z", "+00:00"))
            except ValueError:
                when = None
            if when is None or when.tzinfo is None:
                raise OptionError("--start-at", text, "not a start time", _FORMS)
            ns = int(when.timestamp()) * NS_PER_S + when.microsecond * 1000
        if not 0 <= ns <= _LAST_NS:
            raise OptionError("--start-at", text, "outside the times a rig clock can hold", "1970 to 2262")
        return cls(ns, False)

    def resolve(self, rig_now_ns: int) -> int:
        """The start in rig time; an absolute start more than an hour ahead or behind is refused (a typo, a
        capture that would wait for a day, or a start so long past that every device would be reported late by
        it)."""
        if self.relative:
            return rig_now_ns + self.ns
        off = self.ns - rig_now_ns
        if abs(off) > MAX_LEAD_NS:
            where = "after" if off > 0 else "before"
            raise OptionError("--start-at", f"{self.ns / NS_PER_S:.3f} (epoch seconds)",
                              f"{abs(off) / NS_PER_S:,.0f} s {where} the rig's current time "
                              f"{rig_now_ns / NS_PER_S:.3f}",
                              f"at most {MAX_LEAD_NS // NS_PER_S} s ahead or in the past")
        return self.ns


class StartTracker:
    """The first recorded frame of every stream against the scheduled start: who was late, by how much."""

    def __init__(self, start_ns: int, periods_ns: dict[str, int]) -> None:
        self.start_ns = start_ns
        self._periods = periods_ns
        self._seen: set[str] = set()
        self.late_ns: dict[str, int] = {}
        """Device id -> how late its first exposure came after the start."""

    def armed(self, device: str, first_ns: int | None, tolerance_ns: int) -> None:
        """A device armed for the start reported its first exposure time."""
        if first_ns is not None and first_ns - self.start_ns > tolerance_ns:
            self._late(device, first_ns - self.start_ns)

    def frame(self, key: str, rig_time_ns: int, error_bound_ns: int) -> None:
        if key in self._seen:
            return
        self._seen.add(key)
        delay = rig_time_ns - self.start_ns
        if delay > self._periods[key] + error_bound_ns:
            self._late(key.split("/", 1)[0], delay)

    def _late(self, device: str, late_ns: int) -> None:
        self.late_ns[device] = max(self.late_ns.get(device, 0), late_ns)

    def messages(self) -> list[str]:
        return [f"{device} started {late / 1e6:.1f} ms after the scheduled start (it could not start on time)"
                for device, late in sorted(self.late_ns.items())]


@dataclass(frozen=True)
class Started:
    """How a capture's devices were started."""

    gate_rig_ns: int
    """Rig time from which frames are recorded: the scheduled start, or the end of the warm-up."""
    tracker: StartTracker | None
    """The scheduled start's tracker (who is late), None without one."""
    ptp_start_rig_ns: int | None = None
    """Rig time the PTP cameras were armed to expose first at, None without PTP cameras."""


def start_devices(plan: Plan, devices: Mapping[str, Device], timing: Mapping[str, DeviceTiming], clocks: RigClocks,
                  start_at: StartAt | None, periods_ns: dict[str, int], *,
                  poll_clocks: Callable[[], None], wait_for_rig: Callable[[int], None],
                  warn: Callable[[str], None]) -> Started:
    """Arm the PTP cameras and start every device, in plan order; with a scheduled start, as late as their
    start-up and the warm-up allow (``wait_for_rig(rig_ns)`` waits, reading the clocks)."""
    poll_clocks()
    now_rig = clocks.rig_now()
    scheduled = start_at.resolve(now_rig) if start_at is not None else None
    ptp_groups = [g for g in plan.rig.sync_groups if g.method is SyncMethod.PTP]
    ptp_start = scheduled
    tracker = None
    if ptp_start is None and ptp_groups:  # PTP cameras start together, start_delay_s after arming
        delay_ns = max(round(g.ptp_start_delay_s * 1e9) for g in ptp_groups)
        ptp_start = -(-(now_rig + delay_ns) // 1_000_000) * 1_000_000  # on a millisecond boundary
    if scheduled is not None:
        tracker = StartTracker(scheduled, periods_ns)
        if scheduled <= now_rig:
            warn(f"the scheduled start is {(now_rig - scheduled) / 1e9:.3f} s in the past: every device will be "
                 "reported late")
    if ptp_start is not None:
        ptp_names = {g.name for g in ptp_groups}
        for device_id in plan.start_order:
            if plan.device(device_id).group in ptp_names:
                first = devices[device_id].arm(ptp_start)  # None: not armed (started below)
                if first is None and plan.device(device_id).role is Role.PTP:
                    warn(f"{device_id} cannot be armed for the PTP start (no acquisition gate time or scheduled "
                         "action): started early, frames before the start are not recorded")
                elif first is not None and tracker is not None:
                    tracker.armed(device_id, first, 1_000_000)
    if scheduled is not None:
        # Started this early, every device has started up (its start-up, with a margin) and then delivered for the
        # clock warm-up by the start: the warm-up counts from the first frames, not from the start command.
        startup_ns = max((t.startup_ns + STARTUP_MARGIN_NS for t in timing.values()), default=0)
        wait_for_rig(scheduled - plan.warmup_ns - startup_ns)
        available = scheduled - clocks.rig_now() - startup_ns
        if available < plan.warmup_ns:
            warn(f"only {max(available, 0) / 1e9:.2f} s of the {plan.warmup_ns / 1e9:g} s warm-up fit before the "
                 "scheduled start: the first stamps may be unsettled")
    for device_id in plan.start_order:
        devices[device_id].start()
    poll_clocks()
    gate = scheduled if scheduled is not None else clocks.rig_now() + plan.warmup_ns
    return Started(gate, tracker, ptp_start)
