"""A PTP camera whose first frame (after a start or a reconnect) comes after a step of the reference was registered:
whether its clock has taken the step yet is read off the frame's arrival, so its stamps follow the rig's schedule
within their bound, no second (phantom) step is registered, and a choice the arrival cannot settle widens the bound
and flags the stamps until the camera's clock or the step's hold settles it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest

from rigsync.core.frame import ClockDomain, Frame, TimeFlags, TimestampSemantics
from rigsync.timebase.follower import ARRIVAL_READINGS
from rigsync.timebase.host import HostTime
from rigsync.timebase.stamper import DeviceTimebase, Stamp, TimebaseConfig
from rigsync.timebase.steps import RigSteps, StepPolicy

S = 1_000_000_000
T0 = 1_790_000_000 * S
PERIOD = 33_333_333
LATENCY = 3_000_000
CAMERA_BOUND = 250
STEP_BOUND = 20_000
TIGHT = CAMERA_BOUND + 1  # the camera's own bound and the tick: a stamp of a clock that has confirmed every step


class Host:
    """A host map reading the base timeline (true time here: the steps are of the reference) 1.5 us off, within
    its 2 us bound; it shares the rig's step register."""

    def __init__(self, steps: RigSteps) -> None:
        self.steps = steps

    def to_rig(self, host_ns: int) -> HostTime:
        return HostTime(self.steps.schedule.rig_ns(host_ns + 1_500), 2_000, TimeFlags.NONE)


@dataclass
class Camera:
    """A PTP camera's clock: true time plus the step from its next Sync after the step on, plus servo noise."""

    step_ns: int
    takes_step_at_ns: int
    rng: np.random.Generator

    def frame(self, seq: int, true_ns: int) -> Frame:
        taken = self.step_ns if true_ns >= self.takes_step_at_ns else 0
        noise = int(self.rng.integers(-200, 200))
        excess = int(min(self.rng.exponential(300_000), 5_000_000))  # transport beyond the nominal latency
        return Frame(device="cam", stream="color", seq=seq, device_ts_ns=true_ns + taken + noise,
                     host_rx_ns=true_ns + LATENCY + excess, semantics=TimestampSemantics.START_OF_EXPOSURE,
                     domain=ClockDomain.PTP, min_latency_ns=LATENCY, exposure_ns=None, image=None, encoding="rgb8")


def run(step_ns: int, starts_ns: int, takes_step_at_ns: int, *, frames: int = 450, away: tuple[int, int] | None = None,
        transport: Callable[[Frame], Frame] = lambda f: f) -> tuple[RigSteps, list[tuple[int, Stamp]]]:
    """The grandmaster registers ``step_ns`` at T0; the camera's first frame is at ``starts_ns`` (``away``: it
    delivers from ``starts_ns``, is disconnected over [a, b) and restarts its counter). Returns (true start of
    exposure, stamp) per frame."""
    steps = RigSteps(StepPolicy(hold_ns=3_500_000_000))
    steps.register(T0, step_ns, STEP_BOUND, "gm")
    steps.take_events()
    tb = DeviceTimebase(ClockDomain.PTP, TimebaseConfig(reference_bound_ns=CAMERA_BOUND), host=Host(steps))
    camera = Camera(step_ns, takes_step_at_ns, np.random.default_rng(7))
    out = []
    seq = 0
    for k in range(frames):
        true = starts_ns + k * PERIOD
        if away is not None and away[0] <= true < away[1]:
            if seq:
                tb.reset()
            seq = 0
            continue
        out.append((true, tb.stamp(transport(camera.frame(seq, true)), PERIOD)))
        seq += 1
    return steps, out


def within_bound(steps: RigSteps, stamps: list[tuple[int, Stamp]]) -> None:
    """Every stamp within its bound of the schedule's rig time of its true start of exposure."""
    for n, (true, s) in enumerate(stamps):
        assert abs(s.start_ns - steps.schedule.rig_ns(true)) <= s.error_bound_ns, n


