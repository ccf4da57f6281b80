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
from collections import defaultdict

from rigsync.core.truth import FrameTruth


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
