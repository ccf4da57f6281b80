"""Build the :class:`Plan` of a rig: roles, trigger links and their signals, delays, synced streams, start order,
budgets, host set-up, ToF windows; then check every rule."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel, Vendor
from rigsync.core.frame import ClockDomain, StreamKind
from rigsync.core.sync import SyncMethod, Topology
from rigsync.core.units import period_ns
from rigsync.plan import budgets, hosts, timing
from rigsync.plan.index import RigIndex
from rigsync.plan.model import DevicePlan, GroupPlan, Plan, Role, StartStep, TriggerLink
from rigsync.plan.signals import check_level, port
from rigsync.spec.model import DeviceSpec, RigSpec
from rigsync.spec.sync import SyncGroupSpec, TriggerPattern


def build_plan(rig: RigSpec) -> Plan:
    """Compute what every device does, and check the rig against every rule."""
    from rigsync.plan.rules import check  # rules read the plan: imported here to keep the modules acyclic

    idx = RigIndex.of(rig)
    groups = {g.name: _group_plan(idx, g) for g in rig.sync_groups}
    wiring = {g.name: _wiring(idx, g, groups[g.name]) for g in rig.sync_groups}
    drivers = {name: {f.upstream for f in feeds.values()} for name, feeds in wiring.items()}
    devices: list[DevicePlan] = []
    for device in rig.devices:
        group = idx.group_of.get(device.id)
        if group is None:
            devices.append(_standalone(device))
        else:
            devices.append(_member_plan(idx, device, group, groups[group.name], wiring[group.name].get(device.id),
                                        device.id in drivers[group.name]))
    base = Plan(rig=rig, devices=tuple(devices), groups=tuple(groups.values()))
    plan = replace(base, budgets=budgets.compute(rig, idx), hosts=hosts.setup(base), start_steps=_start_steps(base),
                   depth_windows=timing.depth_windows(base), staggers=timing.staggers(base),
                   warmup_ns=timing.warmup_ns(base))
    return replace(plan, diagnostics=tuple(check(plan)))


def _source(idx: RigIndex, group: SyncGroupSpec) -> str | None:
    src = group.source
    if src is not None:
        if src.device is not None:
            return src.device
        if src.trigger is not None:
            return f"trigger:{src.trigger}"
        return f"card:{src.card}"
    if group.topology is Topology.CAPTURE_CARD:
        return f"card:{idx.devices[group.members[0].device].connection.bus}"
    return None


def _group_plan(idx: RigIndex, group: SyncGroupSpec) -> GroupPlan:
    source = _source(idx, group)
    random_triggers = False
    trigger_period: int | None
    if group.method is SyncMethod.SOFTWARE or not group.members:  # timestamps only; a PTP domain of hosts only
        trigger_period = None
    elif source is not None and source.startswith("trigger:"):
        trig = idx.triggers[source.removeprefix("trigger:")]
        trigger_period = period_ns(trig.rate_hz)
        random_triggers = trig.pattern is TriggerPattern.RANDOM
    elif source is not None and not source.startswith("card:"):
        trigger_period = _frame_clock_period(idx.devices[source])
    else:
        trigger_period = min(_frame_clock_period(idx.devices[m.device]) for m in group.members)
    return GroupPlan(name=group.name, method=group.method, topology=group.topology, source=source,
                     trigger_period_ns=trigger_period, random_triggers=random_triggers,
                     members=tuple(m.device for m in group.members))


def _frame_clock_period(device: DeviceSpec) -> int:
    """The frame clock a device's sync output follows: a RealSense master's depth (stereo) sensor; otherwise its
    colour stream if it has one (the Kinect master's colour VSYNC, a camera's exposure-active strobe), or its
    fastest stream."""
    kinds = {StreamKind.DEPTH, StreamKind.IR} if get_model(device.model).vendor is Vendor.INTEL \
        else {StreamKind.COLOR}
    clocked = [s for s in device.streams if s.kind in kinds]
    return min(s.period_ns for s in (clocked or device.streams))


def _standalone(device: DeviceSpec) -> DevicePlan:
    model = get_model(device.model)
    return DevicePlan(device_id=device.id, group=None, method=None, topology=None, role=Role.STANDALONE,
                      vendor_role=vendor_role(model, Role.STANDALONE, 1), trigger=None, delay_ns=0,
                      depth_delay_ns=0, burst=1, synced_streams=(), start_rank=0)


# Vendor role names (catalog roles) -> rigsync roles, for roles the rig file overrides.
_ROLE_OF = {
    "master": Role.MASTER, "subordinate": Role.SUBORDINATE, "standalone": Role.STANDALONE,  # Kinect, ZED card
    "slave": Role.SUBORDINATE, "full-slave": Role.SUBORDINATE, "default": Role.STANDALONE, "genlock": Role.GENLOCK,
    "PRIMARY": Role.MASTER, "SECONDARY": Role.SUBORDINATE, "SECONDARY_SYNCED": Role.SUBORDINATE,
    "HARDWARE_TRIGGERING": Role.SUBORDINATE, "SOFTWARE_TRIGGERING": Role.SOFTWARE, "FREE_RUN": Role.STANDALONE,
    "STANDALONE": Role.STANDALONE, "PtpStatus=Slave": Role.PTP, "TriggerSource=Line0": Role.SUBORDINATE,
    "TriggerSource=Software": Role.SOFTWARE,
}


@dataclass(frozen=True)
class _Feed:
    """What drives one member's sync input: a device id, ``trigger:<name>`` or ``card:<name>``."""

    upstream: str
    hop: int
    splitter: bool


