"""StereoLabs ZED rules (seeds/000)."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.catalog.base import Vendor
from rigsync.core.sync import LinkKind, SyncMethod
from rigsync.plan.model import Severity
from rigsync.plan.rules._base import ZED, Context, Finding, rule
from rigsync.spec.model import Platform


@rule("ZED-USB-NO-TRIGGER", Severity.ERROR, f"{ZED} (Frame synchronization: USB cameras do not expose a hardware "
      "trigger)", "a USB ZED is in a hardware or Genlock group")
def usb_no_trigger(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        if g.method in (SyncMethod.HARDWARE, SyncMethod.GENLOCK):
            bad = tuple(d.id for d in ctx.members(g) if ctx.model(d.id).vendor is Vendor.STEREOLABS
                        and d.connection.kind is LinkKind.USB)
            if bad:
                yield Finding(bad, f"USB ZED cameras have no hardware trigger (group {g.name})",
                              "align them by timestamp (a software group), or across hosts with PTP")


@rule("ZED-GMSL-HOST", Severity.ERROR, f"{ZED} (GMSL2 cameras: only NVIDIA Jetson, ZED Link driver)",
      "a GMSL2 camera is on a host that is not a Jetson with the ZED Link driver")
def gmsl_host(ctx: Context) -> Iterator[Finding]:
    for d in ctx.rig.devices:
        if d.connection.kind is not LinkKind.GMSL:
            continue
        host = ctx.plan.index.hosts[d.host]
        if host.platform is not Platform.JETSON:
            yield Finding((d.id,), f"{d.id} is a GMSL2 camera on host {host.name} ({host.platform.value}); GMSL2 "
                                   "cameras work only on NVIDIA Jetson", "connect it to a Jetson with a ZED Link card")
        elif not host.zed_link_driver:
            yield Finding((d.id,), f"host {host.name} lacks the ZED Link driver: {d.id} will not open",
                          "install the ZED Link driver (zed_link_driver = true once done)")


@rule("ZED-OUT-OF-PRODUCTION", Severity.WARNING, f"{ZED} (ZED and ZED 2 camera models are out of production)",
      "a camera model is out of production")
def out_of_production(ctx: Context) -> Iterator[Finding]:
    for d in ctx.rig.devices:
        model = ctx.model(d.id)
        if model.vendor is Vendor.STEREOLABS and not model.in_production:
            yield Finding((d.id,), f"{model.name} is out of production", "plan replacements with a ZED 2i or ZED X")
