"""One clock's view of the rig's steps of the reference: which registered steps are already in what it reads.

A clock that has taken steps ``0..n-1`` of the schedule reads the base timeline plus their sum; the follower
takes that sum off its readings and places them on the rig's schedule (:mod:`rigsync.timebase.steps`), matching
each jump of the clock to the registered steps it has not taken yet.

Which steps a clock's **first** reading already holds is not always "all of them": a PTP camera that starts, or
reconnects, after a step was registered but before its own next Sync still reads the old timeline, and takes the
step a moment later. So a first reading can be set against another clock's estimate of the same instant
(:class:`Reading`: a frame's arrival on its host's map): the reading minus that estimate is the sum of the steps
the clock has taken, minus the transport's excess delay. No frame arrives before its exposure, so one reading
rules out at once every choice below it (whatever the delay). A choice above it is ruled out only by the least
delayed of several readings (:data:`ARRIVAL_READINGS`: the excess of one late frame - a first frame after a
reconnect held up for tens of ms - would otherwise pass for a step). Until one choice is left the follower keeps
every choice the readings allow, works with the one the least delayed reading is nearest and widens the bound to
cover the others; a jump of the clock, later readings or a step's hold running out (every clock has taken a step
by then) narrow them.

Pure: every time value is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigsync.timebase.steps import ReferenceStep, RigSteps, StepPolicy, match_jump


@dataclass(frozen=True, slots=True)
class Following:
    """Where one reading of a clock is on the schedule."""

    rig_ns: int
    extra_bound_ns: int
    """Widening for steps this clock has not confirmed: the step's own uncertainty and, when the clock could
    have seen a step past its hold and has not, the part applied regardless (its readings disagree with it); and
    while which steps its readings hold is undecided, the farthest rig time another open choice gives."""
    stepping: bool
    """A step is being held or slewed at this reading."""
    overdue: bool
    """A step this clock could have seen and has not is past its hold."""
    unsure: bool = False
    """Which registered steps are in this clock's readings is not decided yet (the bound covers every choice)."""


ARRIVAL_READINGS = 4
"""How many readings rule out a choice above them (their least delayed one, within its ``above_ns``)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A reading of a clock set against another clock's estimate of the same instant on the base timeline
    (``base_ns``): the reading minus the base instant is the sum of the steps the clock has taken minus the
    transport's excess delay. The sum is at least ``offset_ns - below_ns`` (no frame arrives early by more than
    the latency's uncertainty), and at most ``offset_ns + above_ns`` unless the frame was held up beyond the
    usual excess (``above_ns``)."""

    base_ns: int
    offset_ns: int
    """The reading minus ``base_ns``."""
    below_ns: int
    above_ns: int


