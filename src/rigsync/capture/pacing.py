"""When the capture loop wakes next: at the next moment something can change (a frame due from a device, an
aligner deadline, the end of the capture), on the virtual clock of a ``--fast`` capture exactly then, in real
time no sooner than the poll interval and no later than the next status line."""

from __future__ import annotations

from collections.abc import Iterable

STALL_STEPS = 1000
"""Virtual time: wake-ups in a row that stay in the past before the loop moves on by :data:`STALL_STEP_NS`."""
STALL_STEP_NS = 1_000_000


class Pacer:
    """Chooses the capture loop's next wake-up on the capture clock (ns)."""

    def __init__(self, *, fast: bool, status_interval_s: float, poll_interval_s: float) -> None:
        self.fast = fast
        self._status_ns = round(status_interval_s * 1e9)
        self._poll_ns = round(poll_interval_s * 1e9)
        self._stalled = 0

    def horizon(self, now_ns: int, until_ns: int | None) -> int:
        """How far ahead the devices look for their next frame: to ``until_ns`` (the end of the capture or of a
        wait), and no further than one status interval, so that the loop wakes at least that often (to read
        the clocks and see a stop) even while no device delivers."""
        next_status = now_ns + self._status_ns
        return next_status if until_ns is None else min(until_ns, next_status)

    def wake(self, now_ns: int, candidates: Iterable[int | None]) -> int:
        """The next wake-up after ``now_ns``, given the times something is due (None: nothing known)."""
        times = [t for t in candidates if t is not None]
        wake = min(times) if times else now_ns + 5_000_000
        if self.fast:
            # Virtual time: jump to the next event. A wake-up that stays in the past (a clock-domain slip)
            # would crawl a nanosecond at a time: after many such steps, move on by a millisecond.
            self._stalled = self._stalled + 1 if wake <= now_ns else 0
            return max(wake, now_ns + (STALL_STEP_NS if self._stalled > STALL_STEPS else 1))
        wake = min(wake, now_ns + self._status_ns)
        return max(wake, now_ns + self._poll_ns)
