"""Orbbec rules (seeds/002, multi_device_sync_config.json)."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.catalog.base import Vendor
from rigsync.core.sync import SyncMethod
from rigsync.core.units import NS_PER_S
from rigsync.plan.model import Role, Severity
from rigsync.plan.rules._base import ORBBEC, Context, Finding, rule


def _orbbec(ctx: Context, device_id: str) -> bool:
    return ctx.model(device_id).vendor is Vendor.ORBBEC


@rule("ORBBEC-ONE-PRIMARY", Severity.ERROR, f"{ORBBEC} (one PRIMARY device, the others SECONDARY)",
      "an Orbbec group has no single primary that drives it")
def one_primary(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        devs = [d.id for d in ctx.members(g) if _orbbec(ctx, d.id)]
        if g.method is not SyncMethod.HARDWARE or not devs:
            continue
        primaries = [d for d in devs if ctx.dp(d).role is Role.MASTER]
        if len(primaries) > 1:
            yield Finding(tuple(primaries), f"group {g.name} has {len(primaries)} PRIMARY devices",
                          "keep one PRIMARY (the group's source); make the others SECONDARY")
        for p in primaries:
            if g.source is None or g.source.device != p:
                yield Finding((p,), f"{p} is PRIMARY but group {g.name} is driven by "
                                    f"{g.source.device or g.source.trigger if g.source else 'nothing'}",
                              "make the group's source the primary, or the device SECONDARY")


@rule("ORBBEC-TRIGGER-OUT", Severity.ERROR, f"{ORBBEC} (trigger_out_enable)",
      "a device that should pass the trigger on has its trigger output disabled")
def trigger_out(ctx: Context) -> Iterator[Finding]:
    for dp in ctx.plan.devices:
        link = dp.trigger
        if link is None or link.source.startswith(("trigger:", "card:")):
            continue
        upstream = ctx.dp(link.source)
        if _orbbec(ctx, link.source) and not upstream.trigger_out:
            yield Finding((link.source, dp.device_id), f"{dp.device_id} waits for the trigger from {link.source}, "
                                                       "whose trigger output is disabled: it never gets one",
                          f"set trigger_out = true on {link.source} (trigger_out_enable)")


@rule("ORBBEC-FRAMES-PER-TRIGGER", Severity.ERROR, f"{ORBBEC} (frames_per_trigger)",
      "frames per trigger times the trigger rate exceed an Orbbec stream's rate")
def frames_per_trigger(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        gp = ctx.plan.group(g.name)
        if g.method is not SyncMethod.HARDWARE or not gp.trigger_period_ns or g.burst <= 1:
            continue
        rate = NS_PER_S / gp.trigger_period_ns
        for d in ctx.members(g):
            if not _orbbec(ctx, d.id) or ctx.dp(d.id).role is Role.MASTER:
                continue
            for s in d.streams:
                if g.burst * rate > s.fps + 1e-6:
                    yield Finding((d.id,), f"{d.id}/{s.name}: {g.burst} frames per trigger at {rate:g} Hz need "
                                           f"{g.burst * rate:g} fps; the stream runs at {s.fps:g}",
                                  "lower frames per trigger or the trigger rate, or raise the stream's rate")


@rule("ORBBEC-CLOCK-SYNC", Severity.INFO, f"{ORBBEC} (ctx.enable_multi_device_sync(60000))",
      "synchronized Orbbec devices need their clocks re-synchronized with the host periodically")
def clock_sync(ctx: Context) -> Iterator[Finding]:
    devs = tuple(d.id for d in ctx.rig.devices if _orbbec(ctx, d.id) and ctx.dp(d.id).group is not None)
    if devs:
        yield Finding(devs, "Orbbec device clocks drift apart unless re-synchronized with the host",
                      "call ctx.enable_multi_device_sync(60000) after starting the streams (rigsync's Orbbec driver "
                      "does)")
