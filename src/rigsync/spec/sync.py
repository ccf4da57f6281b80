"""Sync groups, external triggers and simulated faults, as the rig file declares them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rigsync.core.ptp import PtpMode
from rigsync.core.sync import SyncMethod, Topology
from rigsync.spec import limits as lim
from rigsync.spec._check import NAME_RULE, name_ok, require


class TriggerPattern(StrEnum):
    PERIODIC = "periodic"
    RANDOM = "random"
    """Triggers at random times (mean rate ``rate_hz``), e.g. a pressure pad or heartbeat (Genlock)."""


class FaultKind(StrEnum):
    DISCONNECT = "disconnect"
    """The device drops off the bus for ``duration_s`` and comes back with its clock restarted."""
    DROP_BURST = "drop-burst"
    """Every frame of the device is lost on the link for ``duration_s``."""
    CLOCK_STEP = "clock-step"
    """A host's system clock is set by hand: it jumps by ``step_ms`` (on the grandmaster host this moves the
    PTP reference itself, the test of seeds/000)."""
    PTP_LOSS = "ptp-loss"
    """A host loses its PTP master for ``duration_s`` (cable pulled, switch down): holdover, then relock."""
    TRIGGER_LOSS = "trigger-loss"
    """A triggered device's sync input gets no pulses for ``duration_s`` (cable pulled, connector loose): it does
    what its vendor documents for its role (a Genlock camera or a Kinect subordinate waits, a RealSense slave fires
    on its own), and so do the devices it re-drives in a daisy chain."""

    @property
    def on_host(self) -> bool:
        return self in (FaultKind.CLOCK_STEP, FaultKind.PTP_LOSS)


@dataclass(frozen=True)
class TriggerSpec:
    """An external trigger generator (signal generator, PPS source, microcontroller)."""

    name: str
    rate_hz: float
    level_v: float = 5.0
    pulse_width_us: float = 100.0
    drive_ma: float = 20.0
    pattern: TriggerPattern = TriggerPattern.PERIODIC
    drift_ppm: float = 0.0

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid name", NAME_RULE)
        lim.TRIGGER_RATE_HZ.check("rate_hz", self.rate_hz)
        lim.LEVEL_V.check("level_v", self.level_v)
        lim.PULSE_WIDTH_US.check("pulse_width_us", self.pulse_width_us)
        require(self.pulse_width_us * 1e-6 < 1.0 / self.rate_hz, "pulse_width_us", self.pulse_width_us,
                 "longer than the trigger period", f"less than {1e6 / self.rate_hz:g} us at {self.rate_hz:g} Hz")
        lim.DRIVE_MA.check("drive_ma", self.drive_ma)
        lim.DRIFT_PPM.check("drift_ppm", self.drift_ppm)


@dataclass(frozen=True)
class SyncSource:
    """Exactly one of: a member device, an external trigger, a capture card."""

    device: str | None = None
    trigger: str | None = None
    card: str | None = None

    def __post_init__(self) -> None:
        given = [k for k in ("device", "trigger", "card") if getattr(self, k) is not None]
        require(len(given) == 1, "", {k: getattr(self, k) for k in given},
                 "give exactly one source", "device = \"<member>\", trigger = \"<trigger>\", card = \"<card>\"")


@dataclass(frozen=True)
class SyncMember:
    device: str
    delay_us: float = 0.0
    """Capture delay after the group's trigger (Kinect ``subordinate_delay_off_master_usec``)."""
    depth_delay_us: float = 0.0
    """Depth capture delay after colour within the device (Kinect ``depth_delay_off_color_usec``)."""
    role: str | None = None
    """The device's role in its vendor's terms, to override the planned one (``PRIMARY``, ``full-slave``...)."""
    trigger_out: bool | None = None
    """Whether the device drives its sync output (Orbbec ``trigger_out_enable``); None: when it drives a member."""
    cable_m: float = 2.0
    """Length of the trigger cable into this device."""

    def __post_init__(self) -> None:
        lim.DELAY_US.check("delay_us", self.delay_us)
        lim.DELAY_US.check("depth_delay_us", self.depth_delay_us)
        lim.CABLE_M.check("cable_m", self.cable_m)


class PtpTimestampMode(StrEnum):
    ONE_STEP = "one-step"
    TWO_STEP = "two-step"


@dataclass(frozen=True)
class PtpSpec:
    grandmaster: str = "external"
    """Host name of the grandmaster, or ``external`` for a dedicated PTP clock."""
    step_mode: PtpTimestampMode = PtpTimestampMode.TWO_STEP
    domain: int = 0
    offset_warn_ns: int = 1_000
    offset_error_ns: int = 10_000
    start_delay_s: float = 1.0
    """Scheduled start: acquisition starts this long after the capture is armed, at one PTP time."""
    mode: PtpMode = PtpMode.DISCIPLINE
    """The group's hosts' default; a host may override it (``[[hosts]] ptp_mode``)."""
    log_sync_interval: int = 0
    """ptp4l ``logSyncInterval``: Sync messages every 2^n s (0: once a second, -3: 8 per second)."""
    hosts: tuple[str, ...] = ()
    """Further hosts whose clocks join this PTP domain though their cameras are in another group (a host with a
    hardware-triggered Kinect chain, say): a device is in one sync group, a host's clock can serve several."""

    @property
    def sync_interval_ns(self) -> int:
        return round(1e9 * 2.0 ** self.log_sync_interval)

    def __post_init__(self) -> None:
        lim.PTP_DOMAIN.check("domain", self.domain)
        lim.LOG_SYNC_INTERVAL.check("log_sync_interval", self.log_sync_interval)
        lim.OFFSET_NS.check("offset_warn_ns", self.offset_warn_ns)
        lim.OFFSET_NS.check("offset_error_ns", self.offset_error_ns)
        require(self.offset_warn_ns <= self.offset_error_ns, "offset_warn_ns", self.offset_warn_ns,
                 "more than offset_error_ns", f"at most offset_error_ns = {self.offset_error_ns}")
        lim.START_DELAY_S.check("start_delay_s", self.start_delay_s)


