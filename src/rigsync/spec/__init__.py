"""The rig file: TOML in, typed frozen :class:`RigSpec` out, with errors that name file, field and value."""

from rigsync.spec.loader import load_rig, loads_rig
from rigsync.spec.model import DeviceSpec, HostSpec, RigSpec, StreamSpec
from rigsync.spec.sync import FaultSpec, SyncGroupSpec, SyncMember, TriggerSpec

__all__ = [
    "DeviceSpec",
    "FaultSpec",
    "HostSpec",
    "RigSpec",
    "StreamSpec",
    "SyncGroupSpec",
    "SyncMember",
    "TriggerSpec",
    "load_rig",
    "loads_rig",
]
