"""The rig's one schedule through steps of the reference: hold then slew, its inverse, matching detections to
registered steps, late registration, serialization, and PTP-camera streams following it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigsync.core.frame import ClockDomain, Frame, TimeFlags, TimestampSemantics
from rigsync.timebase.follower import ARRIVAL_READINGS, Reading, StepFollower
from rigsync.timebase.stamper import DeviceTimebase, TimebaseConfig
from rigsync.timebase.steps import (
    ReferenceStep,
    RigSteps,
    StepPhase,
    StepPolicy,
    StepSchedule,
    match_jump,
)

S = 1_000_000_000
T0 = 1_790_000_000 * S
PERIOD = 33_333_333
POLICY = StepPolicy(hold_ns=3 * S)


def step(step_ns: int, at: int = T0, hold: int = 3 * S, index: int = 0, bound: int = 100) -> ReferenceStep:
    return ReferenceStep(index, at, step_ns, hold, 0.1, bound, "gm")


def test_a_step_is_held_then_slewed_at_the_rate() -> None:
    """+1 s at T: nothing applied through the hold, then 10 % of the time since, capped at the whole step."""
    s = step(S)
    assert [s.applied_ns(T0 + d) for d in (-S, 0, 3 * S)] == [0, 0, 0]
    assert s.applied_ns(T0 + 3 * S + 2 * S) == 200_000_000
    assert s.applied_ns(T0 + 3 * S + 10 * S) == S == s.applied_ns(T0 + 60 * S)
    assert s.remaining_ns(T0 - 1) == 0 and s.remaining_ns(T0 + S) == S and s.remaining_ns(T0 + 8 * S) == S // 2
    assert [s.phase(T0 + d) for d in (-1, 0, 3 * S, 13 * S)] == [StepPhase.BEFORE, StepPhase.HOLDING,
                                                                 StepPhase.SLEWING, StepPhase.DONE]
    assert s.done_base_ns == T0 + 13 * S


def test_a_negative_step_slows_rig_time_never_reverses_it() -> None:
    """-500 ms: rig time keeps the old timeline through the hold, then runs at 90 % until it is 500 ms back."""
    schedule = StepSchedule((step(-S // 2),))
    assert schedule.rig_ns(T0 + 2 * S) == T0 + 2 * S
    assert schedule.rig_ns(T0 + 4 * S) - schedule.rig_ns(T0 + 3 * S) == 900_000_000
    assert schedule.rig_ns(T0 + 20 * S) == T0 + 20 * S - S // 2
    assert schedule.remaining_ns(T0 + 20 * S) == 0 and schedule.remaining_ns(T0 + S) == -S // 2


steps_strategy = st.lists(st.tuples(st.integers(-3 * S, 3 * S).filter(lambda v: abs(v) >= 1_000_000),
                                    st.integers(0, 30 * S), st.integers(0, 5 * S)), min_size=1, max_size=3)


@given(steps_strategy, st.integers(-5 * S, 80 * S), st.integers(1, 40_000_000))
def test_rig_time_is_monotonic_and_its_rate_stays_within_the_slew(specs: list[tuple[int, int, int]], at: int,
                                                                  dt: int) -> None:
    """Any schedule: rig time never goes back, and over any interval it moves by the interval +- the slew rates."""
    schedule = StepSchedule(tuple(step(v, T0 + a, h, i) for i, (v, a, h) in enumerate(specs)))
    advance = schedule.rig_ns(T0 + at + dt) - schedule.rig_ns(T0 + at)
    assert advance >= 0
    assert abs(advance - dt) <= 0.1 * len(specs) * dt + len(specs)


@given(steps_strategy, st.integers(-5 * S, 80 * S))
def test_base_of_rig_time_is_the_schedules_inverse(specs: list[tuple[int, int, int]], rig: int) -> None:
    """base_ns(r) is the last base instant whose rig time is at most r."""
    schedule = StepSchedule(tuple(step(v, T0 + a, h, i) for i, (v, a, h) in enumerate(specs)))
    base = schedule.base_ns(T0 + rig)
    assert schedule.rig_ns(base) <= T0 + rig < schedule.rig_ns(base + 1)


def test_match_takes_the_oldest_unseen_steps_whose_sum_agrees() -> None:
    """A jump matches one step, or several taken together (a clock that missed both), within the tolerance."""
    unseen = [step(S, index=0), step(-300_000_000, index=1)]
    assert match_jump(unseen, S + 400_000, POLICY) == 1
    assert match_jump(unseen, 700_000_000 - 300_000, POLICY) == 2
    assert match_jump(unseen, S + 700_000, POLICY) == 0  # beyond 500 us (+ 1e-4 of the step: 100 us)
    assert match_jump(unseen, -300_000_000, POLICY) == 0  # steps are seen in order


def test_followers_match_one_registration_and_count_it_seen() -> None:
    """The grandmaster registers +1 s; a slave's jump of +1 s (ns off) is that step, not a new one."""
    steps = RigSteps(POLICY)
    gm, slave = StepFollower(steps, "gm"), StepFollower(steps, "slave")
    gm.begin()
    slave.begin()
    assert gm.jump(S, T0, 20_000)
    assert slave.jump(S - 37, T0 + 2 * S, 500)
    assert len(steps.schedule.steps) == 1 and gm.offset_ns == slave.offset_ns == S
    events = steps.take_events()
    assert [(e.kind, e.clock) for e in events] == [("registered", "gm"), ("seen", "slave")]
    assert not slave.jump(400_000, T0 + 3 * S, 500)  # below the smallest step, matching nothing: not a step
    assert steps.take_events() == []