_TOPOLOGIES = {
    SyncMethod.HARDWARE: (Topology.DAISY_CHAIN, Topology.STAR, Topology.CAPTURE_CARD),
    SyncMethod.GENLOCK: (Topology.DAISY_CHAIN, Topology.STAR),
    SyncMethod.PTP: (Topology.NETWORK,),
    SyncMethod.SOFTWARE: (Topology.NETWORK,),
}


@dataclass(frozen=True)
class SyncGroupSpec:
    name: str
    method: SyncMethod
    topology: Topology
    members: tuple[SyncMember, ...]
    source: SyncSource | None = None
    burst: int = 1
    """Frames per trigger: the Genlock burst (RealSense mode = burst + 3) or Orbbec ``frames_per_trigger``."""
    stagger_us: float = 0.0
    """High-speed capture: member i fires i x stagger_us after the trigger (on top of its delay)."""
    ptp: PtpSpec | None = None

    def __post_init__(self) -> None:
        require(name_ok(self.name), "name", self.name, "not a valid group name", NAME_RULE)
        allowed = _TOPOLOGIES[self.method]
        require(self.topology in allowed, "topology", self.topology.value,
                 f"not a topology of method {self.method.value}", [t.value for t in allowed])
        hosts_only = self.method is SyncMethod.PTP and self.ptp is not None and bool(self.ptp.hosts)
        require(len(self.members) > 0 or hosts_only, "members", [], "a sync group needs members",
                 "devices; a ptp group may instead list only hosts under [sync.ptp] hosts")
        names = [m.device for m in self.members]
        for i, n in enumerate(names):
            require(n not in names[:i], f"members[{i}].device", n, "listed twice in this group")
        lim.BURST.check("burst", self.burst)
        require(self.burst == 1 or self.method in (SyncMethod.GENLOCK, SyncMethod.HARDWARE), "burst", self.burst,
                 "only genlock and hardware groups take frames per trigger")
        lim.STAGGER_US.check("stagger_us", self.stagger_us)
        needs_source = self.method in (SyncMethod.HARDWARE, SyncMethod.GENLOCK) and \
            self.topology is not Topology.CAPTURE_CARD
        require(self.source is not None or not needs_source, "source", None,
                 f"a {self.method.value} {self.topology.value} group needs a source",
                 "source = { device = \"<member>\" } or source = { trigger = \"<trigger>\" }")
        require(self.source is None or self.method not in (SyncMethod.PTP, SyncMethod.SOFTWARE), "source",
                 "(given)", f"a {self.method.value} group has no trigger source")
        require(self.ptp is None or self.method is SyncMethod.PTP, "ptp", "(given)",
                 "only ptp groups take a [ptp] table")
        if self.source is not None and self.source.device is not None:
            require(self.source.device in names, "source.device", self.source.device,
                     "the source device must be a member of the group", names)

    @property
    def ptp_start_delay_s(self) -> float:
        """How long after arming a PTP group's cameras start together (its ``[sync.ptp]`` or the default)."""
        return (self.ptp or PtpSpec()).start_delay_s

    def member(self, device: str) -> SyncMember | None:
        return next((m for m in self.members if m.device == device), None)

    def delay_ns(self, device: str) -> int:
        """Declared capture delay of a member after the group trigger: its delay plus its stagger slot."""
        for i, m in enumerate(self.members):
            if m.device == device:
                return round((m.delay_us + i * self.stagger_us) * 1000)
        raise KeyError(device)


@dataclass(frozen=True)
class FaultSpec:
    """A simulated fault of a device (``disconnect``, ``drop-burst``) or of a host (``clock-step``,
    ``ptp-loss``)."""

    kind: FaultKind
    at_s: float
    duration_s: float = 0.0
    device: str | None = None
    host: str | None = None
    step_ms: float | None = None
    """``clock-step``: how far the clock jumps (negative: back)."""

    def __post_init__(self) -> None:
        kind = self.kind
        target = "host" if kind.on_host else "device"
        lim.FAULT_AT_S.check("at_s", self.at_s)
        require(getattr(self, target) is not None, target, None, f"a {kind.value} fault needs a {target}")
        other = "device" if kind.on_host else "host"
        require(getattr(self, other) is None, other, getattr(self, other),
                 f"a {kind.value} fault is a fault of a {target}", f"give {target} = \"<name>\" only")
        if kind is FaultKind.CLOCK_STEP:
            require(self.step_ms is not None and self.step_ms != 0, "step_ms", self.step_ms,
                     "a clock-step fault needs a non-zero step",
                     f"{lim.STEP_MS.describe()}, not 0 (negative to step back)")
            lim.STEP_MS.check("step_ms", self.step_ms)
            require(self.duration_s == 0, "duration_s", self.duration_s, "a clock step is instantaneous",
                     "leave duration_s out")
        else:
            require(self.step_ms is None, "step_ms", self.step_ms, "only clock-step faults take step_ms")
            lim.FAULT_DURATION_S.check("duration_s", self.duration_s)
