"""Constant-time look-ups into a rig, built once per plan: the planner's rules, budgets, host set-up, diagram and
views ask for devices, hosts, groups and members by name thousands of times on a stadium-size rig, and the rig
file's own look-ups scan a list each time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel
from rigsync.spec.model import DeviceSpec, HostSpec, RigSpec
from rigsync.spec.sync import SyncGroupSpec, SyncMember, TriggerSpec


@dataclass(frozen=True)
class RigIndex:
    devices: dict[str, DeviceSpec]
    hosts: dict[str, HostSpec]
    triggers: dict[str, TriggerSpec]
    groups: dict[str, SyncGroupSpec]
    group_of: dict[str, SyncGroupSpec]
    """Device id -> the (first) sync group that lists it."""
    member_of: dict[str, tuple[int, SyncMember]]
    """Device id -> its position and entry in that group's member list."""
    on_host: dict[str, tuple[DeviceSpec, ...]]
    """Host name -> the devices on it, in rig order (hosts the rig does not declare included)."""

    @classmethod
    def of(cls, rig: RigSpec) -> RigIndex:
        group_of: dict[str, SyncGroupSpec] = {}
        member_of: dict[str, tuple[int, SyncMember]] = {}
        for g in rig.sync_groups:
            for i, m in enumerate(g.members):
                if m.device not in group_of:
                    group_of[m.device] = g
                    member_of[m.device] = (i, m)
        on_host: dict[str, list[DeviceSpec]] = defaultdict(list)
        for d in rig.devices:
            on_host[d.host].append(d)
        return cls(
            devices={d.id: d for d in rig.devices}, hosts={h.name: h for h in rig.hosts},
            triggers={t.name: t for t in rig.triggers}, groups={g.name: g for g in rig.sync_groups},
            group_of=group_of, member_of=member_of, on_host={h: tuple(ds) for h, ds in on_host.items()},
        )

    def model(self, device_id: str) -> CameraModel:
        return get_model(self.devices[device_id].model)

    def member(self, device_id: str) -> SyncMember | None:
        found = self.member_of.get(device_id)
        return found[1] if found is not None else None

    def delay_ns(self, device_id: str) -> int:
        """A member's declared capture delay after its group's trigger: its delay plus its stagger slot (as
        :meth:`SyncGroupSpec.delay_ns`)."""
        i, m = self.member_of[device_id]
        return round((m.delay_us + i * self.group_of[device_id].stagger_us) * 1000)
