"""The frameset aligner: its guarantees as properties over random rigs, and its behaviour in chosen cases."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigsync.align import Aligner, AlignerConfig, AlignStream, Frameset
from rigsync.core.frameset import DropReason, MissingReason

MS = 1_000_000


@dataclass(frozen=True)
class Shot:
    key: str
    seq: int
    true_ns: int
    """True (reference) time of the frame."""
    rig_ns: int
    """Its stamp: true time plus an error within ``error_ns``."""
    error_ns: int
    arrival_ns: int


def make_rig(seed: int, rates: list[float], seconds: float, *, drop: float = 0.0, latency_ms: float = 20.0,
             heavy: bool = True, error_us: float = 30.0, lag_ms: dict[str, float] | None = None,
             ) -> tuple[list[AlignStream], list[Shot]]:
    """Free-running streams with drift, stamp errors within their bound and (heavy-tailed) arrival delays."""
    rng = np.random.default_rng(seed)
    streams: list[AlignStream] = []
    shots: list[Shot] = []
    for i, fps in enumerate(rates):
        key = f"d{i}/s"
        period = round(1e9 / fps)
        streams.append(AlignStream(key, period))
        drift = rng.uniform(-100e-6, 100e-6)
        phase = rng.uniform(0, period)
        extra = (lag_ms or {}).get(key, 0.0) * MS
        for k in range(int(seconds * fps)):
            if rng.random() < drop:
                continue
            true = int(phase + k * period * (1 + drift))
            err = int(rng.uniform(-error_us, error_us) * 1000)
            delay = latency_ms * MS + rng.exponential(0.1 * MS)
            if heavy and rng.random() < 0.01:
                delay += rng.pareto(1.8) * MS
            shots.append(Shot(key, k, true, true + err, int(error_us * 1000) + 1, int(true + delay + extra)))
    shots.sort(key=lambda s: (s.arrival_ns, s.key))
    return streams, shots


def run(streams: list[AlignStream], shots: list[Shot], config: AlignerConfig | None = None,
        ) -> tuple[Aligner[Shot], list[Frameset[Shot]]]:
    """Feed shots in arrival order, letting time pass to the aligner's deadlines in between."""
    al: Aligner[Shot] = Aligner(streams, config)
    out: list[Frameset[Shot]] = []
    for s in shots:
        deadline = al.next_deadline_ns()
        while deadline is not None and deadline < s.arrival_ns:
            out += al.advance(deadline)
            nxt = al.next_deadline_ns()
            if nxt == deadline:
                break
            deadline = nxt
        out += al.push(s.key, s, seq=s.seq, rig_time_ns=s.rig_ns, error_ns=s.error_ns, arrival_ns=s.arrival_ns)
    out += al.flush()
    return al, out


rigs = st.tuples(
    st.integers(0, 10_000),
    st.lists(st.sampled_from([15.0, 30.0, 30.0, 60.0, 90.0]), min_size=1, max_size=7),
    st.sampled_from([0.0, 0.01, 0.05]),
)


@settings(max_examples=60, deadline=None)
@given(rigs)
def test_every_frame_once_in_a_set_or_counted_dropped(rig: tuple[int, list[float], float]) -> None:
    """No frame is used twice, and every frame pushed is in exactly one set or counted as dropped."""
    seed, rates, drop = rig
    streams, shots = make_rig(seed, rates, 2.0, drop=drop)
    al, sets = run(streams, shots)
    used = [(e.payload.key, e.seq) for fs in sets for e in fs.members]
    assert len(used) == len(set(used))
    for s in streams:
        stats = al.stats.streams[s.key]
        pushed = sum(1 for x in shots if x.key == s.key)
        in_sets = sum(1 for k, _ in used if k == s.key)
        dropped_here = sum(n for r, n in stats.dropped.items() if r is not DropReason.DEVICE)
        assert pushed == stats.frames == in_sets + dropped_here
        assert stats.matched == in_sets


@settings(max_examples=60, deadline=None)
@given(rigs)
def test_sets_never_cross(rig: tuple[int, list[float], float]) -> None:
    """Sets come out in time order and do not interleave: every frame of a set is stamped no later than
    every frame of the next set, and each stream's members increase from set to set."""
    seed, rates, drop = rig
    streams, shots = make_rig(seed, rates, 2.0, drop=drop)
    _, sets = run(streams, shots)
    centres = [fs.rig_time_ns for fs in sets]
    assert centres == sorted(centres) and len(set(centres)) == len(centres)
    for a, b in itertools.pairwise(sets):
        assert max(e.ref_ns for e in a.members) <= min(e.ref_ns for e in b.members)
    last: dict[str, int] = {}
    for fs in sets:
        for e in fs.members:
            assert e.payload.true_ns > last.get(e.payload.key, -1)
            last[e.payload.key] = e.payload.true_ns


