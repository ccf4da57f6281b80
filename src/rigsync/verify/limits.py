"""The limits a recording is verified against, per sync group: the group's ``verify``, else the rig's
``[verify]``, else the default for the group's sync method.

Defaults (each justified in ``docs/rig-file.md#verify``):

* hardware trigger, Genlock: skew 100 us, "aligned within 100 microseconds of the start of exposure"
  (seeds/001, Azure Kinect; seeds/004 gives RealSense Genlock no figure, and the trigger is the same kind of
  cable); stamp bounds the same (a stamp less sure than the limit cannot prove it);
* PTP: the group's own PTP error level (``[sync.ptp] offset_error_ns``, 10 us by default, seeds/003), for skew
  and bounds; a PTP-disciplined camera clock has no drift of its own against the reference (1 ppm: the warning
  level's 1 us over one Sync interval of 1 s);
* timestamp-only and free-running cameras: half the slowest member's frame period ("this will only guarantee
  synchronization to within a frame time", seeds/004: the nearest frame is at most half a period away).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from rigsync.core.sync import SyncMethod
from rigsync.spec.verify import VERIFY_KEYS, VerifyConfig, VerifySpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rigsync.plan.model import Plan
    from rigsync.record import Recording

__all__ = ["FREE_RUNNING", "GroupLimits", "VerifyLimits"]

FREE_RUNNING = "(free-running)"
"""The pseudo-group of devices in no sync group (and of streams a group does not sync, e.g. a RealSense
colour camera in a Genlock group)."""

HARDWARE_SKEW_US = 100.0
"""seeds/001: "Capture multiple 4K color images of the same scene, all aligned within 100 microseconds"."""
CRYSTAL_DRIFT_PPM = 100.0
"""A device crystal's frequency error against rig time: common oscillators are specified to +-50 ppm with a
further +-50 ppm over temperature and ageing; beyond that the clock or its mapping is wrong."""
PTP_DRIFT_PPM = 1.0
"""A PTP-disciplined camera clock: the default warning level (1 us) over one Sync interval (1 s)."""
DRIFT_CHANGE_PPM = 5.0
"""How far a crystal's frequency may wander over a take (temperature): 5 ppm, a tenth of its tolerance."""
DROP_RATE = 0.01
"""One frame in a hundred lost or missing from its framesets (rigsync's choice: no vendor gives a figure)."""
GAP_FRAMES = 10.0
"""Consecutive frames a stream may miss (rigsync's choice: a third of a second at 30 fps)."""
FREE_JITTER_FRACTION = 0.1
"""Free-running and timestamp-only streams: interval jitter up to a tenth of the period (a webcam stamped at
host receive jitters by milliseconds)."""


@dataclass(frozen=True)
class GroupLimits:
    """The effective limits of one sync group (or of the free-running streams)."""

    group: str
    method: str
    """The group's sync method (``hardware``, ``genlock``, ``ptp``, ``software``) or ``free-running``."""
    max_skew_us: float
    max_drop_rate: float
    max_bound_us: float
    max_drift_ppm: float
    max_drift_change_ppm: float
    max_rate_jitter_us: float
    max_gap_frames: float
    max_image_skew_us: float
    max_stamp_error_us: float
    origin: Mapping[str, str] = field(default_factory=dict)
    """Where each limit came from: ``sync[star].verify``, ``[verify]`` or ``default (<method>)``."""

    def source(self, key: str) -> str:
        return self.origin.get(key, "")


