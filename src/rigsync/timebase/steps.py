"""Steps of the PTP reference, and the one schedule every clock of the rig follows through them.

A step of the reference (the grandmaster's clock set by hand, a new grandmaster keeping another time) reaches
the rig's clocks at different moments: the grandmaster host at once, each PTP slave at its next Sync (its servo
steps the system clock a few Syncs later), each PTP camera at its own next Sync. If every clock absorbed the
step from the moment *it* saw it, rig time would be torn apart across hosts for seconds. So a step is a
rig-level event with one schedule, defined on the **base timeline**: the reference with the registered steps
taken out (the timeline the rig was on before them)::

    rig time = base + sum over steps k of applied_k(base)

``applied_k`` is 0 until the step's instant plus its hold ``H``, then grows at the fast slew rate (10 %) to the
step. During the hold rig time stays on the old timeline on every clock, whether that clock has seen the step
yet or not; then it catches up at 10 %: frame intervals stay within 10 % and never go back. ``H`` is long
enough for every clock to have seen the step (a few PTP Sync intervals).

Every clock maps what it reads to the base timeline: a clock that has seen step ``k`` takes ``step_k`` off its
readings; one that has not yet seen it still reads the base timeline. A detector (a host's map, a PTP camera's
stream) that sees a jump matches it to the registered steps it has not seen (same magnitude within a
tolerance) or registers a new one (:class:`~rigsync.timebase.follower.StepFollower`).

Rig time is therefore the PTP reference minus the schedule's remaining correction (0 outside a step); stamps'
error bounds are against rig time, and the schedule (recorded) gives the reference time of any stamp.

Pure: :class:`StepSchedule` is a serializable value; :class:`RigSteps` is the one mutable register the clocks of
a process share (no I/O, no clock read).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from rigsync.core.ptp import STEP_THRESHOLD_NS
from rigsync.timebase.slew import FAST_SLEW_PPM


class StepPhase(StrEnum):
    """Where rig time is in following one step."""

    BEFORE = "before"
    HOLDING = "holding"
    """Rig time stays on the timeline it was on before the step (every clock learns of it meanwhile)."""
    SLEWING = "slewing"
    """Rig time catches up with the reference at the fast slew rate."""
    DONE = "done"


@dataclass(frozen=True)
class StepPolicy:
    """How the rig follows a step of its reference."""

    hold_ns: int = 3_500_000_000
    """From a step until rig time starts to move: long enough for every clock to have seen it."""
    rate: float = FAST_SLEW_PPM / 1e6
    """Then rig time catches up at this rate (ns of correction per ns): 10 %, a 1 s step in 10 s."""
    min_step_ns: int = STEP_THRESHOLD_NS
    """Smaller changes of the reference are not steps: each clock follows them by its own slow slew (a PTP servo
    slews them too)."""
    tolerance_ns: int = 500_000
    """Two detections of one step agree to within this (plus ``tolerance_ratio`` of the step)."""
    tolerance_ratio: float = 1e-4

    def __post_init__(self) -> None:
        if self.hold_ns < 0 or not 0 < self.rate < 1 or self.min_step_ns <= 0:
            raise ValueError(f"step policy: need hold_ns >= 0, 0 < rate < 1 and min_step_ns > 0, got {self.hold_ns}, "
                             f"{self.rate}, {self.min_step_ns}")
        if not 0 < self.tolerance_ns < self.min_step_ns or self.tolerance_ratio < 0:
            raise ValueError(f"step policy: need 0 < tolerance_ns < min_step_ns and tolerance_ratio >= 0, got "
                             f"{self.tolerance_ns}, {self.tolerance_ratio}")

    @classmethod
    def for_sync_interval(cls, sync_interval_ns: int, *, intervals: float = 3.0,
                          margin_ns: int = 500_000_000) -> StepPolicy:
        """The hold for PTP at this Sync interval: a slave sees a step at its next Sync, its servo steps the
        system clock two Syncs later, and the monitor reads it a moment after (``margin_ns``)."""
        if sync_interval_ns <= 0:
            raise ValueError(f"sync_interval_ns must be positive, got {sync_interval_ns}")
        return cls(hold_ns=round(intervals * sync_interval_ns) + margin_ns)

    def tolerance(self, step_ns: int) -> int:
        return self.tolerance_ns + round(abs(step_ns) * self.tolerance_ratio)


@dataclass(frozen=True, slots=True)
class ReferenceStep:
    """One registered step of the reference and how rig time follows it."""

    index: int
    at_base_ns: int
    """When the step was first seen, on the base timeline."""
    step_ns: int
    """The reference after minus before (+1 s: the grandmaster's clock set one second ahead)."""
    hold_ns: int
    rate: float
    bound_ns: int
    """How far ``step_ns`` may be off the true step (the detector's measurement)."""
    found_by: str
    """The host or stream that registered it."""

    @property
    def slew_from_base_ns(self) -> int:
        return self.at_base_ns + self.hold_ns

    @property
    def done_base_ns(self) -> int:
        return self.slew_from_base_ns + math.ceil(abs(self.step_ns) / self.rate)

    def applied(self, base_ns: int) -> float:
        """The part of the step rig time has taken on at ``base_ns``: 0 through the hold, then growing at ``rate``
        to the whole step."""
        since = base_ns - self.slew_from_base_ns
        if since <= 0:
            return 0.0
        part = min(self.rate * since, abs(self.step_ns))
        return part if self.step_ns > 0 else -part

    def applied_ns(self, base_ns: int) -> int:
        return math.floor(self.applied(base_ns))

    def remaining_ns(self, base_ns: int) -> int:
        """Reference minus rig time on account of this step, at ``base_ns`` (0 before the step)."""
        return 0 if base_ns < self.at_base_ns else self.step_ns - self.applied_ns(base_ns)

    def phase(self, base_ns: int) -> StepPhase:
        if base_ns < self.at_base_ns:
            return StepPhase.BEFORE
        if base_ns < self.slew_from_base_ns:
            return StepPhase.HOLDING
        return StepPhase.SLEWING if base_ns < self.done_base_ns else StepPhase.DONE

    def matches(self, other: ReferenceStep, tolerance_ns: int) -> bool:
        """The same step seen twice: magnitudes within the tolerance, instants within the hold."""
        return abs(self.step_ns - other.step_ns) <= tolerance_ns and \
            abs(self.at_base_ns - other.at_base_ns) <= max(self.hold_ns, other.hold_ns)

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "at_base_ns": self.at_base_ns, "step_ns": self.step_ns, "hold_ns": self.hold_ns,
                "rate": self.rate, "bound_ns": self.bound_ns, "found_by": self.found_by,
                "slew_from_base_ns": self.slew_from_base_ns, "done_base_ns": self.done_base_ns}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> ReferenceStep:
        def num(key: str) -> int:
            value = d.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"reference step: {key} must be an integer, got {value!r}")
            return value

        rate = d.get("rate")
        if not isinstance(rate, int | float) or not 0 < rate < 1:
            raise ValueError(f"reference step: rate must be within (0, 1), got {rate!r}")
        return cls(num("index"), num("at_base_ns"), num("step_ns"), num("hold_ns"), float(rate), num("bound_ns"),
                   str(d.get("found_by", "")))


