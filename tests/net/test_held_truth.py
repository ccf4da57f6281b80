"""The truth of a remote agent's delivered frames, held until the frames come (rigsync.net.rejoin.HeldTruth)."""

from __future__ import annotations

from rigsync.core.truth import FrameTruth
from rigsync.net.rejoin import HeldTruth


def truth(seq: int, stream: str = "color", device: str = "k1") -> FrameTruth:
    return FrameTruth(device, stream, seq, 1_000 * seq, 1_000 * seq + 500, f"g/{seq}")


def test_truth_is_released_when_its_frame_or_a_later_one_comes() -> None:
    """Truth of frames 0-2 held; frame 1 releases 0 and 1 (0's frame was lost on the way: accounted as a gap);
    frame 2 releases 2; another stream's frame releases nothing of this one."""
    held = HeldTruth()
    for seq in range(3):
        assert held.hold(truth(seq)) == []
    assert held.release("k1", "depth", 5) == []
    assert held.release("k1", "color", 1) == [truth(0), truth(1)]
    assert held.release("k1", "color", 2) == [truth(2)]
    assert held.orphans() == []


def test_truth_arriving_after_its_frame_is_not_held() -> None:
    """Frame 4 came first (Zenoh hands keys to callbacks in any order): the truth of 3 and 4 passes at once, 5's is
    held."""
    held = HeldTruth()
    held.release("k1", "color", 4)
    assert held.hold(truth(3)) == [truth(3)]
    assert held.hold(truth(4)) == [truth(4)]
    assert held.hold(truth(5)) == []


def test_truth_of_frames_never_sent_becomes_lost_disconnected() -> None:
    """The agent fell silent with frames 7 and 8 told but not sent: their truth says lost ``disconnected``
    (everything else unchanged), once; the counters start afresh for the next agent (its frame 0 is held)."""
    held = HeldTruth()
    held.release("k1", "color", 6)
    held.hold(truth(7))
    held.hold(truth(8))
    lost = held.orphans()
    assert [(t.seq, t.delivered, t.lost, t.exposure_start_ns, t.trigger_id) for t in lost] == [
        (7, False, "disconnected", 7_000, "g/7"), (8, False, "disconnected", 8_000, "g/8")]
    assert held.orphans() == []
    assert held.hold(truth(0)) == []


def test_a_device_reconnecting_on_its_host_releases_its_held_truth_and_restarts_its_counters() -> None:
    """A device's own reconnect (its counters restart): its held truth is released as it was, another device's
    stays held, and its frame 0 of the new connection is waited for."""
    held = HeldTruth()
    held.release("k1", "color", 10)
    held.hold(truth(11))
    held.hold(truth(3, device="web"))
    assert held.restarted("k1") == [truth(11)]
    assert held.hold(truth(0)) == []
    assert {(t.device, t.seq) for t in held.orphans()} == {("web", 3), ("k1", 0)}