def _wiring(idx: RigIndex, group: SyncGroupSpec, gp: GroupPlan) -> dict[str, _Feed]:
    """Every triggered member's feed, as the group's topology wires it (the source device has none).

    Daisy chain: the source device first (if a device), then the members as listed, each driven by the one
    before it. Star: the source drives every member through a splitter, except an external trigger into Azure
    Kinects: it goes into the first Kinect listed (the star's master device), which runs as a subordinate
    whose Sync out mirrors Sync in and drives the other Kinects through the splitter (seeds/001: "In either the
    daisy-chain configuration or the star configuration, the external trigger source connects to the master
    device"; k4a_wired_sync_mode_t SUBORDINATE: "'Sync Out' is a mirror of 'Sync In'")."""
    source = gp.source
    if source is None or group.method in (SyncMethod.SOFTWARE, SyncMethod.PTP):
        return {}
    members = [m.device for m in group.members]
    if group.topology is Topology.CAPTURE_CARD and not source.startswith("trigger:"):
        return {m: _Feed(source, 1, False) for m in members if m != source}
    if group.topology is Topology.DAISY_CHAIN:
        chain = [m for m in members if m != source]
        feeds, upstream = {}, source
        for i, m in enumerate(chain):
            feeds[m] = _Feed(upstream, i + 1, False)
            upstream = m
        return feeds
    if source.startswith("trigger:"):
        kinects = [m for m in members if idx.model(m).vendor is Vendor.MICROSOFT]
        if kinects:
            hub = kinects[0]
            return {m: _Feed(source, 1, False) if m == hub or m not in kinects else _Feed(hub, 2, True)
                    for m in members}
    return {m: _Feed(source, 1, not source.startswith(("trigger:", "card:"))) for m in members if m != source}


