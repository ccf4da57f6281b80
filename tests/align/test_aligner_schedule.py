"""The aligner's decisions depend on what arrived and when, never on when time was advanced; and a frame is
dropped as late only if its stream was provably late before it arrived."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rigsync.align import Aligner, AlignerConfig, AlignStream, Frameset
from rigsync.core.frameset import DropReason, MissingReason

MS = 1_000_000
CONFIG = AlignerConfig()


@dataclass(frozen=True)
class Event:
    """One input of the aligner. A push's arrival is the aligner's "now"; arrivals never go back."""

    at_ns: int
    key: str
    kind: str  # push, refuse (recorder overrun), overrun (host overrun), disconnect, reconnect
    seq: int = 0
    rig_ns: int = 0
    error_ns: int = 0
    corrupt: bool = False
    locked: bool = True


def make_events(seed: int, n_streams: int, *, jumps: float, seconds: float = 2.0) -> tuple[list[AlignStream],
                                                                                          list[Event]]:
    """Streams at 15-60 fps, some irregular, with drift, stamp errors, heavy-tailed delays (in order per
    stream), lost frames, recorder and host overruns, corrupt frames, unlocked stamps early on, a disconnect
    and reconnect (the counter restarts) for some, and, with ``jumps``, stamps that jump back."""
    rng = np.random.default_rng(seed)
    streams: list[AlignStream] = []
    events: list[Event] = []
    for i in range(n_streams):
        key = f"s{i}"
        period = round(1e9 / float(rng.choice([15.0, 30.0, 30.0, 60.0])))
        streams.append(AlignStream(key, period, regular=bool(rng.random() > 0.15)))
        drift, phase, latency = rng.uniform(-1e-4, 1e-4), rng.uniform(0, period), rng.uniform(5, 25) * MS
        down: tuple[float, float] | None = None
        if rng.random() < 0.3:
            a = rng.uniform(0.5, 1.2) * 1e9
            down = (a, a + rng.uniform(0.1, 0.4) * 1e9)
            events += [Event(int(down[0]), key, "disconnect"), Event(int(down[1]), key, "reconnect")]
        seq, last_at, restarted = 0, 0, False
        for k in range(int(seconds * 1e9 / period)):
            true = int(phase + k * period * (1 + drift))
            if down and down[0] - 30 * MS < true < down[1] + 150 * MS:
                continue
            if down and true >= down[1] + 150 * MS and not restarted:
                restarted, seq = True, 0
            this, seq = seq, seq + 1
            if rng.random() < 0.03:
                continue  # lost on the way
            unlocked = true < 0.3e9 and rng.random() < 0.5
            err = int(rng.uniform(10, 60) * 1000) + (int(rng.uniform(5, 40) * MS) if unlocked else 0)
            stamp = true + int(rng.uniform(-0.5, 0.5) * err)
            if rng.random() < jumps:
                stamp -= int(rng.uniform(0.5, 5) * MS)
            delay = latency + rng.exponential(0.3 * MS) + (rng.pareto(1.5) * 5 * MS if rng.random() < 0.02 else 0)
            at = last_at = max(int(true + delay), last_at + 1)
            r = rng.random()
            kind = "refuse" if r < 0.01 else "overrun" if r < 0.02 else "push"
            events.append(Event(at, key, kind, this, stamp, err, bool(rng.random() < 0.01), not unlocked))
    order = {"overrun": 0, "reconnect": 0, "push": 1, "refuse": 1, "disconnect": 2}
    events.sort(key=lambda e: (e.at_ns, order[e.kind], e.key))
    return streams, events


def apply(al: Aligner[Event], e: Event) -> list[Frameset[Event]]:
    if e.kind == "push":
        return al.push(e.key, e, seq=e.seq, rig_time_ns=e.rig_ns, error_ns=e.error_ns, arrival_ns=e.at_ns,
                       corrupt=e.corrupt, locked=e.locked)
    if e.kind == "refuse":
        return al.drop(e.key, e.seq, DropReason.RECORDER_OVERRUN, rig_time_ns=e.rig_ns, error_ns=e.error_ns,
                       arrival_ns=e.at_ns)
    if e.kind == "overrun":
        return al.drop(e.key, e.seq, DropReason.HOST_OVERRUN, arrival_ns=e.at_ns)
    return al.set_connected(e.key, e.kind == "reconnect", e.at_ns)


Schedule = Callable[[Aligner[Event], int, int], list[Frameset[Event]]]


def no_advance(al: Aligner[Event], prev_ns: int, next_ns: int) -> list[Frameset[Event]]:
    return []


def to_deadlines(al: Aligner[Event], prev_ns: int, next_ns: int) -> list[Frameset[Event]]:
    out: list[Frameset[Event]] = []
    deadline = al.next_deadline_ns()
    while deadline is not None and deadline < next_ns:
        out += al.advance(deadline)
        following = al.next_deadline_ns()
        assert following is None or following > deadline, "a deadline that does not move on"
        deadline = following
    return out


def at_random(seed: int) -> Schedule:
    rng = random.Random(seed)

    def schedule(al: Aligner[Event], prev_ns: int, next_ns: int) -> list[Frameset[Event]]:
        out: list[Frameset[Event]] = []
        t = prev_ns
        while (t := t + rng.randint(1, 15 * MS)) < next_ns:
            out += al.advance(t)
        return out

    return schedule


def feed(streams: list[AlignStream], events: list[Event], schedule: Schedule, *, after_each: bool = False,
         on_drop: Callable[[str, int, DropReason], None] | None = None) -> tuple[Aligner[Event], list[Any]]:
    """Run the events with time advanced by ``schedule`` between them (and right after each one)."""
    al: Aligner[Event] = Aligner(streams, on_drop=on_drop)
    sets: list[Frameset[Event]] = []
    prev = events[0].at_ns
    for e in events:
        sets += schedule(al, prev, e.at_ns)
        sets += apply(al, e)
        if after_each:
            sets += al.advance(e.at_ns)
        prev = e.at_ns
    sets += al.flush()
    return al, sets


def outcome(al: Aligner[Event], sets: list[Frameset[Event]], drops: list[tuple[str, int, DropReason]]) -> Any:
    """What must not depend on the advance schedule: each set (id, centre, spread, members, missing members
    and reasons) in order, every drop with its reason, and the statistics. Not ``emitted_ns``: that is when
    the set was decided, which is when time was let pass."""
    return ([(fs.frameset_id, fs.rig_time_ns, fs.spread_ns, sorted((e.payload.key, e.seq) for e in fs.members),
              fs.missing) for fs in sets], sorted(drops), al.stats)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 6), st.sampled_from([0.0, 0.03]))
def test_decisions_do_not_depend_on_when_time_is_advanced(seed: int, n_streams: int, jumps: float) -> None:
    """The same events (frames with their arrival times, refusals, overruns, disconnects) give the same sets,
    members, missing reasons, drops and statistics whether time is never advanced, advanced to each of the
    aligner's deadlines, at random moments, or right after every event."""
    streams, events = make_events(seed, n_streams, jumps=jumps)
    results = []
    for schedule, after_each in ((no_advance, False), (to_deadlines, False), (at_random(seed), False),
                                 (no_advance, True)):
        drops: list[tuple[str, int, DropReason]] = []
        al, sets = feed(streams, events, schedule, after_each=after_each,
                        on_drop=lambda k, q, r, d=drops: d.append((k, q, r)))  # type: ignore[misc]
        results.append(outcome(al, sets, drops))
        assert sum(len(fs.members) for fs in sets) > 0
    assert results[1] == results[0]
    assert results[2] == results[0]
    assert results[3] == results[0]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 6), st.sampled_from([0.0, 0.03]))