@settings(max_examples=60, deadline=None)
@given(rigs)
def test_every_set_is_a_set_of_nearest_frames(rig: tuple[int, list[float], float]) -> None:
    """One instant lies within half its own period of every member's true time (given true error bounds)."""
    seed, rates, drop = rig
    streams, shots = make_rig(seed, rates, 2.0, drop=drop)
    periods = {s.key: s.period_ns for s in streams}
    _, sets = run(streams, shots)
    for fs in sets:
        lo = max(e.payload.true_ns - periods[e.payload.key] / 2 for e in fs.members)
        hi = min(e.payload.true_ns + periods[e.payload.key] / 2 for e in fs.members)
        assert lo <= hi, fs


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.sampled_from([30.0, 60.0]), min_size=2, max_size=6))
def test_independent_of_arrival_order_across_streams(seed: int, rates: list[float]) -> None:
    """Delaying one stream's arrivals (it now always arrives last) does not change a single set."""
    streams, shots = make_rig(seed, rates, 1.5, heavy=False)
    _, sets = run(streams, shots)
    lagged = {s.key: 6.0 for s in streams[:1]}
    _, sets_lagged = run(*make_rig(seed, rates, 1.5, heavy=False, lag_ms=lagged))
    members = [sorted((e.payload.key, e.seq) for e in fs.members) for fs in sets]
    members_lagged = [sorted((e.payload.key, e.seq) for e in fs.members) for fs in sets_lagged]
    assert members == members_lagged


def test_complete_set_emitted_when_its_last_member_arrives() -> None:
    """A set holding every stream comes out on the arrival of its last member: no added wait."""
    streams, shots = make_rig(1, [30.0, 30.0, 30.0, 30.0], 2.0, heavy=False)
    _, sets = run(streams, shots)
    complete = [fs for fs in sets[:-1] if fs.complete]
    assert len(complete) > 50
    for fs in complete:
        assert fs.emitted_ns == max(e.arrival_ns for e in fs.members)


def test_missing_member_waits_only_until_provably_late() -> None:
    """A set whose member was lost is decided once that frame's expected time plus the lateness allowance has
    passed (well under one period, never a multi-period stall), and names it dropped once the stream's next
    frame shows the gap in its counter."""
    streams, shots = make_rig(2, [30.0, 30.0, 30.0], 3.0, heavy=False)
    dropped = {s for s in shots if s.key == "d1/s" and 40 <= s.seq < 45}
    _al, sets = run(streams, [s for s in shots if s not in dropped])
    waits = [fs.emitted_ns - max(e.arrival_ns for e in fs.members) for fs in sets if not fs.complete][:-1]
    assert len(waits) == 5
    assert max(waits) < 33 * MS / 2
    incomplete = [fs for fs in sets[:-1] if not fs.complete]
    assert [fs.missing for fs in incomplete] == [(("d1/s", MissingReason.DROPPED),)] * 5
    # each one where the lost frame was: its true time lies within half a period of the set's members
    for fs, lost in zip(incomplete, sorted(dropped, key=lambda s: s.seq), strict=True):
        assert all(abs(e.payload.true_ns - lost.true_ns) < 33 * MS / 2 for e in fs.members)


