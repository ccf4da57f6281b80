"""What the capture does when a remote host's agent falls silent and when it comes back (see
:mod:`rigsync.net.liveness` for when).

Silent: each of the host's devices gets one DISCONNECTED event (its reason: the host, how long its agent has been
silent) and the capture carries on with the other hosts; control queries to it fail at once, naming the host.
Back, the same agent (its hello's ``instance`` unchanged: a partition healed): RECONNECTED. A new agent (restarted):
its hello is checked again (rig hash, plan hash, the simulator's timeline origin), its devices are configured from
the plan, the rig's starts and stops so far are told to its simulated world, the devices that were streaming are
started again (the simulator's at one instant ahead, as at the capture's start), then RECONNECTED; the first frame of
each stream after a return is flagged ``AFTER_RECONNECT``, as local drivers flag theirs.

A simulated agent's truth of a delivered frame travels before the frame. :class:`HeldTruth` keeps it until its frame
(or a later one of its stream) arrives, so that a frame its agent had but never sent (killed in between) is not
recorded as delivered: when the agent falls silent, such truth says the frame was lost ``disconnected`` - which is
what the capture saw, and how the framesets name it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from typing import Any, Protocol

from rigsync.core.errors import RigsyncError
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import EventKind
from rigsync.net.liveness import Change, Liveness, Transition

RETURN_HELLO_S = 0.5
"""How long the hello of an agent back after a silence is waited for (on a thread of its own: the capture's loop goes
on meanwhile; with no answer, it is asked again :data:`RETRY_NS` after the ask began)."""
RETRY_NS = 1_000_000_000


class AgentLink(Protocol):
    """What :class:`AgentWatch` needs of the capture's driver of an agent (a
    :class:`~rigsync.net.remote.RemoteDriver`)."""

    host: str

    def checked_hello(self, within_s: float) -> dict[str, Any]:
        """The agent's hello; a :class:`RigsyncError` if it runs another rig file or plan, or does not answer."""
        ...

    def post(self, kind: EventKind, host_ns: int, reason: str) -> None:
        """One event of ``kind`` for each of the host's devices (DISCONNECTED: the truth still held is lost,
        RECONNECTED: each stream's next frame is flagged ``AFTER_RECONNECT``)."""
        ...

    def restart_devices(self) -> None:
        """A new agent: its devices configured from the plan, and what was streaming started again."""
        ...

    def host_mono_ns(self, last_heard: bool) -> int:
        """The agent's host's monotonic clock now, or (``last_heard``) when the last frame or heartbeat received from
        it was sent."""
        ...


class AgentWatch:
    """One agent's silences, returns and restarts, turned into its devices' events on the capture's thread
    (:meth:`watch` at each poll, with what :attr:`liveness` says); heartbeats go to :attr:`liveness` as they arrive
    (the caller keeps the two apart with its lock)."""

    def __init__(self, link: AgentLink, hello: dict[str, Any], liveness: Liveness) -> None:
        self.link = link
        self.liveness = liveness
        self.instance = hello.get("instance")
        self.origin_realtime_ns = hello.get("origin_realtime_ns")
        self.away = False
        """Whether the host's devices are reported disconnected (silent, or back but not rejoined yet)."""
        self.rejoin_error: str | None = None
        """Why the agent back after a silence or a restart could not rejoin yet (tried again every second), None
        if it did."""
        self._returning: Transition | None = None  # a return not completed yet
        self._ask: _Ask | None = None  # its hello, asked
        self._retry_ns = 0  # no new ask before then

    def watch(self, change: Transition | None, now_ns: int) -> None:
        """Report a silence, a return or a restart of the agent (``change``: the liveness's at ``now_ns``), or try
        again a return that could not complete (see the module doc)."""
        if change is not None and change.change is not Change.RETURNED:  # silent, or restarted without a silence
            self._gone(change)
            self._returning = self._ask = None  # (an answer still to come is of an agent gone since)
            self._retry_ns = 0
            if change.change is Change.SILENT:
                return
        if change is not None:
            self._returning = change
        if self._returning is None or self.liveness.silent:
            return
        answer = self._answer(now_ns)
        if answer is None:
            return
        change = self._returning
        host = self.link.host
        try:
            if isinstance(answer, RigsyncError):
                raise answer
            hello = answer
            origin = hello.get("origin_realtime_ns")
            if origin != self.origin_realtime_ns:
                raise RigsyncError(f"the agent of host {host} came back on another simulated timeline: its "
                                   f"origin is {origin} ns, this capture's {self.origin_realtime_ns} (start it with "
                                   "the capture's --origin NS)")
            same = hello.get("instance") == self.instance and change.change is Change.RETURNED
            self.away = False  # (the restarted agent takes part in the controls from now)
            if not same:
                self.link.restart_devices()
                self.instance = hello.get("instance")
        except RigsyncError as err:
            self.away = True
            self.rejoin_error = f"host {host}'s agent could not rejoin: {err}"
            return
        self._returning = self.rejoin_error = None
        self._retry_ns = 0
        reason = change.reason if same else f"host {host}'s agent restarted and rejoined ({change.reason})"
        self.link.post(EventKind.RECONNECTED, self.link.host_mono_ns(last_heard=False), reason)

    def _answer(self, now_ns: int) -> dict[str, Any] | RigsyncError | None:
        """The returning agent's hello or why it failed, asked on a thread of its own (:class:`_Ask`), so that the
        capture's loop never waits on the network: a loop held up by a link that has just come back would read its
        other devices' frames late (and call them late). None until an answer came; a new ask is not made before
        :data:`RETRY_NS` after the last one began."""
        ask = self._ask
        if ask is None:
            if now_ns >= self._retry_ns:
                self._ask = _Ask(self.link)
                self._retry_ns = now_ns + RETRY_NS
            return None
        if ask.answer is None:
            return None
        self._ask = None
        return ask.answer

    @property
    def asking(self) -> threading.Thread | None:
        """The thread asking a returning agent's hello, while no answer has been taken (None otherwise)."""
        return self._ask.thread if self._ask is not None else None

    def _gone(self, change: Transition) -> None:
        """Silent or replaced: the devices disconnected, as of the last thing heard from the agent when silent, as
        of now when replaced."""
        if self.away:
            return
        self.away = True
        host_ns = self.link.host_mono_ns(last_heard=change.change is Change.SILENT)
        self.link.post(EventKind.DISCONNECTED, host_ns, change.reason)


