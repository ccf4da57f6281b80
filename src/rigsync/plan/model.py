"""The plan: what every device does in its sync group, who triggers whom through which cable and at which
signal level, the order to start things, the budgets each host must carry, and every rule the rig breaks.

The capture path (simulated and real) is driven by the plan, never by the rig file directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from rigsync.core.ptp import HostRole, PtpMode
from rigsync.core.sync import SyncMethod, Topology
from rigsync.plan.index import RigIndex
from rigsync.spec.model import DeviceSpec, RigSpec
from rigsync.spec.sync import PtpSpec


class Role(StrEnum):
    """A device's role in rigsync's own terms (the vendor's term is in ``DevicePlan.vendor_role``)."""

    STANDALONE = "standalone"
    """Not in any sync group: free-running."""
    SOFTWARE = "software"
    """Free-running, aligned afterwards by timestamps (on PTP-disciplined host clocks in a ptp group)."""
    MASTER = "master"
    """Runs on its own clock and drives the group's trigger (Kinect master, Orbbec PRIMARY, RealSense 1)."""
    SUBORDINATE = "subordinate"
    """Starts each capture on a trigger pulse (Kinect subordinate, Orbbec SECONDARY, RealSense slave)."""
    GENLOCK = "genlock"
    """RealSense Genlock: each accepted trigger starts a burst (inter-cam sync mode burst + 3)."""
    CARD = "capture-card"
    """GMSL2 camera triggered by its ZED Link capture card."""
    PTP = "ptp"
    """Starts at a scheduled PTP time and runs on its PTP-disciplined clock (GigE Vision frame sync)."""


class Severity(StrEnum):
    ERROR = "error"
    """The rig will not work as declared; ``rigsync capture`` refuses it unless forced."""
    WARNING = "warning"
    """It works, but not well, or not for long."""
    INFO = "info"
    """Something to know or do (a host setting, a calibration step)."""


@dataclass(frozen=True)
class Diagnostic:
    rule: str
    """Stable rule id, e.g. ``K4A-STAR-MAX`` (see docs/rules.md)."""
    severity: Severity
    devices: tuple[str, ...]
    message: str
    source: str
    """Where the rule comes from: a seed document section or the vendor's SDK documentation."""
    fix: str

    def __str__(self) -> str:
        who = f" [{', '.join(self.devices)}]" if self.devices else ""
        return f"{self.severity.value} {self.rule}{who}: {self.message} (fix: {self.fix}; source: {self.source})"


@dataclass(frozen=True)
class TriggerLink:
    """One cable (or splitter branch) carrying the trigger to a device."""

    source: str
    """What drives it: a device id, ``trigger:<name>`` or ``card:<name>``."""
    target: str
    hop: int
    """1 for the first device after the source, 2 for the next in a daisy chain..."""
    source_port: str = ""
    target_port: str = ""
    connector: str = ""
    level_out_v: float | None = None
    level_in_v: float | None = None
    level_shifter: bool = False
    """The output's level does not suit the input: a level shifter is needed."""
    detected: bool = True
    """Whether the input sees the pulses at all (False: the source's level is below the input's threshold, or
    the upstream device's trigger output is disabled)."""
    cable_m: float = 2.0
    splitter: bool = False


@dataclass(frozen=True)
class DevicePlan:
    device_id: str
    group: str | None
    method: SyncMethod | None
    topology: Topology | None
    role: Role
    vendor_role: str
    """The role in the vendor's own terms (``subordinate``, ``SECONDARY_SYNCED``, inter-cam sync mode ``4``)."""
    trigger: TriggerLink | None
    """The link that triggers this device, if it is triggered."""
    delay_ns: int
    """Capture delay after the group trigger: declared delay plus the stagger slot."""
    depth_delay_ns: int
    """Depth capture delay after colour within the device (ToF interference offsets)."""
    burst: int
    synced_streams: tuple[str, ...]
    """Streams whose exposures follow the group's trigger or schedule; the others free-run."""
    start_rank: int
    """Devices start in increasing rank: subordinates (0) before their master (1)."""
    trigger_out: bool = False
    """Whether the device drives its sync output."""


@dataclass(frozen=True)
class GroupPlan:
    name: str
    method: SyncMethod
    topology: Topology
    source: str | None
    """Device id, ``trigger:<name>``, ``card:<name>``, or None (PTP schedule, software)."""
    trigger_period_ns: int | None
    """Period of the group's trigger or schedule (None: software groups)."""
    random_triggers: bool
    """Triggers come at random times (a Genlock pressure pad): no steady period."""
    members: tuple[str, ...]


@dataclass(frozen=True)
class StartStep:
    """One step of bringing the rig up, in order."""

    action: str
    """``configure``, ``start``, ``arm``, ``start-trigger``."""
    target: str
    why: str


@dataclass(frozen=True)
class Budget:
    """One shared resource and what the rig puts on it."""

    kind: str
    """``usb``, ``nic``, ``gmsl-card``, ``gpu-memory``, ``usbfs-memory``."""
    host: str
    resource: str
    used: float
    capacity: float | None
    unit: str
    devices: tuple[str, ...]

    @property
    def ratio(self) -> float | None:
        return None if not self.capacity else self.used / self.capacity


@dataclass(frozen=True)
class HostSetup:
    host: str
    steps: tuple[str, ...]
    ptp_role: str | None = None
    """``grandmaster`` or ``slave`` when the host takes part in a PTP group."""
    ptp_interface: str | None = None
    timestamping: str | None = None
    """``hardware`` or ``software`` PTP timestamping on that interface."""
    clock_role: HostRole = HostRole.REFERENCE
    """How the host's clock relates to the rig clock (reference, PTP slave, or tied by nothing)."""
    ptp_mode: PtpMode | None = None
    """``discipline`` or ``observe`` for a host in PTP (a grandmaster in observe mode runs ``free_running`` too:
    it never adjusts its clock should it ever lose the grandmaster role)."""
    ptp_group: str | None = None
    """The PTP group whose levels and sync interval apply to this host."""


@dataclass(frozen=True)
class DepthWindow:
    """When one ToF camera's lasers fire, relative to its group's trigger."""

    device: str
    start_us: float
    exposure_us: float
    pulse_windows_us: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Stagger:
    """A staggered high-speed group: what it achieves and what it costs."""

    group: str
    cameras: int
    camera_fps: float
    stagger_us: float
    effective_fps: float
    max_exposure_us: float
    """Exposures longer than the stagger overlap in time: the limit for distinct time slices."""


@dataclass(frozen=True)
class Plan:
    rig: RigSpec
    devices: tuple[DevicePlan, ...]
    groups: tuple[GroupPlan, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    budgets: tuple[Budget, ...] = ()
    hosts: tuple[HostSetup, ...] = ()
    start_steps: tuple[StartStep, ...] = ()
    depth_windows: tuple[DepthWindow, ...] = ()
    staggers: tuple[Stagger, ...] = ()
    warmup_ns: int = 0
    """Frames exposed before this long after the capture starts are discarded (clocks, exposure settling)."""
    notes: tuple[str, ...] = field(default=())

    @cached_property
    def index(self) -> RigIndex:
        """Look-ups into the rig by name (built on first use)."""
        return RigIndex.of(self.rig)

    @cached_property
    def _devices_by_id(self) -> dict[str, DevicePlan]:
        return {d.device_id: d for d in self.devices}

    @cached_property
    def _groups_by_name(self) -> dict[str, GroupPlan]:
        return {g.name: g for g in self.groups}

    @cached_property
    def _hosts_by_name(self) -> dict[str, HostSetup]:
        return {h.host: h for h in self.hosts}

    @cached_property
    def _members(self) -> dict[str, tuple[DevicePlan, ...]]:
        out: dict[str, list[DevicePlan]] = {g.name: [] for g in self.groups}
        for d in self.devices:
            if d.group is not None:
                out.setdefault(d.group, []).append(d)
        return {name: tuple(ds) for name, ds in out.items()}

    def device(self, device_id: str) -> DevicePlan:
        return self._devices_by_id[device_id]

    def spec(self, device_id: str) -> DeviceSpec:
        """The device as the rig file declares it."""
        return self.index.devices[device_id]

    def group(self, name: str) -> GroupPlan:
        return self._groups_by_name[name]

    def host(self, name: str) -> HostSetup:
        return self._hosts_by_name[name]

    def members(self, group: str) -> tuple[DevicePlan, ...]:
        """The plans of a group's devices, in rig order."""
        return self._members.get(group, ())

    def ptp_of(self, host: str) -> PtpSpec:
        """The PTP settings of the group a host takes part in (the defaults when it is in none)."""
        name = self.host(host).ptp_group
        group = self.index.groups.get(name) if name is not None else None
        return group.ptp if group is not None and group.ptp is not None else PtpSpec()

    @property
    def start_order(self) -> tuple[str, ...]:
        """Device ids in the order to start them (stable within a rank)."""
        ranked = sorted(enumerate(self.devices), key=lambda item: (item[1].start_rank, item[0]))
        return tuple(d.device_id for _, d in ranked)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)
