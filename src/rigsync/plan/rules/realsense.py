"""Intel RealSense rules (seeds/004, Genlock and master/slave)."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.catalog.base import Vendor
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod
from rigsync.core.units import NS_PER_S
from rigsync.plan.model import Role, Severity
from rigsync.plan.rules._base import REALSENSE, Context, Finding, rule
from rigsync.spec.sync import SyncGroupSpec

DEFAULT_FRAME_TIMEOUT_S = 5.0
"""librealsense's wait_for_frames() default timeout (5000 ms)."""
SLOW_TRIGGER_HZ = 5.0


def _realsense_groups(ctx: Context) -> Iterator[tuple[SyncGroupSpec, list[str]]]:
    for g in ctx.groups():
        if g.method in (SyncMethod.GENLOCK, SyncMethod.HARDWARE):
            devs = [d.id for d in ctx.members(g) if ctx.model(d.id).vendor is Vendor.INTEL]
            if devs:
                yield g, devs


def _trigger_hz(ctx: Context, g: SyncGroupSpec) -> float | None:
    period = ctx.plan.group(g.name).trigger_period_ns
    return NS_PER_S / period if period else None


@rule("RS-GENLOCK-GLOBAL-SHUTTER", Severity.ERROR, f"{REALSENSE} (Global Shutter: D435 and D435i, but not D415)",
      "a rolling-shutter RealSense (D415) is in a Genlock group")
def genlock_global_shutter(ctx: Context) -> Iterator[Finding]:
    for g, devs in _realsense_groups(ctx):
        if g.method is SyncMethod.GENLOCK:
            bad = tuple(d for d in devs if ctx.model(d).sync.genlock is None and ctx.dp(d).role is Role.GENLOCK)
            if bad:
                yield Finding(bad, "Genlock works only on global-shutter RealSense cameras (D435, D435i): the camera "
                                   "refuses the mode and free-runs", "use a D435/D435i, or master/slave mode")


@rule("RS-GENLOCK-RATE", Severity.ERROR, f"{REALSENSE} (the trigger cannot repeat faster than HALF the native "
      "frame rate)", "Genlock triggers come faster than the camera accepts them")
def genlock_rate(ctx: Context) -> Iterator[Finding]:
    for g, devs in _realsense_groups(ctx):
        rate = _trigger_hz(ctx, g)
        if g.method is not SyncMethod.GENLOCK or rate is None:
            continue
        for d in devs:
            if ctx.dp(d).role is not Role.GENLOCK or ctx.model(d).sync.genlock is None:
                continue
            for s in ctx.spec(d).streams:
                if s.name not in ctx.dp(d).synced_streams:
                    continue
                limit = s.fps / max(2, g.burst + 1)
                if rate > limit * (1 + 1e-6):
                    yield Finding((d,), f"{d}/{s.name} runs natively at {s.fps:g} fps: after a trigger it is blind "
                                        f"for {max(2, g.burst + 1)} frame times, so it takes at most {limit:g} Hz; "
                                        f"group {g.name} triggers at {rate:g} Hz (every other trigger is lost)",
                                  f"trigger at {limit:g} Hz or less, or raise the native rate")


@rule("RS-GENLOCK-EXPOSURE", Severity.ERROR, f"{REALSENSE} (This does limit the maximum exposure time ... to "
      "1/90 seconds)", "a Genlock camera's exposure exceeds one native frame time")
def genlock_exposure(ctx: Context) -> Iterator[Finding]:
    for _g, devs in _realsense_groups(ctx):
        for d in devs:
            dp = ctx.dp(d)
            if dp.role is not Role.GENLOCK:
                continue
            for s in ctx.spec(d).streams:
                if s.name in dp.synced_streams and s.exposure_us is not None and s.exposure_us > 1e6 / s.fps:
                    yield Finding((d,), f"{d}/{s.name}: {s.exposure_us} us of exposure exceeds one native frame "
                                        f"time ({1e6 / s.fps:.0f} us at {s.fps:g} fps)",
                                  f"expose at most {1e6 / s.fps:.0f} us, or use a slower native mode")