def test_seq_gap_is_counted_as_device_drop_and_missing_reason_dropped() -> None:
    """Frames lost upstream show as a gap in the frame counter: counted as a device drop, and the one set that
    lacks the frame names it dropped."""
    streams = [AlignStream("a/s", 33 * MS), AlignStream("b/s", 33 * MS)]
    al: Aligner[str] = Aligner(streams)
    out = []
    for k in range(10):
        t = k * 33 * MS
        out += al.push("a/s", "a", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
        if k != 5:
            out += al.push("b/s", "b", seq=k, rig_time_ns=t + 100_000, error_ns=1000, arrival_ns=t + 4 * MS)
    out += al.flush()
    assert al.stats.streams["b/s"].dropped[DropReason.DEVICE] == 1
    assert [(fs.rig_time_ns // (33 * MS), fs.missing) for fs in out if fs.missing] == [
        (5, (("b/s", MissingReason.DROPPED),))]
    assert al.stats.streams["b/s"].missing == {MissingReason.DROPPED: 1}


def test_late_and_out_of_order_frames_are_counted() -> None:
    """A frame arriving after its set was emitted is dropped as late; a stamp going backwards as out of order."""
    streams = [AlignStream("a/s", 33 * MS), AlignStream("b/s", 33 * MS)]
    al: Aligner[str] = Aligner(streams, AlignerConfig(lateness_initial_ns=10 * MS))
    for k in range(20):
        t = k * 33 * MS
        al.push("a/s", "a", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
        al.push("b/s", "b", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
    t = 20 * 33 * MS
    al.push("a/s", "a", seq=20, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
    al.advance(t + 500 * MS)  # b's frame 20 is now provably late
    al.push("b/s", "b", seq=20, rig_time_ns=t, error_ns=1000, arrival_ns=t + 501 * MS)
    al.push("a/s", "a", seq=21, rig_time_ns=t - 1000, error_ns=1000, arrival_ns=t + 502 * MS)
    assert al.stats.streams["b/s"].dropped[DropReason.LATE] == 1
    assert al.stats.streams["a/s"].dropped[DropReason.OUT_OF_ORDER] == 1


def test_disconnected_stream_is_not_waited_for() -> None:
    """While a stream is disconnected, sets close without it and list it as disconnected."""
    streams = [AlignStream("a/s", 33 * MS), AlignStream("b/s", 33 * MS)]
    al: Aligner[str] = Aligner(streams)
    out = []
    for k in range(10):
        t = k * 33 * MS
        out += al.push("a/s", "a", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
        out += al.push("b/s", "b", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
    out += al.set_connected("b/s", False, 10 * 33 * MS)
    for k in range(10, 15):
        t = k * 33 * MS
        got = al.push("a/s", "a", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
        assert len(got) == 1 and got[0].missing == (("b/s", MissingReason.DISCONNECTED),)
        assert got[0].emitted_ns == t + 5 * MS  # emitted at once, nothing awaited


def test_stream_that_never_starts_is_given_up_after_the_grace() -> None:
    """A configured stream that never delivers holds sets back only for the start-up grace."""
    streams = [AlignStream("a/s", 33 * MS), AlignStream("ghost/s", 33 * MS)]
    al: Aligner[str] = Aligner(streams, AlignerConfig(startup_grace_ns=200 * MS))
    out = []
    for k in range(30):
        t = k * 33 * MS
        out += al.push("a/s", "a", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
    assert len(out) >= 20
    assert all(not fs.missing for fs in out)  # never started: not due


def test_memory_is_bounded_while_a_stream_stalls() -> None:
    """Pending frames per stream never exceed the limit; overflow is counted."""
    streams = [AlignStream("a/s", 10 * MS, regular=False), AlignStream("b/s", 10 * MS, regular=False)]
    al: Aligner[str] = Aligner(streams, AlignerConfig(max_pending=16, lateness_floor_ns=10**12))
    al.push("b/s", "b", seq=0, rig_time_ns=0, error_ns=1000, arrival_ns=1 * MS)
    for k in range(1, 100):
        al.push("a/s", "a", seq=k, rig_time_ns=k * 10 * MS, error_ns=1000, arrival_ns=k * 10 * MS + MS)
    assert al.stats.streams["a/s"].dropped[DropReason.OVERFLOW] > 0
    assert al.stats.streams["a/s"].frames == 99


def test_declared_offsets_are_removed_before_matching() -> None:
    """Staggered members (0, 1.1, 2.2 ms ... after the trigger) match by trigger, spread measured without
    the stagger."""
    streams = [AlignStream(f"c{i}/depth", 11_111_111, offset_ns=i * 1_100_000) for i in range(10)]
    al: Aligner[int] = Aligner(streams)
    out = []
    for k in range(50):
        trig = k * 11_111_111
        for i in range(10):
            t = trig + i * 1_100_000 + 2000 * (i % 3)
            out += al.push(f"c{i}/depth", k, seq=k, rig_time_ns=t, error_ns=10_000, arrival_ns=t + 3 * MS)
    out += al.flush()
    assert len(out) == 50
    for fs in out:
        assert {e.payload for e in fs.members} == {fs.frameset_id}
        assert len(fs.members) == 10 and fs.spread_ns <= 4000


def test_slower_streams_join_the_nearest_set_and_are_not_missing_elsewhere() -> None:
    """A 15 fps stream among 30 fps ones appears in every other set and is not listed missing in the others."""
    streams, shots = make_rig(7, [30.0, 30.0, 15.0], 3.0, heavy=False)
    _, sets = run(streams, shots)
    body = sets[3:-3]
    with_slow = [fs for fs in body if any(e.payload.key == "d2/s" for e in fs.members)]
    assert abs(len(with_slow) - len(body) / 2) <= 2
    assert all(not fs.missing for fs in body)


def test_config_and_streams_are_validated() -> None:
    """Bad configuration is refused at construction."""
    with pytest.raises(ValueError):
        AlignStream("a", 0)
    with pytest.raises(ValueError):
        Aligner([])
    with pytest.raises(ValueError):
        Aligner([AlignStream("a", 1), AlignStream("a", 1)])
    with pytest.raises(ValueError):
        AlignerConfig(lateness_quantile=0.2)


def test_reconnected_stream_counts_gaps_of_its_new_counter() -> None:
    """After a reconnect the device's frame counter restarts; gaps in the new counter are still counted."""
    streams = [AlignStream("a/s", 33 * MS), AlignStream("b/s", 33 * MS)]
    al: Aligner[str] = Aligner(streams)
    t = 0
    for k in range(100, 110):
        t = (k - 100) * 33 * MS
        al.push("a/s", "a", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
        al.push("b/s", "b", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
    al.set_connected("b/s", False, t + 10 * MS)
    al.set_connected("b/s", True, t + 500 * MS)
    for k, seq in enumerate((0, 1, 3, 4)):  # frame 2 of the new counter is lost
        t2 = t + 600 * MS + k * 33 * MS
        al.push("b/s", "b", seq=seq, rig_time_ns=t2, error_ns=1000, arrival_ns=t2 + 5 * MS)
    assert al.stats.streams["b/s"].dropped.get(DropReason.DEVICE) == 1