@dataclass(frozen=True)
class StepSchedule:
    """Every registered step, in order: rig time as a function of the base timeline."""

    steps: tuple[ReferenceStep, ...] = ()

    def rig_ns(self, base_ns: int) -> int:
        """Rig time at ``base_ns`` (integer and never decreasing: one rounding of the steps' applied parts)."""
        return base_ns + math.floor(sum(s.applied(base_ns) for s in self.steps))

    def base_ns(self, rig_ns: int) -> int:
        """The base-timeline instant rig time ``rig_ns`` stands for (the inverse of :meth:`rig_ns`; where rig time
        takes a nanosecond twice, the later instant)."""
        if not self.steps:
            return rig_ns
        base = rig_ns
        for _ in range(64):  # a contraction: rig time changes rate by at most the slew rates
            nxt = rig_ns - math.floor(sum(s.applied(base) for s in self.steps))
            if abs(nxt - base) <= 1:
                base = nxt
                break
            base = nxt
        while self.rig_ns(base) > rig_ns:
            base -= 1
        while self.rig_ns(base + 1) <= rig_ns:
            base += 1
        return base

    def remaining_ns(self, base_ns: int) -> int:
        """Reference minus rig time at ``base_ns`` (what is still to be slewed, or held)."""
        return sum(s.remaining_ns(base_ns) for s in self.steps)

    def active(self, base_ns: int) -> tuple[ReferenceStep, ...]:
        """Steps being held or slewed at ``base_ns``."""
        return tuple(s for s in self.steps if s.at_base_ns <= base_ns < s.done_base_ns)

    def with_step(self, step: ReferenceStep) -> StepSchedule:
        return StepSchedule((*self.steps, replace(step, index=len(self.steps))))

    def merged(self, other: StepSchedule, policy: StepPolicy) -> StepSchedule:
        """This schedule plus the steps of ``other`` it does not have (a step registered on two hosts at once is
        one step: same magnitude within the tolerance, instants within the hold). Kept steps keep their index."""
        out = self
        for step in other.steps:
            if not any(s.matches(step, policy.tolerance(s.step_ns)) for s in out.steps):
                out = out.with_step(step)
        return out

    def to_json(self) -> list[dict[str, object]]:
        return [s.to_json() for s in self.steps]

    @classmethod
    def from_json(cls, items: Iterable[dict[str, object]]) -> StepSchedule:
        steps = tuple(ReferenceStep.from_json(d) for d in items)
        if [s.index for s in steps] != list(range(len(steps))):
            raise ValueError("reference steps must be numbered 0, 1, 2, ... in order")
        return cls(steps)