def test_a_clock_begun_after_a_step_has_it_in_its_readings() -> None:
    """A clock whose first reading comes after a registration reads the reference as it is: the step is seen."""
    steps = RigSteps(POLICY)
    StepFollower(steps, "gm").jump(S, T0, 0)
    late = StepFollower(steps, "late")
    late.begin()
    assert late.offset_ns == S and late.unseen() == []


@pytest.mark.parametrize("offset_ns, taken", [(-2_000_000, False), (S - 2_000_000, True)])
def test_a_first_reading_set_against_its_arrival_holds_only_the_steps_it_agrees_with(offset_ns: int,
                                                                                    taken: bool) -> None:
    """+1 s registered; the clock's readings are 2 ms behind the other clock's estimate of them (a frame's
    transport): it has not taken the step (it then matches its jump to it), or it has, 1 s ahead. Taken is clear
    from one reading (no frame arrives before it was exposed); not taken only from the least delayed of
    ARRIVAL_READINGS (one frame held up by 1 s would read the same), meanwhile both stay open."""
    steps = RigSteps(POLICY)
    StepFollower(steps, "gm").jump(S, T0, 0)
    cam = StepFollower(steps, "cam")
    assert cam.deciding
    cam.begin(Reading(T0 + S, offset_ns, 30_000, 20_000_000))
    for k in range(1, 1 if taken else ARRIVAL_READINGS):
        assert cam.deciding and cam.follow(T0 + S).unsure
        cam.weigh(Reading(T0 + S + k, offset_ns, 30_000, 20_000_000))
    assert not cam.deciding and cam.offset_ns == (S if taken else 0)
    assert not cam.follow(T0 + S).unsure
    if not taken:
        assert cam.jump(S + 300, T0 + S // 2, 250) and len(steps.schedule.steps) == 1 and cam.offset_ns == S


def test_open_choices_widen_the_bound_by_their_rig_time_until_a_jump_settles_them() -> None:
    """-3 ms registered, a first reading 3 ms behind within a 20 ms slack: taken or not, both open; the bound covers
    the other choice's rig time exactly; the clock's jump of -3 ms settles it (not taken before), no new step; a
    reading alone past the hold settles it the other way."""
    for settle in ("jump", "hold"):
        steps = RigSteps(POLICY)
        StepFollower(steps, "gm").jump(-3_000_000, T0, 20)
        cam = StepFollower(steps, "cam")
        cam.begin(Reading(T0 + S, -3_000_000, 30_000, 20_000_000))
        assert cam.deciding and cam.offset_ns == -3_000_000  # works with the nearest choice meanwhile
        during = cam.follow(T0 + S)
        assert during.unsure and during.extra_bound_ns == 3_000_000 + 20
        assert not cam.jump(50_000, T0 + S, 250) and cam.deciding  # no step: still open
        if settle == "jump":
            assert cam.jump(-3_000_100, T0 + S, 250) and not cam.deciding
            assert cam.offset_ns == -3_000_000 and [e.kind for e in steps.take_events()][-1] == "seen"
        else:
            cam.weigh(Reading(T0 + 4 * S, -3_000_000, 30_000, 20_000_000))
            assert not cam.deciding and cam.offset_ns == -3_000_000
        assert len(steps.schedule.steps) == 1 and not cam.follow(T0 + 5 * S).unsure


def test_a_step_no_open_choice_accounts_for_is_registered() -> None:
    """While undecided, a jump none of the open choices explains is a new step: registered, the working choice
    kept."""
    steps = RigSteps(POLICY)
    StepFollower(steps, "gm").jump(-3_000_000, T0, 20)
    cam = StepFollower(steps, "cam")
    cam.begin(Reading(T0 + S, -3_000_000, 30_000, 20_000_000))
    assert cam.jump(S, T0 + S, 250) and not cam.deciding
    assert [s.step_ns for s in steps.schedule.steps] == [-3_000_000, S] and cam.offset_ns == S - 3_000_000


def test_an_unconfirmed_clock_is_widened_only_where_it_could_have_seen_the_step() -> None:
    """Past the hold, a clock with no evidence of a step: flagged and widened by what was applied regardless, if
    its readings could show the step; in holdover only by the step's own uncertainty."""
    steps = RigSteps(POLICY)
    slave = StepFollower(steps, "slave")
    slave.begin()  # its first reading was before the step
    StepFollower(steps, "gm").jump(S, T0, 20_000)
    during = slave.follow(T0 + S)
    assert during.stepping and not during.overdue and during.extra_bound_ns == 20_000
    late = slave.follow(T0 + 5 * S)
    assert late.overdue and late.extra_bound_ns == 20_000 + 200_000_000
    holdover = slave.follow(T0 + 5 * S, evidence=False)
    assert not holdover.overdue and holdover.extra_bound_ns == 20_000
    assert holdover.rig_ns == late.rig_ns == T0 + 5 * S + 200_000_000  # both follow the rig's schedule
    assert slave.confirm(S - 1_000, T0 + 5 * S)  # the servo about to step by -1 s: evidence
    assert slave.follow(T0 + 5 * S) == type(late)(late.rig_ns, 0, True, False)


def test_a_late_registration_is_held_past_every_stamp_already_issued() -> None:
    """A step first seen after stamps were issued beyond its instant plus the hold: the hold is extended so that
    no stamp already given disagrees with the schedule."""
    steps = RigSteps(POLICY)
    steps.note_stamp(T0 + 7 * S)
    s = steps.register(T0, S, 0, "cam")
    assert s.hold_ns == 7 * S + 1 and steps.schedule.rig_ns(T0 + 7 * S) == T0 + 7 * S
    assert steps.register(T0 + 10 * S, -S, 0, "cam").hold_ns == POLICY.hold_ns


def test_schedule_round_trips_through_json_and_rejects_bad_input() -> None:
    """The schedule is a value other processes can share: JSON out and back is the same; gaps or bad rates are
    refused with the field named."""
    schedule = StepSchedule((step(S), step(-S // 2, T0 + 20 * S, index=1)))
    assert StepSchedule.from_json(schedule.to_json()) == schedule
    with pytest.raises(ValueError, match="numbered"):
        StepSchedule.from_json(schedule.to_json()[1:])
    bad = {**schedule.to_json()[0], "rate": 2.0}
    with pytest.raises(ValueError, match="rate"):
        StepSchedule.from_json([bad])
    with pytest.raises(ValueError, match="step_ns"):
        StepSchedule.from_json([{**schedule.to_json()[0], "step_ns": "1s"}])
    with pytest.raises(ValueError, match="hold_ns must be an integer, got None"):
        StepSchedule.from_json([{k: v for k, v in schedule.to_json()[0].items() if k != "hold_ns"}])


def test_merging_two_registrations_of_one_step_keeps_one() -> None:
    """Two processes registered the same step (magnitudes within the tolerance, instants within the hold): the
    merged schedule has it once; a different step is added after."""
    a = StepSchedule((step(S),))
    b = StepSchedule((step(S + 200_000, T0 + S),))
    assert a.merged(b, POLICY) == a
    c = StepSchedule((step(-S, T0 + 30 * S),))
    merged = a.merged(c, POLICY)
    assert [s.step_ns for s in merged.steps] == [S, -S] and merged.steps[1].index == 1


def test_policy_is_validated_and_holds_a_few_sync_intervals() -> None:
    """The hold: three Sync intervals plus half a second; rates and tolerances must make sense."""
    assert StepPolicy.for_sync_interval(S).hold_ns == 3_500_000_000
    assert StepPolicy.for_sync_interval(125_000_000).hold_ns == 875_000_000
    for bad in ({"rate": 1.0}, {"hold_ns": -1}, {"tolerance_ns": 2_000_000}):
        with pytest.raises(ValueError):
            StepPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sync_interval_ns"):
        StepPolicy.for_sync_interval(0)


def ptp_frame(seq: int, device_ts: int) -> Frame:
    return Frame(device="cam", stream="color", seq=seq, device_ts_ns=device_ts, host_rx_ns=0,
                 semantics=TimestampSemantics.START_OF_EXPOSURE, domain=ClockDomain.PTP, min_latency_ns=0,
                 exposure_ns=None, image=None, encoding="rgb8")


class StepsHost:
    """A host map that only shares the rig's step register (PTP-camera streams need nothing else)."""

    def __init__(self, steps: RigSteps) -> None:
        self.steps = steps

    def to_rig(self, host_ns: int) -> object:
        raise AssertionError("a PTP camera's stamps do not go through the host clock")


@pytest.mark.parametrize("step_ns", [S, -S // 2, 3_000_000])
def test_ptp_camera_follows_the_registered_step_on_the_rigs_schedule(step_ns: int) -> None:
    """The grandmaster registered a step at T; the camera's clock takes it at its next Sync: its stamps stay on the
    old timeline through the hold and slew at 10 % like every host's, within its bound of the schedule's rig time,
    even for a step smaller than half a frame (matched to the registration)."""
    steps = RigSteps(POLICY)
    tb = DeviceTimebase(ClockDomain.PTP, TimebaseConfig(reference_bound_ns=250), host=StepsHost(steps))
    sync_ns = T0 + 400_000_000  # the camera's next Sync after the step
    last = None
    for k in range(600):
        true = T0 - 2 * S + k * PERIOD
        if k == 60:
            StepFollower(steps, "gm").jump(step_ns, T0, 20)  # the step at T0, registered by the grandmaster
        camera = true + (step_ns if true >= sync_ns else 0)
        s = tb.stamp(ptp_frame(k, camera), PERIOD)
        rig = steps.schedule.rig_ns(true)  # base timeline = true time here (the old reference)
        assert abs(s.start_ns - rig) <= s.error_bound_ns < 1_000, k
        assert bool(s.flags & TimeFlags.SLEWING) == bool(steps.schedule.active(true)), k
        if last is not None:
            assert 0.9 * PERIOD - 2 <= s.start_ns - last <= 1.1 * PERIOD + 2
        last = s.start_ns
    assert steps.schedule.remaining_ns(true) == 0 and len(steps.schedule.steps) == 1
    assert [e.kind for e in steps.take_events()] == ["registered", "seen"]


def test_ptp_camera_registers_a_step_nobody_else_saw() -> None:
    """No host saw it (an external grandmaster): the camera's own jump registers the step, then it holds and
    slews; a frame gap (seq) is not a jump."""
    tb = DeviceTimebase(ClockDomain.PTP, TimebaseConfig(reference_bound_ns=250))
    stamps = []
    for k in [*range(100), *range(103, 700)]:  # three frames lost
        camera = T0 + k * PERIOD + (S if k >= 100 else 0)
        stamps.append(tb.stamp(ptp_frame(k, camera), PERIOD).start_ns)
    steps = tb._steps().schedule.steps
    assert len(steps) == 1 and steps[0].step_ns == S and steps[0].found_by == "cam/color"
    assert stamps[100] - stamps[99] == 4 * PERIOD  # the hold: on the old timeline
    assert stamps[-1] == T0 + 699 * PERIOD + S  # slewed in 10 s after a 3 s hold
