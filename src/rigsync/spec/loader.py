"""Load a rig file (TOML) into a validated :class:`RigSpec`.

Every error names the file, the field path, the bad value and what is allowed, e.g.
``rig.toml: devices[3].streams[0].fps = 25: azure-kinect-dk color 1280x720 supports 5, 15, 30``.
Unknown keys are errors. The format is documented in ``docs/rig-file.md`` and ``examples/``.
"""

from __future__ import annotations

import math
from pathlib import Path

from rigsync.catalog import get_model, model_keys
from rigsync.catalog.base import CameraModel, Vendor
from rigsync.core.errors import RigFileError
from rigsync.core.frame import StreamKind
from rigsync.core.geometry import Pose
from rigsync.core.ptp import PtpMode
from rigsync.core.sync import LinkKind, SyncMethod, Topology
from rigsync.spec import limits as lim
from rigsync.spec._crossref import check_device, check_groups, ptp_host_names, triggered, unique, unique_serials
from rigsync.spec._sim_table import sim_table
from rigsync.spec._source import decode, parse_toml
from rigsync.spec._table import Table
from rigsync.spec.model import (
    CaptureCard,
    Connection,
    DeviceSimSpec,
    DeviceSpec,
    HostSpec,
    Nic,
    NicKind,
    Platform,
    RigSpec,
    StreamSpec,
    Timestamping,
    UsbController,
)
from rigsync.spec.sync import (
    FaultKind,
    FaultSpec,
    PtpSpec,
    PtpTimestampMode,
    SyncGroupSpec,
    SyncMember,
    SyncSource,
    TriggerPattern,
    TriggerSpec,
)
from rigsync.spec.verify import VERIFY_KEYS, VerifyConfig, VerifySpec

_TOP = ("rig", "sim", "hosts", "devices", "sync", "triggers", "faults", "verify")
_CONNECTION_FORMS = {
    LinkKind.USB: "usb:<controller>",
    LinkKind.GMSL: "gmsl:<card>:<port>",
    LinkKind.ETHERNET: "eth:<nic>",
}


MAX_RIG_FILE_BYTES = 64 << 20
"""A rig file is text a person writes: a 2,000-device stadium rig is under 1 MB. Reading stops past this (a device,
a pipe or a mistaken path such as a video file would be read forever, or into memory)."""


