"""An agent's liveness from its heartbeats, on a fake clock: silent past the timeout, back, restarted."""

from __future__ import annotations

import pytest

from rigsync.net.liveness import SILENCE_TIMEOUT_NS, Change, Liveness

MS = 1_000_000
BEAT = 200 * MS


def beating(live: Liveness, first_seq: int, t0: int, until: int) -> int:
    """Heartbeats every 0.2 s from ``t0`` up to ``until`` (a check after each); returns the next seq."""
    seq, t = first_seq, t0
    while t <= until:
        live.heartbeat(seq, t)
        assert live.check(t) is None
        seq, t = seq + 1, t + BEAT
    return seq


def test_an_agent_beating_on_time_never_changes() -> None:
    """Ten seconds of heartbeats 0.2 s apart, checked every 10 ms: no change, never silent."""
    live = Liveness("b", 0)
    for t in range(0, 10_000 * MS, 10 * MS):
        if t % BEAT == 0:
            live.heartbeat(t // BEAT, t)
        assert live.check(t) is None
    assert not live.silent


def test_silent_exactly_past_the_timeout_once_naming_the_host_and_the_silence() -> None:
    """The last heartbeat at 1.0 s: still alive at 2.0 s (the timeout itself), overdue and silent 1 ns later,
    reported once, with the host, the silence and the timeout in the reason, and the last heartbeat's arrival."""
    live = Liveness("b", 0)
    beating(live, 0, 0, 1_000 * MS)
    assert not live.overdue(1_000 * MS + SILENCE_TIMEOUT_NS) and live.overdue(1_000 * MS + SILENCE_TIMEOUT_NS + 1)
    assert live.check(1_000 * MS + SILENCE_TIMEOUT_NS) is None
    change = live.check(1_000 * MS + SILENCE_TIMEOUT_NS + 1)
    assert change is not None and change.change is Change.SILENT
    assert change.reason == "host b's agent is silent: no heartbeat for 1.0 s (timeout 1 s)"
    assert change.last_heard_ns == 1_000 * MS
    assert live.silent
    assert live.check(5_000 * MS) is None  # once
    assert live.silent_for_s(5_000 * MS) == 4.0


def test_the_reason_says_how_long_the_agent_has_been_silent_when_checked_late() -> None:
    """A capture loop that checks 2.5 s after the last heartbeat says 2.5 s (not the timeout)."""
    live = Liveness("host-b", 0, timeout_ns=600 * MS)
    live.heartbeat(0, 0)
    change = live.check(2_500 * MS)
    assert change is not None and change.reason == ("host host-b's agent is silent: no heartbeat for 2.5 s "
                                                    "(timeout 0.6 s)")


def test_heartbeats_again_after_a_silence_are_one_return_with_the_time_away() -> None:
    """Silent from the last heartbeat at 1 s; the next at 4.2 s (seq continuing) is a return after 3.2 s, reported
    at the first check after it, once; then alive again (and silent again after another timeout)."""
    live = Liveness("b", 0)
    seq = beating(live, 0, 0, 1_000 * MS)
    assert live.check(2_100 * MS) is not None
    assert live.check(4_000 * MS) is None
    live.heartbeat(seq, 4_200 * MS)
    change = live.check(4_250 * MS)
    assert change is not None and change.change is Change.RETURNED
    assert change.reason == "host b's agent sends heartbeats again after 3.2 s of silence"
    assert change.last_heard_ns == 4_200 * MS
    assert not live.silent and live.check(4_300 * MS) is None
    silent = live.check(4_200 * MS + SILENCE_TIMEOUT_NS + 1)
    assert silent is not None and silent.change is Change.SILENT


def test_a_restarted_agent_after_a_silence_is_a_return_whatever_its_sequence() -> None:
    """After a silence a heartbeat numbered 0 (a new agent) is a return like any other: the hello tells which."""
    live = Liveness("b", 0)
    beating(live, 0, 0, 3_000 * MS)
    assert live.check(4_100 * MS) is not None
    live.heartbeat(0, 6_000 * MS)
    change = live.check(6_000 * MS)
    assert change is not None and change.change is Change.RETURNED


def test_a_sequence_going_back_without_a_silence_is_a_restart() -> None:
    """An agent restarted within the timeout: heartbeat #0 after #7, a restart naming both numbers, once."""
    live = Liveness("b", 0)
    seq = beating(live, 0, 0, 1_400 * MS)
    assert seq == 8
    live.heartbeat(0, 1_900 * MS)
    change = live.check(1_900 * MS)
    assert change is not None and change.change is Change.RESTARTED
    assert change.reason == "host b's agent restarted (its heartbeats went from #7 back to #0)"
    assert live.check(1_950 * MS) is None and not live.silent


def test_a_timeout_that_is_not_positive_is_refused() -> None:
    """A zero timeout is an error naming the host, the value and what is allowed."""
    with pytest.raises(ValueError, match=r"liveness timeout 0 ns for host b \(allowed: > 0\)"):
        Liveness("b", 0, timeout_ns=0)
