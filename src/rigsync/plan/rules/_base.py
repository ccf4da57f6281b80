"""Rule infrastructure: every rule has a stable id, a severity, a source and a one-line summary. Not public API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel
from rigsync.plan.model import DevicePlan, Diagnostic, Plan, Severity
from rigsync.spec.model import DeviceSpec, RigSpec
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
        return self.rig.device(device_id)

    def model(self, device_id: str) -> CameraModel:
        return get_model(self.rig.device(device_id).model)

    def dp(self, device_id: str) -> DevicePlan:
        return self.plan.device(device_id)

    def groups(self) -> Iterator[SyncGroupSpec]:
        return iter(self.rig.sync_groups)

    def members(self, group: SyncGroupSpec) -> list[DeviceSpec]:
        return [self.spec(m.device) for m in group.members]


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


def run(plan: Plan) -> list[Diagnostic]:
    ctx = Context(plan)
    out: list[Diagnostic] = []
    for info, fn in _FUNCTIONS:
        for f in fn(ctx):
            out.append(Diagnostic(info.id, f.severity or info.severity, f.devices, f.message, info.source, f.fix))
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(out, key=lambda d: order[d.severity])
