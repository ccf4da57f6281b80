"""A frameset's recorded ``rig_time_ns`` and ``spread_ns`` (docs/recording.md, "Frameset times") in the cases a
recorded capture rarely shows: a frame left out as corrupt, declared offsets of both signs of the skew, a step of the
reference being slewed (the recorded captures are checked in test_examples_end_to_end and test_capture_ptp)."""

from __future__ import annotations

from rigsync.align import Aligner, AlignStream
from rigsync.capture.framesets import frameset_record
from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics
from rigsync.core.frameset import MissingReason
from rigsync.timebase.steps import ReferenceStep, StepSchedule

MS = 1_000_000
PERIOD = 33 * MS
OFFSETS = {"a/s": 0, "b/s": 1_000_000, "c/s": 160_000}
"""Declared offsets: b delayed 1 ms, c 160 us."""


def _stamped(key: str, seq: int, rig_ns: int) -> StampedFrame:
    device, stream = key.split("/")
    frame = Frame(device, stream, seq, rig_ns, rig_ns + 5 * MS, TimestampSemantics.START_OF_EXPOSURE,
                  ClockDomain.HOST, 0, None, None, "mono8")
    return StampedFrame(frame, rig_ns, 1_000)


def _sets(skew_ns: dict[tuple[str, int], int], corrupt: set[tuple[str, int]], base: StepSchedule):
    """Five triggers 33 ms apart; each stream's frame at trigger + its offset + ``skew_ns``, pushed to the capture's
    aligner on the base timeline; the records as the capture writes them (rig time = ``base.rig_ns``)."""
    streams = {k: AlignStream(k, PERIOD, off) for k, off in OFFSETS.items()}
    aligner: Aligner[StampedFrame] = Aligner(list(streams.values()))
    out = []
    for seq in range(5):
        trigger = 10_000 * MS + seq * PERIOD
        for key, off in OFFSETS.items():
            rig = base.rig_ns(trigger + off + skew_ns.get((key, seq), 0))
            out += aligner.push(key, _stamped(key, seq, rig), seq=seq, rig_time_ns=base.base_ns(rig), error_ns=1_000,
                                arrival_ns=base.base_ns(rig) + 5 * MS, corrupt=(key, seq) in corrupt)
    out += aligner.flush()
    return [frameset_record(fs, streams, base.rig_ns) for fs in out]


def test_the_midpoint_counts_a_corrupt_frame_the_spread_only_the_members() -> None:
    """Offsets removed: rig_time_ns is floor((lo + hi) / 2) of the reference times of the frames the set took, a
    corrupt one included; spread_ns is the members' range only; with the offsets the sets' own stamps span 1 ms."""
    skew = {("a/s", 2): 7, ("b/s", 2): -40_001, ("c/s", 2): 30_000, ("b/s", 3): 20_000}
    sets = _sets(skew, {("c/s", 2)}, StepSchedule())
    assert len(sets) == 5
    two, three = sets[2], sets[3]
    trigger = 10_000 * MS + 2 * PERIOD
    assert sorted((m.device, m.seq) for m in two.members) == [("a", 2), ("b", 2)]
    assert [(m.device, m.reason) for m in two.missing] == [("c", MissingReason.CORRUPT)]
    assert two.rig_time_ns == trigger + (-40_001 + 30_000) // 2  # c's corrupt frame (+30 us) is the high end
    assert two.spread_ns == 7 + 40_001  # the members only: a (+7 ns) and b (-40.001 us)
    assert max(m.rig_time_ns for m in two.members) - min(m.rig_time_ns for m in two.members) == 1_000_000 - 40_001 - 7
    assert (three.rig_time_ns, three.spread_ns) == (trigger + PERIOD + 10_000, 20_000)
    assert all((s.rig_time_ns, s.spread_ns) == (10_000 * MS + s.frameset_id * PERIOD, 0)
               for s in (sets[0], sets[1], sets[4]))


def test_through_a_slew_the_midpoint_is_taken_on_the_base_timeline() -> None:
    """While a step of the reference slews, rig_time_ns is rig(floor((lo + hi) / 2)) of base-timeline reference
    times, not the midpoint of the rig times; spread_ns is taken on rig time."""
    step = ReferenceStep(0, 9_400 * MS, 50 * MS, 500 * MS, 0.1, 0, "gm")  # slewing from 9.9 s to 10.4 s
    schedule = StepSchedule((step,))
    skew = {("a/s", 1): -300_000, ("b/s", 1): 300_000}
    one = _sets(skew, set(), schedule)[1]
    trigger = 10_000 * MS + PERIOD
    rig = [schedule.rig_ns(trigger + off + skew.get((k, 1), 0)) - off for k, off in OFFSETS.items()]
    base = [schedule.base_ns(r + off) - off for r, off in zip(rig, OFFSETS.values(), strict=True)]
    assert one.rig_time_ns == schedule.rig_ns((min(base) + max(base)) // 2) != (min(rig) + max(rig)) // 2
    assert one.spread_ns == max(rig) - min(rig)
