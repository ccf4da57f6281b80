"""The aligner's incremental path (sets opened, grown and closed from what the last decision left, in O(log N) per
frame) takes exactly the decisions of deciding from scratch over every stream after every frame and wake-up."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.align.test_aligner_schedule import Event, Schedule, apply, make_events, no_advance, to_deadlines

from rigsync.align import Aligner, AlignStream, Frameset
from rigsync.align._state import INF, StreamState
from rigsync.align.types import AlignerConfig, StreamStats
from rigsync.core.frameset import DropReason

MS = 1_000_000


def decide(streams: list[AlignStream], events: list[Event], schedule: Schedule, *, incremental: bool) -> Any:
    """Every set with the moment it was decided (``emitted_ns``), every drop, and the statistics."""
    drops: list[tuple[str, int, DropReason]] = []
    al: Aligner[Event] = Aligner(streams, on_drop=lambda k, q, r: drops.append((k, q, r)))
    al._m.incremental = incremental
    sets: list[Frameset[Event]] = []
    prev = events[0].at_ns
    for e in events:
        sets += schedule(al, prev, e.at_ns)
        sets += apply(al, e)
        prev = e.at_ns
    sets += al.flush()
    return ([(fs.frameset_id, fs.rig_time_ns, fs.spread_ns, fs.emitted_ns, [(e.payload.key, e.seq) for e in fs.members],
              fs.missing) for fs in sets], drops, al.stats)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 12), st.sampled_from([0.0, 0.03]))
@example(141, 9, 0.0)  # a stream that left the awaited ones and came back: its old wake-up no longer held
def test_incremental_decisions_are_the_full_decisions(seed: int, n_streams: int, jumps: float) -> None:
    """The same events (frames with drift, errors, heavy-tailed delays, losses, refusals, overruns, corrupt frames,
    unlocked stamps, disconnects) give the same sets, members, missing reasons, drops, statistics, and the same
    decision instants, whether each frame and wake-up is applied incrementally or decided in full, with time
    advanced to the aligner's deadlines or only by the frames."""
    streams, events = make_events(seed, n_streams, jumps=jumps)
    for schedule in (to_deadlines, no_advance):
        full = decide(streams, events, schedule, incremental=False)
        assert decide(streams, events, schedule, incremental=True) == full
        assert sum(len(members) for *_, members, _ in full[0]) > 0


def test_a_large_rig_decides_incrementally_as_in_full() -> None:
    """64 streams at 30 fps with random phases (the sync-path benchmark's rig, 1.5 s): the incremental path, which
    runs the full decision only where it is unclear, decides every set as the full decision does, at the same
    instants."""
    rng = np.random.default_rng(5)
    streams = [AlignStream(f"c{i}", 33_333_333) for i in range(64)]
    events: list[Event] = []
    for s in streams:
        phase, last = rng.uniform(0, 33.3 * MS), 0
        for k in range(45):
            if rng.random() < 0.01:
                continue
            true = int(phase + k * 33_333_333)
            delay = 12 * MS + 125_000 + rng.exponential(40_000) + (rng.pareto(1.8) * MS if rng.random() < 0.01 else 0)
            last = max(int(true + delay), last + 1)
            events.append(Event(last, s.key, "push", k, true + int(rng.uniform(-30_000, 30_000)), 30_000))
    events.sort(key=lambda e: (e.at_ns, e.key))
    full = decide(streams, events, to_deadlines, incremental=False)
    assert decide(streams, events, to_deadlines, incremental=True) == full
    assert len(full[0]) > 30


@settings(max_examples=300, deadline=None)
@given(st.integers(-3 * 33_333_333, 3 * 33_333_333), st.integers(0, 2_000_000), st.integers(1, 50_000_000),
       st.integers(-50_000_000, 50_000_000))
def test_the_inlined_wake_up_of_a_stream_is_its_own(threshold: int, margin: int, lateness: int, base: int) -> None:
    """The matcher's inlined moment at which a waited-for stream's bound passes a threshold is
    ``StreamState.passes``, and at that moment (not a nanosecond before) ``StreamState.low`` exceeds the
    threshold; -INF when the stream's predicted window starts above it already."""
    s: StreamState[object] = StreamState(AlignStream("a", 33_333_333), AlignerConfig(), StreamStats())
    s.base_ns, s.margin_ns, s.lateness_ns, s.started = base, margin, lateness, True
    al: Aligner[object] = Aligner([AlignStream("a", 33_333_333)])
    passed = al._m._pass_of(s, threshold)
    assert passed == s.passes(threshold)
    if passed == -INF:
        assert s.low(threshold - 10**12) > threshold
    else:
        assert s.low(passed) > threshold >= s.low(passed - 1)