def match_jump(unseen: Sequence[ReferenceStep], jump_ns: int, policy: StepPolicy) -> int:
    """How many of the oldest ``unseen`` steps a jump of ``jump_ns`` (in what a clock reads) accounts for: the
    shortest run whose sum agrees with it within the tolerance; 0 if none does."""
    total = 0
    for n, step in enumerate(unseen, start=1):
        total += step.step_ns
        if abs(jump_ns - total) <= policy.tolerance(total):
            return n
    return 0


@dataclass(frozen=True)
class StepEvent:
    """Something to record: a step registered, or confirmed or seen by one more clock (``index``; ``clock``; when,
    on the base timeline)."""

    kind: str
    """``registered``; ``confirmed`` (the clock's readings show it is coming: a servo about to step); ``seen`` (the
    clock's readings have taken it)."""
    index: int
    clock: str
    at_base_ns: int
    jump_ns: int
    """What that clock measured."""


class RigSteps:
    """The rig's step schedule as the clocks of one process share it: registration, and the latest base-timeline
    instant any of them has stamped (a step registered late is held at least until then, so no stamp already
    issued disagrees with the schedule)."""

    def __init__(self, policy: StepPolicy | None = None) -> None:
        self.policy = policy or StepPolicy()
        self.schedule = StepSchedule()
        self.frontier_base_ns: int | None = None
        self._events: list[StepEvent] = []

    def note_stamp(self, base_ns: int) -> None:
        if self.frontier_base_ns is None or base_ns > self.frontier_base_ns:
            self.frontier_base_ns = base_ns

    def register(self, at_base_ns: int, step_ns: int, bound_ns: int, found_by: str) -> ReferenceStep:
        hold = self.policy.hold_ns
        if self.frontier_base_ns is not None:
            hold = max(hold, self.frontier_base_ns + 1 - at_base_ns)
        self.schedule = self.schedule.with_step(ReferenceStep(0, at_base_ns, step_ns, hold, self.policy.rate,
                                                              max(bound_ns, 0), found_by))
        step = self.schedule.steps[-1]
        self._events.append(StepEvent("registered", step.index, found_by, at_base_ns, step_ns))
        return step

    def record(self, kind: str, step: ReferenceStep, clock: str, at_base_ns: int, jump_ns: int) -> None:
        """A clock ``confirmed`` or ``seen`` a registered step (for the recording)."""
        self._events.append(StepEvent(kind, step.index, clock, at_base_ns, jump_ns))

    def take_events(self) -> list[StepEvent]:
        events, self._events = self._events, []
        return events
