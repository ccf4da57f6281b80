"""Why a frameset lacks a stream, settled from what the stream's later frames tell; and matching while
stamps are still being acquired."""

from __future__ import annotations

import numpy as np

from rigsync.align import Aligner, AlignerConfig, AlignStream, Frameset
from rigsync.core.frameset import DropReason, MissingReason

MS = 1_000_000
PERIOD = 33_333_333


def pair(config: AlignerConfig | None = None) -> Aligner[str]:
    return Aligner([AlignStream("a", PERIOD), AlignStream("b", PERIOD)], config)


def frame(al: Aligner[str], key: str, seq: int, k: int, *, late_ms: float = 0.0) -> list[Frameset[str]]:
    """Frame number ``k`` of the rig (stamped at k periods, b 0.1 ms after a), arriving 5 ms later."""
    t = k * PERIOD + (100_000 if key == "b" else 0)
    return al.push(key, f"{key}{k}", seq=seq, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS + round(late_ms * MS))


def reasons(sets: list[Frameset[str]], key: str) -> dict[int, MissingReason]:
    """Frame number (from the set's centre) -> why ``key`` is missing there."""
    return {round(fs.rig_time_ns / PERIOD): r for fs in sets for k, r in fs.missing if k == key}


def test_a_frame_late_in_order_is_named_not_received() -> None:
    """b's frame 5 arrives 60 ms late, before b's frame 6: dropped as late, its set names b ``not_received``."""
    al = pair()
    out: list[Frameset[str]] = []
    for k in range(12):
        out += frame(al, "a", k, k)
        out += frame(al, "b", k, k, late_ms=60 if k == 5 else 0)
    out += al.flush()
    assert al.stats.streams["b"].dropped == {DropReason.LATE: 1}
    assert reasons(out, "b") == {5: MissingReason.NOT_RECEIVED}
    assert al.stats.streams["b"].missing == {MissingReason.NOT_RECEIVED: 1}


def test_a_disconnected_device_is_named_disconnected_until_its_first_frame_after_it_returns() -> None:
    """b disconnects after its frame 10 and returns (counter restarted at 0) with its first frame at 20: the
    sets 11-19 name it ``disconnected``, including those after the reconnect while it restarts; no device drop
    is counted for the restarted counter."""
    al = pair()
    out: list[Frameset[str]] = []
    for k in range(30):
        if k == 11:
            out += al.set_connected("b", False, 11 * PERIOD)
        if k == 15:
            out += al.set_connected("b", True, 15 * PERIOD)
        out += frame(al, "a", k, k)
        if not 10 < k < 20:
            out += frame(al, "b", k if k <= 10 else k - 20, k)
    out += al.flush()
    assert reasons(out, "b") == dict.fromkeys(range(11, 20), MissingReason.DISCONNECTED)
    assert DropReason.DEVICE not in al.stats.streams["b"].dropped


def test_the_end_of_the_capture_is_named_stopped() -> None:
    """a delivers two more frames after b's last: those sets name b ``stopped``."""
    al = pair()
    out: list[Frameset[str]] = []
    for k in range(10):
        out += frame(al, "a", k, k)
        if k < 8:
            out += frame(al, "b", k, k)
    out += al.flush()
    assert reasons(out, "b") == {8: MissingReason.STOPPED, 9: MissingReason.STOPPED}


def test_a_stream_that_falls_silent_is_settled_not_received_after_settle_ns() -> None:
    """b stops delivering without a disconnect: its missing frames are named ``not_received`` once the sets
    are ``settle_ns`` old; until then those sets (decided long before) are held, in order."""
    al = pair(AlignerConfig(settle_ns=300 * MS))
    out: list[Frameset[str]] = []
    returned: dict[int, int] = {}
    for k in range(30):
        got = frame(al, "a", k, k)
        if k < 10:
            got += frame(al, "b", k, k)
        out += got
        returned.update({round(fs.rig_time_ns / PERIOD): k for fs in got})
    named = reasons(out, "b")
    assert len(named) >= 10 and named == dict.fromkeys(range(10, 10 + len(named)), MissingReason.NOT_RECEIVED)
    decided = {round(fs.rig_time_ns / PERIOD): fs.emitted_ns for fs in out}
    for k in named:
        assert decided[k] <= (k + 1) * PERIOD + 5 * MS  # decided by the next frame (time is not advanced)
        assert returned[k] - k >= 9  # returned 300 ms (9 periods) after its centre