class _Ask:
    """One ask of an agent's hello, on a daemon thread that ends with the ask (within about :data:`RETURN_HELLO_S`);
    :attr:`answer` is None until it is done."""

    def __init__(self, link: AgentLink) -> None:
        self.answer: dict[str, Any] | RigsyncError | None = None
        self.thread = threading.Thread(target=self._run, args=(link,), name=f"rejoin-hello-{link.host}", daemon=True)
        self.thread.start()

    def _run(self, link: AgentLink) -> None:
        try:
            self.answer = link.checked_hello(RETURN_HELLO_S)
        except RigsyncError as err:
            self.answer = err
        except Exception as err:  # (the session closed under it: the capture is ending)
            self.answer = RigsyncError(f"its hello failed: {err}")


class HeldTruth:
    """Truth of delivered frames waiting for their frames (one agent's). Truth and frames come on different keys,
    handled on Zenoh's threads in either order: a truth whose frame (or a later one of its stream) already came is
    not held."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], list[FrameTruth]] = defaultdict(list)
        self._received: dict[tuple[str, str], int] = {}  # the last frame seq received, per stream

    def hold(self, truth: FrameTruth) -> list[FrameTruth]:
        """A delivered frame's truth: returned at once if its frame came (or a later one), else held."""
        key = (truth.device, truth.stream)
        if self._received.get(key, -1) >= truth.seq:
            return [truth]
        self._held[key].append(truth)
        return []

    def release(self, device: str, stream: str, seq: int) -> list[FrameTruth]:
        """The held truth of ``device``'s ``stream`` up to frame ``seq``, which arrived (or was reported lost on
        the agent's host: an overrun): its frame and the ones before it are accounted for."""
        key = (device, stream)
        self._received[key] = seq
        held = self._held.get(key)
        if not held:
            return []
        out = [t for t in held if t.seq <= seq]
        if out:
            held[:] = [t for t in held if t.seq > seq]
        return out

    def restarted(self, device: str) -> list[FrameTruth]:
        """The device's frame counters restarted (it reconnected): what was held is released as it is."""
        out = [t for (d, _), ts in self._held.items() if d == device for t in ts]
        for key in [k for k in (*self._held, *self._received) if k[0] == device]:
            self._held.pop(key, None)
            self._received.pop(key, None)
        return out

    def orphans(self) -> list[FrameTruth]:
        """Every truth still held, as frames lost ``disconnected`` (their agent went silent before sending them);
        counters start afresh (a new agent's frames start again at 0)."""
        out = [dataclasses.replace(t, delivered=False, lost="disconnected") for ts in self._held.values() for t in ts]
        self._held.clear()
        self._received.clear()
        return out