def _member_plan(idx: RigIndex, device: DeviceSpec, group: SyncGroupSpec, gp: GroupPlan, feed: _Feed | None,
                 drives: bool) -> DevicePlan:
    model = get_model(device.model)
    member = idx.member(device.id)
    if member is None:  # group_of() found the device in this group
        raise KeyError(device.id)
    role = _role(group, gp, model, device.id)
    if member.role is not None:
        if model.vendor is Vendor.STEREOLABS and role is Role.CARD:
            pass  # "master"/"slave" name the capture card's trigger role; the camera stays card-triggered
        else:
            role = _ROLE_OF.get(member.role, role)
    trigger = _trigger_link(idx, group, device.id, feed) \
        if feed is not None and role in (Role.SUBORDINATE, Role.GENLOCK, Role.CARD) else None
    drives = drives and group.method in (SyncMethod.HARDWARE, SyncMethod.GENLOCK) and \
        group.topology is not Topology.CAPTURE_CARD
    trigger_out = drives if member.trigger_out is None else member.trigger_out
    vrole = vendor_role(model, role, group.burst, member.role)
    return DevicePlan(
        device_id=device.id,
        group=group.name,
        method=group.method,
        topology=group.topology,
        role=role,
        vendor_role=vrole,
        trigger=trigger,
        delay_ns=idx.delay_ns(device.id),
        depth_delay_ns=round(member.depth_delay_us * 1000),
        burst=group.burst if role in (Role.GENLOCK, Role.SUBORDINATE) else 1,
        synced_streams=tuple(s.name for s in device.streams if s.kind in _synced_kinds(model, role, vrole)),
        start_rank=1 if role is Role.MASTER else 0,
        trigger_out=trigger_out,
    )


def _role(group: SyncGroupSpec, gp: GroupPlan, model: CameraModel, device_id: str) -> Role:
    if group.method is SyncMethod.SOFTWARE:
        return Role.SOFTWARE
    if group.method is SyncMethod.PTP:
        # Cameras with a PTP clock of their own run PTP frame sync; the others (ZED) free-run on a PTP host.
        own_ptp = SyncMethod.PTP in model.sync.methods and model.clock.domain is ClockDomain.DEVICE
        return Role.PTP if own_ptp else Role.SOFTWARE
    if group.topology is Topology.CAPTURE_CARD:
        return Role.CARD
    if gp.source == device_id:
        return Role.MASTER
    return Role.GENLOCK if group.method is SyncMethod.GENLOCK else Role.SUBORDINATE


def _trigger_link(idx: RigIndex, group: SyncGroupSpec, device_id: str, feed: _Feed) -> TriggerLink:
    target_model = idx.model(device_id)
    member = idx.member(device_id)
    cable = member.cable_m if member is not None else 2.0
    upstream = feed.upstream
    if group.topology is Topology.CAPTURE_CARD and not upstream.startswith("trigger:"):
        return TriggerLink(source=upstream, target=device_id, hop=1, source_port="GMSL2 link",
                           target_port="frame sync", connector="GMSL2 (Fakra) cable", cable_m=cable)
    in_port = port(target_model, "in")
    if upstream.startswith("trigger:"):
        trig = idx.triggers[upstream.removeprefix("trigger:")]
        out_v: float | None = trig.level_v
        out_name, up_enabled = f"{trig.name} output", True
    else:
        out_port = port(idx.model(upstream), "out")
        out_v = out_port.level_v if out_port is not None else None
        out_name = f"{upstream} {out_port.name}" if out_port is not None else f"{upstream} (no sync output)"
        up_member = idx.member(upstream)
        up_enabled = out_port is not None and (up_member is None or up_member.trigger_out is not False)
    in_v = in_port.level_v if in_port is not None else None
    detected, shifter = up_enabled, False
    if out_v is not None and in_v is not None:
        level = check_level(out_v, in_v)
        detected, shifter = detected and level.detected, level.shifter
    if in_port is None:
        detected = False
    return TriggerLink(
        source=upstream, target=device_id, hop=feed.hop, source_port=out_name,
        target_port=f"{device_id} {in_port.name}" if in_port is not None else f"{device_id} (no sync input)",
        connector=in_port.connector if in_port is not None else "", level_out_v=out_v, level_in_v=in_v,
        level_shifter=shifter, detected=detected, cable_m=cable, splitter=feed.splitter,
    )