@rule("RS-COLOR-FREE-RUN", Severity.WARNING, f"{REALSENSE} (Color: the color sensor will NOT be Genlocked)",
      "a Genlocked D435's colour stream free-runs")
def color_free_run(ctx: Context) -> Iterator[Finding]:
    for _g, devs in _realsense_groups(ctx):
        for d in devs:
            dp = ctx.dp(d)
            colour = [s.name for s in ctx.spec(d).streams
                      if s.kind is StreamKind.COLOR and s.name not in dp.synced_streams]
            if dp.role is Role.GENLOCK and colour:
                yield Finding((d,), f"{d}/{colour[0]} is not Genlocked (a hardware limitation): it free-runs at its "
                                    "own rate; rigsync aligns it by timestamp", "treat it as free-running, or drop it")


@rule("RS-PROJECTOR", Severity.INFO, f"{REALSENSE} (Laser Projector: always-on in Genlock)",
      "in Genlock the RealSense projector is always on")
def projector(ctx: Context) -> Iterator[Finding]:
    for g, devs in _realsense_groups(ctx):
        genlocked = tuple(d for d in devs if ctx.dp(d).role is Role.GENLOCK)
        if genlocked:
            yield Finding(genlocked, f"group {g.name}: the laser projectors stay on (CW), they do not pulse per frame; "
                                     "RealSense cameras do not interfere with each other",
                          "nothing to do; do not use emitter on/off toggling modes with Genlock")


@rule("RS-MODES-BEFORE-STREAMING", Severity.INFO, f"{REALSENSE} (5. Programming Camera Sync: before streaming)",
      "the inter-cam sync mode takes effect only if set before streaming")
def modes_before_streaming(ctx: Context) -> Iterator[Finding]:
    for g, devs in _realsense_groups(ctx):
        modes = ", ".join(f"{d} {ctx.dp(d).vendor_role}" for d in devs)
        yield Finding(tuple(devs), f"group {g.name}: RS2_OPTION_INTER_CAM_SYNC_MODE {modes}, set before streaming",
                      "nothing to do: rigsync sets the modes before it starts the streams")


@rule("RS-AE-SLOW-TRIGGER", Severity.WARNING, f"{REALSENSE} (Auto-exposure responds at the trigger rate)",
      "auto exposure on a RealSense camera triggered slowly or at random times")
def auto_exposure_slow(ctx: Context) -> Iterator[Finding]:
    for g, devs in _realsense_groups(ctx):
        rate = _trigger_hz(ctx, g)
        gp = ctx.plan.group(g.name)
        if rate is None or (rate >= SLOW_TRIGGER_HZ and not gp.random_triggers):
            continue
        for d in devs:
            dp = ctx.dp(d)
            auto = [s.name for s in ctx.spec(d).streams if s.name in dp.synced_streams and s.auto_exposure]
            if auto and dp.role in (Role.GENLOCK, Role.SUBORDINATE):
                yield Finding((d,), f"{d}/{auto[0]} uses auto exposure at {rate:g} Hz triggers: it adapts only once "
                                    "per trigger and lags lighting changes", "set exposure_us (manual exposure)")


@rule("RS-TIMELAPSE-TIMEOUT", Severity.WARNING, f"{REALSENSE} (Time-Lapse: the wait for frame timeout must be "
      "longer than the trigger interval)", "triggers further apart than the SDK's default frame timeout")
def timelapse_timeout(ctx: Context) -> Iterator[Finding]:
    for g, devs in _realsense_groups(ctx):
        rate = _trigger_hz(ctx, g)
        if rate is not None and 1.0 / rate > DEFAULT_FRAME_TIMEOUT_S:
            yield Finding(tuple(devs), f"group {g.name} triggers every {1 / rate:g} s; wait_for_frames() gives up "
                                       f"after {DEFAULT_FRAME_TIMEOUT_S:g} s by default",
                          f"use a frame timeout above {1 / rate:g} s (rigsync's RealSense driver sets it from the "
                          "plan)")
