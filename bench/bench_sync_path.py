"""The sync path per frame: stamping (device clock -> rig time, with its bound) and aligning into framesets.

Workload: 64 cameras x 2 streams at 30 fps (128 streams, 3,840 frames/s), each camera on its own clock (+-100 ppm)
stamping both streams at the start of exposure (free-running, random phases); heavy-tailed USB-like arrival
delays after 12 ms of exposure and readout (125 us minimum, 8% exponential 0.4 ms, 1% Pareto tail from 1 ms
capped at 8 ms; a stream's frames arrive in order) and 1% of frames dropped, as in bench_aligner.py. Frames are
handled in arrival order, exactly as the capture does: ``DeviceTimebase.stamp`` (one per camera), then
``Aligner.push`` with the stamp, its bound and whether its clock is locked, time advancing to the aligner's own
deadlines.

Figures: CPU time per frame of stamp + align together, and of each alone (align alone replays the same
stamps); best of the repetitions; over the whole run and over the frames after its first 5 s (until then a
camera's clock estimator keeps every point; from then on one per 100 ms bucket). Target: stamp + align <= 10 us
per frame, so that the sync path of a 128-stream rig at 30 fps stays under 5% of one core. The workload's frames
are built before the run and frozen out of the garbage collector's reach (``gc.freeze``): a capture holds a
handful of frames at a time, not the whole run's.

``--baseline REV``: the same with the timebase and aligner of that git revision (loaded from the repository into
packages of their own, run alternately in the same process), and the ratio of the best times (5bf167e: before
issue 7).

Run: python bench/bench_sync_path.py [--seconds 20] [--reps 3] [--baseline REV ...]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import inspect
import math
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

import revision
from rigsync import align
from rigsync.align import AlignStream
from rigsync.core.frame import ClockDomain, Frame, TimestampSemantics
from rigsync.timebase import stamper

CAMERAS = 64
STREAMS = ("color", "depth")
PERIOD_NS = 33_333_333
NOMINAL_NS = 12_125_000
EARLY_S = 5.0


@dataclass(frozen=True)
class Workload:
    frames: list[Frame]  # in arrival order
    streams: list[AlignStream]
    early: int  # frames in the first EARLY_S seconds


@dataclass(frozen=True)
class Code:
    """The timebase and aligner packages under test."""

    name: str
    stamper: ModuleType
    align: ModuleType

    @classmethod
    def of(cls, rev: str | None) -> Code:
        if rev is None:
            return cls("this tree", stamper, align)
        packages = revision.load_packages(rev, "timebase", "align")
        return cls(rev, importlib.import_module(packages["timebase"].__name__ + ".stamper"), packages["align"])


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
    start = frames[0].host_rx_ns
    early = next((i for i, f in enumerate(frames) if f.host_rx_ns - start >= EARLY_S * 1e9), len(frames))
    return Workload(frames, streams, early)


def timebases(code: Code) -> dict[str, Any]:
    return {f"cam{cam}": code.stamper.DeviceTimebase(ClockDomain.DEVICE, code.stamper.TimebaseConfig())
            for cam in range(CAMERAS)}


def stamp_all(w: Workload, code: Code) -> tuple[float, float, list[Any]]:
    """Stamp every frame; returns (CPU seconds over the first EARLY_S seconds, after them, the stamps)."""
    tbs = timebases(code)
    t0 = time.process_time()
    stamps = [tbs[f.device].stamp(f, PERIOD_NS) for f in w.frames[:w.early]]
    t1 = time.process_time()
    stamps += [tbs[f.device].stamp(f, PERIOD_NS) for f in w.frames[w.early:]]
    return t1 - t0, time.process_time() - t1, stamps


def align_all(w: Workload, code: Code, stamps: list[Any] | None) -> tuple[float, float, int]:
    """Align (stamping each frame first when ``stamps`` is None); returns (CPU seconds over the first EARLY_S
    seconds, after them, framesets)."""
    tbs = timebases(code)
    al = code.align.Aligner([code.align.AlignStream(s.key, s.period_ns) for s in w.streams])
    push = al.push
    if "locked" not in inspect.signature(push).parameters:  # before issue 7
        def push(key: str, payload: Frame, *, locked: bool, **kw: int) -> list[Any]:
            return al.push(key, payload, **kw)  # type: ignore[no-any-return]
    sets = 0
    times = []
    for part in (range(w.early), range(w.early, len(w.frames))):
        t0 = time.process_time()
        for i in part:
            f = w.frames[i]
            s = tbs[f.device].stamp(f, PERIOD_NS) if stamps is None else stamps[i]
            arrival = f.host_rx_ns
            deadline = al.next_deadline_ns()
            if deadline is not None and deadline < arrival:
                sets += len(al.advance(deadline))
            sets += len(push(f.key, f, seq=f.seq, rig_time_ns=s.start_ns, error_ns=s.error_bound_ns,
                             arrival_ns=arrival, locked=s.locked))
        times.append(time.process_time() - t0)
    t0 = time.process_time()
    sets += len(al.flush())
    return times[0], times[1] + time.process_time() - t0, sets


def measure(w: Workload, code: Code, best: dict[str, tuple[float, float]]) -> int:
    """One repetition of each figure for ``code``, kept in ``best`` if better; returns the framesets."""
    def keep(name: str, early: float, late: float) -> None:
        old = best.get(name, (math.inf, math.inf))
        best[name] = (min(old[0], early), min(old[1], late))

    early, late, stamps = stamp_all(w, code)
    keep("stamp", early, late)
    early, late, _ = align_all(w, code, stamps)
    keep("align", early, late)
    early, late, sets = align_all(w, code, None)
    keep("both", early, late)
    return sets


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--baseline", nargs="*", default=[], help="git revisions to compare with, e.g. 5bf167e")
    args = p.parse_args()
    w = workload(args.seconds, args.seed)
    gc.collect()
    gc.freeze()  # the workload is not part of what a capture's collector sees
    codes = [Code.of(None), *(Code.of(rev) for rev in args.baseline)]
    best: dict[str, dict[str, tuple[float, float]]] = {c.name: {} for c in codes}
    sets = 0
    for _ in range(args.reps):  # alternating, so that every variant sees the same machine
        for code in codes:
            got = measure(w, code, best[code.name])
            sets = got if code is codes[0] else sets
    n, late_n = len(w.frames), len(w.frames) - w.early
    rate = CAMERAS * len(STREAMS) * 30
    print(f"sync path: {CAMERAS} cameras x {len(STREAMS)} streams at 30 fps, {args.seconds:g} s, {n} frames, "
          f"{sets} framesets; CPU time per frame, best of {args.reps}: whole run / after the first {EARLY_S:g} s")
    ours = best["this tree"]
    for code in codes:
        b = best[code.name]
        per = {k: ((e + late) / n * 1e6, late / late_n * 1e6) for k, (e, late) in b.items()}
        label = "" if code.name == "this tree" else f"  {code.name}:"
        both, stamp, al = per["both"], per["stamp"], per["align"]
        if not label:
            print(f"  stamp + align: {both[0]:.2f} / {both[1]:.2f} us/frame (target <= 10 us): "
                  f"{rate * both[0] / 1e4:.1f}% / {rate * both[1] / 1e4:.1f}% of one core at {rate:,} frames/s "
                  "(target < 5%)")
            print(f"  stamp alone {stamp[0]:.2f} / {stamp[1]:.2f} us/frame, align alone {al[0]:.2f} / {al[1]:.2f} "
                  "us/frame")
            continue
        ratio = {k: (sum(b[k]) / sum(ours[k])) for k in b}
        print(f"{label} stamp + align {both[0]:.2f} / {both[1]:.2f}, stamp {stamp[0]:.2f} / {stamp[1]:.2f}, "
              f"align {al[0]:.2f} / {al[1]:.2f} us/frame; this tree is {ratio['both']:.2f}x / {ratio['stamp']:.2f}x / "
              f"{ratio['align']:.2f}x faster (whole run)")


if __name__ == "__main__":
    main()
