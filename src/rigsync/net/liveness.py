"""Whether a remote host's agent is alive, from its heartbeats as the capture receives them (pure: the clock is
passed in, the capture's CLOCK_MONOTONIC in use).

An agent sends a heartbeat every ``heartbeat_s`` (0.2 s). One that sends none for longer than the timeout
(:data:`SILENCE_TIMEOUT_NS`, 1 s: five heartbeats) is **silent**: dead, or cut off by the network. The capture then
reports its devices disconnected and carries on with the other hosts. Heartbeats again after a silence are a
**return**; the capture asks the agent's hello to tell the same agent (a partition healed) from a new one (the
agent restarted: its hello's ``instance`` differs). A heartbeat whose sequence number is below the last one is a
restart seen without a silence (the agent came back within the timeout).

The timeout stays below the aligner's ``settle_ns`` (2 s): a frameset lacking a silent host's frames waits that long
for the reason, so the disconnect reaches the aligner first and the sets are marked ``disconnected``, never
``not_received``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SILENCE_TIMEOUT_NS = 1_000_000_000
"""An agent silent for longer than this (five of its 0.2 s heartbeat intervals) is reported disconnected."""


class Change(StrEnum):
    SILENT = "silent"
    """No heartbeat for longer than the timeout."""
    RETURNED = "returned"
    """Heartbeats again after a silence: the same agent or a new one (its hello tells)."""
    RESTARTED = "restarted"
    """A heartbeat numbered below the last one: a new agent, seen without a silence."""


@dataclass(frozen=True)
class Transition:
    change: Change
    reason: str
    """What happened, naming the host and for how long it was silent."""
    last_heard_ns: int
    """When the last heartbeat before the change arrived (the capture's clock)."""


class Liveness:
    """One agent's liveness. :meth:`heartbeat` as heartbeats arrive (any thread, under the caller's lock),
    :meth:`check` from the capture's loop: it returns each change once."""

    def __init__(self, host: str, now_ns: int, timeout_ns: int = SILENCE_TIMEOUT_NS) -> None:
        if timeout_ns <= 0:
            raise ValueError(f"liveness timeout {timeout_ns} ns for host {host} (allowed: > 0)")
        self.host = host
        self.timeout_ns = timeout_ns
        self.silent = False
        self._last_heard_ns = now_ns
        self._seq: int | None = None
        self._returned_ns: int | None = None  # first heartbeat after a silence
        self._restart: tuple[int, int] | None = None  # (last seq, new seq) of a restart seen without a silence
        self._silent_since_ns = now_ns

    def heartbeat(self, seq: int, now_ns: int) -> None:
        """A heartbeat numbered ``seq`` arrived at ``now_ns``."""
        if self._seq is not None and seq < self._seq and not self.silent:
            self._restart = (self._seq, seq)
        self._seq = seq
        if self.silent and self._returned_ns is None:
            self._returned_ns = now_ns
        self._last_heard_ns = max(self._last_heard_ns, now_ns)

    def check(self, now_ns: int) -> Transition | None:
        """The change since the last call, if any."""
        if self.silent:
            if self._returned_ns is None:
                return None
            self.silent = False
            away_s = (self._returned_ns - self._silent_since_ns) / 1e9
            self._returned_ns = None
            return Transition(Change.RETURNED, f"host {self.host}'s agent sends heartbeats again after {away_s:.1f} s "
                                               "of silence", self._last_heard_ns)
        if self._restart is not None:
            (old, new), self._restart = self._restart, None
            return Transition(Change.RESTARTED, f"host {self.host}'s agent restarted (its heartbeats went from #{old} "
                                                f"back to #{new})", self._last_heard_ns)
        silent_ns = now_ns - self._last_heard_ns
        if silent_ns <= self.timeout_ns:
            return None
        self.silent = True
        self._silent_since_ns = self._last_heard_ns
        reason = (f"host {self.host}'s agent is silent: no heartbeat for {silent_ns / 1e9:.1f} s "
                  f"(timeout {self.timeout_ns / 1e9:g} s)")
        return Transition(Change.SILENT, reason, self._last_heard_ns)

    def overdue(self, now_ns: int) -> bool:
        """Whether the last heartbeat is older than the timeout (silent, even before :meth:`check` says so)."""
        return now_ns - self._last_heard_ns > self.timeout_ns

    def silent_for_s(self, now_ns: int) -> float:
        """Seconds since the last heartbeat."""
        return (now_ns - self._last_heard_ns) / 1e9
