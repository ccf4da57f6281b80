"""PTP as rigsync sees it: how a host uses the reference, the PTP port states, and one monitoring sample.

A :class:`PtpSample` is what a monitor reads from linuxptp (``pmc``: CURRENT_DATA_SET, PORT_DATA_SET,
TIME_STATUS_NP; ``phc2sys`` / ``phc_ctl`` for the system clock against the NIC's clock) or what the
simulator's model of ptp4l reports. Offsets follow linuxptp's sign: ``offsetFromMaster`` = local clock minus
master clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FIRST_STEP_THRESHOLD_NS = 20_000
"""ptp4l ``first_step_threshold`` default (20 us): the servo steps the clock when it first locks, above this."""
STEP_THRESHOLD_NS = 1_000_000
"""The ``step_threshold`` rigsync gives ptp4l and phc2sys (1 ms): a clock further off is stepped, not slewed for
minutes (the kernel slews at most 500 ppm, and slewing drags CLOCK_MONOTONIC along)."""


class PtpMode(StrEnum):
    """How a host uses the PTP reference."""

    DISCIPLINE = "discipline"
    """The standard set-up: ptp4l (and phc2sys) steer the system clock to the reference."""
    OBSERVE = "observe"
    """ptp4l runs with ``free_running 1``: it measures the offset and never touches the clock; rigsync maps host
    time to PTP time itself (hosts whose clock must not be changed, tests)."""


class HostRole(StrEnum):
    """How a host's clock relates to the rig clock."""

    REFERENCE = "reference"
    """The host's system clock is the rig clock (a single-host rig, the PTP grandmaster host)."""
    PTP = "ptp"
    """Tied to the reference by PTP (a PTP slave)."""
    UNSYNCED = "unsynced"
    """Tied to the reference by nothing (a host outside PTP on a multi-host rig): its time base is its own."""


class SyncLevel(StrEnum):
    """A host's PTP health against its group's levels (the Emergent Status view's green / yellow / red)."""

    OK = "ok"
    WARN = "warn"
    ERROR = "error"


class PortState(StrEnum):
    """IEEE 1588 port states, as ``pmc`` prints them (PORT_DATA_SET ``portState``)."""

    INITIALIZING = "INITIALIZING"
    FAULTY = "FAULTY"
    DISABLED = "DISABLED"
    LISTENING = "LISTENING"
    PRE_MASTER = "PRE_MASTER"
    MASTER = "MASTER"
    PASSIVE = "PASSIVE"
    UNCALIBRATED = "UNCALIBRATED"
    SLAVE = "SLAVE"
    GRAND_MASTER = "GRAND_MASTER"

    @classmethod
    def parse(cls, text: str) -> PortState:
        """A state name, including the newer linuxptp spellings (CLIENT / SERVER, TIME_RECEIVER /
        TIME_TRANSMITTER)."""
        name = text.strip().upper()
        return cls(_ALIASES.get(name, name))

    @property
    def is_master(self) -> bool:
        return self in (PortState.MASTER, PortState.GRAND_MASTER, PortState.PRE_MASTER)


_ALIASES = {"CLIENT": "SLAVE", "TIME_RECEIVER": "SLAVE", "SERVER": "MASTER", "TIME_TRANSMITTER": "MASTER",
            "PRE_SERVER": "PRE_MASTER", "PRE_TIME_TRANSMITTER": "PRE_MASTER"}


@dataclass(frozen=True, slots=True)
class PtpSample:
    """One reading of a host's PTP state."""

    host: str
    host_ns: int
    """Host system clock (CLOCK_REALTIME) at the instant the offset refers to (the last Sync's ingress for
    software timestamping, else the time of the reading)."""
    mono_ns: int
    """The host's monotonic clock (CLOCK_MONOTONIC) at the same instant: it never steps, so rigsync maps it,
    not the system clock, to rig time."""
    port_state: PortState
    offset_ns: int | None
    """ptp4l ``offsetFromMaster``: the clock ptp4l steers (the NIC's PHC with hardware timestamping, the system
    clock with software timestamping) minus the master's; None when there is no master."""
    mean_path_delay_ns: int | None
    gm_identity: str | None
    gm_present: bool
    sys_offset_ns: int | None = None
    """Hardware timestamping: system clock minus the PHC (phc2sys's ``offset``, or ``phc_ctl cmp``); the
    system clock's offset from the master is ``offset_ns + sys_offset_ns``."""
    steps_removed: int | None = None
    ingress_ns: int | None = None
    """TIME_STATUS_NP ``ingress_time``: the last Sync's arrival on the clock ptp4l runs (identifies the Sync)."""

    @property
    def system_offset_ns(self) -> int | None:
        """System clock minus master clock, as measured (None without a master)."""
        if self.offset_ns is None:
            return None
        return self.offset_ns + (self.sys_offset_ns or 0)

    def to_json(self) -> dict[str, object]:
        return {
            "host": self.host, "host_ns": self.host_ns, "mono_ns": self.mono_ns, "port_state": self.port_state.value,
            "offset_ns": self.offset_ns, "mean_path_delay_ns": self.mean_path_delay_ns,
            "gm_identity": self.gm_identity, "gm_present": self.gm_present, "sys_offset_ns": self.sys_offset_ns,
            "steps_removed": self.steps_removed, "ingress_ns": self.ingress_ns,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> PtpSample:
        def opt_int(key: str) -> int | None:
            value = data.get(key)
            return int(value) if isinstance(value, int | float) else None

        gm = data.get("gm_identity")
        return cls(host=str(data["host"]), host_ns=int(data["host_ns"]),  # type: ignore[call-overload]
                   mono_ns=int(data["mono_ns"]),  # type: ignore[call-overload]
                   port_state=PortState.parse(str(data["port_state"])), offset_ns=opt_int("offset_ns"),
                   mean_path_delay_ns=opt_int("mean_path_delay_ns"), gm_identity=str(gm) if gm else None,
                   gm_present=bool(data.get("gm_present")), sys_offset_ns=opt_int("sys_offset_ns"),
                   steps_removed=opt_int("steps_removed"), ingress_ns=opt_int("ingress_ns"))
