"""Rules across vendors: signals between any source and input, trigger rates, PTP across hosts (ToF interference:
``tof``)."""

from __future__ import annotations

from collections.abc import Iterator

from rigsync.catalog.base import Vendor
from rigsync.core.sync import SyncMethod
from rigsync.core.units import NS_PER_S
from rigsync.plan.model import Role, Severity
from rigsync.plan.rules._base import K4A, REALSENSE, ZED, Context, Finding, rule
from rigsync.plan.signals import port
from rigsync.spec.model import NicKind, Timestamping
from rigsync.spec.sync import SyncGroupSpec

SIGNALS = f"{K4A} (external trigger: 5V TTL/CMOS); {REALSENSE} (Genlock: 1.8 V, PPS is 5 V)"


@rule("SYNC-METHOD-UNSUPPORTED", Severity.ERROR, "camera catalog (each model's sync capabilities); "
      f"{REALSENSE} (4. Genlock usages: a separate RGB camera as the master)",
      "a device is in a sync group whose method its model does not support (a Genlock master needs only a sync "
      "output)")
def method_supported(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        for d in ctx.members(g):
            model = ctx.model(d.id)
            if g.method is SyncMethod.GENLOCK and g.source is not None and g.source.device == d.id:
                # Only the Genlocked cameras must be global-shutter RealSense cameras; the master just drives
                # their sync input (seeds/004: "a separate RGB camera that they want to be the master").
                if port(model, "out") is None:
                    yield Finding((d.id,), f"{d.id} ({model.name}) is the master of Genlock group {g.name} but has no "
                                           "sync output to drive the Genlocked cameras",
                                  "make a camera with a sync output the master (a RealSense in master mode, or an "
                                  "RGB camera's exposure-active output), or trigger the group from a generator")
                continue
            if g.method is not SyncMethod.SOFTWARE and g.method not in model.sync.methods:
                yield Finding((d.id,), f"{model.name} cannot take part in {g.method.value} sync (group {g.name}); "
                                       f"it supports {', '.join(sorted(m.value for m in model.sync.methods))}",
                              "move it to a software group (timestamp alignment) or use a model that can")


@rule("SIGNAL-LEVEL", Severity.ERROR, SIGNALS, "a trigger output's level does not suit the input it drives")
def signal_level(ctx: Context) -> Iterator[Finding]:
    for dp in ctx.plan.devices:
        link = dp.trigger
        if link is None or not link.level_shifter or link.level_out_v is None or link.level_in_v is None:
            continue
        seen = "the input sees no pulses" if not link.detected else "over-voltage risks the input"
        direction = "up" if link.level_out_v < link.level_in_v else "down"
        yield Finding((dp.device_id,), f"{link.source_port} drives {link.level_out_v:g} V into "
                                       f"{link.target_port} rated {link.level_in_v:g} V: {seen}",
                      f"put a level shifter {direction} to {link.level_in_v:g} V between them")


@rule("PULSE-WIDTH", Severity.ERROR, SIGNALS, "an external trigger's pulses are shorter than an input accepts")
def pulse_width(ctx: Context) -> Iterator[Finding]:
    for trig_name, devices in _external_inputs(ctx):
        trig = ctx.plan.index.triggers[trig_name]
        for d in devices:
            p = port(ctx.model(d), "in")
            if p is not None and p.min_pulse_us is not None and trig.pulse_width_us <= p.min_pulse_us:
                yield Finding((d,), f"trigger {trig.name} pulses last {trig.pulse_width_us:g} us; {d}'s "
                                    f"{p.name} needs more than {p.min_pulse_us:g} us",
                              f"set the generator's pulse width above {p.min_pulse_us:g} us")


@rule("TRIGGER-DRIVE", Severity.ERROR, K4A, "an external trigger cannot drive the current its inputs need")
def trigger_drive(ctx: Context) -> Iterator[Finding]:
    for trig_name, devices in _external_inputs(ctx):
        trig = ctx.plan.index.triggers[trig_name]
        inputs = [port(ctx.model(d), "in") for d in devices]
        need = sum(p.drive_ma or 0.0 for p in inputs if p is not None)
        if need and trig.drive_ma < need:
            yield Finding(tuple(devices), f"trigger {trig.name} drives {trig.drive_ma:g} mA; its inputs need "
                                          f"{need:g} mA ('no less than 8 milliamps' per Kinect input)",
                          "use a stronger driver (a buffer per input)")


def _external_inputs(ctx: Context) -> Iterator[tuple[str, list[str]]]:
    """(trigger name, devices whose input it drives directly)."""
    for g in ctx.groups():
        if g.source is None or g.source.trigger is None:
            continue
        source = f"trigger:{g.source.trigger}"
        driven = [dp.device_id for dp in ctx.plan.members(g.name) if dp.trigger is not None
                  and dp.trigger.source == source]
        yield g.source.trigger, driven


@rule("TRIGGER-RATE", Severity.ERROR, f"{K4A}; {REALSENSE} (Appendix A)",
      "a triggered member cannot follow its group's trigger rate")
def trigger_rate(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        gp = ctx.plan.group(g.name)
        if gp.trigger_period_ns is None or gp.random_triggers or g.method is SyncMethod.GENLOCK:
            continue
        rate = NS_PER_S / gp.trigger_period_ns
        for d in ctx.members(g):
            dp = ctx.dp(d.id)
            if dp.role not in (Role.SUBORDINATE, Role.CARD):
                continue
            model = ctx.model(d.id)
            allowed = model.sync.external_trigger_rates_hz
            if allowed and not any(abs(rate - r) < 1e-3 for r in allowed):
                yield Finding((d.id,), f"{d.id} ({model.name}) follows only {', '.join(f'{r:g}' for r in allowed)} "
                                       f"Hz triggers; group {g.name} triggers at {rate:g} Hz",
                              f"trigger at one of {', '.join(f'{r:g}' for r in allowed)} Hz")
                continue
            if g.burst > 1:
                continue  # several frames per trigger come at the stream's own rate (ORBBEC-FRAMES-PER-TRIGGER)
            for s in d.streams:
                if s.name in dp.synced_streams and abs(s.fps - rate) > 1e-3 * rate:
                    yield Finding((d.id,), f"{d.id}/{s.name} runs at {s.fps:g} fps but is triggered at {rate:g} Hz: "
                                           "one frame per trigger needs the same rate",
                                  f"set {s.name} to {rate:g} fps, or trigger at {s.fps:g} Hz")


RATE_LOCKED = {
    Vendor.MICROSOFT: ("seeds/001 (Using an external sync trigger)",
                       "Frequency support: precisely 30 FPS, 15 FPS, and 5 FPS"),
    Vendor.INTEL: ("seeds/004 (Appendix A, HW Sync Slave, mode 2 or 3)",
                   "The sync signal has to be extremely close in frequency to that of the sensor frame rate, or it "
                   "will fire on its own and wont actually be synchronized in capture"),
    Vendor.ORBBEC: ("Orbbec FemtoSeries.md (external HW SYNC input)", "a 100 us positive pulse at the nominal frame "
                                                                       "rate"),
}
"""Where each vendor says its triggered input follows only a steady trigger at a frame rate, in its words."""


@rule("TRIGGER-RANDOM", Severity.ERROR, f"{K4A} (Frequency support: precisely 30 FPS, 15 FPS, and 5 FPS); "
      f"{REALSENSE} (Appendix A: slave modes need a sync signal extremely close in frequency to the frame rate, or "
      "the camera fires on its own)", "triggers at random times into cameras whose input follows only a steady rate")
def trigger_random(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        gp = ctx.plan.group(g.name)
        if not gp.random_triggers:
            continue
        locked: dict[str, list[str]] = {}
        for dp in ctx.plan.members(g.name):
            model = ctx.model(dp.device_id)
            if dp.role is Role.SUBORDINATE and model.sync.external_trigger_rates_hz:
                locked.setdefault(model.key, []).append(dp.device_id)
        for devices in locked.values():
            model = ctx.model(devices[0])
            rates = ", ".join(f"{r:g}" for r in model.sync.external_trigger_rates_hz)
            where, quote = RATE_LOCKED.get(model.vendor, ("its vendor's documentation", f"{rates} Hz only"))
            intel = model.vendor is Vendor.INTEL
            genlock = " (or Genlock on a D435/D435i, which takes triggers at any time)" if intel else ""
            role = ctx.dp(devices[0]).vendor_role
            mode = f"slave mode {role}" if intel else f"{role} mode"
            trigger = (gp.source or "").removeprefix("trigger:")
            yield Finding(tuple(devices), f"group {g.name}'s trigger {trigger} fires at random times; {model.name} in "
                                          f"{mode} follows only a steady trigger at {rates} Hz ({where}: "
                                          f"\"{quote}\"): it misses the triggers or fires on its own",
                          f"trigger at a steady {rates} Hz{genlock}")


@rule("SYNC-OUT-DISABLED", Severity.ERROR, f"{K4A} (Daisy-chain: each device's Sync out drives the next Sync in)",
      "a device that must pass the trigger on has its sync output disabled (non-Orbbec; see ORBBEC-TRIGGER-OUT)")
def sync_out_disabled(ctx: Context) -> Iterator[Finding]:
    for dp in ctx.plan.devices:
        link = dp.trigger
        if link is None or link.source.startswith(("trigger:", "card:")):
            continue
        if ctx.model(link.source).vendor is Vendor.ORBBEC:
            continue  # ORBBEC-TRIGGER-OUT
        if not ctx.dp(link.source).trigger_out:
            yield Finding((link.source, dp.device_id), f"{dp.device_id} waits for the trigger from {link.source}, "
                                                       "whose sync output is disabled: it never gets one",
                          f"set trigger_out = true on {link.source}")


@rule("BURST-UNSUPPORTED", Severity.ERROR, f"{REALSENSE}; seeds/002 Orbbec (frames_per_trigger)",
      "a hardware group asks for several frames per trigger from cameras that take one")
def burst_supported(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        if g.method is SyncMethod.HARDWARE and g.burst > 1:
            bad = [d.id for d in ctx.members(g) if ctx.model(d.id).vendor.value != "orbbec"]
            if bad:
                yield Finding(tuple(bad), f"group {g.name} asks {g.burst} frames per trigger; only Orbbec "
                                          "cameras take frames_per_trigger in hardware sync",
                              "use burst = 1, or Genlock (method = \"genlock\") for RealSense bursts")


@rule("STAGGER-EXPOSURE", Severity.WARNING, f"{REALSENSE} (Capture high-speed motion: <1 ms exposure with 1 ms "
      "delays)", "a staggered camera exposes longer than the stagger: its time slices overlap its neighbours'")
def stagger_exposure(ctx: Context) -> Iterator[Finding]:
    for st in ctx.plan.staggers:
        g = next(x for x in ctx.groups() if x.name == st.group)
        for d in ctx.members(g):
            for s in d.streams:
                if s.name in ctx.dp(d.id).synced_streams and (s.exposure_us is None or s.exposure_us > st.stagger_us):
                    shown = "auto exposure" if s.exposure_us is None else f"{s.exposure_us} us of exposure"
                    yield Finding((d.id,), f"{d.id}/{s.name}: {shown} in group {g.name}, staggered every "
                                           f"{st.stagger_us:g} us: the slices of time overlap",
                                  f"expose at most {st.stagger_us:g} us (manual), with enough light")


@rule("DELAY-PAST-PERIOD", Severity.ERROR, f"{REALSENSE} (Capture high-speed motion: ten cameras at 90 fps, "
      "1.1 ms apart: the staggered slices fit within one trigger period)",
      "a member's capture delay (declared delay plus stagger slot) and exposure reach the next trigger")
def delay_past_period(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups():
        period_ns = ctx.plan.group(g.name).trigger_period_ns
        if not period_ns:
            continue
        for d in ctx.members(g):
            dp = ctx.dp(d.id)
            exposure_us = max((s.exposure_us or 0 for s in d.streams if s.name in dp.synced_streams), default=0)
            delay_ns = dp.delay_ns + dp.depth_delay_ns
            if delay_ns + exposure_us * 1000 >= period_ns:
                slot = f" ({g.stagger_us:g} us stagger slot included)" if g.stagger_us else ""
                yield Finding((d.id,), f"{d.id} in group {g.name} captures {delay_ns / 1000:,.0f} us after the trigger"
                                       f"{slot} and exposes {exposure_us:g} us: past the {period_ns / 1000:,.0f} us "
                                       "trigger period, so its frames fall among the next trigger's",
                              "keep each member's delay, stagger slot and exposure within one trigger period "
                              f"(under {period_ns / 1000:,.0f} us)" + (f": stagger_us at most "
                                                                      f"{_stagger_limit_us(ctx, g, period_ns):,.0f}"
                                                                      if g.stagger_us else ""))


def _stagger_limit_us(ctx: Context, g: SyncGroupSpec, period_ns: int) -> float:
    """The largest stagger with which every member's slot, delay and exposure end within the trigger period."""
    limits = []
    for i, (m, d) in enumerate(zip(g.members, ctx.members(g), strict=True)):
        if i == 0:
            continue
        exposure_us = max((s.exposure_us or 0 for s in d.streams), default=0)
        limits.append((period_ns / 1000 - m.delay_us - exposure_us) / i)
    return max(min(limits, default=0.0), 0.0)


@rule("MULTI-HOST-PTP", Severity.ERROR, f"{ZED} (Setting up Multiple Cameras on a Local Network)",
      "cameras on different hosts whose clocks no PTP group ties together")
def multi_host_ptp(ctx: Context) -> Iterator[Finding]:
    used = sorted({d.host for d in ctx.rig.devices})
    if len(used) < 2:
        return
    tied = ctx.ptp_roles
    loose = [h for h in used if h not in tied]
    if loose:
        devices = tuple(d.id for d in ctx.rig.devices if d.host in loose)
        yield Finding(devices, f"devices are on {len(used)} hosts ({', '.join(used)}) and {', '.join(loose)} "
                               "take part in no PTP group: their timestamps are on unrelated clocks",
                      "add a ptp sync group over those hosts (one grandmaster, the others slaves); hosts whose "
                      "cameras are in other groups join it under [sync.ptp] hosts")


@rule("PTP-INTERFACE", Severity.ERROR, f"{ZED} (Check PTP hardware support: the WiFi adapter cannot be used)",
      "a PTP host runs PTP on Wi-Fi, on an interface without timestamping, or declares no interface")
def ptp_interface(ctx: Context) -> Iterator[Finding]:
    for host_name in ctx.ptp_roles:
        nic = ctx.ptp_nics.get(host_name)
        devices = tuple(d.id for d in ctx.plan.index.on_host.get(host_name, ()))
        if nic is None:
            yield Finding(devices, f"host {host_name} takes part in PTP but declares no network interface",
                          "declare its Ethernet interface under [[hosts.nics]] with its timestamping")
        elif nic.kind is NicKind.WIFI:
            yield Finding(devices, f"host {host_name} would run PTP on Wi-Fi interface {nic.name}, which lacks "
                                   "hardware timestamping and SOF_TIMESTAMPING_TX_SOFTWARE",
                          "use a wired Ethernet interface for PTP")
        elif nic.timestamping is Timestamping.NONE:
            yield Finding(devices, f"interface {nic.name} of host {host_name} has no PTP timestamping",
                          "use an interface that ethtool -T shows with software or hardware timestamping")


@rule("PTP-HW-TIMESTAMPING", Severity.WARNING, f"{ZED} (Advantages of PTP); seeds/003 Emergent",
      "a PTP host uses software timestamping")
def ptp_hardware(ctx: Context) -> Iterator[Finding]:
    for host_name in ctx.ptp_roles:
        nic = ctx.ptp_nics.get(host_name)
        if nic is not None and nic.kind is NicKind.ETHERNET and nic.timestamping is Timestamping.SOFTWARE:
            yield Finding(tuple(d.id for d in ctx.plan.index.on_host.get(host_name, ())),
                          f"host {host_name} runs PTP on {nic.name} with software timestamping: tens of "
                          "microseconds instead of sub-microsecond", "use NICs (and switches) with PTP hardware "
                          "timestamping (ethtool -T shows SOF_TIMESTAMPING_RAW_HARDWARE)")