def load_rig(path: str | Path) -> RigSpec:
    """Read and validate a rig file (UTF-8 TOML)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise RigFileError(str(p), "", None, "is a folder, not a rig file")
        with p.open("rb") as f:
            raw = f.read(MAX_RIG_FILE_BYTES + 1)
    except OSError as err:
        raise RigFileError(str(p), "", None, f"cannot read the rig file: {err.strerror or err}") from None
    if len(raw) > MAX_RIG_FILE_BYTES:
        raise RigFileError(str(p), "", None, f"larger than {MAX_RIG_FILE_BYTES >> 20} MiB: not a rig file (a rig file "
                                             "is TOML text; a 2,000-device rig is under 1 MB)")
    return loads_rig(decode(raw, p.name), str(p))


def loads_rig(text: str, path: str = "<rig>") -> RigSpec:
    """Validate rig-file text; ``path`` is only used to name the file in errors."""
    name = Path(path).name
    top = Table(name, "", parse_toml(text, name), _TOP)

    rig = top.table("rig", ("name", "description"))
    rig_name = rig.text("name", Path(path).stem) if rig else Path(path).stem
    description = rig.text("description", "") if rig else ""
    sim = sim_table(top, Path(path).parent)
    hosts = tuple(_host(t) for t in top.tables("hosts", _HOST_KEYS))
    if not hosts:
        raise RigFileError(name, "hosts", [], "a rig needs at least one [[hosts]] entry")
    unique(top, "hosts", [h.name for h in hosts], "name")
    agents = [h.agent for h in hosts]
    for i, agent in enumerate(agents):
        if agent is not None and agent in agents[:i]:
            raise RigFileError(name, f"hosts[{i}].agent", agent, f"also hosts[{agents.index(agent)}]'s agent endpoint",
                               "one agent endpoint per host (the address of that host)")
    triggers = tuple(_trigger(t) for t in top.tables("triggers", _TRIGGER_KEYS))
    unique(top, "triggers", [t.name for t in triggers], "name")

    device_tables = top.tables("devices", _DEVICE_KEYS)
    devices = tuple(_device(t) for t in device_tables)
    if not devices:
        raise RigFileError(name, "devices", [], "a rig needs at least one [[devices]] entry")
    unique(top, "devices", [d.id for d in devices], "id")
    for table, device in zip(device_tables, devices, strict=True):
        check_device(table, device, hosts)
    unique_serials(top, devices)

    group_tables = top.tables("sync", _GROUP_KEYS)
    groups = tuple(_group(t) for t in group_tables)
    unique(top, "sync", [g.name for g in groups], "name")
    check_groups(group_tables, groups, devices, hosts, triggers)
    verify = VerifyConfig(_verify(top), tuple((g.name, _verify(t)) for g, t in zip(groups, group_tables, strict=True)
                                              if t.has("verify")))

    fault_tables = top.tables("faults", ("device", "host", "kind", "at_s", "duration_s", "step_ms"))
    faults = tuple(
        t.build(FaultSpec, device=t.text("device", None), host=t.text("host", None),
                kind=t.choice("kind", FaultKind), at_s=t.number("at_s"), duration_s=t.number("duration_s", 0.0),
                step_ms=t.number("step_ms", None))
        for t in fault_tables
    )
    ids = [d.id for d in devices]
    host_names = [h.name for h in hosts]
    for table, fault in zip(fault_tables, faults, strict=True):
        if fault.device is not None and fault.device not in ids:
            raise table.error("device", fault.device, "no such device", ids)
        if fault.host is not None and fault.host not in host_names:
            raise table.error("host", fault.host, "no such host", host_names)
        if fault.kind is FaultKind.TRIGGER_LOSS and fault.device not in triggered(groups):
            raise table.error("device", fault.device, "takes no trigger: it has no sync input to lose",
                              sorted(triggered(groups)) or "no device takes a trigger")
        if fault.kind is FaultKind.PTP_LOSS and fault.host not in ptp_host_names(groups, devices):
            raise table.error("host", fault.host, "takes part in no PTP group: it has no PTP lock to lose",
                              sorted(ptp_host_names(groups, devices)) or "no host runs PTP")
    return RigSpec(name=rig_name, path=path, text=text, hosts=hosts, devices=devices, sync_groups=groups,
                   triggers=triggers, faults=faults, sim=sim, description=description, verify=verify)


# --- tables -------------------------------------------------------------------------------------

def _verify(parent: Table) -> VerifySpec:
    """A ``[verify]`` table (rig-wide, or a sync group's ``verify``); every key optional."""
    t = parent.table("verify", VERIFY_KEYS)
    if t is None:
        return VerifySpec()
    return t.build(VerifySpec, **{key: t.number(key, None) for key in VERIFY_KEYS})


_HOST_KEYS = ("name", "platform", "gpu_memory_mb", "zed_link_driver", "usb_controllers", "nics", "capture_cards",
              "ptp_mode", "agent")


def _host(t: Table) -> HostSpec:
    controllers = tuple(
        c.build(UsbController, name=c.text("name"), capacity_mb_s=c.number("capacity_mb_s", 620.0))
        for c in t.tables("usb_controllers", ("name", "capacity_mb_s"))
    )
    nics = tuple(
        n.build(Nic, name=n.text("name"), kind=n.choice("kind", NicKind, NicKind.ETHERNET),
                timestamping=n.choice("timestamping", Timestamping, Timestamping.SOFTWARE),
                speed_gbps=n.number("speed_gbps", 1.0))
        for n in t.tables("nics", ("name", "kind", "timestamping", "speed_gbps"))
    )
    cards = tuple(
        c.build(CaptureCard, name=c.text("name"), model=c.text("model"))
        for c in t.tables("capture_cards", ("name", "model"))
    )
    return t.build(HostSpec, name=t.text("name"), platform=t.choice("platform", Platform, Platform.X86_64),
                   gpu_memory_mb=t.integer("gpu_memory_mb", None),
                   zed_link_driver=t.flag("zed_link_driver", False),
                   usb_controllers=controllers, nics=nics, capture_cards=cards,
                   ptp_mode=t.choice("ptp_mode", PtpMode, None), agent=t.text("agent", None))


_TRIGGER_KEYS = ("name", "rate_hz", "level_v", "pulse_width_us", "drive_ma", "pattern", "drift_ppm")


def _trigger(t: Table) -> TriggerSpec:
    return t.build(TriggerSpec, name=t.text("name"), rate_hz=t.number("rate_hz"),
                   level_v=t.number("level_v", 5.0), pulse_width_us=t.number("pulse_width_us", 100.0),
                   drive_ma=t.number("drive_ma", 20.0),
                   pattern=t.choice("pattern", TriggerPattern, TriggerPattern.PERIODIC),
                   drift_ppm=t.number("drift_ppm", 0.0))


_DEVICE_KEYS = ("id", "model", "serial", "host", "connection", "driver", "file", "pose", "streams", "sim",
                "packet_size")
_STREAM_KEYS = ("name", "kind", "width", "height", "fps", "format", "exposure", "exposure_us")


def _device(t: Table) -> DeviceSpec:
    model = _model(t)
    pose_t = t.table("pose", ("position", "look_at", "up"))
    pose = _pose(pose_t) if pose_t is not None else None
    streams = tuple(_stream(s, model) for s in t.tables("streams", _STREAM_KEYS))
    sim_t = t.table("sim", ("drift_ppm", "clock_start_s", "drop_rate", "ir_projector"))
    sim = DeviceSimSpec()
    if sim_t is not None:
        sim = sim_t.build(DeviceSimSpec, drift_ppm=sim_t.number("drift_ppm", None),
                          clock_start_s=sim_t.number("clock_start_s", None),
                          drop_rate=sim_t.number("drop_rate", 0.0),
                          ir_projector=sim_t.flag("ir_projector", True))
    connection_text = t.text("connection")
    connection = t.build(Connection.parse, text=connection_text)
    if connection.kind is not model.link:
        raise t.error("connection", connection_text, f"{model.key} connects over {model.link.value}",
                      _CONNECTION_FORMS[model.link])
    device = t.build(DeviceSpec, id=t.text("id"), model=model.key, serial=t.text("serial"), host=t.text("host"),
                     connection=connection, streams=streams, driver=t.text("driver", "sim"), pose=pose, sim=sim,
                     file=t.text("file", None), packet_size=t.integer("packet_size", None))
    if device.packet_size is not None and model.vendor is not Vendor.GIGE_VISION:
        raise t.error("packet_size", device.packet_size, f"{model.key} is no GigE Vision camera: only those stream "
                      "GVSP packets", "leave packet_size out")
    return device


def _pose(t: Table) -> Pose:
    """A camera pose: coordinates within range, a viewing direction, an up vector not along it."""
    position, look_at, up = t.vec3("position"), t.vec3("look_at", (0.0, 0.0, 1.0)), t.vec3("up", (0.0, 0.0, 1.0))
    for key, vec, limits in (("position", position, lim.POSITION_M), ("look_at", look_at, lim.POSITION_M),
                             ("up", up, lim.UP)):
        problem = next((p for p in map(limits.problem, vec) if p is not None), None)
        if problem is not None:
            raise t.error(key, t.data[key], problem, f"coordinates {limits.describe()}")
    view = tuple(b - a for a, b in zip(position, look_at, strict=True))
    if math.hypot(*view) < MIN_LOOK_M:
        raise t.error("look_at", list(look_at), "the camera looks at its own position: no viewing direction",
                      f"a point at least {MIN_LOOK_M * 1000:g} mm from position {list(position)}")
    cross = (view[1] * up[2] - view[2] * up[1], view[2] * up[0] - view[0] * up[2], view[0] * up[1] - view[1] * up[0])
    if math.hypot(*up) == 0 or math.hypot(*cross) < 1e-6 * math.hypot(*view) * math.hypot(*up):
        raise t.error("up", list(up), "zero, or along the viewing direction (look_at - position): the image "
                      "orientation is undefined", "a vector across the viewing direction, e.g. [0, 0, 1]")
    return Pose(position_m=position, look_at_m=look_at, up=up)


MIN_LOOK_M = 0.001
"""A camera's look_at must be at least this far from its position."""


def _model(t: Table) -> CameraModel:
    key = t.text("model")
    try:
        return get_model(key)
    except KeyError:
        raise t.error("model", key, "not a camera model in the catalog", model_keys()) from None


def _stream(t: Table, model: CameraModel) -> StreamSpec:
    kind = t.choice("kind", StreamKind)
    if kind not in model.kinds():
        raise t.error("kind", kind.value, f"{model.key} has no {kind.value} stream", [k.value for k in model.kinds()])
    width, height = t.integer("width"), t.integer("height")
    mode = model.mode(kind, width, height)
    if mode is None:
        sizes = [f"{m.width}x{m.height}" for m in model.modes_for(kind)]
        raise RigFileError(t.file, t.field("width") + "," + "height", _Size(width, height),
                           f"{model.key} {kind.value} has no such resolution", sizes)
    fps = t.number("fps")
    if not mode.supports_fps(fps):
        raise t.error("fps", _num(fps), f"{model.key} {kind.value} {width}x{height} supports {mode.describe_fps()}")
    fmt = t.text("format", mode.formats[0])
    if fmt not in mode.formats:
        raise t.error("format", fmt, f"not a {model.key} {kind.value} format at {width}x{height}", mode.formats)
    if t.has("exposure") and t.has("exposure_us"):
        raise t.error("exposure", t.data["exposure"], "give either exposure = \"auto\" or exposure_us, not both")
    exposure_us = t.integer("exposure_us", None)
    if t.has("exposure") and t.text("exposure") != "auto":
        raise t.error("exposure", t.data["exposure"], "only \"auto\" is a word here; set exposure_us for manual",
                      ["auto"])
    if exposure_us is not None:
        lo, hi = model.exposure_range_us
        if not lo <= exposure_us <= hi:
            raise t.error("exposure_us", exposure_us, f"outside {model.key} {kind.value} exposure range",
                          f"{lo:g} to {hi:g} us")
    return t.build(StreamSpec, name=t.text("name", kind.value), kind=kind, width=width, height=height, fps=fps,
                   pixel_format=fmt, exposure_us=exposure_us)


_GROUP_KEYS = ("name", "method", "topology", "source", "members", "burst", "stagger_us", "ptp", "verify")


def _group(t: Table) -> SyncGroupSpec:
    method = t.choice("method", SyncMethod)
    default_topology = Topology.NETWORK if method in (SyncMethod.PTP, SyncMethod.SOFTWARE) else None
    topology = t.choice("topology", Topology, default_topology)
    if topology is None:
        raise t.error("topology", None, f"a {method.value} group needs a topology",
                      ["daisy-chain", "star", "capture-card"])
    source_t = t.table("source", ("device", "trigger", "card"))
    source = None
    if source_t is not None:
        source = source_t.build(SyncSource, device=source_t.text("device", None),
                                trigger=source_t.text("trigger", None), card=source_t.text("card", None))
    members = tuple(
        m.build(SyncMember, device=m.text("device"), delay_us=m.number("delay_us", 0.0),
                depth_delay_us=m.number("depth_delay_us", 0.0), role=m.text("role", None),
                trigger_out=m.flag("trigger_out", None), cable_m=m.number("cable_m", 2.0))
        for m in t.tables("members", ("device", "delay_us", "depth_delay_us", "role", "trigger_out", "cable_m"))
    )
    ptp_t = t.table("ptp", ("grandmaster", "step_mode", "domain", "offset_warn_ns", "offset_error_ns",
                            "start_delay_s", "mode", "log_sync_interval", "hosts"))
    ptp = None
    if ptp_t is not None:
        ptp = ptp_t.build(PtpSpec, grandmaster=ptp_t.text("grandmaster"),
                          step_mode=ptp_t.choice("step_mode", PtpTimestampMode, PtpTimestampMode.TWO_STEP),
                          domain=ptp_t.integer("domain", 0), offset_warn_ns=ptp_t.integer("offset_warn_ns", 1000),
                          offset_error_ns=ptp_t.integer("offset_error_ns", 10000),
                          start_delay_s=ptp_t.number("start_delay_s", 1.0),
                          mode=ptp_t.choice("mode", PtpMode, PtpMode.DISCIPLINE),
                          log_sync_interval=ptp_t.integer("log_sync_interval", 0),
                          hosts=tuple(ptp_t.str_list("hosts", ())))
    return t.build(SyncGroupSpec, name=t.text("name"), method=method, topology=topology, members=members,
                   source=source, burst=t.integer("burst", 1), stagger_us=t.number("stagger_us", 0.0), ptp=ptp)


class _Size:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def _num(value: float) -> object:
    return int(value) if float(value).is_integer() else value