def _defaults(method: str, period_us: float, ptp_error_us: float) -> dict[str, float]:
    if method in (SyncMethod.HARDWARE, SyncMethod.GENLOCK):
        skew, drift, jitter = HARDWARE_SKEW_US, CRYSTAL_DRIFT_PPM, HARDWARE_SKEW_US
    elif method == SyncMethod.PTP:
        skew, drift, jitter = ptp_error_us, PTP_DRIFT_PPM, ptp_error_us
    else:  # timestamp-only, free-running
        skew, drift, jitter = period_us / 2, CRYSTAL_DRIFT_PPM, period_us * FREE_JITTER_FRACTION
    return {"max_skew_us": skew, "max_drop_rate": DROP_RATE, "max_bound_us": skew, "max_drift_ppm": drift,
            "max_drift_change_ppm": DRIFT_CHANGE_PPM, "max_rate_jitter_us": jitter, "max_gap_frames": GAP_FRAMES,
            "max_image_skew_us": skew, "max_stamp_error_us": skew}


class VerifyLimits:
    """Resolves each group's limits from the rig file's ``[verify]`` tables and the groups' methods."""

    def __init__(self, config: VerifyConfig, groups: Mapping[str, tuple[str, float, float]],
                 device_groups: Mapping[str, str]) -> None:
        """``groups``: name -> (method, slowest member frame period in us, PTP error level in us);
        ``device_groups``: device -> its group (devices in none are free-running)."""
        self.config = config
        self._device_groups = MappingProxyType(dict(device_groups))
        self._groups: dict[str, GroupLimits] = {}
        for name, (method, period_us, ptp_error_us) in groups.items():
            self._groups[name] = self._resolve(name, method, config.group(name), period_us, ptp_error_us)

    @classmethod
    def from_plan(cls, plan: Plan, config: VerifyConfig | None = None) -> VerifyLimits:
        """The limits of a planned rig (its own ``[verify]`` tables unless ``config`` is given)."""
        rig = plan.rig
        groups: dict[str, tuple[str, float, float]] = {}
        for g in rig.sync_groups:
            periods = [s.period_ns for m in g.members for s in rig.device(m.device).streams]
            error_us = (g.ptp.offset_error_ns if g.ptp is not None else 10_000) / 1000
            groups[g.name] = (g.method.value, max(periods, default=33_333_333) / 1000, error_us)
        free = [s.period_ns for d in rig.devices for s in d.streams
                if rig.group_of(d.id) is None or s.name not in plan.device(d.id).synced_streams]
        groups[FREE_RUNNING] = (FREE_RUNNING, max(free, default=33_333_333) / 1000, 10.0)
        members = {m.device: g.name for g in rig.sync_groups for m in g.members}
        return cls(config if config is not None else rig.verify, groups, members)

    @classmethod
    def of_recording(cls, rec: Recording) -> VerifyLimits:
        """The limits of the rig a recording embeds (its ``[verify]`` tables and its groups' methods)."""
        from rigsync.verify.load import rig_plan

        return cls.from_plan(rig_plan(rec))

    def _resolve(self, name: str, method: str, own: VerifySpec, period_us: float,
                 ptp_error_us: float) -> GroupLimits:
        defaults = _defaults(method, period_us, ptp_error_us)
        values: dict[str, float] = {}
        origin: dict[str, str] = {}
        for key in VERIFY_KEYS:
            for where, spec in ((f"sync[{name}].verify", own), ("[verify]", self.config.rig)):
                if getattr(spec, key) is not None:
                    values[key], origin[key] = getattr(spec, key), where
                    break
            else:
                values[key], origin[key] = defaults[key], f"default ({method})"
        return GroupLimits(group=name, method=method, origin=MappingProxyType(origin), **values)

    def group(self, name: str) -> GroupLimits:
        """A group's limits (``FREE_RUNNING`` for the streams no group syncs)."""
        try:
            return self._groups[name]
        except KeyError:
            raise KeyError(f"no sync group {name!r} (groups: {', '.join(self._groups)})") from None

    def device(self, device_id: str) -> GroupLimits:
        """The limits of a device's sync group (the free-running ones for a device in none)."""
        return self._groups[self._device_groups.get(device_id, FREE_RUNNING)]

    @property
    def groups(self) -> tuple[GroupLimits, ...]:
        return tuple(self._groups.values())
