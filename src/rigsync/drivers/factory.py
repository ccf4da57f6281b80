"""Choose drivers by name: the simulator is built from the rig; vendor drivers come from their own modules
(:mod:`rigsync.drivers.registry`), loaded only when a rig names them."""

from __future__ import annotations

from collections.abc import Collection

from rigsync.core.errors import RigsyncError
from rigsync.drivers.base import Driver
from rigsync.drivers.registry import driver_factory
from rigsync.drivers.sim.driver import SimClock, SimDriver
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan.model import Plan
from rigsync.spec.model import DRIVER_NAMES, RigSpec

DRIVERS = DRIVER_NAMES


def open_drivers(rig: RigSpec, plan: Plan, *, fast: bool = False, seed: int | None = None,
                 hosts: Collection[str] | None = None, origin_realtime_ns: int | None = None) -> dict[str, Driver]:
    """One driver per driver name the rig uses. The simulator emits the devices of ``hosts`` (every host if None)
    and, with ``origin_realtime_ns``, runs on the timeline other processes share (see :class:`SimClock`)."""
    names = sorted({d.driver for d in rig.devices})
    drivers: dict[str, Driver] = {}
    for name in names:
        if name == "sim":
            drivers[name] = SimDriver(SimWorld(rig, plan, seed=seed, hosts=hosts),
                                      SimClock(fast=fast, origin_realtime_ns=origin_realtime_ns))
        else:
            try:
                drivers[name] = driver_factory(name)(rig, plan)
            except RigsyncError as err:
                raise RigsyncError(f"{rig.path}: {err}") from None
    return drivers
