"""Build the :class:`Plan` of a rig: roles, trigger links, delays, synced streams and start order."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel, Vendor
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod, Topology
from rigsync.core.units import period_ns
from rigsync.plan.model import DevicePlan, GroupPlan, Plan, Role, TriggerLink
from rigsync.spec.model import DeviceSpec, RigSpec
from rigsync.spec.sync import SyncGroupSpec, TriggerPattern


def build_plan(rig: RigSpec) -> Plan:
    """Compute what every device does. Diagnostics (rules) are checked separately."""
    devices: list[DevicePlan] = []
    groups = tuple(_group_plan(rig, g) for g in rig.sync_groups)
    for device in rig.devices:
        group = rig.group_of(device.id)
        if group is None:
            devices.append(_standalone(device))
        else:
            gp = next(p for p in groups if p.name == group.name)
            devices.append(_member_plan(rig, device, group, gp))
    return Plan(rig=rig, devices=tuple(devices), groups=groups)


def _source(rig: RigSpec, group: SyncGroupSpec) -> str | None:
    src = group.source
    if src is not None:
        if src.device is not None:
            return src.device
        if src.trigger is not None:
            return f"trigger:{src.trigger}"
        return f"card:{src.card}"
    if group.topology is Topology.CAPTURE_CARD:
        return f"card:{rig.device(group.members[0].device).connection.bus}"
    return None


def _group_plan(rig: RigSpec, group: SyncGroupSpec) -> GroupPlan:
    source = _source(rig, group)
    random_triggers = False
    trigger_period: int | None
    if group.method is SyncMethod.SOFTWARE:
        trigger_period = None
    elif source is not None and source.startswith("trigger:"):
        trig = rig.trigger(source.removeprefix("trigger:"))
        trigger_period = period_ns(trig.rate_hz)
        random_triggers = trig.pattern is TriggerPattern.RANDOM
    elif source is not None and not source.startswith("card:"):
        trigger_period = _frame_clock_period(rig.device(source))
    else:
        trigger_period = min(_frame_clock_period(rig.device(m.device)) for m in group.members)
    return GroupPlan(name=group.name, method=group.method, topology=group.topology, source=source,
                     trigger_period_ns=trigger_period, random_triggers=random_triggers,
                     members=tuple(m.device for m in group.members))


def _frame_clock_period(device: DeviceSpec) -> int:
    """The period of the frame clock a device runs on: its colour stream if it has one (the Kinect master's
    VSYNC), otherwise its fastest stream."""
    color = [s for s in device.streams if s.kind is StreamKind.COLOR]
    if color:
        return color[0].period_ns
    return min(s.period_ns for s in device.streams)


def _standalone(device: DeviceSpec) -> DevicePlan:
    model = get_model(device.model)
    return DevicePlan(device_id=device.id, group=None, method=None, topology=None, role=Role.STANDALONE,
                      vendor_role=vendor_role(model, Role.STANDALONE, 1), trigger=None, delay_ns=0,
                      depth_delay_ns=0, burst=1, synced_streams=(), start_rank=0)


def _member_plan(rig: RigSpec, device: DeviceSpec, group: SyncGroupSpec, gp: GroupPlan) -> DevicePlan:
    model = get_model(device.model)
    member = group.member(device.id)
    if member is None:  # group_of() found the device in this group
        raise KeyError(device.id)
    role = _role(group, gp, device.id)
    trigger = _trigger_link(group, gp, device.id)
    kinds = _synced_kinds(model, role)
    return DevicePlan(
        device_id=device.id,
        group=group.name,
        method=group.method,
        topology=group.topology,
        role=role,
        vendor_role=vendor_role(model, role, group.burst),
        trigger=trigger,
        delay_ns=group.delay_ns(device.id),
        depth_delay_ns=round(member.depth_delay_us * 1000),
        burst=group.burst if role is Role.GENLOCK else 1,
        synced_streams=tuple(s.name for s in device.streams if s.kind in kinds),
        start_rank=1 if role is Role.MASTER else 0,
    )


def _role(group: SyncGroupSpec, gp: GroupPlan, device_id: str) -> Role:
    if group.method is SyncMethod.SOFTWARE:
        return Role.SOFTWARE
    if group.method is SyncMethod.PTP:
        return Role.PTP
    if group.topology is Topology.CAPTURE_CARD:
        return Role.CARD
    if gp.source == device_id:
        return Role.MASTER
    return Role.GENLOCK if group.method is SyncMethod.GENLOCK else Role.SUBORDINATE


def _trigger_link(group: SyncGroupSpec, gp: GroupPlan, device_id: str) -> TriggerLink | None:
    source = gp.source
    if source is None or source == device_id or group.method in (SyncMethod.SOFTWARE, SyncMethod.PTP):
        return None
    if group.topology is Topology.DAISY_CHAIN:
        chain = [m.device for m in group.members if m.device != source]
        idx = chain.index(device_id)
        upstream = source if idx == 0 else chain[idx - 1]
        return TriggerLink(source=upstream, target=device_id, hop=idx + 1)
    return TriggerLink(source=source, target=device_id, hop=1)


def _synced_kinds(model: CameraModel, role: Role) -> frozenset[StreamKind]:
    if role in (Role.STANDALONE, Role.SOFTWARE):
        return frozenset()
    if role is Role.PTP:
        return frozenset(StreamKind)
    if role is Role.GENLOCK and model.sync.genlock is not None:
        return model.sync.genlock.synced_kinds
    return model.sync.synced_kinds


def vendor_role(model: CameraModel, role: Role, burst: int) -> str:
    """The role in the vendor's own terms."""
    vendor = model.vendor
    if vendor is Vendor.INTEL:
        return {Role.MASTER: "1", Role.SUBORDINATE: "2", Role.GENLOCK: str(burst + 3)}.get(role, "0")
    if vendor is Vendor.MICROSOFT:
        return {Role.MASTER: "master", Role.SUBORDINATE: "subordinate"}.get(role, "standalone")
    if vendor is Vendor.ORBBEC:
        roles = model.sync.roles
        secondary = "SECONDARY_SYNCED" if "SECONDARY_SYNCED" in roles else "SECONDARY"
        free = "FREE_RUN" if "FREE_RUN" in roles else "STANDALONE"
        return {Role.MASTER: "PRIMARY", Role.SUBORDINATE: secondary}.get(role, free)
    if vendor is Vendor.GIGE_VISION:
        return {Role.PTP: "PtpStatus=Slave", Role.SUBORDINATE: "TriggerSource=Line0"}.get(role, "free-run")
    if vendor is Vendor.STEREOLABS:
        return {Role.CARD: "capture-card sync", Role.PTP: "PTP slave"}.get(role, "free-run")
    return role.value
