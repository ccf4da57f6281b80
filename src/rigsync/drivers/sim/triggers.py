"""When exposures start: trigger sources, and the schedule each stream follows.

A trigger source produces trigger ``k`` at a true time (a master's frame clock, an external generator on
its own crystal, random pulses, a ZED Link card, a PTP schedule). A stream's schedule turns the triggers it
receives, or its own crystal when it free-runs, into exposure start times:

* free-running: every period of the device's own crystal;
* hardware-triggered: every trigger, after propagation and the member's delay;
* rate-locked (Kinect subordinate, Orbbec SECONDARY): only triggers on its own frame period, "precisely 30 FPS,
  15 FPS, and 5 FPS" (seeds/001); triggers off that grid are ignored, so random triggers yield few frames;
* Genlock (RealSense modes 4-258): a burst of ``burst`` frames at the native period per accepted trigger;
  "once a trigger is received the camera will be blind to any other trigger signals for 2x the frame time
  of the native mode" (seeds/004) -- extended here to the burst's length plus one frame;
* slave (RealSense modes 2/3): "Readout (not capture) starts with Trigger": exposure ends at the trigger;
* PTP: the scheduled time on the camera's PTP-disciplined clock (with its residual offset).

A sync input that loses its trigger (``trigger-loss``) takes none of the pulses meant for it: a Genlock camera
"will wait indefinitely for a trigger" (seeds/004), a Kinect subordinate shows nothing "until the subordinate
device receives a sync signal" (seeds/001), while a RealSense slave "will fire on its own" (seeds/004).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from rigsync.drivers.sim.clocks import DeviceClock


class TriggerSource(ABC):
    @abstractmethod
    def time(self, k: int) -> int:
        """True time of trigger ``k`` (k >= 0)."""

    @abstractmethod
    def first_at_or_after(self, t_true_ns: int) -> int:
        """The smallest k whose trigger comes at or after ``t_true_ns``."""


class CrystalTrigger(TriggerSource):
    """A periodic trigger timed by a crystal: a master's frame clock, a card, a signal generator."""

    def __init__(self, crystal: DeviceClock, period_ns: int, phase_device_ns: int) -> None:
        self.crystal = crystal
        self.period_ns = period_ns
        self.phase = phase_device_ns

    def time(self, k: int) -> int:
        return self.crystal.true_ns(self.phase + k * self.period_ns)

    def first_at_or_after(self, t_true_ns: int) -> int:
        k = max(0, -(-(self.crystal.device_ns(t_true_ns) - self.phase) // self.period_ns))
        while k > 0 and self.time(k - 1) >= t_true_ns:
            k -= 1
        while self.time(k) < t_true_ns:
            k += 1
        return k


class RandomTrigger(TriggerSource):
    """Pulses at random times (mean period, a minimum gap): a pressure pad, a heartbeat."""

    def __init__(self, rng: np.random.Generator, start_true_ns: int, mean_period_ns: int, min_gap_ns: int) -> None:
        self._rng = rng
        self._mean = mean_period_ns
        self._min_gap = min_gap_ns
        self._times = [start_true_ns + int(rng.uniform(0, mean_period_ns))]

    def _extend_to(self, k: int) -> None:
        while len(self._times) <= k:
            gap = self._min_gap + int(self._rng.exponential(max(self._mean - self._min_gap, 1)))
            self._times.append(self._times[-1] + gap)

    def time(self, k: int) -> int:
        self._extend_to(k)
        return self._times[k]

    def first_at_or_after(self, t_true_ns: int) -> int:
        while self._times[-1] < t_true_ns:
            self._extend_to(len(self._times))
        return bisect_left(self._times, t_true_ns)


class ScheduleTrigger(TriggerSource):
    """A PTP schedule: ``start + k * period`` on the reference timeline."""

    def __init__(self, start_true_ns: int, period_ns: int) -> None:
        self.start = start_true_ns
        self.period_ns = period_ns

    def time(self, k: int) -> int:
        return self.start + k * self.period_ns

    def first_at_or_after(self, t_true_ns: int) -> int:
        return max(0, -(-(t_true_ns - self.start) // self.period_ns))


@dataclass(frozen=True, slots=True)
class Shot:
    """One exposure start a schedule produced."""

    start_ns: int
    trigger: int | None
    """The group trigger number, or None when free-running."""


ExposureOf = Callable[[int], int]
"""Exposure duration (ns) of the next frame, given its nominal start time."""


def free_run(crystal: DeviceClock, period_ns: int, phase_device_ns: int, begin_ns: int) -> Iterator[Shot]:
    source = CrystalTrigger(crystal, period_ns, phase_device_ns)
    k = source.first_at_or_after(begin_ns)
    while True:
        yield Shot(source.time(k), None)
        k += 1


def triggered(source: TriggerSource, offset_ns: int, begin_ns: int, jitter: Callable[[], int],
              missed: Callable[[], bool] | None = None) -> Iterator[Shot]:
    """One exposure per trigger, ``offset_ns`` (propagation + delay) after it; ``missed`` says when a weak
    pulse goes unseen."""
    k = source.first_at_or_after(begin_ns - offset_ns)
    while True:
        if missed is None or not missed():
            yield Shot(source.time(k) + offset_ns + jitter(), k)
        k += 1


RATE_LOCK_TOLERANCE = 0.005
"""How far (a fraction of the frame period) a trigger may come off a rate-locked input's frame grid and still be
taken; the same 0.5 % within which a RealSense slave follows its master rather than firing on its own."""
RELOCK_PERIODS = 30
"""A rate-locked input that has taken no trigger for this many frame periods takes the next one afresh, as it does
the first after it starts (an assumption: the documents say only that the rate must be precise)."""


def rate_locked(source: TriggerSource, offset_ns: int, begin_ns: int, period_ns: int, jitter: Callable[[], int],
                missed: Callable[[], bool] | None = None) -> Iterator[Shot]:
    """A sync input locked to the camera's own frame period: it takes the first trigger after it starts, then a
    trigger only when it comes a whole number of periods (within :data:`RATE_LOCK_TOLERANCE`) after the last one
    it took; it ignores the others. A steady trigger at the camera's rate is taken every time."""
    k = source.first_at_or_after(begin_ns - offset_ns)
    last: int | None = None
    tolerance = RATE_LOCK_TOLERANCE * period_ns
    while True:
        t = source.time(k)
        if missed is None or not missed():
            elapsed = None if last is None else t - last
            periods = 0 if elapsed is None else round(elapsed / period_ns)
            if elapsed is None or periods > RELOCK_PERIODS or (
                    periods >= 1 and abs(elapsed - periods * period_ns) <= tolerance):
                last = t
                yield Shot(t + offset_ns + jitter(), k)
        k += 1


def genlock(
    source: TriggerSource, offset_ns: int, begin_ns: int, native_period_ns: int, burst: int, jitter: Callable[[], int]
) -> Iterator[Shot]:
    """Genlock: a burst per accepted trigger; triggers inside the blind window are ignored."""
    blind_frames = max(2, burst + 1)
    k = source.first_at_or_after(begin_ns - offset_ns)
    blind_until = begin_ns
    while True:
        t = source.time(k) + offset_ns
        if t >= blind_until:
            start = t + jitter()
            for j in range(burst):
                yield Shot(start + j * native_period_ns, k)
            blind_until = t + blind_frames * native_period_ns
        k += 1


def readout_aligned(
    source: TriggerSource, offset_ns: int, begin_ns: int, exposure_of: ExposureOf, jitter: Callable[[], int]
) -> Iterator[Shot]:
    """RealSense slave modes: the trigger starts readout, so exposure ends at the trigger."""
    k = source.first_at_or_after(begin_ns - offset_ns)
    while True:
        t = source.time(k) + offset_ns
        yield Shot(t - exposure_of(t) + jitter(), k)
        k += 1


def without_lost_triggers(shots: Iterator[Shot], lost: Callable[[], list[tuple[int, int]]],
                          own: Callable[[int], Iterator[Shot]] | None) -> Iterator[Shot]:
    """``shots`` but the triggered ones starting inside a window of ``lost()`` (true-time ``[begin, end)``): none
    in their place (the input waits), or, with ``own``, the camera's own free-running shots from the window's
    start to its end."""
    done: set[tuple[int, int]] = set()
    for shot in shots:
        window = next(((b, e) for b, e in lost() if b <= shot.start_ns < e), None)
        if window is None or shot.trigger is None:
            yield shot
            continue
        if own is not None and window not in done:
            done.add(window)
            for free in own(window[0]):
                if free.start_ns >= window[1]:
                    break
                yield free