def test_frames_lost_in_rigsync_are_named_dropped_and_counted_as_overruns() -> None:
    """A frame lost in the driver's queue (host overrun) and one the recorder refused are named ``dropped``
    in their sets, counted as overruns, not as device drops."""
    al = pair()
    out: list[Frameset[str]] = []
    for k in range(12):
        out += frame(al, "a", k, k)
        if k == 4:
            out += al.drop("b", k, DropReason.HOST_OVERRUN, arrival_ns=k * PERIOD + 5 * MS)
        elif k == 7:
            t = k * PERIOD + 100_000
            out += al.drop("b", k, DropReason.RECORDER_OVERRUN, rig_time_ns=t, arrival_ns=t + 5 * MS)
        else:
            out += frame(al, "b", k, k)
    out += al.flush()
    assert reasons(out, "b") == {4: MissingReason.DROPPED, 7: MissingReason.DROPPED}
    assert al.stats.streams["b"].dropped == {DropReason.HOST_OVERRUN: 1, DropReason.RECORDER_OVERRUN: 1}
    assert al.stats.streams["b"].frames == 11  # the refused frame was received, the overrun one not


def test_warm_up_frames_teach_the_aligner_and_are_counted_apart() -> None:
    """Frames received before the recording starts are counted as ``warmup`` (not in ``frames``), a gap in
    their counter as a device drop; the streams are due from the first set on, with their allowance learnt."""
    al = pair()
    for k in range(-9, 0):
        for key, offset in (("a", 0), ("b", 100_000)):
            if (key, k) != ("b", -4):
                t = k * PERIOD + offset
                al.drop(key, k + 9, DropReason.WARMUP, rig_time_ns=t, arrival_ns=t + 5 * MS)
    assert al.allowance_ns("a") < 20 * MS
    out: list[Frameset[str]] = []
    for k in range(6):
        out += frame(al, "a", k + 9, k)
        if k != 0:
            out += frame(al, "b", k + 9, k)
    out += al.flush()
    assert reasons(out, "b") == {0: MissingReason.DROPPED}
    stats = al.stats.streams["b"]
    assert stats.dropped == {DropReason.WARMUP: 8, DropReason.DEVICE: 2}
    assert stats.frames == 5


def test_a_set_at_the_recordings_start_does_not_list_a_stream_whose_frame_came_just_before_it() -> None:
    """b runs 12 ms ahead of a; its frame for a's first recorded frame was stamped before the start (warm-up): the
    first set lists no b (that frame is not part of the recording, nor in another set), later sets pair a and b."""
    al = pair()
    early = 12 * MS
    al.drop("b", 0, DropReason.WARMUP, rig_time_ns=-early, arrival_ns=-early + 5 * MS)
    out: list[Frameset[str]] = []
    for k in range(6):
        out += frame(al, "a", k, k)
        if k > 0:
            t = k * PERIOD - early
            out += al.push("b", f"b{k}", seq=k, rig_time_ns=t, error_ns=1000, arrival_ns=t + 5 * MS)
    out += al.flush()
    assert reasons(out, "b") == {}
    assert [len(fs.members) for fs in out][:3] == [1, 2, 2]
    assert al.stats.streams["b"].missing == {}


def test_sets_are_returned_in_order_once_their_reasons_are_known() -> None:
    """A set lacking b's lost frame 3 is decided within a period but returned when b's next frame shows the
    gap; the complete set after it is held so that sets come out in order."""
    al = pair()
    out: list[tuple[int, int]] = []
    for k in range(8):
        got = frame(al, "a", k, k)
        if k != 3:
            got += frame(al, "b", k, k)
        out += [(round(fs.rig_time_ns / PERIOD), k) for fs in got]
    assert [c for c, _ in out] == sorted(c for c, _ in out)
    assert dict(out)[3] == 4  # returned when b's frame 4 arrived


def acquiring_rig(locked: bool) -> tuple[Aligner[str], list[Frameset[str]]]:
    """Eight free-running 30 fps cameras whose stamps are within 50 us of the truth but whose error bounds are
    still 30 ms (clocks being acquired)."""
    rng = np.random.default_rng(3)
    streams = [AlignStream(f"c{i}", PERIOD) for i in range(8)]
    al: Aligner[str] = Aligner(streams)
    phases = rng.uniform(0, 12 * MS, 8)
    shots = sorted((int(k * PERIOD + p + 20 * MS + rng.uniform(0, MS)), i, k, int(k * PERIOD + p))
                   for i, p in enumerate(phases) for k in range(60))
    out: list[Frameset[str]] = []
    for arrival, i, k, t in shots:
        stamp = t + int(rng.uniform(-50_000, 50_000))
        out += al.push(f"c{i}", f"c{i}#{k}", seq=k, rig_time_ns=stamp, error_ns=30 * MS, arrival_ns=arrival,
                       locked=locked)
    return al, out + al.flush()


def test_stamps_still_being_acquired_match_on_their_unshrunk_window() -> None:
    """With error bounds beyond half a period, shrinking every window by its bound leaves no room: the sets
    split (a set per frame or so). Stamps flagged as still acquiring match on their unshrunk window: one
    complete set per moment, each member its camera's frame of that moment."""
    _, split = acquiring_rig(locked=True)
    assert len(split) > 2 * 60
    al, sets = acquiring_rig(locked=False)
    assert len(sets) == 60 and al.stats.complete == 60
    for fs in sets:
        assert len({e.payload.split("#")[1] for e in fs.members}) == 1
