"""A host's link statistics (rigsync.net.link) on a fake clock: rates over the window, totals, state, heartbeats."""

from __future__ import annotations

import pytest

from rigsync.net.link import HostLink, LinkState, LinkStats, local_link
from rigsync.net.messages import Heartbeat

MS = 1_000_000
S = 1_000_000_000


def beat(**fields: int) -> Heartbeat:
    values = {"queue_depth": 0, "queue_bytes": 0, "frames_sent": 0, "frames_spilled": 0, "frames_dropped": 0, **fields}
    return Heartbeat("0.1", "r" * 64, "p" * 64, "b", 7, 1_700_000_000 * S, 5 * S, **values)


def test_rates_are_the_frames_and_bytes_of_the_last_window() -> None:
    """30 frames of 100,000 bytes at 30 fps: 30 frames/s and 3 MB/s over the 1 s window; a frame received exactly
    a window ago has left it, one received just after that has not."""
    link = LinkStats("b")
    period_ns = S // 30
    for i in range(31):
        link.frame(100_000, 10 * S + i * period_ns)
    last_ns = 10 * S + 30 * period_ns
    at_first_out = link.status(10 * S + S)  # frame 0 (at 10 s) is exactly one window old: out
    assert (at_first_out.frames_per_s, at_first_out.mb_per_s) == (30.0, 3.0)
    just_before = LinkStats("b")
    for i in range(31):
        just_before.frame(100_000, 10 * S + i * period_ns)
    inside = just_before.status(10 * S + S - 1)  # frame 0 is 1 ns younger than the window: in
    assert (inside.frames_per_s, inside.mb_per_s) == (31.0, 3.1)
    later = link.status(last_ns + S // 2)  # half a window after the last frame: it and the 15 before it
    assert later.frames_per_s == 16.0 and later.mb_per_s == pytest.approx(1.6, abs=1e-12)
    assert link.status(last_ns + S).frames_per_s == 0.0
    assert (later.frames_received, later.bytes_received) == (31, 3_100_000)


def test_what_is_kept_is_bounded_by_the_window_even_if_no_status_is_read() -> None:
    """Ten minutes of 120 frames/s fed without reading the status keep only the last window's frames."""
    link = LinkStats("b")
    for i in range(120 * 600):
        link.frame(1, i * S // 120)
    assert len(link._recent) == 120
    assert link.status(600 * S - S // 120).frames_per_s == 120.0


def test_a_window_of_half_a_second_doubles_the_count() -> None:
    """frames/s is the window's count divided by the window: 10 frames in 0.5 s are 20 frames/s."""
    link = LinkStats("b", window_ns=S // 2)
    for i in range(10):
        link.frame(1_000, S + i * 40 * MS)
    status = link.status(S + 9 * 40 * MS)
    assert (status.frames_per_s, status.mb_per_s) == (20.0, 0.02)


def test_mean_rates_count_what_arrived_after_the_first_frame_over_the_receiving_time() -> None:
    """61 frames, 30 fps for 2 s, the first of 5,000 bytes and the others of 1,000: the summary's mean is exactly
    30 frames/s and 0.03 MB/s; with one frame, there is no rate."""
    link = LinkStats("b")
    link.frame(5_000, 3 * S)
    for i in range(1, 61):
        link.frame(1_000, 3 * S + i * S // 30)
    status = link.status(100 * S)
    assert status.receiving_s == pytest.approx(2.0, abs=1e-9)
    assert status.mean_frames_per_s == pytest.approx(30.0, rel=1e-9)
    assert status.mean_mb_per_s == pytest.approx(0.03, rel=1e-9)
    assert status.to_json()["mean_frames_per_s"] == status.mean_frames_per_s
    one = LinkStats("b")
    one.frame(5_000, S)
    assert (one.status(2 * S).mean_frames_per_s, one.status(2 * S).mean_mb_per_s) == (0.0, 0.0)


def test_state_is_never_heard_then_up_then_silent_for_the_time_since_the_last_message() -> None:
    """Never heard before anything arrives; up while the last frame or heartbeat is at most silent_after_ns old
    (the limit included); silent after, for exactly the time since it; up again when a heartbeat arrives."""
    link = LinkStats("b", silent_after_ns=S)
    never = link.status(5 * S)
    assert (never.state, never.silent_s, never.heartbeats) == (LinkState.NEVER, None, 0)
    link.heartbeat(beat(), 6 * S)
    assert link.status(7 * S).state is LinkState.UP
    assert link.status(7 * S).silent_s == 1.0
    silent = link.status(7 * S + 1)
    assert (silent.state, silent.silent_s) == (LinkState.SILENT, 1.000000001)
    link.frame(10, 9 * S)
    assert link.status(9 * S + 500 * MS).state is LinkState.UP
    link.heartbeat(beat(), 8 * S)  # an older heartbeat delivered late does not move the last message back
    assert link.status(10 * S).state is LinkState.UP


def test_queue_and_agent_counters_are_the_latest_heartbeats_values() -> None:
    """Before any heartbeat the agent's fields are unknown (None); after, exactly the latest heartbeat's."""
    link = LinkStats("b")
    assert link.status(S).queue_depth is None and link.status(S).frames_sent is None
    link.heartbeat(beat(queue_depth=3, queue_bytes=9_000_000, frames_sent=50, frames_spilled=4, frames_dropped=1), S)
    link.heartbeat(beat(queue_depth=17, queue_bytes=51_200_000, frames_sent=120, frames_spilled=9, frames_dropped=2),
                   2 * S)
    s = link.status(2 * S, malformed=5)
    assert (s.queue_depth, s.queue_bytes, s.frames_sent, s.frames_spilled, s.frames_dropped, s.malformed,
            s.heartbeats) == (17, 51_200_000, 120, 9, 2, 5, 2)
    assert s.to_json()["queue_bytes"] == 51_200_000 and s.to_json()["state"] == "up"


def test_the_local_host_is_local_whatever_it_heard() -> None:
    """The capture's own host has no link: its state is local, its rates those of the frames read."""
    link = local_link("a")
    assert link.status(S).state is LinkState.LOCAL
    link.frame(2_000_000, S)
    status = link.status(100 * S)
    assert (status.state, status.silent_s, status.frames_received) == (LinkState.LOCAL, None, 1)
    assert isinstance(status, HostLink)


def test_a_window_or_silence_that_is_not_positive_is_refused() -> None:
    """A zero window would divide by zero: refused, naming the host and the value."""
    with pytest.raises(ValueError, match="link of host b: window_ns 0"):
        LinkStats("b", window_ns=0)
