"""Rule infrastructure: every rule has a stable id, a severity, a source and a one-line summary. Not public API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from rigsync.catalog.base import CameraModel, DepthTech
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import default_pose, seen_points
from rigsync.plan.hosts import ptp_hosts, ptp_nics
from rigsync.plan.model import DevicePlan, Diagnostic, Plan, Severity
from rigsync.spec.model import DeviceSpec, Nic, RigSpec
from rigsync.spec.sync import SyncGroupSpec

# Seed documents, as rules cite them.
ZED = "seeds/000 StereoLabs: Setting Up Multiple 3D Cameras"
K4A = "seeds/001 Azure Kinect: Synchronize multiple Azure Kinect DK devices"
ORBBEC = "seeds/002 Orbbec: Multi-Camera Synchronization (multi_device_sync_config.json)"
GIGE = "seeds/003 Emergent: Synchronize Area-Scan Cameras with PTP in eCapture Pro"
REALSENSE = "seeds/004 Intel: External Synchronization of Intel RealSense Depth cameras (Genlock)"


@dataclass(frozen=True)
class Finding:
    devices: tuple[str, ...]
    message: str
    fix: str
    severity: Severity | None = None
    """Overrides the rule's severity (a budget near its limit warns, past it errs)."""
    weight: float = 0.0
    """How bad it is, among the findings of its rule: merged findings name the worst first."""


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: Severity
    source: str
    summary: str


@dataclass(frozen=True)
class Context:
    plan: Plan

    @property
    def rig(self) -> RigSpec:
        return self.plan.rig

    def spec(self, device_id: str) -> DeviceSpec:
        return self.plan.spec(device_id)

    def model(self, device_id: str) -> CameraModel:
        return self.plan.index.model(device_id)

    def dp(self, device_id: str) -> DevicePlan:
        return self.plan.device(device_id)

    def groups(self) -> Iterator[SyncGroupSpec]:
        return iter(self.rig.sync_groups)

    def members(self, group: SyncGroupSpec) -> list[DeviceSpec]:
        return [self.spec(m.device) for m in group.members]

    @cached_property
    def tof_views(self) -> dict[str, int]:
        """ToF cameras with a depth stream -> the scene points their depth camera sees
        (:func:`rigsync.core.geometry.seen_points`), posed as the simulator poses them (devices without a pose on
        the default ring)."""
        devices = self.rig.devices
        return {d.id: seen_points(d.pose or default_pose(i, len(devices)), self.model(d.id).hfov_for(StreamKind.DEPTH))
                for i, d in enumerate(devices) if self.model(d.id).depth_tech is DepthTech.TOF
                and any(s.kind is StreamKind.DEPTH for s in d.streams)}

    @cached_property
    def ptp_roles(self) -> dict[str, str]:
        """Host name -> ``grandmaster`` or ``slave`` for every host in a PTP group."""
        return ptp_hosts(self.rig, self.plan.index)

    @cached_property
    def ptp_nics(self) -> dict[str, Nic | None]:
        """Host name -> the interface it runs PTP on."""
        return ptp_nics(self.rig, self.plan.index)


RuleFn = Callable[[Context], Iterable[Finding]]
RULES: dict[str, RuleInfo] = {}
_FUNCTIONS: list[tuple[RuleInfo, RuleFn]] = []


def rule(rule_id: str, severity: Severity, source: str, summary: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under a stable id."""
    def register(fn: RuleFn) -> RuleFn:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        info = RuleInfo(rule_id, severity, source, summary)
        RULES[rule_id] = info
        _FUNCTIONS.append((info, fn))
        return fn
    return register


SHOWN = 3
"""Findings a merged diagnostic quotes (the worst first)."""


def run(plan: Plan) -> list[Diagnostic]:
    """Every rule's findings, once per rule, severity and sync group (see :func:`merge`), errors first."""
    ctx = Context(plan)
    out: list[Diagnostic] = []
    for info, fn in _FUNCTIONS:
        scopes: dict[tuple[Severity, str | None], list[Finding]] = {}
        for f in fn(ctx):
            scopes.setdefault((f.severity or info.severity, _scope(plan, f.devices)), []).append(f)
        out += [merge(info, severity, group, found) for (severity, group), found in scopes.items()]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(out, key=lambda d: order[d.severity])


def _scope(plan: Plan, devices: tuple[str, ...]) -> str | None:
    """The sync group every device of a finding is in, or None (several groups, none, or the whole rig)."""
    groups = {plan.device(d).group for d in devices}
    return groups.pop() if len(groups) == 1 else None


def merge(info: RuleInfo, severity: Severity, group: str | None, found: list[Finding]) -> Diagnostic:
    """One diagnostic for the findings of a rule in one group (or across the rig): their devices, how many there
    are, and the worst few of their messages and fixes."""
    if len(found) == 1:
        f = found[0]
        return Diagnostic(info.id, severity, f.devices, f.message, info.source, f.fix)
    worst = sorted(found, key=lambda f: -f.weight)
    devices = tuple(dict.fromkeys(d for f in worst for d in f.devices))
    more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    where = f" in group {group}" if group is not None else ""
    message = f"{len(found)} findings{where}: " + "; ".join(f.message for f in worst[:SHOWN]) + more
    fixes = list(dict.fromkeys(f.fix for f in worst))
    fix = "; ".join(fixes[:SHOWN]) + ("; ..." if len(fixes) > SHOWN else "")
    return Diagnostic(info.id, severity, devices, message, info.source, fix)
