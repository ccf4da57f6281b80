"""Per-device and per-stream simulation state, built from the rig and its plan. Not public API."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from rigsync.catalog import get_model
from rigsync.catalog.base import CameraModel, DepthTech, LaserTiming, Shutter
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind, TimestampSemantics
from rigsync.core.geometry import Pose, default_pose
from rigsync.core.intrinsics import Intrinsics
from rigsync.core.sync import LinkKind
from rigsync.drivers.base import DeviceEvent
from rigsync.drivers.sim.clocks import CrystalClock, CrystalParams, DeviceClock, PtpCameraClock
from rigsync.drivers.sim.exposure import ExposureModel, LightModel
from rigsync.drivers.sim.hosts import Reference, SimHost
from rigsync.drivers.sim.links import PROFILES, LinkProfile, Overload, eth_profile
from rigsync.drivers.sim.scene import ViewRenderer
from rigsync.drivers.sim.triggers import Shot
from rigsync.plan.model import DevicePlan, Role
from rigsync.spec.model import DeviceSpec, RigSpec, StreamSpec
from rigsync.spec.sync import FaultKind, PtpSpec

SIM_EPOCH_NS = 1_790_000_000 * 1_000_000_000
"""True time 0 of every simulation (2026-09-21 UTC): recordings carry realistic, reproducible times."""
STARTUP_NS = 150_000_000
"""Sensor start-up after ``start()`` before the first exposure."""
HOST_COMPUTE_NS = 8_000_000
"""Host-side compute of streams the vendor SDK derives on the host (ZED depth on the GPU)."""
SYNCED_ROLES = (Role.MASTER, Role.SUBORDINATE, Role.GENLOCK, Role.CARD, Role.PTP)


@dataclass(slots=True)
class Pending:
    """An exposure on its way from the sensor to the host."""

    stream: StreamSim
    seq: int
    start_ns: int
    end_ns: int
    trigger: str | None
    flags: FrameFlags = FrameFlags.NONE
    rx_true_ns: int = 0
    instant_device_ns: int = 0
    delivered: bool = True
    lost: str | None = None
    """Why it was not delivered (see ``FrameTruth.lost``)."""


@dataclass
class StreamSim:
    spec: StreamSpec
    device: DeviceSim
    synced: bool
    exposure: ExposureModel
    semantics: TimestampSemantics
    link_bytes: int
    encoding: str
    """Recorded encoding."""
    render_encoding: str
    """What the scene renders (a mono colour camera is rendered in colour, then converted)."""
    laser: LaserTiming | None
    ae_shift: bool
    """A triggered rolling-shutter colour camera under auto exposure: its start moves with the exposure."""
    render_size: tuple[int, int]
    intrinsics: Intrinsics
    shots: Iterator[Shot] | None = None
    next_start: int | None = None
    next_trigger: int | None = None
    generation: int = 0
    seq: int = 0
    last_rx_true: int = 0
    renderer: ViewRenderer | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.device.spec.id, self.spec.name


@dataclass
class DeviceSim:
    index: int
    spec: DeviceSpec
    model: CameraModel
    plan: DevicePlan
    crystal: DeviceClock
    host_clock: SimHost
    link: LinkProfile
    overload: Overload
    rng: np.random.Generator
    """Draws of the device's events (jitter, losses, link delays, restarts), in true-time order."""
    render_rng: np.random.Generator
    """Draws of rendering (corruption, interference), in delivery order: apart from ``rng`` so that when (and
    whether) the host reads its frames never changes the events."""
    bias_ns: int
    """Hidden constant latency offset from the nominal (the timebase cannot see it)."""
    pose: Pose
    faults: list[tuple[FaultKind, int, int]]
    streams: list[StreamSim] = field(default_factory=list)
    started: bool = False
    begin_ns: int = 0
    armed_ns: int | None = None
    """True time of the first exposure a scheduled start armed the device for."""
    connected: bool = True
    down_until: int = 0
    transit: deque[Pending] = field(default_factory=deque)
    ready: list[Frame | DeviceEvent | Pending] = field(default_factory=list)
    last_rx_true: int = 0
    domain: ClockDomain = ClockDomain.DEVICE

    def jitter(self) -> int:
        """Trigger-to-exposure jitter of this device (sync input to sensor), ns."""
        return int(self.rng.normal(0.0, 100.0))


def render_size(spec: StreamSpec, width: int) -> tuple[int, int]:
    """Render size keeping the stream's aspect ratio, at most the configured width."""
    w = min(width, spec.width)
    h = max(2, round(w * spec.height / spec.width))
    return w, h


def _crystal(rig: RigSpec, device: DeviceSpec, plan: DevicePlan, rng: np.random.Generator,
             reference: Reference) -> CrystalClock | PtpCameraClock:
    if plan.role is Role.PTP:
        # The camera's clock is a PTP slave (its own hardware timestamps), locked to the rig's reference; with
        # phc2sys -O 0 on every host (seeds/000) the hosts' clocks carry the same numbers.
        group = rig.group_of(device.id)
        ptp = group.ptp if group is not None and group.ptp is not None else PtpSpec()
        return PtpCameraClock(reference, rng, ptp.sync_interval_ns)
    max_ppm = rig.sim.max_drift_ppm
    drift_ppm = device.sim.drift_ppm if device.sim.drift_ppm is not None else rng.uniform(-max_ppm, max_ppm)
    if device.sim.clock_start_s is not None:
        start = round(device.sim.clock_start_s * 1e9)
    else:
        start = int(rng.uniform(5.0, 3600.0) * 1e9)  # time since the device powered up
    params = CrystalParams(drift_ppm * 1e-6, start, wander_ppm=rng.uniform(0.05, 0.3),
                           wander_period_s=rng.uniform(120.0, 600.0), wander_phase=rng.uniform(0, 2 * math.pi))
    return CrystalClock(params, SIM_EPOCH_NS)


