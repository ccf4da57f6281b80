"""Frames as a simulated device's host receives them: stamped by the device's counter (unwrapped as a driver
does, restarting with the device) or by the host's clock, with their image rendered when the driver reads them."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from rigsync.catalog.base import DepthTech
from rigsync.catalog.rows import line_ns
from rigsync.core.counter import CounterUnwrapper
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StreamKind, TimestampSemantics
from rigsync.drivers.sim._model import SIM_EPOCH_NS, DeviceSim, Pending, StreamSim, nominal_latency_ns
from rigsync.drivers.sim.clocks import ticks
from rigsync.drivers.sim.flash import FlashLight
from rigsync.drivers.sim.scene import Scene, ViewRenderer
from rigsync.spec.model import SimFlashSpec


class ReceivedFrames:
    """Makes the :class:`~rigsync.core.frame.Frame` of each delivered exposure."""

    def __init__(self, scene: Scene, devices: list[DeviceSim], flashes: Sequence[SimFlashSpec] = ()) -> None:
        self.scene = scene
        self._flash = FlashLight(flashes, SIM_EPOCH_NS)
        self._unwrap = {d.spec.id: CounterUnwrapper(d.model.clock.width_bits) for d in devices}

    def restart(self, device_id: str) -> None:
        """The device power-cycled: its counter starts again near zero."""
        self._unwrap[device_id].reset()

    def renderer(self, stream: StreamSim) -> ViewRenderer:
        """The stream's view of the scene (computed on first use: tens of ms)."""
        if stream.renderer is None:
            dev = stream.device
            view = self.scene.view(dev.pose, stream.intrinsics)
            ir_dots = (stream.spec.kind is StreamKind.IR and dev.model.depth_tech is DepthTech.ACTIVE_STEREO
                       and dev.spec.sim.ir_projector)
            stream.renderer = self.scene.renderer(view, stream.spec.kind, stream.render_encoding, ir_dots=ir_dots,
                                                  camera=dev.index)
        return stream.renderer

    def frame(self, p: Pending) -> Frame:
        """A delivered frame as its host reads it, rendered now."""
        stream = p.stream
        dev = stream.device
        host_rx = dev.host_clock.mono_ns(p.rx_true_ns)
        clock = dev.model.clock
        if dev.domain is ClockDomain.HOST or stream.semantics is TimestampSemantics.HOST_RECEIVE:
            device_ts = host_rx
        else:
            raw = ticks(p.instant_device_ns, clock.tick_ns, clock.width_bits)
            device_ts = self._unwrap[dev.spec.id].unwrap(raw) * clock.tick_ns
        renderer = self.renderer(stream)
        needs_rng = bool(p.flags & (FrameFlags.CORRUPT | FrameFlags.INTERFERED))
        line = stream_line_ns(stream)
        image = renderer.render(p.start_ns, exposure_end_ns=p.end_ns, line_ns=line,
                                interfered=bool(p.flags & FrameFlags.INTERFERED),
                                corrupt=bool(p.flags & FrameFlags.CORRUPT), rng=dev.render_rng if needs_rng else None)
        if self._flash and stream.spec.kind is not StreamKind.DEPTH:
            image = self._flash.light(image, p.start_ns, p.end_ns, line)
        if stream.render_encoding != stream.encoding:  # a monochrome colour camera
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            if stream.encoding == "mono16":
                image = image.astype(np.uint16) * 257
        exposure = p.end_ns - p.start_ns
        return Frame(device=dev.spec.id, stream=stream.spec.name, seq=p.seq, device_ts_ns=device_ts,
                     host_rx_ns=host_rx, semantics=stream.semantics, domain=dev.domain,
                     min_latency_ns=nominal_latency_ns(stream, exposure), exposure_ns=exposure, image=image,
                     encoding=stream.encoding, flags=p.flags)


def stream_line_ns(stream: StreamSim) -> float:
    """The rendered rows' line time of a stream (:func:`rigsync.catalog.rows.line_ns` at its render height)."""
    return line_ns(stream.device.model, stream.spec.kind, stream.render_size[1])
