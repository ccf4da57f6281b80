"""The rig's devices and streams as a capture sets them up, from the plan: each device's configuration, each
stream's matching rule in the aligner (its period, declared offset, and whether it is steady), its sync group
(for the live skew) and the encoding it is recorded in, and each device's timebase."""

from __future__ import annotations

from rigsync.align import AlignStream
from rigsync.catalog import get_model
from rigsync.core.frame import StreamKind
from rigsync.drivers.base import DeviceConfig, DeviceTiming, StreamConfig, SyncConfig
from rigsync.plan.emit.genicam import ptp_step_mode
from rigsync.plan.model import Plan
from rigsync.spec.model import DeviceSpec, StreamSpec
from rigsync.timebase.host import HostTimebase
from rigsync.timebase.stamper import DeviceTimebase, TimebaseConfig


def align_stream(plan: Plan, device: DeviceSpec, stream: StreamSpec) -> AlignStream:
    """How the aligner matches a stream: a synced stream at its group's trigger period and declared offset
    (bursts and random triggers are not steady), any other stream at its own period."""
    dp = plan.device(device.id)
    key = f"{device.id}/{stream.name}"
    if stream.name not in dp.synced_streams or dp.group is None:
        return AlignStream(key, stream.period_ns)
    group = plan.group(dp.group)
    offset = dp.delay_ns + (dp.depth_delay_ns if stream.kind is not StreamKind.COLOR else 0)
    period = group.trigger_period_ns or stream.period_ns
    if dp.burst > 1:  # bursts (Genlock, Orbbec frames_per_trigger): frames at the stream rate, then a gap
        return AlignStream(key, stream.period_ns, offset, regular=False)
    return AlignStream(key, period, offset, regular=not group.random_triggers)


def frame_rate(plan: Plan, device: DeviceSpec, stream: StreamSpec) -> float:
    """Frames per second the stream delivers in this rig: a synced stream one burst per trigger of its group,
    any other stream its own rate."""
    dp = plan.device(device.id)
    if stream.name not in dp.synced_streams or dp.group is None:
        return stream.fps
    period_ns = plan.group(dp.group).trigger_period_ns
    return stream.fps if not period_ns else 1e9 / period_ns * max(dp.burst, 1)


def sync_groups(plan: Plan) -> dict[str, str]:
    """``<device>/<stream>`` -> the sync group it is triggered or timed by (streams aligned by timestamp only
    are absent)."""
    out = {}
    for device in plan.rig.devices:
        dp = plan.device(device.id)
        for stream in device.streams:
            if stream.name in dp.synced_streams and dp.group is not None:
                out[f"{device.id}/{stream.name}"] = dp.group
    return out


def device_config(plan: Plan, spec: DeviceSpec) -> DeviceConfig:
    """What a device is configured with: its streams from the rig file, its sync settings from the plan."""
    dp = plan.device(spec.id)
    return DeviceConfig(
        device_id=spec.id, serial=spec.serial, model=spec.model,
        streams=tuple(StreamConfig(s.name, s.kind, s.width, s.height, s.fps, s.pixel_format, s.exposure_us)
                      for s in spec.streams),
        sync=SyncConfig(dp.group, dp.method, dp.role.value, dp.vendor_role, dp.delay_ns, dp.depth_delay_ns,
                        dp.burst, dp.synced_streams, dp.trigger_out, ptp_step_mode(plan, spec.id)),
        packet_size=spec.packet_size,
    )


def device_timebase(timing: DeviceTiming, host: HostTimebase) -> DeviceTimebase:
    """A device's timebase: its clock domain and timing as the driver reports them, on its host's map."""
    return DeviceTimebase(timing.domain, TimebaseConfig(
        latency_uncertainty_ns=timing.latency_uncertainty_ns, tick_ns=timing.tick_ns,
        reference_bound_ns=timing.reference_bound_ns), host=host)


def encoding(spec: DeviceSpec, stream: StreamSpec) -> str:
    """The Foxglove encoding a stream is recorded in (from its pixel format in the catalog)."""
    fmt = get_model(spec.model).pixel_format(stream.pixel_format)
    return fmt.encoding if fmt is not None else "rgb8"