@pytest.mark.parametrize(("step_ns", "unsure"), [(-S // 2, 0), (S, ARRIVAL_READINGS - 1)])
def test_a_camera_starting_before_its_clock_takes_a_registered_step_is_on_the_schedule(step_ns: int,
                                                                                      unsure: int) -> None:
    """The camera's first frame is 0.2 s after the grandmaster registered the step, 0.5 s before the camera's own
    Sync brings it: it reads the old timeline, its stamps follow the schedule within their bound (the step's 20 us
    uncertainty until its clock takes the step, then its own 251 ns); its jump is the registered step, not a new
    one. Not holding -500 ms is clear from the first frame (no frame arrives before it was exposed); not holding
    +1 s only from the least delayed of the first four (one frame may be held up): until then they are flagged
    acquiring, their bound covering the step."""
    steps, stamps = run(step_ns, T0 + 200_000_000, T0 + 700_000_000)
    within_bound(steps, stamps)
    first = [s for _, s in stamps[:unsure]]
    assert all(s.flags & TimeFlags.ACQUIRING and abs(step_ns) <= s.error_bound_ns <= abs(step_ns) + TIGHT + STEP_BOUND
               for s in first)
    tight = [s.error_bound_ns for t, s in stamps[unsure:] if t < T0 + 700_000_000]
    assert tight == [TIGHT + STEP_BOUND] * (16 - unsure)
    assert {s.error_bound_ns for t, s in stamps if t >= T0 + 700_000_000} == {TIGHT}
    assert not any(s.flags & (TimeFlags.ACQUIRING | TimeFlags.PTP_ERROR) for _, s in stamps[unsure:])
    assert len(steps.schedule.steps) == 1
    assert [(e.kind, e.clock, e.index) for e in steps.take_events()] == [("seen", "cam/color", 0)]


def test_a_camera_starting_after_its_clock_took_the_step_has_it_in_its_readings() -> None:
    """First frame 0.1 s after the camera's Sync brought -500 ms: the first three frames could still be frames of
    the old timeline held up by 500 ms (flagged acquiring, the bound covering it); the least delayed of four
    settles it, and the step is in its readings from the start."""
    steps, stamps = run(-S // 2, T0 + 800_000_000, T0 + 700_000_000)
    within_bound(steps, stamps)
    unsure = ARRIVAL_READINGS - 1
    assert all(s.flags & TimeFlags.ACQUIRING and S // 2 <= s.error_bound_ns <= S // 2 + TIGHT + STEP_BOUND
               for _, s in stamps[:unsure])
    assert {s.error_bound_ns for _, s in stamps[unsure:]} == {TIGHT}
    assert len(steps.schedule.steps) == 1 and steps.take_events() == []


@pytest.mark.parametrize(("step_ns", "starts_ns", "late_ns"), [
    (-30_000_000, T0 + 200_000_000, 30_000_000),    # not taken yet, its first frame 30 ms late: looks taken
    (-S // 2, T0 + 200_000_000, S // 2),            # the same with -500 ms and a first frame 500 ms late
    (30_000_000, T0 + 800_000_000, 30_000_000),     # taken, its first frame 30 ms late: looks not taken
])
def test_a_first_frame_held_up_by_about_the_step_is_not_taken_for_it(step_ns: int, starts_ns: int,
                                                                    late_ns: int) -> None:
    """The first frame after the start arrives late by about the step (the next ones on time): it cannot decide
    alone; every stamp stays within its bound (the first flagged acquiring), no phantom step is registered, and
    the stamps are tight again once the stream's rig time has passed the first stamp (stamps never go back: a
    first stamp placed on the wrong side holds the next ones at it, their bounds covering the difference)."""
    first = True

    def held_up(frame: Frame) -> Frame:
        nonlocal first
        if first:
            first = False
            return replace(frame, host_rx_ns=frame.host_rx_ns + late_ns)
        return frame

    steps, stamps = run(step_ns, starts_ns, T0 + 700_000_000, frames=200, transport=held_up)
    within_bound(steps, stamps)
    assert stamps[0][1].flags & TimeFlags.ACQUIRING
    assert len(steps.schedule.steps) == 1
    settled = starts_ns + abs(step_ns) + 2 * PERIOD
    assert len(stamps) > 150 and all(s.error_bound_ns <= TIGHT + STEP_BOUND for t, s in stamps if t >= settled)


def test_a_camera_reconnecting_during_the_hold_follows_the_step_once() -> None:
    """Stamping since before the step, away from T0 - 0.1 s to T0 + 0.2 s (its counter restarts), back before its
    Sync brings the step: every stamp within its bound, one step registered, seen by the camera once."""
    steps, stamps = run(-S // 2, T0 - 2 * S, T0 + 700_000_000, away=(T0 - 100_000_000, T0 + 200_000_000), frames=520)
    within_bound(steps, stamps)
    assert len(stamps) > 500 and {s.error_bound_ns for _, s in stamps[-300:]} == {TIGHT}
    assert len(steps.schedule.steps) == 1
    assert [(e.kind, e.clock) for e in steps.take_events()] == [("seen", "cam/color")]


def test_a_step_the_arrival_cannot_place_widens_the_bound_until_the_camera_takes_it() -> None:
    """A 3 ms step (within the 20 ms the transport may add): the first frames could hold it or not, so they are
    flagged acquiring with a bound covering both (3 ms, not more) until the camera's clock jumps by it; then one
    step, locked, 251 ns."""
    steps, stamps = run(3_000_000, T0 + 200_000_000, T0 + 700_000_000)
    within_bound(steps, stamps)
    before = [s for t, s in stamps if t < T0 + 700_000_000]
    assert len(before) == 16 and all(s.flags & TimeFlags.ACQUIRING and not s.locked for s in before)
    assert all(3_000_000 <= s.error_bound_ns <= 3_000_000 + TIGHT + STEP_BOUND for s in before)
    after = [s for t, s in stamps if t >= T0 + 700_000_000]
    assert all(not s.flags & TimeFlags.ACQUIRING and s.error_bound_ns == TIGHT for s in after)
    assert len(steps.schedule.steps) == 1
    assert [e.kind for e in steps.take_events()] == ["seen"]


def test_a_step_the_arrival_cannot_place_is_in_the_readings_once_its_hold_is_over() -> None:
    """A -3 ms step, the camera starting after its clock took it (a frame arriving 3 ms late would read the same
    before it): undecided (flagged, 3 ms bound) until the step's hold is over (every clock has taken it by then),
    then on the step with the tight bound; no new step. (A +3 ms step taken is decided at once: no frame arrives
    before it was exposed.)"""
    steps, stamps = run(-3_000_000, T0 + 800_000_000, T0 + 700_000_000)
    within_bound(steps, stamps)
    hold_over = T0 + 3_500_000_000
    unsure = [s for t, s in stamps if t < hold_over - 10_000_000]
    assert len(unsure) > 70 and all(s.flags & TimeFlags.ACQUIRING and s.error_bound_ns >= 3_000_000 for s in unsure)
    assert all(not s.flags & TimeFlags.ACQUIRING and s.error_bound_ns == TIGHT
               for t, s in stamps if t >= hold_over + 10_000_000)
    assert len(steps.schedule.steps) == 1 and steps.take_events() == []
    _, taken = run(3_000_000, T0 + 800_000_000, T0 + 700_000_000, frames=5)
    assert not any(s.flags & TimeFlags.ACQUIRING for _, s in taken)
