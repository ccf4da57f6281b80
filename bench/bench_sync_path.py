"""The sync path per frame: stamping (device clock -> rig time, with its bound) and aligning into framesets.

Workload: 64 cameras x 2 streams at 30 fps (128 streams, 3,840 frames/s), each camera on its own clock (+-100 ppm)
stamping both streams at the start of exposure (free-running, random phases); heavy-tailed USB-like arrival
delays after 12 ms of exposure and readout (125 us minimum, 8% exponential 0.4 ms, 1% Pareto tail from 1 ms
capped at 8 ms; a stream's frames arrive in order) and 1% of frames dropped, as in bench_aligner.py. Frames are
handled in arrival order, exactly as the capture does: ``DeviceTimebase.stamp`` (one per camera), then
``Aligner.push`` with the stamp, its bound and whether its clock is locked, time advancing to the aligner's own
deadlines.

Figures: CPU time per frame of stamp + align together, and of each alone (align alone replays the same
stamps); best of the repetitions. Target: stamp + align <= 10 us per frame, so that the sync path of a
128-stream rig at 30 fps stays under 5% of one core. For reference, the same with the clock estimator as it was
before issue 7 (``baseline_estimator.py``, a frozen copy).

Run: python bench/bench_sync_path.py [--seconds 20] [--reps 3]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

import baseline_estimator
from rigsync.align import Aligner, AlignStream
from rigsync.core.frame import ClockDomain, Frame, TimestampSemantics
from rigsync.timebase.stamper import DeviceTimebase, Stamp, TimebaseConfig

CAMERAS = 64
STREAMS = ("color", "depth")
PERIOD_NS = 33_333_333
NOMINAL_NS = 12_125_000


@dataclass(frozen=True)
class Workload:
    frames: list[Frame]  # in arrival order
    streams: list[AlignStream]


def workload(seconds: float, seed: int) -> Workload:
    rng = np.random.default_rng(seed)
    frames: list[Frame] = []
    n = int(seconds * 30)
    for cam in range(CAMERAS):
        drift = rng.uniform(-100e-6, 100e-6)
        device_epoch = int(rng.uniform(1e9, 1e12))
        for stream in STREAMS:
            t = rng.uniform(0, PERIOD_NS) + np.arange(n) * PERIOD_NS
            delay = 125e3 + rng.exponential(40e3, n)
            pick = rng.random(n)
            delay = np.where(pick < 0.08, 125e3 + rng.exponential(400e3, n), delay)
            delay = np.where(pick < 0.01, np.minimum(1e6 * (1 + rng.pareto(1.8, n)), 8e6), delay)
            rx = (t + NOMINAL_NS + delay).astype(np.int64)
            step = np.arange(n) * 1_000
            rx = np.maximum.accumulate(rx - step) + step  # in order within the stream
            device = device_epoch + (t * (1 + drift)).astype(np.int64)
            keep = rng.random(n) >= 0.01
            frames += [Frame(device=f"cam{cam}", stream=stream, seq=k, device_ts_ns=int(device[k]),
                             host_rx_ns=int(rx[k]), semantics=TimestampSemantics.START_OF_EXPOSURE,
                             domain=ClockDomain.DEVICE, min_latency_ns=NOMINAL_NS, exposure_ns=8_000_000,
                             image=None, encoding="rgb8")
                       for k in range(n) if keep[k]]
    frames.sort(key=lambda f: f.host_rx_ns)
    streams = [AlignStream(f"cam{cam}/{s}", PERIOD_NS) for cam in range(CAMERAS) for s in STREAMS]
    return Workload(frames, streams)


def timebases(baseline: bool) -> dict[str, DeviceTimebase]:
    out = {}
    for cam in range(CAMERAS):
        tb = DeviceTimebase(ClockDomain.DEVICE, TimebaseConfig())
        if baseline:  # the estimator before issue 7 behind today's stamper
            tb._device.estimator = baseline_estimator.ClockEstimator()  # type: ignore[assignment]
        out[f"cam{cam}"] = tb
    return out


def stamp_all(w: Workload, baseline: bool = False) -> tuple[float, list[Stamp]]:
    tbs = timebases(baseline)
    t0 = time.process_time()
    stamps = [tbs[f.device].stamp(f, PERIOD_NS) for f in w.frames]
    return time.process_time() - t0, stamps


def align_all(w: Workload, stamps: list[Stamp] | None, baseline: bool = False) -> tuple[float, int]:
    """Align (stamping each frame first when ``stamps`` is None); returns (CPU seconds, framesets)."""
    tbs = timebases(baseline)
    al: Aligner[Frame] = Aligner(w.streams)
    sets = 0
    t0 = time.process_time()
    for i, f in enumerate(w.frames):
        s = tbs[f.device].stamp(f, PERIOD_NS) if stamps is None else stamps[i]
        arrival = f.host_rx_ns
        deadline = al.next_deadline_ns()
        if deadline is not None and deadline < arrival:
            sets += len(al.advance(deadline))
        sets += len(al.push(f.key, f, seq=f.seq, rig_time_ns=s.start_ns, error_ns=s.error_bound_ns,
                            arrival_ns=arrival, locked=s.locked))
    sets += len(al.flush())
    return time.process_time() - t0, sets


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    w = workload(args.seconds, args.seed)
    n = len(w.frames)
    best = {k: math.inf for k in ("stamp", "align", "both", "stamp before", "both before")}
    stamps: list[Stamp] = []
    sets = 0
    for _ in range(args.reps):
        elapsed, stamps = stamp_all(w)
        best["stamp"] = min(best["stamp"], elapsed)
        best["align"] = min(best["align"], align_all(w, stamps)[0])
        elapsed, sets = align_all(w, None)
        best["both"] = min(best["both"], elapsed)
        best["stamp before"] = min(best["stamp before"], stamp_all(w, baseline=True)[0])
        best["both before"] = min(best["both before"], align_all(w, None, baseline=True)[0])
    per = {k: v / n * 1e6 for k, v in best.items()}
    rate = CAMERAS * len(STREAMS) * 30
    print(f"sync path: {CAMERAS} cameras x {len(STREAMS)} streams at 30 fps, {args.seconds:g} s, {n} frames, "
          f"{sets} framesets; CPU time per frame, best of {args.reps}")
    print(f"  stamp + align: {per['both']:.2f} us/frame (target <= 10 us): {rate * per['both'] / 1e4:.1f}% of one "
          f"core at {rate:,} frames/s (target < 5%)")
    print(f"  stamp alone {per['stamp']:.2f} us/frame, align alone {per['align']:.2f} us/frame")
    print(f"  with the estimator before issue 7: stamp {per['stamp before']:.2f} us/frame, stamp + align "
          f"{per['both before']:.2f} us/frame")


if __name__ == "__main__":
    main()
