"""Aligner throughput and added latency.

16 streams at mixed rates (15, 30 and 60 fps), +-100 ppm crystal drift, stamps with +-30 us error, heavy-tailed
USB-like arrival delays (125 us minimum, 8% exponential 0.4 ms, 1% Pareto tail from 1 ms capped at 8 ms)
and 1% dropped frames. Frames are pushed in arrival order; time advances to the aligner's own deadlines.

* frames/s: frames pushed per second of aligner time, best of 3 runs (target >= 100k).
* added latency: per frameset, emission time minus the arrival of its last member, in frame periods of the
  rig's fastest stream (target p99 <= 0.5).
* baseline, same run: the same events pushed into per-stream deques only (the cost of touching each frame);
  the ratio says how many times the bare handling cost the matching takes.

Run: python bench/bench_aligner.py [--seconds 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np

from rigsync.align import Aligner, AlignStream

RATES = [15, 30, 30, 30, 30, 30, 30, 60, 30, 30, 60, 15, 30, 30, 30, 30]


def events(seconds: float, seed: int) -> tuple[list[AlignStream], list[tuple[int, str, int, int]]]:
    rng = np.random.default_rng(seed)
    streams, out = [], []
    for i, fps in enumerate(RATES):
        period = 1e9 / fps
        drift = rng.uniform(-100e-6, 100e-6)
        phase = rng.uniform(0, period)
        key = f"cam{i}/s"
        streams.append(AlignStream(key, round(period)))
        n = int(seconds * fps)
        t = phase + np.arange(n) * period * (1 + drift)
        delay = 125e3 + rng.exponential(40e3, n)
        pick = rng.random(n)
        delay = np.where(pick < 0.08, 125e3 + rng.exponential(400e3, n), delay)
        delay = np.where(pick < 0.01, np.minimum(1e6 * (1 + rng.pareto(1.8, n)), 8e6), delay)
        arrival = t + 12e6 + delay  # exposure + readout before the transfer
        stamp = t + rng.uniform(-30e3, 30e3, n)
        keep = rng.random(n) >= 0.01
        out += [(int(arrival[k]), key, k, int(stamp[k])) for k in range(n) if keep[k]]
    out.sort()
    return streams, out


def run_aligner(streams: list[AlignStream], evs: list[tuple[int, str, int, int]],
                ) -> tuple[float, list[float], tuple[int, int, int]]:
    al: Aligner[int] = Aligner(streams)
    cadence = min(s.period_ns for s in streams)
    latencies: list[float] = []
    arrival_of: dict[tuple[str, int], int] = {}
    sets = []
    t0 = time.perf_counter()
    for arrival, key, seq, stamp in evs:
        deadline = al.next_deadline_ns()
        if deadline is not None and deadline < arrival:
            sets += al.advance(deadline)
        sets += al.push(key, seq, seq=seq, rig_time_ns=stamp, error_ns=30_000, arrival_ns=arrival)
    sets += al.flush()
    elapsed = time.perf_counter() - t0
    for arrival, key, seq, _ in evs:
        arrival_of[(key, seq)] = arrival
    keys = al.keys
    for fs in sets[:-5]:
        last = max(arrival_of[(keys[e.stream], e.seq)] for e in fs.members)
        latencies.append((fs.emitted_ns - last) / cadence)
    matched = sum(len(fs.members) for fs in sets)
    return elapsed, latencies, (len(sets), al.stats.complete, matched)


def run_baseline(evs: list[tuple[int, str, int, int]]) -> float:
    queues: dict[str, deque[tuple[int, int, int]]] = {}
    t0 = time.perf_counter()
    for arrival, key, seq, stamp in evs:
        q = queues.get(key)
        if q is None:
            q = queues[key] = deque(maxlen=64)
        q.append((seq, stamp, arrival))
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    streams, evs = events(args.seconds, args.seed)
    print(f"aligner: 16 streams, {args.seconds:.0f} s, {len(evs)} frames (best of 3 runs; the results are the same)")
    elapsed, lat, (sets, complete, matched) = run_aligner(streams, evs)
    for _ in range(2):
        elapsed = min(elapsed, run_aligner(streams, evs)[0])
    print(f"  framesets {sets}, complete {complete}, frames matched {matched}/{len(evs)} "
          f"({100 * matched / len(evs):.2f}%)")
    base = min(run_baseline(evs) for _ in range(3))
    rate = len(evs) / elapsed
    print(f"  throughput {rate:,.0f} frames/s (target >= 100,000)")
    print(f"  baseline (deque append only) {len(evs) / base:,.0f} frames/s; aligner costs {elapsed / base:.1f}x it")
    print(f"  added latency p50 {np.percentile(lat, 50):.3f}, p99 {np.percentile(lat, 99):.3f}, "
          f"max {max(lat):.3f} frame periods of the fastest stream (target p99 <= 0.5)")


if __name__ == "__main__":
    main()