def test_a_frame_is_late_only_if_its_stream_was_provably_late_before_it_came(seed: int, n_streams: int,
                                                                            jumps: float) -> None:
    """Every frame dropped ``late`` could have been declared late before it arrived: at some moment before its
    arrival, the stream's allowance then in effect had passed since its stamp. Every frame dropped
    ``off_period`` came within its allowance and broke its steady stream's period (its stamp is not within the
    smallest prediction margin of the previous stamp plus whole periods); without stamp jumps there are none but
    for unlocked stamps."""
    streams, events = make_events(seed, n_streams, jumps=jumps)
    period = {s.key: s.period_ns for s in streams}
    # per stream: from when each allowance held; per frame: its event and the stamp received before it
    allowance: dict[str, list[tuple[int, int]]] = {s.key: [(-(1 << 62), CONFIG.lateness_initial_ns)]
                                                   for s in streams}
    last_stamp: dict[str, int | None] = dict.fromkeys(period)
    frames: dict[tuple[str, int], tuple[Event, int | None, int]] = {}  # this connection's
    drops: list[tuple[DropReason, tuple[Event, int | None, int] | None]] = []
    al: Aligner[Event] = Aligner(streams, on_drop=lambda k, q, r: drops.append((r, frames.get((k, q)))))
    for e in events:
        to_deadlines(al, 0, e.at_ns)
        if e.kind in ("push", "refuse"):
            frames[(e.key, e.seq)] = (e, last_stamp[e.key], al.allowance_ns(e.key))
        apply(al, e)
        if e.kind in ("push", "refuse"):
            allowance[e.key].append((e.at_ns, al.allowance_ns(e.key)))
            if last_stamp[e.key] is None or e.rig_ns > last_stamp[e.key]:  # type: ignore[operator]
                last_stamp[e.key] = e.rig_ns
        elif e.kind in ("disconnect", "reconnect"):
            last_stamp[e.key] = None
            frames = {k: v for k, v in frames.items() if k[0] != e.key}
    al.flush()
    bad = []
    for reason, known in drops:
        if reason not in (DropReason.LATE, DropReason.OFF_PERIOD) or known is None:
            continue
        e, before, allowed_before = known
        key, seq = e.key, e.seq
        if reason is DropReason.LATE:
            held = allowance[key]
            ends = [t for t, _ in held[1:]] + [e.at_ns]
            if not any(min(end, e.at_ns) - allowed > e.rig_ns for (_, allowed), end in zip(held, ends, strict=True)):
                bad.append(f"{key} #{seq} dropped late, never provably late")
        else:
            assert before is not None
            if e.at_ns - e.rig_ns > allowed_before:
                bad.append(f"{key} #{seq} dropped off its period, though it came after its allowance")
            margin = CONFIG.early_ns + period[key] // 1000
            k = max(1, round((e.rig_ns - before) / period[key]))
            if abs(e.rig_ns - before - k * period[key]) <= margin:
                bad.append(f"{key} #{seq} dropped off its period, within its prediction")
            if jumps == 0 and e.locked:
                bad.append(f"{key} #{seq} dropped off its period with no jump")
    assert not bad, bad[:5]


