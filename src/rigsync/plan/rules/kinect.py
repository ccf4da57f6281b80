"""Azure Kinect DK rules (seeds/001)."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod, Topology
from rigsync.plan.model import Role, Severity
from rigsync.plan.rules._base import K4A, Context, Finding, rule
from rigsync.spec.sync import SyncGroupSpec

MAX_CABLE_M = 10.0


def _kinect_groups(ctx: Context) -> Iterator[tuple[SyncGroupSpec, list[str]]]:
    for g in ctx.groups():
        if g.method is SyncMethod.HARDWARE:
            kinects = [d.id for d in ctx.members(g) if ctx.model(d.id).vendor is Vendor.MICROSOFT]
            if kinects:
                yield g, kinects


def _limit(ctx: Context, topology: Topology, rule_text: str, fix: str) -> Iterator[Finding]:
    for g, kinects in _kinect_groups(ctx):
        if g.topology is not topology:
            continue
        limit = ctx.model(kinects[0]).sync.max_subordinates_for(topology) or 0
        # Subordinates take the sync from a device's Sync out; the one an external trigger feeds is the master device.
        subordinates = [d for d in kinects if ctx.dp(d).role is Role.SUBORDINATE and (link := ctx.dp(d).trigger)
                        is not None and not link.source.startswith(("trigger:", "card:"))]
        if len(subordinates) > limit:
            yield Finding(tuple(subordinates), f"group {g.name} has {len(subordinates)} subordinates; {rule_text}", fix)


@rule("K4A-DAISY-MAX", Severity.ERROR, f"{K4A} (Daisy-chain: one master and up to eight subordinates)",
      "a Kinect daisy chain has more than 8 subordinates")
def daisy_max(ctx: Context) -> Iterator[Finding]:
    yield from _limit(ctx, Topology.DAISY_CHAIN, "a daisy chain takes one master and up to eight",
                      "split the chain, or trigger two chains from one external source")


@rule("K4A-STAR-MAX", Severity.ERROR, f"{K4A} (Star configuration: one master with up to two subordinates)",
      "a Kinect star has more than 2 subordinates")
def star_max(ctx: Context) -> Iterator[Finding]:
    yield from _limit(ctx, Topology.STAR, "a star (one headphone splitter on the master's sync out) takes up to two",
                      "use a daisy chain (up to eight subordinates)")


@rule("K4A-EXT-TRIGGER-MASTER", Severity.ERROR, f"{K4A} (Using an external sync trigger: the external trigger "
      "source connects to the master device); Azure Kinect SDK k4a_wired_sync_mode_t (SUBORDINATE: 'Sync Out' is a "
      "mirror of 'Sync In'; MASTER drives its own sync)", "the Kinect an external trigger feeds is set to master mode, "
      "which ignores Sync in")
def external_into_master(ctx: Context) -> Iterator[Finding]:
    for g, kinects in _kinect_groups(ctx):
        if g.source is None or g.source.trigger is None:
            continue
        for d in kinects:
            if ctx.dp(d).role is Role.MASTER:
                yield Finding((d,), f"{d} is the master device trigger {g.source.trigger} connects to, but it is set "
                                    "to master mode: a master drives its own sync and ignores Sync in, so the "
                                    "trigger reaches no camera (the group runs on that Kinect's own clock)",
                              f"leave {d}'s role to rigsync: as a subordinate its Sync out mirrors the trigger on "
                              "its Sync in and drives the others")


@rule("K4A-MASTER-COLOR", Severity.ERROR, f"{K4A}; Azure Kinect SDK k4a_wired_sync_mode_t (the master's colour "
      "camera makes the sync signal)", "a Kinect master does not run its colour camera")
def master_color(ctx: Context) -> Iterator[Finding]:
    for g, kinects in _kinect_groups(ctx):
        for d in kinects:
            if ctx.dp(d).role is Role.MASTER and not any(s.kind is StreamKind.COLOR for s in ctx.spec(d).streams):
                yield Finding((d,), f"{d} is the master of {g.name} without a colour stream: the colour camera's "
                                    "VSYNC is the sync signal", "add a colour stream to the master")


@rule("K4A-MANUAL-EXPOSURE", Severity.WARNING, f"{K4A} (Exposure considerations)",
      "a synchronized Kinect's colour camera uses auto exposure")
def manual_exposure(ctx: Context) -> Iterator[Finding]:
    for _, kinects in _kinect_groups(ctx):
        for d in kinects:
            auto = [s.name for s in ctx.spec(d).streams if s.kind is StreamKind.COLOR and s.auto_exposure]
            if auto:
                yield Finding((d,), f"{d}/{auto[0]} uses auto exposure: changing exposure changes its timing and "
                                    "pushes the cameras out of sync", "set exposure_us on every synchronized colour "
                                                                      "stream")


@rule("K4A-SUB-DELAY", Severity.ERROR, f"{K4A}; Azure Kinect SDK subordinate_delay_off_master_usec",
      "a subordinate's delay is not shorter than one frame period")
def subordinate_delay(ctx: Context) -> Iterator[Finding]:
    for g, kinects in _kinect_groups(ctx):
        period = ctx.plan.group(g.name).trigger_period_ns
        for d in kinects:
            dp = ctx.dp(d)
            if period and dp.role is Role.SUBORDINATE and dp.delay_ns >= period:
                yield Finding((d,), f"{d} is delayed {dp.delay_ns / 1000:g} us, a frame period is "
                                    f"{period / 1000:g} us", "keep each subordinate's delay within one frame period")


@rule("K4A-CABLE-LENGTH", Severity.ERROR, f"{K4A} (Cables: less than 10 meters long)",
      "a Kinect sync cable is 10 m or longer")
def cable_length(ctx: Context) -> Iterator[Finding]:
    for _, kinects in _kinect_groups(ctx):
        for d in kinects:
            link = ctx.dp(d).trigger
            if link is not None and link.cable_m >= MAX_CABLE_M:
                yield Finding((d,), f"the sync cable into {d} is {link.cable_m:g} m", "use a cable under 10 m")


@rule("K4A-TIMESTAMPS", Severity.INFO, f"{K4A} (Timestamp considerations)",
      "synchronized Kinects stamp the start of frame, not its centre")
def timestamps(ctx: Context) -> Iterator[Finding]:
    for g, kinects in _kinect_groups(ctx):
        yield Finding(tuple(kinects), f"in group {g.name} the Kinects report Start of Frame timestamps (not Centre "
                                      "of Frame); rigsync's rig time is the start of exposure either way",
                      "nothing to do; compare with standalone recordings accordingly")


@rule("K4A-CALIBRATE", Severity.INFO, f"{K4A} (Calibrate the devices as a synchronized set)",
      "synchronized Kinects must be calibrated as a set before their data is fused")
def calibrate(ctx: Context) -> Iterator[Finding]:
    for g, kinects in _kinect_groups(ctx):
        if len(kinects) > 1:
            yield Finding(tuple(kinects), f"the {len(kinects)} Kinects of {g.name} are factory-calibrated one by one, "
                                          "not to each other", "calibrate the set (e.g. with the ChArUco board) "
                                                               "before fusing their images")
