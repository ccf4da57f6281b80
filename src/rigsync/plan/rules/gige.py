"""GigE Vision PTP frame synchronization rules (seeds/003, Emergent eCapture Pro)."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.catalog.base import Vendor
from rigsync.core.sync import SyncMethod
from rigsync.plan.model import Role, Severity
from rigsync.plan.rules._base import GIGE, Context, Finding, rule
from rigsync.spec.model import Timestamping
from rigsync.spec.sync import PtpTimestampMode, SyncGroupSpec


def _gige_ptp_groups(ctx: Context) -> Iterator[tuple[SyncGroupSpec, list[str]]]:
    for g in ctx.groups():
        if g.method is SyncMethod.PTP:
            cams = [d.id for d in ctx.members(g) if ctx.model(d.id).vendor is Vendor.GIGE_VISION]
            if cams:
                yield g, cams


@rule("GIGE-PTP-SETTINGS", Severity.ERROR, f"{GIGE} (Configure the PTP and acquisition settings)",
      "a camera of a PTP frame-sync group is set to something other than PTP frame sync")
def ptp_settings(ctx: Context) -> Iterator[Finding]:
    for g, cams in _gige_ptp_groups(ctx):
        for c in cams:
            if ctx.dp(c).role is not Role.PTP:
                yield Finding((c,), f"{c} is in PTP group {g.name} but set to {ctx.dp(c).vendor_role}",
                              "every camera of the group: AcquisitionMode MultiFrame, TriggerMode On, TriggerSource "
                              "Software, AcquisitionFrameCount 1, PtpMode matching the grandmaster")


@rule("GIGE-SAME-FPS", Severity.WARNING, f"{GIGE} (Important: configure the same Frame Rate on all cameras)",
      "cameras of one PTP group run at different frame rates")
def same_fps(ctx: Context) -> Iterator[Finding]:
    for g, cams in _gige_ptp_groups(ctx):
        rates = {c: ctx.spec(c).streams[0].fps for c in cams}
        if len(set(rates.values())) > 1:
            listed = ", ".join(f"{c} {r:g} fps" for c, r in rates.items())
            yield Finding(tuple(cams), f"group {g.name} runs at different frame rates ({listed}): they start at the "
                                       "same PTP time, but their frame numbers will not stay aligned",
                          "set the same frame rate on every camera of the group")


@rule("GIGE-PTP-STEP-MODE", Severity.ERROR, f"{GIGE} (Use OneStep if the PTP timing source sends one-step "
      "packets)", "the group's PTP step mode does not match what its grandmaster can send")
def step_mode(ctx: Context) -> Iterator[Finding]:
    for g, cams in _gige_ptp_groups(ctx):
        if g.ptp is None or g.ptp.step_mode is not PtpTimestampMode.ONE_STEP or g.ptp.grandmaster == "external":
            continue
        nic = ctx.ptp_nics.get(g.ptp.grandmaster)
        if nic is None or nic.timestamping is not Timestamping.HARDWARE:
            yield Finding(tuple(cams), f"group {g.name} expects one-step PTP from {g.ptp.grandmaster}, which "
                                       "timestamps in software: ptp4l sends two-step packets there",
                          "set step_mode = \"two-step\" (PtpMode TwoStep), or use a one-step hardware grandmaster")


@rule("GIGE-SETTINGS-STOPPED", Severity.INFO, f"{GIGE} (Stop streaming before you configure; do not configure PTP "
      "acquisition gate time)", "PTP cameras are configured only while stopped, the gate time left alone")
def settings_stopped(ctx: Context) -> Iterator[Finding]:
    for g, cams in _gige_ptp_groups(ctx):
        yield Finding(tuple(cams), f"group {g.name}: parameters change only while the cameras are stopped; the PTP "
                                   "acquisition gate time is set by the capture and left alone",
                      "nothing to do: rigsync configures before it arms the scheduled start")
