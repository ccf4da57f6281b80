"""Simulator across processes: CPU per simulated second of a world emitting one host's devices against the whole
world, on one rig in the same run.

Run: ``python bench/bench_sim_hosts.py [--rig examples/three_hosts_ptp.toml] [--seconds 5]``

Every process of a rig split across hosts simulates every device's events (timing: cheap) and renders and hands
out only its own host's frames (the expensive part). Each case runs on the virtual clock: all devices started,
the world read every 10 ms of simulated time for ``--seconds``, CPU time (``time.process_time``) divided by the
simulated seconds. "events only" reads nothing: the catch-up cost of a process joining a timeline late.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rigsync.core.frame import Frame
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import load_rig
from rigsync.spec.model import RigSpec

POLL_NS = 10_000_000


def cpu_per_sim_s(rig: RigSpec, hosts: list[str] | None, seconds: float, *, read: bool = True) -> tuple[float, int]:
    """(CPU seconds per simulated second, frames handed out) of a world emitting ``hosts``."""
    plan = build_plan(rig)
    world = SimWorld(rig, plan, hosts=hosts)
    own = [d.spec.id for d in world.devices if world.emits(d)] if read else []
    for device_id in own:
        world.prepare(device_id)  # views are precomputed before a capture, as configure() does
    for device_id in plan.start_order:
        world.start_device(device_id)
    frames = 0
    t, until = SIM_EPOCH_NS, SIM_EPOCH_NS + round(seconds * 1e9)
    cpu0 = time.process_time()
    while t < until:
        t += POLL_NS
        world.advance_to(t)
        frames += sum(isinstance(item, Frame) for d in own for item in world.take(d))
    return (time.process_time() - cpu0) / seconds, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rig", type=Path, default=Path(__file__).parents[1] / "examples" / "three_hosts_ptp.toml")
    parser.add_argument("--seconds", type=float, default=5.0, help="simulated seconds per case")
    args = parser.parse_args()
    rig = load_rig(args.rig)
    hosts = [h.name for h in rig.hosts]
    whole, whole_frames = cpu_per_sim_s(rig, None, args.seconds)
    print(f"{args.rig.name}, render width {rig.sim.render_width}, {args.seconds:g} simulated s per case")
    print("| world emits | devices | frames/sim s | CPU ms per sim s | x the whole world |")
    print("| --- | --- | --- | --- | --- |")
    rate = whole_frames / args.seconds
    print(f"| all {len(hosts)} hosts | {len(rig.devices)} | {rate:.0f} | {whole * 1e3:.1f} | 1.00 |")
    for host in hosts:
        cpu, frames = cpu_per_sim_s(rig, [host], args.seconds)
        n = sum(1 for d in rig.devices if d.host == host)
        print(f"| {host} | {n} | {frames / args.seconds:.0f} | {cpu * 1e3:.1f} | {cpu / whole:.2f} |")
    events, _ = cpu_per_sim_s(rig, None, args.seconds, read=False)
    print(f"| events only (catch-up) | 0 | 0 | {events * 1e3:.1f} | {events / whole:.2f} |")


if __name__ == "__main__":
    main()