def _synced_kinds(model: CameraModel, role: Role, vrole: str) -> frozenset[StreamKind]:
    if role in (Role.STANDALONE, Role.SOFTWARE):
        return frozenset()
    if role is Role.PTP:
        return frozenset(StreamKind)
    if role is Role.GENLOCK and model.sync.genlock is not None:
        return model.sync.genlock.synced_kinds
    if model.vendor is Vendor.INTEL and role is Role.SUBORDINATE and vrole == "2":
        return frozenset({StreamKind.DEPTH, StreamKind.IR})  # slave mode 2: colour free-runs (seeds/004 App. A)
    return model.sync.synced_kinds


def vendor_role(model: CameraModel, role: Role, burst: int, declared: str | None = None) -> str:
    """The role in the vendor's own terms (RealSense: the inter-cam sync mode number)."""
    vendor = model.vendor
    if vendor is Vendor.INTEL:
        if declared is not None:
            return {"default": "0", "master": "1", "slave": "2", "full-slave": "3"}.get(declared, str(burst + 3))
        return {Role.MASTER: "1", Role.SUBORDINATE: "2", Role.GENLOCK: str(burst + 3)}.get(role, "0")
    if declared is not None:
        return declared
    if vendor is Vendor.MICROSOFT:
        return {Role.MASTER: "master", Role.SUBORDINATE: "subordinate"}.get(role, "standalone")
    if vendor is Vendor.ORBBEC:
        roles = model.sync.roles
        secondary = "SECONDARY_SYNCED" if "SECONDARY_SYNCED" in roles else "SECONDARY"
        free = "FREE_RUN" if "FREE_RUN" in roles else "STANDALONE"
        return {Role.MASTER: "PRIMARY", Role.SUBORDINATE: secondary}.get(role, free)
    if vendor is Vendor.GIGE_VISION:
        return {Role.PTP: "PtpStatus=Slave", Role.SUBORDINATE: "TriggerSource=Line0",
                Role.MASTER: "LineSource=ExposureActive"}.get(role, "free-run")
    if vendor is Vendor.STEREOLABS:
        return {Role.CARD: "capture-card sync", Role.PTP: "PTP slave"}.get(role, "free-run")
    return role.value


def _start_steps(plan: Plan) -> tuple[StartStep, ...]:
    """Capture cards and PTP first; subordinates before their master; external generators last."""
    steps: list[StartStep] = []
    for g in plan.groups:
        if g.source is not None and g.source.startswith("card:"):
            steps.append(StartStep("configure", g.source, "the capture card generates the frame sync before its "
                                                          "cameras stream (seeds/000)"))
        if g.method is SyncMethod.PTP and any(plan.device(m).role is Role.PTP for m in g.members):
            steps.append(StartStep("arm", g.name, "PTP cameras are armed for one scheduled start time (seeds/003); "
                                                  "settings change only while stopped"))
    for device_id in plan.start_order:
        d = plan.device(device_id)
        why = {
            Role.MASTER: "master last: its first pulse finds every subordinate waiting (seeds/001)",
            Role.SUBORDINATE: "waits for its trigger: started before the master (seeds/001)",
            Role.GENLOCK: "sync mode set before streaming; waits for triggers (seeds/004)",
            Role.CARD: "triggered by its capture card",
            Role.PTP: "starts at the scheduled PTP time",
        }.get(d.role, "free-running")
        if d.role is Role.SUBORDINATE and d.trigger_out and d.trigger is not None and \
                d.trigger.source.startswith("trigger:"):
            why = (f"the master device: takes {d.trigger.source.removeprefix('trigger:')} on its sync input and, as a "
                   "subordinate, mirrors it on its sync output to the others; waits for the trigger (seeds/001)")
        steps.append(StartStep("start", device_id, why))
    for g in plan.groups:
        if g.source is not None and g.source.startswith("trigger:"):
            steps.append(StartStep("start-trigger", g.source, "the generator starts once every member waits"))
    return tuple(steps)