class StepFollower:
    """One clock's view of the rig's steps: which registered steps are already in what it reads.

    ``offset_ns`` (the sum of the steps it has taken) turns its readings into the base timeline. Its first reading
    (:meth:`begin`) holds every step registered by then, unless a :class:`Reading` says otherwise."""

    def __init__(self, steps: RigSteps, clock: str) -> None:
        self.steps = steps
        self.clock = clock
        self.offset_ns = 0
        self._seen: set[int] = set()
        self._confirmed: set[int] = set()
        self._begun = False
        self._open: tuple[int, ...] = ()
        """While undecided (two or more): how many of the oldest registered steps the readings may hold."""
        self._taken = 0
        """The choice worked with meanwhile (one of ``_open``)."""
        self._readings = 0
        self._least_delayed: Reading | None = None
        """While undecided: how many readings were weighed, and the least delayed (highest offset) of them."""
        self._weighed: Reading | None = None  # the last reading weighed (begin() and apply() may both pass it)

    @property
    def policy(self) -> StepPolicy:
        return self.steps.policy

    @property
    def deciding(self) -> bool:
        """A :class:`Reading` of the next reading would help: the clock begins with steps registered, or which of
        them its readings hold is still open."""
        return len(self._open) > 1 or (not self._begun and bool(self.steps.schedule.steps))

    def begin(self, reading: Reading | None = None) -> None:
        """The clock's first reading (after a start or restart). Without ``reading`` it is on the reference as it
        is now: every registered step counts as seen. With one, only the steps the reading agrees with."""
        if self._begun:
            return
        self._begun = True
        steps = self.steps.schedule.steps
        if reading is None or not steps:
            for step in steps:
                self._absorb(step)
            return
        self._open = tuple(range(len(steps) + 1))
        self._taken = -1  # none chosen yet
        self._readings, self._least_delayed = 0, None
        self.weigh(reading)

    def weigh(self, reading: Reading) -> None:
        """Narrow the open choices with a reading: drop those below it; once :data:`ARRIVAL_READINGS` readings
        are in, those above the least delayed of them; and those that have not taken every step whose hold is over
        by then (every clock has taken it)."""
        if len(self._open) <= 1 or reading is self._weighed:
            return
        self._weighed = reading
        steps = self.steps.schedule.steps
        top = self._open[-1]
        slack = sum(s.bound_ns for s in steps[:top])
        self._readings += 1
        least = self._least_delayed
        if least is None or reading.offset_ns > least.offset_ns:
            least = self._least_delayed = reading
        lowest = reading.offset_ns - reading.below_ns - slack
        agree = tuple(n for n in self._open if _sum(steps, n) >= lowest)
        if self._readings >= ARRIVAL_READINGS:
            highest = least.offset_ns + least.above_ns + slack
            agree = tuple(n for n in agree if _sum(steps, n) <= highest) or agree
        self._open = agree or self._open
        taken = tuple(n for n in self._open if all(reading.base_ns < s.slew_from_base_ns for s in steps[n:top]))
        self._open = taken or self._open
        self._choose(least.offset_ns, top)  # the least delayed reading is the nearest to what the clock has taken

    def _choose(self, near_ns: int, top: int | None = None) -> None:
        """Work with the open choice ``_taken`` if it is still open, else the one whose sum is nearest ``near_ns``;
        one choice left: decided. ``top``: the highest choice that was open (the steps in question are below it)."""
        steps = self.steps.schedule.steps
        taken = self._taken
        if taken not in self._open:
            taken = min(self._open, key=lambda n: (abs(_sum(steps, n) - near_ns), -n))
        top = max(self._open[-1], top or 0)
        self._seen = {i for i in self._seen if i >= top} | set(range(taken))
        self._confirmed = {i for i in self._confirmed if i >= top} | set(range(taken))
        self.offset_ns = sum(steps[i].step_ns for i in self._seen)
        self._taken = taken
        if len(self._open) == 1:
            self._open = ()

    def restart(self) -> None:
        """The clock restarted (a device reconnected): its next reading begins afresh."""
        self.offset_ns, self._seen, self._confirmed, self._begun, self._open = 0, set(), set(), False, ()
        self._readings, self._least_delayed = 0, None

    def unseen(self) -> list[ReferenceStep]:
        return [s for s in self.steps.schedule.steps if s.index not in self._seen]

    def _absorb(self, step: ReferenceStep) -> None:
        self._seen.add(step.index)
        self._confirmed.add(step.index)
        self.offset_ns += step.step_ns

    def jump(self, jump_ns: int, at_base_ns: int, bound_ns: int, *, register_above_ns: int = 0) -> bool:
        """What this clock reads jumped by ``jump_ns`` (reference after minus before) at ``at_base_ns``: match it
        to the oldest registered steps it has not seen, or register it if it is at least the smallest step (and
        ``register_above_ns``). False (nothing changes) for a jump that matches nothing and is not registered."""
        if len(self._open) > 1:
            if self._jump_open(jump_ns, at_base_ns):
                return True
            if abs(jump_ns) < max(self.policy.min_step_ns, register_above_ns):
                return False  # no step: the choices stay open
            self._open = ()  # a step no open choice accounts for: the choice worked with is kept
        unseen = self.unseen()
        n = match_jump(unseen, jump_ns, self.policy) if unseen else 0
        if n:
            for step in unseen[:n]:
                self._absorb(step)
                self.steps.record("seen", step, self.clock, at_base_ns, jump_ns)
            return True
        if abs(jump_ns) < max(self.policy.min_step_ns, register_above_ns):
            return False
        step = self.steps.register(at_base_ns, jump_ns, bound_ns, self.clock)
        self._absorb(step)
        return True

    def _jump_open(self, jump_ns: int, at_base_ns: int) -> bool:
        """A jump while undecided: the open choices that account for it (the steps after each, in order) move on
        by those steps (True); False if none does."""
        steps = self.steps.schedule.steps
        top = self._open[-1]
        moves = [(n, n + k) for n in self._open if (k := match_jump(steps[n:top], jump_ns, self.policy))]
        if not moves:
            return False
        start, end = next(((n, m) for n, m in moves if n == self._taken), moves[0])
        for step in steps[start:end]:
            self.steps.record("seen", step, self.clock, at_base_ns, jump_ns)
        self._open = tuple(sorted({m for _, m in moves}))
        self._taken = end
        if self._least_delayed is not None:  # readings from now on measure the steps taken with this jump too
            least = self._least_delayed
            self._least_delayed = Reading(least.base_ns, least.offset_ns + jump_ns, least.below_ns, least.above_ns)
        self._choose(_sum(steps, end))
        return True

    def confirm(self, jump_ns: int, at_base_ns: int) -> bool:
        """Evidence at ``at_base_ns`` of a step the clock has not absorbed yet (a servo about to step it): True if
        it matches the oldest unseen steps, which then count as confirmed for this clock."""
        unseen = self.unseen()
        n = match_jump(unseen, jump_ns, self.policy)
        for step in unseen[:n]:
            if step.index not in self._confirmed:
                self._confirmed.add(step.index)
                self.steps.record("confirmed", step, self.clock, at_base_ns, jump_ns)
        return n > 0

    def matches(self, jump_ns: int) -> bool:
        """The steps this clock has not absorbed account for a jump of ``jump_ns``."""
        return match_jump(self.unseen(), jump_ns, self.policy) > 0

    def explained(self, jump_ns: int) -> int:
        """The part of a jump of ``jump_ns`` (e.g. a measured offset) the steps this clock has not absorbed account
        for: their sum, or 0."""
        unseen = self.unseen()
        return sum(s.step_ns for s in unseen[:match_jump(unseen, jump_ns, self.policy)])

    def follow(self, base_ns: int, *, evidence: bool = True) -> Following:
        """Rig time of the base reading ``base_ns``, and what this clock's view adds to its bound. ``evidence``:
        the clock's own readings could show a step there (False in PTP holdover: it follows the schedule on the
        registrant's word, within its holdover bound)."""
        schedule = self.steps.schedule
        if not schedule.steps:
            return Following(base_ns, 0, False, False)
        extra = 0
        overdue = False
        for step in schedule.steps:
            if step.index in self._confirmed or base_ns < step.at_base_ns:
                continue
            extra += step.bound_ns
            if evidence and base_ns >= step.slew_from_base_ns:
                extra += abs(step.applied_ns(base_ns))
                overdue = True
        rig_ns = schedule.rig_ns(base_ns)
        unsure = len(self._open) > 1
        if unsure:  # the rig time of the same reading under every other open choice, and those steps' uncertainty
            steps = schedule.steps
            taken_ns = _sum(steps, self._taken)
            extra += max(abs(schedule.rig_ns(base_ns + taken_ns - _sum(steps, n)) - rig_ns) for n in self._open)
            extra += sum(s.bound_ns for s in steps[self._open[0]:self._open[-1]] if s.index in self._confirmed)
        return Following(rig_ns, extra, bool(schedule.active(base_ns)), overdue, unsure)

    def awaited(self, base_ns: int) -> list[ReferenceStep]:
        """Registered steps at or before ``base_ns`` this clock has no evidence of."""
        return [s for s in self.steps.schedule.steps if s.index not in self._confirmed and s.at_base_ns <= base_ns]


def _sum(steps: tuple[ReferenceStep, ...], n: int) -> int:
    """The sum of the oldest ``n`` steps."""
    return sum(s.step_ns for s in steps[:n])
