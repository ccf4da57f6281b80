"""One host's simulator in its own process, on the timeline other processes share (run by the tests).

``python sim_host_process.py RIG HOST ORIGIN_REALTIME_NS START_AT_NS END_NS OUT``: builds the rig's world emitting
HOST's devices only, on true time ``SIM_EPOCH_NS`` = ``ORIGIN_REALTIME_NS`` of CLOCK_REALTIME; starts every device
of the rig (its own and the other hosts') in plan order at true time START_AT_NS; follows the kernel's clock in
real time, reading its devices' frames, until true time END_NS; writes what it emitted to OUT (JSON).
"""

from __future__ import annotations

import json
import sys
import zlib
from dataclasses import asdict

from rigsync.core.frame import Frame
from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim.driver import SimClock
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import load_rig

POLL_NS = 5_000_000


def frame_record(frame: Frame) -> list[object]:
    """A frame's metadata and a checksum of its image (JSON-friendly)."""
    return [frame.device, frame.stream, frame.seq, frame.device_ts_ns, frame.host_rx_ns, frame.exposure_ns,
            int(frame.flags), zlib.crc32(frame.image.tobytes())]


def main(argv: list[str]) -> None:
    rig_path, host, origin, start_at, end, out = argv
    rig = load_rig(rig_path)
    plan = build_plan(rig)
    world = SimWorld(rig, plan, hosts=[host])
    clock = SimClock(fast=False, origin_realtime_ns=int(origin))
    truth: list[FrameTruth] = []
    world.truth_sink = truth.append
    for device_id in plan.start_order:
        world.start_device(device_id, at_ns=int(start_at))
    joined_ns = clock.now_ns()
    own = [d.spec.id for d in world.devices if world.emits(d)]
    frames: list[list[object]] = []
    while True:
        now = min(clock.now_ns(), int(end))
        world.advance_to(now)
        frames += [frame_record(f) for d in own for f in world.take(d) if isinstance(f, Frame)]
        if now >= int(end):
            break
        clock.wait_until(now + POLL_NS)
    with open(out, "w") as f:
        json.dump({"joined_ns": joined_ns, "now_ns": world.now_ns, "frames": frames,
                   "truth": [asdict(t) for t in truth]}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
