"""The capture's handling of an agent's silences, returns and restarts (rigsync.net.rejoin.AgentWatch), against a
fake driver and a fake clock."""

from __future__ import annotations

import threading
from typing import Any

from rigsync.core.errors import RigsyncError
from rigsync.drivers.base import EventKind
from rigsync.net.liveness import Liveness
from rigsync.net.rejoin import AgentWatch

MS = 1_000_000
ORIGIN = 1_700_000_000_000_000_000


class FakeLink:
    """A remote driver as the watch sees it: hellos it answers (or refuses), events posted, restarts made."""

    host = "b"

    def __init__(self) -> None:
        self.hello: dict[str, Any] | RigsyncError = {"instance": "one", "origin_realtime_ns": ORIGIN}
        self.posted: list[tuple[EventKind, int, str]] = []
        self.restarts = 0
        self.hellos = 0
        self.answer = threading.Event()
        """Set: hellos are answered at once; clear: held back until it is set."""
        self.answer.set()

    def checked_hello(self, within_s: float) -> dict[str, Any]:
        self.hellos += 1
        assert self.answer.wait(5)  # (bounded: a test that holds the answer back releases it)
        if isinstance(self.hello, RigsyncError):
            raise self.hello
        return self.hello

    def post(self, kind: EventKind, host_ns: int, reason: str) -> None:
        self.posted.append((kind, host_ns, reason))

    def restart_devices(self) -> None:
        self.restarts += 1

    def host_mono_ns(self, last_heard: bool) -> int:
        return 111 if last_heard else 999


class Run:
    """A watch over the fake link; heartbeats and checks at given milliseconds."""

    def __init__(self) -> None:
        self.link = FakeLink()
        self.watch = AgentWatch(self.link, dict(self.link.hello), Liveness("b", 0))  # type: ignore[arg-type]

    def beat(self, seq: int, at_ms: int) -> None:
        self.watch.liveness.heartbeat(seq, at_ms * MS)

    def poll(self, at_ms: int) -> None:
        """The capture's poll at ``at_ms``; a hello it asked is answered (its thread joined) and taken at once."""
        self.watch.watch(self.watch.liveness.check(at_ms * MS), at_ms * MS)
        asking = self.watch.asking
        if asking is not None:
            asking.join(5)
            assert not asking.is_alive()
            self.watch.watch(None, at_ms * MS)


def test_silence_then_the_same_agent_back_is_one_disconnect_and_one_reconnect() -> None:
    """Silent past 1 s: DISCONNECTED as of the last thing heard; heartbeats again from the same instance (a healed
    partition): RECONNECTED as of now with the return's reason, no restart of its devices."""
    run = Run()
    run.beat(0, 0)
    run.poll(900)
    assert run.link.posted == []
    run.poll(1_001)
    assert run.link.posted == [(EventKind.DISCONNECTED, 111,
                                "host b's agent is silent: no heartbeat for 1.0 s (timeout 1 s)")]
    assert run.watch.away
    run.beat(1, 4_000)
    run.poll(4_010)
    assert run.link.posted[1:] == [(EventKind.RECONNECTED, 999,
                                    "host b's agent sends heartbeats again after 4.0 s of silence")]
    assert run.link.restarts == 0 and not run.watch.away and run.watch.rejoin_error is None


def test_a_new_agent_is_restarted_then_reconnected() -> None:
    """Back with another instance: its devices configured and restarted, then RECONNECTED saying it restarted."""
    run = Run()
    run.beat(5, 0)
    run.poll(1_500)
    run.link.hello = {"instance": "two", "origin_realtime_ns": ORIGIN}
    run.beat(0, 3_000)
    run.poll(3_000)
    assert run.link.restarts == 1
    assert run.link.posted[-1] == (EventKind.RECONNECTED, 999, "host b's agent restarted and rejoined (host b's agent "
                                   "sends heartbeats again after 3.0 s of silence)")
    assert run.watch.instance == "two"


def test_a_restart_within_the_timeout_is_a_disconnect_then_a_rejoin() -> None:
    """Heartbeat #0 after #9 with no silence: DISCONNECTED as of now, the devices restarted, RECONNECTED."""
    run = Run()
    for seq in range(10):
        run.beat(seq, seq * 200)
    run.link.hello = {"instance": "two", "origin_realtime_ns": ORIGIN}
    run.beat(0, 2_000)
    run.poll(2_000)
    reason = "host b's agent restarted (its heartbeats went from #9 back to #0)"
    assert run.link.posted == [(EventKind.DISCONNECTED, 999, reason),
                               (EventKind.RECONNECTED, 999, f"host b's agent restarted and rejoined ({reason})")]
    assert run.link.restarts == 1


def test_a_refused_agent_stays_away_and_is_asked_again_a_second_later() -> None:
    """A returning agent whose hello is refused: no RECONNECTED, ``rejoin_error`` says why; not asked again before
    a second has passed; asked then, and (now accepted) restarted and reconnected."""
    run = Run()
    run.beat(3, 0)
    run.poll(1_100)
    run.link.hello = RigsyncError("the agent of host b runs another plan")
    run.beat(0, 2_000)
    run.poll(2_000)
    assert run.watch.away and run.watch.rejoin_error == ("host b's agent could not rejoin: the agent of host b runs "
                                                         "another plan")
    run.beat(1, 2_200)
    run.poll(2_999)
    assert run.link.hellos == 1
    run.link.hello = {"instance": "three", "origin_realtime_ns": ORIGIN}
    run.poll(3_000)
    assert run.link.hellos == 2 and run.link.restarts == 1 and not run.watch.away
    assert [k for k, _, _ in run.link.posted] == [EventKind.DISCONNECTED, EventKind.RECONNECTED]


def test_an_agent_back_on_another_timeline_is_refused_naming_both_origins() -> None:
    """A restarted simulated agent on another origin cannot rejoin: the error names the host and both origins."""
    run = Run()
    run.beat(0, 0)
    run.poll(1_100)
    run.link.hello = {"instance": "two", "origin_realtime_ns": ORIGIN + 5}
    run.beat(0, 2_000)
    run.poll(2_000)
    assert run.watch.rejoin_error == (f"host b's agent could not rejoin: the agent of host b came back on another "
                                      f"simulated timeline: its origin is {ORIGIN + 5} ns, this capture's {ORIGIN} "
                                      "(start it with the capture's --origin NS)")
    assert run.link.restarts == 0


def test_the_capture_loop_does_not_wait_for_a_returning_agents_hello() -> None:
    """A returning agent whose hello has not been answered yet: each poll returns at once, the devices stay away
    (no RECONNECTED), no second hello is asked within the retry interval; once it is answered, the next poll
    reconnects them."""
    run = Run()
    run.beat(0, 0)
    run.poll(1_100)
    run.link.answer.clear()
    run.beat(1, 4_000)
    run.watch.watch(run.watch.liveness.check(4_000 * MS), 4_000 * MS)  # returns with the hello unanswered
    asking = run.watch.asking
    assert asking is not None and asking.is_alive()
    run.watch.watch(None, 4_500 * MS)
    assert [k for k, _, _ in run.link.posted] == [EventKind.DISCONNECTED] and run.watch.away
    assert run.link.hellos == 1 and run.watch.asking is asking
    run.link.answer.set()
    asking.join(5)
    run.watch.watch(None, 4_600 * MS)
    assert run.link.posted[1:] == [(EventKind.RECONNECTED, 999,
                                    "host b's agent sends heartbeats again after 4.0 s of silence")]
    assert not run.watch.away and run.watch.asking is None and run.link.hellos == 1
