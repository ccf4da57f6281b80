"""Aligner throughput and added latency.

16 streams at mixed rates (15, 30 and 60 fps), +-100 ppm crystal drift, stamps with +-30 us error, heavy-tailed
USB-like arrival delays (125 us minimum, 8% exponential 0.4 ms, 1% Pareto tail from 1 ms capped at 8 ms)
and 1% dropped frames. Frames are pushed in arrival order; time advances to the aligner's own deadlines.
``--streams N`` repeats the rate pattern up to N streams.

* frames/s: frames pushed per second of aligner time (CPU time of this process, so that other processes on
  a shared machine count less), best of the runs (target >= 100k).
* added latency: per frameset, the time its members were decided (``emitted_ns``) minus the arrival of its
  last member, in frame periods of the rig's fastest stream (target p99 <= 0.5). Sets are returned once the
  reasons of their missing members are known too: that later time is shown as "settled".
* baseline, same run: with ``--baseline REV`` the aligner of that git revision (5bf167e: before issue 7), loaded from
  the repository into a package of its own (``revision.py``), runs the same events, alternating with this one; the
  ratio of their best times is the speed-up (>1: faster now). Without it, the same events pushed into per-stream
  deques only (the bare cost of touching each frame).

Run: python bench/bench_aligner.py [--seconds 60] [--seed 1] [--streams 16] [--runs 3] [--baseline 5bf167e]
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from typing import Any

import numpy as np

import revision
from rigsync.align import Aligner, AlignStream

RATES = [15, 30, 30, 30, 30, 30, 30, 60, 30, 30, 60, 15, 30, 30, 30, 30]
Event = tuple[int, str, int, int]


def events(seconds: float, seed: int, count: int = len(RATES)) -> tuple[list[AlignStream], list[Event]]:
    rng = np.random.default_rng(seed)
    streams, out = [], []
    for i in range(count):
        fps = RATES[i % len(RATES)]
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


def run_aligner(aligner_cls: Any, streams: list[Any], evs: list[Event]) -> tuple[float, dict[str, Any]]:
    al = aligner_cls(streams)
    sets: list[Any] = []
    returned: list[int] = []
    t0 = time.process_time()
    for arrival, key, seq, stamp in evs:
        deadline = al.next_deadline_ns()
        if deadline is not None and deadline < arrival:
            got = al.advance(deadline)
            sets += got
            returned += [deadline] * len(got)
        got = al.push(key, seq, seq=seq, rig_time_ns=stamp, error_ns=30_000, arrival_ns=arrival)
        sets += got
        returned += [arrival] * len(got)
    got = al.flush()
    elapsed = time.process_time() - t0
    sets += got
    returned += [evs[-1][0]] * len(got)
    return elapsed, {"aligner": al, "sets": sets, "returned": returned}


def latencies(streams: list[AlignStream], evs: list[Event], result: dict[str, Any]) -> tuple[list[float], ...]:
    cadence = min(s.period_ns for s in streams)
    arrival_of = {(key, seq): arrival for arrival, key, seq, _ in evs}
    keys = result["aligner"].keys
    decided, settled = [], []
    for fs, back in list(zip(result["sets"], result["returned"], strict=True))[:-5]:
        last = max(arrival_of[(keys[e.stream], e.seq)] for e in fs.members)
        decided.append((fs.emitted_ns - last) / cadence)
        settled.append((back - last) / cadence)
    return decided, settled


def run_baseline(evs: list[Event]) -> float:
    queues: dict[str, deque[tuple[int, int, int]]] = {}
    t0 = time.process_time()
    for arrival, key, seq, stamp in evs:
        q = queues.get(key)
        if q is None:
            q = queues[key] = deque(maxlen=64)
        q.append((seq, stamp, arrival))
    return time.process_time() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--streams", type=int, default=len(RATES))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--baseline", default=None, help="git revision whose aligner to compare with, e.g. 5bf167e")
    args = p.parse_args()
    streams, evs = events(args.seconds, args.seed, args.streams)
    print(f"aligner: {args.streams} streams, {args.seconds:.0f} s, {len(evs)} frames (best of {args.runs} runs)")
    other = revision.load_package(args.baseline, "align") if args.baseline else None
    other_streams = [other.AlignStream(s.key, s.period_ns) for s in streams] if other else []
    best = other_best = float("inf")
    result: dict[str, Any] = {}
    for _ in range(args.runs):  # alternating, so that both see the same machine
        elapsed, result = run_aligner(Aligner, streams, evs)
        best = min(best, elapsed)
        if other is not None:
            other_best = min(other_best, run_aligner(other.Aligner, other_streams, evs)[0])
    al = result["aligner"]
    matched = sum(len(fs.members) for fs in result["sets"])
    print(f"  framesets {len(result['sets'])}, complete {al.stats.complete}, frames matched {matched}/{len(evs)} "
          f"({100 * matched / len(evs):.2f}%)")
    print(f"  throughput {len(evs) / best:,.0f} frames/s, {1e6 * best / len(evs):.2f} us/frame (target >= 100,000)")
    if other is not None:
        print(f"  baseline {args.baseline} {len(evs) / other_best:,.0f} frames/s; this one takes "
              f"{best / other_best:.2f}x its time (speed-up {other_best / best:.2f})")
    else:
        base = min(run_baseline(evs) for _ in range(3))
        print(f"  baseline (deque append only) {len(evs) / base:,.0f} frames/s; aligner costs {best / base:.1f}x it")
    decided, settled = latencies(streams, evs, result)
    print(f"  added latency p50 {np.percentile(decided, 50):.3f}, p99 {np.percentile(decided, 99):.3f}, "
          f"max {max(decided):.3f} frame periods of the fastest stream (target p99 <= 0.5)")
    print(f"  settled (returned with final missing reasons) p50 {np.percentile(settled, 50):.3f}, "
          f"p99 {np.percentile(settled, 99):.3f}, max {max(settled):.3f} periods")


if __name__ == "__main__":
    main()
