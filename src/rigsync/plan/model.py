"""The plan: what every device does in its sync group, who triggers whom, and the order to start them.

The capture path (simulated and real) is driven by the plan, never by the rig file directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rigsync.core.sync import SyncMethod, Topology
from rigsync.spec.model import RigSpec


class Role(StrEnum):
    """A device's role in rigsync's own terms (the vendor's term is in ``DevicePlan.vendor_role``)."""

    STANDALONE = "standalone"
    """Not in any sync group: free-running."""
    SOFTWARE = "software"
    """Free-running, aligned afterwards by timestamps."""
    MASTER = "master"
    """Runs on its own clock and drives the group's trigger (Kinect master, Orbbec PRIMARY, RealSense 1)."""
    SUBORDINATE = "subordinate"
    """Starts each capture on a trigger pulse (Kinect subordinate, Orbbec SECONDARY, RealSense slave)."""
    GENLOCK = "genlock"
    """RealSense Genlock: each accepted trigger starts a burst (inter-cam sync mode burst + 3)."""
    CARD = "capture-card"
    """GMSL2 camera triggered by its ZED Link capture card."""
    PTP = "ptp"
    """Starts at a scheduled PTP time and runs on its PTP-disciplined clock."""


@dataclass(frozen=True)
class TriggerLink:
    """One cable (or splitter branch) carrying the trigger to a device."""

    source: str
    """What drives it: a device id, ``trigger:<name>`` or ``card:<name>``."""
    target: str
    hop: int
    """1 for the first device after the source, 2 for the next in a daisy chain..."""


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
class Plan:
    rig: RigSpec
    devices: tuple[DevicePlan, ...]
    groups: tuple[GroupPlan, ...]

    def device(self, device_id: str) -> DevicePlan:
        for d in self.devices:
            if d.device_id == device_id:
                return d
        raise KeyError(device_id)

    def group(self, name: str) -> GroupPlan:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    @property
    def start_order(self) -> tuple[str, ...]:
        """Device ids in the order to start them (stable within a rank)."""
        ranked = sorted(enumerate(self.devices), key=lambda item: (item[1].start_rank, item[0]))
        return tuple(d.device_id for _, d in ranked)