def three_streams(config: AlignerConfig | None = None) -> Aligner[str]:
    """Streams a, b, y at 30 fps whose latency is a steady 20 ms: with no small-sample widening, each one's
    allowance is 20 ms plus the 1 ms floor."""
    streams = [AlignStream(k, PERIOD) for k in ("a", "b", "y")]
    return Aligner(streams, config or AlignerConfig(lateness_small_n=0))


PERIOD = 33_333_333


def push(al: Aligner[str], key: str, seq: int, ref_ns: int, error_ns: int = 1_000) -> list[Frameset[str]]:
    return al.push(key, f"{key}{seq}", seq=seq, rig_time_ns=ref_ns, error_ns=error_ns, arrival_ns=ref_ns + 20 * MS)


def test_a_frame_after_the_one_that_closed_a_set_is_not_dropped_as_late() -> None:
    """A set closes because its next frame (b, 12 ms) does not fit its window; y's frame at 14 ms, which arrives
    on time afterwards, belongs to the next set: it joins b there, and is not dropped as late (before, the
    frontier moved to the closed set's centre + T/2 = 16.7 ms and dropped it)."""
    al = three_streams()
    out = []
    out += push(al, "a", 0, -PERIOD)
    out += push(al, "b", 0, -PERIOD + 12 * MS)
    out += push(al, "y", 0, -PERIOD + 14 * MS)
    out += push(al, "a", 1, 0, error_ns=5 * MS)  # window +-11.7 ms
    out += push(al, "b", 1, 12 * MS, error_ns=17 * MS)  # window 0: 12 ms is beyond a's reach: the set closes
    out += push(al, "y", 1, 14 * MS)
    out += al.flush()
    assert al.stats.streams["y"].dropped == {}
    members = [sorted(e.payload for e in fs.members) for fs in out]
    assert members == [["a0", "b0", "y0"], ["a1"], ["b1", "y1"]]


def test_a_waiting_set_wakes_when_the_awaited_stream_can_no_longer_precede_the_next_frame() -> None:
    """The set {a} waits only until y can no longer deliver a frame before b's (12 ms, which cannot join): at
    12 ms + y's allowance, not at y's predicted 14 ms + allowance (where it was decided before).
    ``next_deadline_ns`` is that moment to the nanosecond, the set is decided there and not a nanosecond
    earlier."""
    al = three_streams()
    push(al, "a", 0, -PERIOD)
    push(al, "b", 0, -PERIOD + 11 * MS)
    push(al, "y", 0, -PERIOD + 14 * MS, error_ns=2 * MS)  # y's next frame: 14 ms +- 4.2 ms, 12 ms inside
    push(al, "a", 1, 0, error_ns=5 * MS)
    push(al, "b", 1, 12 * MS, error_ns=17 * MS)  # y's frame 1 is lost
    allowance = al.allowance_ns("y")
    assert allowance == 21 * MS
    exact = 12 * MS + allowance + 1
    assert al.next_deadline_ns() == exact  # not 14 ms + 21 ms + 1
    al.advance(exact - 1)
    assert al.next_deadline_ns() == exact
    al.advance(exact)
    push(al, "y", 2, PERIOD + 14 * MS)  # its next frame shows the lost one: the set is returned now
    sets = al.flush()
    decided = [(sorted(e.payload for e in fs.members), fs.emitted_ns, fs.missing) for fs in sets]
    assert decided[0][:2] == (["a1"], exact)
    assert dict(decided[0][2]) == {"b": MissingReason.UNMATCHED, "y": MissingReason.DROPPED}
