"""What every host check is given: the plan, which host, the probe that reads it, and the take's options."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import Probe

if TYPE_CHECKING:
    from rigsync.plan.model import HostSetup, Plan
    from rigsync.spec.model import DeviceSpec, HostSpec


@dataclass(frozen=True)
class HostContext:
    """One host of a plan, read through ``probe``."""

    plan: Plan
    host: str
    probe: Probe
    out_dir: str = "."
    """Where the take will be recorded (the disk check measures it)."""
    seconds: float = 600.0
    """How long the take is planned to last (the disk check's need)."""

    @cached_property
    def spec(self) -> HostSpec:
        return self.plan.index.hosts[self.host]

    @cached_property
    def setup(self) -> HostSetup:
        return next(h for h in self.plan.hosts if h.host == self.host)

    @cached_property
    def devices(self) -> tuple[DeviceSpec, ...]:
        return tuple(self.plan.index.on_host.get(self.host, ()))

    def finding(self, item: str, status: Status, seen: str, wanted: str, fix: str = "", *, subject: str = "",
                anchor: str = "") -> Finding:
        return Finding(self.host, item, status, seen, wanted, fix, subject, anchor)