def _link(rig: RigSpec, device: DeviceSpec) -> LinkProfile:
    conn = device.connection
    if conn.kind is LinkKind.ETHERNET:
        nic = rig.host(device.host).nic(conn.bus)
        return eth_profile(nic.speed_gbps if nic is not None else 1.0)
    return PROFILES[conn.kind]


def overloads(rig: RigSpec) -> dict[str, Overload]:
    """Demand / capacity of every USB controller, per device id."""
    demand: dict[tuple[str, str], float] = {}
    for d in rig.devices:
        if d.connection.kind is LinkKind.USB:
            model = get_model(d.model)
            rate = sum(model.link_bytes_per_s(s.kind, s.width, s.height, s.pixel_format, s.fps) for s in d.streams)
            key = (d.host, d.connection.bus)
            demand[key] = demand.get(key, 0.0) + rate
    result = {}
    for d in rig.devices:
        ratio = 0.0
        if d.connection.kind is LinkKind.USB:
            capacity = rig.host(d.host).usb_controller(d.connection.bus).capacity_mb_s * 1e6
            ratio = demand[(d.host, d.connection.bus)] / capacity
        result[d.id] = Overload(ratio)
    return result


def build_device(rig: RigSpec, index: int, device: DeviceSpec, plan: DevicePlan, overload: Overload,
                 light: LightModel, host_clock: SimHost, seed: int) -> DeviceSim:
    model = get_model(device.model)
    rng = np.random.default_rng([seed, index, 0x51])
    faults = [(f.kind, SIM_EPOCH_NS + round(f.at_s * 1e9), SIM_EPOCH_NS + round((f.at_s + f.duration_s) * 1e9))
              for f in rig.faults if f.device is not None and f.device == device.id]
    dev = DeviceSim(index=index, spec=device, model=model, plan=plan,
                    crystal=_crystal(rig, device, plan, rng, host_clock.reference),
                    host_clock=host_clock, link=_link(rig, device), overload=overload, rng=rng,
                    render_rng=np.random.default_rng([seed, index, 0x52]),
                    bias_ns=int(rng.uniform(-15_000, 15_000)),
                    pose=device.pose or default_pose(index, len(rig.devices)), faults=faults,
                    domain=ClockDomain.PTP if plan.role is Role.PTP else model.clock.domain)
    synced_role = plan.role in SYNCED_ROLES
    semantics = model.clock.semantics_synced if synced_role else model.clock.semantics_free
    sensitivity = rng.uniform(0.8, 1.2)
    for spec in device.streams:
        synced = spec.name in plan.synced_streams
        period = spec.period_ns
        # Genlock "limits the maximum exposure time ... to 1/90 seconds" at 90 fps native (seeds/004).
        max_exposure = period if plan.role is Role.GENLOCK and synced else int(period * 0.9)
        mode = model.mode(spec.kind, spec.width, spec.height)
        laser = model.laser_for(mode.name) if (mode is not None and model.depth_tech is DepthTech.TOF
                                               and spec.kind is not StreamKind.COLOR) else None
        manual = spec.exposure_us * 1000 if spec.exposure_us is not None else None
        if laser is not None:
            manual = round(laser.exposure_us * 1000)
        exposure = ExposureModel(manual, min(period // 2, 10_000_000), max_exposure, light, sensitivity)
        fmt = model.pixel_format(spec.pixel_format)
        encoding = fmt.encoding if fmt is not None else "rgb8"
        size = render_size(spec, rig.sim.render_width)
        ae_shift = (exposure.auto and synced and spec.kind is StreamKind.COLOR
                    and model.shutter_for(spec.kind) is Shutter.ROLLING
                    and plan.role in (Role.MASTER, Role.SUBORDINATE, Role.CARD))
        dev.streams.append(StreamSim(
            spec=spec, device=dev, synced=synced, exposure=exposure, semantics=semantics,
            link_bytes=model.link_bytes_per_frame(spec.kind, spec.width, spec.height, spec.pixel_format),
            encoding=encoding, render_encoding="rgb8" if (spec.kind is StreamKind.COLOR
                                                          and encoding.startswith("mono")) else encoding,
            laser=laser, ae_shift=ae_shift, render_size=size,
            intrinsics=Intrinsics.from_hfov(size[0], size[1], model.hfov_for(spec.kind)),
        ))
    return dev


def nominal_latency_ns(stream: StreamSim, exposure_ns: int) -> int:
    """What a driver knows of the delay from start of exposure to host receive (no bias, no excess)."""
    dev = stream.device
    if stream.spec.kind in dev.model.host_computed:
        base = dev.model.readout_ns + dev.link.base_ns + HOST_COMPUTE_NS
        color = next((s for s in dev.streams if s.spec.kind is StreamKind.COLOR), None)
        transfer = color.link_bytes if color is not None else 0
    else:
        base = dev.model.readout_ns + dev.link.base_ns
        transfer = stream.link_bytes
    return exposure_ns + base + int(transfer / dev.link.throughput_bytes_s * 1e9)
